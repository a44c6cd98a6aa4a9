package keystonetest_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"

	"lbaas/internal/keystonetest"
)

func roleNames(rs []tokens.Role) []string {
	var names []string
	for _, r := range rs {
		names = append(names, r.Name)
	}
	slices.Sort(names)
	return names
}

// TestKeystone starts a real Keystone and checks what tests built on it
// rely on: users, roles (with bootstrap's implied ones), project-scoped
// tokens, a catalog listing added endpoints, and token validation by a
// service user as an OpenStack API server does it.
func TestKeystone(t *testing.T) {
	k := keystonetest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	projectID := k.CreateProject(t, "tenant-a")
	roleID := k.CreateRole(t, "load-balancer_member")
	if again := k.CreateRole(t, "load-balancer_member"); again != roleID {
		t.Fatalf("CreateRole is not idempotent: %s then %s", roleID, again)
	}
	const password = "alice-password"
	userID := k.CreateUser(t, "alice", password, projectID, "load-balancer_member", "member")
	const lbURL = "http://127.0.0.1:9876"
	k.AddEndpoint(t, "load-balancer", "octavia", lbURL)

	pc, err := openstack.AuthenticatedClient(ctx, k.AuthOptions("alice", password, projectID))
	if err != nil {
		t.Fatalf("authenticating as alice: %v", err)
	}
	res, ok := pc.GetAuthResult().(tokens.CreateResult)
	if !ok {
		t.Fatalf("auth result is %T, not a v3 token", pc.GetAuthResult())
	}
	if u, err := res.ExtractUser(); err != nil || u.ID != userID {
		t.Errorf("token user = %+v, %v; want id %s", u, err, userID)
	}
	if p, err := res.ExtractProject(); err != nil || p == nil || p.ID != projectID || p.Name != "tenant-a" {
		t.Errorf("token project = %+v, %v; want %s (tenant-a)", p, err, projectID)
	}
	rs, err := res.ExtractRoles()
	if err != nil {
		t.Fatal(err)
	}
	// reader is not assigned: bootstrap's inference rule member→reader
	// adds it.
	if got, want := roleNames(rs), []string{"load-balancer_member", "member", "reader"}; !slices.Equal(got, want) {
		t.Errorf("token roles = %v, want %v", got, want)
	}

	cat, err := res.ExtractServiceCatalog()
	if err != nil {
		t.Fatal(err)
	}
	var ifaces []string
	for _, e := range cat.Entries {
		if e.Type != "load-balancer" {
			continue
		}
		if e.Name != "octavia" {
			t.Errorf("load-balancer service named %q, want octavia", e.Name)
		}
		for _, ep := range e.Endpoints {
			if ep.URL != lbURL || ep.RegionID != keystonetest.Region {
				t.Errorf("load-balancer endpoint %+v, want url %s region %s", ep, lbURL, keystonetest.Region)
			}
			ifaces = append(ifaces, ep.Interface)
		}
	}
	slices.Sort(ifaces)
	if want := []string{"admin", "internal", "public"}; !slices.Equal(ifaces, want) {
		t.Errorf("catalog's load-balancer endpoints have interfaces %v, want %v (catalog: %+v)", ifaces, want, cat.Entries)
	}
	// gophercloud's catalog lookup (what its service clients use) finds it.
	for _, iface := range []gophercloud.Availability{gophercloud.AvailabilityPublic, gophercloud.AvailabilityInternal} {
		u, err := openstack.V3EndpointURL(cat, gophercloud.EndpointOpts{Type: "load-balancer", Region: keystonetest.Region, Availability: iface})
		if err != nil || strings.TrimSuffix(u, "/") != lbURL {
			t.Errorf("%s load-balancer endpoint from the catalog = %q, %v; want %s", iface, u, err, lbURL)
		}
	}

	// A service user (role "service") validates alice's token, as an API
	// server does with GET /v3/auth/tokens.
	svcProject := k.CreateProject(t, "service")
	k.CreateUser(t, "lbaas", "lbaas-password", svcProject, "service")
	spc, err := openstack.AuthenticatedClient(ctx, k.AuthOptions("lbaas", "lbaas-password", svcProject))
	if err != nil {
		t.Fatalf("authenticating as the service user: %v", err)
	}
	sc, err := openstack.NewIdentityV3(spc, gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatal(err)
	}
	got := tokens.Get(ctx, sc, pc.TokenID)
	if got.Err != nil {
		t.Fatalf("validating alice's token as the service user: %v", got.Err)
	}
	if rs, err := got.ExtractRoles(); err != nil || !slices.Contains(roleNames(rs), "reader") {
		t.Errorf("validated token roles = %v, %v; want reader among them", roleNames(rs), err)
	}

	// A wrong password is refused with 401.
	_, err = openstack.AuthenticatedClient(ctx, k.AuthOptions("alice", "wrong", projectID))
	if !gophercloud.ResponseCodeIs(err, http.StatusUnauthorized) {
		t.Errorf("wrong password: err = %v, want a 401", err)
	}
}

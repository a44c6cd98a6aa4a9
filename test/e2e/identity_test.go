package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/roles"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/users"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"

	"lbaas/internal/keystonetest"
	"lbaas/internal/up"
)

// The acceptance scripts and gophercloud, logging in as cloud users do:
// a user name and a password against an identity service, the endpoints
// from the token's catalog, no admin token.

var cloudsPassword = regexp.MustCompile(`(?m)^\s+password: (".*")$`)

// bootstrapPassword reads the admin's password from the clouds.yaml a
// server wrote on its first start.
func bootstrapPassword(t *testing.T, cloudsFile string) string {
	t.Helper()
	b, err := os.ReadFile(cloudsFile)
	if err != nil {
		t.Fatalf("the server wrote no clouds.yaml: %v", err)
	}
	m := cloudsPassword.FindSubmatch(b)
	if m == nil {
		t.Fatalf("no password in %s", cloudsFile)
	}
	pw, err := strconv.Unquote(string(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	return pw
}

// passwordEnv is what a user of a cloud exports to log in.
func passwordEnv(authURL, user, password, project string) []string {
	return []string{"LBAAS_USE_OS_ENV=1", "OS_AUTH_URL=" + authURL, "OS_USERNAME=" + user, "OS_PASSWORD=" + password,
		"OS_PROJECT_NAME=" + project, "OS_USER_DOMAIN_NAME=Default", "OS_PROJECT_DOMAIN_NAME=Default",
		"OS_IDENTITY_API_VERSION=3", "OS_REGION_NAME=RegionOne", "OS_INTERFACE=public"}
}

// withoutOS is the environment without any OS_* variable of the caller.
func withoutOS() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OS_") {
			env = append(env, kv)
		}
	}
	return env
}

// makeMember creates, as the admin, a project and a user with roles on it.
func makeMember(t *testing.T, authURL, adminPassword, project, user, password string, roleNames ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pc, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{IdentityEndpoint: authURL, Username: "admin",
		Password: adminPassword, DomainName: "Default", TenantName: "admin"})
	if err != nil {
		t.Fatalf("admin login: %v", err)
	}
	sc, err := openstack.NewIdentityV3(pc, gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := projects.Create(ctx, sc, projects.CreateOpts{Name: project, DomainID: "default"}).Extract()
	if err != nil {
		t.Fatal("create project:", err)
	}
	u, err := users.Create(ctx, sc, users.CreateOpts{Name: user, Password: password, DomainID: "default"}).Extract()
	if err != nil {
		t.Fatal("create user:", err)
	}
	for _, rn := range roleNames {
		pages, err := roles.List(sc, roles.ListOpts{Name: rn}).AllPages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := roles.ExtractRoles(pages)
		if err != nil || len(rs) != 1 {
			t.Fatalf("role %s: %v %v", rn, rs, err)
		}
		if err := roles.Assign(ctx, sc, rs[0].ID, roles.AssignOpts{UserID: u.ID, ProjectID: p.ID}).ExtractErr(); err != nil {
			t.Fatal("assign:", err)
		}
	}
	return p.ID
}

// TestSeedWorkflowPassesWithTheNeutronClientLoggedInByPasswordThroughTheBuiltInIdentity
// runs the seed script unchanged with the real neutron CLI as a member of
// a project of its own, logged in through the built-in identity service;
// then gophercloud logs in from the same environment (AuthOptionsFromEnv)
// and finds that project's networks and nothing of the admin's.
func TestSeedWorkflowPassesWithTheNeutronClientLoggedInByPasswordThroughTheBuiltInIdentity(t *testing.T) {
	// A client workflow: it runs beside the others after the rest of the
	// package (see workflowsInParallel).
	t.Parallel()
	neutron, err := exec.LookPath("neutron")
	if err != nil {
		t.Skip("the neutron CLI (Debian python3-neutronclient) is not installed")
	}
	script := sharedFile(t, "api/seed-workflow.sh")
	idAddr := freeAddr(t)
	srv := startServer(t, "", "", "--identity-listen", idAddr)
	authURL := "http://" + idAddr + "/v3"
	const pw = "demo-password-0123"
	// The admin makes the member with the real openstack CLI, logged in
	// from the clouds.yaml the server wrote.
	var projectID string
	if osc, err := exec.LookPath("openstack"); err == nil {
		admin := append(withoutOS(), "OS_CLIENT_CONFIG_FILE="+filepath.Join(srv.dataDir, "clouds.yaml"), "OS_CLOUD=lbaas")
		osCmd := func(args ...string) string {
			c := exec.Command(osc, args...)
			c.Env = admin
			out, err := c.CombinedOutput()
			if err != nil {
				t.Fatalf("openstack %v: %v\n%s", args, err, out)
			}
			return strings.TrimSpace(string(out))
		}
		projectID = osCmd("project", "create", "demo", "-f", "value", "-c", "id")
		osCmd("user", "create", "--password", pw, "--project", "demo", "demo")
		osCmd("role", "add", "--user", "demo", "--project", "demo", "member")
		osCmd("role", "add", "--user", "demo", "--project", "demo", "load-balancer_member")
		if got := osCmd("role", "assignment", "list", "--names", "--project", "demo", "-f", "value", "-c", "Role"); !strings.Contains(got, "load-balancer_member") {
			t.Fatalf("role assignment list: %q", got)
		}
	} else {
		projectID = makeMember(t, authURL, bootstrapPassword(t, filepath.Join(srv.dataDir, "clouds.yaml")), "demo", "demo", pw, "member", "load-balancer_member")
	}

	cmd := exec.Command("bash", script)
	cmd.Env = append(withoutOS(), append(passwordEnv(authURL, "demo", pw, "demo"), "NEUTRON="+neutron, "SEED_KEEP=1")...)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "SEED WORKFLOW PASSED") {
		t.Fatalf("seed workflow logged in as demo failed: %v\n%s\nserver log:\n%s", err, tail(string(out), 60), srv.log.String())
	}
	if strings.Contains(string(out), srv.token) {
		t.Fatal("the admin token reached the script")
	}

	gophercloudFindsTheWorkflowsNetworks(t, passwordEnv(authURL, "demo", pw, "demo"), projectID)
	if lc, err := openstack.NewLoadBalancerV2(gophercloudLogin(t, passwordEnv(authURL, "demo", pw, "demo")), gophercloud.EndpointOpts{Region: "RegionOne"}); err != nil {
		t.Fatal("the catalog has no load-balancer endpoint:", err)
	} else if _, err := loadbalancers.List(lc, loadbalancers.ListOpts{}).AllPages(context.Background()); err != nil {
		t.Fatal("list load balancers as demo:", err)
	}
}

// TestOctaviaWorkflowPassesWithTheOpenstackClientLoggedInByPasswordThroughTheBuiltInIdentity
// runs the Octavia script unchanged with the real openstack CLI as the
// bootstrap admin, by password (the script's failover is an admin's
// action), with both endpoints from the catalog; traffic then flows
// through what it built.
func TestOctaviaWorkflowPassesWithTheOpenstackClientLoggedInByPasswordThroughTheBuiltInIdentity(t *testing.T) {
	// A client workflow: it runs beside the others after the rest of the
	// package (see workflowsInParallel).
	t.Parallel()
	openstackCLI, err := exec.LookPath("openstack")
	if err != nil {
		t.Skip("the openstack CLI (Debian python3-openstackclient and python3-octaviaclient) is not installed")
	}
	tp := startCluster(t, func(o *up.Options) { o.IdentityListen = freeAddr(t) })
	pw := bootstrapPassword(t, tp.c.CloudsFile)
	octaviaWorkflowServesWith(t, tp, append(passwordEnv(tp.c.IdentityURL, "admin", pw, "admin"), "OPENSTACK="+openstackCLI, "SEED_KEEP=1"))
}

// realKeystone starts a Keystone from Debian's packages with a service
// user for lbaas and a catalog naming the given endpoints, and returns it
// with the flags that point lbaas server at it.
func realKeystone(t *testing.T, neutronURL, octaviaURL string) (*keystonetest.Keystone, []string) {
	t.Helper()
	ks := keystonetest.Start(t)
	svc := ks.CreateProject(t, "service")
	const svcPW = "lbaas-service-password-0123"
	ks.CreateUser(t, "lbaas", svcPW, svc, "service")
	ks.AddEndpoint(t, "network", "neutron", neutronURL)
	ks.AddEndpoint(t, "load-balancer", "octavia", octaviaURL)
	pwFile := filepath.Join(t.TempDir(), "keystone-password")
	if err := os.WriteFile(pwFile, []byte(svcPW+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return ks, []string{"--auth", "keystone", "--keystone-url", ks.URL, "--keystone-user", "lbaas",
		"--keystone-password-file", pwFile, "--keystone-project", "service"}
}

// TestSeedWorkflowPassesWithTheNeutronClientLoggedInThroughARealKeystone
// runs the seed script with the real neutron CLI as a member of a project
// of a real Keystone, which lbaas server asks about every token; then
// gophercloud logs in from the same environment.
func TestSeedWorkflowPassesWithTheNeutronClientLoggedInThroughARealKeystone(t *testing.T) {
	// A client workflow: it runs beside the others after the rest of the
	// package (see workflowsInParallel). (Its Keystone once died under it
	// there: gunicorn's Pdeathsig followed a thread netns ended; see
	// keystonetest.)
	t.Parallel()
	neutron, err := exec.LookPath("neutron")
	if err != nil {
		t.Skip("the neutron CLI (Debian python3-neutronclient) is not installed")
	}
	script := sharedFile(t, "api/seed-workflow.sh")
	addr, octAddr := freeAddr(t), freeAddr(t)
	ks, flags := realKeystone(t, "http://"+addr, "http://"+octAddr)
	srv := startServer(t, "", addr, append(flags, "--octavia-listen", octAddr)...)
	const pw = "demo-password-0123"
	demo := ks.CreateProject(t, "demo")
	ks.CreateUser(t, "demo", pw, demo, "member", "load-balancer_member")

	cmd := exec.Command("bash", script)
	cmd.Env = append(withoutOS(), append(passwordEnv(ks.URL, "demo", pw, "demo"), "NEUTRON="+neutron, "SEED_KEEP=1")...)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "SEED WORKFLOW PASSED") {
		t.Fatalf("seed workflow through Keystone failed: %v\n%s\nserver log:\n%s", err, tail(string(out), 60), srv.log.String())
	}
	gophercloudFindsTheWorkflowsNetworks(t, passwordEnv(ks.URL, "demo", pw, "demo"), demo)
}

// TestOctaviaWorkflowPassesWithTheOpenstackClientLoggedInThroughARealKeystone
// runs the Octavia script with the real openstack CLI as Keystone's
// bootstrap admin against a cluster whose server validates every token
// with Keystone; traffic then flows through what it built.
func TestOctaviaWorkflowPassesWithTheOpenstackClientLoggedInThroughARealKeystone(t *testing.T) {
	// A client workflow: it runs beside the others after the rest of the
	// package (see workflowsInParallel).
	t.Parallel()
	openstackCLI, err := exec.LookPath("openstack")
	if err != nil {
		t.Skip("the openstack CLI (Debian python3-openstackclient and python3-octaviaclient) is not installed")
	}
	var ks *keystonetest.Keystone
	tp := startCluster(t, func(o *up.Options) {
		var flags []string
		ks, flags = realKeystone(t, "http://"+o.Listen, "http://"+o.OctaviaListen)
		o.ServerFlags = append(o.ServerFlags, flags...)
	})
	octaviaWorkflowServesWith(t, tp, append(passwordEnv(ks.URL, ks.AdminUser, ks.AdminPassword, ks.AdminProject), "OPENSTACK="+openstackCLI, "SEED_KEEP=1"))
}

// workflowsInParallel: the client workflow tests call t.Parallel, so they
// run three at a time (lbaas.sh test's -parallel 3) after every other test
// of the package. Most of their
// time is the clients' start-up and --wait polls, and nothing in them
// measures time; their subprocesses get the environment without OS_*
// (withoutOS), so the variables gophercloudLogin sets for a moment reach
// no other test's client.

// envMu serializes the tests that read their login from the process
// environment (t.Setenv is not allowed in parallel tests).
var envMu sync.Mutex

// gophercloudLogin logs in with gophercloud's AuthOptionsFromEnv from env.
func gophercloudLogin(t *testing.T, env []string) *gophercloud.ProviderClient {
	t.Helper()
	// gophercloud reads the domain of both from OS_DOMAIN_NAME (which the
	// openstack CLI would take for a domain scope, so not in the scripts'
	// environment).
	env = append(env, "OS_DOMAIN_NAME=Default")
	envMu.Lock()
	var restore []func()
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		old, had := os.LookupEnv(k)
		os.Setenv(k, v)
		restore = append(restore, func() {
			if had {
				os.Setenv(k, old)
			} else {
				os.Unsetenv(k)
			}
		})
	}
	ao, err := openstack.AuthOptionsFromEnv()
	for _, r := range restore {
		r()
	}
	envMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pc, err := openstack.AuthenticatedClient(ctx, ao)
	if err != nil {
		t.Fatal("gophercloud login from the environment:", err)
	}
	return pc
}

// gophercloudFindsTheWorkflowsNetworks logs in from env and finds, through
// the catalog's network endpoint, the seed workflow's vipnet and poolnet
// in project.
func gophercloudFindsTheWorkflowsNetworks(t *testing.T, env []string, project string) {
	t.Helper()
	nc, err := openstack.NewNetworkV2(gophercloudLogin(t, env), gophercloud.EndpointOpts{Region: "RegionOne"})
	if err != nil {
		t.Fatal("the catalog has no network endpoint:", err)
	}
	pages, err := networks.List(nc, networks.ListOpts{}).AllPages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	nets, _ := networks.ExtractNetworks(pages)
	names := map[string]string{}
	for _, n := range nets {
		names[n.Name] = n.ProjectID
	}
	if names["vipnet"] != project || names["poolnet"] != project {
		t.Fatalf("the networks gophercloud finds: %v; want vipnet and poolnet of project %s", names, project)
	}
}

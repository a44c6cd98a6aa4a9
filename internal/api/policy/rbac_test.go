package policy_test

// The RBAC matrix: every operation of the policy table, through both APIs,
// by each of eight callers, on objects of project alpha. Expectations are
// written here by hand from Octavia's and Neutron's documented defaults,
// not computed from the table, so a wrong row in the table fails here.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/google/uuid"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"lbaas/internal/api/auth"
	"lbaas/internal/api/neutron"
	"lbaas/internal/api/octavia"
	"lbaas/internal/api/policy"
	"lbaas/internal/model"
	"lbaas/internal/pki"
	"lbaas/internal/segment"
	"lbaas/internal/store"
	"lbaas/internal/store/storetest"
)

// The callers, each with a token: roles on a project, as Keystone scopes
// them (implied roles added as Keystone adds them).
const (
	admin     = "admin"           // admin on project admin
	lbAdmin   = "lb_admin"        // load-balancer_admin on project ops
	owner     = "owner"           // member of alpha, the objects' project
	other     = "other"           // member of beta
	observer  = "observer"        // load-balancer_observer on alpha
	gObserver = "global_observer" // load-balancer_global_observer on ops
	reader    = "reader"          // reader on alpha
	noRole    = "no_role"         // a role no rule names, on alpha
)

var personas = []string{admin, lbAdmin, owner, other, observer, gObserver, reader, noRole}

var entries = map[string]auth.Entry{
	admin:     {Project: "admin", Role: auth.RoleAdmin},
	lbAdmin:   {Project: "ops", Roles: []string{"load-balancer_admin"}},
	owner:     {Project: "alpha", Role: auth.RoleMember},
	other:     {Project: "beta", Role: auth.RoleMember},
	observer:  {Project: "alpha", Roles: []string{"load-balancer_observer"}},
	gObserver: {Project: "ops", Roles: []string{"load-balancer_global_observer"}},
	reader:    {Project: "alpha", Roles: []string{"reader"}},
	noRole:    {Project: "alpha", Roles: []string{"heat_stack_owner"}},
}

func token(p string) string { return "rbac-token-of-" + p }

var env struct {
	st                 *store.Store
	neutronURL, octURL string
	public             string // the external network's id
}

func TestMain(m *testing.M) {
	os.Exit(storetest.Main(m, "lbt-rbac-", func(e *storetest.Env) {
		var list []auth.Entry
		for p, en := range entries {
			en.Token = token(p)
			list = append(list, en)
		}
		a, err := auth.New(list)
		if err != nil {
			panic(err)
		}
		n := neutron.New(e.Store, neutron.Config{Auth: a, Logger: storetest.Quiet()})
		n.SetSegments(segment.Config{PhysicalNetworks: []string{"public"}, VNIs: segment.Range{Min: 100, Max: 100000}})
		env.st = e.Store
		env.neutronURL = httptest.NewServer(n).URL
		env.octURL = httptest.NewServer(octavia.New(e.Store, octavia.Config{Auth: a, Logger: storetest.Quiet()})).URL
	}))
}

type obj = map[string]any

type answer struct {
	code int
	raw  []byte
	body obj
}

func call(t *testing.T, persona, method, url string, body any) answer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", token(persona))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{code: resp.StatusCode, raw: raw}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

// mustCreateNamed creates an object whose id is its name (an
// availability zone).
func mustCreateNamed(t *testing.T, persona, url, envelope string, fields obj) {
	t.Helper()
	if a := call(t, persona, "POST", url, obj{envelope: fields}); a.code != 201 {
		t.Fatalf("fixture: POST %s as %s: %d %s", url, persona, a.code, a.raw)
	}
}

func mustCreate(t *testing.T, persona, url, envelope string, fields obj) string {
	t.Helper()
	a := call(t, persona, "POST", url, obj{envelope: fields})
	if a.code != 201 && a.code != 202 {
		t.Fatalf("fixture: POST %s as %s: %d %s", url, persona, a.code, a.raw)
	}
	return a.body[envelope].(obj)["id"].(string)
}

var seq atomic.Int64

// fixture is one of everything, owned by alpha, made by alpha's member.
type fixture struct {
	network, subnet, port, fip           string
	v1pool, v1member, v1vip, v1monitor   string
	cert                                 string
	lb, listener, pool, member, monitor  string
	l7policy, l7rule                     string
	amphora                              string
	flavorProfile, flavor, azProfile, az string
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	n := seq.Add(1)
	nu, oc := env.neutronURL+"/v2.0", env.octURL+"/v2/lbaas"
	var f fixture
	f.network = mustCreate(t, owner, nu+"/networks", "network", obj{"name": fmt.Sprintf("rbac-net-%d", n)})
	f.subnet = mustCreate(t, owner, nu+"/subnets", "subnet", obj{"network_id": f.network, "ip_version": 4, "cidr": fmt.Sprintf("10.%d.%d.0/24", 100+n/250, n%250)})
	f.port = mustCreate(t, owner, nu+"/ports", "port", obj{"network_id": f.network})
	f.fip = mustCreate(t, owner, nu+"/floatingips", "floatingip", obj{"floating_network_id": env.public})
	f.v1pool = mustCreate(t, owner, nu+"/lb/pools", "pool", obj{"name": "p", "subnet_id": f.subnet, "protocol": "HTTP", "lb_method": "ROUND_ROBIN"})
	f.v1member = mustCreate(t, owner, nu+"/lb/members", "member", obj{"pool_id": f.v1pool, "address": "10.9.9.9", "protocol_port": 80})
	f.v1vip = mustCreate(t, owner, nu+"/lb/vips", "vip", obj{"name": "v", "subnet_id": f.subnet, "pool_id": f.v1pool, "protocol": "HTTP", "protocol_port": 80})
	f.v1monitor = mustCreate(t, owner, nu+"/lb/health_monitors", "health_monitor", obj{"type": "HTTP", "delay": 20, "timeout": 10, "max_retries": 3})
	f.cert = mustCreate(t, owner, nu+"/lbaas-certificates", "certificate", certBody(t))
	f.lb = mustCreate(t, owner, oc+"/loadbalancers", "loadbalancer", obj{"name": "lb", "vip_subnet_id": f.subnet})
	f.listener = mustCreate(t, owner, oc+"/listeners", "listener", obj{"loadbalancer_id": f.lb, "protocol": "HTTP", "protocol_port": 80})
	f.pool = mustCreate(t, owner, oc+"/pools", "pool", obj{"listener_id": f.listener, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"})
	f.member = mustCreate(t, owner, oc+"/pools/"+f.pool+"/members", "member", obj{"address": "10.9.9.10", "protocol_port": 8080})
	f.monitor = mustCreate(t, owner, oc+"/healthmonitors", "healthmonitor", obj{"pool_id": f.pool, "type": "TCP", "delay": 5, "timeout": 3, "max_retries": 3})
	f.l7policy = mustCreate(t, owner, oc+"/l7policies", "l7policy", obj{"listener_id": f.listener, "action": "REJECT"})
	f.l7rule = mustCreate(t, owner, oc+"/l7policies/"+f.l7policy+"/rules", "rule", obj{"type": "PATH", "compare_type": "STARTS_WITH", "value": "/admin"})
	// The controller does not run here: the load balancer's service
	// instance, with one VM (an amphora), is written as it would write it.
	f.flavorProfile = mustCreate(t, admin, oc+"/flavorprofiles", "flavorprofile", obj{"name": "fp", "provider_name": "lbaas", "flavor_data": `{"loadbalancer_topology": "SINGLE"}`})
	f.flavor = mustCreate(t, admin, oc+"/flavors", "flavor", obj{"name": "single", "flavor_profile_id": f.flavorProfile})
	f.azProfile = mustCreate(t, admin, oc+"/availabilityzoneprofiles", "availability_zone_profile", obj{"name": "azp", "provider_name": "lbaas", "availability_zone_data": `{"compute_zone": "rack1"}`})
	f.az = fmt.Sprintf("rbac-az-%d", n)
	mustCreateNamed(t, admin, oc+"/availabilityzones", "availability_zone", obj{"name": f.az, "availability_zone_profile_id": f.azProfile})
	f.amphora = uuid.NewString()
	now := time.Now().UTC()
	si := &model.ServiceInstance{Meta: model.Meta{ID: f.lb, TenantID: "alpha", CreatedAt: now, UpdatedAt: now}, LoadBalancerID: f.lb,
		VMs: []model.SIVM{{ID: f.amphora, Node: "lbt-rbac-node", Role: model.RoleActive, Priority: model.PriorityActive}}}
	if _, err := env.st.Commit(context.Background(), new(store.Txn).Create(model.KindServiceInstance, si)); err != nil {
		t.Fatal(err)
	}
	return f
}

var certPEM, keyPEM string

func certBody(t *testing.T) obj {
	if certPEM == "" {
		now := time.Now()
		c, err := pki.Issue(nil, pki.Request{CommonName: "rbac.example.test", DNSNames: []string{"rbac.example.test"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		certPEM, keyPEM = string(c.CertPEM), string(c.KeyPEM)
	}
	return obj{"name": "c", "certificate": certPEM, "private_key": keyPEM}
}

// Outcomes. A code, or for a list whether alpha's object is in it.
const (
	sees   = 1 // 200 and the object is listed
	hidden = 2 // 200 and the object is not listed
)

// want gives the outcome for each persona, in the order of personas.
type want [8]int

// Octavia: another project's object and a missing right are both 403.
func octRead() want         { return want{200, 200, 200, 403, 200, 200, 200, 403} }
func octList() want         { return want{sees, sees, sees, hidden, sees, sees, sees, 403} }
func octWrite(ok int) want  { return want{ok, ok, ok, 403, 403, 403, 403, 403} }
func adminOnly(ok int) want { return want{ok, ok, 403, 403, 403, 403, 403, 403} }

// Neutron networking: Keystone's member and reader roles, admin alone
// for every project; what a caller may not see is 404.
func netRead() want         { return want{200, 404, 200, 404, 404, 404, 200, 404} }
func netList() want         { return want{sees, hidden, sees, hidden, hidden, hidden, sees, hidden} }
func netWrite(ok int) want  { return want{ok, 404, ok, 404, 404, 404, 403, 404} }
func netCreate(ok int) want { return want{ok, 403, ok, ok, 403, 403, 403, 403} }

// Neutron LBaaS v1: Octavia's rules in Neutron's convention.
func v1Read() want        { return want{200, 200, 200, 404, 200, 200, 200, 404} }
func v1List() want        { return want{sees, sees, sees, hidden, sees, sees, sees, hidden} }
func v1Write(ok int) want { return want{ok, ok, ok, 404, 403, 403, 403, 404} }

type matrixCase struct {
	op     string
	method string
	url    func(f fixture) string
	body   func(t *testing.T, f fixture) any
	// id is the object a list must show (list cases only).
	id   func(f fixture) string
	want want
}

func nu(p string) string { return env.neutronURL + "/v2.0" + p }
func oc(p string) string { return env.octURL + "/v2/lbaas" + p }

func fixed(s string) func(fixture) string { return func(fixture) string { return s } }

func cases() []matrixCase {
	n := func(op, method string, url func(f fixture) string, w want) matrixCase {
		return matrixCase{op: op, method: method, url: url, want: w}
	}
	withBody := func(c matrixCase, b func(t *testing.T, f fixture) any) matrixCase { c.body = b; return c }
	listOf := func(c matrixCase, id func(f fixture) string) matrixCase { c.id = id; return c }
	const del, upd = 204, 200
	return []matrixCase{
		// Octavia v2.
		listOf(n("loadbalancer:get_all", "GET", fixed(oc("/loadbalancers")), octList()), func(f fixture) string { return f.lb }),
		withBody(n("loadbalancer:post", "POST", fixed(oc("/loadbalancers")), octWrite(201)), func(t *testing.T, f fixture) any {
			return obj{"loadbalancer": obj{"vip_subnet_id": f.subnet, "project_id": "alpha"}}
		}),
		n("loadbalancer:get_one", "GET", func(f fixture) string { return oc("/loadbalancers/" + f.lb) }, octRead()),
		withBody(n("loadbalancer:put", "PUT", func(f fixture) string { return oc("/loadbalancers/" + f.lb) }, octWrite(upd)), func(*testing.T, fixture) any {
			return obj{"loadbalancer": obj{"description": "changed"}}
		}),
		n("loadbalancer:delete", "DELETE", func(f fixture) string { return oc("/loadbalancers/" + f.lb + "?cascade=true") }, octWrite(del)),
		n("loadbalancer:get_status", "GET", func(f fixture) string { return oc("/loadbalancers/" + f.lb + "/status") }, octRead()),
		n("loadbalancer:get_stats", "GET", func(f fixture) string { return oc("/loadbalancers/" + f.lb + "/stats") }, octRead()),
		n("loadbalancer:put_failover", "PUT", func(f fixture) string { return oc("/loadbalancers/" + f.lb + "/failover") }, adminOnly(202)),
		listOf(n("listener:get_all", "GET", fixed(oc("/listeners")), octList()), func(f fixture) string { return f.listener }),
		withBody(n("listener:post", "POST", fixed(oc("/listeners")), octWrite(201)), func(_ *testing.T, f fixture) any {
			return obj{"listener": obj{"loadbalancer_id": f.lb, "protocol": "TCP", "protocol_port": 1000 + seq.Add(1)%60000}}
		}),
		n("listener:get_one", "GET", func(f fixture) string { return oc("/listeners/" + f.listener) }, octRead()),
		withBody(n("listener:put", "PUT", func(f fixture) string { return oc("/listeners/" + f.listener) }, octWrite(upd)), func(*testing.T, fixture) any {
			return obj{"listener": obj{"description": "changed"}}
		}),
		n("listener:delete", "DELETE", func(f fixture) string { return oc("/listeners/" + f.listener) }, octWrite(del)),
		n("listener:get_stats", "GET", func(f fixture) string { return oc("/listeners/" + f.listener + "/stats") }, octRead()),
		listOf(n("pool:get_all", "GET", fixed(oc("/pools")), octList()), func(f fixture) string { return f.pool }),
		withBody(n("pool:post", "POST", fixed(oc("/pools")), octWrite(201)), func(_ *testing.T, f fixture) any {
			return obj{"pool": obj{"loadbalancer_id": f.lb, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}}
		}),
		n("pool:get_one", "GET", func(f fixture) string { return oc("/pools/" + f.pool) }, octRead()),
		withBody(n("pool:put", "PUT", func(f fixture) string { return oc("/pools/" + f.pool) }, octWrite(upd)), func(*testing.T, fixture) any {
			return obj{"pool": obj{"description": "changed"}}
		}),
		n("pool:delete", "DELETE", func(f fixture) string { return oc("/pools/" + f.pool) }, octWrite(del)),
		listOf(n("member:get_all", "GET", func(f fixture) string { return oc("/pools/" + f.pool + "/members") }, want{sees, sees, sees, 403, sees, sees, sees, 403}),
			func(f fixture) string { return f.member }),
		withBody(n("member:post", "POST", func(f fixture) string { return oc("/pools/" + f.pool + "/members") }, octWrite(201)), func(*testing.T, fixture) any {
			return obj{"member": obj{"address": "10.9.9.11", "protocol_port": 1000 + seq.Add(1)%60000}}
		}),
		withBody(n("member:put_all", "PUT", func(f fixture) string { return oc("/pools/" + f.pool + "/members") }, octWrite(202)), func(*testing.T, fixture) any {
			return obj{"members": []obj{{"address": "10.9.9.12", "protocol_port": 8080}}}
		}),
		n("member:get_one", "GET", func(f fixture) string { return oc("/pools/" + f.pool + "/members/" + f.member) }, octRead()),
		withBody(n("member:put", "PUT", func(f fixture) string { return oc("/pools/" + f.pool + "/members/" + f.member) }, octWrite(upd)), func(*testing.T, fixture) any {
			return obj{"member": obj{"weight": 5}}
		}),
		n("member:delete", "DELETE", func(f fixture) string { return oc("/pools/" + f.pool + "/members/" + f.member) }, octWrite(del)),
		listOf(n("healthmonitor:get_all", "GET", fixed(oc("/healthmonitors")), octList()), func(f fixture) string { return f.monitor }),
		withBody(n("healthmonitor:post", "POST", fixed(oc("/healthmonitors")), octWrite(201)), func(t *testing.T, f fixture) any {
			// A pool of its own: a pool has one monitor.
			return obj{"healthmonitor": obj{"pool_id": mustCreate(t, owner, oc("/pools"), "pool", obj{"loadbalancer_id": f.lb, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}),
				"type": "TCP", "delay": 5, "timeout": 3, "max_retries": 3}}
		}),
		n("healthmonitor:get_one", "GET", func(f fixture) string { return oc("/healthmonitors/" + f.monitor) }, octRead()),
		withBody(n("healthmonitor:put", "PUT", func(f fixture) string { return oc("/healthmonitors/" + f.monitor) }, octWrite(upd)), func(*testing.T, fixture) any {
			return obj{"healthmonitor": obj{"delay": 7}}
		}),
		n("healthmonitor:delete", "DELETE", func(f fixture) string { return oc("/healthmonitors/" + f.monitor) }, octWrite(del)),
		listOf(n("l7policy:get_all", "GET", fixed(oc("/l7policies")), octList()), func(f fixture) string { return f.l7policy }),
		withBody(n("l7policy:post", "POST", fixed(oc("/l7policies")), octWrite(201)), func(_ *testing.T, f fixture) any {
			return obj{"l7policy": obj{"listener_id": f.listener, "action": "REDIRECT_TO_URL", "redirect_url": "https://example.com/"}}
		}),
		n("l7policy:get_one", "GET", func(f fixture) string { return oc("/l7policies/" + f.l7policy) }, octRead()),
		withBody(n("l7policy:put", "PUT", func(f fixture) string { return oc("/l7policies/" + f.l7policy) }, octWrite(upd)), func(*testing.T, fixture) any {
			return obj{"l7policy": obj{"description": "changed"}}
		}),
		n("l7policy:delete", "DELETE", func(f fixture) string { return oc("/l7policies/" + f.l7policy) }, octWrite(del)),
		listOf(n("l7rule:get_all", "GET", func(f fixture) string { return oc("/l7policies/" + f.l7policy + "/rules") }, want{sees, sees, sees, 403, sees, sees, sees, 403}),
			func(f fixture) string { return f.l7rule }),
		withBody(n("l7rule:post", "POST", func(f fixture) string { return oc("/l7policies/" + f.l7policy + "/rules") }, octWrite(201)), func(*testing.T, fixture) any {
			return obj{"rule": obj{"type": "HEADER", "key": "X-Env", "compare_type": "EQUAL_TO", "value": "staging"}}
		}),
		n("l7rule:get_one", "GET", func(f fixture) string { return oc("/l7policies/" + f.l7policy + "/rules/" + f.l7rule) }, octRead()),
		withBody(n("l7rule:put", "PUT", func(f fixture) string { return oc("/l7policies/" + f.l7policy + "/rules/" + f.l7rule) }, octWrite(upd)), func(*testing.T, fixture) any {
			return obj{"rule": obj{"invert": true}}
		}),
		n("l7rule:delete", "DELETE", func(f fixture) string { return oc("/l7policies/" + f.l7policy + "/rules/" + f.l7rule) }, octWrite(del)),
		n("amphora:get_all", "GET", fixed(env.octURL+"/v2/octavia/amphorae"), adminOnly(200)),
		n("amphora:get_one", "GET", func(f fixture) string { return env.octURL + "/v2/octavia/amphorae/" + f.amphora }, adminOnly(200)),
		n("amphora:get_stats", "GET", func(f fixture) string { return env.octURL + "/v2/octavia/amphorae/" + f.amphora + "/stats" }, adminOnly(200)),
		n("amphora:put_failover", "PUT", func(f fixture) string { return env.octURL + "/v2/octavia/amphorae/" + f.amphora + "/failover" }, adminOnly(202)),
		n("amphora:put_config", "PUT", func(f fixture) string { return env.octURL + "/v2/octavia/amphorae/" + f.amphora + "/config" }, adminOnly(202)),
		listOf(n("flavor:get_all", "GET", fixed(oc("/flavors")), want{sees, sees, sees, sees, sees, sees, sees, 403}), func(f fixture) string { return f.flavor }),
		withBody(n("flavor:post", "POST", fixed(oc("/flavors")), adminOnly(201)), func(_ *testing.T, f fixture) any {
			return obj{"flavor": obj{"name": "another", "flavor_profile_id": f.flavorProfile}}
		}),
		n("flavor:get_one", "GET", func(f fixture) string { return oc("/flavors/" + f.flavor) }, want{200, 200, 200, 200, 200, 200, 200, 403}),
		withBody(n("flavor:put", "PUT", func(f fixture) string { return oc("/flavors/" + f.flavor) }, adminOnly(200)), func(*testing.T, fixture) any {
			return obj{"flavor": obj{"description": "changed"}}
		}),
		n("flavor:delete", "DELETE", func(f fixture) string { return oc("/flavors/" + f.flavor) }, adminOnly(204)),
		n("flavor-profile:get_all", "GET", fixed(oc("/flavorprofiles")), adminOnly(200)),
		withBody(n("flavor-profile:post", "POST", fixed(oc("/flavorprofiles")), adminOnly(201)), func(*testing.T, fixture) any {
			return obj{"flavorprofile": obj{"name": "fp2", "provider_name": "lbaas", "flavor_data": "{}"}}
		}),
		n("flavor-profile:get_one", "GET", func(f fixture) string { return oc("/flavorprofiles/" + f.flavorProfile) }, adminOnly(200)),
		withBody(n("flavor-profile:put", "PUT", func(f fixture) string { return oc("/flavorprofiles/" + f.flavorProfile) }, adminOnly(200)), func(*testing.T, fixture) any {
			return obj{"flavorprofile": obj{"name": "renamed"}}
		}),
		// In use by the fixture's flavor: 409 for those allowed to try.
		n("flavor-profile:delete", "DELETE", func(f fixture) string { return oc("/flavorprofiles/" + f.flavorProfile) }, adminOnly(409)),
		listOf(n("availability-zone:get_all", "GET", fixed(oc("/availabilityzones")), want{sees, sees, sees, sees, sees, sees, sees, 403}), func(f fixture) string { return f.az }),
		withBody(n("availability-zone:post", "POST", fixed(oc("/availabilityzones")), adminOnly(201)), func(_ *testing.T, f fixture) any {
			return obj{"availability_zone": obj{"name": fmt.Sprintf("rbac-az-new-%d", seq.Add(1)), "availability_zone_profile_id": f.azProfile}}
		}),
		n("availability-zone:get_one", "GET", func(f fixture) string { return oc("/availabilityzones/" + f.az) }, want{200, 200, 200, 200, 200, 200, 200, 403}),
		withBody(n("availability-zone:put", "PUT", func(f fixture) string { return oc("/availabilityzones/" + f.az) }, adminOnly(200)), func(*testing.T, fixture) any {
			return obj{"availability_zone": obj{"description": "changed"}}
		}),
		n("availability-zone:delete", "DELETE", func(f fixture) string { return oc("/availabilityzones/" + f.az) }, adminOnly(204)),
		n("availability-zone-profile:get_all", "GET", fixed(oc("/availabilityzoneprofiles")), adminOnly(200)),
		withBody(n("availability-zone-profile:post", "POST", fixed(oc("/availabilityzoneprofiles")), adminOnly(201)), func(*testing.T, fixture) any {
			return obj{"availability_zone_profile": obj{"name": "azp2", "provider_name": "lbaas", "availability_zone_data": `{"compute_zone": "rack2"}`}}
		}),
		n("availability-zone-profile:get_one", "GET", func(f fixture) string { return oc("/availabilityzoneprofiles/" + f.azProfile) }, adminOnly(200)),
		withBody(n("availability-zone-profile:put", "PUT", func(f fixture) string { return oc("/availabilityzoneprofiles/" + f.azProfile) }, adminOnly(200)), func(*testing.T, fixture) any {
			return obj{"availability_zone_profile": obj{"name": "renamed"}}
		}),
		n("availability-zone-profile:delete", "DELETE", func(f fixture) string { return oc("/availabilityzoneprofiles/" + f.azProfile) }, adminOnly(409)),
		n("provider-flavor:get_all", "GET", fixed(oc("/providers/lbaas/flavor_capabilities")), adminOnly(200)),
		n("provider-availability-zone:get_all", "GET", fixed(oc("/providers/lbaas/availability_zone_capabilities")), adminOnly(200)),
		n("provider:get_all", "GET", fixed(oc("/providers")), want{200, 200, 200, 200, 200, 200, 200, 403}),
		n("quota:get_all", "GET", fixed(oc("/quotas")), want{200, 200, 200, 200, 200, 200, 200, 403}),
		n("quota:get_one", "GET", fixed(oc("/quotas/alpha")), octRead()),
		n("quota:get_defaults", "GET", fixed(oc("/quotas/alpha/default")), octRead()),
		withBody(n("quota:put", "PUT", fixed(oc("/quotas/alpha")), adminOnly(202)), func(*testing.T, fixture) any {
			return obj{"quota": obj{"load_balancer": 100000}}
		}),
		n("quota:delete", "DELETE", fixed(oc("/quotas/alpha")), adminOnly(202)),

		// Neutron networking.
		listOf(n("network:get", "GET", fixed(nu("/networks")), netList()), func(f fixture) string { return f.network }),
		withBody(n("network:create", "POST", fixed(nu("/networks")), netCreate(201)), func(*testing.T, fixture) any { return obj{"network": obj{"name": "n"}} }),
		withBody(n("network:update", "PUT", func(f fixture) string { return nu("/networks/" + f.network) }, netWrite(upd)), func(*testing.T, fixture) any {
			return obj{"network": obj{"name": "changed"}}
		}),
		n("network:delete", "DELETE", func(f fixture) string { return nu("/networks/" + f.network) }, want{409, 404, 409, 404, 404, 404, 403, 404}),
		withBody(n("network:external_shared_provider", "POST", fixed(nu("/networks")), want{201, 403, 403, 403, 403, 403, 403, 403}), func(*testing.T, fixture) any {
			return obj{"network": obj{"name": "shared", "shared": true}}
		}),
		n("subnet:get", "GET", func(f fixture) string { return nu("/subnets/" + f.subnet) }, netRead()),
		withBody(n("subnet:create", "POST", fixed(nu("/subnets")), want{201, 403, 201, 404, 403, 403, 403, 403}), func(_ *testing.T, f fixture) any {
			n := seq.Add(1)
			return obj{"subnet": obj{"network_id": f.network, "ip_version": 4, "cidr": fmt.Sprintf("10.%d.%d.0/24", 200+n/250, n%250)}}
		}),
		withBody(n("subnet:update", "PUT", func(f fixture) string { return nu("/subnets/" + f.subnet) }, netWrite(upd)), func(*testing.T, fixture) any {
			return obj{"subnet": obj{"name": "changed"}}
		}),
		n("subnet:delete", "DELETE", func(f fixture) string { return nu("/subnets/" + f.subnet) }, want{409, 404, 409, 404, 404, 404, 403, 404}),
		n("port:get", "GET", func(f fixture) string { return nu("/ports/" + f.port) }, netRead()),
		withBody(n("port:create", "POST", fixed(nu("/ports")), want{201, 403, 201, 404, 403, 403, 403, 403}), func(_ *testing.T, f fixture) any {
			return obj{"port": obj{"network_id": f.network}}
		}),
		withBody(n("port:update", "PUT", func(f fixture) string { return nu("/ports/" + f.port) }, netWrite(upd)), func(*testing.T, fixture) any {
			return obj{"port": obj{"name": "changed"}}
		}),
		n("port:delete", "DELETE", func(f fixture) string { return nu("/ports/" + f.port) }, netWrite(del)),
		withBody(n("port:binding", "PUT", func(f fixture) string { return nu("/ports/" + f.port) }, want{upd, 404, 403, 404, 404, 404, 403, 404}), func(*testing.T, fixture) any {
			return obj{"port": obj{"binding:host_id": "compute-1"}}
		}),
		listOf(n("floatingip:get", "GET", fixed(nu("/floatingips")), netList()), func(f fixture) string { return f.fip }),
		withBody(n("floatingip:create", "POST", fixed(nu("/floatingips")), netCreate(201)), func(*testing.T, fixture) any {
			return obj{"floatingip": obj{"floating_network_id": env.public}}
		}),
		withBody(n("floatingip:update", "PUT", func(f fixture) string { return nu("/floatingips/" + f.fip) }, netWrite(upd)), func(_ *testing.T, f fixture) any {
			return obj{"floatingip": obj{"port_id": f.port}}
		}),
		n("floatingip:delete", "DELETE", func(f fixture) string { return nu("/floatingips/" + f.fip) }, netWrite(del)),

		// Neutron LBaaS v1.
		listOf(n("lb_v1:get", "GET", fixed(nu("/lb/pools")), v1List()), func(f fixture) string { return f.v1pool }),
		withBody(n("lb_v1:create", "POST", fixed(nu("/lb/members")), want{201, 201, 201, 404, 403, 403, 403, 403}), func(_ *testing.T, f fixture) any {
			return obj{"member": obj{"pool_id": f.v1pool, "address": "10.9.9.20", "protocol_port": 1000 + seq.Add(1)%60000}}
		}),
		withBody(n("lb_v1:update", "PUT", func(f fixture) string { return nu("/lb/vips/" + f.v1vip) }, v1Write(upd)), func(*testing.T, fixture) any {
			return obj{"vip": obj{"description": "changed"}}
		}),
		n("lb_v1:delete", "DELETE", func(f fixture) string { return nu("/lb/members/" + f.v1member) }, v1Write(del)),
		n("certificate:get", "GET", func(f fixture) string { return nu("/lbaas-certificates/" + f.cert) }, v1Read()),
		withBody(n("certificate:create", "POST", fixed(nu("/lbaas-certificates")), want{201, 201, 201, 201, 403, 403, 403, 403}), func(t *testing.T, _ fixture) any {
			return obj{"certificate": certBody(t)}
		}),
		n("certificate:delete", "DELETE", func(f fixture) string { return nu("/lbaas-certificates/" + f.cert) }, v1Write(del)),
		listOf(n("service_instance:get", "GET", fixed(env.neutronURL+"/analytics/uves/service-instances"), want{200, 200, 200, 200, 200, 200, 200, 200}), nil),
		listOf(n("event:get", "GET", fixed(nu("/lbaas-events")), want{200, 200, 200, 200, 200, 200, 200, 200}), nil),
		listOf(n("agent:get", "GET", fixed(nu("/agents")), want{200, 200, 200, 200, 200, 200, 200, 200}), nil),
		withBody(n("agent:update", "PUT", fixed(nu("/agents/lbt-rbac-node")), want{200, 404, 404, 404, 404, 404, 404, 404}), func(*testing.T, fixture) any {
			return obj{"agent": obj{"admin_state_up": true}}
		}),
	}
}

// snapshot is every object in the store, as JSON, for "nothing changed".
func snapshot(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, k := range []model.Kind{model.KindNetwork, model.KindSubnet, model.KindPort, model.KindFloatingIP, model.KindLoadBalancer,
		model.KindListener, model.KindPool, model.KindMember, model.KindHealthMonitor, model.KindCertificate, model.KindQuota, model.KindNodeAdmin} {
		for _, e := range env.st.List(k) {
			b, _ := json.Marshal(e.Obj)
			out[string(k)+"/"+e.Obj.Base().ID] = string(b)
		}
	}
	return out
}

func diff(a, b map[string]string) []string {
	var d []string
	for k, v := range a {
		if b[k] != v {
			d = append(d, "changed or removed: "+k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			d = append(d, "added: "+k)
		}
	}
	sort.Strings(d)
	return d
}

func listed(a answer, id string) bool {
	return id != "" && bytes.Contains(a.raw, []byte(`"`+id+`"`))
}

func TestEveryOperationOfBothAPIsAllowsOrRefusesEachRoleAsOctaviaAndNeutronDo(t *testing.T) {
	env.public = mustCreate(t, admin, nu("/networks"), "network", obj{"name": "Public", "router:external": true, "shared": true})
	mustCreate(t, admin, nu("/subnets"), "subnet", obj{"network_id": env.public, "ip_version": 4, "cidr": "198.51.100.0/24"})
	now := time.Now().UTC()
	node := &model.Node{Meta: model.Meta{ID: "lbt-rbac-node", TenantID: "admin", CreatedAt: now, UpdatedAt: now}, Name: "lbt-rbac-node", Alive: true, Registered: now, LastSeen: now}
	if _, err := env.st.Commit(context.Background(), new(store.Txn).Create(model.KindNode, node)); err != nil {
		t.Fatal(err)
	}

	covered := map[string]bool{}
	for _, c := range cases() {
		covered[c.op] = true
		t.Run(c.op, func(t *testing.T) {
			f := newFixture(t)
			for i, p := range personas {
				before := snapshot(t)
				var body any
				if c.body != nil {
					body = c.body(t, f)
					before = snapshot(t) // the body may make a helper object
				}
				a := call(t, p, c.method, c.url(f), body)
				w := c.want[i]
				switch {
				case w == sees || w == hidden:
					if a.code != 200 {
						t.Errorf("%s %s as %s: %d, want 200 (%s)", c.method, c.op, p, a.code, a.raw)
					} else if c.id != nil && listed(a, c.id(f)) != (w == sees) {
						t.Errorf("%s as %s: alpha's object listed=%v, want %v", c.op, p, listed(a, c.id(f)), w == sees)
					}
				case a.code != w:
					t.Errorf("%s %s as %s: %d, want %d (%s)", c.method, c.op, p, a.code, w, a.raw)
				}
				if a.code == 403 || a.code == 404 {
					if d := diff(before, snapshot(t)); len(d) > 0 {
						t.Errorf("%s as %s was refused (%d) yet changed the store: %v", c.op, p, a.code, d)
					}
					if a.code == 403 && !strings.Contains(string(a.raw), "olicy") {
						t.Errorf("%s as %s: a 403 that does not say policy refused it: %s", c.op, p, a.raw)
					}
				}
				if c.method == "DELETE" && a.code < 300 {
					f = newFixture(t) // the next persona needs the object again
				}
			}
		})
	}
	for _, op := range policy.Operations() {
		if !covered[op] && op != "agent:act_as_node" && !strings.HasPrefix(op, "identity:") {
			t.Errorf("operation %s of the policy table has no row in the matrix", op)
		}
	}
}

func TestTheDocsShowThePolicyTheServerEnforces(t *testing.T) {
	b, err := os.ReadFile("../../../docs/011-identity-and-policy.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	begin, end := strings.Index(doc, "<!-- policy table: begin -->\n"), strings.Index(doc, "<!-- policy table: end -->")
	if begin < 0 || end < begin {
		t.Fatal("docs/011 lacks the policy table markers")
	}
	if got := doc[begin+len("<!-- policy table: begin -->\n") : end]; got != policy.Table() {
		t.Fatal("the policy table in docs/011 differs from internal/api/policy/policy.md; copy the file between the markers")
	}
}

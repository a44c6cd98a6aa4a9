package octavia_test

import (
	"context"
	"slices"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/flavorprofiles"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/l7policies"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/listeners"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/monitors"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/quotas"
)

// TestGophercloudDrivesTheWholeAPI uses the Go SDK as a Go user would,
// with a fixed endpoint and token instead of Keystone.
func TestGophercloudDrivesTheWholeAPI(t *testing.T) {
	ctx := context.Background()
	sc := &gophercloud.ServiceClient{ProviderClient: &gophercloud.ProviderClient{TokenID: alphaToken}, Endpoint: env.url + "/", ResourceBase: env.url + "/v2.0/"}
	_, sub := subnet(t, "alpha")
	up := true
	lb, err := loadbalancers.Create(ctx, sc, loadbalancers.CreateOpts{Name: "gc-lb", VipSubnetID: sub, AdminStateUp: &up, Tags: []string{"go"}}).Extract()
	if err != nil {
		t.Fatal("create lb:", err)
	}
	if lb.VipAddress == "" || lb.ProvisioningStatus != "PENDING_CREATE" || lb.Provider != "lbaas" {
		t.Fatalf("%+v", lb)
	}
	l, err := listeners.Create(ctx, sc, listeners.CreateOpts{LoadbalancerID: lb.ID, Protocol: listeners.ProtocolHTTP, ProtocolPort: 80, Name: "gc-l"}).Extract()
	if err != nil {
		t.Fatal("create listener:", err)
	}
	p, err := pools.Create(ctx, sc, pools.CreateOpts{ListenerID: l.ID, Protocol: pools.ProtocolHTTP, LBMethod: pools.LBMethodLeastConnections, Name: "gc-p",
		Persistence: &pools.SessionPersistence{Type: "APP_COOKIE", CookieName: "sid"}}).Extract()
	if err != nil {
		t.Fatal("create pool:", err)
	}
	if len(p.Loadbalancers) != 1 || p.Loadbalancers[0].ID != lb.ID || p.Persistence.CookieName != "sid" {
		t.Fatalf("%+v", p)
	}
	w := 5
	m, err := pools.CreateMember(ctx, sc, p.ID, pools.CreateMemberOpts{Address: "192.168.50.1", ProtocolPort: 8080, Weight: &w, SubnetID: sub}).Extract()
	if err != nil {
		t.Fatal("create member:", err)
	}
	w2 := 9
	if _, err := pools.UpdateMember(ctx, sc, p.ID, m.ID, pools.UpdateMemberOpts{Weight: &w2}).Extract(); err != nil {
		t.Fatal("update member:", err)
	}
	if err := pools.BatchUpdateMembers(ctx, sc, p.ID, []pools.BatchUpdateMemberOpts{
		{Address: "192.168.50.1", ProtocolPort: 8080}, {Address: "192.168.50.2", ProtocolPort: 8080},
	}).ExtractErr(); err != nil {
		t.Fatal("batch update:", err)
	}
	pages, err := pools.ListMembers(sc, p.ID, pools.ListMembersOpts{}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := pools.ExtractMembers(pages)
	if err != nil || len(ms) != 2 {
		t.Fatalf("members %v %v", ms, err)
	}
	hm, err := monitors.Create(ctx, sc, monitors.CreateOpts{PoolID: p.ID, Type: monitors.TypeHTTP, Delay: 10, Timeout: 5, MaxRetries: 3, MaxRetriesDown: 2,
		URLPath: "/health", HTTPVersion: "1.1", DomainName: "example.com", ExpectedCodes: "200-204"}).Extract()
	if err != nil {
		t.Fatal("create monitor:", err)
	}
	if hm.HTTPVersion != "1.1" || hm.MaxRetriesDown != 2 || len(hm.Pools) != 1 {
		t.Fatalf("%+v", hm)
	}
	delay := 20
	if _, err := monitors.Update(ctx, sc, hm.ID, monitors.UpdateOpts{Delay: delay}).Extract(); err != nil {
		t.Fatal("update monitor:", err)
	}
	desc := "described"
	if got, err := loadbalancers.Update(ctx, sc, lb.ID, loadbalancers.UpdateOpts{Description: &desc}).Extract(); err != nil || got.Description != desc {
		t.Fatal("update lb:", err)
	}
	st, err := loadbalancers.GetStatuses(ctx, sc, lb.ID).Extract()
	if err != nil {
		t.Fatal("statuses:", err)
	}
	if len(st.Loadbalancer.Listeners) != 1 || len(st.Loadbalancer.Listeners[0].Pools) != 1 || len(st.Loadbalancer.Listeners[0].Pools[0].Members) != 2 ||
		st.Loadbalancer.Listeners[0].Pools[0].Monitor.ID != hm.ID {
		t.Fatalf("%+v", st.Loadbalancer)
	}
	if _, err := loadbalancers.GetStats(ctx, sc, lb.ID).Extract(); err != nil {
		t.Fatal("stats:", err)
	}
	if _, err := listeners.GetStats(ctx, sc, l.ID).Extract(); err != nil {
		t.Fatal("listener stats:", err)
	}
	allPages, err := loadbalancers.List(sc, loadbalancers.ListOpts{Name: "gc-lb"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lbs, err := loadbalancers.ExtractLoadBalancers(allPages)
	if err != nil || len(lbs) != 1 {
		t.Fatalf("list %v %v", lbs, err)
	}
	pol, err := l7policies.Create(ctx, sc, l7policies.CreateOpts{ListenerID: l.ID, Name: "gc-l7", Action: l7policies.ActionRedirectToURL,
		RedirectURL: "https://example.com/moved", RedirectHttpCode: 301,
		Rules: []l7policies.CreateRuleOpts{{RuleType: l7policies.TypePath, CompareType: l7policies.CompareTypeStartWith, Value: "/old/"}}}).Extract()
	if err != nil {
		t.Fatal("create l7 policy:", err)
	}
	if pol.Position != 1 || pol.RedirectHttpCode != 301 || len(pol.Rules) != 1 {
		t.Fatalf("%+v", pol)
	}
	rule, err := l7policies.CreateRule(ctx, sc, pol.ID, l7policies.CreateRuleOpts{RuleType: l7policies.TypeCookie, Key: "beta", CompareType: l7policies.CompareTypeEqual, Value: "1"}).Extract()
	if err != nil {
		t.Fatal("create l7 rule:", err)
	}
	inv := true
	if got, err := l7policies.UpdateRule(ctx, sc, pol.ID, rule.ID, l7policies.UpdateRuleOpts{Invert: &inv}).Extract(); err != nil || !got.Invert || got.Key != "beta" {
		t.Fatalf("update l7 rule: %+v %v", got, err)
	}
	poolID := p.ID
	if got, err := l7policies.Update(ctx, sc, pol.ID, l7policies.UpdateOpts{Action: l7policies.ActionRedirectToPool, RedirectPoolID: &poolID}).Extract(); err != nil ||
		got.RedirectURL != "" || got.RedirectPoolID != p.ID || got.RedirectHttpCode != 0 {
		t.Fatalf("update l7 policy to a pool: %+v %v", got, err)
	}
	rulePages, err := l7policies.ListRules(sc, pol.ID, l7policies.ListRulesOpts{}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rules, err := l7policies.ExtractRules(rulePages); err != nil || len(rules) != 2 {
		t.Fatalf("rules %v %v", rules, err)
	}
	polPages, err := l7policies.List(sc, l7policies.ListOpts{ListenerID: l.ID}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if pols, err := l7policies.ExtractL7Policies(polPages); err != nil || len(pols) != 1 || pols[0].ID != pol.ID {
		t.Fatalf("policies %v %v", pols, err)
	}
	if err := l7policies.DeleteRule(ctx, sc, pol.ID, rule.ID).ExtractErr(); err != nil {
		t.Fatal("delete l7 rule:", err)
	}
	if _, err := l7policies.GetRule(ctx, sc, pol.ID, rule.ID).Extract(); !gophercloud.ResponseCodeIs(err, 404) {
		t.Fatalf("a deleted rule: %v", err)
	}
	// Failover is an admin's action in Octavia's policy.
	if err := loadbalancers.Failover(ctx, sc, lb.ID).ExtractErr(); !gophercloud.ResponseCodeIs(err, 403) {
		t.Fatal("a member's failover: want 403, got", err)
	}
	admin := *sc
	admin.ProviderClient = &gophercloud.ProviderClient{TokenID: adminToken}
	if err := loadbalancers.Failover(ctx, &admin, lb.ID).ExtractErr(); err != nil {
		t.Fatal("failover:", err)
	}
	if err := loadbalancers.Delete(ctx, sc, lb.ID, loadbalancers.DeleteOpts{Cascade: true}).ExtractErr(); err != nil {
		t.Fatal("cascade delete:", err)
	}
	if _, err := loadbalancers.Get(ctx, sc, lb.ID).Extract(); !gophercloud.ResponseCodeIs(err, 404) {
		t.Fatalf("after delete: %v", err)
	}
}

// TestGophercloudCreatesAWholeLoadBalancerSetsQuotasAndFiltersByTags: the
// fully populated create as gophercloud (and cloud-provider-openstack)
// sends it, quotas through its quotas package, and tag filters.
func TestGophercloudCreatesAWholeLoadBalancerSetsQuotasAndFiltersByTags(t *testing.T) {
	ctx := context.Background()
	client := func(token string) *gophercloud.ServiceClient {
		return &gophercloud.ServiceClient{ProviderClient: &gophercloud.ProviderClient{TokenID: token}, Endpoint: env.url + "/", ResourceBase: env.url + "/v2.0/"}
	}
	sc := client(alphaToken)
	_, sub := subnet(t, "alpha")
	tag := unique("whole")
	w := 3
	lb, err := loadbalancers.Create(ctx, sc, loadbalancers.CreateOpts{Name: "gc-whole", VipSubnetID: sub, Tags: []string{tag, "go"},
		Listeners: []listeners.CreateOpts{{Protocol: listeners.ProtocolHTTP, ProtocolPort: 80, Name: "web",
			DefaultPool: &pools.CreateOpts{Name: "web-pool", Protocol: pools.ProtocolHTTP, LBMethod: pools.LBMethodRoundRobin,
				Members: []pools.CreateMemberOpts{{Address: "192.168.60.1", ProtocolPort: 8080}, {Address: "192.168.60.2", ProtocolPort: 8080, Weight: &w}},
				Monitor: monitors.CreateOpts{Type: monitors.TypeHTTP, Delay: 5, Timeout: 3, MaxRetries: 2, URLPath: "/health"}}}},
	}).Extract()
	if err != nil {
		t.Fatal("fully populated create:", err)
	}
	if len(lb.Listeners) != 1 || len(lb.Pools) != 1 || lb.Listeners[0].DefaultPoolID != lb.Pools[0].ID || len(lb.Pools[0].Members) != 2 || lb.Pools[0].MonitorID == "" {
		t.Fatalf("answer: %+v", lb)
	}
	pages, err := loadbalancers.List(sc, loadbalancers.ListOpts{Tags: []string{tag}}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := loadbalancers.ExtractLoadBalancers(pages); len(got) != 1 || got[0].ID != lb.ID {
		t.Fatalf("by tag: %+v", got)
	}

	admin := client(adminToken)
	one := 1
	q, err := quotas.Update(ctx, admin, "gamma", quotas.UpdateOpts{Loadbalancer: &one, Member: &one}).Extract()
	if err != nil || q.Loadbalancer != 1 || q.Member != 1 || q.Pool != -1 {
		t.Fatalf("quota update: %+v %v", q, err)
	}
	defer call(t, adminToken, "DELETE", v2+"/quotas/gamma", nil)
	if q, err := quotas.Get(ctx, client(gammaToken), "gamma").Extract(); err != nil || q.Loadbalancer != 1 {
		t.Fatalf("quota get: %+v %v", q, err)
	}
	// Two members in one whole create are over gamma's limit of one.
	_, gsub := subnet(t, "gamma")
	_, err = loadbalancers.Create(ctx, client(gammaToken), loadbalancers.CreateOpts{VipSubnetID: gsub,
		Listeners: []listeners.CreateOpts{{Protocol: listeners.ProtocolTCP, ProtocolPort: 22,
			DefaultPool: &pools.CreateOpts{Protocol: pools.ProtocolTCP, LBMethod: pools.LBMethodRoundRobin,
				Members: []pools.CreateMemberOpts{{Address: "192.168.61.1", ProtocolPort: 22}, {Address: "192.168.61.2", ProtocolPort: 22}}}}},
	}).Extract()
	if !gophercloud.ResponseCodeIs(err, 403) {
		t.Fatalf("a whole create over the member quota: %v", err)
	}
	if err := loadbalancers.Delete(ctx, sc, lb.ID, loadbalancers.DeleteOpts{Cascade: true}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
}

// TestGophercloudPublishesAFlavorThatALoadBalancerTakes: an admin makes a
// flavor profile and a flavor with gophercloud; a project's member lists
// the flavor and creates a load balancer with it; the profile, in use
// through the flavor, cannot go.
func TestGophercloudPublishesAFlavorThatALoadBalancerTakes(t *testing.T) {
	ctx := context.Background()
	admin := &gophercloud.ServiceClient{ProviderClient: &gophercloud.ProviderClient{TokenID: adminToken}, Endpoint: env.url + "/", ResourceBase: env.url + "/v2.0/"}
	member := &gophercloud.ServiceClient{ProviderClient: &gophercloud.ProviderClient{TokenID: alphaToken}, Endpoint: env.url + "/", ResourceBase: env.url + "/v2.0/"}
	fp, err := flavorprofiles.Create(ctx, admin, flavorprofiles.CreateOpts{Name: "gc-single", ProviderName: "lbaas", FlavorData: `{"loadbalancer_topology": "SINGLE"}`}).Extract()
	if err != nil {
		t.Fatal("create flavor profile:", err)
	}
	if _, err := flavorprofiles.Create(ctx, member, flavorprofiles.CreateOpts{Name: "x", ProviderName: "lbaas", FlavorData: "{}"}).Extract(); !gophercloud.ResponseCodeIs(err, 403) {
		t.Fatalf("a member's flavor profile: %v, want 403", err)
	}
	if _, err := flavorprofiles.Create(ctx, admin, flavorprofiles.CreateOpts{Name: "x", ProviderName: "lbaas", FlavorData: `{"loadbalancer_topology": "TRIPLE"}`}).Extract(); !gophercloud.ResponseCodeIs(err, 400) {
		t.Fatalf("an unknown topology: %v, want 400", err)
	}
	f, err := flavors.Create(ctx, admin, flavors.CreateOpts{Name: "gc-single", FlavorProfileId: fp.ID, Enabled: true}).Extract()
	if err != nil {
		t.Fatal("create flavor:", err)
	}
	pages, err := flavors.List(member, flavors.ListOpts{}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := flavors.ExtractFlavors(pages)
	if err != nil || !slices.ContainsFunc(fs, func(x flavors.Flavor) bool { return x.ID == f.ID }) {
		t.Fatalf("a member's flavor list: %v %v", fs, err)
	}
	_, sub := subnet(t, "alpha")
	lb, err := loadbalancers.Create(ctx, member, loadbalancers.CreateOpts{Name: "gc-flavored", VipSubnetID: sub, FlavorID: f.ID}).Extract()
	if err != nil || lb.FlavorID != f.ID {
		t.Fatalf("a load balancer with the flavor: %+v %v", lb, err)
	}
	if err := flavorprofiles.Delete(ctx, admin, fp.ID).ExtractErr(); !gophercloud.ResponseCodeIs(err, 409) {
		t.Fatalf("deleting a profile in use: %v, want 409", err)
	}
	if err := flavors.Delete(ctx, admin, f.ID).ExtractErr(); !gophercloud.ResponseCodeIs(err, 409) {
		t.Fatalf("deleting a flavor in use: %v, want 409", err)
	}
	if err := loadbalancers.Delete(ctx, member, lb.ID, loadbalancers.DeleteOpts{Cascade: true}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if err := flavors.Delete(ctx, admin, f.ID).ExtractErr(); err != nil {
		t.Fatal("deleting the flavor once unused:", err)
	}
}

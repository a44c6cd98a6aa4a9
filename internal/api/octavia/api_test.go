package octavia_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"lbaas/internal/model"
	"lbaas/internal/store"
)

func TestLoadBalancerIsCreatedShownListedUpdatedAndDeleted(t *testing.T) {
	_, sub := subnet(t, "alpha")
	name := unique("lb")
	lb := create(t, alphaToken, "/v2.0/lbaas/loadbalancers", "loadbalancer", obj{"name": name, "vip_subnet_id": sub, "admin_state_up": true, "tags": []string{"a"}})
	id := lb["id"].(string)
	if lb["provisioning_status"] != model.StatusPendingCreate || lb["operating_status"] != "OFFLINE" || lb["vip_address"] == "" ||
		lb["vip_port_id"] == "" || lb["provider"] != "lbaas" || lb["project_id"] != "alpha" {
		t.Fatalf("created: %v", lb)
	}
	if _, ok := env.st.Get(model.KindPort, lb["vip_port_id"].(string)); !ok {
		t.Fatal("no VIP port stored")
	}
	got := show(t, alphaToken, v2+"/loadbalancers/"+id, "loadbalancer")
	if got["name"] != name || len(got["listeners"].([]any)) != 0 {
		t.Fatalf("shown: %v", got)
	}
	found := list(t, alphaToken, v2+"/loadbalancers?name="+name, "loadbalancers")
	if len(found) != 1 || found[0]["id"] != id {
		t.Fatalf("by name: %v", found)
	}
	r := call(t, alphaToken, "PUT", v2+"/loadbalancers/"+id, obj{"loadbalancer": obj{"description": "d", "admin_state_up": false, "tags": []string{"x", "y"}}})
	expect(t, r, http.StatusOK)
	if u := r.body["loadbalancer"].(obj); u["description"] != "d" || u["admin_state_up"] != false || len(u["tags"].([]any)) != 2 {
		t.Fatalf("updated: %v", u)
	}
	expectFault(t, call(t, alphaToken, "PUT", v2+"/loadbalancers/"+id, obj{"loadbalancer": obj{"vip_address": "10.0.0.9"}}), 400, "vip_address")
	expect(t, call(t, alphaToken, "DELETE", v2+"/loadbalancers/"+id, nil), http.StatusNoContent)
	expectFault(t, call(t, alphaToken, "GET", v2+"/loadbalancers/"+id, nil), 404, "Load Balancer "+id+" not found.")
	if _, ok := env.st.Get(model.KindPort, lb["vip_port_id"].(string)); ok {
		t.Fatal("the VIP port outlived its load balancer")
	}
}

func TestLoadBalancerOnANetworkTakesItsSubnetAndAnAskedAddress(t *testing.T) {
	nw, sub := subnet(t, "alpha")
	lb := create(t, alphaToken, v2+"/loadbalancers", "loadbalancer", obj{"vip_network_id": nw})
	if lb["vip_subnet_id"] != sub || lb["vip_network_id"] != nw {
		t.Fatalf("%v", lb)
	}
	addr := lb["vip_address"].(string)
	expect(t, call(t, alphaToken, "POST", v2+"/loadbalancers", obj{"loadbalancer": obj{"vip_subnet_id": sub, "vip_address": addr}}), http.StatusConflict)
	expectFault(t, call(t, alphaToken, "POST", v2+"/loadbalancers", obj{"loadbalancer": obj{"name": "x"}}), 400, "VIP must contain one of")
}

func TestDeletingALoadBalancerWithChildrenNeedsCascadeWhichRemovesEverythingAtOnce(t *testing.T) {
	lb, listener, pool, members := tree(t, alphaToken, "alpha", 3)
	hm := create(t, alphaToken, v2+"/healthmonitors", "healthmonitor", obj{"pool_id": pool, "type": "HTTP", "delay": 5, "timeout": 3, "max_retries": 2})["id"].(string)
	vip := show(t, alphaToken, v2+"/loadbalancers/"+lb, "loadbalancer")
	expectFault(t, call(t, alphaToken, "DELETE", v2+"/loadbalancers/"+lb, nil), 400, "it has children")
	expect(t, call(t, alphaToken, "DELETE", v2+"/loadbalancers/"+lb+"?cascade=True", nil), http.StatusNoContent)
	for _, p := range []string{"/loadbalancers/" + lb, "/listeners/" + listener, "/pools/" + pool, "/healthmonitors/" + hm} {
		expect(t, call(t, alphaToken, "GET", v2+p, nil), http.StatusNotFound)
	}
	for _, m := range members {
		if _, ok := env.st.Get(model.KindMember, m); ok {
			t.Fatal("a member outlived the cascade")
		}
	}
	// Claims are released: the address and a member's address:port can be taken again.
	again := create(t, alphaToken, v2+"/loadbalancers", "loadbalancer", obj{"vip_subnet_id": vip["vip_subnet_id"], "vip_address": vip["vip_address"]})
	expect(t, call(t, alphaToken, "DELETE", v2+"/loadbalancers/"+again["id"].(string), nil), http.StatusNoContent)
}

func TestListenerPortIsUniqueOnALoadBalancerAndProtocolsAreChecked(t *testing.T) {
	lb, listener, pool, _ := tree(t, alphaToken, "alpha", 0)
	expectFault(t, call(t, alphaToken, "POST", v2+"/listeners", obj{"listener": obj{"loadbalancer_id": lb, "protocol": "TCP", "protocol_port": 80}}), 409, "protocol_port 80")
	l := show(t, alphaToken, v2+"/listeners/"+listener, "listener")
	if l["default_pool_id"] != pool || l["loadbalancers"].([]any)[0].(obj)["id"] != lb || l["connection_limit"] != float64(-1) || l["timeout_client_data"] != float64(50000) {
		t.Fatalf("%v", l)
	}
	for _, p := range []string{"UDP", "SCTP"} {
		expectFault(t, call(t, alphaToken, "POST", v2+"/listeners", obj{"listener": obj{"loadbalancer_id": lb, "protocol": p, "protocol_port": 81}}), 400, "not supported by this provider")
	}
	expectFault(t, call(t, alphaToken, "POST", v2+"/listeners", obj{"listener": obj{"loadbalancer_id": lb, "protocol": "PROMETHEUS", "protocol_port": 8404, "default_pool_id": pool}}), 400, "takes no default_pool_id")
	prom := create(t, alphaToken, v2+"/listeners", "listener", obj{"loadbalancer_id": lb, "protocol": "PROMETHEUS", "protocol_port": 8404})
	expectFault(t, call(t, alphaToken, "POST", v2+"/pools", obj{"pool": obj{"listener_id": prom["id"], "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}}), 400, "PROMETHEUS")
	expectFault(t, call(t, alphaToken, "POST", v2+"/l7policies", obj{"l7policy": obj{"listener_id": prom["id"], "action": "REJECT"}}), 400, "HTTP or TERMINATED_HTTPS")
	expectFault(t, call(t, alphaToken, "POST", v2+"/listeners", obj{"listener": obj{"loadbalancer_id": lb, "protocol": "TERMINATED_HTTPS", "protocol_port": 443}}), 400, "default_tls_container_ref")
	tcp := create(t, alphaToken, v2+"/listeners", "listener", obj{"loadbalancer_id": lb, "protocol": "TCP", "protocol_port": 22, "connection_limit": "100"})
	if tcp["connection_limit"] != float64(100) {
		t.Fatalf("%v", tcp)
	}
	// Octavia takes 0 as no limit, and so do we; it reads back as given.
	zero := create(t, alphaToken, v2+"/listeners", "listener", obj{"loadbalancer_id": lb, "protocol": "TCP", "protocol_port": 23, "connection_limit": 0})
	if zero["connection_limit"] != float64(0) {
		t.Fatalf("%v", zero)
	}
	// An HTTP listener cannot send to a TCP pool.
	tp := create(t, alphaToken, v2+"/pools", "pool", obj{"loadbalancer_id": lb, "protocol": "TCP", "lb_algorithm": "SOURCE_IP_PORT"})
	expectFault(t, call(t, alphaToken, "PUT", v2+"/listeners/"+listener, obj{"listener": obj{"default_pool_id": tp["id"]}}), 400, "protocol")
	r := call(t, alphaToken, "PUT", v2+"/listeners/"+tcp["id"].(string), obj{"listener": obj{"default_pool_id": tp["id"], "timeout_client_data": 1000}})
	expect(t, r, 200)
	if r.body["listener"].(obj)["default_pool_id"] != tp["id"] {
		t.Fatal(r.body)
	}
	expectFault(t, call(t, alphaToken, "POST", v2+"/pools", obj{"pool": obj{"listener_id": listener, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}}), 409, "already has a default pool")
	// Deleting the pool clears the listener's default pool.
	expect(t, call(t, alphaToken, "DELETE", v2+"/pools/"+pool, nil), 204)
	if l := show(t, alphaToken, v2+"/listeners/"+listener, "listener"); l["default_pool_id"] != nil {
		t.Fatalf("%v", l)
	}
	expect(t, call(t, alphaToken, "DELETE", v2+"/listeners/"+listener, nil), 204)
	// Its port is free again.
	create(t, alphaToken, v2+"/listeners", "listener", obj{"loadbalancer_id": lb, "protocol": "HTTP", "protocol_port": 80})
}

func TestMembersAreUniqueByAddressAndPortAndUpdatable(t *testing.T) {
	_, _, pool, members := tree(t, alphaToken, "alpha", 1)
	expectFault(t, call(t, alphaToken, "POST", v2+"/pools/"+pool+"/members", obj{"member": obj{"address": "192.168.7.10", "protocol_port": 8080}}), 409, "192.168.7.10")
	m := show(t, alphaToken, v2+"/pools/"+pool+"/members/"+members[0], "member")
	if m["weight"] != float64(1) || m["backup"] != false || m["operating_status"] != "OFFLINE" {
		t.Fatalf("%v", m)
	}
	r := call(t, alphaToken, "PUT", v2+"/pools/"+pool+"/members/"+members[0], obj{"member": obj{"weight": 0, "backup": true, "monitor_port": 9000, "name": "m"}})
	expect(t, r, 200)
	if u := r.body["member"].(obj); u["weight"] != float64(0) || u["backup"] != true || u["monitor_port"] != float64(9000) {
		t.Fatalf("%v", u)
	}
	if got := list(t, alphaToken, v2+"/pools/"+pool+"/members?name=m", "members"); len(got) != 1 {
		t.Fatalf("%v", got)
	}
	expect(t, call(t, alphaToken, "DELETE", v2+"/pools/"+pool+"/members/"+members[0], nil), 204)
	create(t, alphaToken, v2+"/pools/"+pool+"/members", "member", obj{"address": "192.168.7.10", "protocol_port": 8080})
}

func TestAPoolHasOneHealthMonitor(t *testing.T) {
	_, _, pool, _ := tree(t, alphaToken, "alpha", 0)
	hm := create(t, alphaToken, v2+"/healthmonitors", "healthmonitor", obj{"pool_id": pool, "type": "HTTP", "delay": 10, "timeout": 5, "max_retries": 3,
		"http_version": "1.1", "domain_name": "example.com", "url_path": "/health"})
	if hm["max_retries_down"] != float64(3) || hm["http_version"] != 1.1 || hm["pools"].([]any)[0].(obj)["id"] != pool {
		t.Fatalf("%v", hm)
	}
	if p := show(t, alphaToken, v2+"/pools/"+pool, "pool"); p["healthmonitor_id"] != hm["id"] {
		t.Fatalf("%v", p)
	}
	stored, _ := env.st.Get(model.KindHealthMonitor, hm["id"].(string))
	if h := stored.Obj.(*model.HealthMonitor); h.Rise != 3 || h.Fall != 3 {
		t.Fatalf("rise/fall %d/%d", h.Rise, h.Fall)
	}
	expectFault(t, call(t, alphaToken, "POST", v2+"/healthmonitors", obj{"healthmonitor": obj{"pool_id": pool, "type": "TCP", "delay": 10, "timeout": 5, "max_retries": 3}}), 409, "already has a health monitor")
	r := call(t, alphaToken, "PUT", v2+"/healthmonitors/"+hm["id"].(string), obj{"healthmonitor": obj{"max_retries_down": 5, "delay": 20}})
	expect(t, r, 200)
	expect(t, call(t, alphaToken, "DELETE", v2+"/healthmonitors/"+hm["id"].(string), nil), 204)
	if p := show(t, alphaToken, v2+"/pools/"+pool, "pool"); p["healthmonitor_id"] != nil {
		t.Fatalf("%v", p)
	}
	create(t, alphaToken, v2+"/healthmonitors", "healthmonitor", obj{"pool_id": pool, "type": "TLS-HELLO", "delay": 10, "timeout": 5, "max_retries": 3})
}

func TestAnotherProjectsObjectsAreForbiddenAndNotListed(t *testing.T) {
	lb, listener, pool, members := tree(t, alphaToken, "alpha", 1)
	for _, p := range []string{"/loadbalancers/" + lb, "/listeners/" + listener, "/pools/" + pool, "/pools/" + pool + "/members/" + members[0], "/loadbalancers/" + lb + "/status", "/loadbalancers/" + lb + "/stats"} {
		expectFault(t, call(t, betaToken, "GET", v2+p, nil), 403, "Policy does not allow")
	}
	expectFault(t, call(t, betaToken, "DELETE", v2+"/loadbalancers/"+lb+"?cascade=true", nil), 403)
	expectFault(t, call(t, betaToken, "POST", v2+"/listeners", obj{"listener": obj{"loadbalancer_id": lb, "protocol": "TCP", "protocol_port": 99}}), 403)
	for _, l := range list(t, betaToken, v2+"/loadbalancers", "loadbalancers") {
		if l["project_id"] != "beta" {
			t.Fatalf("beta sees %v", l)
		}
	}
	if got := list(t, adminToken, v2+"/loadbalancers?id="+lb, "loadbalancers"); len(got) != 1 {
		t.Fatal("an admin sees every project")
	}
	expectFault(t, call(t, betaToken, "POST", v2+"/loadbalancers", obj{"loadbalancer": obj{"vip_subnet_id": "x", "project_id": "alpha"}}), 403)
}

func TestStatusTreeShowsListenersPoolsMonitorsAndMembers(t *testing.T) {
	lb, listener, pool, members := tree(t, alphaToken, "alpha", 2)
	create(t, alphaToken, v2+"/healthmonitors", "healthmonitor", obj{"pool_id": pool, "type": "PING", "delay": 10, "timeout": 5, "max_retries": 3})
	r := call(t, alphaToken, "GET", "/v2.0/lbaas/loadbalancers/"+lb+"/status", nil)
	expect(t, r, 200)
	root := r.body["statuses"].(obj)["loadbalancer"].(obj)
	ls := root["listeners"].([]any)
	if root["id"] != lb || len(ls) != 1 || ls[0].(obj)["id"] != listener {
		t.Fatalf("%s", r.raw)
	}
	ps := ls[0].(obj)["pools"].([]any)
	if len(ps) != 1 || ps[0].(obj)["id"] != pool || len(ps[0].(obj)["members"].([]any)) != len(members) || ps[0].(obj)["health_monitor"].(obj)["type"] != "PING" {
		t.Fatalf("%s", r.raw)
	}
	st := call(t, alphaToken, "GET", v2+"/loadbalancers/"+lb+"/stats", nil)
	expect(t, st, 200)
	for _, k := range []string{"active_connections", "bytes_in", "bytes_out", "request_errors", "total_connections"} {
		if _, ok := st.body["stats"].(obj)[k]; !ok {
			t.Fatalf("stats lack %s: %s", k, st.raw)
		}
	}
	expect(t, call(t, alphaToken, "GET", v2+"/listeners/"+listener+"/stats", nil), 200)
	// A failover is an operator's action (Octavia's policy: admin only).
	expect(t, call(t, alphaToken, "PUT", v2+"/loadbalancers/"+lb+"/failover", nil), 403)
	expect(t, call(t, adminToken, "PUT", v2+"/loadbalancers/"+lb+"/failover", nil), 202)
}

func TestBatchReplaceKeepsMatchedMembersAndIsOneTransaction(t *testing.T) {
	_, _, pool, members := tree(t, alphaToken, "alpha", 3)
	base := v2 + "/pools/" + pool + "/members"
	body := obj{"members": []obj{
		{"address": "192.168.7.10", "protocol_port": 8080, "weight": 7},
		{"address": "192.168.7.99", "protocol_port": 8080},
	}}
	expect(t, call(t, alphaToken, "PUT", base, body), http.StatusAccepted)
	got := list(t, alphaToken, base, "members")
	if len(got) != 2 {
		t.Fatalf("%v", got)
	}
	for _, m := range got {
		if m["address"] == "192.168.7.10" && (m["id"] != members[0] || m["weight"] != float64(7)) {
			t.Fatalf("the matched member lost its id or weight: %v", m)
		}
	}
	// additive_only keeps what is not sent.
	expect(t, call(t, alphaToken, "PUT", base+"?additive_only=true", obj{"members": []obj{{"address": "192.168.7.100", "protocol_port": 80}}}), 202)
	if n := len(list(t, alphaToken, base, "members")); n != 3 {
		t.Fatalf("%d members", n)
	}
	// One bad item: nothing changes.
	rev := env.st.Rev()
	expectFault(t, call(t, alphaToken, "PUT", base, obj{"members": []obj{{"address": "192.168.7.1", "protocol_port": 80}, {"address": "nope", "protocol_port": 80}}}), 400, "members[1]", "address")
	expectFault(t, call(t, alphaToken, "PUT", base, obj{"members": []obj{{"address": "192.168.7.1", "protocol_port": 80}, {"address": "192.168.7.1", "protocol_port": 80}}}), 400, "twice")
	if env.st.Rev() != rev {
		t.Fatal("a refused batch wrote something")
	}
	// A thousand members in one request.
	var many []obj
	for i := 0; i < 1000; i++ {
		many = append(many, obj{"address": fmt.Sprintf("172.16.%d.%d", i/250, i%250+1), "protocol_port": 80})
	}
	expect(t, call(t, alphaToken, "PUT", base, obj{"members": many}), 202)
	if n := len(list(t, alphaToken, base, "members")); n != 1000 {
		t.Fatalf("%d members", n)
	}
	page := call(t, alphaToken, "GET", base+"?limit=400", nil)
	if len(page.body["members"].([]any)) != 400 || len(page.body["members_links"].([]any)) != 1 {
		t.Fatalf("paging of a thousand members: %d", len(page.body["members"].([]any)))
	}
	expect(t, call(t, alphaToken, "PUT", base, obj{"members": []obj{}}), 202)
	if n := len(list(t, alphaToken, base, "members")); n != 0 {
		t.Fatalf("%d members", n)
	}
}

func TestListsFilterSortAndPage(t *testing.T) {
	lb, _, _, _ := tree(t, alphaToken, "alpha", 0)
	var ports []int
	for _, p := range []int{8003, 8001, 8002, 8004} {
		create(t, alphaToken, v2+"/listeners", "listener", obj{"loadbalancer_id": lb, "protocol": "TCP", "protocol_port": p, "name": "sorted"})
		ports = append(ports, p)
	}
	q := v2 + "/listeners?loadbalancer_id=" + lb + "&name=sorted&sort=protocol_port:desc&fields=protocol_port&fields=id&limit=3"
	r := call(t, alphaToken, "GET", q, nil)
	expect(t, r, 200)
	items := r.body["listeners"].([]any)
	if len(items) != 3 || items[0].(obj)["protocol_port"] != float64(8004) || items[2].(obj)["protocol_port"] != float64(8002) || len(items[0].(obj)) != 2 {
		t.Fatalf("%s", r.raw)
	}
	links := r.body["listeners_links"].([]any)
	next, _ := url.Parse(links[0].(obj)["href"].(string))
	r2 := call(t, alphaToken, "GET", next.Path+"?"+next.RawQuery, nil)
	if items := r2.body["listeners"].([]any); len(items) != 1 || items[0].(obj)["protocol_port"] != float64(8001) {
		t.Fatalf("%s", r2.raw)
	}
	r3 := call(t, alphaToken, "GET", v2+"/listeners?loadbalancer_id="+lb+"&name=sorted&sort_key=protocol_port&sort_dir=asc", nil)
	if items := r3.body["listeners"].([]any); items[0].(obj)["protocol_port"] != float64(8001) {
		t.Fatalf("%s", r3.raw)
	}
	expectFault(t, call(t, alphaToken, "GET", v2+"/listeners?sort=protocol_port:sideways", nil), 400, "sort")
}

func TestVersionDocumentAndUnknownPaths(t *testing.T) {
	r := call(t, "", "GET", "/", nil)
	expect(t, r, 200)
	if len(r.body["versions"].([]any)) == 0 {
		t.Fatal(r.body)
	}
	expectFault(t, call(t, alphaToken, "GET", v2+"/nothing", nil), 404)
	expectFault(t, call(t, "wrong", "GET", v2+"/loadbalancers", nil), 401, "requires authentication")
	if p := list(t, alphaToken, v2+"/providers", "providers"); len(p) != 1 || p[0]["name"] != "lbaas" {
		t.Fatal(p)
	}
	expect(t, call(t, alphaToken, "GET", v2+"/quotas/defaults", nil), 200)
}

func TestListsFilterByTagsAsOpenStackDoes(t *testing.T) {
	_, sub := subnet(t, "alpha")
	mark := unique("t")
	ids := map[string]string{}
	for name, tags := range map[string][]string{"ab": {mark, "a", "b"}, "a": {mark, "a"}, "c": {mark, "c"}, "none": {mark}} {
		ids[create(t, alphaToken, v2+"/loadbalancers", "loadbalancer", obj{"vip_subnet_id": sub, "name": name, "tags": tags})["id"].(string)] = name
	}
	names := func(q string) string {
		var out []string
		for _, lb := range list(t, alphaToken, v2+"/loadbalancers?tags="+mark+"&sort=name:asc&"+q, "loadbalancers") {
			out = append(out, ids[lb["id"].(string)])
		}
		return fmt.Sprint(out)
	}
	for q, want := range map[string]string{
		"tags=a,b":              "[ab]",
		"tags=a&tags=b":         "[ab]",
		"tags-any=b,c":          "[ab c]",
		"not-tags=a,b":          "[a c none]",
		"not-tags-any=a,c":      "[none]",
		"tags-any=a&not-tags=b": "[a]",
	} {
		if got := names(q); got != want {
			t.Errorf("%s: %s, want %s", q, got, want)
		}
	}
}

func TestALoadBalancerTakesATenantsPortAsItsVIPAndGivesItBack(t *testing.T) {
	nw, sub := subnet(t, "alpha")
	se, _ := env.st.Get(model.KindSubnet, sub)
	base := strings.TrimSuffix(se.Obj.(*model.Subnet).CIDR, "0/24")
	now := time.Now().UTC()
	port := &model.Port{Meta: model.Meta{ID: uuid.NewString(), TenantID: "alpha", CreatedAt: now, UpdatedAt: now}, NetworkID: nw, AdminStateUp: true,
		FixedIPs: []model.FixedIP{{SubnetID: sub, IPAddress: base + "77"}}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := env.st.Commit(ctx, new(store.Txn).Create(model.KindPort, port)); err != nil {
		t.Fatal(err)
	}
	expectFault(t, call(t, betaToken, "POST", v2+"/loadbalancers", obj{"loadbalancer": obj{"vip_port_id": port.ID}}), 400, "vip_port_id", "not found")
	expectFault(t, call(t, alphaToken, "POST", v2+"/loadbalancers", obj{"loadbalancer": obj{"vip_port_id": port.ID, "vip_address": base + "78"}}), 400, "vip_address")
	lb := create(t, alphaToken, v2+"/loadbalancers", "loadbalancer", obj{"vip_port_id": port.ID})
	if lb["vip_port_id"] != port.ID || lb["vip_address"] != base+"77" || lb["vip_subnet_id"] != sub || lb["vip_network_id"] != nw {
		t.Fatalf("%v", lb)
	}
	if pe, _ := env.st.Get(model.KindPort, port.ID); pe.Obj.(*model.Port).DeviceID != lb["id"] {
		t.Fatalf("the port does not name its load balancer: %+v", pe.Obj)
	}
	expectFault(t, call(t, alphaToken, "POST", v2+"/loadbalancers", obj{"loadbalancer": obj{"vip_port_id": port.ID}}), 409, "already used")
	expect(t, call(t, alphaToken, "DELETE", v2+"/loadbalancers/"+lb["id"].(string), nil), http.StatusNoContent)
	pe, ok := env.st.Get(model.KindPort, port.ID)
	if !ok || pe.Obj.(*model.Port).DeviceID != "" {
		t.Fatalf("the tenant's port was not given back: %v %+v", ok, pe.Obj)
	}
	// It can serve again.
	again := create(t, alphaToken, v2+"/loadbalancers", "loadbalancer", obj{"vip_port_id": port.ID})
	expect(t, call(t, alphaToken, "DELETE", v2+"/loadbalancers/"+again["id"].(string), nil), http.StatusNoContent)
}

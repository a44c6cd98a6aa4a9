package octavia_test

import (
	"net/http"
	"testing"

	"lbaas/internal/model"
)

// fullLB is a fully populated create as gophercloud and the SDKs send it:
// an HTTP listener whose default pool has two members and a monitor, and a
// TCP listener that names a pool of the top-level list.
func fullLB(sub string) obj {
	return obj{"vip_subnet_id": sub, "name": unique("full"), "listeners": []obj{
		{"protocol": "HTTP", "protocol_port": 80, "name": "web", "default_pool": obj{
			"name": "web-pool", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
			"members":       []obj{{"address": "10.8.0.11", "protocol_port": 8080}, {"address": "10.8.0.12", "protocol_port": 8080, "weight": 5}},
			"healthmonitor": obj{"type": "HTTP", "delay": 2, "timeout": 1, "max_retries": 2, "url_path": "/health"},
		}},
		{"protocol": "TCP", "protocol_port": 22, "default_pool": obj{"name": "ssh"}},
	}, "pools": []obj{
		{"name": "ssh", "protocol": "TCP", "lb_algorithm": "SOURCE_IP", "members": []obj{{"address": "10.8.0.21", "protocol_port": 22}}},
	}}
}

func TestAFullyPopulatedCreateStoresTheWholeTreeInOneTransaction(t *testing.T) {
	_, sub := subnet(t, "alpha")
	before := env.st.Rev()
	r := call(t, alphaToken, "POST", v2+"/loadbalancers", obj{"loadbalancer": fullLB(sub)})
	expect(t, r, http.StatusCreated)
	if env.st.Rev() != before+1 {
		t.Fatalf("the create took %d revisions, not one transaction", env.st.Rev()-before)
	}
	lb := r.body["loadbalancer"].(obj)
	ls, ps := lb["listeners"].([]any), lb["pools"].([]any)
	if len(ls) != 2 || len(ps) != 2 {
		t.Fatalf("answer: %d listeners, %d pools", len(ls), len(ps))
	}
	pools := map[string]obj{}
	for _, p := range ps {
		pools[p.(obj)["name"].(string)] = p.(obj)
	}
	web, ssh := pools["web-pool"], pools["ssh"]
	if web == nil || ssh == nil || len(web["members"].([]any)) != 2 || len(ssh["members"].([]any)) != 1 {
		t.Fatalf("pools: %v", pools)
	}
	hm, _ := web["healthmonitor"].(obj)
	if hm == nil || hm["url_path"] != "/health" || web["healthmonitor_id"] != hm["id"] || ssh["healthmonitor"] != nil {
		t.Fatalf("monitor: %v", web)
	}
	for _, l := range ls {
		l := l.(obj)
		want := web["id"]
		if l["protocol"] == "TCP" {
			want = ssh["id"]
		}
		if l["default_pool_id"] != want || l["loadbalancers"].([]any)[0].(obj)["id"] != lb["id"] {
			t.Fatalf("listener %v", l)
		}
	}
	// Everything is there as if created one by one.
	id := lb["id"].(string)
	shown := show(t, alphaToken, v2+"/loadbalancers/"+id, "loadbalancer")
	if len(shown["listeners"].([]any)) != 2 || len(shown["pools"].([]any)) != 2 {
		t.Fatalf("shown: %v", shown)
	}
	if ms := list(t, alphaToken, v2+"/pools/"+web["id"].(string)+"/members", "members"); len(ms) != 2 {
		t.Fatalf("members: %v", ms)
	}
	// Claims were taken: the same member again is refused, the port too.
	expectFault(t, call(t, alphaToken, "POST", v2+"/pools/"+web["id"].(string)+"/members", obj{"member": obj{"address": "10.8.0.11", "protocol_port": 8080}}), 409)
	expectFault(t, call(t, alphaToken, "POST", v2+"/listeners", obj{"listener": obj{"loadbalancer_id": id, "protocol": "TCP", "protocol_port": 22}}), 409)
	expect(t, call(t, alphaToken, "DELETE", v2+"/loadbalancers/"+id+"?cascade=true", nil), http.StatusNoContent)
	for _, p := range ps {
		if _, ok := env.st.Get(model.KindPool, p.(obj)["id"].(string)); ok {
			t.Fatal("a pool outlived the cascade")
		}
	}
}

func TestAFullyPopulatedCreateWithABadPartStoresNothingAndSaysWhichPart(t *testing.T) {
	_, sub := subnet(t, "alpha")
	bad := func(edit func(lb obj)) obj {
		lb := fullLB(sub)
		edit(lb)
		return obj{"loadbalancer": lb}
	}
	listeners := func(lb obj) []obj { return lb["listeners"].([]obj) }
	webPool := func(lb obj) obj { return listeners(lb)[0]["default_pool"].(obj) }
	cases := []struct {
		name string
		body obj
		code int
		want []string
	}{
		{"bad member address", bad(func(lb obj) { webPool(lb)["members"].([]obj)[1]["address"] = "10.8.0.x" }), 400, []string{"listeners[0].default_pool.members[1]", "address"}},
		{"same member twice", bad(func(lb obj) {
			webPool(lb)["members"].([]obj)[1]["weight"] = 1
			webPool(lb)["members"].([]obj)[1]["protocol_port"] = 8080
			webPool(lb)["members"].([]obj)[1]["address"] = "10.8.0.11"
		}), 409, []string{"members[1]", "10.8.0.11"}},
		{"two listeners on one port", bad(func(lb obj) { listeners(lb)[1]["protocol_port"] = 80 }), 409, []string{"listeners[1]", "protocol_port 80"}},
		{"pool named but absent", bad(func(lb obj) { listeners(lb)[1]["default_pool"] = obj{"name": "nope"} }), 400, []string{"listeners[1].default_pool", "nope"}},
		{"two pools with one name", bad(func(lb obj) {
			webPool(lb)["name"] = "x"
			lb["pools"] = []obj{{"name": "ssh", "protocol": "TCP", "lb_algorithm": "SOURCE_IP"}, {"name": "ssh", "protocol": "TCP", "lb_algorithm": "SOURCE_IP"}}
		}), 400, []string{"unique", "ssh"}},
		{"protocols that do not fit", bad(func(lb obj) { webPool(lb)["protocol"] = "TCP"; webPool(lb)["healthmonitor"] = nil }), 400, []string{"listeners[0]", "protocol"}},
		{"a parent named inside", bad(func(lb obj) { webPool(lb)["listener_id"] = "0b0f5d7c-7a0c-4d5a-9e8c-3f3c7a1b2c3d" }), 400, []string{"listener_id", "not allowed"}},
		{"a monitor's pool named", bad(func(lb obj) { webPool(lb)["healthmonitor"].(obj)["pool_id"] = "0b0f5d7c-7a0c-4d5a-9e8c-3f3c7a1b2c3d" }), 400, []string{"healthmonitor", "pool_id"}},
		{"a bad monitor", bad(func(lb obj) { webPool(lb)["healthmonitor"].(obj)["delay"] = 0 }), 400, []string{"listeners[0].default_pool.healthmonitor", "delay"}},
		{"an unknown attribute", bad(func(lb obj) { listeners(lb)[0]["colour"] = "red" }), 400, []string{"colour"}},
		{"a member on the VIP's subnet it cannot see", bad(func(lb obj) {
			webPool(lb)["members"].([]obj)[0]["subnet_id"] = "0b0f5d7c-7a0c-4d5a-9e8c-3f3c7a1b2c3d"
		}), 400, []string{"0b0f5d7c-7a0c-4d5a-9e8c-3f3c7a1b2c3d"}},
		{"an unknown certificate", bad(func(lb obj) {
			listeners(lb)[0]["protocol"] = "TERMINATED_HTTPS"
			listeners(lb)[0]["protocol_port"] = 443
			listeners(lb)[0]["default_tls_container_ref"] = "0b0f5d7c-7a0c-4d5a-9e8c-3f3c7a1b2c3d"
		}), 400, []string{"certificate"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := env.st.Rev()
			expectFault(t, call(t, alphaToken, "POST", v2+"/loadbalancers", c.body), c.code, c.want...)
			if env.st.Rev() != before {
				t.Fatal("a refused create stored something")
			}
		})
	}
}

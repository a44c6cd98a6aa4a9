package neutron_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"lbaas/internal/model"
	"lbaas/internal/store"
)

// The v1 API stores the load-balancer graph of
// docs/010-load-balancer-model.md; these tests read the store behind it.

func storedPool(t *testing.T, id string) *model.Pool {
	t.Helper()
	e, ok := env.st.Get(model.KindPool, id)
	if !ok {
		t.Fatalf("pool %s is not stored", id)
	}
	return e.Obj.(*model.Pool)
}

// storedVIP returns the load balancer and the listeners stored for a VIP.
func storedVIP(t *testing.T, id string) (*model.LoadBalancer, []*model.Listener) {
	t.Helper()
	e, ok := env.st.Get(model.KindLoadBalancer, id)
	if !ok {
		t.Fatalf("no load balancer with the VIP's id %s", id)
	}
	var ls []*model.Listener
	for _, le := range env.st.ByIndex(model.KindListener, store.IdxLB, id) {
		ls = append(ls, le.Obj.(*model.Listener))
	}
	return e.Obj.(*model.LoadBalancer), ls
}

func TestAVIPIsStoredAsALoadBalancerWithOneListenerAndItsPool(t *testing.T) {
	netID, sub := network(t, alphaToken, "20.20.1.0/24")
	poolID := pool(t, alphaToken, sub, "HTTP")
	name := unique("vip")
	v := create(t, alphaToken, "/v2.0/lb/vips", "vip", obj{"name": name, "description": "front", "subnet_id": sub, "pool_id": poolID,
		"protocol": "HTTP", "protocol_port": 8080, "connection_limit": 100, "session_persistence": obj{"type": "HTTP_COOKIE"}})
	id := v["id"].(string)

	lb, ls := storedVIP(t, id)
	if lb.TenantID != "alpha" || lb.Name != name || lb.Description != "front" || lb.VIPAddress != v["address"] || lb.VIPPortID != v["port_id"] ||
		lb.VIPSubnetID != sub || lb.VIPNetworkID != netID || !lb.AdminStateUp {
		t.Fatalf("load balancer %+v does not hold the VIP's address, port and subnet (vip %v)", lb, v)
	}
	if len(ls) != 1 {
		t.Fatalf("load balancer %s has %d listeners, want the VIP's one", id, len(ls))
	}
	l := ls[0]
	if l.ID != id || l.Protocol != "HTTP" || l.ProtocolPort != 8080 || l.ConnectionLimit != 100 || l.DefaultPoolID != poolID || !l.AdminStateUp || l.Name != name {
		t.Fatalf("listener %+v does not hold the VIP's protocol, port, limit and pool", l)
	}
	p := storedPool(t, poolID)
	if p.LoadBalancerID != id || p.SessionPersistence == nil || p.SessionPersistence.Type != "HTTP_COOKIE" {
		t.Fatalf("pool %+v did not join the load balancer with the VIP's session persistence", p)
	}

	// v1 sees the same VIP back, and the pool's VIP.
	got := show(t, alphaToken, "/v2.0/lb/vips/"+id, "vip")
	for k, want := range map[string]any{"name": name, "description": "front", "subnet_id": sub, "pool_id": poolID, "protocol": "HTTP",
		"protocol_port": float64(8080), "connection_limit": float64(100), "admin_state_up": true, "address": v["address"], "port_id": v["port_id"]} {
		if got[k] != want {
			t.Fatalf("vip %s = %#v, want %#v", k, got[k], want)
		}
	}
	if sp, _ := got["session_persistence"].(obj); sp["type"] != "HTTP_COOKIE" {
		t.Fatalf("vip session_persistence %v", got["session_persistence"])
	}
	if show(t, alphaToken, "/v2.0/lb/pools/"+poolID, "pool")["vip_id"] != id {
		t.Fatal("the pool does not name its VIP")
	}

	// An update writes the listener, and the pool for the persistence.
	expect(t, call(t, alphaToken, "PUT", "/v2.0/lb/vips/"+id, obj{"vip": obj{"connection_limit": 5, "admin_state_up": false, "session_persistence": nil}}), http.StatusOK)
	_, ls = storedVIP(t, id)
	if len(ls) != 1 || ls[0].ConnectionLimit != 5 || ls[0].AdminStateUp {
		t.Fatalf("listener after update %+v", ls[0])
	}
	if p := storedPool(t, poolID); p.SessionPersistence != nil || p.LoadBalancerID != id {
		t.Fatalf("pool after clearing the persistence %+v", p)
	}
	if got := show(t, alphaToken, "/v2.0/lb/vips/"+id, "vip"); got["session_persistence"] != nil || got["admin_state_up"] != false {
		t.Fatalf("vip after update %v", got)
	}
}

func TestDeletingAVIPLeavesThePoolWithoutALoadBalancer(t *testing.T) {
	_, sub := network(t, alphaToken, "20.21.1.0/24")
	poolID := pool(t, alphaToken, sub, "TCP")
	m := member(t, alphaToken, poolID, "20.21.1.10", 22)
	v := create(t, alphaToken, "/v2.0/lb/vips", "vip", obj{"subnet_id": sub, "pool_id": poolID, "protocol": "TCP", "protocol_port": 22,
		"session_persistence": obj{"type": "SOURCE_IP"}})
	id := v["id"].(string)

	expect(t, call(t, alphaToken, "DELETE", "/v2.0/lb/vips/"+id, nil), http.StatusNoContent)
	if _, ok := env.st.Get(model.KindLoadBalancer, id); ok {
		t.Fatal("the VIP's load balancer outlived it")
	}
	if _, ok := env.st.Get(model.KindListener, id); ok {
		t.Fatal("the VIP's listener outlived it")
	}
	p := storedPool(t, poolID)
	if p.LoadBalancerID != "" {
		t.Fatalf("pool still joined to load balancer %s", p.LoadBalancerID)
	}
	if p.SessionPersistence == nil || p.SessionPersistence.Type != "SOURCE_IP" {
		t.Fatalf("pool lost its session persistence: %+v", p.SessionPersistence)
	}
	got := show(t, alphaToken, "/v2.0/lb/pools/"+poolID, "pool")
	if got["vip_id"] != nil || got["status"] != model.StatusPendingCreate || !strings.Contains(got["status_description"].(string), "no VIP") {
		t.Fatalf("pool after its VIP's deletion: vip_id %v, %v (%v)", got["vip_id"], got["status"], got["status_description"])
	}
	show(t, alphaToken, "/v2.0/lb/members/"+m, "member")
	expectNeutronError(t, call(t, alphaToken, "GET", "/v2.0/lb/vips/"+id, nil), http.StatusNotFound, "VipNotFound")
	// The pool is free for a new VIP.
	v2 := vip(t, alphaToken, sub, poolID, "TCP", 22)
	if storedPool(t, poolID).LoadBalancerID != v2["id"] {
		t.Fatal("the pool did not join the new VIP's load balancer")
	}
}

func TestMovingAVIPToAnotherPoolReleasesTheFirst(t *testing.T) {
	_, sub := network(t, alphaToken, "20.22.1.0/24")
	first, second := pool(t, alphaToken, sub, "HTTP"), pool(t, alphaToken, sub, "HTTP")
	v := create(t, alphaToken, "/v2.0/lb/vips", "vip", obj{"subnet_id": sub, "pool_id": first, "protocol": "HTTP", "protocol_port": 80,
		"session_persistence": obj{"type": "APP_COOKIE", "cookie_name": "sid"}})
	id := v["id"].(string)

	r := call(t, alphaToken, "PUT", "/v2.0/lb/vips/"+id, obj{"vip": obj{"pool_id": second}})
	expect(t, r, http.StatusOK)
	if r.body["vip"].(obj)["pool_id"] != second {
		t.Fatalf("moved vip answers pool_id %v", r.body["vip"].(obj)["pool_id"])
	}
	_, ls := storedVIP(t, id)
	if len(ls) != 1 || ls[0].DefaultPoolID != second {
		t.Fatalf("listener does not send traffic to the new pool: %+v", ls)
	}
	if p := storedPool(t, first); p.LoadBalancerID != "" {
		t.Fatalf("first pool still joined to %s", p.LoadBalancerID)
	}
	p := storedPool(t, second)
	if p.LoadBalancerID != id || p.SessionPersistence == nil || *p.SessionPersistence != (model.SessionPersistence{Type: "APP_COOKIE", CookieName: "sid"}) {
		t.Fatalf("second pool %+v did not take the VIP with its persistence", p)
	}
	if show(t, alphaToken, "/v2.0/lb/pools/"+first, "pool")["vip_id"] != nil || show(t, alphaToken, "/v2.0/lb/pools/"+second, "pool")["vip_id"] != id {
		t.Fatal("pools do not show the move")
	}
	// The first pool takes another VIP; the second is still in use.
	vip(t, alphaToken, sub, first, "HTTP", 81)
	expectNeutronError(t, call(t, alphaToken, "DELETE", "/v2.0/lb/pools/"+second, nil), http.StatusConflict, "PoolInUse")
}

func TestVIPListFiltersOnPoolAndPortAndLeavesOutLoadBalancersWithoutAVIP(t *testing.T) {
	_, sub := network(t, alphaToken, "20.23.1.0/24")
	p1, p2, p3 := pool(t, alphaToken, sub, "HTTP"), pool(t, alphaToken, sub, "HTTP"), pool(t, alphaToken, sub, "HTTP")
	v1 := vip(t, alphaToken, sub, p1, "HTTP", 80)
	v2 := vip(t, alphaToken, sub, p2, "HTTP", 8080)
	id1, id2 := v1["id"].(string), v2["id"].(string)
	// A load balancer made the v2 way: its listener has an id of its own,
	// so v1 does not see it as a VIP.
	lbID, lID := uuid.NewString(), uuid.NewString()
	putObject(t, model.KindLoadBalancer, &model.LoadBalancer{Meta: model.Meta{ID: lbID, TenantID: "alpha"}, VIPSubnetID: sub, VIPAddress: "20.23.1.200"})
	putObject(t, model.KindListener, &model.Listener{Meta: model.Meta{ID: lID, TenantID: "alpha"}, LoadBalancerID: lbID, Protocol: "HTTP", ProtocolPort: 8080, DefaultPoolID: p3})

	only := func(path string, want ...string) {
		t.Helper()
		got := ids(list(t, alphaToken, path, "vips"))
		if len(got) != len(want) {
			t.Fatalf("%s: got %v, want %v", path, got, want)
		}
		for _, w := range want {
			if !got[w] {
				t.Fatalf("%s: got %v, want %v", path, got, want)
			}
		}
	}
	only("/v2.0/lb/vips?pool_id="+p1, id1)
	only("/v2.0/lb/vips?pool_id="+p1+"&pool_id="+p2, id1, id2)
	only("/v2.0/lb/vips?pool_id=" + p3)
	only("/v2.0/lb/vips?subnet_id="+sub+"&protocol_port=8080", id2)
	only("/v2.0/lb/vips?pool_id=" + p1 + "&protocol_port=8080")
	only("/v2.0/lb/vips?subnet_id="+sub, id1, id2)
	only("/v2.0/lb/vips?subnet_id="+sub+"&address="+v2["address"].(string), id2)
	only("/v2.0/lb/vips?name="+v1["name"].(string), id1)
	only("/v2.0/lb/vips?subnet_id=" + sub + "&status_description=no-such-status")
	only("/v2.0/lb/vips?id="+id2+"&id="+lID+"&id="+lbID, id2)
	expectNeutronError(t, call(t, alphaToken, "GET", "/v2.0/lb/vips/"+lbID, nil), http.StatusNotFound, "VipNotFound")

	// fields made of cheap attributes, and of rendered ones.
	got := list(t, alphaToken, "/v2.0/lb/vips?pool_id="+p2+"&fields=id&fields=protocol_port", "vips")
	if len(got) != 1 || len(got[0]) != 2 || got[0]["id"] != id2 || got[0]["protocol_port"] != float64(8080) {
		t.Fatalf("?fields=id&fields=protocol_port answered %v", got)
	}
	got = list(t, alphaToken, "/v2.0/lb/vips?pool_id="+p1+"&fields=status&fields=session_persistence", "vips")
	if len(got) != 1 || len(got[0]) != 2 || got[0]["status"] != model.StatusPendingCreate {
		t.Fatalf("?fields=status&fields=session_persistence answered %v", got)
	}
	// Paging goes by the VIP's id.
	first := list(t, alphaToken, "/v2.0/lb/vips?subnet_id="+sub+"&limit=1", "vips")
	rest := list(t, alphaToken, "/v2.0/lb/vips?subnet_id="+sub+"&marker="+first[0]["id"].(string), "vips")
	if len(first) != 1 || len(rest) != 1 || first[0]["id"] == rest[0]["id"] {
		t.Fatalf("pages %v then %v", ids(first), ids(rest))
	}
}

func TestAServiceInstanceIsKnownByItsVIPAndPool(t *testing.T) {
	_, sub := network(t, alphaToken, "20.24.1.0/24")
	poolID := pool(t, alphaToken, sub, "HTTP")
	v := vip(t, alphaToken, sub, poolID, "HTTP", 80)
	id := v["id"].(string)
	si := scheduleInstance(t, id)
	got := show(t, adminToken, "/v2.0/lbaas-service-instances/"+si.ID, "service_instance")
	if got["vip_id"] != id || got["loadbalancer_id"] != id || got["pool_id"] != poolID || got["name"] != "default-domain:admin:"+id {
		t.Fatalf("service instance %v, want vip and load balancer %s, pool %s", got, id, poolID)
	}
	l := list(t, adminToken, "/v2.0/lbaas-service-instances?pool_id="+poolID, "service_instances")
	if len(l) != 1 || l[0]["id"] != id {
		t.Fatalf("?pool_id= answered %v", ids(l))
	}
	if l := list(t, adminToken, "/v2.0/lbaas-service-instances?vip_id="+id, "service_instances"); len(l) != 1 {
		t.Fatalf("?vip_id= answered %v", ids(l))
	}
}

func TestAV1MonitorGoesDownAfterMaxRetriesAndUpAfterTwo(t *testing.T) {
	hm := monitor(t, alphaToken) // max_retries 3
	e, ok := env.st.Get(model.KindHealthMonitor, hm)
	if !ok {
		t.Fatal("the monitor is not stored")
	}
	if h := e.Obj.(*model.HealthMonitor); h.Fall != 3 || h.Rise != 2 {
		t.Fatalf("stored monitor rise %d fall %d, want 2 and max_retries 3", h.Rise, h.Fall)
	}
	expect(t, call(t, alphaToken, "PUT", "/v2.0/lb/health_monitors/"+hm, obj{"health_monitor": obj{"max_retries": 7}}), http.StatusOK)
	e, _ = env.st.Get(model.KindHealthMonitor, hm)
	if h := e.Obj.(*model.HealthMonitor); h.Fall != 7 || h.Rise != 2 {
		t.Fatalf("after max_retries 7: rise %d fall %d", h.Rise, h.Fall)
	}
	if got := show(t, alphaToken, "/v2.0/lb/health_monitors/"+hm, "health_monitor")["max_retries"]; got != float64(7) {
		t.Fatalf("v1 max_retries %v", got)
	}
}

func TestConcurrentVIPsOnOnePoolLeaveItWithExactlyOne(t *testing.T) {
	_, sub := network(t, alphaToken, "20.25.1.0/24")
	poolID := pool(t, alphaToken, sub, "TCP")
	var wg sync.WaitGroup
	codes := make([]int, 8)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = call(t, alphaToken, "POST", "/v2.0/lb/vips", obj{"vip": obj{"subnet_id": sub, "pool_id": poolID, "protocol": "TCP", "protocol_port": 1000 + i}}).code
		}()
	}
	wg.Wait()
	created := 0
	for _, c := range codes {
		switch c {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
		default:
			t.Fatalf("concurrent VIP create answered %d (codes %v)", c, codes)
		}
	}
	if created != 1 {
		t.Fatalf("%d VIPs were created on one pool, want 1 (codes %v)", created, codes)
	}
	if ls := env.st.ByIndex(model.KindListener, store.IdxPool, poolID); len(ls) != 1 || storedPool(t, poolID).LoadBalancerID != ls[0].Obj.Base().ID {
		t.Fatalf("%d listeners send traffic to the pool, whose load balancer is %q", len(ls), storedPool(t, poolID).LoadBalancerID)
	}
	// The losers left no load balancer or port behind.
	lbs, ports := 0, 0
	for _, e := range env.st.List(model.KindLoadBalancer) {
		if e.Obj.(*model.LoadBalancer).VIPSubnetID == sub {
			lbs++
		}
	}
	for _, e := range env.st.ByIndex(model.KindPort, store.IdxSubnet, sub) {
		if e.Obj.(*model.Port).DeviceOwner == model.DeviceOwnerLoadBalancer {
			ports++
		}
	}
	if lbs != 1 || ports != 1 {
		t.Fatalf("%d load balancers and %d VIP ports on the subnet, want 1 of each", lbs, ports)
	}
}

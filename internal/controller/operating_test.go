package controller_test

import (
	"testing"
	"time"

	"lbaas/internal/controller"
	"lbaas/internal/model"
	"lbaas/internal/store"
)

// reportHealth stores the active VM's report with the given member health.
func reportHealth(t *testing.T, si *model.ServiceInstance, health map[string]string) {
	t.Helper()
	vm := si.VMs[0]
	r := &model.VMReport{Meta: model.Meta{ID: vm.ID, TenantID: si.TenantID}, Node: vm.Node, SIID: si.ID, LoadBalancerID: si.LoadBalancerID,
		State: model.VMServing, AppliedHash: hashOf(t, si, vm), HAState: "MASTER", ReportedAt: time.Now().UTC(), Members: map[string]model.MemberHealth{}}
	for id, s := range health {
		r.Members[id] = model.MemberHealth{Status: s}
	}
	if _, err := env.st.Commit(testCtx(t), new(store.Txn).Put(model.KindVMReport, r)); err != nil {
		t.Fatal(err)
	}
}

func TestOperatingStatusRollsUpFromMembersToTheLoadBalancer(t *testing.T) {
	l, si := pair(t)
	a, b := addMember(t, l.pool, "10.20.0.21"), addMember(t, l.pool, "10.20.0.22")
	listener := l.vip // a v1 VIP's listener has its id

	if op := controller.OperatingOf(env.st, l.vip); op.LoadBalancer != controller.OperatingOffline || op.Members[a] != controller.OperatingOffline {
		t.Fatalf("before any report: %+v, want everything OFFLINE", op)
	}
	// No monitor: HAProxy assumes members up, and Octavia calls it so.
	reportHealth(t, si, map[string]string{a: model.StatusActive, b: model.StatusActive})
	op := controller.OperatingOf(env.st, l.vip)
	if op.Members[a] != controller.OperatingNoMonitor || op.Pools[l.pool] != controller.OperatingOnline || op.Listeners[listener] != controller.OperatingOnline || op.LoadBalancer != controller.OperatingOnline {
		t.Fatalf("unmonitored, serving: %+v", op)
	}

	hm := create(t, "/v2.0/lb/health_monitors", "health_monitor", obj{"type": "TCP", "delay": 1, "timeout": 1, "max_retries": 2})
	if code, body := call(t, "POST", "/v2.0/lb/pools/"+l.pool+"/health_monitors", obj{"health_monitor": obj{"id": hm["id"]}}); code != 201 {
		t.Fatalf("associate: %d %v", code, body)
	}
	reportHealth(t, si, map[string]string{a: model.StatusActive, b: model.StatusInactive})
	op = controller.OperatingOf(env.st, l.vip)
	if op.Members[a] != controller.OperatingOnline || op.Members[b] != controller.OperatingError {
		t.Fatalf("members with one failing its checks: %v", op.Members)
	}
	if op.Pools[l.pool] != controller.OperatingDegraded || op.LoadBalancer != controller.OperatingDegraded || op.Listeners[listener] != controller.OperatingOnline {
		t.Fatalf("one member of two down: %+v, want the pool and the load balancer DEGRADED", op)
	}
	reportHealth(t, si, map[string]string{a: model.StatusInactive, b: model.StatusInactive})
	if op = controller.OperatingOf(env.st, l.vip); op.Pools[l.pool] != controller.OperatingError || op.LoadBalancer != controller.OperatingDegraded {
		t.Fatalf("every member down: %+v, want the pool ERROR and the load balancer DEGRADED", op)
	}
	// A member taken out by its owner is OFFLINE and does not count.
	if code, body := call(t, "PUT", "/v2.0/lb/members/"+b, obj{"member": obj{"admin_state_up": false}}); code != 200 {
		t.Fatalf("member down: %d %v", code, body)
	}
	reportHealth(t, si, map[string]string{a: model.StatusActive, b: model.StatusInactive})
	if op = controller.OperatingOf(env.st, l.vip); op.Members[b] != controller.OperatingOffline || op.Pools[l.pool] != controller.OperatingOnline {
		t.Fatalf("a disabled member: %+v, want it OFFLINE and the pool ONLINE", op)
	}
}

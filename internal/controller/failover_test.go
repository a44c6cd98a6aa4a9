package controller_test

import (
	"testing"

	"lbaas/internal/model"
)

// askFailover bumps the load balancer's failover count, as PUT
// .../failover does.
func askFailover(t *testing.T, lbID string) {
	t.Helper()
	e, ok := env.st.Get(model.KindLoadBalancer, lbID)
	if !ok {
		t.Fatalf("no load balancer %s", lbID)
	}
	lb := *e.Obj.(*model.LoadBalancer)
	lb.Failovers++
	putObject(t, model.KindLoadBalancer, &lb)
}

func serveAll(t *testing.T, si *model.ServiceInstance) {
	t.Helper()
	for _, vm := range si.VMs {
		ha := "BACKUP"
		if vm.Role == model.RoleActive {
			ha = "MASTER"
		}
		report(t, si, vm, model.VMServing, hashOf(t, si, vm), ha)
	}
}

func TestFailoverRebuildsTheStandbyThenTheActiveEachOnceTheOtherServes(t *testing.T) {
	l, si := pair(t)
	serveAll(t, si)
	active, standby := si.VMs[0], si.VMs[1]
	if active.Role != model.RoleActive {
		active, standby = standby, active
	}
	askFailover(t, l.vip)

	reconcile(t)
	si = instance(t, l.vip)
	var newStandby model.SIVM
	for _, vm := range si.VMs {
		switch {
		case vm.ID == active.ID:
		case vm.ID == standby.ID:
			t.Fatalf("first step: the standby %s is still there: %+v", standby.ID, si.VMs)
		default:
			newStandby = vm
		}
	}
	if newStandby.Node != standby.Node || newStandby.Role != model.RoleStandby {
		t.Fatalf("first step: want a new standby on %s beside the untouched active, got %+v", standby.Node, si.VMs)
	}
	// Until the new standby serves, the active stays.
	reconcile(t)
	if got := instance(t, l.vip); !hasVM(got, active.ID) {
		t.Fatalf("the active was replaced before the rebuilt standby served: %+v", got.VMs)
	}

	serveAll(t, si)
	reconcile(t)
	si = instance(t, l.vip)
	if hasVM(si, active.ID) {
		t.Fatalf("second step: the old active %s is still there: %+v", active.ID, si.VMs)
	}
	for _, vm := range si.VMs {
		switch {
		case vm.ID == newStandby.ID && (vm.Role != model.RoleActive || vm.Priority != model.PriorityActive):
			t.Fatalf("the rebuilt standby takes the VIP when the active goes: want it active/200, got %+v", vm)
		case vm.ID != newStandby.ID && (vm.Node != active.Node || vm.Role != model.RoleStandby):
			t.Fatalf("the active's replacement: want a standby on %s, got %+v", active.Node, vm)
		}
	}
	if si.FailedOver != 0 {
		t.Fatalf("failover marked done before the last VM served")
	}
	serveAll(t, si)
	reconcile(t)
	si = instance(t, l.vip)
	if si.FailedOver != 1 || len(si.Rebuilt) != 0 || len(si.VMs) != 2 {
		t.Fatalf("after both VMs served: %+v, want the failover done and two VMs", si)
	}
	reconcile(t)
	if again := instance(t, l.vip); again.VMs[0].ID != si.VMs[0].ID || again.VMs[1].ID != si.VMs[1].ID {
		t.Fatalf("a finished failover rebuilt again: %+v then %+v", si.VMs, again.VMs)
	}
}

func hasVM(si *model.ServiceInstance, id string) bool {
	for _, vm := range si.VMs {
		if vm.ID == id {
			return true
		}
	}
	return false
}

package controller_test

import (
	"slices"
	"testing"
	"time"

	"lbaas/internal/controller"
	"lbaas/internal/model"
)

func drainNode(t *testing.T, node string, up bool) {
	t.Helper()
	now := time.Now().UTC()
	na := &model.NodeAdmin{Meta: model.Meta{ID: node, TenantID: "admin", CreatedAt: now, UpdatedAt: now}, AdminStateUp: up}
	putObject(t, model.KindNodeAdmin, na)
}

func nodesOf(si *model.ServiceInstance) []string {
	var out []string
	for _, vm := range si.VMs {
		out = append(out, vm.Node)
	}
	slices.Sort(out)
	return out
}

func TestADrainedNodesVMsMoveOneLoadBalancerAtATimeAndNoNewOnesGoThere(t *testing.T) {
	reset(t)
	nodes := controller.NewNodes(env.st, 0)
	beat(t, nodes, compute, "lbt-c1", "lbt-c2", "lbt-c3")
	n := newNets(t)
	a := newLB(t, n, "10.20.0.10")
	b := newLB(t, n, "10.20.0.11")
	reconcile(t)
	// Both on c1 (and one other node each): what the drain must move.
	for _, id := range []string{a.vip, b.vip} {
		si := instance(t, id)
		if !slices.Contains(nodesOf(si), "lbt-c1") {
			si.VMs[0].Node = "lbt-c1"
			if si.VMs[1].Node == "lbt-c1" {
				si.VMs[1].Node = "lbt-c2"
			}
			putObject(t, model.KindServiceInstance, si)
		}
	}
	for _, id := range []string{a.vip, b.vip} {
		serveAll(t, instance(t, id))
	}
	drainNode(t, "lbt-c1", false)
	reconcile(t)
	moved := 0
	for _, id := range []string{a.vip, b.vip} {
		si := instance(t, id)
		if !slices.Contains(nodesOf(si), "lbt-c1") {
			moved++
			if si.Moving == "" {
				t.Fatalf("a move without its record: %+v", si)
			}
		}
	}
	if moved != 1 {
		t.Fatalf("%d load balancers moved at once, want 1", moved)
	}
	// Until the moved VM serves, the other waits.
	reconcile(t)
	left := 0
	for _, id := range []string{a.vip, b.vip} {
		if slices.Contains(nodesOf(instance(t, id)), "lbt-c1") {
			left++
		}
	}
	if left != 1 {
		t.Fatalf("the second move started before the first VM served")
	}
	for range 3 {
		for _, id := range []string{a.vip, b.vip} {
			serveAll(t, instance(t, id))
		}
		reconcile(t)
	}
	for _, id := range []string{a.vip, b.vip} {
		si := instance(t, id)
		got := nodesOf(si)
		if slices.Contains(got, "lbt-c1") || len(got) != 2 || got[0] == got[1] || si.Moving != "" {
			t.Fatalf("after the drain: %+v", si)
		}
		roles := 0
		for _, vm := range si.VMs {
			if vm.Role == model.RoleActive {
				roles++
			}
		}
		if roles != 1 {
			t.Fatalf("want one active after the move: %+v", si.VMs)
		}
	}
	// A new load balancer does not go to the drained node, and the node
	// takes VMs again once enabled.
	c := newLB(t, n, "10.20.0.12")
	reconcile(t)
	if slices.Contains(nodesOf(instance(t, c.vip)), "lbt-c1") {
		t.Fatal("a new VM went to the drained node")
	}
	drainNode(t, "lbt-c1", true)
	kill(t, nodes, "lbt-c2")
	reconcile(t)
	if got := nodesOf(instance(t, c.vip)); !slices.Equal(got, []string{"lbt-c1", "lbt-c3"}) {
		t.Fatalf("after c2's death with c1 enabled again: VMs on %v, want c1 and c3", got)
	}
}

func TestTheTwoVMsGoToDifferentZonesWhenTheLiveNodesAllow(t *testing.T) {
	reset(t)
	nodes := controller.NewNodes(env.st, 0)
	for name, zone := range map[string]string{"lbt-a1": "rack-a", "lbt-a2": "rack-a", "lbt-a3": "rack-a", "lbt-b1": "rack-b"} {
		if err := nodes.Beat(testCtx(t), name, model.NodeInfo{Version: "test", Roles: compute, Zone: zone}); err != nil {
			t.Fatal(err)
		}
	}
	n := newNets(t)
	var lbs []lb
	for i := range 4 {
		lbs = append(lbs, newLB(t, n, "10.20.0."+string(rune('1'+i))))
	}
	reconcile(t)
	for _, l := range lbs {
		got := nodesOf(instance(t, l.vip))
		if len(got) != 2 || got[1] != "lbt-b1" {
			t.Fatalf("VMs on %v: want one in rack-b, whatever its load", got)
		}
	}
}

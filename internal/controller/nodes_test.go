package controller_test

import (
	"testing"
	"time"

	"lbaas/internal/controller"
	"lbaas/internal/model"
)

func TestNodeThatStopsBeatingVanishesAndComesBackWhenItBeatsAgain(t *testing.T) {
	reset(t)
	nodes := controller.NewNodes(env.st, 0)
	beat(t, nodes, compute, "lbt-c1")
	if got := controller.Alive(env.st, controller.RoleCompute); len(got) != 1 || got[0].Name != "lbt-c1" || !got[0].Alive {
		t.Fatalf("live compute nodes %+v, want lbt-c1", got)
	}
	kill(t, nodes, "lbt-c1")
	if got := controller.Alive(env.st, controller.RoleCompute); len(got) != 0 {
		t.Fatalf("live compute nodes after the lease ended: %+v", got)
	}
	// The keeper still remembers the dead lease; the next beat must notice
	// and register the node again.
	beat(t, nodes, compute, "lbt-c1")
	if _, ok := env.st.Get(model.KindNode, "lbt-c1"); !ok {
		t.Fatal("a node that beats again after its lease ended stays dead")
	}
}

func TestChangingRolesTakesEffectOnTheNextBeat(t *testing.T) {
	reset(t)
	nodes := controller.NewNodes(env.st, 0)
	beat(t, nodes, compute, "lbt-c1")
	beat(t, nodes, []string{controller.RoleNetwork}, "lbt-c1")
	if got := controller.Alive(env.st, controller.RoleCompute); len(got) != 0 {
		t.Fatalf("node still computes after dropping the role: %+v", got)
	}
	if got := controller.Alive(env.st, controller.RoleNetwork); len(got) != 1 {
		t.Fatalf("live network nodes %+v, want lbt-c1", got)
	}
}

func TestAliveListsNodesOfARoleSortedByName(t *testing.T) {
	reset(t)
	nodes := controller.NewNodes(env.st, 0)
	beat(t, nodes, compute, "lbt-c3", "lbt-c1", "lbt-c2")
	beat(t, nodes, []string{controller.RoleNetwork}, "lbt-n1")
	got := controller.Alive(env.st, controller.RoleCompute)
	var names []string
	for _, n := range got {
		names = append(names, n.Name)
	}
	if len(names) != 3 || names[0] != "lbt-c1" || names[1] != "lbt-c2" || names[2] != "lbt-c3" {
		t.Fatalf("Alive(compute) = %v, want lbt-c1..3 in order", names)
	}
}

func TestNodeBeatingThroughTwoServersStaysAlive(t *testing.T) {
	reset(t)
	// Two API servers on one store, each with its own keeper.
	a, b := controller.NewNodes(env.st, 0), controller.NewNodes(env.st, 0)
	beat(t, a, compute, "lbt-c1")
	beat(t, b, compute, "lbt-c1")
	deadline := time.Now().Add(controller.NodeTTL + 1500*time.Millisecond)
	// Look just before each beat, when a lapse would be visible: that is
	// also when the controller would act on it.
	for time.Now().Before(deadline) {
		time.Sleep(controller.HeartbeatInterval)
		if _, ok := env.st.Get(model.KindNode, "lbt-c1"); !ok {
			t.Fatal("the node vanished while it kept beating every HeartbeatInterval (through server A)")
		}
		beat(t, a, compute, "lbt-c1")
	}
}

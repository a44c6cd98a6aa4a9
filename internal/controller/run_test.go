package controller_test

import (
	"context"
	"testing"
	"time"

	"lbaas/internal/controller"
	"lbaas/internal/model"
)

func TestLeaderSchedulesOnItsOwnButKeepsVMsOfMissingNodesDuringStartupGrace(t *testing.T) {
	reset(t)
	nodes := controller.NewNodes(env.st, 0)
	beat(t, nodes, compute, "lbt-c1", "lbt-c2")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- controller.New(env.st, quiet()).Run(ctx) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return within 10s of its context's end")
		}
	}()

	l := newLB(t, newNets(t))
	var si *model.ServiceInstance
	for deadline := time.Now().Add(5 * time.Second); si == nil || len(si.VMs) < 2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the leader did not schedule a new VIP within 5s")
		}
		if e, ok := env.st.Get(model.KindServiceInstance, l.pool); ok {
			si = e.Obj.(*model.ServiceInstance)
		}
	}
	// Right after a (re)start, a node missing from the store may only be
	// late to beat: its VMs stay until StartupGrace has passed.
	kill(t, nodes, si.VMs[0].Node)
	time.Sleep(time.Second)
	got := instance(t, l.pool)
	if len(got.VMs) != 2 || got.VMs[0].ID != si.VMs[0].ID {
		t.Fatalf("VMs %+v one second after the leader started: the missing node's VM was dropped within StartupGrace (%v)", got.VMs, controller.StartupGrace)
	}
}

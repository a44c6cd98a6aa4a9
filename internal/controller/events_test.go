package controller_test

import (
	"strings"
	"testing"
	"time"

	"lbaas/internal/controller"
	"lbaas/internal/model"
	"lbaas/internal/store"
)

// eventsOf returns the recorded events of one type, newest first.
func eventsOf(typ string) []*model.Event {
	var out []*model.Event
	for _, e := range env.st.List(model.KindEvent) {
		if ev := e.Obj.(*model.Event); ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

// TestANodesDeathIsRecordedWithTheRepairItCaused: one controller (the
// leader) sees a load balancer placed, a third node join, then the
// active's node die: the history says each, in the load balancer's
// project for its VMs and the admin's for the nodes.
func TestANodesDeathIsRecordedWithTheRepairItCaused(t *testing.T) {
	reset(t)
	c := controller.New(env.st, quiet())
	run := func() {
		t.Helper()
		if err := c.Reconcile(testCtx(t)); err != nil {
			t.Fatal(err)
		}
	}
	nodes := controller.NewNodes(env.st, 0)
	beat(t, nodes, compute, "lbt-c1", "lbt-c2")
	run() // takes the roll of nodes: no event for those already there
	l := newLB(t, newNets(t))
	run()
	si := instance(t, l.vip)
	if got := eventsOf(model.EventScheduled); len(got) != 2 || got[0].LoadBalancerID != l.vip || got[0].TenantID != si.TenantID {
		t.Fatalf("placement events %+v, want one per VM in the load balancer's project", got)
	}
	if got := eventsOf(model.EventNodeJoined); len(got) != 0 {
		t.Fatalf("nodes alive before the first pass recorded as joining: %+v", got)
	}
	beat(t, nodes, compute, "lbt-c3")
	run()
	if got := eventsOf(model.EventNodeJoined); len(got) != 1 || got[0].Node != "lbt-c3" || got[0].TenantID != "admin" {
		t.Fatalf("join events %+v, want lbt-c3's, as admin", got)
	}
	dead := si.VMs[0]
	kill(t, nodes, dead.Node)
	run()
	lost := eventsOf(model.EventNodeLost)
	if len(lost) != 1 || lost[0].Node != dead.Node {
		t.Fatalf("lost events %+v, want %s's", lost, dead.Node)
	}
	repairs := eventsOf(model.EventRepair)
	if len(repairs) != 2 {
		t.Fatalf("repair events %+v, want the dead VM removed and its replacement scheduled", repairs)
	}
	var removed, added bool
	for _, r := range repairs {
		removed = removed || (r.ObjectID == dead.ID && strings.Contains(r.Message, "removed"))
		added = added || (r.Node == "lbt-c3" && r.To == model.RoleStandby)
	}
	if !removed || !added {
		t.Errorf("repair events %+v", repairs)
	}
	run()
	if n := len(eventsOf(model.EventNodeLost)) + len(eventsOf(model.EventRepair)); n != 3 {
		t.Errorf("a pass with nothing new recorded more: %d", n)
	}
}

// TestEventsPastTheirAgeArePruned: the leader deletes events older than
// EventMaxAge and keeps the others.
func TestEventsPastTheirAgeArePruned(t *testing.T) {
	reset(t)
	now := time.Now()
	txn := new(store.Txn)
	for i := range 3 {
		txn.Put(model.KindEvent, model.NewEvent(now.Add(-controller.EventMaxAge-time.Duration(i+1)*time.Hour), "p", model.EventRepair, model.SeverityInfo, "old"))
	}
	for i := range 2 {
		txn.Put(model.KindEvent, model.NewEvent(now.Add(-time.Duration(i+1)*time.Minute), "p", model.EventRepair, model.SeverityInfo, "new"))
	}
	rev, err := env.st.Commit(testCtx(t), txn)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.st.WaitRev(testCtx(t), rev); err != nil {
		t.Fatal(err)
	}
	reconcile(t)
	left := env.st.List(model.KindEvent)
	if len(left) != 2 {
		t.Fatalf("%d events left, want the 2 recent ones", len(left))
	}
	for _, e := range left {
		if e.Obj.(*model.Event).Message != "new" {
			t.Errorf("kept %+v", e.Obj)
		}
	}
}

package controller_test

import (
	"context"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"lbaas/internal/controller"
	"lbaas/internal/model"
)

func TestLeaderSchedulesOnItsOwnButKeepsVMsOfMissingNodesDuringStartupGrace(t *testing.T) {
	nodes, _ := runWithTwoNodes(t)

	l := newLB(t, newNets(t))
	si := scheduledWithin(t, l.vip, 5*time.Second)
	// Right after a (re)start, a node missing from the store may only be
	// late to beat: its VMs stay until StartupGrace has passed.
	kill(t, nodes, si.VMs[0].Node)
	time.Sleep(time.Second)
	got := instance(t, l.vip)
	if len(got.VMs) != 2 || got.VMs[0].ID != si.VMs[0].ID {
		t.Fatalf("VMs %+v one second after the leader started: the missing node's VM was dropped within StartupGrace (%v)", got.VMs, controller.StartupGrace)
	}
}

// TestTheControllerCampaignsAgainWhenItsSessionEnds ends the leader's etcd
// session the way a lost quorum does (its lease is gone) and then creates
// a load balancer: it is scheduled only if Run campaigned again instead of
// returning.
func TestTheControllerCampaignsAgainWhenItsSessionEnds(t *testing.T) {
	_, done := runWithTwoNodes(t)

	first := electionLease(t, 0)
	if _, err := env.st.Client().Revoke(testCtx(t), first); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Fatalf("Run returned when its session ended: %v", err)
	default:
	}
	second := electionLease(t, first)
	t.Logf("the first leader's lease %x was revoked; the election is held with lease %x", first, second)
	scheduledWithin(t, newLB(t, newNets(t)).vip, 5*time.Second)
}

// runWithTwoNodes starts from an empty store with two live compute nodes
// and runs a controller until the test ends; done receives Run's return.
func runWithTwoNodes(t *testing.T) (*controller.Nodes, <-chan error) {
	t.Helper()
	reset(t)
	nodes := controller.NewNodes(env.st, 0)
	beat(t, nodes, compute, "lbt-c1", "lbt-c2")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- controller.New(env.st, quiet()).Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return within 10s of its context's end")
		}
	})
	return nodes, done
}

// scheduledWithin waits until the pool's service instance has two VMs.
func scheduledWithin(t *testing.T, lbID string, limit time.Duration) *model.ServiceInstance {
	t.Helper()
	for deadline := time.Now().Add(limit); ; time.Sleep(20 * time.Millisecond) {
		if e, ok := env.st.Get(model.KindServiceInstance, lbID); ok && len(e.Obj.(*model.ServiceInstance).VMs) == 2 {
			return e.Obj.(*model.ServiceInstance)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the leader did not schedule load balancer %s within %v", lbID, limit)
		}
	}
}

// electionLease waits until a controller holds the election with a lease
// other than not, and returns that lease.
func electionLease(t *testing.T, not clientv3.LeaseID) clientv3.LeaseID {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, err := env.st.Client().Get(testCtx(t), "/lbaas/election/controller", clientv3.WithFirstCreate()...)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Kvs) == 1 && clientv3.LeaseID(resp.Kvs[0].Lease) != not {
			return clientv3.LeaseID(resp.Kvs[0].Lease)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no controller holds the election with a lease other than %x within 5s", not)
		}
	}
}

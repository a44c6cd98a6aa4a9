package controller_test

import (
	"sync"
	"testing"

	"lbaas/internal/controller"
	"lbaas/internal/model"
	"lbaas/internal/store"
)

// Affected must foresee every change of a node's desired state: the agent
// API wakes a node's long poll only for the nodes Affected names. The test
// watches the store as the agent API does and, at every batch of changes,
// recomputes every node's desired state: a node whose state changed while
// Affected named neither it nor all is a poll that would sleep through
// its change.
func TestEveryChangeOfADesiredStateIsForeseenByAffected(t *testing.T) {
	reset(t)
	nodes := controller.NewNodes(env.st, 0)
	names := []string{"lbt-c1", "lbt-c2", "lbt-c3", "lbt-n1"}
	beat(t, nodes, compute, names[:3]...)
	beat(t, nodes, []string{controller.RoleNetwork}, "lbt-n1")
	ext := create(t, "/v2.0/networks", "network", obj{"name": "Public", "router:external": true})
	create(t, "/v2.0/subnets", "subnet", obj{"network_id": ext["id"], "ip_version": 4, "cidr": "172.24.4.0/24"})

	var mu sync.Mutex
	hashes := map[string]string{}
	for _, n := range names {
		_, hashes[n] = controller.DesiredFor(env.st, n)
	}
	var missed []string
	batches, narrow := 0, 0
	env.st.Observe(func(changes []store.Change) {
		mu.Lock()
		defer mu.Unlock()
		if hashes == nil {
			return // the test is over
		}
		affected, all := controller.Affected(env.st, changes)
		batches++
		if !all {
			narrow++
		}
		for _, n := range names {
			_, h := controller.DesiredFor(env.st, n)
			if h != hashes[n] && !all && !affected[n] {
				var kinds []model.Kind
				for _, c := range changes {
					kinds = append(kinds, c.Kind)
				}
				missed = append(missed, n+" after a change of "+string(kinds[0]))
			}
			hashes[n] = h
		}
	})
	defer func() { mu.Lock(); hashes = nil; mu.Unlock() }()

	n := newNets(t)
	a := newLB(t, n, "10.20.0.10")
	b := newLB(t, n, "10.20.0.11")
	reconcile(t)
	addMember(t, a.pool, "10.20.0.12")
	hm := create(t, "/v2.0/lb/health_monitors", "health_monitor", obj{"type": "TCP", "delay": 1, "timeout": 1, "max_retries": 2})
	if code, _ := call(t, "POST", "/v2.0/lb/pools/"+b.pool+"/health_monitors", obj{"health_monitor": obj{"id": hm["id"]}}); code != 201 {
		t.Fatalf("associate the monitor: %d", code)
	}
	create(t, "/v2.0/floatingips", "floatingip", obj{"floating_network_id": ext["id"], "port_id": a.vipPort})
	if code, _ := call(t, "PUT", "/v2.0/lb/pools/"+a.pool, obj{"pool": obj{"lb_method": "LEAST_CONNECTIONS"}}); code != 200 {
		t.Fatalf("update the pool: %d", code)
	}
	// A node dies: its VMs move.
	si := instance(t, a.vip)
	kill(t, nodes, si.VMs[0].Node)
	reconcile(t)
	if code, _ := call(t, "DELETE", "/v2.0/lb/vips/"+b.vip, nil); code != 204 {
		t.Fatalf("delete a VIP: %d", code)
	}
	reconcile(t)
	// The watch delivers the last batches a moment after the writes.
	if err := env.st.WaitRev(testCtx(t), env.st.Rev()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(missed) > 0 {
		t.Fatalf("desired states changed without Affected naming their node: %v", missed)
	}
	if narrow == 0 {
		t.Fatalf("Affected said all for each of %d batches: it would wake every poll at every change", batches)
	}
	t.Logf("%d batches of changes, %d named their nodes (the others: all)", batches, narrow)
}

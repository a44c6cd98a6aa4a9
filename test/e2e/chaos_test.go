package e2e

import (
	"context"
	"testing"
	"time"
)

// TestChaos sends a request every 10 ms to the floating IP while it kills
// the active HAProxy, then the active node, then restarts an agent and the
// server. Every failure window is measured and printed; each must be short
// and no request may fail outside them.
func TestChaos(t *testing.T) {
	needKeepalived(t)
	tp := startTopo(t)
	pool, vip, fip := tp.lb("chaos", map[string]any{}, map[string]any{})
	poolID, vipAddr := pool["id"].(string), vip["address"].(string)
	p := tp.probe("http://"+fip+"/", 10*time.Millisecond, 120*time.Second)
	p.waitOK(t, 30, 10*time.Second)
	type step struct {
		name   string
		do     func()
		expect int // failure windows this step may cause
	}
	steady := func() {
		p.waitOK(t, 100, 20*time.Second)
		// Both VMs serve again before the next blow.
		tp.waitStatus("/v2.0/lb/pools/"+poolID, "pool", "ACTIVE", 30*time.Second)
	}
	var killedNode string
	steps := []step{
		{"kill the active HAProxy", func() { killHAProxy(t, tp.active(poolID, vipAddr)) }, 1},
		{"kill the active node", func() {
			killedNode = tp.active(poolID, vipAddr).node
			if _, err := tp.c.KillNode(killedNode); err != nil {
				t.Fatal(err)
			}
			// Wait for the pair to be whole again before the next step.
			deadline := time.Now().Add(20 * time.Second)
			for time.Now().Before(deadline) {
				si, err := tp.api.Get("/v2.0/lbaas-service-instances/"+poolID, "service_instance")
				if err == nil && si["status"] == "ACTIVE" && len(tp.instancesOn(poolID, killedNode)) == 2 {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
			t.Fatal("the pair was not repaired within 20s")
		}, 1},
		{"restart the active's agent", func() {
			n := tp.active(poolID, vipAddr).node
			tp.c.StopAgent(n, false)
			if err := tp.c.StartAgent(n); err != nil {
				t.Fatal(err)
			}
		}, 0},
		{"restart the server", func() {
			tp.c.StopServer()
			time.Sleep(500 * time.Millisecond)
			if err := tp.c.StartServer(context.Background()); err != nil {
				t.Fatal(err)
			}
		}, 0},
	}
	for _, s := range steps {
		before := len(p.windows())
		s.do()
		steady()
		ws := p.windows()[before:]
		for _, w := range ws {
			t.Logf("%-28s failure window %6s (%d failed requests)", s.name+":", w.length().Round(time.Millisecond), w.failures)
			if w.length() > failoverBound {
				t.Errorf("%s: window %s exceeds %s", s.name, w.length(), failoverBound)
			}
		}
		if len(ws) > s.expect {
			t.Errorf("%s: %d failure windows, at most %d expected", s.name, len(ws), s.expect)
		}
		if len(ws) == 0 {
			t.Logf("%-28s no failed request", s.name+":")
		}
	}
	p.stop()
	ok, failed := p.count()
	t.Logf("%d requests, %d failed, all inside the windows above", ok+failed, failed)
}

// instancesOn lists the pool's instances on nodes other than skip.
func (tp *topo) instancesOn(poolID, skip string) []instance {
	var out []instance
	for _, in := range tp.instances(poolID) {
		if in.node != skip {
			out = append(out, in)
		}
	}
	return out
}

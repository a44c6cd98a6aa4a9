package e2e

import (
	"context"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"lbaas/internal/up"
)

// TestChaos sends a request every 10 ms to the floating IP while it kills
// the active HAProxy, the active node silently (every process frozen and
// killed at once, as a power loss), the active node resigning (HAProxy
// first), then restarts an agent and the server. Every failure window is
// measured and printed; each blow may cause one short window and no
// request may fail outside them. It runs on an idle machine and with
// every CPU saturated: a load balancer node is busiest exactly when it
// matters.
func TestChaos(t *testing.T) {
	needKeepalived(t)
	t.Run("idle", func(t *testing.T) { chaos(t) })
	t.Run("saturated", func(t *testing.T) {
		if _, err := exec.LookPath("stress-ng"); err != nil {
			t.Skip("stress-ng is not installed: the saturated case needs it (apt-get install stress-ng)")
		}
		saturate(t, 2*runtime.NumCPU(), 5*time.Minute)
		chaos(t)
	})
}

// saturate keeps n CPU hogs (stress-ng) running until the test ends or
// limit passes, whichever is first.
func saturate(t *testing.T, n int, limit time.Duration) {
	t.Helper()
	cmd := exec.Command("stress-ng", "--cpu", strconv.Itoa(n), "--timeout", strconv.Itoa(int(limit.Seconds()))+"s", "--quiet")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		// stress-ng's workers are its children, in its process group.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	time.Sleep(500 * time.Millisecond) // the hogs are up
}

func chaos(t *testing.T) {
	tp := startTopo(t)
	pool, vip, fip := tp.lb("chaos", map[string]any{}, map[string]any{})
	poolID, vipAddr := pool["id"].(string), vip["address"].(string)
	p := tp.probe("http://"+fip+"/", 10*time.Millisecond, 240*time.Second)
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
	killNode := func(how up.NodeDeath) func() {
		return func() {
			dead := tp.active(poolID, vipAddr).node
			if _, err := tp.c.KillNode(dead, how); err != nil {
				t.Fatal(err)
			}
			tp.waitRepaired(t, poolID, dead, 30*time.Second)
			// The node comes back (empty) for the next blow's repair: its
			// agent removes the VM it ran before it died.
			if err := tp.c.StartAgent(dead); err != nil {
				t.Fatal(err)
			}
			tp.waitTwoInstances(t, poolID, 30*time.Second)
		}
	}
	steps := []step{
		{"kill the active HAProxy", func() { killHAProxy(t, tp.active(poolID, vipAddr)) }, 1},
		{"the active node dies silently", killNode(up.Silent), 1},
		{"the active node dies resigning", killNode(up.Resigning), 1},
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
			tp.changeApplies(t, poolID)
		}, 0},
		// The server with its controller and its embedded etcd dies at
		// once: the data plane does not notice, and the restarted server
		// loses nothing and drives the next change.
		{"kill -9 the server", func() {
			tp.c.KillServer()
			time.Sleep(500 * time.Millisecond)
			if err := tp.c.StartServer(context.Background()); err != nil {
				t.Fatal(err)
			}
			tp.changeApplies(t, poolID)
		}, 0},
		// A frozen server (API, controller and embedded etcd stopped,
		// longer than a node's lease and the controller's session): when
		// it thaws, every node's lease has run out at once, yet no node
		// is declared dead and nothing is moved, and the controller
		// campaigns again and drives the next change.
		{"freeze the server 6 s", func() {
			if err := tp.c.PauseServer(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(6 * time.Second)
			if err := tp.c.ResumeServer(); err != nil {
				t.Fatal(err)
			}
			tp.changeApplies(t, poolID)
		}, 0},
	}
	for _, s := range steps {
		before := len(p.windows())
		vms := tp.instances(poolID)
		s.do()
		steady()
		ws := p.windows()[before:]
		for _, w := range ws {
			t.Logf("%-32s failure window %v", s.name+":", w)
			if w.length() > failoverBound {
				t.Errorf("%s: window %s exceeds %s", s.name, w.length(), failoverBound)
			}
		}
		if len(ws) > s.expect {
			t.Errorf("%s: %d failure windows, at most %d expected", s.name, len(ws), s.expect)
		}
		if len(ws) == 0 {
			t.Logf("%-32s no failed request", s.name+":")
		}
		if s.expect == 0 && !sameVMs(vms, tp.instances(poolID)) {
			t.Errorf("%s moved the pair: %v, then %v", s.name, vms, tp.instances(poolID))
		}
	}
	p.stop()
	ok, failed := p.count()
	t.Logf("%d requests, %d failed, all inside the windows above", ok+failed, failed)
	tp.checkFailoverHistory(t, tp.lbID(poolID))
}

// checkFailoverHistory reads the load balancer's failovers from the event
// history. The silent node death is one (its node's lease ran out: no
// duration), recorded within a few seconds of it. A HAProxy killed is a
// fault, timed from the two keepalived records, when keepalived saw it
// before the agent had HAProxy back (no takeover otherwise).
func (tp *topo) checkFailoverHistory(t *testing.T, lbID string) {
	t.Helper()
	var out struct {
		Events []map[string]any `json:"events"`
	}
	deadline := time.Now().Add(20 * time.Second)
	silent := 0
	for silent == 0 && time.Now().Before(deadline) {
		if err := tp.api.Call("GET", "/v2.0/lbaas-events?type=failover&loadbalancer_id="+lbID, nil, &out); err != nil {
			t.Fatal(err)
		}
		silent = 0
		for _, e := range out.Events {
			if e["trigger"] == "node_silent" {
				silent++
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	for _, e := range out.Events {
		d, _ := e["duration_ms"].(float64)
		t.Logf("failover %-12v %6.1f ms  %v", e["trigger"], d, e["message"])
		if e["trigger"] == "fault" && (d <= 0 || d > float64(failoverBound/time.Millisecond)) {
			t.Errorf("a fault's failover timed %v ms: %v", d, e)
		}
	}
	if silent == 0 {
		t.Errorf("no failover recorded for the silent node death: %v", out.Events)
	}
}

// waitRepaired waits until the pool's instance is ACTIVE with both VMs on
// nodes other than dead.
func (tp *topo) waitRepaired(t *testing.T, poolID, dead string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		si, err := tp.api.Get("/v2.0/lbaas-service-instances/"+tp.lbID(poolID), "service_instance")
		if err == nil && si["status"] == "ACTIVE" && len(tp.instancesOn(poolID, dead)) == 2 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the pair was not repaired within %v of %s's death", limit, dead)
}

// waitTwoInstances waits until the agents' state directories hold the
// pool's two VMs and nothing else (a restarted node has removed the VM it
// ran before its death).
func (tp *topo) waitTwoInstances(t *testing.T, poolID string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if len(tp.instances(poolID)) == 2 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%v after a node's return, the agents still hold %v, not the pair alone", limit, tp.instances(poolID))
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

// changeApplies changes the weight of the pool's members and waits until
// both VMs serve the change: the control plane works end to end.
func (tp *topo) changeApplies(t *testing.T, poolID string) {
	t.Helper()
	var out struct {
		Members []struct {
			ID     string `json:"id"`
			Weight int    `json:"weight"`
		} `json:"members"`
	}
	if err := tp.api.Call("GET", "/v2.0/lb/members?pool_id="+poolID, nil, &out); err != nil || len(out.Members) == 0 {
		t.Fatalf("members of %s: %v %v", poolID, out.Members, err)
	}
	m := out.Members[0]
	weight := 2
	if m.Weight == 2 {
		weight = 1
	}
	body := map[string]any{"member": map[string]any{"weight": weight}}
	if err := tp.api.Call("PUT", "/v2.0/lb/members/"+m.ID, body, nil); err != nil {
		t.Fatalf("a change after the blow: %v", err)
	}
	tp.waitStatus("/v2.0/lb/pools/"+poolID, "pool", "ACTIVE", 30*time.Second)
}

// sameVMs reports whether two listings hold the same VMs on the same nodes.
func sameVMs(a, b []instance) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]string{}
	for _, in := range a {
		seen[in.namespace] = in.node
	}
	for _, in := range b {
		if n, ok := seen[in.namespace]; !ok || n != in.node {
			return false
		}
	}
	return true
}

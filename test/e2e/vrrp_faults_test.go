package e2e

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"lbaas/internal/proc"
	"lbaas/internal/vrrp"
)

// keepalivedPIDs returns the instance's keepalived parent and VRRP process.
func keepalivedPIDs(t *testing.T, in instance) (parent, child int) {
	t.Helper()
	p := vrrp.PathsIn(filepath.Join(in.dir, "keepalived"))
	parent, err1 := proc.ReadPidFile(p.PidFile)
	child, err2 := proc.ReadPidFile(p.VRRPPidFile)
	if err1 != nil || err2 != nil {
		t.Fatalf("keepalived of %s: %v %v", in.node, err1, err2)
	}
	return parent, child
}

// TestAStoppedVRRPProcessLosesTheVIPOnceAndComesBackAsBackup freezes the
// active's keepalived (SIGSTOP, as a hung process would be): the standby
// takes over after the master-down interval, the agent sees the stopped
// process, kills it and starts a new one, which joins as BACKUP. There is
// one takeover and no move back: the frozen MASTER never gets to take the
// VIP back.
func TestAStoppedVRRPProcessLosesTheVIPOnceAndComesBackAsBackup(t *testing.T) {
	needKeepalived(t)
	tp := startTopo(t)
	pool, vip, fip := tp.lb("stop", map[string]any{}, map[string]any{})
	poolID, vipAddr := pool["id"].(string), vip["address"].(string)
	before := tp.active(poolID, vipAddr)
	p := tp.probe("http://"+fip+"/", 10*time.Millisecond, 60*time.Second)
	p.waitOK(t, 20, 10*time.Second)

	parent, child := keepalivedPIDs(t, before)
	for _, pid := range []int{parent, child} {
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
	}
	// Whatever happens, nothing of ours stays frozen.
	t.Cleanup(func() {
		for _, pid := range []int{parent, child} {
			_ = syscall.Kill(pid, syscall.SIGCONT)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for proc.Alive(child) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if proc.Alive(child) {
		t.Fatalf("the stopped VRRP process %d was not replaced within 10 s", child)
	}
	// A new keepalived, and a calm period in which nothing moves back.
	deadline = time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		vp := vrrp.PathsIn(filepath.Join(before.dir, "keepalived"))
		np, err1 := proc.ReadPidFile(vp.PidFile)
		nc, err2 := proc.ReadPidFile(vp.VRRPPidFile)
		if err1 == nil && err2 == nil && np != parent && nc != child && proc.Alive(nc) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The freeze itself may cost a short outage or none (HAProxy still
	// runs in the frozen VM; the router follows the new MASTER's adverts),
	// and the frozen VM's VIP is removed when its new keepalived starts.
	p.waitOK(t, 50, 20*time.Second)
	ws := p.stop()
	for _, w := range ws {
		if w.length() > failoverBound {
			t.Errorf("outage of %s exceeds %s", w.length(), failoverBound)
		}
	}
	after := tp.active(poolID, vipAddr)
	if after.node == before.node {
		t.Fatalf("the VIP is on %s, whose keepalived was frozen", before.node)
	}
	// Then nothing moves back: the restarted keepalived stays BACKUP.
	calm := tp.probe("http://"+fip+"/", 10*time.Millisecond, 10*time.Second)
	time.Sleep(3 * time.Second)
	if ws := calm.stop(); len(ws) > 0 {
		t.Errorf("requests failed after the frozen keepalived was replaced: %v", ws)
	}
	if again := tp.active(poolID, vipAddr); again.node != after.node {
		t.Errorf("the VIP moved back from %s to %s", after.node, again.node)
	}
	t.Logf("frozen MASTER on %s: %d short window(s) while %s took over; no move back in 3 s", before.node, len(ws), after.node)
}

// TestCrashedKeepalivedAndArbiterAreRestartedWithoutAFailover kills the
// standby's keepalived and the router's arbiter (SIGKILL, as a crash)
// with the CPUs saturated: the agents start both again within a second or
// so, and no request fails.
func TestCrashedKeepalivedAndArbiterAreRestartedWithoutAFailover(t *testing.T) {
	needKeepalived(t)
	tp := startTopo(t)
	pool, vip, fip := tp.lb("crash", map[string]any{}, map[string]any{})
	poolID, vipAddr := pool["id"].(string), vip["address"].(string)
	active := tp.active(poolID, vipAddr)
	var standby instance
	for _, in := range tp.instances(poolID) {
		if in.node != active.node {
			standby = in
		}
	}
	if _, err := exec.LookPath("stress-ng"); err == nil {
		saturate(t, 2*runtime.NumCPU(), 2*time.Minute)
	}
	p := tp.probe("http://"+fip+"/", 10*time.Millisecond, 60*time.Second)
	p.waitOK(t, 20, 10*time.Second)

	parent, child := keepalivedPIDs(t, standby)
	arbiterPidFile := filepath.Join(tp.c.Agents()["network-1"].StateDir, "router", "arbiter.pid")
	arbiter, err := proc.ReadPidFile(arbiterPidFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, pid := range []int{child, parent, arbiter} {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		np, nc := pidIn(keepalivedFile(standby, "keepalived.pid")), pidIn(keepalivedFile(standby, "vrrp.pid"))
		na := pidIn(arbiterPidFile)
		if np != parent && nc != child && na != arbiter && proc.Alive(np) && proc.Alive(nc) && proc.Alive(na) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not restarted within 10 s: keepalived %d/%d (was %d/%d), arbiter %d (was %d)", np, nc, parent, child, na, arbiter)
		}
		time.Sleep(20 * time.Millisecond)
	}
	restarted := time.Since(deadline.Add(-10 * time.Second))
	time.Sleep(time.Second)
	ws := p.stop()
	if len(ws) > 0 {
		t.Errorf("requests failed while keepalived and the arbiter were restarted: %v", ws)
	}
	if after := tp.active(poolID, vipAddr); after.node != active.node {
		t.Errorf("the VIP moved from %s to %s", active.node, after.node)
	}
	t.Logf("standby's keepalived and the arbiter restarted within %s; no failed request", restarted.Round(time.Millisecond))
}

func keepalivedFile(in instance, name string) string {
	return filepath.Join(in.dir, "keepalived", name)
}

// pidIn reads a pid file, 0 when absent (between a kill and a restart).
func pidIn(path string) int {
	pid, _ := proc.ReadPidFile(path)
	return pid
}

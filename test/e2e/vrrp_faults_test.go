package e2e

import (
	"path/filepath"
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
// exactly one outage: the frozen MASTER never gets to take the VIP back.
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
		if np, nc := keepalivedPIDs(t, before); np != parent && nc != child && proc.Alive(nc) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.waitOK(t, 200, 20*time.Second)
	ws := p.stop()
	if after := tp.active(poolID, vipAddr); after.node == before.node {
		t.Fatalf("the VIP is on %s, whose keepalived was frozen", before.node)
	}
	if len(ws) != 1 {
		t.Fatalf("want exactly one outage, got %d: %v", len(ws), ws)
	}
	t.Logf("frozen MASTER: one failure window of %s (%d failed requests); restarted as BACKUP", ws[0].length().Round(time.Millisecond), ws[0].failures)
}

package vrrp

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"lbaas/internal/haproxy"
	"lbaas/internal/netns"
	"lbaas/internal/proc"
)

func restartHAProxy(ctx context.Context, p *pair, v *vm) error {
	hm := haproxy.NewManager(haproxy.Options{Start: func(c *exec.Cmd) error { return netns.StartProcess(v.ns, c) }})
	_, err := hm.Apply(ctx, v.hap)
	return err
}

// TestStartsDespiteStalePidFilesAndAdoptsReloadsStops: after SIGKILL the pid
// files remain, one even names a live unrelated process; Apply must start
// keepalived anyway, a fresh Manager adopts it, a change reloads it, and Stop
// ends it.
func TestStartsDespiteStalePidFilesAndAdoptsReloadsStops(t *testing.T) {
	p := newPair(t, "st", DefaultAdvertInterval)
	p.apply(p.a)
	p.waitState(p.a, StateMaster, 10*time.Second)
	p.killKeepalived(p.a)
	paths := p.a.spec.Paths
	for _, f := range []string{paths.PidFile, paths.VRRPPidFile} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("pid file gone after SIGKILL (%v): the test would not test anything", err)
		}
	}
	sleeper := exec.Command("sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() })
	if err := os.WriteFile(paths.VRRPPidFile, []byte(strconv.Itoa(sleeper.Process.Pid)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := netns.DelAddress(p.a.ns, "vip0", vip); err != nil {
		t.Fatal(err)
	}

	r := p.apply(p.a)
	if r.Action != ActionStarted {
		t.Fatalf("apply after SIGKILL: %+v", r)
	}
	if sleeper.ProcessState != nil || !alive(sleeper.Process.Pid) {
		t.Fatal("the unrelated process named in a stale pid file was signalled")
	}
	p.waitState(p.a, StateMaster, 10*time.Second)

	fresh := NewManager(Options{})
	if pid, err := fresh.Adopt(paths); err != nil || pid != r.PID {
		t.Fatalf("fresh manager adopts %d, %v; want %d", pid, err, r.PID)
	}
	ctx := context.Background()
	if r2, err := fresh.Apply(ctx, p.a.spec); err != nil || r2.Action != ActionNone || r2.PID != r.PID {
		t.Fatalf("unchanged apply: %+v %v", r2, err)
	}
	changed := p.a.spec
	changed.Config.GARP.Repeat = 7
	if r2, err := fresh.Apply(ctx, changed); err != nil || r2.Action != ActionReloaded || r2.PID != r.PID {
		t.Fatalf("changed apply: %+v %v", r2, err)
	}
	// A reload keeps the state: nopreempt and the same priority.
	time.Sleep(500 * time.Millisecond)
	if st := p.status(p.a); st.State != StateMaster || !st.VIPPresent || st.PID != r.PID {
		t.Fatalf("after reload: %+v", st)
	}

	if err := fresh.Stop(ctx, paths); err != nil {
		t.Fatal(err)
	}
	st := p.status(p.a)
	if st.State != StateStopped || st.VIPPresent {
		t.Fatalf("after Stop: %+v", st)
	}
	if left := proc.Mentioning(paths.NotifyScript); len(left) > 0 {
		t.Fatalf("the notify script outlived Stop: pids %v", left)
	}
	if err := fresh.Stop(ctx, paths); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

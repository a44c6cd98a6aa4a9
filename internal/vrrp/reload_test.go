package vrrp

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"lbaas/internal/realtime"
)

// TestReloadingTheMasterKeepsTheVIP reloads the MASTER with a new peer and a
// new priority while a client sends requests: the VIP must stay where it is
// and no request may fail. With keepalived's own vrrp_rt_priority, under
// load, the reload got its VRRP process killed (RLIMIT_RTTIME) and the
// respawn dropped the VIP.
func TestReloadingTheMasterKeepsTheVIP(t *testing.T) {
	p := upPair(t, "rl", DefaultAdvertInterval)
	pr := p.startProbe(30 * time.Second)
	time.Sleep(300 * time.Millisecond)
	p.a.spec.Config.UnicastPeers = append(p.a.spec.Config.UnicastPeers, netip.MustParseAddr("20.1.1.250"))
	if r := p.apply(p.a); r.Action != ActionReloaded {
		t.Fatalf("A: %+v", r)
	}
	cpu0 := cpuTicks(p.status(p.a).VRRPPID)
	time.Sleep(time.Second)
	// No spinning after a reload: the process sleeps between adverts.
	if used := cpuTicks(p.status(p.a).VRRPPID) - cpu0; used > 20 {
		t.Errorf("A's VRRP process used %d clock ticks in the second after a reload", used)
	}
	p.a.spec.Config.Priority = 150
	if r := p.apply(p.a); r.Action != ActionReloaded {
		t.Fatalf("A: %+v", r)
	}
	time.Sleep(time.Second)
	g, failed := gap(pr.finish())
	logA, _ := os.ReadFile(p.a.spec.Paths.Log)
	t.Logf("longest gap between answers %v, %d failed", g, failed)
	if n := strings.Count(string(logA), "Entering MASTER STATE"); n != 1 {
		t.Errorf("A entered MASTER %d times:\n%s", n, logA)
	}
	// The VRRP process that reloaded is the one that started, still
	// realtime (a respawned child would have dropped the VIP).
	st := p.status(p.a)
	if pol, prio, err := realtime.Policy(st.VRRPPID); err != nil || pol != unix.SCHED_RR || prio != RealtimePriority {
		t.Errorf("A's VRRP process %d: policy %d priority %d (%v), want SCHED_RR %d", st.VRRPPID, pol, prio, err, RealtimePriority)
	}
	if strings.Contains(string(logA), "exited due to signal") {
		t.Errorf("A's VRRP process died:\n%s", logA)
	}
	if failed > 0 {
		t.Errorf("%d requests failed across the reloads", failed)
	}
}

// cpuTicks is the CPU time pid has used, in clock ticks (utime + stime).
func cpuTicks(pid int) int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	u, _ := strconv.Atoi(f[11])
	s, _ := strconv.Atoi(f[12])
	return u + s
}

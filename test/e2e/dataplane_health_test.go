package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"lbaas/internal/netns"
)

// Monitor timing used here: a probe every second, down after two misses.
const (
	monDelay   = 1
	monRetries = 2
	// detectionSlack covers what is not HAProxy's: the agent's observation
	// tick, its report, the API read, on a loaded 2-core machine.
	detectionSlack = 5 * time.Second
)

// detectionBound is how soon a dead member must show INACTIVE.
var detectionBound = time.Duration(monDelay*monRetries+monDelay)*time.Second + detectionSlack

// monitored builds the two-member load balancer with a fast monitor of
// the given type and waits until both members are ACTIVE. It returns the
// floating address and the members' ids, in backend order.
func monitored(t *testing.T, tp *topo, typ string) (string, []string) {
	t.Helper()
	p, _, fip := tp.lb("mon", map[string]any{}, map[string]any{})
	poolID := p["id"].(string)
	tp.monitor(poolID, map[string]any{"type": typ, "delay": monDelay, "timeout": 1, "max_retries": monRetries})
	var ids []string
	for _, b := range tp.backends {
		ids = append(ids, tp.memberID(poolID, b.Addr))
	}
	// Members show ACTIVE ("no health monitor") until the monitor runs:
	// wait for a probe's verdict on each.
	deadline := time.Now().Add(20 * time.Second)
	for _, id := range ids {
		for {
			m, err := tp.api.Get("/v2.0/lb/members/"+id, "member")
			desc, _ := m["status_description"].(string)
			if err == nil && m["status"] == "ACTIVE" && strings.Contains(desc, "passed") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("member %s: no passed health check within 20s; last %v (%v)", id, m["status"], desc)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// A server HAProxy has just (re)started is one failure from DOWN until
	// further probes pass; let its health counter fill so that the
	// measurement below sees max_retries at work.
	time.Sleep(monRetries * monDelay * time.Second)
	return fip, ids
}

// timeUntilInactive measures how long after cause starts the member
// shows INACTIVE through the API, failing beyond detectionBound. The
// clock starts before cause: stopping a server may itself take a while
// (it waits for open connections), and detection runs meanwhile.
func (tp *topo) timeUntilInactive(memberID string, cause func()) time.Duration {
	tp.t.Helper()
	start := time.Now()
	cause()
	tp.waitStatus("/v2.0/lb/members/"+memberID, "member", "INACTIVE", detectionBound-time.Since(start))
	took := time.Since(start)
	tp.t.Logf("member INACTIVE %s after the failure (bound %s)", took.Round(10*time.Millisecond), detectionBound)
	// max_retries probes a delay apart cannot all fail much sooner.
	if floor := time.Duration(monRetries-1)*monDelay*time.Second - 200*time.Millisecond; took < floor {
		tp.t.Errorf("member INACTIVE after %s, sooner than %d failed probes %ds apart allow: max_retries is not honoured", took, monRetries, monDelay)
	}
	return took
}

func TestStoppedMemberGoesInactiveAndTrafficAvoidsIt(t *testing.T) {
	tp := startTopo(t)
	fip, ids := monitored(t, tp, "HTTP")
	dead, live := tp.backends[0], tp.backends[1]
	tp.timeUntilInactive(ids[0], dead.Stop)
	for i := 0; i < 20; i++ {
		body, err := tp.get("http://" + fip + "/")
		if err != nil {
			t.Fatalf("request %d with one member down: %v", i, err)
		}
		if body != "backend "+live.Addr.String() {
			t.Fatalf("request %d reached %q, not the live member", i, body)
		}
	}
	tp.deadMemberStaysInactiveThroughAReload(ids[0])
	if err := dead.Start(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	tp.waitStatus("/v2.0/lb/members/"+ids[0], "member", "ACTIVE", detectionBound)
	t.Logf("member ACTIVE again %s after its server restarted", time.Since(start).Round(10*time.Millisecond))
}

// deadMemberStaysInactiveThroughAReload changes the pool's method, which
// reloads HAProxy on both VMs, and checks that the new workers do not take
// the dead member for alive until their own probes fail again.
func (tp *topo) deadMemberStaysInactiveThroughAReload(memberID string) {
	tp.t.Helper()
	m, err := tp.api.Get("/v2.0/lb/members/"+memberID, "member")
	if err != nil {
		tp.t.Fatal(err)
	}
	poolID := m["pool_id"].(string)
	before := tp.processes(poolID)
	if err := tp.api.Call("PUT", "/v2.0/lb/pools/"+poolID, map[string]any{"pool": map[string]any{"lb_method": "LEAST_CONNECTIONS"}}, nil); err != nil {
		tp.t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for reloaded := 0; reloaded < len(before); {
		if time.Now().After(deadline) {
			tp.t.Fatalf("HAProxy was not reloaded on both VMs within 20s: before %v, now %v", before, tp.processes(poolID))
		}
		time.Sleep(20 * time.Millisecond)
		reloaded = 0
		for node, p := range tp.processes(poolID) {
			if b, ok := before[node]; ok && p.master == b.master && fmt.Sprint(p.workers) != fmt.Sprint(b.workers) {
				reloaded++
			}
		}
	}
	// Fresh workers would call it UP for max_retries probes: watch longer.
	until := time.Now().Add(time.Duration(monRetries*monDelay)*time.Second + time.Second)
	for time.Now().Before(until) {
		m, err := tp.api.Get("/v2.0/lb/members/"+memberID, "member")
		if err == nil && m["status"] != "INACTIVE" {
			tp.t.Fatalf("dead member read %v (%v) after a reload", m["status"], m["status_description"])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestTCPMonitorSeesAStoppedMember(t *testing.T) {
	tp := startTopo(t)
	_, ids := monitored(t, tp, "TCP")
	tp.timeUntilInactive(ids[1], tp.backends[1].Stop)
	if err := tp.backends[1].Start(); err != nil {
		t.Fatal(err)
	}
	tp.waitStatus("/v2.0/lb/members/"+ids[1], "member", "ACTIVE", detectionBound)
}

func TestPingMonitorSeesAMembersNamespaceGoAway(t *testing.T) {
	tp := startTopo(t)
	_, ids := monitored(t, tp, "PING")
	b := tp.backends[0]
	// A PING monitor probes the host, not the service: a stopped server
	// on a live host stays ACTIVE.
	b.Stop()
	time.Sleep(time.Duration(monDelay*monRetries+monDelay) * time.Second)
	if m, _ := tp.api.Get("/v2.0/lb/members/"+ids[0], "member"); m["status"] != "ACTIVE" {
		t.Fatalf("PING monitor: a host whose HTTP server stopped still answers ICMP, yet the member is %v (%v)", m["status"], m["status_description"])
	}
	tp.timeUntilInactive(ids[0], func() {
		if err := netns.Delete(b.Namespace); err != nil {
			t.Fatal(err)
		}
	})
	if m, _ := tp.api.Get("/v2.0/lb/members/"+ids[1], "member"); m["status"] != "ACTIVE" {
		t.Fatalf("the other member must stay ACTIVE; it is %v (%v)", m["status"], m["status_description"])
	}
}

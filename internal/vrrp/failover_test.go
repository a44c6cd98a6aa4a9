package vrrp

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"lbaas/internal/netns"
)

// upPair starts A, waits for it to be MASTER, then B as BACKUP.
func upPair(t *testing.T, suffix string, advert time.Duration) *pair {
	p := newPair(t, suffix, advert)
	if r := p.apply(p.a); r.Action != ActionStarted {
		t.Fatalf("A: %+v", r)
	}
	p.waitState(p.a, StateMaster, 10*time.Second)
	if r := p.apply(p.b); r.Action != ActionStarted {
		t.Fatalf("B: %+v", r)
	}
	p.waitState(p.b, StateBackup, 10*time.Second)
	if from, err := p.get(time.Second); err != nil || from != "a" {
		t.Fatalf("client before failover: %q %v", from, err)
	}
	return p
}

// TestDeadActiveFailsOverAndReturningActiveDoesNotPreempt kills A's keepalived
// with SIGKILL and cuts A's port (a dead node), measures the gap a client
// sees, then brings A back: it must stay BACKUP with no second interruption.
// Run for the default advert interval and for 1 s to compare the gaps.
func TestDeadActiveFailsOverAndReturningActiveDoesNotPreempt(t *testing.T) {
	gaps := map[time.Duration]time.Duration{}
	for _, advert := range []time.Duration{DefaultAdvertInterval, time.Second} {
		t.Run(fmt.Sprint("advert=", advert), func(t *testing.T) {
			p := upPair(t, fmt.Sprint("d", advert.Milliseconds()), advert)
			pr := p.startProbe(30 * time.Second)
			time.Sleep(200 * time.Millisecond)
			// The port goes first, as in a node's death: a keepalived
			// killed while its port is up may still resign (its VRRP
			// child sends priority 0 when the parent dies), and B would
			// then take over after its skew alone whatever the interval.
			p.setPort(p.a, false)
			p.killKeepalived(p.a)
			p.waitState(p.b, StateMaster, 10*time.Second)
			pr.waitServedBy(t, "b", 20, 10*time.Second)
			g, failed := gap(pr.finish())
			gaps[advert] = g
			t.Logf("advert %v: dead-node failover gap %v (%d failed requests)", advert, g, failed)
			if g > 3*advert+2*time.Second {
				t.Errorf("gap %v too long for advert %v", g, advert)
			}

			// A reboots: its stale VIP is gone, its pid files are not.
			if st := p.status(p.a); st.State != StateStopped {
				t.Fatalf("A after SIGKILL: %+v, want STOPPED", st)
			}
			if err := netns.DelAddress(p.a.ns, "vip0", vip); err != nil {
				t.Fatal(err)
			}
			p.setPort(p.a, true)
			pr = p.startProbe(30 * time.Second)
			if r := p.apply(p.a); r.Action != ActionStarted {
				t.Fatalf("restart A: %+v", r)
			}
			p.waitState(p.a, StateBackup, 10*time.Second)
			time.Sleep(10*advert + time.Second)
			samples := pr.finish()
			if g, failed := gap(samples); failed > 0 {
				t.Errorf("returning A interrupted traffic: %d failed requests, gap %v", failed, g)
			}
			for _, s := range samples {
				if s.err == nil && s.from != "b" {
					t.Fatalf("request served by %q after A returned: A preempted", s.from)
				}
			}
			if st := p.status(p.a); st.State != StateBackup || st.VIPPresent {
				t.Errorf("A: %+v, want BACKUP without VIP", st)
			}
			if st := p.status(p.b); st.State != StateMaster || !st.VIPPresent {
				t.Errorf("B: %+v, want MASTER with VIP", st)
			}
		})
	}
	if f, s := gaps[DefaultAdvertInterval], gaps[time.Second]; f > 0 && s > 0 {
		t.Logf("failover gap: advert %v → %v, advert 1s → %v", DefaultAdvertInterval, f, s)
		if f >= s {
			t.Errorf("gap with %v adverts (%v) not shorter than with 1s (%v)", DefaultAdvertInterval, f, s)
		}
	}
}

func TestActiveGivesUpVIPWhenItsHAProxyDies(t *testing.T) {
	p := upPair(t, "hk", DefaultAdvertInterval)
	proc, err := p.hm.Adopt(context.Background(), p.a.hap.Paths)
	if err != nil {
		t.Fatal(err)
	}
	// The tracked command line is exactly the one HAProxy runs with.
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", proc.MasterPID))
	tp := p.a.spec.Config.TrackProcess
	if want := strings.Join(append([]string{tp.Path}, tp.Args...), "\x00"); !strings.HasPrefix(string(cmdline), want) {
		t.Fatalf("haproxy cmdline %q does not start with the tracked %q", cmdline, want)
	}
	pr := p.startProbe(30 * time.Second)
	time.Sleep(200 * time.Millisecond)
	killed := time.Now()
	if err := syscallKill(proc.MasterPID); err != nil { // started by this test
		t.Fatal(err)
	}
	p.waitState(p.b, StateMaster, 10*time.Second)
	t.Logf("B MASTER %v after SIGKILL of A's haproxy master", time.Since(killed))
	pr.waitServedBy(t, "b", 20, 10*time.Second)
	g, failed := gap(pr.finish())
	t.Logf("haproxy death: failover gap %v (%d failed requests)", g, failed)
	if g > 2*time.Second {
		t.Errorf("gap %v too long", g)
	}
	p.waitState(p.a, StateFault, 5*time.Second)

	// HAProxy comes back: A leaves FAULT but does not take the VIP back.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := restartHAProxy(ctx, p, p.a); err != nil {
		t.Fatal(err)
	}
	p.waitState(p.a, StateBackup, 10*time.Second)
	time.Sleep(500 * time.Millisecond)
	if st := p.status(p.b); st.State != StateMaster || !st.VIPPresent {
		t.Errorf("B: %+v, want MASTER with VIP", st)
	}
}

func TestActiveGivesUpVIPWhenVIPInterfaceIsDeleted(t *testing.T) {
	p := upPair(t, "if", DefaultAdvertInterval)
	pr := p.startProbe(30 * time.Second)
	time.Sleep(200 * time.Millisecond)
	if err := p.fab.Detach(p.a.ns, "vip0"); err != nil {
		t.Fatal(err)
	}
	p.waitState(p.b, StateMaster, 10*time.Second)
	pr.waitServedBy(t, "b", 20, 10*time.Second)
	g, failed := gap(pr.finish())
	t.Logf("vip0 deleted: failover gap %v (%d failed requests)", g, failed)
	if g > 2*time.Second {
		t.Errorf("gap %v too long", g)
	}
	p.waitState(p.a, StateFault, 5*time.Second)
}

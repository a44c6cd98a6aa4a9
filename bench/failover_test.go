package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"lbaas/internal/netns"
	"lbaas/internal/vrrp"
)

func needFailover(t *testing.T) {
	needRootAnd(t, "the failover benchmark", "haproxy", "keepalived", "wrk", "ip", "go")
}

func TestFailoverBenchQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("brings up two whole deployments")
	}
	needFailover(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	rep, err := RunFailover(ctx, FailoverOptions{Quick: true, Progress: testWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	md := rep.Markdown()
	t.Log("\n" + md)
	kinds := []string{KindShipped, KindAlternative, KindBaseline}
	if len(rep.Clusters) != len(kinds) {
		t.Fatalf("want the shipped cluster, one alternative (quick) and the baseline, got %+v", rep.Clusters)
	}
	for i, c := range rep.Clusters {
		if c.Kind != kinds[i] {
			t.Errorf("cluster %d: %s, want %s", i, c.Kind, kinds[i])
		}
	}
	if a := []time.Duration{rep.Clusters[0].Advert, rep.Clusters[1].Advert, rep.Clusters[2].Advert}; !slices.Equal(a,
		[]time.Duration{vrrp.DefaultAdvertInterval, 10 * time.Millisecond, time.Second}) {
		t.Errorf("advert intervals %v", a)
	}
	_, stress := exec.LookPath("stress-ng")
	for _, c := range rep.Clusters {
		if c.Err != "" {
			t.Errorf("advert %v: %s", c.Advert, c.Err)
		}
		want := map[string][]string{} // trigger -> loads
		switch c.Kind {
		case KindShipped:
			for _, name := range triggerOrder {
				want[name] = []string{LoadIdle, LoadSaturated}
			}
		case KindAlternative:
			want[TriggerNodeSilent] = []string{LoadIdle, LoadSaturated}
		case KindBaseline:
			for _, name := range triggerOrder {
				want[name] = []string{LoadIdle}
			}
		}
		got := 0
		for _, name := range triggerOrder {
			for _, load := range []string{LoadIdle, LoadSaturated} {
				tr := c.Trigger(name, load)
				if !slices.Contains(want[name], load) {
					if len(tr.Runs) > 0 {
						t.Errorf("advert %v (%s): %s %s ran", c.Advert, c.Kind, name, load)
					}
					continue
				}
				got++
				if len(tr.Runs) != 1 {
					t.Errorf("advert %v, %s, %s: %d runs, want 1", c.Advert, name, load, len(tr.Runs))
					continue
				}
				run := tr.Runs[0]
				if load == LoadSaturated {
					// Saturated, the probes themselves are starved: a run
					// may end without a closed window (recorded, not
					// asserted); without stress-ng it must say so.
					if (stress != nil && run.Err != errNoStressNG.Error()) || (run.Err == "" && !run.valid()) {
						t.Errorf("advert %v, %s, saturated: %+v", c.Advert, name, run)
					}
					continue
				}
				checkFailoverRun(t, fmt.Sprintf("advert %v, %s, %s", c.Advert, name, load), name, run)
			}
		}
		if got != len(c.Triggers) {
			t.Errorf("advert %v (%s): %d trigger results, want %d", c.Advert, c.Kind, len(c.Triggers), got)
		}
		sp := c.Spurious
		if (sp != nil) != (c.Kind != KindBaseline) {
			t.Errorf("advert %v (%s): spurious watch %+v", c.Advert, c.Kind, sp)
		} else if sp != nil && (sp.Polls == 0 || sp.Wrk.Requests == 0 || sp.Holder == "" || sp.Saturated != (stress == nil) ||
			(sp.Err != "" && stress == nil)) {
			t.Errorf("advert %v: spurious: %+v", c.Advert, *sp)
		}
	}
	for _, rs := range []RestartsResult{rep.Restarts, rep.RestartsSaturated} {
		if stress != nil && rs.Err == errNoStressNG.Error() {
			continue // the saturated restarts, without stress-ng
		}
		if rs.Err != "" || len(rs.Steps) != 4 {
			t.Errorf("restarts: %+v", rs)
		}
		for _, s := range rs.Steps {
			if s.Err != "" || s.Requests == 0 || s.Before == "" || s.After == "" {
				t.Errorf("restart %q: %+v", s.Name, s)
			}
		}
	}
	for _, want := range []string{"## Failover windows", "## Trade-off", "| 10ms |", "| 30ms (shipped) |", "data supports",
		"## Every run", "## Restarts without failover", "## Spurious failovers", "## Where the time goes", "## Against the goals",
		"Quick mode", "baseline: advert 1s", rep.KeepalivedVersion, TriggerNodeSilent + ", saturated"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if left, _ := netns.List(FailoverNSPrefix); len(left) > 0 {
		t.Errorf("namespaces left behind: %v", left)
	}
}

// TestFailoverBenchFull is the real benchmark, run on request only:
// LBAAS_BENCH_FULL=1 go test -run TestFailoverBenchFull -timeout 120m ./bench/
// It writes REPORT-failover.md here (or to LBAAS_BENCH_REPORT).
func TestFailoverBenchFull(t *testing.T) {
	if os.Getenv("LBAAS_BENCH_FULL") == "1" {
		needFailover(t)
	}
	fullBench(t, "REPORT-failover.md", 115*time.Minute, func(ctx context.Context) (fullReport, error) {
		return RunFailover(ctx, FailoverOptions{Progress: testWriter{t}})
	})
	if left, _ := netns.List(FailoverNSPrefix); len(left) > 0 {
		t.Errorf("namespaces left behind: %v", left)
	}
}

// checkFailoverRun checks one quick run: every trigger strikes the VM
// that serves, so some requests must fail and the service come back.
func checkFailoverRun(t *testing.T, what, trigger string, run FailoverRun) {
	t.Helper()
	// A switch no request noticed (no failure at all) is valid too.
	if run.Err != "" || run.From == "" || run.To == "" || !run.valid() || run.Requests <= run.Failed || run.Settled <= 0 {
		t.Errorf("%s: %+v", what, run)
	}
	if trigger != TriggerHAProxyAgent && !run.Moved() {
		// With the agent running, a rebuilt HAProxy may win the race and
		// keep the VIP; in every other case only the standby can serve.
		t.Errorf("%s: the VIP did not move (%s -> %s)", what, run.From, run.To)
	}
	if _, node := nodeDeath(trigger); node && run.PairWhole <= 0 {
		t.Errorf("%s: pair whole after node death not measured", what)
	}
}

func at(ms int) time.Time { return time.Unix(1000, 0).Add(time.Duration(ms) * time.Millisecond) }

func TestWindowRunsFromLastSuccessBeforeToFirstSuccessAfter(t *testing.T) {
	var s []probeSample
	add := func(startMs int, ok bool) {
		s = append(s, probeSample{start: at(startMs), end: at(startMs + 1), ok: ok})
	}
	add(0, true)
	add(5, true)
	add(10, false) // in flight when the trigger struck at 12
	add(15, false)
	add(20, false)
	add(25, true) // a lucky one in the middle: two runs of failures
	add(30, false)
	add(35, true)
	add(40, true)
	w := windowAfter(s, at(12), 5*time.Millisecond)
	if w.Gap != 30*time.Millisecond || w.FromTrigger != 23*time.Millisecond || !w.Closed {
		t.Errorf("gap %v from trigger %v closed %v, want 30ms 23ms true", w.Gap, w.FromTrigger, w.Closed)
	}
	if w.Failed != 4 || w.Runs != 2 || w.Requests != 7 {
		t.Errorf("failed %d runs %d requests %d, want 4 2 7", w.Failed, w.Runs, w.Requests)
	}

	open := windowAfter(s[:5], at(12), 5*time.Millisecond)
	if open.Closed || open.Gap != 0 {
		t.Errorf("a window without a success after it counts as closed: %+v", open)
	}
	none := windowAfter(s[:2], at(1), 0)
	if !none.Closed || none.Failed != 0 || none.Gap != 0 {
		t.Errorf("no failure yields a window: %+v", none)
	}
}

func TestStableNeedsOnlySuccessesSpanningTheTime(t *testing.T) {
	s := []probeSample{{start: at(0), ok: true}, {start: at(100), ok: false}, {start: at(110), ok: true}, {start: at(400), ok: true}}
	if !okSince(s, at(101), 290*time.Millisecond) {
		t.Error("290 ms of successes after the last failure not seen as stable")
	}
	if okSince(s, at(101), 300*time.Millisecond) {
		t.Error("stable for 300 ms claimed from 290 ms of samples")
	}
	if okSince(s, at(50), 10*time.Millisecond) {
		t.Error("a failure inside the span was ignored")
	}
}

func TestProtocolDelaysFollowTheAdvertInterval(t *testing.T) {
	v := vrrpTimesFor(50 * time.Millisecond)
	// Standby priority 253: skew = (256-253)/256 × 50 ms = 0.59 ms.
	if v.Skew < 580*time.Microsecond || v.Skew > 590*time.Microsecond || v.MasterDown != 150*time.Millisecond+v.Skew || v.Arbiter != 125*time.Millisecond {
		t.Errorf("50 ms advert: %+v", v)
	}
}

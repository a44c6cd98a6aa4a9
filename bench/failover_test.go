package bench

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"lbaas/internal/netns"
)

func needFailover(t *testing.T) {
	needRootAnd(t, "the failover benchmark", "haproxy", "keepalived", "wrk", "ip", "go")
}

func TestFailoverBenchQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("brings up two whole deployments")
	}
	needFailover(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	rep, err := RunFailover(ctx, FailoverOptions{Quick: true, Progress: testWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	md := rep.Markdown()
	t.Log("\n" + md)
	if len(rep.Clusters) != 2 || rep.Clusters[0].Baseline || !rep.Clusters[1].Baseline || rep.Clusters[1].Advert != time.Second {
		t.Fatalf("want the shipped cluster then the 1 s baseline, got %+v", rep.Clusters)
	}
	for _, c := range rep.Clusters {
		if c.Err != "" {
			t.Errorf("advert %v: %s", c.Advert, c.Err)
		}
		for _, name := range triggerOrder {
			tr := c.Trigger(name)
			if len(tr.Runs) != 1 {
				t.Errorf("advert %v, %s: %d runs, want 1", c.Advert, name, len(tr.Runs))
				continue
			}
			run := tr.Runs[0]
			// Every trigger strikes the VM that serves: some requests must
			// fail, and the service must come back.
			if run.Err != "" || run.From == "" || run.To == "" || run.Gap <= 0 || run.Failed == 0 || run.Requests <= run.Failed || run.Settled <= 0 {
				t.Errorf("advert %v, %s: %+v", c.Advert, name, run)
			}
			if name != TriggerHAProxyAgent && !run.Moved() {
				// With the agent running, a rebuilt HAProxy may win the
				// race and keep the VIP; in every other case only the
				// standby can serve.
				t.Errorf("advert %v, %s: the VIP did not move (%s -> %s)", c.Advert, name, run.From, run.To)
			}
		}
		if run := c.Trigger(TriggerNode).Runs; len(run) == 1 && run[0].PairWhole <= 0 {
			t.Errorf("advert %v: pair whole after node death not measured", c.Advert)
		}
	}
	rs := rep.Restarts
	if rs.Err != "" || len(rs.Steps) != 4 {
		t.Errorf("restarts: %+v", rs)
	}
	for _, s := range rs.Steps {
		if s.Err != "" || s.Requests == 0 || s.Before == "" || s.After == "" {
			t.Errorf("restart %q: %+v", s.Name, s)
		}
	}
	sp := rep.Spurious
	if sp.Err != "" || sp.Polls == 0 || sp.Wrk.Requests == 0 || sp.Holder == "" {
		t.Errorf("spurious: %+v", sp)
	}
	for _, want := range []string{"## Failover windows", "## Every run", "## Restarts without failover", "## Spurious failovers",
		"## Where the time goes", "## Against the goals", "Quick mode", "baseline: advert 1s", rep.KeepalivedVersion} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if left, _ := netns.List(FailoverNSPrefix); len(left) > 0 {
		t.Errorf("namespaces left behind: %v", left)
	}
}

// TestFailoverBenchFull is the real benchmark, run on request only:
// LBAAS_BENCH_FULL=1 go test -run TestFailoverBenchFull -timeout 60m ./bench/
// It writes REPORT-failover.md here (or to LBAAS_BENCH_REPORT).
func TestFailoverBenchFull(t *testing.T) {
	if os.Getenv("LBAAS_BENCH_FULL") == "1" {
		needFailover(t)
	}
	fullBench(t, "REPORT-failover.md", 55*time.Minute, func(ctx context.Context) (fullReport, error) {
		return RunFailover(ctx, FailoverOptions{Progress: testWriter{t}})
	})
	if left, _ := netns.List(FailoverNSPrefix); len(left) > 0 {
		t.Errorf("namespaces left behind: %v", left)
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
	// Standby priority 100: skew = (256-100)/256 × 50 ms = 30.47 ms.
	if v.Skew < 30*time.Millisecond || v.Skew > 31*time.Millisecond || v.MasterDown != 150*time.Millisecond+v.Skew || v.Arbiter != 185*time.Millisecond {
		t.Errorf("50 ms advert: %+v", v)
	}
}

package bench

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"lbaas/internal/netns"
)

func needDataplane(t *testing.T) {
	needRootAnd(t, "the data-plane benchmark", "haproxy", "wrk", "ip", "go")
}

func TestDataplaneBenchQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("brings up a whole deployment")
	}
	needDataplane(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	before, _ := netns.List(DataplaneNSPrefix)
	rep, err := RunDataplane(ctx, DataplaneOptions{Quick: true, Progress: testWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	md := rep.Markdown()
	t.Log("\n" + md)

	for _, name := range []string{TargetFloatingIP, TargetVIP, TargetHand, TargetHandThread1, TargetDirect} {
		x := rep.Throughput.Target(name)
		if len(x.Runs) != 1 || x.ReqPerSec() <= 0 || x.P50() <= 0 || x.P99() < x.P50() || x.Err != "" {
			t.Errorf("throughput %q: %+v", name, x)
		}
	}
	if rep.Throughput.Ratio(TargetVIP, TargetHand) <= 0 || rep.Throughput.Ratio(TargetVIP, TargetDirect) <= 0 {
		t.Error("throughput ratios missing")
	}

	if l := rep.L7; l.Err != "" || len(l.Stages) != len(l7Counts) {
		t.Errorf("L7: %+v", l)
	} else {
		for _, s := range l.Stages {
			// CPURequests > 0: the serving processes were found and the
			// same before and after the round.
			if len(s.Ours.Runs) != 1 || len(s.Hand.Runs) != 1 || s.Ratio() <= 0 || s.Ours.Errors() > 0 ||
				s.Ours.CPURequests == 0 || s.Hand.CPURequests == 0 {
				t.Errorf("L7 with %d policies: %+v", s.Policies, s)
			}
		}
	}

	if x := rep.TLS; x.Err != "" || len(x.Stages) != 2 {
		t.Errorf("TLS: %+v", x)
	} else {
		for _, s := range x.Stages {
			for _, h := range []HandshakeResult{s.Ours, s.Hand} {
				// Every name got its own certificate, and the serving
				// processes were measured.
				if h.Handshakes == 0 || h.WrongCert > 0 || h.CPU == 0 {
					t.Errorf("TLS with %d certificates, %s: %+v", s.Certificates, h.Name, h)
				}
			}
		}
	}

	if d := rep.Dashboard; d.Err != "" || len(d.NewLB) != 1 || len(d.Switch)+d.NoSwitch != 1 {
		t.Errorf("dashboard: %+v", d)
	}

	p := rep.Provisioning
	if p.Err != "" || len(p.Runs) != 3 || p.FirstServed.N != 3 || p.Active.N != 3 || p.FirstServed.P50 <= 0 || p.Active.P50 <= 0 {
		t.Errorf("provisioning: %+v", p)
	}
	for i, run := range p.Runs {
		if run.Cleanup <= 0 {
			t.Errorf("provisioning run %d: instances not removed after the VIP was deleted", i+1)
		}
	}
	g := rep.FullyPopulated
	if g.Err != "" || len(g.Runs) != 3 || g.FirstServed.N != 3 || g.Active.N != 3 || g.AgentLast.N != 3 {
		t.Errorf("fully populated creates: %+v", g)
	}
	for i, run := range g.Runs {
		if run.Cleanup <= 0 {
			t.Errorf("fully populated run %d: instances not removed after the cascade delete", i+1)
		}
	}

	c := rep.Changes
	if c.Err != "" || len(c.Changes) != 4 || c.Requests == 0 {
		t.Errorf("member changes: %+v", c)
	}
	for _, x := range c.Changes {
		// A removal's effect may be 0 (no request sent after the call
		// reached the member); the add must show a positive time.
		if !x.Effective || x.API <= 0 || x.Requests == 0 {
			t.Errorf("change %q: %+v", x.Name, x)
		}
	}
	if len(c.Changes) > 0 && c.Changes[0].Effect <= 0 {
		t.Errorf("adding a member showed no delay at all: %+v", c.Changes[0])
	}
	if len(c.Before) != 2 {
		t.Errorf("want the 2 instances' processes, got %v", c.Before)
	}

	f := rep.Footprint
	if f.Err != "" || f.Created != 4 || f.Instances != 8 || f.Processes < 16 || f.HAProxyPSS == 0 || f.HAProxyPerLB() == 0 ||
		f.MemAvailableBefore == 0 || f.ProjectedInstances(f.HAProxyPerLB()) == 0 {
		t.Errorf("footprint: %+v", f)
	}
	if f.TeardownTime <= 0 {
		t.Error("footprint: teardown not timed")
	}

	for _, want := range []string{"## Throughput", "## L7 policies", "## TLS handshakes and SNI", "## Provisioning", "## Fully populated create", "## Member changes under load", "## Footprint", "## Dashboard update latency", "## Against the aims",
		"load average at start / end", "Quick mode", "Extrapolation", rep.HAProxyVersion} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if left, _ := netns.List(DataplaneNSPrefix); len(left) > len(before) {
		t.Errorf("namespaces left behind: %v (before the run: %v)", left, before)
	}
}

// TestDataplaneBenchFull is the real benchmark, run on request only:
// LBAAS_BENCH_FULL=1 go test -run TestDataplaneBenchFull -timeout 30m ./bench/
// It writes REPORT-dataplane.md here (or to LBAAS_BENCH_REPORT).
func TestDataplaneBenchFull(t *testing.T) {
	if os.Getenv("LBAAS_BENCH_FULL") == "1" {
		needDataplane(t)
	}
	fullBench(t, "REPORT-dataplane.md", 25*time.Minute, func(ctx context.Context) (fullReport, error) {
		return RunDataplane(ctx, DataplaneOptions{Progress: testWriter{t}})
	})
}

func TestWrkSummaryIsParsed(t *testing.T) {
	out := `Running 8s test @ http://20.1.1.2/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.52ms    2.01ms  47.10ms   93.12%
    Req/Sec    12.34k     1.02k   14.00k    70.00%
  Latency Distribution
     50%  812.00us
     75%    1.50ms
     90%    3.10ms
     99%    1.20s
  196543 requests in 8.00s, 27.12MB read
  Socket errors: connect 1, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 4
Requests/sec:  24567.89
Transfer/sec:      3.39MB
`
	r, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	want := WrkResult{Requests: 196543, ReqPerSec: 24567.89, P50: 812 * time.Microsecond, P90: 3100 * time.Microsecond, P99: 1200 * time.Millisecond, Errors: 10}
	if r != want {
		t.Errorf("parseWrk = %+v, want %+v", r, want)
	}
	if _, err := parseWrk("unable to connect to 20.1.1.2:80 Connection refused\n"); err == nil {
		t.Error("output without a summary parsed without error")
	}
}

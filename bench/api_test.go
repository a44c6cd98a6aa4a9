package bench

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAPIBenchRunsAndReports(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two servers and two embedded etcds")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep, err := RunAPI(ctx, APIOptions{Quick: true, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Creates) != 2 {
		t.Fatalf("create levels = %d, want 2 (quick mode: 1 and 4 clients)", len(rep.Creates))
	}
	for _, c := range rep.Creates {
		for who, p := range map[string]Phase{"ours": c.Ours, "etcd": c.Baseline} {
			if p.Target != 200 || p.Done != p.Target || p.Errors != 0 {
				t.Errorf("%d clients, %s: done %d/%d, %d errors (%s)", c.Concurrency, who, p.Done, p.Target, p.Errors, p.FirstError)
			}
			if p.PerSec() <= 0 || p.Latency.P50 <= 0 || p.Latency.P99 < p.Latency.P50 || p.Latency.N != p.Done {
				t.Errorf("%d clients, %s: implausible numbers %+v", c.Concurrency, who, p)
			}
		}
		if c.Ratio() <= 0 {
			t.Errorf("%d clients: ratio %v", c.Concurrency, c.Ratio())
		}
	}
	wantItems := map[string]int{"all members": 200, "members of one pool": 20, "all pools (with member ids)": 10, "pool name lookup (CLI)": 1}
	if len(rep.Lists) != len(wantItems) {
		t.Fatalf("lists = %d, want %d", len(rep.Lists), len(wantItems))
	}
	for _, l := range rep.Lists {
		if want, ok := wantItems[l.Name]; !ok || l.Items != want {
			t.Errorf("list %q: %d objects, want %d", l.Name, l.Items, want)
		}
		if l.Errors != 0 || l.Ours.N == 0 || l.Baseline.N != l.Ours.N || l.Ours.P99 <= 0 || l.Baseline.P99 <= 0 {
			t.Errorf("list %q: implausible %+v", l.Name, l)
		}
		// The baseline must serve the same payload, or its latency is no floor:
		// ours ends with the encoder's newline, and map keys sort differently
		// from struct fields, which changes no length.
		if d := l.OursBytes - l.BaselineBytes; d < 0 || d > 1 {
			t.Errorf("list %q: ours %d bytes, baseline %d bytes", l.Name, l.OursBytes, l.BaselineBytes)
		}
	}
	md := rep.Markdown()
	for _, want := range []string{"## Creates", "## Lists after the load", "## Against the aims", "| CPUs (nproc) |", rep.Machine.GoVersion,
		ReproduceCommand, "all members", "pool name lookup", "quick mode"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	path := filepath.Join(t.TempDir(), "sub", "REPORT-api.md")
	if err := rep.WriteReport(path); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != md {
		t.Errorf("WriteReport wrote %d bytes (err %v), want the Markdown", len(b), err)
	}
}

// TestAPIBenchFull is the real benchmark, run on request only:
// LBAAS_BENCH_FULL=1 go test -run TestAPIBenchFull -timeout 30m ./bench/
// It writes REPORT-api.md here (or to LBAAS_BENCH_REPORT) and CPU profiles
// to LBAAS_BENCH_PROFILE when set.
func TestAPIBenchFull(t *testing.T) {
	fullBench(t, "REPORT-api.md", 25*time.Minute, func(ctx context.Context) (fullReport, error) {
		return RunAPI(ctx, APIOptions{ProfileDir: os.Getenv("LBAAS_BENCH_PROFILE"), Progress: testWriter{t}})
	})
}

// fullReport is what every benchmark returns.
type fullReport interface {
	WriteReport(path string) error
	Markdown() string
}

// fullBench runs a whole benchmark, only on request (LBAAS_BENCH_FULL=1),
// and writes its report here (or to LBAAS_BENCH_REPORT).
func fullBench(t *testing.T, report string, limit time.Duration, run func(context.Context) (fullReport, error)) {
	t.Helper()
	if os.Getenv("LBAAS_BENCH_FULL") != "1" {
		t.Skip("the full benchmarks run only with LBAAS_BENCH_FULL=1")
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	rep, err := run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := os.Getenv("LBAAS_BENCH_REPORT")
	if out == "" {
		out = report
	}
	if err := rep.WriteReport(out); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + rep.Markdown())
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func TestNearestRankPercentiles(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	l := summarize(ds)
	if l.N != 100 || l.P50 != 50*time.Millisecond || l.P99 != 99*time.Millisecond || l.Max != 100*time.Millisecond {
		t.Errorf("summarize(1..100 ms) = %+v", l)
	}
	if one := summarize([]time.Duration{7}); one.P50 != 7 || one.P99 != 7 {
		t.Errorf("summarize of one sample = %+v", one)
	}
	if summarize(nil).N != 0 {
		t.Error("summarize(nil) reported samples")
	}
}

func TestLoadClientRefusesNonLoopbackTargets(t *testing.T) {
	for _, addr := range []string{"10.0.0.1:80", "example.invalid:80", "[2001:db8::1]:80"} {
		if _, err := newClient(addr, "", 1); err == nil {
			t.Errorf("newClient(%q) accepted a non-loopback target", addr)
		}
	}
	if _, err := newClient("127.0.0.1:9", "", 1); err != nil {
		t.Errorf("newClient(loopback): %v", err)
	}
}

func TestRunLoopStopsAtTheTimeLimit(t *testing.T) {
	start := time.Now()
	p := runLoop(context.Background(), 1_000_000, 2, 200*time.Millisecond, func(ctx context.Context, _, _ int) error {
		select {
		case <-time.After(time.Millisecond):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("loop ran %v past a 200ms limit", took)
	}
	if !p.TimedOut || p.Done == 0 || p.Done >= p.Target || p.Errors != 0 {
		t.Errorf("phase = %+v, want a cut, error-free run", p)
	}
}

package bench

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOctaviaBenchRunsAndReports runs the Octavia v2 comparison in quick
// mode: it checks that the report is produced and well formed, never how
// fast either side is. It skips when the Octavia baseline cannot start.
func TestOctaviaBenchRunsAndReports(t *testing.T) {
	if testing.Short() {
		t.Skip("starts our server and the real Octavia API with MariaDB")
	}
	if err := octaviaReady(octaviaDir()); err != nil {
		t.Skipf("%v (run %s/start.sh once as root to install it)", err, octaviaDir())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	rep, err := RunOctavia(ctx, OctaviaOptions{Quick: true, Baseline: octaviaDir(), TempDir: t.TempDir(), Progress: testWriter{t}})
	if errors.Is(err, ErrOctaviaUnavailable) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Creates) != 2 {
		t.Fatalf("create levels = %d, want 2 (1 and 8 clients)", len(rep.Creates))
	}
	for _, c := range rep.Creates {
		for who, p := range map[string]Phase{"ours": c.Ours, "octavia": c.Baseline} {
			if p.Target != 10 || p.Done != p.Target || p.Errors != 0 || p.PerSec() <= 0 || p.Latency.N != p.Done {
				t.Errorf("%d clients, %s: %+v", c.Concurrency, who, p)
			}
		}
	}
	// 3 lists of load balancers, 1 get, 3 lists of members.
	want := map[string]int{
		"list load balancers, 5 present": 5, "list load balancers, 25 present": 25, "list load balancers, 50 present": 50,
		"get one load balancer": 1, "list members of a pool of 5": 5, "list members of a pool of 20": 20, "list members of a pool of 50": 50,
	}
	if len(rep.Lists) != len(want) {
		t.Fatalf("timed requests = %d, want %d", len(rep.Lists), len(want))
	}
	for _, l := range rep.Lists {
		n, ok := want[l.Name]
		if !ok {
			t.Errorf("unexpected section %q", l.Name)
			continue
		}
		for who, s := range map[string]SideTiming{"ours": l.Ours, "octavia": l.Octavia} {
			if s.Errors != 0 || s.Latency.N == 0 || s.Latency.P99 < s.Latency.P50 || s.Items != n || s.Bytes == 0 {
				t.Errorf("%s, %s: %+v (want %d objects)", l.Name, who, s, n)
			}
		}
	}
	if b := rep.Batch; b.Ours.Latency.N != 2 || b.Octavia.Latency.N != 2 || b.Ours.Errors+b.Octavia.Errors != 0 || b.FirstOurs <= 0 || b.FirstOctavia <= 0 {
		t.Errorf("batch = %+v", b)
	}
	md := rep.Markdown()
	for _, s := range []string{"## The two sides", "How each side was populated", "## Load balancer creates", "## Lists and get",
		"## Batch replace of 20 members", "## Against the aim", "| CPUs (nproc) |", "quick mode", "pool of 50 members", rep.Machine.GoVersion} {
		if !strings.Contains(md, s) {
			t.Errorf("report lacks %q:\n%s", s, md)
		}
	}
	path := filepath.Join(t.TempDir(), "REPORT-octavia.md")
	if err := rep.WriteReport(path); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != md {
		t.Errorf("WriteReport wrote %d bytes (err %v)", len(b), err)
	}
}

// TestOctaviaBenchFull is the real comparison, run on request only:
// LBAAS_BENCH_FULL=1 go test -run TestOctaviaBenchFull -timeout 30m ./bench/
func TestOctaviaBenchFull(t *testing.T) {
	fullBench(t, "REPORT-octavia.md", 25*time.Minute, func(ctx context.Context) (fullReport, error) {
		return RunOctavia(ctx, OctaviaOptions{Baseline: octaviaDir(), Progress: testWriter{t}})
	})
}

// octaviaDir is the baseline's directory: LBAAS_OCTAVIA_BASELINE or the
// default.
func octaviaDir() string {
	if d := os.Getenv("LBAAS_OCTAVIA_BASELINE"); d != "" {
		return d
	}
	return DefaultOctaviaBaseline
}

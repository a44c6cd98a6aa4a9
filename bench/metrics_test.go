package bench

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMetricsBenchRunsAndReports runs the quick benchmark: every stage has
// a scrape that named every load balancer, and the baseline's pass.
func TestMetricsBenchRunsAndReports(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep, err := RunMetrics(ctx, MetricsOptions{Quick: true, Progress: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Stages) != 2 {
		t.Fatalf("stages %+v", rep.Stages)
	}
	for _, s := range rep.Stages {
		// One info series per load balancer at least, and every run timed.
		if s.Series < s.LoadBalancers || len(s.Scrape) != rep.Runs || len(s.StatsPass) != rep.Runs || s.Scrape.Median() <= 0 {
			t.Errorf("stage %+v", s)
		}
	}
	md := rep.Markdown()
	for _, want := range []string{"| 10 |", "| 100 |", "stats pass / scrape"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}

// TestMetricsBenchFull writes bench/REPORT-metrics.md (LBAAS_BENCH_FULL=1).
func TestMetricsBenchFull(t *testing.T) {
	if os.Getenv("LBAAS_BENCH_FULL") == "" {
		t.Skip("set LBAAS_BENCH_FULL=1 for the full metrics benchmark")
	}
	rep, err := RunMetrics(context.Background(), MetricsOptions{Progress: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteReport("REPORT-metrics.md"); err != nil {
		t.Fatal(err)
	}
}

package bench

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lbaas/internal/keystonetest"
)

// TestIdentityBenchRunsAndReports runs the identity benchmark in quick
// mode: it checks that every row and the steady load ran and that the
// report is well formed, never how fast anything is. Without Keystone's
// packages the Keystone rows must be reported as skipped.
func TestIdentityBenchRunsAndReports(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four servers and a real Keystone")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep, err := RunIdentity(ctx, IdentityOptions{Quick: true, TempDir: t.TempDir(), Progress: testWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	haveKeystone := keystonetest.Available() == nil
	names := []string{AuthNone, AuthTokensFile, AuthIdentity, AuthKeystoneWarm, AuthKeystoneCold}
	if len(rep.Rows) != len(names) {
		t.Fatalf("rows = %d, want %d", len(rep.Rows), len(names))
	}
	for i, row := range rep.Rows {
		if row.Name != names[i] {
			t.Errorf("row %d is %q, want %q", i, row.Name, names[i])
		}
		if row.Keystone && !haveKeystone {
			if row.Skipped == "" {
				t.Errorf("%s: ran without Keystone", row.Name)
			}
			continue
		}
		want := 200
		if row.Name == AuthKeystoneCold {
			want = 20
		}
		p := row.Phase
		if row.Skipped != "" || p.Target != want || p.Done != want || p.Errors != 0 || p.Latency.N != want || p.Latency.P99 < p.Latency.P50 || p.PerSec() <= 0 {
			t.Errorf("%s: %+v (skipped %q)", row.Name, p, row.Skipped)
		}
		// Every caller is an admin: every answer is the same list.
		if row.Items != 5 || row.Bytes != rep.Rows[0].Bytes {
			t.Errorf("%s: %d networks in %d bytes, want 5 in %d", row.Name, row.Items, row.Bytes, rep.Rows[0].Bytes)
		}
	}
	if haveKeystone {
		warm, cold := rep.Rows[3], rep.Rows[4]
		if warm.KeystoneCalls != 0 {
			t.Errorf("warm row called Keystone %d times", warm.KeystoneCalls)
		}
		// Every cold request asks Keystone (a service token renewal may
		// add one).
		if cold.KeystoneCalls < 20 || cold.KeystoneCalls > 21 {
			t.Errorf("cold row called Keystone %d times for 20 requests", cold.KeystoneCalls)
		}
		s := rep.Steady
		if s == nil {
			t.Fatal("no steady load")
		}
		// 1 s of ramp and 3 s of window at 1000/s.
		if s.Target != 4000 || s.Sent != s.Target || s.Done+s.Errors+s.Cut != s.Sent || s.Done == 0 || s.Tokens != 10 {
			t.Errorf("steady load: %+v", s.Paced)
		}
		// Each token is validated once (the run is shorter than the TTL):
		// calls cannot exceed the tokens.
		if s.Calls < 1 || s.Calls > uint64(s.Tokens) || s.Hits+s.Misses != uint64(s.Done+s.Errors+s.Cut) {
			t.Errorf("steady load: %d calls, %d hits, %d misses for %d tokens and %d requests", s.Calls, s.Hits, s.Misses, s.Tokens, s.Sent)
		}
		if s.RampPart.Seconds != 1 || s.Window.Seconds < 3 || s.RampPart.Calls+s.Window.Calls != s.Calls ||
			s.RampPart.Latency.N+s.Window.Latency.N != s.Done || len(s.Seconds) != s.RampPart.Seconds+s.Window.Seconds {
			t.Errorf("steady load's parts: %d seconds, ramp %+v, window %+v", len(s.Seconds), s.RampPart, s.Window)
		}
		c := rep.ColdStart
		if c == nil {
			t.Fatal("no cold start")
		}
		if c.Target != 3000 || c.Sent != c.Target || c.Done+c.Errors+c.Cut != c.Sent || c.Calls < 1 || c.Tokens != 10 ||
			c.Cold.Latency.N+c.After.Latency.N != c.Done || c.ColdSeconds < 1 {
			t.Errorf("cold start: %+v, %d calls, cold %d s %+v, after %+v", c.Paced, c.Calls, c.ColdSeconds, c.Cold, c.After)
		}
		if a := rep.KeystoneAlone; a == nil || a.Phase.Done != 20 || a.Phase.Errors != 0 || a.Bytes == 0 {
			t.Errorf("Keystone alone: %+v", a)
		}
	} else if rep.Steady != nil || rep.ColdStart != nil || rep.KeystoneSkipped == "" {
		t.Errorf("without Keystone: steady %v, cold start %v, skipped %q", rep.Steady, rep.ColdStart, rep.KeystoneSkipped)
	}
	md := rep.Markdown()
	wants := []string{"## Request overhead of token validation", "## Keystone calls under steady load", "## Against the aims",
		"## What the numbers say", "| CPUs (nproc) |", rep.Machine.GoVersion, "quick mode", "bench identity", AuthKeystoneCold}
	if haveKeystone {
		wants = append(wants, "## Cold start: 10 new tokens at once", "measured window", "Keystone alone")
	} else {
		wants = append(wants, "skipped")
	}
	for _, want := range wants {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	path := filepath.Join(t.TempDir(), "REPORT-identity.md")
	if err := rep.WriteReport(path); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != md {
		t.Errorf("WriteReport wrote %d bytes (err %v)", len(b), err)
	}
	t.Log("\n" + md)
}

// TestIdentityBenchFull is the real benchmark, run on request only:
// LBAAS_BENCH_FULL=1 go test -run TestIdentityBenchFull -timeout 30m ./bench/
func TestIdentityBenchFull(t *testing.T) {
	fullBench(t, "REPORT-identity.md", 20*time.Minute, func(ctx context.Context) (fullReport, error) {
		return RunIdentity(ctx, IdentityOptions{Progress: testWriter{t}})
	})
}

func TestPacedKeepsItsScheduleAndBound(t *testing.T) {
	start := time.Now()
	p := paced(context.Background(), 200, 500*time.Millisecond, time.Second, 4, func(ctx context.Context, _ int) error {
		select {
		case <-time.After(time.Millisecond):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	took := time.Since(start)
	if p.Target != 100 || p.Sent != 100 || p.Done != 100 || p.Errors != 0 || p.Latency.N != 100 || p.Stopped {
		t.Errorf("paced = %+v", p)
	}
	// Open loop: the last request is due at 495 ms, so the run cannot end
	// much sooner, and the drain bound keeps it from running long.
	if took < 490*time.Millisecond || took > 10*time.Second {
		t.Errorf("paced took %v", took)
	}
	// A stuck server: the drain bound ends the run.
	start = time.Now()
	p = paced(context.Background(), 100, 100*time.Millisecond, 200*time.Millisecond, 2, func(ctx context.Context, _ int) error {
		<-ctx.Done()
		return ctx.Err()
	})
	if took := time.Since(start); took > 5*time.Second || !p.Stopped || p.Done != 0 {
		t.Errorf("stuck: %+v after %v", p, took)
	}
}

package bench

import (
	"fmt"
	"strings"
	"time"
)

// Markdown renders the Octavia v2 comparison: machine, how each side was
// populated, one table per measure with the ratio, and the aim.
func (r *OctaviaReport) Markdown() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("# Octavia v2 API benchmark: ours beside the real Octavia API")
	w("")
	mode := ""
	if r.Quick {
		mode = " (quick mode: a smoke run, not the benchmark)"
	}
	w("Ran %s, took %v%s.", r.Machine.Date.Format("2006-01-02 15:04 MST"), r.Elapsed.Round(time.Second), mode)
	w("")
	w("Reproduce: `sudo ./lbaas.sh bench octavia` (runs `lbaas bench octavia`, which writes `bench/REPORT-octavia.md`).")
	w("")
	b.WriteString(r.Machine.table("our data directory on"))
	w("")
	w("## The two sides")
	w("")
	w("- **Ours**: `lbaas server` started in-process on a fresh data directory with its embedded etcd (fsync on")
	w("  every commit), the Octavia v2 API on a loopback port, authentication on (admin token). No agents run,")
	w("  so nothing is deployed; the API and its store are measured.")
	w("- **Octavia**: the real API, Debian `octavia-api` 11 under gunicorn with %d sync workers, the noop provider", r.Workers)
	w("  and network driver, MariaDB on a unix socket (default durability), `auth_strategy = noauth` (every request")
	w("  admin; ours checks a token, Octavia does not). Its database is emptied and the API started by the")
	w("  baseline's `start.sh` at the beginning of the run and stopped at the end. The noop provider never")
	w("  completes a change, so after each write that a child needs, the baseline's `activate.sh` marks")
	w("  everything ACTIVE by SQL, untimed (our API does not refuse children of a pending load balancer).")
	w("- Same client code on both sides: plain `net/http`, keep-alive, the same JSON bodies (only the VIP subnet")
	w("  id differs: a real subnet on ours, any id on Octavia's noop driver), an `X-Project-Id` header on both;")
	w("  timings include reading the whole answer. Everything runs on loopback, on the same %d CPUs, which", r.Machine.NumCPU)
	w("  other work on this machine shares (see the load average): ratios, measured in the same run, are what")
	w("  carries over.")
	w("- Ratio = Octavia time / our time (or our rate / Octavia's rate): how many times faster ours is. Aim ≥ %d×.", AimOctaviaRatio)
	w("")
	w("How each side was populated:")
	w("")
	w("| objects | ours | Octavia |")
	w("|---|---|---|")
	w("| load balancers (all counts) | `POST /v2/lbaas/loadbalancers` through the API: untimed fills with 8 clients plus the timed create levels | the same |")
	w("| pools | `POST /v2/lbaas/pools` through the API | the same, each followed by `activate.sh` |")
	for _, p := range r.Populated {
		w("| %s | %s | %s |", p.What, p.Ours, p.Octavia)
	}
	for _, n := range r.Notes {
		w("- %s", n)
	}
	w("")
	w("## Load balancer creates: `POST /v2/lbaas/loadbalancers`")
	w("")
	w("%d creates per side and level (bounded in time), on top of the load balancers already present; our", r.CreatesPerLevel)
	w("side first, then Octavia's.")
	w("")
	w("| clients | ours creates/s | Octavia creates/s | ratio | ours p50 | ours p99 | Octavia p50 | Octavia p99 | done ours / Octavia | errors |")
	w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	var notes []string
	for _, c := range r.Creates {
		w("| %d | %.0f | %.1f | %s | %s | %s | %s | %s | %d / %d of %d | %d / %d |", c.Concurrency, c.Ours.PerSec(), c.Baseline.PerSec(),
			fmtX(ratio(c.Ours.PerSec(), c.Baseline.PerSec())), ms(c.Ours.Latency.P50), ms(c.Ours.Latency.P99),
			ms(c.Baseline.Latency.P50), ms(c.Baseline.Latency.P99), c.Ours.Done, c.Baseline.Done, c.Ours.Target, c.Ours.Errors, c.Baseline.Errors)
		notes = append(notes, phaseNotes(fmt.Sprintf("ours, %d clients", c.Concurrency), c.Ours)...)
		notes = append(notes, phaseNotes(fmt.Sprintf("Octavia, %d clients", c.Concurrency), c.Baseline)...)
	}
	for _, n := range notes {
		w("- %s", n)
	}
	w("")
	w("## Lists and get")
	w("")
	w("One keep-alive client per side; one untimed request each (which also checks the object count), then")
	w("requests alternate ours/Octavia until the repeat count or the section's time limit. A side whose")
	w("request times out is not asked again.")
	w("")
	w("| request | objects | n ours / Octavia | ours p50 | ours p99 | Octavia p50 | Octavia p99 | p50 ratio | p99 ratio | objects in answer ours / Octavia | bytes ours / Octavia |")
	w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, l := range r.Lists {
		w("| %s `%s` | %d | %d / %d | %s | %s | %s | %s | %s | %s | %s / %s | %d / %d |", l.Name, l.Request, l.Items, l.Ours.Latency.N, l.Octavia.Latency.N,
			ms(l.Ours.Latency.P50), ms(l.Ours.Latency.P99), octMs(l.Octavia), octP99(l.Octavia), pairRatio(l, true), pairRatio(l, false),
			items(l.Ours), items(l.Octavia), l.Ours.Bytes, l.Octavia.Bytes)
	}
	for _, l := range r.Lists {
		for who, s := range map[string]SideTiming{"ours": l.Ours, "Octavia": l.Octavia} {
			if s.Errors > 0 {
				w("- %s, %s: %d errors, first: %s", l.Name, who, s.Errors, s.Error)
			}
			if s.TimedOut && s.Errors == 0 {
				w("- %s, %s: stopped at the section's time limit after %d timed requests", l.Name, who, s.Latency.N)
			}
		}
	}
	w("")
	w("## Batch replace of %d members: `PUT /v2/lbaas/pools/{id}/members`", r.Batch.Size)
	w("")
	w("A pool of its own on each side: one batch puts %d members into it (first), then each timed batch", r.Batch.Size)
	w("replaces all %d by %d others (every member deleted, every new one created), alternating two sets.", r.Batch.Size, r.Batch.Size)
	w("Time to the answer (Octavia answers 202 once its database holds the change; so does ours).")
	w("")
	w("| | runs | first (empty pool) | replace p50 | replace max | errors |")
	w("|---|---:|---:|---:|---:|---:|")
	w("| ours | %d | %s | %s | %s | %d |", r.Batch.Ours.Latency.N, ms(r.Batch.FirstOurs), ms(r.Batch.Ours.Latency.P50), ms(r.Batch.Ours.Latency.Max), r.Batch.Ours.Errors)
	w("| Octavia | %d | %s | %s | %s | %d |", r.Batch.Octavia.Latency.N, ms(r.Batch.FirstOctavia), ms(r.Batch.Octavia.Latency.P50), ms(r.Batch.Octavia.Latency.Max), r.Batch.Octavia.Errors)
	w("| ratio | | %s | %s | %s | |", fmtX(ratio(float64(r.Batch.FirstOctavia), float64(r.Batch.FirstOurs))),
		fmtX(ratio(float64(r.Batch.Octavia.Latency.P50), float64(r.Batch.Ours.Latency.P50))),
		fmtX(ratio(float64(r.Batch.Octavia.Latency.Max), float64(r.Batch.Ours.Latency.Max))))
	for who, s := range map[string]SideTiming{"ours": r.Batch.Ours, "Octavia": r.Batch.Octavia} {
		if s.Errors > 0 {
			w("- %s: first error: %s", who, s.Error)
		}
	}
	w("")
	w("## Against the aim (ours ≥ %d× Octavia)", AimOctaviaRatio)
	w("")
	for _, c := range r.Creates {
		x := ratio(c.Ours.PerSec(), c.Baseline.PerSec())
		w("- LB creates, %d clients: %s: **%s**", c.Concurrency, fmtX(x), metOrMissed(x >= AimOctaviaRatio))
	}
	for _, l := range r.Lists {
		if l.Octavia.Latency.N == 0 && l.Octavia.TimedOut {
			w("- %s: Octavia gave no answer within the request limit; ours p50 %s: **met**", l.Name, ms(l.Ours.Latency.P50))
			continue
		}
		if pairRatio(l, true) == "not comparable" {
			w("- %s: not comparable (the lists held %d and %d objects)", l.Name, l.Ours.Items, l.Octavia.Items)
			continue
		}
		x := l.P50Ratio()
		w("- %s: p50 %s, p99 %s: **%s**", l.Name, fmtX(x), fmtX(l.P99Ratio()), metOrMissed(x >= AimOctaviaRatio))
	}
	x := ratio(float64(r.Batch.Octavia.Latency.P50), float64(r.Batch.Ours.Latency.P50))
	w("- batch replace of %d members: %s: **%s**", r.Batch.Size, fmtX(x), metOrMissed(x >= AimOctaviaRatio))
	return b.String()
}

// WriteReport writes Markdown to path, creating its directory.
func (r *OctaviaReport) WriteReport(path string) error {
	return writeMarkdown(path, r.Markdown())
}

func fmtX(x float64) string {
	switch {
	case x == 0:
		return "n/a"
	case x >= 100:
		return fmt.Sprintf("%.0f×", x)
	default:
		return fmt.Sprintf("%.1f×", x)
	}
}

func octMs(s SideTiming) string {
	if s.Latency.N == 0 && s.TimedOut {
		return "no answer"
	}
	return ms(s.Latency.P50)
}

func octP99(s SideTiming) string {
	if s.Latency.N == 0 && s.TimedOut {
		return "no answer"
	}
	return ms(s.Latency.P99)
}

func pairRatio(l PairResult, p50 bool) string {
	if l.Octavia.Latency.N == 0 && l.Octavia.TimedOut {
		return "> limit"
	}
	if l.Ours.Latency.N > 0 && l.Octavia.Latency.N > 0 && l.Ours.Items != l.Octavia.Items {
		// A side whose fill failed answers a shorter list: no comparison.
		return "not comparable"
	}
	if p50 {
		return fmtX(l.P50Ratio())
	}
	return fmtX(l.P99Ratio())
}

func items(s SideTiming) string {
	if s.Latency.N == 0 && s.Items == 0 {
		return "-"
	}
	return fmt.Sprint(s.Items)
}

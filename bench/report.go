package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Markdown renders the report: machine facts, how to reproduce, one table
// per section with the baseline and the ratio, and the aims.
func (r *APIReport) Markdown() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	total := r.Pools * r.MembersPerPool
	w("# API benchmark: member creates and lists")
	w("")
	mode := ""
	if r.Quick {
		mode = " (quick mode: a smoke run, not the benchmark)"
	}
	w("%d members in %d pools (%d per pool)%s. Ran %s, took %v.", total, r.Pools, r.MembersPerPool, mode,
		r.Machine.Date.Format("2006-01-02 15:04 MST"), r.Elapsed.Round(time.Second))
	w("")
	w("Reproduce: `%s` (runs `lbaas bench api`, which writes `bench/REPORT-api.md`).", ReproduceCommand)
	w("")
	b.WriteString(r.Machine.table("data directories on"))
	w("")
	w("## Creates: `POST /v2.0/lb/members`")
	w("")
	w("Each concurrency level starts a fresh server (embedded etcd, fsync on every commit) and creates all %d members", total)
	w("with that many keep-alive clients. Baseline: the same number of writes on a fresh embedded etcd through")
	w("the etcd client, one transaction per member guarding and writing the object and its address:port key,")
	w("at the same concurrency: the durable-store floor without HTTP, validation and the cache.")
	w("Ratio = ours / baseline creates/s (1.00 = as fast as the floor).")
	w("")
	w("| clients | ours creates/s | etcd creates/s | ratio | ours p50 | ours p99 | etcd p50 | etcd p99 | done | errors |")
	w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	var notes []string
	for _, c := range r.Creates {
		w("| %d | %.0f | %.0f | %s | %s | %s | %s | %s | %d/%d | %d |", c.Concurrency, c.Ours.PerSec(), c.Baseline.PerSec(), fmtRatio(c.Ratio()),
			ms(c.Ours.Latency.P50), ms(c.Ours.Latency.P99), ms(c.Baseline.Latency.P50), ms(c.Baseline.Latency.P99),
			c.Ours.Done, c.Ours.Target, c.Ours.Errors)
		notes = append(notes, phaseNotes(fmt.Sprintf("ours, %d clients", c.Concurrency), c.Ours)...)
		notes = append(notes, phaseNotes(fmt.Sprintf("etcd, %d clients", c.Concurrency), c.Baseline)...)
	}
	for _, n := range notes {
		w("- %s", n)
	}
	w("")
	w("## Lists after the load")
	w("")
	w("One client, keep-alive, on the server of the last create level; time includes reading the whole body.")
	w("Baseline: a plain `net/http` handler that marshals typed copies of the same objects on every request (the")
	w("floor of HTTP + `encoding/json` for that payload). Requests alternate ours/baseline so both see the same")
	w("load. Ratio = ours / baseline latency (1.00 = as fast as the floor).")
	w("")
	w("| request | objects | n | ours p50 | ours p99 | ours max | base p50 | base p99 | base max | p50 ratio | p99 ratio | bytes ours/base |")
	w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, l := range r.Lists {
		w("| %s `%s` | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s | %d/%d |", l.Name, l.Request, l.Items, l.Ours.N,
			ms(l.Ours.P50), ms(l.Ours.P99), ms(l.Ours.Max), ms(l.Baseline.P50), ms(l.Baseline.P99), ms(l.Baseline.Max),
			fmtRatio(l.P50Ratio()), fmtRatio(l.P99Ratio()), l.OursBytes, l.BaselineBytes)
	}
	for _, l := range r.Lists {
		if l.TimedOut {
			w("- %s: stopped at the time limit after %d requests", l.Name, l.Ours.N)
		}
		if l.Errors > 0 {
			w("- %s: %d errors, first: %s", l.Name, l.Errors, l.FirstError)
		}
	}
	w("")
	w("## Against the aims")
	w("")
	if n := len(r.Creates); n > 0 {
		best := r.Creates[n-1]
		w("- creates: %.0f/s with %d clients; aim thousands/s (>= %d/s): **%s**", best.Ours.PerSec(), best.Concurrency, AimCreatesPerSec,
			metOrMissed(best.Ours.PerSec() >= AimCreatesPerSec && best.Ours.Done == best.Ours.Target))
	}
	for _, l := range r.Lists {
		w("- %s: p99 %s; aim < %s: **%s**", l.Name, ms(l.Ours.P99), ms(AimListP99), metOrMissed(l.Ours.N > 0 && l.Ours.P99 < AimListP99))
	}
	return b.String()
}

// WriteReport writes Markdown to path, creating its directory.
func (r *APIReport) WriteReport(path string) error {
	return writeMarkdown(path, r.Markdown())
}

func phaseNotes(who string, p Phase) []string {
	var out []string
	if p.TimedOut {
		out = append(out, fmt.Sprintf("%s: stopped at the time limit after %d of %d (%v)", who, p.Done, p.Target, p.Elapsed.Round(time.Second)))
	}
	if p.Errors > 0 {
		out = append(out, fmt.Sprintf("%s: %d errors, first: %s", who, p.Errors, p.FirstError))
	}
	return out
}

// writeMarkdown writes a report to path, creating its directory.
func writeMarkdown(path, md string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(md), 0o644)
}

func ms(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
}

// micros formats a small duration in microseconds ("-" when zero).
func micros(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", float64(d)/float64(time.Microsecond))
}

func fmtRatio(x float64) string {
	if x == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", x)
}

func metOrMissed(ok bool) string {
	if ok {
		return "met"
	}
	return "missed"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

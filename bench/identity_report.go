package bench

import (
	"fmt"
	"strings"
	"time"

	"lbaas/internal/api/keystone"
)

// Markdown renders the identity benchmark: machine and Keystone facts, the
// overhead of each way of authenticating as ratios to no authentication,
// the steady load's calls to Keystone, the aims and what it all says.
func (r *IdentityReport) Markdown() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("# Identity benchmark: what token validation costs")
	w("")
	mode := ""
	if r.Quick {
		mode = " (quick mode: a smoke run, not the benchmark)"
	}
	w("The same cheap authenticated request, `GET %s` listing %d networks, timed with every way our server", IdentityRequest, r.Networks)
	w("authenticates beside the same request without authentication; then a steady load of many Keystone tokens")
	w("through a Keystone-backed server, and the cold start of one. Ran %s, took %v%s.", r.Machine.Date.Format("2006-01-02 15:04 MST"), r.Elapsed.Round(time.Second), mode)
	w("")
	w("Reproduce: `./lbaas.sh bench identity` (runs `lbaas bench identity`, which writes `bench/REPORT-identity.md`).")
	w("")
	b.WriteString(r.Machine.table("data directories on"))
	if r.KeystoneSkipped != "" {
		w("| Keystone | not run: %s |", r.KeystoneSkipped)
	} else {
		w("| Keystone | Debian python3-keystone %s under gunicorn (1 worker, 8 threads), SQLite in WAL mode, fernet tokens, on loopback (`internal/keystonetest`) |", orDash(r.KeystoneVersion))
		w("| Keystone start-up | %v (users and projects included) |", r.KeystoneStart.Round(100*time.Millisecond))
		w("| Keystone password logins | %d in %v, 4 at a time (%.1f/s), untimed |", r.TokensIssued, r.TokenIssue.Round(100*time.Millisecond),
			ratio(float64(r.TokensIssued), r.TokenIssue.Seconds()))
	}
	w("")
	r.overhead(w)
	r.steady(w)
	r.coldStart(w)
	r.aims(w)
	w("## What the numbers say")
	w("")
	w("%s", r.interpretation())
	return b.String()
}

// rowKey is the letter of row i in the issue's list: (a) to (e).
func rowKey(i int) string { return fmt.Sprintf("(%c)", 'a'+i) }

func (r *IdentityReport) overhead(w func(string, ...any)) {
	w("## Request overhead of token validation")
	w("")
	w("Each row's server is `lbaas server` started in-process on a fresh data directory (embedded etcd) holding %d", r.Networks)
	w("networks. Same request and client code in every row: %d keep-alive `net/http` clients, closed loop (each sends", r.Concurrency)
	w("its next request when its last is answered), the whole answer read. After an untimed warm-up each, rows (a) to (d)")
	w("are timed in %d rounds, one row after the other in each round, so that a change in the machine's load falls on all", r.Rounds)
	w("of them alike; (e) and Keystone alone likewise. The caller is an admin in every row, so every answer is the same")
	w("list (see bytes). The Keystone rows' server runs `--auth keystone`: a token goes to the tokens file first, then to")
	w("the validator, which asks Keystone (`GET /v3/auth/tokens` with the service user's token) only on a cache miss.")
	w("Ratios are to row (a): latency ratio above 1 = slower, req/s ratio below 1 = slower.")
	w("")
	w("| | authentication | n | req/s | p50 | p99 | max | p50 added | req/s vs (a) | p50 vs (a) | p99 vs (a) | Keystone calls | bytes | errors |")
	w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	var base AuthRow
	if len(r.Rows) > 0 {
		base = r.Rows[0]
	}
	var notes []string
	for i, row := range r.Rows {
		if row.Skipped != "" {
			w("| %s | %s | skipped | | | | | | | | | | | |", rowKey(i), row.Name)
			continue
		}
		calls := "-"
		if row.Keystone {
			calls = fmt.Sprintf("%d", row.KeystoneCalls)
		}
		added := "-"
		if i > 0 {
			added = signedDelta(row.Phase.Latency.P50 - base.Phase.Latency.P50)
		}
		w("| %s | %s | %d | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %d | %d |", rowKey(i), row.Name, row.Phase.Latency.N, row.Phase.PerSec(),
			ms(row.Phase.Latency.P50), ms(row.Phase.Latency.P99), ms(row.Phase.Latency.Max), added,
			fmtRatio(row.RateRatio(base)), fmtRatio(row.P50Ratio(base)), fmtRatio(row.P99Ratio(base)), calls, row.Bytes, row.Phase.Errors)
		notes = append(notes, phaseNotes(rowKey(i)+" "+row.Name, row.Phase)...)
	}
	if a := r.KeystoneAlone; a != nil {
		w("| ref. | %s | %d | %.0f | %s | %s | %s | - | %s | %s | %s | - | %d | %d |", a.Name, a.Phase.Latency.N, a.Phase.PerSec(),
			ms(a.Phase.Latency.P50), ms(a.Phase.Latency.P99), ms(a.Phase.Latency.Max),
			fmtRatio(a.RateRatio(base)), fmtRatio(a.P50Ratio(base)), fmtRatio(a.P99Ratio(base)), a.Bytes, a.Phase.Errors)
		notes = append(notes, phaseNotes("ref. "+a.Name, a.Phase)...)
	}
	w("")
	for i, row := range r.Rows {
		if row.Skipped != "" {
			w("- %s %s: skipped, %s", rowKey(i), row.Name, row.Skipped)
		} else {
			w("- %s %s: %s.", rowKey(i), row.Name, row.How)
		}
	}
	if a := r.KeystoneAlone; a != nil {
		w("- ref. %s: %s.", a.Name, a.How)
	}
	for _, n := range notes {
		w("- %s", n)
	}
	w("")
}

func (r *IdentityReport) steady(w func(string, ...any)) {
	w("## Keystone calls under steady load")
	w("")
	s := r.Steady
	if s == nil {
		w("Not run: %s.", orDash(r.KeystoneSkipped))
		w("")
		return
	}
	w("%d requests/s paced open-loop (each sent at its scheduled time whatever the answers; at most %d in flight, on as", s.Rate, s.MaxInFlight)
	w("many connections) to the warm row's server (`--auth keystone`, default cache TTL %v), round-robin over the tokens", s.CacheTTL)
	w("in use: %d distinct Keystone tokens of %d users (admin role), none validated before, coming into use one after", s.Tokens, s.Users)
	w("the other over the first %v (the ramp). A cache entry lasts the TTL from its token's validation, so in the measured", s.Ramp)
	w("window after the ramp the entries expire one by one and each is validated again, as in a server that has run for a")
	w("while: the window is the steady state. Latency runs from each request's scheduled send to its answer, so a send")
	w("held back counts. Calls, hits and misses are the validator's counters (`Validator.Stats()`); a miss is a request")
	w("that waited for Keystone (the misses of one token share its one call).")
	w("")
	w("| steady load | ramp: tokens coming into use | **measured window** |")
	w("|---|---:|---:|")
	r.partRows(w, []SteadyPart{s.RampPart, s.Window}, 1)
	w("")
	w("Whole run: %d of %d scheduled requests sent, %d answered OK in %v (**%.0f req/s achieved** of %d asked), %d errors%s, %d cut by the run's bound.",
		s.Sent, s.Target, s.Done, s.Elapsed.Round(time.Millisecond), s.PerSec(), s.Rate, s.Errors, firstErrNote(s.FirstError), s.Cut)
	if s.Window.Seconds > 0 {
		var calls []string
		for _, sec := range s.Seconds[len(s.Seconds)-s.Window.Seconds:] {
			calls = append(calls, fmt.Sprint(sec.Calls))
		}
		w("Calls to Keystone in each second of the window: %s. With this TTL each token in use is validated once per %v:", strings.Join(calls, ", "), s.CacheTTL)
		w("%d tokens make %.2f calls/s whatever the request rate.", s.Tokens, float64(s.Tokens)/s.CacheTTL.Seconds())
	}
	w("")
}

// partRows writes the rows of a table whose columns are parts of a load;
// errors says whether to include the error row (1) or not (0).
func (r *IdentityReport) partRows(w func(string, ...any), parts []SteadyPart, errors int) {
	row := func(label string, f func(SteadyPart) string) {
		cells := make([]string, len(parts))
		for i, p := range parts {
			cells[i] = "-"
			if p.Seconds > 0 {
				cells[i] = f(p)
			}
		}
		w("| %s | %s |", label, strings.Join(cells, " | "))
	}
	row("duration", func(p SteadyPart) string { return fmt.Sprintf("%.1f s", p.Duration.Seconds()) })
	row("requests answered OK", func(p SteadyPart) string { return fmt.Sprint(p.Latency.N) })
	if errors > 0 {
		row("errors", func(p SteadyPart) string { return fmt.Sprint(p.Errors) })
	}
	row("**calls to Keystone**", func(p SteadyPart) string { return fmt.Sprintf("**%d** (%.2f/s)", p.Calls, p.CallRate()) })
	row("cache hits / misses", func(p SteadyPart) string { return fmt.Sprintf("%d / %d", p.Hits, p.Misses) })
	row("**cache hit rate**", func(p SteadyPart) string {
		if p.Hits+p.Misses == 0 {
			return "-"
		}
		return fmt.Sprintf("**%.3f%%**", 100*p.HitRate())
	})
	row("latency p50", func(p SteadyPart) string { return ms(p.Latency.P50) })
	row("latency p99", func(p SteadyPart) string { return ms(p.Latency.P99) })
	row("latency max", func(p SteadyPart) string { return ms(p.Latency.Max) })
	row(fmt.Sprintf("sends held back (> %v late)", lateAfter), func(p SteadyPart) string { return fmt.Sprint(p.Late) })
}

func (r *IdentityReport) coldStart(w func(string, ...any)) {
	c := r.ColdStart
	if c == nil {
		return
	}
	w("## Cold start: %d new tokens at once", c.Tokens)
	w("")
	w("The same load and tokens, all of them from the first second, to a fresh `--auth keystone` server whose cache is")
	w("empty: what a server restarted under load meets. Every token must be validated before its requests are")
	w("answered. The *cold* part runs up to the last second with a cache miss or an error; *after* is the rest.")
	w("")
	w("| cold start | whole run | cold | after |")
	w("|---|---:|---:|---:|")
	r.partRows(w, []SteadyPart{c.part(0, len(c.marks)), c.Cold, c.After}, 1)
	w("")
	w("%d of %d scheduled requests sent, %d answered OK in %v (%.0f req/s), %d errors%s, %d cut by the run's bound (%v + 30 s to drain).",
		c.Sent, c.Target, c.Done, c.Elapsed.Round(time.Millisecond), c.PerSec(), c.Errors, firstErrNote(c.FirstError), c.Cut, c.Duration)
	w("")
	w("Second by second (what the requests scheduled in that second did; counters as they grew in it):")
	w("")
	w("| second | answered | errors | p50 | p99 | Keystone calls | cache misses |")
	w("|---:|---:|---:|---:|---:|---:|---:|")
	quiet := 0
	for i, sec := range c.Seconds {
		if sec.Latency.N+sec.Errors == 0 && sec.Calls+sec.Misses+sec.Hits == 0 {
			quiet++
			continue
		}
		w("| %d | %d | %d | %s | %s | %d | %d |", i+1, sec.Latency.N, sec.Errors, ms(sec.Latency.P50), ms(sec.Latency.P99), sec.Calls, sec.Misses)
	}
	w("")
	if quiet > 0 {
		w("(%d seconds in which nothing was scheduled, answered or counted are left out.)", quiet)
		w("")
	}
}

func (r *IdentityReport) aims(w func(string, ...any)) {
	w("## Against the aims")
	w("")
	s := r.Steady
	if s == nil {
		w("- cache hit rate and steady rate: not measured (%s)", orDash(r.KeystoneSkipped))
		w("")
		return
	}
	win := s.Window
	if win.Seconds == 0 {
		w("- no measured window after the ramp: the run ended first")
		w("")
		return
	}
	w("- cache hit rate under steady load (the measured window): %.3f%%; aim > %.0f%%: **%s**", 100*win.HitRate(), 100*AimIdentityHitRate,
		metOrMissed(win.HitRate() > AimIdentityHitRate))
	w("- calls to Keystone under steady load: %.2f/s (%d in %.0f s) at %d requests/s over %d tokens", win.CallRate(), win.Calls, win.Duration.Seconds(), s.Rate, s.Tokens)
	if s.Reached() {
		w("- steady rate: %.0f req/s answered of %d asked, %d of the window's %d sends held back: **reached**", s.PerSec(), s.Rate, win.Late, win.Latency.N+win.Errors)
	} else {
		w("- steady rate: %.0f req/s answered of %d asked (%d of the window's sends held back, %d errors): **not reached on this machine**",
			s.PerSec(), s.Rate, win.Late, win.Errors)
	}
	if c := r.ColdStart; c != nil {
		if c.Recovered() {
			w("- cold start (%d new tokens at once): caught up after %d s", c.Tokens, c.ColdSeconds)
		} else {
			w("- cold start (%d new tokens at once): **did not catch up within the run** (%d of %d requests answered, %d errors, %d calls to Keystone)",
				c.Tokens, c.Done, c.Target, c.Errors, c.Calls)
		}
	}
	w("")
}

// interpretation is the paragraph that reads the numbers.
func (r *IdentityReport) interpretation() string {
	find := func(name string) (AuthRow, bool) {
		for _, row := range r.Rows {
			if row.Name == name && row.Skipped == "" && row.Phase.Latency.N > 0 {
				return row, true
			}
		}
		return AuthRow{}, false
	}
	base, ok := find(AuthNone)
	if !ok {
		return "The baseline row did not run; nothing to compare."
	}
	var parts []string
	var warm []string
	worst := 0.0
	for _, k := range []struct{ name, what string }{
		{AuthTokensFile, "the tokens file's token"},
		{AuthIdentity, "a built-in identity token"},
		{AuthKeystoneWarm, "a Keystone token in the validator's cache"},
	} {
		if row, ok := find(k.name); ok {
			warm = append(warm, fmt.Sprintf("%s %s (p50 %s×, req/s %s×)", k.what,
				signedDelta(row.Phase.Latency.P50-base.Phase.Latency.P50), fmtRatio(row.P50Ratio(base)), fmtRatio(row.RateRatio(base))))
			worst = max(worst, row.P50Ratio(base))
		}
	}
	if len(warm) > 0 {
		t := fmt.Sprintf("Against the unauthenticated request's median of %s at %d clients, a token that is already known changes the median by: %s. ",
			ms(base.Phase.Latency.P50), r.Concurrency, strings.Join(warm, "; "))
		switch {
		case worst <= 1.25:
			t += "Those validations are a SHA-256 and a lookup in memory (the tokens file's map, the store's cache, the validator's cache): " +
				"a known token costs next to nothing, whichever service issued it."
		default:
			t += "Those validations are a SHA-256 and a lookup in memory (the tokens file's map, the store's cache, the validator's cache), " +
				"a small cost in absolute terms, though visible beside a request this cheap."
		}
		parts = append(parts, t)
	}
	if row, ok := find(AuthKeystoneCold); ok {
		perReq := ratio(float64(row.KeystoneCalls), float64(row.Phase.Done+row.Phase.Errors))
		t := fmt.Sprintf("A token that must be asked of Keystone is another matter: with a cache that never holds (%.2f calls to Keystone per request) "+
			"the median is %s, %s× the baseline, its p99 %s, and %d clients get %.0f requests/s.",
			perReq, ms(row.Phase.Latency.P50), fmtRatio(row.P50Ratio(base)), ms(row.Phase.Latency.P99), r.Concurrency, row.Phase.PerSec())
		if a := r.KeystoneAlone; a != nil && a.Phase.Latency.N > 0 {
			d := row.Phase.Latency.P50 - a.Phase.Latency.P50
			adds := fmt.Sprintf("our server adds %s to each", ms(d))
			if d <= a.Phase.Latency.P50/20 {
				adds = fmt.Sprintf("our server adds nothing measurable (the medians differ by %s, within the noise of rounds that alternate)", signedDelta(d))
			}
			t += fmt.Sprintf(" That time is Keystone's: the same validations sent straight to it take %s median (%.0f/s), so %s.",
				ms(a.Phase.Latency.P50), a.Phase.PerSec(), adds)
		}
		parts = append(parts, t)
	}
	if s := r.Steady; s != nil && s.Window.Seconds > 0 {
		win := s.Window
		t := fmt.Sprintf("Under the steady load (%d requests/s over %d tokens, the window after the ramp) the validator called Keystone %d times in %.0f s, %.2f/s, "+
			"and its cache answered %.3f%% of the requests, which %s the aim of over 99%%; p99 %s.",
			s.Rate, s.Tokens, win.Calls, win.Duration.Seconds(), win.CallRate(), 100*win.HitRate(),
			map[bool]string{true: "meets", false: "misses"}[win.HitRate() > AimIdentityHitRate], ms(win.Latency.P99))
		t += fmt.Sprintf(" Each token costs one call per TTL, %.2f/s for %d tokens, whatever the request rate: Keystone's load follows the number of tokens in use, not the traffic; "+
			"a token in use is revalidated ahead of its cache time's end, so no request waits at a renewal.", float64(s.Tokens)/s.CacheTTL.Seconds(), s.Tokens)
		parts = append(parts, t)
	}
	if c := r.ColdStart; c != nil {
		if c.Recovered() {
			parts = append(parts, fmt.Sprintf("When all %d tokens are new at once (a restart under load), the first %d s are spent waiting for their first validations, "+
				"%d calls to Keystone for %d tokens, at most %d in flight so that each is one Keystone can answer in time (p99 %s, %d errors); then the server is back to cache hits: "+
				"%d of %d requests answered.", c.Tokens, c.ColdSeconds, c.Calls, c.Tokens, keystone.DefaultMaxConcurrent, ms(c.Cold.Latency.P99), c.Cold.Errors, c.Done, c.Target))
		} else {
			parts = append(parts, fmt.Sprintf("When all %d tokens are new at once (a restart under load) the server does not catch up: Keystone validates about %.0f tokens/s here, "+
				"so %d validations asked at once cannot all be answered within the validator's timeout (%v); those that time out are answered 503, are not cached, and are "+
				"asked again by the token's next request while Keystone is still working through the abandoned ones. %d calls to Keystone, %d of %d requests answered, "+
				"%d errors, a cache hit rate of %.2f%%.",
				c.Tokens, r.keystoneRate(), c.Tokens, keystone.DefaultTimeout, c.Calls, c.Done, c.Target, c.Errors, 100*c.HitRate()))
		}
	}
	if r.KeystoneSkipped != "" {
		parts = append(parts, "Keystone was not available, so the Keystone rows and loads were not measured ("+r.KeystoneSkipped+").")
	}
	if r.Quick {
		parts = append(parts, "This is a quick run: too few requests for the numbers to mean much.")
	}
	return strings.Join(parts, " ")
}

// keystoneRate is how many validations per second Keystone answered when
// asked directly (0 if not measured).
func (r *IdentityReport) keystoneRate() float64 {
	if a := r.KeystoneAlone; a != nil {
		return a.Phase.PerSec()
	}
	return 0
}

// WriteReport writes Markdown to path, creating its directory.
func (r *IdentityReport) WriteReport(path string) error {
	return writeMarkdown(path, r.Markdown())
}

// signedDelta is a latency difference, in µs below a millisecond.
func signedDelta(d time.Duration) string {
	if d > -time.Millisecond && d < time.Millisecond {
		if d == 0 {
			return "0"
		}
		return fmt.Sprintf("%+d µs", d.Microseconds())
	}
	return signedMs(d)
}

func firstErrNote(e string) string {
	if e == "" {
		return ""
	}
	return "; first: " + e
}

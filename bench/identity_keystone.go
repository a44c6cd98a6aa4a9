package bench

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"lbaas/internal/api/keystone"
	"lbaas/internal/server"
)

// KeystoneLoad is a paced load through a Keystone-backed server, with the
// validator's counters second by second.
type KeystoneLoad struct {
	Paced
	Tokens, Users, MaxInFlight int
	CacheTTL                   time.Duration
	// Hits, Misses and Calls are the validator's counters over the run
	// (Calls includes the service token's renewals, if any). A miss is a
	// request that waited for Keystone; the misses of one token while
	// its validation is under way share that one call.
	Hits, Misses, Calls uint64
	// Seconds are the run second by second: the counters' growth in that
	// second and what the requests scheduled in it did.
	Seconds []SteadySecond

	first counters
	marks []counters // at the end of each second
}

// SteadySecond is one second of a Keystone load.
type SteadySecond struct {
	Hits, Misses, Calls uint64
	pacedPart
}

// SteadyPart is a stretch of a Keystone load.
type SteadyPart struct {
	// Seconds are the counters' marks it spans; Duration is its length
	// (the last stretch ends with the run, maybe within a second).
	Seconds             int
	Duration            time.Duration
	Hits, Misses, Calls uint64
	pacedPart
}

// HitRate is the share of validations the cache answered.
func (s SteadyPart) HitRate() float64 {
	return ratio(float64(s.Hits), float64(s.Hits+s.Misses))
}

// CallRate is the calls to Keystone per second of the stretch.
func (s SteadyPart) CallRate() float64 { return ratio(float64(s.Calls), s.Duration.Seconds()) }

// OnTime says whether the stretch was carried at the rate asked: no
// errors, and at most 1 % of its sends held back.
func (s SteadyPart) OnTime() bool { return s.Errors == 0 && s.Late*100 <= max(s.Latency.N, 1) }

// HitRate is the share of validations the cache answered over the run.
func (l KeystoneLoad) HitRate() float64 {
	return ratio(float64(l.Hits), float64(l.Hits+l.Misses))
}

// CallRate is the calls to Keystone per second of the run.
func (l KeystoneLoad) CallRate() float64 { return ratio(float64(l.Calls), l.Elapsed.Seconds()) }

// part is seconds [from, to) of the run; to == len(Seconds) takes in
// whatever was scheduled after the last mark.
func (l KeystoneLoad) part(from, to int) SteadyPart {
	at := func(sec int) counters {
		if sec == 0 {
			return l.first
		}
		return l.marks[sec-1]
	}
	a, b := at(from), at(to)
	end := time.Duration(to) * time.Second
	dur := end - time.Duration(from)*time.Second
	if to == len(l.marks) {
		end = time.Duration(1 << 62)
		dur = max(l.Elapsed-time.Duration(from)*time.Second, 0)
	}
	return SteadyPart{Seconds: to - from, Duration: dur, Hits: b.hits - a.hits, Misses: b.misses - a.misses, Calls: b.calls - a.calls,
		pacedPart: l.between(time.Duration(from)*time.Second, end)}
}

// SteadyResult is the steady load: Tokens come into use one after the
// other over Ramp, then the Window is measured.
type SteadyResult struct {
	KeystoneLoad
	Ramp             time.Duration
	RampPart, Window SteadyPart
}

// ColdStartResult is the cold start: every token new at once on a fresh
// server. ColdSeconds runs up to the last second with a cache miss; After
// is the rest (nothing if the misses never stopped).
type ColdStartResult struct {
	KeystoneLoad
	ColdSeconds int
	Cold, After SteadyPart
}

// Recovered says whether the server caught up within the run: every
// request answered, and a stretch after the misses carried on time.
func (c ColdStartResult) Recovered() bool {
	return c.Done == c.Target && c.Errors == 0 && c.After.Latency.N > 0
}

// Reached says whether the steady window was carried at the rate asked:
// the whole load answered, and the window's sends on time.
func (s SteadyResult) Reached() bool {
	return s.Done == s.Target && s.PerSec() >= 0.98*float64(s.Rate) && s.Window.Latency.N > 0 && s.Window.OnTime()
}

type counters struct{ hits, misses, calls uint64 }

// keystoneLoad sends rate requests/s for d to run, request i with the
// token tokenOf(i) names, and samples the validator's counters every
// second.
func (b *idBench) keystoneLoad(ctx context.Context, run *server.Running, toks []string, d time.Duration, tokenOf func(i int) int) KeystoneLoad {
	o := b.o
	base, err := newClient(run.Addr, "", o.MaxInFlight)
	if err != nil {
		return KeystoneLoad{Paced: Paced{FirstError: err.Error()}}
	}
	defer base.close()
	clients := make([]*apiClient, len(toks))
	for i, t := range toks {
		cl := *base
		cl.token = t
		clients[i] = &cl
	}
	read := func() counters {
		h, m, c := run.KeystoneStats()
		return counters{h, m, c}
	}
	l := KeystoneLoad{Tokens: len(toks), Users: o.Users, MaxInFlight: o.MaxInFlight, CacheTTL: keystone.DefaultCacheTTL, first: read()}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				l.marks = append(l.marks, read())
			case <-stop:
				return
			}
		}
	}()
	// The drain bound: a request waits at most the client's timeout.
	l.Paced = paced(ctx, o.Rate, d, 30*time.Second, o.MaxInFlight, func(ctx context.Context, i int) error {
		var buf bytes.Buffer
		code, err := clients[tokenOf(i)].do(ctx, http.MethodGet, IdentityRequest, nil, &buf)
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("GET %s: %d %s", IdentityRequest, code, strings.TrimSpace(buf.String()))
		}
		return nil
	})
	close(stop)
	wg.Wait()
	last := read()
	if n := len(l.marks); n == 0 || l.marks[n-1] != last {
		l.marks = append(l.marks, last) // the partial last second
	}
	l.Hits, l.Misses, l.Calls = last.hits-l.first.hits, last.misses-l.first.misses, last.calls-l.first.calls
	for i := range l.marks {
		p := l.part(i, i+1)
		if i == len(l.marks)-1 {
			p = l.part(i, len(l.marks))
		}
		l.Seconds = append(l.Seconds, SteadySecond{Hits: p.Hits, Misses: p.Misses, Calls: p.Calls, pacedPart: p.pacedPart})
	}
	return l
}

// steady runs the steady load: token k comes into use at k*Ramp/Tokens,
// and requests go round-robin over the tokens in use; the window after
// the ramp is what the aims are measured on.
func (b *idBench) steady(ctx context.Context, run *server.Running, toks []string) (*SteadyResult, error) {
	o := b.o
	o.progress("steady load: %d req/s, %d Keystone tokens of %d users coming into use over %v, then %v measured",
		o.Rate, len(toks), o.Users, o.Ramp, o.SteadyDuration)
	n := len(toks)
	l := b.keystoneLoad(ctx, run, toks, o.Ramp+o.SteadyDuration, func(i int) int {
		at := time.Duration(i) * time.Second / time.Duration(o.Rate)
		inUse := min(n, 1+int(int64(at)*int64(n)/int64(o.Ramp)))
		return i % inUse
	})
	if l.Sent == 0 {
		return nil, fmt.Errorf("bench: steady load: nothing sent (%s)", l.FirstError)
	}
	rampSec := int(o.Ramp / time.Second)
	st := &SteadyResult{KeystoneLoad: l, Ramp: o.Ramp}
	if rampSec < len(l.marks) {
		st.RampPart, st.Window = l.part(0, rampSec), l.part(rampSec, len(l.marks))
	} else {
		st.RampPart = l.part(0, len(l.marks))
	}
	w := st.Window
	o.progress("steady load: %d/%d answered in %v (%.0f/s), %d errors, %d cut; window: %d calls (%.2f/s), hit rate %.3f%%, p50 %s, p99 %s, %d late",
		l.Done, l.Target, l.Elapsed.Round(time.Millisecond), l.PerSec(), l.Errors, l.Cut, w.Calls, w.CallRate(), 100*w.HitRate(),
		ms(w.Latency.P50), ms(w.Latency.P99), w.Late)
	return st, nil
}

// coldStart sends the same load with every token from the first second
// to a server whose cache is empty.
func (b *idBench) coldStart(ctx context.Context, run *server.Running, toks []string) (*ColdStartResult, error) {
	o := b.o
	o.progress("cold start: %d req/s over %d Keystone tokens, all new to a fresh server, for %v", o.Rate, len(toks), o.SteadyDuration)
	l := b.keystoneLoad(ctx, run, toks, o.SteadyDuration, func(i int) int { return i % len(toks) })
	if l.Sent == 0 {
		return nil, fmt.Errorf("bench: cold start: nothing sent (%s)", l.FirstError)
	}
	c := &ColdStartResult{KeystoneLoad: l}
	for i, s := range l.Seconds {
		if s.Misses > 0 || s.Errors > 0 {
			c.ColdSeconds = i + 1
		}
	}
	c.Cold, c.After = l.part(0, c.ColdSeconds), l.part(c.ColdSeconds, len(l.marks))
	o.progress("cold start: %d/%d answered in %v (%.0f/s), %d errors, %d cut; %d calls (%.2f/s), hit rate %.2f%%; misses until second %d of %d",
		l.Done, l.Target, l.Elapsed.Round(time.Millisecond), l.PerSec(), l.Errors, l.Cut, l.Calls, l.CallRate(), 100*l.HitRate(), c.ColdSeconds, len(l.Seconds))
	return c, nil
}

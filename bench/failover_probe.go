package bench

import (
	"context"
	"slices"
	"sync"
	"time"
)

// probeSample is one request of a probe set.
type probeSample struct {
	start, end time.Time
	ok         bool
}

// probeSet samples one URL from a client namespace: a request every
// every/n, each on a new connection and in its own goroutine, so a request
// lost in a failover (which waits out its timeout) never delays the ones
// after it. With sequential loops instead, every loop that sent into the
// dead moment stalled for the whole timeout and the measured gap could not
// be shorter than the timeout.
type probeSet struct {
	mu      sync.Mutex
	samples []probeSample
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// probeMaxTime bounds every probe set whatever its caller does.
const probeMaxTime = 5 * time.Minute

func startProbes(ctx context.Context, ns, url string, n int, every, timeout time.Duration) *probeSet {
	ctx, cancel := context.WithTimeout(ctx, probeMaxTime)
	p := &probeSet{cancel: cancel}
	step := every / time.Duration(max(n, 1))
	// Enough requests in flight for a whole timeout's worth of sends; a
	// send finding them all busy is skipped (those in flight already
	// record the outage).
	inFlight := make(chan struct{}, int(timeout/step)+2)
	hc := nsHTTPClient(ns, timeout, false, cap(inFlight))
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		tick := time.NewTicker(step)
		defer tick.Stop()
		for range int(probeMaxTime/step) + 1 {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			select {
			case inFlight <- struct{}{}:
			default:
				continue
			}
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				defer func() { <-inFlight }()
				s := probeSample{start: time.Now()}
				_, err := servedBy(ctx, hc, url)
				s.end, s.ok = time.Now(), err == nil
				if ctx.Err() != nil {
					return // cut short by the stop, not a failure
				}
				p.mu.Lock()
				p.samples = append(p.samples, s)
				p.mu.Unlock()
			}()
		}
	}()
	return p
}

func (p *probeSet) stop() []probeSample {
	p.cancel()
	p.wg.Wait()
	return p.snapshot()
}

// snapshot returns the samples so far, sorted by start.
func (p *probeSet) snapshot() []probeSample {
	p.mu.Lock()
	out := slices.Clone(p.samples)
	p.mu.Unlock()
	slices.SortFunc(out, func(a, b probeSample) int { return a.start.Compare(b.start) })
	return out
}

// okSince reports whether every sample started at or after since is a
// success and they span at least d.
func okSince(samples []probeSample, since time.Time, d time.Duration) bool {
	var first, last time.Time
	for _, s := range samples {
		if s.start.Before(since) {
			continue
		}
		if !s.ok {
			return false
		}
		if first.IsZero() {
			first = s.start
		}
		last = s.start
	}
	return !first.IsZero() && last.Sub(first) >= d
}

// waitStable waits until the service answered without a failure for
// stable after the last failure, and at least min after t0; it gives up
// at limit and says so.
func (p *probeSet) waitStable(ctx context.Context, t0 time.Time, minWait, stable, limit time.Duration) bool {
	deadline := t0.Add(limit)
	for time.Now().Before(deadline) {
		s := p.snapshot()
		lastFail := t0
		for _, x := range s {
			if !x.ok && x.start.After(lastFail) {
				lastFail = x.start
			}
		}
		if time.Since(t0) >= minWait && okSince(s, lastFail.Add(time.Nanosecond), stable) {
			return true
		}
		if sleepCtx(ctx, 10*time.Millisecond) != nil {
			return false
		}
	}
	return false
}

// probeWindow is what a probe set saw around a trigger.
type probeWindow struct {
	// Gap is from the start of the last successful request before the
	// first failure to the start of the first successful request after
	// the last failure: how long no new request was served.
	Gap time.Duration
	// FromTrigger is from the trigger to that first success after.
	FromTrigger time.Duration
	// Failed and Requests count the samples from the trigger on; Runs is
	// the number of separate runs of failures (1 for a clean failover).
	Failed, Requests, Runs int
	// Closed is false when no success followed the last failure.
	Closed bool
}

// windowAfter measures the outage that follows t0 in samples sorted by
// start. Requests started up to one timeout before t0 count: they were in
// flight when the trigger struck.
func windowAfter(samples []probeSample, t0 time.Time, timeout time.Duration) probeWindow {
	var w probeWindow
	from := t0.Add(-timeout)
	firstFail, lastFail := -1, -1
	for i, s := range samples {
		if s.start.Before(from) {
			continue
		}
		w.Requests++
		if !s.ok {
			w.Failed++
			if firstFail < 0 {
				firstFail = i
			}
			if lastFail < 0 || i != lastFail+1 {
				w.Runs++
			}
			lastFail = i
		}
	}
	if firstFail < 0 {
		w.Closed = true
		return w
	}
	before := samples[firstFail].start
	for i := firstFail - 1; i >= 0; i-- {
		if samples[i].ok {
			before = samples[i].start
			break
		}
	}
	for _, s := range samples[lastFail+1:] {
		if s.ok {
			w.Gap, w.FromTrigger, w.Closed = s.start.Sub(before), s.start.Sub(t0), true
			break
		}
	}
	return w
}

// countFailed counts requests and failures in samples, and the slowest
// request (successful or not).
func countFailed(samples []probeSample) (requests, failed int, slowest time.Duration) {
	for _, s := range samples {
		requests++
		if !s.ok {
			failed++
		}
		slowest = max(slowest, s.end.Sub(s.start))
	}
	return requests, failed, slowest
}

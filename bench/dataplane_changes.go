package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ChangesResult is member add, weight and remove under a steady load
// through the VIP.
type ChangesResult struct {
	Changes []ChangeResult
	// Load: every request of the loop, all changes included.
	Workers    int
	Requests   int64
	Errors     int64
	FirstError string
	Duration   time.Duration
	// Processes are the pool's HAProxy masters and workers before and
	// after the changes: unchanged means no reload and no restart.
	Before, After []string
	Err           string
}

// ProcessesUnchanged reports that no HAProxy was reloaded or restarted.
func (c ChangesResult) ProcessesUnchanged() bool {
	return len(c.Before) > 0 && slices.Equal(c.Before, c.After)
}

// ChangeResult is one API change and when the traffic showed it.
type ChangeResult struct {
	Name string
	// Observed says what "reflects it" means for this change.
	Observed string
	// API is the call's own duration.
	API time.Duration
	// Effect is from the call returning until the traffic reflected it;
	// valid when Effective.
	Effect    time.Duration
	Effective bool
	// Requests and Errors are those completed during the change's window
	// (call start to end of observation).
	Requests, Errors int64
	// AppliedFirst and AppliedLast are from the call returning until the
	// first and the second instance's agent logged the change applied
	// (ms resolution; < 0 when before the call returned); Applied is
	// false when no log line was found.
	AppliedFirst, AppliedLast time.Duration
	Applied                   bool
}

// sample is one request of the load loop.
type sample struct {
	start, end time.Time
	backend    string // empty on error
}

// loadLoop sends requests from a few keep-alive clients until stopped or
// its bounds (time, count) are reached, recording every one.
type loadLoop struct {
	mu       sync.Mutex
	samples  []sample
	firstErr string
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

const (
	loadWorkers    = 4
	loadMaxTime    = 120 * time.Second
	loadMaxSamples = 2_000_000
)

func startLoad(ctx context.Context, ns, url string) *loadLoop {
	ctx, cancel := context.WithTimeout(ctx, loadMaxTime)
	l := &loadLoop{cancel: cancel}
	hc := nsHTTPClient(ns, 2*time.Second, true, loadWorkers)
	for range loadWorkers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for ctx.Err() == nil {
				s := sample{start: time.Now()}
				b, err := servedBy(ctx, hc, url)
				s.end = time.Now()
				if ctx.Err() != nil {
					return // cut short by the stop, not a failure
				}
				s.backend = b
				l.mu.Lock()
				if err != nil && l.firstErr == "" {
					l.firstErr = err.Error()
				}
				l.samples = append(l.samples, s)
				full := len(l.samples) >= loadMaxSamples
				l.mu.Unlock()
				if full {
					return
				}
			}
		}()
	}
	return l
}

func (l *loadLoop) stop() {
	l.cancel()
	l.wg.Wait()
}

// since returns the samples recorded from index i on, and the next index.
func (l *loadLoop) since(i int) ([]sample, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.samples[i:]), len(l.samples)
}

func (l *loadLoop) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.samples)
}

// Bounds of the wait for one change to show.
const (
	changeLimit = 10 * time.Second
	// quietFor: a removal counts as effective once this long passed
	// without the member answering a request sent after the last one it
	// answered, and quietRequests other requests were answered meanwhile.
	quietFor      = 500 * time.Millisecond
	quietRequests = 50
)

// firstFrom waits until a request is answered by addr after t0 and
// returns how long after t0 the answer came.
func (l *loadLoop) firstFrom(ctx context.Context, idx int, addr string, t0 time.Time) (time.Duration, bool) {
	deadline := t0.Add(changeLimit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		var batch []sample
		batch, idx = l.since(idx)
		for _, s := range batch {
			if s.backend == addr && s.end.After(t0) {
				return s.end.Sub(t0), true
			}
		}
		_ = sleepCtx(ctx, time.Millisecond)
	}
	return 0, false
}

// lastTo waits until addr has stopped answering and returns how long after
// t0 the last request it answered was sent (0 if none was sent after t0).
func (l *loadLoop) lastTo(ctx context.Context, idx int, addr string, t0 time.Time) (time.Duration, bool) {
	deadline := t0.Add(changeLimit)
	var seen []sample
	for time.Now().Before(deadline) && ctx.Err() == nil {
		_ = sleepCtx(ctx, quietFor/5)
		var batch []sample
		batch, idx = l.since(idx)
		seen = append(seen, batch...)
		last := t0
		for _, s := range seen {
			if s.backend == addr && s.start.After(last) {
				last = s.start
			}
		}
		others := 0
		for _, s := range seen {
			if s.backend != "" && s.backend != addr && s.start.After(last) {
				others++
			}
		}
		if time.Since(last) >= quietFor && others >= quietRequests {
			return last.Sub(t0), true
		}
	}
	return 0, false
}

// window counts the requests and errors recorded from index i on.
func (l *loadLoop) window(i int) (reqs, errs int64) {
	batch, _ := l.since(i)
	for _, s := range batch {
		reqs++
		if s.backend == "" {
			errs++
		}
	}
	return reqs, errs
}

func (tp *dpTopo) memberChanges(ctx context.Context, o DataplaneOptions) ChangesResult {
	res := ChangesResult{Workers: loadWorkers}
	addAddr := mustPrefix(addedBackend).Addr().String()
	if _, err := tp.c.StartBackend(tp.prefix+"backend3", tp.poolNet, "10.1.1.0/24", mustPrefix(addedBackend)); err != nil {
		res.Err = "start the third backend: " + err.Error()
		return res
	}
	res.Before = tp.processes(tp.vipID)
	load := startLoad(ctx, tp.vipClient, "http://"+tp.vipAddr+"/")
	began := time.Now()
	_ = sleepCtx(ctx, 500*time.Millisecond) // warm up: connections open, steady rate

	var memberID string
	type change struct {
		name, observed string
		call           func() error
		wait           func(idx int, t0 time.Time) (time.Duration, bool)
	}
	firstFrom := func(idx int, t0 time.Time) (time.Duration, bool) { return load.firstFrom(ctx, idx, addAddr, t0) }
	lastTo := func(idx int, t0 time.Time) (time.Duration, bool) { return load.lastTo(ctx, idx, addAddr, t0) }
	setWeight := func(w int) func() error {
		return func() error {
			return tp.api.Call("PUT", "/v2.0/lb/members/"+memberID, map[string]any{"member": map[string]any{"weight": w}}, nil)
		}
	}
	changes := []change{
		{"add member 10.1.1.4 (new backend)", "first answer from 10.1.1.4", func() error {
			var err error
			memberID, err = tp.addMember(tp.poolID, addedBackend, 1)
			return err
		}, firstFrom},
		{"weight 1 → 0 on 10.1.1.4", "last request answered by 10.1.1.4 (sent after the call)", setWeight(0), lastTo},
		{"weight 0 → 1 on 10.1.1.4", "first answer from 10.1.1.4", setWeight(1), firstFrom},
		{"remove member 10.1.1.4", "last request answered by 10.1.1.4 (sent after the call)", func() error {
			return tp.api.Call("DELETE", "/v2.0/lb/members/"+memberID, nil, nil)
		}, lastTo},
	}
	for _, ch := range changes {
		idx := load.len()
		t := time.Now()
		if err := ch.call(); err != nil {
			res.Err = ch.name + ": " + err.Error()
			break
		}
		t0 := time.Now()
		eff, ok := ch.wait(idx, t0)
		r := ChangeResult{Name: ch.name, Observed: ch.observed, API: t0.Sub(t), Effect: eff, Effective: ok}
		r.Requests, r.Errors = load.window(idx)
		if applied := tp.appliedAt(tp.vipID, t); len(applied) > 0 {
			r.AppliedFirst, r.AppliedLast, r.Applied = applied[0].Sub(t0), applied[len(applied)-1].Sub(t0), true
		}
		res.Changes = append(res.Changes, r)
		o.progress("change %q: API %v, agents applied %v..%v, effect after %v (effective %v), %d requests, %d errors", r.Name,
			r.API.Round(time.Millisecond), r.AppliedFirst, r.AppliedLast, r.Effect.Round(100*time.Microsecond), r.Effective, r.Requests, r.Errors)
		_ = sleepCtx(ctx, 300*time.Millisecond)
	}
	load.stop()
	res.Duration = time.Since(began)
	res.After = tp.processes(tp.vipID)
	all, _ := load.since(0)
	for _, s := range all {
		res.Requests++
		if s.backend == "" {
			res.Errors++
		}
	}
	res.FirstError = load.firstErr
	return res
}

// processes lists "node: master <pid> workers <pids>" for each of the
// load balancer's (the VIP's) instances, sorted.
func (tp *dpTopo) processes(lbID string) []string {
	var out []string
	for node, a := range tp.c.Agents() {
		dir := filepath.Join(a.StateDir, "loadbalancer", lbID)
		pid, err := readPid(filepath.Join(dir, "haproxy.pid"))
		if err != nil {
			continue
		}
		out = append(out, fmt.Sprintf("%s: master %d workers %v", node, pid, childrenOf(pid)))
	}
	slices.Sort(out)
	return out
}

func readPid(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// childrenOf lists a process's children (HAProxy's master forks its
// workers; a reload replaces them).
func childrenOf(pid int) []int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return nil
	}
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if c, err := strconv.Atoi(f); err == nil {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

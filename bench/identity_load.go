package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// lateAfter is how far behind its schedule a paced request may be sent
// before it counts as late: held back by the in-flight bound, or the
// generator fell behind.
const lateAfter = 10 * time.Millisecond

// Paced is an open-loop run: requests sent on a fixed schedule whatever
// the answers' speed.
type Paced struct {
	Rate     int           // requests per second scheduled
	Duration time.Duration // how long requests were scheduled for
	Target   int           // requests scheduled
	Sent     int
	Done     int
	Errors   int
	// Cut are the requests still unanswered when the run's bound ended
	// it (neither done nor errors).
	Cut int
	// FirstError is the first failure seen, for the report.
	FirstError string
	// Elapsed runs from the first scheduled send to the last answer.
	Elapsed time.Duration
	// Latency runs from each request's scheduled send to its answer, so
	// that a stall of the generator or of a full connection pool counts.
	Latency Latency
	// Late requests were sent more than lateAfter behind schedule; MaxLag
	// is the worst.
	Late   int
	MaxLag time.Duration
	// Stopped: the bound or the caller's context ended the run before
	// every request was sent.
	Stopped bool

	// Per scheduled request: its latency (-1 unless answered), whether it
	// was sent late, whether it failed.
	lat          []time.Duration
	late, failed []bool
}

// PerSec is the rate of successful answers.
func (p Paced) PerSec() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Done) / p.Elapsed.Seconds()
}

// pacedPart is what the requests scheduled in [from, to) of a run did.
type pacedPart struct {
	Latency      Latency
	Late, Errors int
}

// between summarises the requests scheduled in [from, to) of the run.
func (p Paced) between(from, to time.Duration) pacedPart {
	var out pacedPart
	var ds []time.Duration
	for i, d := range p.lat {
		at := time.Duration(i) * time.Second / time.Duration(p.Rate)
		if at < from || at >= to {
			continue
		}
		if d >= 0 {
			ds = append(ds, d)
		}
		if p.late[i] {
			out.Late++
		}
		if p.failed[i] {
			out.Errors++
		}
	}
	out.Latency = summarize(ds)
	return out
}

// paced calls op for i in [0, rate*d) at start+i/rate, each in its own
// goroutine, at most maxInFlight at once (a send waits for a slot and is
// then late). The run is bounded by d+drain and by ctx.
func paced(ctx context.Context, rate int, d, drain time.Duration, maxInFlight int, op func(ctx context.Context, i int) error) Paced {
	total := int(float64(rate) * d.Seconds())
	p := Paced{Rate: rate, Duration: d, Target: total}
	if total <= 0 || maxInFlight <= 0 {
		return p
	}
	ctx, cancel := context.WithTimeout(ctx, d+drain)
	defer cancel()
	interval := time.Second / time.Duration(rate)
	p.lat, p.late, p.failed = make([]time.Duration, total), make([]bool, total), make([]bool, total)
	for i := range p.lat {
		p.lat[i] = -1
	}
	var failed, cut atomic.Int64
	var mu sync.Mutex
	var firstErr string
	sem := make(chan struct{}, maxInFlight)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var wg sync.WaitGroup
	start := time.Now()
	for i := range total {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-ctx.Done():
			}
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			p.Stopped = true
			break
		}
		lag := time.Since(due)
		p.MaxLag = max(p.MaxLag, lag)
		if lag > lateAfter {
			p.Late++
			p.late[i] = true
		}
		p.Sent++
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := op(ctx, i); err != nil {
				if ctx.Err() != nil {
					cut.Add(1) // ended by the bound, not answered
					return
				}
				failed.Add(1)
				p.failed[i] = true
				mu.Lock()
				if firstErr == "" {
					firstErr = err.Error()
				}
				mu.Unlock()
				return
			}
			p.lat[i] = time.Since(due)
		}()
	}
	wg.Wait()
	p.Elapsed = time.Since(start)
	var all []time.Duration
	for _, d := range p.lat {
		if d >= 0 {
			all = append(all, d)
		}
	}
	p.Done, p.Errors, p.Cut, p.FirstError = len(all), int(failed.Load()), int(cut.Load()), firstErr
	p.Latency = summarize(all)
	return p
}

// passwordToken logs user in by password at a Keystone v3 API (a real one
// or ours), scoped to project (a name in the default domain), and returns
// the token, as a client's first request does.
func passwordToken(ctx context.Context, v3URL, user, password, project string) (string, error) {
	u, err := url.Parse(v3URL)
	if err != nil {
		return "", err
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		return "", fmt.Errorf("bench: refusing non-loopback identity service %q", v3URL)
	}
	dom := map[string]any{"id": "default"}
	body, err := json.Marshal(map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"password"},
			"password": map[string]any{"user": map[string]any{"name": user, "domain": dom, "password": password}}},
		"scope": map[string]any{"project": map[string]any{"name": project, "domain": dom}},
	}})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(v3URL, "/")+"/auth/tokens?nocatalog", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := loginClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("password login of %s at %s: %s %s", user, v3URL, resp.Status, strings.TrimSpace(string(msg)))
	}
	tok := resp.Header.Get("X-Subject-Token")
	if tok == "" {
		return "", fmt.Errorf("password login of %s at %s: no X-Subject-Token", user, v3URL)
	}
	return tok, nil
}

var loginClient = &http.Client{Timeout: 2 * time.Minute}

// issueTokens logs in n times with conc logins at once; who names the
// user and password of login i.
func issueTokens(ctx context.Context, v3URL string, n, conc int, who func(i int) (user, password string), project string) ([]string, error) {
	toks := make([]string, n)
	var next atomic.Int64
	errs := make([]error, conc)
	var wg sync.WaitGroup
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				u, pw := who(i)
				t, err := passwordToken(ctx, v3URL, u, pw, project)
				if err != nil {
					errs[w] = err
					return
				}
				toks[i] = t
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return toks, nil
}

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"lbaas/internal/up"
)

// prober sends one request every interval (a new connection each time) to
// a URL from the client namespace and records every outcome, bounded by
// count and by its context.
type prober struct {
	mu      sync.Mutex
	results []probeResult
	cancel  context.CancelFunc
	done    chan struct{}
}

type probeResult struct {
	at  time.Time
	ok  bool
	err string // why it failed
}

// window is a run of failed requests, from the last success before it to
// the first success after it.
type window struct {
	from, to time.Time
	failures int
	// errs are the distinct reasons of its failures, for the log.
	errs []string
	// firstFail and lastFail are the starts of its first and last failed
	// requests.
	firstFail, lastFail time.Time
}

// addErrs records reasons not recorded yet.
func (w *window) addErrs(errs ...string) {
	for _, e := range errs {
		if !slices.Contains(w.errs, e) {
			w.errs = append(w.errs, e)
		}
	}
}

// String is what a test prints of a window.
func (w window) String() string {
	return fmt.Sprintf("%s (%d failed: %s)", w.length().Round(time.Millisecond), w.failures, strings.Join(w.errs, "; "))
}

func (w window) length() time.Duration { return w.to.Sub(w.from) }

func (tp *topo) probe(url string, every time.Duration, limit time.Duration) *prober {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	p := &prober{cancel: cancel, done: make(chan struct{})}
	// A connect that waits past 500 ms lost its SYN to a VM that is gone
	// (the retry would come after 1 s); shorter bounds failed requests whose
	// only fault was the prober's own wait for a CPU on a saturated host,
	// and a window is measured between request starts, not by the bound.
	client := probeClient(tp.client, probeConnectBound, 2*time.Second)
	// Each request runs on its own: one lost in a failover waits out its
	// connect bound without delaying the next, so a window measures the
	// outage, not the timeout.
	inFlight := make(chan struct{}, 64)
	go func() {
		var wg sync.WaitGroup
		defer func() { wg.Wait(); close(p.done) }()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for n := 0; n < int(limit/every)+1; n++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			select {
			case inFlight <- struct{}{}:
			default:
				continue // those in flight already record the outage
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-inFlight }()
				start := time.Now()
				body, err := bodyOf(client.Get(url))
				ok := err == nil && strings.HasPrefix(body, "backend ")
				why := ""
				if err != nil {
					why = err.Error()
					// The URL and the ops say nothing; the cause is last.
					if i := strings.LastIndex(why, ": "); i >= 0 {
						why = why[i+2:]
					}
				} else if !ok {
					why = "unexpected answer " + body
				}
				p.mu.Lock()
				p.results = append(p.results, probeResult{at: start, ok: ok, err: why})
				p.mu.Unlock()
			}()
		}
	}()
	return p
}

// sorted returns the results so far in the order they were sent.
func (p *prober) sorted() []probeResult {
	p.mu.Lock()
	out := append([]probeResult(nil), p.results...)
	p.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].at.Before(out[j].at) })
	return out
}

// stop ends the probe and returns its windows of failure.
func (p *prober) stop() []window {
	p.cancel()
	<-p.done
	return p.windows()
}

func (p *prober) windows() []window {
	var out []window
	var cur *window
	var lastOK time.Time
	for _, r := range p.sorted() {
		switch {
		case !r.ok && cur == nil:
			cur = &window{from: lastOK, failures: 1, errs: []string{r.err}, firstFail: r.at, lastFail: r.at}
			if lastOK.IsZero() {
				cur.from = r.at
			}
		case !r.ok:
			cur.failures++
			cur.lastFail = r.at
			cur.addErrs(r.err)
		case r.ok && cur != nil:
			cur.to = r.at
			out = append(out, *cur)
			cur = nil
		}
		if r.ok {
			lastOK = r.at
		}
	}
	if cur != nil {
		cur.to = time.Now()
		out = append(out, *cur)
	}
	return mergeClose(out, probeConnectBound)
}

// probeConnectBound is the prober's connect limit: a request's fate is
// known only that long after it starts.
const probeConnectBound = 500 * time.Millisecond

// mergeClose joins windows less than within apart. Requests run
// concurrently and are ordered by their start: one in flight at the blow
// fails later (reset) while one that started a moment after it had already
// been answered, which splits one outage in two by start times. Failures
// closer than a request's own bound cannot be told apart as two outages; a
// second outage (a spurious election, a VIP dropped by a reload) comes
// seconds later and stays a window of its own.
func mergeClose(ws []window, within time.Duration) []window {
	var out []window
	for _, w := range ws {
		if n := len(out); n > 0 && w.firstFail.Sub(out[n-1].lastFail) < within {
			last := &out[n-1]
			last.to, last.lastFail = w.to, w.lastFail
			last.failures += w.failures
			last.addErrs(w.errs...)
			continue
		}
		out = append(out, w)
	}
	return out
}

func (p *prober) count() (ok, failed int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.results {
		if r.ok {
			ok++
		} else {
			failed++
		}
	}
	return ok, failed
}

// waitOK waits until the probe has seen n successes in a row, all sent
// after the call (so that a run from before a blow does not count).
func (p *prober) waitOK(t *testing.T, n int, limit time.Duration) {
	t.Helper()
	since := time.Now()
	deadline := since.Add(limit)
	for time.Now().Before(deadline) {
		rs := p.sorted()
		run := 0
		for i := len(rs) - 1; i >= 0 && !rs[i].at.Before(since) && rs[i].ok; i-- {
			run++
		}
		if run >= n {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the load balancer did not answer %d requests in a row within %s", n, limit)
}

// killHAProxy kills an instance's HAProxy master and workers, as a crash.
func killHAProxy(t *testing.T, in instance) {
	t.Helper()
	p := in.processOf(t)
	for _, pid := range append(p.workers, p.master) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// failoverBound is generous: these machines are small and shared; the
// benchmark, not the test, measures how fast failover is.
const failoverBound = 3 * time.Second

// oneOutage fails the test unless ws is at most one window within
// failoverBound, and describes it. A switch fast enough that no request
// failed (the standby takes over a resigning VM within the skew time) is
// a success, not a missing outage.
func oneOutage(t *testing.T, ws []window) string {
	t.Helper()
	switch {
	case len(ws) > 1:
		t.Fatalf("want at most one failure window, got %d: %v", len(ws), ws)
	case len(ws) == 1 && ws[0].length() > failoverBound:
		t.Fatalf("failover took %s (bound %s)", ws[0].length(), failoverBound)
	case len(ws) == 1:
		return "failure window " + ws[0].String()
	}
	return "no failed request"
}

func TestActiveHAProxyDeathEndsWithinTheBound(t *testing.T) {
	needKeepalived(t)
	tp := startTopo(t)
	pool, vip, fip := tp.lb("ha", map[string]any{}, map[string]any{})
	poolID := pool["id"].(string)
	before := tp.active(poolID, vip["address"].(string))
	// nopreempt: the old active must never take the VIP back.
	waitNopreempt(t, before)
	p := tp.probe("http://"+fip+"/", 10*time.Millisecond, 60*time.Second)
	p.waitOK(t, 20, 10*time.Second)

	killHAProxy(t, before)
	p.waitOK(t, 50, 10*time.Second)
	// Either keepalived saw the death and the standby took the VIP, or the
	// agent rebuilt the HAProxy before keepalived's process tracking
	// counted it gone; both end the outage, and neither may be followed by
	// a second one when the old active is back.
	after := tp.active(poolID, vip["address"].(string))
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) && !pidAlive(masterOf(before)) {
		time.Sleep(100 * time.Millisecond)
	}
	if !pidAlive(masterOf(before)) {
		t.Fatalf("the agent on %s did not restart the dead HAProxy", before.node)
	}
	time.Sleep(2 * time.Second)
	ws := p.stop()
	if now := tp.active(poolID, vip["address"].(string)); now.node != after.node {
		t.Fatalf("the VIP moved again, from %s to %s, after the old active came back", after.node, now.node)
	}
	t.Logf("HAProxy death on %s: the VIP is now on %s; %s", before.node, after.node, oneOutage(t, ws))
}

func masterOf(in instance) int {
	pid, _ := readPid(in.dir + "/haproxy.pid")
	return pid
}

func TestActiveNodeDeathFailsOverAndThePairIsRepaired(t *testing.T) {
	needKeepalived(t)
	tp := startTopo(t)
	pool, vip, fip := tp.lb("node", map[string]any{}, map[string]any{})
	poolID := pool["id"].(string)
	before := tp.active(poolID, vip["address"].(string))
	p := tp.probe("http://"+fip+"/", 10*time.Millisecond, 60*time.Second)
	p.waitOK(t, 20, 10*time.Second)

	killed := time.Now()
	if _, err := tp.c.KillNode(before.node, up.Silent); err != nil {
		t.Fatal(err)
	}
	p.waitOK(t, 30, 10*time.Second)
	// The controller notices the dead node (its lease expires), promotes
	// the survivor and puts a new standby on the third node.
	var whole time.Duration
	for time.Since(killed) < 20*time.Second {
		ins := tp.instances(poolID)
		nodes := map[string]bool{}
		for _, in := range ins {
			if in.node != before.node {
				nodes[in.node] = true
			}
		}
		si, err := tp.api.Get("/v2.0/lbaas-service-instances/"+tp.lbID(poolID), "service_instance")
		if err == nil && len(nodes) == 2 && si["status"] == "ACTIVE" && !strings.Contains(fmt.Sprint(si["ha"]), before.node) {
			whole = time.Since(killed)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	ws := p.stop()
	if whole == 0 {
		si, _ := tp.api.Get("/v2.0/lbaas-service-instances/"+tp.lbID(poolID), "service_instance")
		t.Fatalf("the pair was not whole again within 20s: %v", si)
	}
	if len(ws) != 1 {
		t.Fatalf("want exactly one failure window, got %v", ws)
	}
	t.Logf("node death of %s: failure window %s (%d failed requests); pair whole again after %s", before.node, ws[0].length().Round(time.Millisecond), ws[0].failures, whole.Round(time.Millisecond))
	if ws[0].length() > failoverBound {
		t.Fatalf("failover took %s (bound %s)", ws[0].length(), failoverBound)
	}
	if whole > 10*time.Second {
		t.Fatalf("repair took %s", whole)
	}
}

func TestFailoverNeedsNoControlPlane(t *testing.T) {
	needKeepalived(t)
	tp := startTopo(t)
	pool, vip, fip := tp.lb("nocp", map[string]any{}, map[string]any{})
	before := tp.active(pool["id"].(string), vip["address"].(string))
	tp.c.StopServer() // API server and controller gone
	// And the active's agent, so that nothing rebuilds the HAProxy: only
	// VRRP between the two VMs can move the VIP.
	tp.c.StopAgent(before.node, false)
	p := tp.probe("http://"+fip+"/", 10*time.Millisecond, 30*time.Second)
	p.waitOK(t, 20, 10*time.Second)
	killHAProxy(t, before)
	p.waitOK(t, 50, 10*time.Second)
	ws := p.stop()
	if after := tp.active(pool["id"].(string), vip["address"].(string)); after.node == before.node {
		t.Fatalf("the VIP stayed on %s, whose HAProxy is dead", before.node)
	}
	t.Logf("failover with the API server and controller stopped: %s", oneOutage(t, ws))
	if err := tp.c.StartServer(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := tp.c.StartAgent(before.node); err != nil {
		t.Fatal(err)
	}
}

func TestRestartsOfAgentsAndServerDoNotInterruptTraffic(t *testing.T) {
	needKeepalived(t)
	tp := startTopo(t)
	pool, vip, fip := tp.lb("restarts", map[string]any{}, map[string]any{})
	poolID := pool["id"].(string)
	before := tp.active(poolID, vip["address"].(string))
	p := tp.probe("http://"+fip+"/", 10*time.Millisecond, 60*time.Second)
	p.waitOK(t, 20, 10*time.Second)
	for _, in := range tp.instances(poolID) {
		tp.c.StopAgent(in.node, false)
		if err := tp.c.StartAgent(in.node); err != nil {
			t.Fatal(err)
		}
	}
	tp.c.StopServer()
	time.Sleep(time.Second)
	if err := tp.c.StartServer(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Both together: the agent of the active while the server is down.
	tp.c.StopServer()
	tp.c.StopAgent(before.node, true)
	if err := tp.c.StartAgent(before.node); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if err := tp.c.StartServer(context.Background()); err != nil {
		t.Fatal(err)
	}
	tp.waitStatus("/v2.0/lb/pools/"+poolID, "pool", "ACTIVE", 20*time.Second)
	time.Sleep(2 * time.Second) // the controller and agents have converged again
	ws := p.stop()
	ok, failed := p.count()
	if len(ws) != 0 || failed != 0 {
		t.Fatalf("restarts interrupted traffic: %d failed of %d, windows %v", failed, ok+failed, ws)
	}
	if after := tp.active(poolID, vip["address"].(string)); after.node != before.node {
		t.Fatalf("restarts caused a failover from %s to %s", before.node, after.node)
	}
	if si, _ := tp.api.Get("/v2.0/lbaas-service-instances/"+tp.lbID(poolID), "service_instance"); si["status"] != "ACTIVE" {
		t.Fatalf("service instance after restarts: %v", si)
	}
	t.Logf("agents restarted, server restarted, both at once: %d requests, 0 failed, VIP stayed on %s", ok, before.node)
}

func readPid(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// TestLostLinksAreRepairedAndFailOverEachTime deletes the VIP link of the
// VM that holds the VIP, twice: each time the other VM takes over, and the
// agent rebuilds the link (and restarts keepalived on it) so that the pair
// can fail over again.
func TestLostLinksAreRepairedAndFailOverEachTime(t *testing.T) {
	needKeepalived(t)
	tp := startTopo(t)
	pool, vip, fip := tp.lb("links", map[string]any{}, map[string]any{})
	poolID, vipAddr := pool["id"].(string), vip["address"].(string)
	p := tp.probe("http://"+fip+"/", 10*time.Millisecond, 90*time.Second)
	p.waitOK(t, 20, 10*time.Second)
	for round := 1; round <= 2; round++ {
		before := tp.active(poolID, vipAddr)
		if out, err := exec.Command("ip", "netns", "exec", before.namespace, "ip", "link", "del", "vip0").CombinedOutput(); err != nil {
			t.Fatalf("delete vip0: %v %s", err, out)
		}
		p.waitOK(t, 50, 10*time.Second)
		if after := tp.active(poolID, vipAddr); after.node == before.node {
			t.Fatalf("round %d: the VIP stayed on %s without its link", round, before.node)
		}
		// Whole again: both VMs serve (the pool is ACTIVE only then).
		tp.waitStatus("/v2.0/lb/pools/"+poolID, "pool", "ACTIVE", 30*time.Second)
	}
	ws := p.stop()
	if len(ws) != 2 {
		t.Fatalf("want one failure window per lost link, got %v", ws)
	}
	for i, w := range ws {
		t.Logf("lost link %d: failure window %s (%d failed requests)", i+1, w.length().Round(time.Millisecond), w.failures)
		if w.length() > failoverBound {
			t.Fatalf("window %s exceeds %s", w.length(), failoverBound)
		}
	}
}

// waitNopreempt waits until an instance's keepalived config has nopreempt.
func waitNopreempt(t *testing.T, in instance) {
	t.Helper()
	conf := in.dir + "/keepalived/keepalived.conf"
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(conf); err == nil && strings.Contains(string(b), "nopreempt") && strings.Contains(string(b), "state BACKUP") {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, _ := os.ReadFile(conf)
	t.Fatalf("the active's keepalived never settled to BACKUP + nopreempt:\n%s", b)
}

func TestWindowsCloserThanARequestsBoundAreOneOutage(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	p := &prober{results: []probeResult{
		{at: at(0), ok: true},
		{at: at(10), ok: false, err: "connection reset by peer"}, // in flight at the blow
		{at: at(12), ok: true}, // answered before it
		{at: at(20), ok: false, err: "i/o timeout"},
		{at: at(90), ok: true},
		{at: at(3000), ok: false, err: "connection refused"}, // seconds later: another outage
		{at: at(3050), ok: true},
	}}
	ws := p.windows()
	if len(ws) != 2 {
		t.Fatalf("want the blow's outage and the later one, got %v", ws)
	}
	if ws[0].failures != 2 || ws[0].from != at(0) || ws[0].to != at(90) || len(ws[0].errs) != 2 {
		t.Errorf("first window %+v", ws[0])
	}
	if ws[1].failures != 1 || ws[1].from != at(90) || ws[1].to != at(3050) {
		t.Errorf("second window %+v", ws[1])
	}
}

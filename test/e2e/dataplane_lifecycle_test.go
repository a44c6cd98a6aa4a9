package e2e

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"lbaas/internal/netns"
)

// load sends requests from the client through fip with several workers,
// no keep-alive, until stop is closed or a time limit passes.
type load struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	firstSeen  map[string]time.Time // body -> first answer
	errs       []string
	wg         sync.WaitGroup
	stop       chan struct{}
	stopOnce   sync.Once
}

func startLoad(tp *topo, fip string, workers int, limit time.Duration) *load {
	l := &load{firstSeen: map[string]time.Time{}, stop: make(chan struct{})}
	deadline := time.Now().Add(limit)
	for w := 0; w < workers; w++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			client := httpClient(tp.client, 3*time.Second)
			for i := 0; i < 10000 && time.Now().Before(deadline); i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				body, err := bodyOf(client.Get("http://" + fip + "/"))
				time.Sleep(5 * time.Millisecond) // steady, not flat out: the CPUs are shared
				l.mu.Lock()
				if err != nil {
					l.failed.Add(1)
					if len(l.errs) < 5 {
						l.errs = append(l.errs, err.Error())
					}
				} else {
					l.ok.Add(1)
					if _, ok := l.firstSeen[body]; !ok {
						l.firstSeen[body] = time.Now()
					}
				}
				l.mu.Unlock()
			}
		}()
	}
	return l
}

// finish stops the workers and waits for them; it may be called twice.
func (l *load) finish() {
	l.stopOnce.Do(func() { close(l.stop) })
	l.wg.Wait()
}

// seen returns when body was first answered, if it was.
func (l *load) seen(body string) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	at, ok := l.firstSeen[body]
	return at, ok
}

// processes maps node -> HAProxy process of each of the pool's VMs.
func (tp *topo) processes(poolID string) map[string]process {
	tp.t.Helper()
	return tp.processesOfLB(tp.lbID(poolID))
}

// processesOfLB is processes for a load balancer made through Octavia.
func (tp *topo) processesOfLB(lbID string) map[string]process {
	tp.t.Helper()
	out := map[string]process{}
	for _, in := range tp.instancesOf(lbID) {
		out[in.node] = in.processOf(tp.t)
	}
	return out
}

func TestMembersAddedAndRemovedUnderLoadWithoutErrors(t *testing.T) {
	tp := startTopo(t)
	p, _, fip := tp.lb("churn", map[string]any{}, map[string]any{})
	poolID := p["id"].(string)
	third, err := tp.c.StartBackend(tp.prefix+"backend3", tp.poolNet, "10.1.1.0/24", netip.MustParsePrefix("10.1.1.4/24"))
	if err != nil {
		t.Fatal(err)
	}
	before := tp.processes(poolID)
	if len(before) != 2 {
		t.Fatalf("want 2 HAProxy instances, found %v", before)
	}

	l := startLoad(tp, fip, 4, 15*time.Second)
	defer l.finish()
	time.Sleep(1500 * time.Millisecond)
	tp.member(poolID, third.Addr)
	added := time.Now()
	newBody := "backend " + third.Addr.String()
	for time.Now().Before(added.Add(10 * time.Second)) {
		if _, ok := l.seen(newBody); ok {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	at, ok := l.seen(newBody)
	if !ok {
		t.Fatalf("the new member got no request within 10s of its creation")
	}
	t.Logf("first answer from the new member %s after the API call returned", at.Sub(added).Round(time.Millisecond))

	gone := tp.memberID(poolID, tp.backends[0].Addr)
	if err := tp.api.Call("DELETE", "/v2.0/lb/members/"+gone, nil, nil); err != nil {
		t.Fatal(err)
	}
	removed := time.Now()
	// Let the removal apply and the load run on past it.
	tp.waitStatus("/v2.0/lb/pools/"+poolID, "pool", "ACTIVE", 20*time.Second)
	time.Sleep(max(0, 2*time.Second-time.Since(removed)))
	goneBody := "backend " + tp.backends[0].Addr.String()
	lastBefore := l.ok.Load()
	time.Sleep(time.Second)
	l.finish()

	t.Logf("%d requests ok, %d failed", l.ok.Load(), l.failed.Load())
	if l.failed.Load() != 0 {
		t.Errorf("%d requests failed while members changed, e.g. %v", l.failed.Load(), l.errs)
	}
	if l.ok.Load() <= lastBefore {
		t.Errorf("the load stopped making progress after the removal")
	}
	// After the removal has applied, the removed member gets nothing.
	for i := 0; i < 6; i++ {
		body, err := tp.get("http://" + fip + "/")
		if err != nil {
			t.Fatal(err)
		}
		if body == goneBody {
			t.Fatalf("request %d reached the removed member", i)
		}
	}
	after := tp.processes(poolID)
	t.Logf("HAProxy processes before %v, after %v", before, after)
	for node, pb := range before {
		if pa := after[node]; !pa.equal(pb) {
			t.Errorf("HAProxy on %s reloaded or restarted for a member change: before %v, after %v", node, pb, pa)
		}
	}
}

func TestDeletingTheVIPRemovesNamespaceFilesAndProcesses(t *testing.T) {
	tp := startTopo(t)
	p, v, _ := tp.lb("del", map[string]any{}, map[string]any{})
	poolID := p["id"].(string)
	ins := tp.instances(poolID)
	if len(ins) != 2 {
		t.Fatalf("want 2 instances, found %d", len(ins))
	}
	var pids []int
	for _, in := range ins {
		pids = append(pids, in.masterPID(t))
	}
	if err := tp.api.Call("DELETE", "/v2.0/lb/vips/"+v["id"].(string), nil, nil); err != nil {
		t.Fatal(err)
	}
	const bound = 20 * time.Second
	deadline := time.Now().Add(bound)
	var left []string
	for time.Now().Before(deadline) {
		left = nil
		all, _ := netns.List("vrouter-")
		for _, ns := range all {
			if strings.HasSuffix(ns, ":"+ins[0].siID) {
				left = append(left, "namespace "+ns)
			}
		}
		for _, in := range ins {
			if _, err := os.Stat(in.dir); err == nil {
				left = append(left, "dir "+in.dir)
			}
		}
		for _, pid := range pids {
			if pidAlive(pid) {
				left = append(left, "haproxy master "+strconv.Itoa(pid))
			}
		}
		if len(left) == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(left) > 0 {
		t.Fatalf("%s after deleting the VIP, still there: %v", bound, left)
	}
	got := tp.waitStatus("/v2.0/lb/pools/"+poolID, "pool", "PENDING_CREATE", 10*time.Second)
	if got["status_description"] != "not deployed: the pool has no VIP" {
		t.Errorf("pool without VIP: description %q", got["status_description"])
	}
}

func TestBothInstancesRunOnDifferentNodes(t *testing.T) {
	tp := startTopo(t)
	p, _, _ := tp.lb("pair", map[string]any{}, map[string]any{})
	poolID := p["id"].(string)
	ins := tp.instances(poolID)
	if len(ins) != 2 || ins[0].node == ins[1].node {
		t.Fatalf("want the pool on exactly two different nodes, found %v", ins)
	}
	nets := map[string]string{}
	for _, in := range ins {
		pid := in.masterPID(t)
		ns, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/net")
		if err != nil {
			t.Fatal(err)
		}
		nets[ns] = in.node
	}
	if len(nets) != 2 {
		t.Fatalf("both HAProxy masters run in the same network namespace: %v", nets)
	}
	pool := tp.waitStatus("/v2.0/lb/pools/"+poolID, "pool", "ACTIVE", 10*time.Second)
	desc, _ := pool["status_description"].(string)
	for _, in := range ins {
		if !strings.Contains(desc, in.node) {
			t.Errorf("pool status description %q does not name %s", desc, in.node)
		}
	}
}

func TestAgentRestartAdoptsHAProxyWithoutDroppingConnections(t *testing.T) {
	tp := startTopo(t)
	p, v, fip := tp.lb("adopt", map[string]any{}, map[string]any{})
	poolID := p["id"].(string)
	act := tp.active(poolID, v["address"].(string))
	before := act.processOf(t)

	slow := make(chan error, 1)
	go func() {
		body, err := bodyOf(httpClient(tp.client, 15*time.Second).Get("http://" + fip + "/?sleep=3s"))
		if err == nil && !strings.HasPrefix(body, "backend ") {
			err = fmt.Errorf("unexpected answer %q", body)
		}
		slow <- err
	}()
	time.Sleep(500 * time.Millisecond)
	tp.c.StopAgent(act.node, false)
	if err := tp.c.StartAgent(act.node); err != nil {
		t.Fatal(err)
	}
	if err := <-slow; err != nil {
		t.Fatalf("the request open across the agent restart failed: %v", err)
	}
	tp.waitStatus("/v2.0/lb/pools/"+poolID, "pool", "ACTIVE", 20*time.Second)
	if after := act.processOf(t); !after.equal(before) {
		t.Fatalf("the restarted agent did not adopt HAProxy: before %v, after %v", before, after)
	}
	if _, err := tp.get("http://" + fip + "/"); err != nil {
		t.Fatalf("request after the agent restart: %v", err)
	}
}

package bench

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"time"

	"lbaas/internal/netns"
	"lbaas/internal/up"
	"lbaas/internal/vrrp"
)

// AimNetworkNodeOutage is the longest a floating IP may stop answering when
// the active network node dies silently.
const AimNetworkNodeOutage = time.Second

// NetworkNodeRun is one death and return of the active network node of a
// router pair, with a floating IP probed throughout.
type NetworkNodeRun struct {
	// Died is the network node that held the floating IP and was killed;
	// Took is the one that held it afterwards.
	Died, Took string
	// Outage is the probe's gap around the death (probeWindow.Gap);
	// Failed of Requests failed from the death on.
	Outage           time.Duration
	Failed, Requests int
	// Rejoined is how long the returning node took to report BACKUP from
	// its agent's start; RestartFailed of RestartRequests failed from the
	// start until 2 s after that.
	Rejoined                       time.Duration
	RestartFailed, RestartRequests int
	// Err says why the run is not a measure.
	Err string
}

// networkNodeProbe sends a request every 5 ms (two streams, one every
// 10 ms each), each on a new connection with a 1 s bound.
func networkNodeProbe(ctx context.Context, tp *dpTopo) *probeSet {
	return startProbes(ctx, tp.pubClient, "http://"+tp.fip+"/", 2, 10*time.Millisecond, time.Second)
}

// routerHolding returns the network node whose router holds addr.
func routerHolding(c *up.Cluster, nodes []string, addr string) string {
	want := netip.MustParseAddr(addr)
	for _, n := range nodes {
		addrs, _ := netns.Addresses(c.RouterNamespaceOf(n), "ext0")
		for _, a := range addrs {
			if a.Addr() == want {
				return n
			}
		}
	}
	return ""
}

// routerVRRPState is what a network node's router keepalived last reported.
func routerVRRPState(c *up.Cluster, node string) string {
	return vrrp.Recorded(vrrp.PathsIn(filepath.Join(c.Agents()[node].StateDir, "router", "keepalived"))).State
}

// networkNodeDeath kills the network node whose router holds the floating
// IP, silently, measures the outage, then starts it again and counts what
// its return cost.
func networkNodeDeath(ctx context.Context, tp *dpTopo, nodes []string) (run NetworkNodeRun) {
	var active string
	for deadline := time.Now().Add(10 * time.Second); active == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		active = routerHolding(tp.c, nodes, tp.fip)
	}
	if active == "" {
		run.Err = "no router holds the floating IP"
		return run
	}
	run.Died = active
	p := networkNodeProbe(ctx, tp)
	if sleepCtx(ctx, time.Second) != nil {
		p.stop()
		run.Err = ctx.Err().Error()
		return run
	}
	t0 := time.Now()
	if _, err := tp.c.KillNode(active, up.Silent); err != nil {
		p.stop()
		run.Err = err.Error()
		return run
	}
	stable := p.waitStable(ctx, t0, 2*time.Second, time.Second, 20*time.Second)
	w := windowAfter(p.stop(), t0, time.Second)
	run.Outage, run.Failed, run.Requests = w.Gap, w.Failed, w.Requests
	run.Took = routerHolding(tp.c, nodes, tp.fip)
	if !stable || !w.Closed {
		run.Err = "the floating IP did not answer steadily again within 20 s"
	}

	p = networkNodeProbe(ctx, tp)
	t1 := time.Now()
	if err := tp.c.StartAgent(active); err != nil {
		p.stop()
		run.Err = err.Error()
		return run
	}
	for routerVRRPState(tp.c, active) != "BACKUP" {
		if time.Since(t1) > 30*time.Second || sleepCtx(ctx, 20*time.Millisecond) != nil {
			p.stop()
			run.Err = "the returning network node's router did not become BACKUP within 30 s"
			return run
		}
	}
	run.Rejoined = time.Since(t1)
	_ = sleepCtx(ctx, 2*time.Second)
	run.RestartRequests, run.RestartFailed, _ = countFailed(p.stop())
	if h := routerHolding(tp.c, nodes, tp.fip); h != run.Took && run.Err == "" {
		run.Err = fmt.Sprintf("the floating IP moved to %s when %s came back", h, active)
	}
	return run
}

// networkNodeRuns measures n deaths and returns, one after the other (each
// return leaves a pair again).
func networkNodeRuns(ctx context.Context, o DataplaneOptions, tp *dpTopo, nodes []string, n int) []NetworkNodeRun {
	var out []NetworkNodeRun
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		r := networkNodeDeath(ctx, tp, nodes)
		o.progress("network node death %d/%d: %s died, %s took over, outage %v (%d of %d failed); back as standby in %v, %d of %d failed %s",
			i+1, n, r.Died, r.Took, r.Outage.Round(time.Millisecond), r.Failed, r.Requests, r.Rejoined.Round(time.Millisecond), r.RestartFailed, r.RestartRequests, r.Err)
		out = append(out, r)
		// The returned node's arbiter and flood lists settle.
		_ = sleepCtx(ctx, 3*time.Second)
	}
	return out
}

// networkNodeMarkdown renders the runs.
func networkNodeMarkdown(w func(string, ...any), runs []NetworkNodeRun) {
	w("## The active network node's death")
	w("")
	w("The deployment across hosts has two network nodes; the floating-IP router runs on both, active/standby")
	w("(VRRP, advert interval 100 ms; docs/005). A probe sends a request to the floating IP every 5 ms from the")
	w("client on the public wire, each on a new connection bounded at 1 s. The network node whose router holds the")
	w("floating IP dies silently (`up.KillNode`: its agent, keepalived and arbiter frozen and killed, its host's")
	w("namespaces deleted), then its agent is started again and the probe runs until 2 s after its router reports")
	w("BACKUP. Outage: from the last request served before the first failure to the first served after the last.")
	w("")
	w("| run | died | took over | outage | failed / requests | back as standby after | failed / requests on its return | note |")
	w("|---:|---|---|---:|---:|---:|---:|---|")
	worst := time.Duration(0)
	restartFailed := 0
	for i, r := range runs {
		w("| %d | %s | %s | %v | %d / %d | %v | %d / %d | %s |", i+1, r.Died, orDash(r.Took), r.Outage.Round(time.Millisecond), r.Failed, r.Requests,
			r.Rejoined.Round(time.Millisecond), r.RestartFailed, r.RestartRequests, orDash(r.Err))
		worst = max(worst, r.Outage)
		restartFailed += r.RestartFailed
	}
	w("")
	w("| measure | value | aim |")
	w("|---|---:|---|")
	w("| longest outage on a silent death | %v | < %v |", worst.Round(time.Millisecond), AimNetworkNodeOutage)
	w("| failed requests while the dead node returns, all runs | %d | 0 |", restartFailed)
	w("")
}

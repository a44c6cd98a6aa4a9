package bench

import (
	"context"
	"fmt"
	"os/exec"
	"sync"
	"time"

	"lbaas/internal/netns"
)

// ProvisionResult times VIP creations: from POST /v2.0/lb/vips returning
// to the first request served through the VIP, and to the pool turning
// ACTIVE (both instances serving the current config).
type ProvisionResult struct {
	Runs        []ProvisionRun
	FirstServed Latency
	Active      Latency
	// VIPCreate is how long the POST itself took (not part of the above).
	VIPCreate Latency
	// CachedClient is the first answer seen by a client with the kernel's
	// default neighbour settings that talked to an earlier VIP at the same
	// address (bounded by cachedProbeLimit; CachedMissed runs saw none).
	CachedClient Latency
	CachedMissed int
	// AgentFirst and AgentLast are when the first and the second instance
	// logged "instance applied" (HAProxy started and serving).
	AgentFirst, AgentLast Latency
	Err                   string
}

// ProvisionRun is one timed creation.
type ProvisionRun struct {
	FirstServed time.Duration
	Active      time.Duration
	VIPCreate   time.Duration
	// Cleanup is from DELETE of the VIP to both instances gone.
	Cleanup      time.Duration
	CachedClient time.Duration
	AgentFirst   time.Duration
	AgentLast    time.Duration
}

// probeEvery is the probes' cadence.
const probeEvery = 5 * time.Millisecond

// Neighbour-cache bounds of the provisioning probes.
const (
	// probeARPRetry is the clean probe client's ARP retransmission time
	// (the kernel's default is 1 s): without it the probe would measure
	// ARP's retry cadence, not when the VIP became reachable.
	probeARPRetry = "5"
	// cachedProbeLimit bounds the probe from the client with default
	// settings that talked to an earlier VIP at the same address.
	cachedProbeLimit = 3 * time.Second
)

func (tp *dpTopo) provisioning(ctx context.Context, o DataplaneOptions) ProvisionResult {
	return tp.provisionRuns(ctx, o, "provisioning", tp.provisionOnce)
}

// probeNamespace makes (once) the probe client of the provisioning runs: a
// namespace on the VIP network whose neighbour cache each run flushes.
func (tp *dpTopo) probeNamespace() (string, error) {
	ns := tp.prefix + "probe"
	if tp.probeReady {
		return ns, nil
	}
	if err := tp.c.AddNamespace(ns, tp.vipNet, "20.1.1.0/24", mustPrefix(addrProbe)); err != nil {
		return "", err
	}
	if err := netns.SetSysctl(ns, "net.ipv4.neigh.eth0.retrans_time_ms", probeARPRetry); err != nil {
		return "", err
	}
	tp.probeReady = true
	return ns, nil
}

// provisionRuns times o.ProvisionRuns creations made by once.
func (tp *dpTopo) provisionRuns(ctx context.Context, o DataplaneOptions, label string, once func(ctx context.Context, name, probeNS string) (ProvisionRun, error)) ProvisionResult {
	var res ProvisionResult
	probeNS, err := tp.probeNamespace()
	if err != nil {
		res.Err = err.Error()
		return res
	}
	var served, cached, active, creates, agentFirst, agentLast []time.Duration
	for i := range o.ProvisionRuns {
		// A fresh neighbour cache: the probe is a client that never saw
		// this address.
		if out, err := exec.CommandContext(ctx, "ip", "-n", probeNS, "neigh", "flush", "dev", "eth0").CombinedOutput(); err != nil {
			res.Err = fmt.Sprintf("neigh flush: %v %s", err, out)
			break
		}
		run, err := once(ctx, fmt.Sprintf("prov%d", i), probeNS)
		if err != nil {
			res.Err = fmt.Sprintf("run %d: %v", i+1, err)
			o.progress("%s: %s", label, res.Err)
			break
		}
		o.progress("%s run %d: first served %v (client with cached neighbour: %v), ACTIVE %v, agents applied %v..%v (POST %v, cleanup %v)", label, i+1,
			run.FirstServed.Round(time.Millisecond), run.CachedClient.Round(time.Millisecond), run.Active.Round(time.Millisecond),
			run.AgentFirst.Round(time.Millisecond), run.AgentLast.Round(time.Millisecond), run.VIPCreate.Round(time.Millisecond), run.Cleanup.Round(time.Millisecond))
		res.Runs = append(res.Runs, run)
		served, active, creates = append(served, run.FirstServed), append(active, run.Active), append(creates, run.VIPCreate)
		if run.CachedClient > 0 {
			cached = append(cached, run.CachedClient)
		} else {
			res.CachedMissed++
		}
		if run.AgentLast > 0 {
			agentFirst, agentLast = append(agentFirst, run.AgentFirst), append(agentLast, run.AgentLast)
		}
	}
	res.FirstServed, res.Active, res.VIPCreate = summarize(served), summarize(active), summarize(creates)
	res.CachedClient, res.AgentFirst, res.AgentLast = summarize(cached), summarize(agentFirst), summarize(agentLast)
	return res
}

// provisionOnce returns named results: the deferred cleanup records its
// own duration into run.
func (tp *dpTopo) provisionOnce(ctx context.Context, name, probeNS string) (run ProvisionRun, err error) {
	poolID, err := tp.createPool(name, backendAddrs)
	if err != nil {
		return run, err
	}
	defer tp.api.Call("DELETE", "/v2.0/lb/pools/"+poolID, nil, nil)
	t := time.Now()
	vip, err := tp.createVIP(name, poolID)
	if err != nil {
		return run, err
	}
	t0 := time.Now()
	run.VIPCreate = t0.Sub(t)
	defer func() {
		d := time.Now()
		_ = tp.api.Call("DELETE", "/v2.0/lb/vips/"+str(vip, "id"), nil, nil)
		if err := tp.waitInstancesGone(ctx, str(vip, "id"), 30*time.Second); err == nil {
			run.Cleanup = time.Since(d)
		}
	}()
	active := func() bool { st, err := tp.poolStatus(poolID); return err == nil && st == "ACTIVE" }
	return run, tp.timeServing(ctx, &run, str(vip, "id"), str(vip, "address"), probeNS, t, t0, active)
}

// timeServing fills run with when the load balancer lbID at address first
// served the probe clients and when active() first held, counted from t0,
// and when its agents applied it (their log lines after since).
func (tp *dpTopo) timeServing(ctx context.Context, run *ProvisionRun, lbID, address, probeNS string, since, t0 time.Time, active func() bool) error {
	const limit = 30 * time.Second
	pctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	url := "http://" + address + "/"
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		for pctx.Err() == nil {
			if active() {
				run.Active = time.Since(t0)
				return
			}
			_ = sleepCtx(pctx, probeEvery)
		}
	}()
	go func() { defer wg.Done(); run.FirstServed = probeUntilServed(pctx, probeNS, url, t0, limit) }()
	go func() {
		defer wg.Done()
		run.CachedClient = probeUntilServed(pctx, tp.vipClient, url, t0, cachedProbeLimit)
	}()
	wg.Wait()
	if applied := tp.appliedAt(lbID, since); len(applied) > 0 {
		run.AgentFirst, run.AgentLast = applied[0].Sub(t0), applied[len(applied)-1].Sub(t0)
	}
	if run.FirstServed == 0 || run.Active == 0 {
		return fmt.Errorf("not served and ACTIVE within %v (served after %v, ACTIVE after %v)", limit, run.FirstServed, run.Active)
	}
	return nil
}

// probeUntilServed sends a request from ns every probeEvery, each on a new
// connection and without waiting for the earlier ones (a probe to an
// address nobody holds yet may hang until ARP gives up), and returns when
// the first one was answered, after t0; 0 when none was within limit.
func probeUntilServed(ctx context.Context, ns, url string, t0 time.Time, limit time.Duration) time.Duration {
	ctx, cancel := context.WithDeadline(ctx, t0.Add(limit))
	defer cancel()
	hc := nsHTTPClient(ns, time.Second, false, 1)
	servedAt := make(chan time.Time, 1)
	tick := time.NewTicker(probeEvery)
	defer tick.Stop()
	var probes sync.WaitGroup
	defer probes.Wait()
	defer cancel() // runs before probes.Wait: stops the ones in flight
	for {
		probes.Add(1)
		go func() {
			defer probes.Done()
			if _, err := servedBy(ctx, hc, url); err == nil {
				select {
				case servedAt <- time.Now():
				default:
				}
			}
		}()
		select {
		case at := <-servedAt:
			return at.Sub(t0)
		case <-ctx.Done():
			return 0
		case <-tick.C:
		}
	}
}

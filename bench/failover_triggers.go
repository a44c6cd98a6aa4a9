package bench

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"time"

	"lbaas/internal/up"
)

// TriggerResult is every run of one trigger on one cluster.
type TriggerResult struct {
	Name string
	// Load is LoadIdle or LoadSaturated.
	Load string
	Runs []FailoverRun
	// Abandoned says why the remaining runs were skipped: a run after
	// which the pair could not be made whole again would only repeat
	// itself, minutes at a time.
	Abandoned string
}

// FailoverRun is one blow and what the clients saw.
type FailoverRun struct {
	// From is the node whose VM held the VIP; To the holder once traffic
	// flowed again ("" none, "a+b" both).
	From, To string
	// Gap, FromTrigger, Failed, Requests and Windows: see probeWindow.
	Gap, FromTrigger time.Duration
	Failed, Requests int
	Windows          int
	// WarmFailed of WarmRequests probe requests failed during the
	// warm-up, before the blow (requests in flight at the blow left out):
	// the failures the load alone causes.
	WarmFailed, WarmRequests int
	// PairWhole (node death only) is from the kill until the service
	// instance is ACTIVE with two VMs, neither on the dead node.
	PairWhole time.Duration
	// Settled is from the trigger until the pair was whole and serving
	// again, ready for the next run (repair included).
	Settled time.Duration
	Err     string
	// unsettled: not even the clean-up brought the pair back.
	unsettled bool
}

// Moved says the VIP ended on another VM.
func (r FailoverRun) Moved() bool { return r.To != "" && r.To != r.From }

// valid says the run measured a gap: a window of failed requests, or a
// switch that no request noticed (no failure at all: a gap of zero).
func (r FailoverRun) valid() bool {
	return r.Err == "" && (r.Gap > 0 || r.Failed == 0 && r.Requests > 0)
}

// Gaps summarises the runs' gaps (runs with an error are left out; see
// Runs).
func (t TriggerResult) Gaps() Latency {
	var ds []time.Duration
	for _, r := range t.Runs {
		if r.valid() {
			ds = append(ds, r.Gap)
		}
	}
	return summarize(ds)
}

// Wholes summarises PairWhole over the runs that measured it.
func (t TriggerResult) Wholes() Latency {
	var ds []time.Duration
	for _, r := range t.Runs {
		if r.Err == "" && r.PairWhole > 0 {
			ds = append(ds, r.PairWhole)
		}
	}
	return summarize(ds)
}

// Errors lists the distinct errors of the runs.
func (t TriggerResult) Errors() []string {
	var out []string
	for _, r := range t.Runs {
		if r.Err != "" && !slices.Contains(out, r.Err) {
			out = append(out, r.Err)
		}
	}
	return out
}

// triggerOrder is the report's order. The runs put the link deletion
// last (runCluster): a repaired vip0 restarts its VM's keepalived, which
// the other measures should not depend on.
var triggerOrder = []string{TriggerHAProxyAlone, TriggerHAProxyAgent, TriggerNodeResigning, TriggerNodeSilent, TriggerLink}

// nodeDeath says whether a trigger kills a whole node, and how.
func nodeDeath(trigger string) (up.NodeDeath, bool) {
	switch trigger {
	case TriggerNodeSilent:
		return up.Silent, true
	case TriggerNodeResigning:
		return up.Resigning, true
	}
	return 0, false
}

func (ft *foTopo) triggers(ctx context.Context, o FailoverOptions, load string, names ...string) []TriggerResult {
	var out []TriggerResult
	for _, name := range names {
		tr := TriggerResult{Name: name, Load: load}
		for i := range o.Runs {
			if ctx.Err() != nil {
				break
			}
			r := ft.failoverOnce(ctx, o, name, load)
			o.progress("advert %v: %s, %s, run %d: %s -> %s gap %s (%d of %d failed, %d windows; warm-up %d of %d failed) pair whole %s settled %s %s",
				ft.advert, name, load, i+1, r.From, r.To, ms(r.Gap), r.Failed, r.Requests, r.Windows, r.WarmFailed, r.WarmRequests,
				ms(r.PairWhole), ms(r.Settled), r.Err)
			tr.Runs = append(tr.Runs, r)
			if r.unsettled && i+1 < o.Runs {
				tr.Abandoned = fmt.Sprintf("runs %d..%d skipped: the pair was not whole again after run %d", i+2, o.Runs, i+1)
				break
			}
		}
		out = append(out, tr)
	}
	return out
}

// settleLimit bounds every wait for the pair to be whole again: the
// agent re-plumbs a deleted link every 5 s, a dead node's lease runs
// out in seconds.
const settleLimit = 60 * time.Second

// warmLimit bounds the wait for a steady service before a blow.
const warmLimit = 10 * time.Second

// failoverOnce strikes the VM that holds the VIP once and measures the
// outage, then brings the pair back whole. Saturated, stress-ng runs from
// before the warm-up until the window closed.
func (ft *foTopo) failoverOnce(ctx context.Context, o FailoverOptions, trigger, load string) (run FailoverRun) {
	var sat *saturation
	fail := func(err error) FailoverRun {
		sat.stop()
		run.Err = err.Error()
		// Leave a whole pair for the next run whatever happened.
		for node := range ft.c.Agents() {
			_ = ft.c.StartAgent(node) // a running agent refuses: fine
		}
		run.unsettled = ft.waitSettled(ctx, settleLimit) != nil
		return run
	}
	if err := ft.waitSettled(ctx, settleLimit); err != nil {
		return fail(err)
	}
	vms, _, _, err := ft.pair()
	if err != nil {
		return fail(err)
	}
	active, _, err := ft.activeOf(vms)
	if err != nil {
		return fail(err)
	}
	run.From = active.Node
	limit := 10*time.Second + 10*ft.advert
	if load == LoadSaturated {
		if sat, err = saturate(warmLimit + limit + 15*time.Second); err != nil {
			return fail(err)
		}
		defer sat.stop()
	}
	p := startProbes(ctx, ft.pubClient, ft.url(), o.Probers, o.ProbeEvery, o.ProbeTimeout)
	defer p.stop()
	warm := time.Now()
	if !p.waitStable(ctx, warm, 0, 200*time.Millisecond, warmLimit) {
		return fail(fmt.Errorf("bench: the floating IP did not answer steadily before the trigger"))
	}

	var strike func() error
	switch trigger {
	case TriggerHAProxyAlone:
		// Without the agent, nothing rebuilds the HAProxy: only VRRP
		// can restore the service.
		ft.c.StopAgent(active.Node, false)
		strike = func() error { return killHAProxy(active) }
	case TriggerHAProxyAgent:
		strike = func() error { return killHAProxy(active) }
	case TriggerLink:
		strike = func() error {
			out, err := exec.CommandContext(ctx, "ip", "netns", "exec", active.Namespace, "ip", "link", "del", "vip0").CombinedOutput()
			if err != nil {
				return fmt.Errorf("ip link del vip0 in %s: %v %s", active.Namespace, err, strings.TrimSpace(string(out)))
			}
			return nil
		}
	case TriggerNodeSilent, TriggerNodeResigning:
		how, _ := nodeDeath(trigger)
		strike = func() error { _, err := ft.c.KillNode(active.Node, how); return err }
	}
	t0 := time.Now()
	if err := strike(); err != nil {
		p.stop()
		return fail(err)
	}
	closed := p.waitStable(ctx, t0, 300*time.Millisecond, o.StableFor, limit)
	samples := p.stop()
	sat.stop()
	w := windowAfter(samples, t0, o.ProbeTimeout)
	var warmSamples []probeSample
	for _, x := range samples {
		if x.start.Before(t0.Add(-o.ProbeTimeout)) {
			warmSamples = append(warmSamples, x)
		}
	}
	run.WarmRequests, run.WarmFailed, _ = countFailed(warmSamples)
	run.Gap, run.FromTrigger, run.Failed, run.Requests, run.Windows = w.Gap, w.FromTrigger, w.Failed, w.Requests, w.Runs
	run.To = ft.holder(vms)
	if !closed || !w.Closed {
		run.Err = fmt.Sprintf("service not steadily back within %v", limit)
	}

	switch trigger {
	case TriggerHAProxyAlone:
		if err := ft.c.StartAgent(active.Node); err != nil {
			return fail(err)
		}
	case TriggerNodeSilent, TriggerNodeResigning:
		whole, err := ft.waitPairWhole(ctx, active.Node, t0)
		if err != nil {
			_ = ft.c.StartAgent(active.Node)
			return fail(err)
		}
		run.PairWhole = whole
		if err := ft.c.StartAgent(active.Node); err != nil {
			return fail(err)
		}
	}
	if err := ft.waitSettled(ctx, settleLimit); err != nil {
		return fail(err)
	}
	run.Settled = time.Since(t0)
	return run
}

// waitPairWhole polls the service instance until it is ACTIVE with two
// VMs, neither on the dead node, and returns the time since t0.
func (ft *foTopo) waitPairWhole(ctx context.Context, dead string, t0 time.Time) (time.Duration, error) {
	deadline := t0.Add(settleLimit)
	last := ""
	for time.Now().Before(deadline) {
		vms, status, ha, err := ft.pair()
		if err == nil && status == "ACTIVE" && len(vms) == 2 && !strings.Contains(ha, dead) &&
			!slices.ContainsFunc(vms, func(v foVM) bool { return v.Node == dead }) {
			return time.Since(t0), nil
		}
		last = fmt.Sprintf("%s (%s) %v", status, ha, err)
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return 0, err
		}
	}
	return 0, fmt.Errorf("bench: pair not whole within %v of the node's death: %s", settleLimit, last)
}

package bench

import (
	"context"
	"time"
)

// RestartsResult is control-plane restarts under a 10 ms prober: none
// may fail a request or move the VIP.
type RestartsResult struct {
	Steps []RestartStep
	// ProbeTimeout is the prober's per-request limit here.
	ProbeTimeout time.Duration
	Err          string
}

// RestartStep is one restart.
type RestartStep struct {
	Name string
	// Requests and Failed count the prober's requests from the first stop
	// until the pair was settled again; Slowest is the longest request.
	Requests, Failed int
	Slowest          time.Duration
	// Before and After name the node holding the VIP.
	Before, After string
	Took          time.Duration
	Err           string
}

// Failovered says the VIP moved.
func (s RestartStep) Failovered() bool { return s.Before != s.After }

// restartProbeTimeout: a restart may slow a request, and this section
// counts failures, not latency (the slowest request is reported); 1 s is
// what an impatient client would wait.
const restartProbeTimeout = time.Second

func (ft *foTopo) restarts(ctx context.Context, o FailoverOptions) (res RestartsResult) {
	res.ProbeTimeout = restartProbeTimeout
	if err := ft.waitSettled(ctx, settleLimit); err != nil {
		res.Err = err.Error()
		return res
	}
	vms, _, _, err := ft.pair()
	if err != nil {
		res.Err = err.Error()
		return res
	}
	startServer := func() error { return ft.c.StartServer(ctx) }
	steps := []struct {
		name string
		do   func(active, standby foVM) error
	}{
		{"agent of the active restarted (SIGTERM)", func(a, _ foVM) error {
			ft.c.StopAgent(a.Node, false)
			return ft.c.StartAgent(a.Node)
		}},
		{"agent of the standby restarted (SIGTERM)", func(_, s foVM) error {
			ft.c.StopAgent(s.Node, false)
			return ft.c.StartAgent(s.Node)
		}},
		{"API server and controller restarted", func(_, _ foVM) error {
			ft.c.StopServer()
			_ = sleepCtx(ctx, time.Second)
			return startServer()
		}},
		{"server down, active's agent SIGKILLed and restarted, server back", func(a, _ foVM) error {
			ft.c.StopServer()
			ft.c.StopAgent(a.Node, true)
			if err := ft.c.StartAgent(a.Node); err != nil {
				return err
			}
			_ = sleepCtx(ctx, time.Second)
			return startServer()
		}},
	}
	for _, s := range steps {
		if ctx.Err() != nil {
			break
		}
		step := RestartStep{Name: s.name}
		active, standby, err := ft.activeOf(vms)
		if err != nil {
			res.Err = err.Error()
			break
		}
		step.Before = active.Node
		p := startProbes(ctx, ft.pubClient, ft.url(), 1, o.ProbeEvery, restartProbeTimeout)
		t0 := time.Now()
		if !p.waitStable(ctx, t0, 0, 200*time.Millisecond, 10*time.Second) {
			step.Err = "the floating IP did not answer steadily before the restart"
		}
		t1 := time.Now()
		if err := s.do(active, standby); err != nil && step.Err == "" {
			step.Err = err.Error()
		}
		if err := ft.waitSettled(ctx, settleLimit); err != nil && step.Err == "" {
			step.Err = err.Error()
		}
		// The restarted agents have reconciled and reported by now; a
		// little more for anything they would do late.
		_ = sleepCtx(ctx, 2*time.Second)
		var from []probeSample
		for _, x := range p.stop() {
			if !x.start.Before(t1) {
				from = append(from, x)
			}
		}
		step.Requests, step.Failed, step.Slowest = countFailed(from)
		step.After = ft.holder(vms)
		step.Took = time.Since(t1)
		o.progress("restart %q: %d of %d failed, slowest %s, VIP %s -> %s %s", s.name, step.Failed, step.Requests, ms(step.Slowest), step.Before, step.After, step.Err)
		res.Steps = append(res.Steps, step)
		if fresh, _, _, err := ft.pair(); err == nil {
			vms = fresh
		}
	}
	return res
}

// Failed totals the failed requests of every step and counts the steps
// after which another VM held the VIP.
func (r RestartsResult) Failed() (failed int, failovers int) {
	for _, s := range r.Steps {
		failed += s.Failed
		if s.Failovered() {
			failovers++
		}
	}
	return failed, failovers
}

// restartsSaturatedLimit bounds the hogs of the saturated restarts: four
// restarts of a few seconds each.
const restartsSaturatedLimit = 2 * time.Minute

// restartsSaturated runs the restarts again with stress-ng hogging every
// CPU: agents and the server start slower, and still no request may fail.
func (ft *foTopo) restartsSaturated(ctx context.Context, o FailoverOptions) RestartsResult {
	sat, err := saturate(restartsSaturatedLimit)
	if err != nil {
		return RestartsResult{ProbeTimeout: restartProbeTimeout, Err: err.Error()}
	}
	defer sat.stop()
	return ft.restarts(ctx, o)
}

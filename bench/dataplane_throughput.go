package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"lbaas/internal/netns"
)

// Target names, used by the report for the ratios.
const (
	TargetFloatingIP  = "ours via floating IP"
	TargetVIP         = "ours via VIP"
	TargetHand        = "hand-written HAProxy"
	TargetHandThread1 = "hand-written HAProxy, nbthread 1"
	TargetDirect      = "direct to one member"
)

// ThroughputResult compares wrk runs against each target, measured in
// alternation in the same run.
type ThroughputResult struct {
	Targets []TargetResult
	Err     string
}

// TargetResult is every round's wrk run against one target.
type TargetResult struct {
	Name string
	// Path says what the requests cross, for the report.
	Path string
	URL  string
	Runs []WrkResult
	Err  string
	// CPU is the time the serving HAProxy's processes used during the
	// rounds in which they could be measured (CPURequests requests).
	CPU         time.Duration
	CPURequests int64
	// processes, when set, returns the pids whose CPU time a round
	// charges to this target.
	processes func() []int
}

// CPUPerRequest is the serving HAProxy's CPU time per request (0 when
// not measured).
func (t TargetResult) CPUPerRequest() time.Duration {
	if t.CPURequests == 0 {
		return 0
	}
	return t.CPU / time.Duration(t.CPURequests)
}

// ReqPerSec is the mean over the rounds.
func (t TargetResult) ReqPerSec() float64 {
	if len(t.Runs) == 0 {
		return 0
	}
	var s float64
	for _, r := range t.Runs {
		s += r.ReqPerSec
	}
	return s / float64(len(t.Runs))
}

// P50 is the median over the rounds of wrk's 50th percentile.
func (t TargetResult) P50() time.Duration {
	return t.median(func(r WrkResult) time.Duration { return r.P50 })
}

// P99 is the median over the rounds of wrk's 99th percentile.
func (t TargetResult) P99() time.Duration {
	return t.median(func(r WrkResult) time.Duration { return r.P99 })
}

// Errors sums wrk's errors over the rounds.
func (t TargetResult) Errors() int64 {
	var n int64
	for _, r := range t.Runs {
		n += r.Errors
	}
	return n
}

func (t TargetResult) median(f func(WrkResult) time.Duration) time.Duration {
	if len(t.Runs) == 0 {
		return 0
	}
	ds := make([]time.Duration, len(t.Runs))
	for i, r := range t.Runs {
		ds[i] = f(r)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[(len(ds)-1)/2]
}

// Target returns the named target's result (zero when absent).
func (r ThroughputResult) Target(name string) TargetResult {
	for _, t := range r.Targets {
		if t.Name == name {
			return t
		}
	}
	return TargetResult{}
}

// Ratio is req/s of target a over target b (0 when either is missing).
func (r ThroughputResult) Ratio(a, b string) float64 {
	return ratio(r.Target(a).ReqPerSec(), r.Target(b).ReqPerSec())
}

// Ports of the hand-written HAProxy processes.
const (
	handPort        = 8080
	handThread1Port = 8081
)

func (tp *dpTopo) throughput(ctx context.Context, o DataplaneOptions) ThroughputResult {
	var res ThroughputResult
	handNS := tp.prefix + "hand"
	if err := tp.startHandWritten(ctx, handNS); err != nil {
		res.Err = "hand-written HAProxy: " + err.Error()
		o.progress("throughput: %s", res.Err)
	}
	hand := mustPrefix(addrHandVIP).Addr().String()
	member := mustPrefix(backendAddrs[0]).Addr().String()
	res.Targets = []TargetResult{
		{Name: TargetFloatingIP, Path: "client on Public → router NAT → our HAProxy (generated config) → 2 members", URL: "http://" + tp.fip + "/"},
		{Name: TargetVIP, Path: "client on the VIP network → our HAProxy (generated config) → 2 members", URL: "http://" + tp.vipAddr + "/"},
		{Name: TargetHand, Path: "client on the VIP network → minimal hand-written config (HAProxy's default threads) → same 2 members", URL: fmt.Sprintf("http://%s:%d/", hand, handPort)},
		{Name: TargetHandThread1, Path: "as above with `nbthread 1`, as ours", URL: fmt.Sprintf("http://%s:%d/", hand, handThread1Port)},
		{Name: TargetDirect, Path: "client on the pool network → member 10.1.1.2:80 (no load balancer)", URL: "http://" + member + "/"},
	}
	clientOf := map[string]string{TargetFloatingIP: tp.pubClient, TargetVIP: tp.vipClient, TargetHand: tp.vipClient, TargetHandThread1: tp.vipClient, TargetDirect: tp.poolClient}
	skip := func(t *TargetResult) bool {
		return res.Err != "" && (t.Name == TargetHand || t.Name == TargetHandThread1)
	}
	wrkRounds(ctx, o, "throughput", res.Targets, clientOf, skip)
	return res
}

// wrkRounds runs wrk against every target from its client namespace, the
// targets taking turns within each of o.Rounds rounds so that all see the
// same machine; skip (may be nil) leaves a target out.
func wrkRounds(ctx context.Context, o DataplaneOptions, label string, targets []TargetResult, clientOf map[string]string, skip func(*TargetResult) bool) {
	for round := 1; round <= o.Rounds; round++ {
		for i := range targets {
			t := &targets[i]
			if skip != nil && skip(t) {
				continue
			}
			var cpu0 cpuSample
			measured := false
			if t.processes != nil {
				cpu0, measured = sampleCPU(t.processes())
			}
			r, err := runWrk(ctx, clientOf[t.Name], t.URL, o)
			if measured && err == nil {
				if cpu1, ok := sampleCPU(t.processes()); ok {
					if used, same := cpu1.since(cpu0); same {
						t.CPU += used
						t.CPURequests += r.Requests
					}
				}
			}
			if err != nil {
				t.Err = err.Error()
				o.progress("%s round %d %s: %v", label, round, t.Name, err)
				continue
			}
			t.Runs = append(t.Runs, r)
			o.progress("%s round %d %s: %.0f req/s p50 %v p99 %v errors %d", label, round, t.Name, r.ReqPerSec, r.P50, r.P99, r.Errors)
		}
	}
}

// handConfig is the smallest sensible HAProxy configuration for the same
// job: what "our generated config costs nothing" is measured against.
func handConfig(bind string, extraGlobal string) string { return handConfigWith(bind, extraGlobal, "") }

// handConfigWith is handConfig with more frontend lines (rules).
func handConfigWith(bind, extraGlobal, frontendRules string) string {
	return fmt.Sprintf(`global
    maxconn 4096
%s
defaults
    mode http
    timeout connect 5s
    timeout client 50s
    timeout server 50s

frontend fe
    bind %s
%s    default_backend be

backend be
    balance roundrobin
    server m1 %s:80
    server m2 %s:80
`, extraGlobal, bind, frontendRules, mustPrefix(backendAddrs[0]).Addr(), mustPrefix(backendAddrs[1]).Addr())
}

// startHandWritten runs two hand-written HAProxy processes (default
// threads and nbthread 1) in a namespace of their own attached to the VIP
// and pool networks, and waits until both serve.
func (tp *dpTopo) startHandWritten(ctx context.Context, ns string) error {
	if err := tp.c.AddNamespace(ns, tp.vipNet, "20.1.1.0/24", mustPrefix(addrHandVIP)); err != nil {
		return err
	}
	if err := tp.c.Fabric.Attach(netns.AttachSpec{Namespace: ns, IfName: "eth1", NetworkID: tp.poolNet, Address: mustPrefix(addrHandPool)}); err != nil {
		return err
	}
	tp.handNS = ns
	hand := mustPrefix(addrHandVIP).Addr().String()
	return tp.runHandWritten(ctx, map[int]string{
		handPort:        handConfig(fmt.Sprintf("%s:%d", hand, handPort), ""),
		handThread1Port: handConfig(fmt.Sprintf("%s:%d", hand, handThread1Port), "    nbthread 1\n"),
	})
}

// runHandWritten starts one hand-written HAProxy per configuration, by
// port, in the hand-written namespace, and waits until each serves.
func (tp *dpTopo) runHandWritten(ctx context.Context, cfgs map[int]string) error {
	hand := mustPrefix(addrHandVIP).Addr().String()
	return tp.runHandWrittenWith(ctx, cfgs, func(ctx context.Context, port int) error {
		return waitServed(ctx, tp.vipClient, fmt.Sprintf("http://%s:%d/", hand, port), 10*time.Second)
	})
}

// runHandWrittenWith is runHandWritten with its own readiness check per
// port (a TLS-only frontend does not answer plain HTTP).
func (tp *dpTopo) runHandWrittenWith(ctx context.Context, cfgs map[int]string, ready func(ctx context.Context, port int) error) error {
	dir, err := os.MkdirTemp("", "lbt-bench-hand")
	if err != nil {
		return err
	}
	tp.stops = append(tp.stops, func() { os.RemoveAll(dir) })
	ns := tp.handNS
	ports := make([]int, 0, len(cfgs))
	for port := range cfgs {
		ports = append(ports, port)
	}
	sort.Ints(ports)
	for _, port := range ports {
		p := struct{ port int }{port}
		cfg := filepath.Join(dir, fmt.Sprintf("haproxy-%d.cfg", p.port))
		if err := os.WriteFile(cfg, []byte(cfgs[port]), 0o600); err != nil {
			return err
		}
		logf, err := os.Create(cfg + ".log")
		if err != nil {
			return err
		}
		// -db: foreground, so that the process we started is the one we stop.
		cmd := exec.Command("haproxy", "-db", "-f", cfg)
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := netns.StartProcess(ns, cmd); err != nil {
			logf.Close()
			return err
		}
		if tp.handPids == nil {
			tp.handPids = map[int]int{}
		}
		tp.handPids[p.port] = cmd.Process.Pid
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
		tp.stops = append(tp.stops, func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				_ = cmd.Process.Kill()
				<-done
			}
		})
		if err := ready(ctx, p.port); err != nil {
			b, _ := os.ReadFile(cfg + ".log")
			return fmt.Errorf("%v; haproxy said: %s", err, b)
		}
	}
	return nil
}

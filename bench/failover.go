package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"lbaas/internal/vrrp"
)

// Goals of the failover section (reported, never asserted).
const (
	AimFailoverP50     = 100 * time.Millisecond
	AimFailoverMax     = 300 * time.Millisecond
	AimPairWhole       = 5 * time.Second
	FailoverReproduce  = "./lbaas.sh bench failover"
	FailoverNSPrefix   = "lbt-fbench-"
	defaultBaselineAdv = time.Second
)

// Trigger names.
const (
	TriggerHAProxyAlone  = "HAProxy dies, agent stopped (VRRP alone)"
	TriggerHAProxyAgent  = "HAProxy dies, agent running"
	TriggerNodeResigning = "node dies resigning (HAProxy first)"
	TriggerNodeSilent    = "node dies silently (power loss)"
	TriggerLink          = "vip0 link deleted"
)

// Loads a trigger runs under: nothing else running, or stress-ng keeping
// every CPU busy (2 hogs per CPU) from before the warm-up until the
// window closed.
const (
	LoadIdle      = "idle"
	LoadSaturated = "saturated"
)

// Cluster kinds: the shipped advert interval gets every trigger idle and
// saturated, the restarts and the spurious watch; an alternative interval
// the silent node death idle and saturated and the spurious watch; the
// baseline (keepalived's 1 s default) every trigger idle.
const (
	KindShipped     = "shipped"
	KindAlternative = "alternative"
	KindBaseline    = "baseline"
)

// FailoverOptions configure RunFailover. Zero values take the defaults
// documented on each field; Quick shrinks everything for a unit test.
type FailoverOptions struct {
	// Binary is the lbaas executable the agents run; empty builds one.
	Binary string
	// TempDir holds the clusters' files (os.TempDir()).
	TempDir string
	// Quick makes a smoke run (1 run per trigger, 5 s of load).
	Quick bool
	// Runs per trigger and cluster (5; quick 1).
	Runs int
	// Advert is the cluster under test's VRRP advert interval (0: the
	// shipped default, vrrp.DefaultAdvertInterval).
	Advert time.Duration
	// BaselineAdvert is the baseline cluster's advert interval (1 s, the
	// keepalived default); negative skips the baseline.
	BaselineAdvert time.Duration
	// Alternatives are advert intervals tried beside the shipped one for
	// the trade-off between silent-death failover and spurious
	// failovers (nil: 10 ms and 20 ms, below the shipped 30 ms;
	// an empty non-nil slice or zeros: none). Intervals equal to Advert
	// are skipped.
	Alternatives []time.Duration
	// A window is measured by a request every ProbeEvery/Probers (10 ms /
	// 4), each on a new connection and independent of the others, given up
	// after ProbeTimeout (500 ms). The gap is measured between request
	// starts, so the bound does not lengthen it; a bound of 50 ms failed
	// half the requests of a saturated host before any blow, the client's
	// own wait for a CPU (the probe shares the machine it measures).
	Probers      int
	ProbeEvery   time.Duration
	ProbeTimeout time.Duration
	// StableFor is how long the service must answer without a failure for
	// a window to count as closed (300 ms).
	StableFor time.Duration
	// SpuriousDuration is the saturating load (wrk through the floating IP
	// and stress-ng) during which VIP moves are counted, per cluster
	// watched (60 s; quick 5 s); SpuriousConnections is wrk's -c (64;
	// quick 16).
	SpuriousDuration    time.Duration
	SpuriousConnections int
	// Progress, when set, receives one line per step.
	Progress io.Writer
}

func (o FailoverOptions) withDefaults() FailoverOptions {
	pick := func(full, quick int) int {
		if o.Quick {
			return quick
		}
		return full
	}
	if o.Runs <= 0 {
		o.Runs = pick(5, 1)
	}
	if o.Advert <= 0 {
		o.Advert = vrrp.DefaultAdvertInterval
	}
	if o.BaselineAdvert == 0 {
		o.BaselineAdvert = defaultBaselineAdv
	}
	if o.Alternatives == nil {
		// A smoke run tries one: the code path is the same for each.
		o.Alternatives = []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}[:pick(2, 1)]
	}
	if o.Probers <= 0 {
		o.Probers = 4
	}
	if o.ProbeEvery <= 0 {
		o.ProbeEvery = 10 * time.Millisecond
	}
	if o.ProbeTimeout <= 0 {
		o.ProbeTimeout = 500 * time.Millisecond
	}
	if o.StableFor <= 0 {
		o.StableFor = 300 * time.Millisecond
	}
	if o.SpuriousDuration <= 0 {
		o.SpuriousDuration = time.Duration(pick(60, 5)) * time.Second
	}
	if o.SpuriousConnections <= 0 {
		o.SpuriousConnections = pick(64, 16)
	}
	if o.TempDir == "" {
		o.TempDir = os.TempDir()
	}
	return o
}

func (o FailoverOptions) progress(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, time.Now().Format("15:04:05 ")+format+"\n", args...)
	}
}

// FailoverReport is the outcome of RunFailover.
type FailoverReport struct {
	Machine           Machine
	LoadAvgEnd        string
	HAProxyVersion    string
	KeepalivedVersion string
	WrkVersion        string
	StressVersion     string
	Quick             bool
	Options           FailoverOptions
	// Clusters are the cluster under test (shipped), the alternatives,
	// then the baseline.
	Clusters []ClusterFailover
	// Restarts ran on the cluster under test, idle and with the CPUs
	// saturated.
	Restarts, RestartsSaturated RestartsResult
	Elapsed                     time.Duration
}

// ClusterFailover is every trigger on one cluster (one advert interval).
type ClusterFailover struct {
	Advert time.Duration
	// Kind is KindShipped, KindAlternative or KindBaseline.
	Kind     string
	Triggers []TriggerResult
	// Spurious is the watch under saturating load (nil: not run here).
	Spurious *SpuriousResult
	// Err is a failed setup: no trigger ran.
	Err string
}

// Trigger returns the named trigger's result under load (zero if it did
// not run).
func (c ClusterFailover) Trigger(name, load string) TriggerResult {
	for _, t := range c.Triggers {
		if t.Name == name && t.Load == load {
			return t
		}
	}
	return TriggerResult{}
}

// clusterPlan is one cluster to bring up and what to run on it.
type clusterPlan struct {
	advert time.Duration
	kind   string
}

func (o FailoverOptions) plans() []clusterPlan {
	out := []clusterPlan{{o.Advert, KindShipped}}
	for _, adv := range o.Alternatives {
		if adv > 0 && adv != o.Advert {
			out = append(out, clusterPlan{adv, KindAlternative})
		}
	}
	if o.BaselineAdvert > 0 {
		out = append(out, clusterPlan{o.BaselineAdvert, KindBaseline})
	}
	return out
}

// runCluster runs a cluster's share of the measures on it.
func (ft *foTopo) runCluster(ctx context.Context, o FailoverOptions, rep *FailoverReport, cf *ClusterFailover) {
	both := []string{LoadIdle, LoadSaturated}
	watch := func() {
		sp := ft.spurious(ctx, o)
		cf.Spurious = &sp
	}
	switch cf.Kind {
	case KindShipped:
		for _, load := range both {
			cf.Triggers = append(cf.Triggers, ft.triggers(ctx, o, load,
				TriggerHAProxyAlone, TriggerHAProxyAgent, TriggerNodeResigning, TriggerNodeSilent)...)
		}
		rep.Restarts = ft.restarts(ctx, o)
		rep.RestartsSaturated = ft.restartsSaturated(ctx, o)
		watch()
		// Last: a re-created vip0 restarts its VM's keepalived; the
		// other measures should not depend on that repair.
		for _, load := range both {
			cf.Triggers = append(cf.Triggers, ft.triggers(ctx, o, load, TriggerLink)...)
		}
	case KindAlternative:
		for _, load := range both {
			cf.Triggers = append(cf.Triggers, ft.triggers(ctx, o, load, TriggerNodeSilent)...)
		}
		watch()
	case KindBaseline:
		cf.Triggers = ft.triggers(ctx, o, LoadIdle,
			TriggerHAProxyAlone, TriggerHAProxyAgent, TriggerNodeResigning, TriggerNodeSilent, TriggerLink)
	}
}

// RunFailover brings up a deployment with the shipped advert interval and
// measures every failover trigger idle and saturated, restarts without
// failover, and VIP moves under saturating load; then one deployment per
// alternative advert interval for the silent node death and the VIP
// moves; then one with the 1 s baseline advert for every trigger idle. A failing section is recorded in
// its result (Err) and the others still run; only a failed build is an
// error. Every cluster is removed before it returns.
func RunFailover(ctx context.Context, o FailoverOptions) (*FailoverReport, error) {
	o = o.withDefaults()
	if os.Geteuid() != 0 {
		return nil, errors.New("bench: the failover benchmark builds namespaces: run it as root")
	}
	for _, bin := range []string{"haproxy", "keepalived", "wrk", "ip"} {
		if _, err := exec.LookPath(bin); err != nil {
			return nil, fmt.Errorf("bench: %s is not installed", bin)
		}
	}
	start := time.Now()
	root, err := os.MkdirTemp(o.TempDir, "lbt-fb")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(root)
	rep := &FailoverReport{Machine: describeMachine(root), Quick: o.Quick, Options: o,
		HAProxyVersion: firstLineOf("haproxy", "-v"), KeepalivedVersion: firstLineOf("keepalived", "--version"), WrkVersion: firstLineOf("wrk", "-v"),
		StressVersion: firstLineOf("stress-ng", "--version")}
	if o.Binary == "" {
		o.progress("building lbaas")
		if o.Binary, err = buildLbaas(ctx, root); err != nil {
			return nil, err
		}
		rep.Options.Binary = ""
	}
	for i, pl := range o.plans() {
		if ctx.Err() != nil {
			break
		}
		cf := ClusterFailover{Advert: pl.advert, Kind: pl.kind}
		func() {
			ft, err := startFailoverTopo(ctx, o, filepath.Join(root, fmt.Sprintf("c%d", i)), pl.advert)
			if ft != nil {
				defer ft.close()
			}
			if err != nil {
				cf.Err = err.Error()
				o.progress("advert %v: setup failed: %v", pl.advert, err)
				return
			}
			o.progress("advert %v (%s): cluster up (namespaces %s*)", pl.advert, pl.kind, ft.prefix)
			ft.runCluster(ctx, o, rep, &cf)
		}()
		rep.Clusters = append(rep.Clusters, cf)
	}
	rep.LoadAvgEnd = describeMachine(root).LoadAvg
	rep.Elapsed = time.Since(start)
	return rep, ctx.Err()
}

// foTopo is a deployment with one load balancer behind a floating IP and
// a client namespace on the public network.
type foTopo struct {
	*dpTopo
	advert time.Duration
}

// startFailoverTopo builds what startDataplaneTopo builds for one load
// balancer, with the failover prefix and the given advert interval.
func startFailoverTopo(ctx context.Context, o FailoverOptions, dir string, advert time.Duration) (*foTopo, error) {
	tp, err := startSeedTopo(ctx, seedTopo{
		prefix: fmt.Sprintf("%s%06x-", FailoverNSPrefix, rand.Uint32()&0xffffff),
		dir:    dir, binary: o.Binary, advert: advert, name: "fbench",
	})
	if tp == nil {
		return nil, err
	}
	ft := &foTopo{dpTopo: tp, advert: advert}
	if err == nil {
		err = ft.waitSettled(ctx, 90*time.Second)
	}
	return ft, err
}

func (ft *foTopo) url() string { return "http://" + ft.fip + "/" }

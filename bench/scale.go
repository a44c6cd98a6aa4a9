package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"lbaas/internal/agentapi"
	"lbaas/internal/model"
	"lbaas/internal/server"
)

// ScaleReproduceCmd reproduces the scale benchmark.
const ScaleReproduceCmd = "./lbaas.sh bench scale"

// Aims of the scale benchmark.
const (
	// AimSpread: the busiest and the idlest live node within 10 % of the
	// ideal (VMs / nodes).
	AimSpread = 0.10
	// AimRepair: every pair whole again this long after the storm.
	AimRepair = 30 * time.Second
)

// ScaleOptions configure the scale benchmark.
type ScaleOptions struct {
	// Nodes simulated agents in Zones failure domains; LoadBalancers
	// created through the Octavia API; KillFraction of the nodes die at
	// once.
	Nodes, Zones, LoadBalancers int
	KillFraction                float64
	// Creators is the number of concurrent API clients creating.
	Creators int
	// ProfileDir, when set, receives CPU profiles of the creation
	// (scale-create.pprof) and of the repair (scale-repair.pprof).
	ProfileDir string
	Quick      bool
	Progress   io.Writer
}

func (o ScaleOptions) withDefaults() ScaleOptions {
	if o.Nodes <= 0 {
		o.Nodes = 1000
	}
	if o.Zones <= 0 {
		o.Zones = 10
	}
	if o.LoadBalancers <= 0 {
		o.LoadBalancers = 10000
	}
	if o.KillFraction <= 0 {
		o.KillFraction = 0.1
	}
	if o.Creators <= 0 {
		o.Creators = 8
	}
	if o.Quick {
		o.Nodes, o.LoadBalancers = min(o.Nodes, 50), min(o.LoadBalancers, 200)
	}
	return o
}

func (o ScaleOptions) progress(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "scale: "+format+"\n", args...)
	}
}

// ScaleReport is what the scale benchmark measured.
type ScaleReport struct {
	Machine Machine
	Options ScaleOptions
	Elapsed time.Duration

	// Creation: the API's create calls, and each load balancer from its
	// create call to its two VMs being placed and in their agents' desired
	// state.
	CreateElapsed time.Duration
	PlacedElapsed time.Duration
	PlaceLatency  Latency
	// Spread over live nodes after creation and after the repair.
	Spread, SpreadAfter SpreadResult
	// SameDomain counts load balancers with both VMs in one zone.
	SameDomain, SameDomainAfter int
	// Storm: the nodes killed at once, until every pair was whole again.
	Killed       int
	Broken       int // pairs with a VM on a killed node
	RepairTime   time.Duration
	Repaired     bool
	StoreWrites  int64 // store revisions during the repair
	StoreRevRate float64
	Err          string
}

// SpreadResult is how evenly VMs sit on live nodes.
type SpreadResult struct {
	Min, Max int
	Ideal    float64
}

// Within reports whether max and min are within frac of the ideal.
func (s SpreadResult) Within(frac float64) bool {
	return float64(s.Max) <= math.Ceil(s.Ideal*(1+frac)) && float64(s.Min) >= math.Floor(s.Ideal*(1-frac))
}

// simAgent is an agent without a data plane: it beats, long-polls its
// desired state and reports every VM it is told about as running, with
// the VRRP state its priority gives.
type simAgent struct {
	name, zone string
	cli        *agentapi.Client
	cancel     context.CancelFunc
	done       chan struct{}

	mu  sync.Mutex
	vms map[string]string // VM id -> service instance id, as last told
}

func (a *simAgent) run(ctx context.Context) {
	defer close(a.done)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		hb := agentapi.Heartbeat{Version: "bench", Roles: []string{"compute"}, Zone: a.zone}
		interval := 500 * time.Millisecond
		for ctx.Err() == nil {
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			r, err := a.cli.Heartbeat(cctx, hb)
			cancel()
			if err == nil && r.Interval > 0 {
				interval = r.Interval
			}
			_ = sleepCtx(ctx, interval)
		}
	}()
	known := ""
	for fails := 0; ctx.Err() == nil; {
		d, hash, err := a.cli.Desired(ctx, known)
		if err != nil {
			fails++
			_ = sleepCtx(ctx, agentapi.Backoff(fails))
			continue
		}
		fails = 0
		if hash == known {
			continue
		}
		known = hash
		vms := map[string]string{}
		rep := agentapi.Report{}
		for _, in := range d.Instances {
			vms[in.VMID] = in.SIID
			ha := "BACKUP"
			if in.Priority >= model.PriorityActive {
				ha = "MASTER"
			}
			rep.VMs = append(rep.VMs, agentapi.VMStatus{VMID: in.VMID, SIID: in.SIID, LoadBalancerID: in.LoadBalancer.ID,
				State: model.StatusActive, AppliedHash: in.Hash, HAState: ha})
		}
		a.mu.Lock()
		a.vms = vms
		a.mu.Unlock()
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_ = a.cli.Report(cctx, rep)
		cancel()
	}
	wg.Wait()
}

func (a *simAgent) told(vmID string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.vms[vmID]
	return ok
}

// scaleCluster is the real server and store with simulated agents.
type scaleCluster struct {
	run    *server.Running
	agents map[string]*simAgent
	zoneOf map[string]string
	dead   map[string]bool
}

// pairs reads every service instance: whole counts those whose two VMs sit
// on live nodes that were told about them; it returns the spread of VMs
// over live nodes and the pairs in one zone.
func (sc *scaleCluster) pairs(lbs map[string]bool) (whole map[string]bool, spread SpreadResult, sameDomain int) {
	return sc.pairsExcept(lbs, nil)
}

// pairsExcept is pairs without the load balancers in skip (already seen
// whole: the creation's watch reads only the others); the spread then
// counts only the others too.
func (sc *scaleCluster) pairsExcept(lbs, skip map[string]bool) (whole map[string]bool, spread SpreadResult, sameDomain int) {
	whole = map[string]bool{}
	perNode := map[string]int{}
	for n := range sc.agents {
		if !sc.dead[n] {
			perNode[n] = 0
		}
	}
	vms := 0
	for _, e := range sc.run.Store.List(model.KindServiceInstance) {
		si := e.Obj.(*model.ServiceInstance)
		if !lbs[si.LoadBalancerID] || skip[si.LoadBalancerID] {
			continue
		}
		ok := len(si.VMs) == 2
		zones := map[string]bool{}
		for _, vm := range si.VMs {
			a := sc.agents[vm.Node]
			if a == nil || sc.dead[vm.Node] || !a.told(vm.ID) {
				ok = false
				continue
			}
			perNode[vm.Node]++
			vms++
			zones[sc.zoneOf[vm.Node]] = true
		}
		if len(si.VMs) == 2 && len(zones) == 1 {
			sameDomain++
		}
		if ok {
			whole[si.LoadBalancerID] = true
		}
	}
	spread.Min = math.MaxInt
	for _, n := range perNode {
		spread.Min, spread.Max = min(spread.Min, n), max(spread.Max, n)
	}
	if len(perNode) > 0 {
		spread.Ideal = float64(vms) / float64(len(perNode))
	}
	return whole, spread, sameDomain
}

// RunScale runs the scale benchmark: the real server and store in this
// process, simulated agents, load balancers created through the Octavia
// API, then a tenth of the nodes killed at once.
func RunScale(ctx context.Context, o ScaleOptions) (*ScaleReport, error) {
	o = o.withDefaults()
	start := time.Now()
	dir, err := os.MkdirTemp("", "lbaas-bench-scale-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	rep := &ScaleReport{Machine: describeMachine(dir), Options: o}
	run, err := server.Start(ctx, server.Options{
		Listen: "127.0.0.1:0", OctaviaListen: "127.0.0.1:0", DataDir: filepath.Join(dir, "server"),
		PublicNetwork: "Public", PublicCIDR: "172.24.4.0/24",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return nil, fmt.Errorf("start server: %w", err)
	}
	defer run.Close()
	sc := &scaleCluster{run: run, agents: map[string]*simAgent{}, zoneOf: map[string]string{}, dead: map[string]bool{}}
	// One connection per long poll and per beat of each agent, kept.
	hc := &http.Client{Timeout: 40 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4 * o.Nodes, MaxIdleConns: 4 * o.Nodes}}
	for i := range o.Nodes {
		name := fmt.Sprintf("sim-%04d", i+1)
		zone := fmt.Sprintf("zone-%02d", i%o.Zones+1)
		actx, cancel := context.WithCancel(ctx)
		a := &simAgent{name: name, zone: zone, cancel: cancel, done: make(chan struct{}),
			cli: &agentapi.Client{BaseURL: "http://" + run.Addr, Token: run.AdminToken, Node: name, HTTP: hc}}
		sc.agents[name], sc.zoneOf[name] = a, zone
		go a.run(actx)
	}
	defer func() {
		for _, a := range sc.agents {
			a.cancel()
		}
		for _, a := range sc.agents {
			<-a.done
		}
	}()
	for deadline := time.Now().Add(2 * time.Minute); len(run.Store.List(model.KindNode)) < o.Nodes; {
		if time.Now().After(deadline) || sleepCtx(ctx, 100*time.Millisecond) != nil {
			return nil, fmt.Errorf("only %d of %d simulated agents registered", len(run.Store.List(model.KindNode)), o.Nodes)
		}
	}
	o.progress("%d simulated agents in %d zones registered", o.Nodes, o.Zones)

	c, err := newClient(run.OctaviaAddr, run.AdminToken, o.Creators)
	if err != nil {
		return nil, err
	}
	defer c.close()
	nw, err := newClient(run.Addr, run.AdminToken, 1)
	if err != nil {
		return nil, err
	}
	defer nw.close()
	net, err := nw.create(ctx, "/v2.0/networks", "network", map[string]any{"name": "scalenet"})
	if err != nil {
		return nil, err
	}
	// Three ports per load balancer (the VIP, two VMs): a /15 has room.
	sub, err := nw.create(ctx, "/v2.0/subnets", "subnet", map[string]any{"network_id": net, "cidr": "10.64.0.0/15", "ip_version": 4, "name": "scalesub"})
	if err != nil {
		return nil, err
	}

	// Create, and watch each load balancer until it is placed.
	created := sync.Map{} // id -> time.Time
	// ids collects the new load balancers; the watch drains it.
	var idsMu sync.Mutex
	var ids []string
	var createErrs atomic.Int64
	var firstErr atomic.Value
	stopProfile := profile(o.ProfileDir, "scale-create.pprof", true)
	t0 := time.Now()
	work := make(chan int)
	var wg sync.WaitGroup
	for range o.Creators {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				at := time.Now()
				id, err := c.create(ctx, "/v2/lbaas/loadbalancers", "loadbalancer", map[string]any{"name": fmt.Sprintf("s%05d", i), "vip_subnet_id": sub})
				if err != nil {
					createErrs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				created.Store(id, at)
				idsMu.Lock()
				ids = append(ids, id)
				idsMu.Unlock()
			}
		}()
	}
	lbs := map[string]bool{}
	var lats []time.Duration
	placedAt := map[string]bool{}
	watch := func() int {
		idsMu.Lock()
		for _, id := range ids {
			lbs[id] = true
		}
		ids = ids[:0]
		idsMu.Unlock()
		whole, _, _ := sc.pairsExcept(lbs, placedAt)
		now := time.Now()
		for id := range whole {
			if !placedAt[id] {
				placedAt[id] = true
				if at, ok := created.Load(id); ok {
					lats = append(lats, now.Sub(at.(time.Time)))
				}
			}
		}
		return len(placedAt)
	}
	go func() {
		defer close(work)
		for i := range o.LoadBalancers {
			select {
			case work <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	createsDone := make(chan struct{})
	go func() { wg.Wait(); close(createsDone) }()
	lastLog := time.Now()
	for done := false; ; {
		select {
		case <-createsDone:
			if !done {
				rep.CreateElapsed = time.Since(t0)
				done = true
			}
		case <-time.After(time.Second):
		}
		n := watch()
		if time.Since(lastLog) > 5*time.Second {
			o.progress("%d load balancers created, %d placed, %v", len(lbs), n, time.Since(t0).Round(time.Second))
			lastLog = time.Now()
		}
		if done && n >= len(lbs) {
			break
		}
		if time.Since(t0) > 30*time.Minute || ctx.Err() != nil {
			stopProfile()
			rep.Err = fmt.Sprintf("only %d of %d load balancers placed after %v", n, len(lbs), time.Since(t0).Round(time.Second))
			return rep, nil
		}
	}
	rep.PlacedElapsed = time.Since(t0)
	stopProfile()
	rep.PlaceLatency = summarize(lats)
	if n := createErrs.Load(); n > 0 {
		rep.Err = fmt.Sprintf("%d creates failed, the first: %v", n, firstErr.Load())
	}
	_, rep.Spread, rep.SameDomain = sc.pairs(lbs)
	o.progress("%d load balancers placed in %v (creates took %v); spread %d..%d (ideal %.1f); %d in one zone",
		len(lbs), rep.PlacedElapsed.Round(time.Millisecond), rep.CreateElapsed.Round(time.Millisecond), rep.Spread.Min, rep.Spread.Max, rep.Spread.Ideal, rep.SameDomain)

	// The storm: a tenth of the nodes die at once.
	names := make([]string, 0, len(sc.agents))
	for n := range sc.agents {
		names = append(names, n)
	}
	slices.Sort(names)
	kill := int(math.Round(float64(o.Nodes) * o.KillFraction))
	step := max(len(names)/max(kill, 1), 1)
	for i := 0; i < len(names) && rep.Killed < kill; i += step {
		sc.dead[names[i]] = true
		rep.Killed++
	}
	whole, _, _ := sc.pairs(lbs)
	before := len(whole)
	rev0 := run.Store.Rev()
	stopProfile = profile(o.ProfileDir, "scale-repair.pprof", true)
	t1 := time.Now()
	for n := range sc.dead {
		sc.agents[n].cancel()
	}
	for n := range sc.dead {
		<-sc.agents[n].done
	}
	rep.Broken = len(lbs) - before
	for {
		whole, _, _ := sc.pairs(lbs)
		if len(whole) == len(lbs) {
			rep.RepairTime, rep.Repaired = time.Since(t1), true
			break
		}
		if time.Since(t1) > 5*time.Minute || sleepCtx(ctx, 100*time.Millisecond) != nil {
			rep.RepairTime = time.Since(t1)
			break
		}
	}
	stopProfile()
	rep.StoreWrites = run.Store.Rev() - rev0
	rep.StoreRevRate = float64(rep.StoreWrites) / rep.RepairTime.Seconds()
	_, rep.SpreadAfter, rep.SameDomainAfter = sc.pairs(lbs)
	o.progress("killed %d nodes (%d pairs broken): every pair whole after %v (%v), %d store writes (%.0f/s); spread %d..%d (ideal %.1f)",
		rep.Killed, rep.Broken, rep.RepairTime.Round(time.Millisecond), rep.Repaired, rep.StoreWrites, rep.StoreRevRate, rep.SpreadAfter.Min, rep.SpreadAfter.Max, rep.SpreadAfter.Ideal)
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// Markdown renders the report.
func (r *ScaleReport) Markdown() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	o := r.Options
	mode := ""
	if o.Quick {
		mode = " Quick mode: a smoke run, not the benchmark."
	}
	w("# Scale benchmark: scheduling and repair of %d load balancers on %d nodes", o.LoadBalancers, o.Nodes)
	w("")
	w("The real server and store (`server.Start`: embedded etcd, the controller, the agent and Octavia APIs) in one")
	w("process with %d simulated agents (`bench/scale.go`): each beats, long-polls its desired state and reports every", o.Nodes)
	w("VM it is told about as running, with no data plane. The nodes are in %d zones. %d load balancers are created", o.Zones, o.LoadBalancers)
	w("through the Octavia API by %d clients; then %.0f %% of the nodes stop at once (beats and polls end; their leases", o.Creators, o.KillFraction*100)
	w("expire after 2 s).%s Ran %s, took %v.", mode, r.Machine.Date.Format("2006-01-02 15:04 MST"), r.Elapsed.Round(time.Second))
	w("")
	w("Reproduce: `%s` (flags `--nodes`, `--load-balancers`, `--zones`).", ScaleReproduceCmd)
	w("")
	w("| machine | |")
	w("|---|---|")
	w("| CPUs (nproc) | %d, shared by the server, the store and the simulated agents |", r.Machine.NumCPU)
	w("| CPU | %s |", orDash(r.Machine.CPUModel))
	w("")
	if r.Err != "" {
		w("**Not a complete measure:** %s", r.Err)
		w("")
	}
	w("A load balancer is *placed* when its two VMs are on live nodes whose agents were told about them.")
	w("")
	w("| measure | value | aim |")
	w("|---|---:|---|")
	w("| creates (API) | %v for %d, %.0f/s | |", r.CreateElapsed.Round(time.Millisecond), o.LoadBalancers, float64(o.LoadBalancers)/r.CreateElapsed.Seconds())
	w("| all placed | %v after the first create: %.0f load balancers/s, %v each | |", r.PlacedElapsed.Round(time.Millisecond),
		float64(o.LoadBalancers)/r.PlacedElapsed.Seconds(), (r.PlacedElapsed / time.Duration(max(o.LoadBalancers, 1))).Round(100*time.Microsecond))
	w("| create → placed, each load balancer, p50 / p99 / max (mostly the queue: creates outrun placement) | %v / %v / %v | |",
		r.PlaceLatency.P50.Round(time.Millisecond), r.PlaceLatency.P99.Round(time.Millisecond), r.PlaceLatency.Max.Round(time.Millisecond))
	w("| spread after creation: VMs per node min..max (ideal) | %d..%d (%.1f) | within %.0f %% |", r.Spread.Min, r.Spread.Max, r.Spread.Ideal, AimSpread*100)
	w("| pairs with both VMs in one zone, after creation | %d | 0 |", r.SameDomain)
	w("| nodes killed at once / pairs broken | %d / %d | |", r.Killed, r.Broken)
	repaired := r.RepairTime.Round(time.Millisecond).String()
	if !r.Repaired {
		repaired = "not within " + repaired
	}
	w("| every pair whole again after | %s | < %v |", repaired, AimRepair)
	w("| store writes during the repair | %d (%.0f/s) | |", r.StoreWrites, r.StoreRevRate)
	w("| spread after the repair (live nodes) | %d..%d (%.1f) | within %.0f %% |", r.SpreadAfter.Min, r.SpreadAfter.Max, r.SpreadAfter.Ideal, AimSpread*100)
	w("| pairs with both VMs in one zone, after the repair | %d | 0 |", r.SameDomainAfter)
	w("")
	return b.String()
}

// WriteReport writes the Markdown report.
func (r *ScaleReport) WriteReport(path string) error {
	return writeMarkdown(path, r.Markdown())
}

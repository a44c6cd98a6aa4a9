// Package agent runs on each compute node (as root). It receives the
// node's desired state from the API through a long poll, makes the node
// match it (namespaces, links, HAProxy), watches what runs, and reports.
// Every pass is level-triggered: it compares the whole desired set with
// what exists, so a restarted agent adopts what it finds instead of
// rebuilding it.
package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"lbaas/internal/agentapi"
	"lbaas/internal/controller"
	"lbaas/internal/netns"
	"lbaas/internal/vrrp"
)

// Options configure an agent.
type Options struct {
	// Node is this node's name; it must match the node credential.
	Node string
	// Client talks to the API.
	Client *agentapi.Client
	// StateDir holds every instance's files: <StateDir>/loadbalancer/<pool-id>/.
	StateDir string
	// Roles of the node: compute, network or both.
	Roles []string
	// Fabric is the local network driver: the node's bridges and their
	// uplinks to other hosts.
	Fabric *netns.Fabric
	// Zone is the node's availability zone (failure domain).
	Zone string
	// TunnelIP is the node's VXLAN endpoint (the Fabric's LocalIP);
	// invalid: the node carries no overlay.
	TunnelIP netip.Addr
	// RouterNamespace holds the floating-IP NAT (network role).
	RouterNamespace string
	// Executable is the lbaas binary (HAProxy's PING check runs it).
	Executable string
	// ObserveInterval is how often HAProxy's state is read; it bounds how
	// late a member's health change is reported.
	ObserveInterval time.Duration
	// AdvertInterval is the VRRP advertisement interval (0: the vrrp
	// package's default). It sets how fast a dead node is noticed.
	AdvertInterval time.Duration
	// NoVRRP places the VIP on the active VM without keepalived (also
	// the behaviour when keepalived is not installed).
	NoVRRP bool
	Logger *slog.Logger
}

// Agent is one node's agent.
type Agent struct {
	o          Options
	log        *slog.Logger
	runDir     string        // sockets; see paths()
	vrrp       *vrrp.Manager // nil: no keepalived, the VIP is placed by role
	haproxyBin string        // as the haproxy manager runs it (keepalived matches it)

	mu      sync.Mutex
	desired agentapi.Desired
	status  map[string]agentapi.VMStatus // by VM id: result of the last apply
	// applied is the desired-state hash each VM last applied, for as long
	// as no check found it broken: a pass after a change skips those VMs,
	// so a new load balancer does not wait behind every settled one.
	applied map[string]string
	plumbed map[string]string // by VM id: network part last plumbed
	// reloaded is when each VM's HAProxy last started or reloaded (since
	// this agent started).
	reloaded map[string]time.Time
	// observed is each VM's last observation. fresh says until when a VM
	// is observed on every fast tick because it changed a moment ago;
	// the others keep their observation until the next regular one.
	observed map[string]agentapi.VMStatus
	fresh    map[string]time.Time
	// vipIndex is vip0's link index when keepalived last ran on it.
	vipIndex map[string]int
	fips     map[string]string
	kick     chan struct{}
	// uplinks is the hash of the networks part last applied in full.
	uplinks string
	// info is what the heartbeat says of the node (mappings re-checked
	// at each full pass).
	info agentapi.Heartbeat
}

// New returns an agent.
func New(o Options) (*Agent, error) {
	if o.ObserveInterval <= 0 {
		o.ObserveInterval = 250 * time.Millisecond
	}
	if o.RouterNamespace == "" {
		o.RouterNamespace = DefaultRouterNamespace
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if err := os.MkdirAll(filepath.Join(o.StateDir, "loadbalancer"), 0o700); err != nil {
		return nil, err
	}
	runDir := RunDir(o.StateDir)
	if err := os.MkdirAll(runDir, 0o700); err != nil {
		return nil, err
	}
	a := &Agent{o: o, runDir: runDir, log: o.Logger.With("node", o.Node), haproxyBin: "haproxy"}
	if p, err := exec.LookPath("haproxy"); err == nil {
		a.haproxyBin = p
	}
	if _, err := exec.LookPath("keepalived"); err == nil && !o.NoVRRP {
		a.vrrp = vrrp.NewManager(vrrp.Options{})
	} else {
		a.log.Warn("running without VRRP: the active VM holds the VIP and failover needs the controller", "keepalived_installed", err == nil)
	}
	a.status, a.applied, a.plumbed, a.kick = map[string]agentapi.VMStatus{}, map[string]string{}, map[string]string{}, make(chan struct{}, 1)
	a.vipIndex = map[string]int{}
	a.observed, a.fresh, a.reloaded = map[string]agentapi.VMStatus{}, map[string]time.Time{}, map[string]time.Time{}
	a.checkNode()
	return a, nil
}

// Run beats, watches the desired state, reconciles and reports until ctx
// ends. Stopping the agent leaves every HAProxy running: traffic does not
// depend on the agent.
func (a *Agent) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); a.heartbeatLoop(ctx) }()
	go func() { defer wg.Done(); a.watchLoop(ctx) }()
	go func() { defer wg.Done(); a.reconcileLoop(ctx) }()
	wg.Wait()
	return ctx.Err()
}

func (a *Agent) heartbeatLoop(ctx context.Context) {
	interval := controller.HeartbeatInterval
	for fails := 0; ctx.Err() == nil; {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		// The router's part in its pair changes without the agent: read
		// it at every beat, not at the next full pass.
		rs := a.routerState()
		a.mu.Lock()
		a.info.RouterState = rs
		info := a.info
		a.mu.Unlock()
		r, err := a.o.Client.Heartbeat(cctx, info)
		cancel()
		wait := interval
		if err != nil {
			fails++
			if fails == 1 || fails%20 == 0 {
				a.log.Warn("heartbeat failed", "err", err)
			}
		} else {
			fails = 0
			if r.Interval > 0 {
				interval = r.Interval
				wait = interval
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}

// watchLoop long-polls the desired state; each answer replaces the last.
func (a *Agent) watchLoop(ctx context.Context) {
	known := ""
	for fails := 0; ctx.Err() == nil; {
		d, hash, err := a.o.Client.Desired(ctx, known)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if fails == 0 {
				a.log.Warn("cannot fetch desired state; the data plane keeps running as it is", "err", err)
			}
			fails++
			select {
			case <-ctx.Done():
			case <-time.After(agentapi.Backoff(fails)):
			}
			continue
		}
		fails = 0
		if hash == known {
			continue
		}
		known = hash
		a.mu.Lock()
		a.desired = d
		a.mu.Unlock()
		select {
		case a.kick <- struct{}{}:
		default:
		}
	}
}

// reconcileLoop applies the desired state when it changes and, every
// ObserveInterval, reads what runs and reports changes.
func (a *Agent) reconcileLoop(ctx context.Context) {
	tick := time.NewTicker(a.o.ObserveInterval)
	defer tick.Stop()
	// Right after a change, observe often for a short while: the VRRP
	// election and the first checks settle within a few hundred
	// milliseconds, and the API should say ACTIVE as soon as they do.
	fast := time.NewTicker(25 * time.Millisecond)
	defer fast.Stop()
	var fastUntil time.Time
	haveDesired := false
	lastFull := time.Time{}
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
			return
		case <-a.kick:
			haveDesired = true
			a.reconcile(ctx, false)
			fastUntil = time.Now().Add(time.Second)
			a.observeAndReport(ctx, true)
		case <-tick.C:
			// Converge again now and then even without news, so that a
			// namespace deleted by hand or a dead HAProxy is rebuilt.
			if haveDesired && time.Since(lastFull) > 5*time.Second {
				a.reconcile(ctx, true)
				lastFull = time.Now()
			}
			if haveDesired {
				a.observeAndReport(ctx, false)
			}
		case <-fast.C:
			// Only what just changed is read this often: reading every
			// instance 40 times a second took the CPUs from the very
			// HAProxy and keepalived starts it waited for.
			if haveDesired && time.Now().Before(fastUntil) && a.anyFresh() {
				a.observeAndReport(ctx, true)
			}
		}
	}
}

// reconcile converges every instance. A full pass re-checks each
// namespace and link too; otherwise an instance whose network part did not
// change since it was last plumbed goes straight to HAProxy, which keeps
// member changes fast.
func (a *Agent) reconcile(ctx context.Context, full bool) {
	if full {
		a.mu.Lock()
		a.plumbed = map[string]string{}
		a.mu.Unlock()
	}
	a.mu.Lock()
	d := a.desired
	a.mu.Unlock()
	if full {
		a.checkNode()
	}
	a.applyNetworks(d.Networks, full)
	want := map[string]bool{}
	for _, in := range d.Instances {
		want[in.VMID] = true
		a.mu.Lock()
		settled := in.Hash != "" && a.applied[in.VMID] == in.Hash
		a.mu.Unlock()
		if settled && !full {
			continue
		}
		st := agentapi.VMStatus{VMID: in.VMID, SIID: in.SIID, LoadBalancerID: in.LoadBalancer.ID, State: "PENDING"}
		err := a.applyInstance(ctx, in)
		a.mu.Lock()
		prev, had := a.status[in.VMID]
		if err != nil {
			a.log.Error("apply failed", "vm", in.VMID, "loadbalancer", in.LoadBalancer.ID, "err", err)
			st.State, st.Error = "ERROR", err.Error()
			delete(a.plumbed, in.VMID) // re-check the network next time
			delete(a.applied, in.VMID)
		} else {
			st.AppliedHash = in.Hash
			a.applied[in.VMID] = in.Hash
			st.LastReload = a.reloaded[in.VMID]
		}
		if !settled || !had || prev.AppliedHash != st.AppliedHash || prev.State != st.State {
			a.fresh[in.VMID] = time.Now().Add(time.Second)
		}
		a.status[in.VMID] = st
		a.mu.Unlock()
	}
	for _, vm := range a.localVMs() {
		if !want[vm.VMID] {
			if err := a.removeInstance(vm); err != nil {
				a.log.Error("remove failed", "vm", vm.VMID, "err", err)
				continue
			}
			a.mu.Lock()
			delete(a.status, vm.VMID)
			delete(a.applied, vm.VMID)
			delete(a.observed, vm.VMID)
			delete(a.fresh, vm.VMID)
			delete(a.reloaded, vm.VMID)
			a.mu.Unlock()
		}
	}
	if d.Router != nil {
		fips, err := a.applyRouter(ctx, *d.Router)
		if err != nil {
			a.log.Error("router apply failed", "err", err)
		}
		a.mu.Lock()
		a.fips = fips
		a.mu.Unlock()
	}
}

// anyFresh says whether some VM changed a moment ago.
func (a *Agent) anyFresh() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now()
	for _, until := range a.fresh {
		if now.Before(until) {
			return true
		}
	}
	return false
}

// observeAndReport reads what runs and reports it. freshOnly reads only the
// VMs that changed a moment ago and reports the others' last observation.
func (a *Agent) observeAndReport(ctx context.Context, freshOnly bool) {
	a.mu.Lock()
	d := a.desired
	fips := a.fips
	a.mu.Unlock()
	rep := agentapi.Report{FloatingIPs: fips}
	if d.Router != nil {
		if _, ok := a.arbiterPID(); !ok || a.routerVRRPDown(d.Router) {
			// The arbiter or the router's keepalived died (a crash, a
			// kill): start it again now, not at the next periodic pass;
			// the arbiter re-reads the pins it left.
			select {
			case a.kick <- struct{}{}:
			default:
			}
		}
	}
	for _, in := range d.Instances {
		a.mu.Lock()
		st, ok := a.status[in.VMID]
		a.mu.Unlock()
		if !ok {
			continue
		}
		a.mu.Lock()
		last, seen := a.observed[in.VMID]
		fresh := time.Now().Before(a.fresh[in.VMID])
		a.mu.Unlock()
		if freshOnly && seen && !fresh && last.AppliedHash == st.AppliedHash && st.State != "ERROR" {
			st = last
		} else if st.VRRP = a.vrrpRecord(in); st.State != "ERROR" {
			st = a.observeInstance(in, st)
			a.mu.Lock()
			a.observed[in.VMID] = st
			a.mu.Unlock()
			if st.State == "ERROR" {
				// HAProxy died or hangs, or a link is gone: rebuild now
				// rather than at the next periodic pass, so the pair is
				// whole again fast.
				a.mu.Lock()
				delete(a.plumbed, in.VMID)
				delete(a.applied, in.VMID)
				a.mu.Unlock()
				select {
				case a.kick <- struct{}{}:
				default:
				}
			}
		}
		rep.VMs = append(rep.VMs, st)
	}
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := a.o.Client.Report(cctx, rep); err != nil && ctx.Err() == nil {
		a.log.Debug("report failed", "err", err)
	}
}

// RunDir is where an agent with this state directory keeps its instances'
// sockets (a unix socket path must fit in 107 bytes; state dirs can be
// long).
func RunDir(stateDir string) string {
	sum := sha256.Sum256([]byte(stateDir))
	return filepath.Join("/run/lbaas", hex.EncodeToString(sum[:6]))
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

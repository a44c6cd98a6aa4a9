package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"lbaas/internal/netns"
	"lbaas/internal/up"
)

// Aims of the data-plane section (reported, never asserted).
const (
	AimVsHandWritten = 0.95 // ours / hand-written HAProxy req/s
	AimVsDirect      = 0.65 // ours / direct to a member req/s
	AimProvisionP50  = 250 * time.Millisecond
	AimProvisionMax  = time.Second
	// AimFullyPopulatedP50 is for a whole load balancer in one Octavia
	// POST, counted from the POST being sent, to the first request served.
	AimFullyPopulatedP50  = 300 * time.Millisecond
	AimChangeEffect       = 50 * time.Millisecond
	AimInstancesPerNode   = 500
	DataplaneReproduceCmd = "./lbaas.sh bench dataplane"
)

// DataplaneNSPrefix starts the names of every namespace the benchmark
// makes (a random part follows, so that two runs never share one).
const DataplaneNSPrefix = "lbt-bench-"

// DataplaneOptions configure RunDataplane. Zero values take the defaults
// documented on each field; Quick shrinks everything for a unit test.
type DataplaneOptions struct {
	// Binary is the lbaas executable the agents run; empty builds one from
	// the module with `go build` (works when run inside the repository).
	Binary string
	// TempDir holds the cluster's files (os.TempDir()).
	TempDir string
	// Quick makes a smoke run: short wrk runs, few provisioning runs, a
	// handful of load balancers. Explicit fields still win.
	Quick bool
	// WrkDuration is one wrk run (8 s; quick 2 s).
	WrkDuration time.Duration
	// WrkConnections is wrk's -c (32; quick 8); WrkThreads its -t (2).
	WrkConnections, WrkThreads int
	// Rounds is how often the whole set of targets is measured, in
	// alternation (2; quick 1).
	Rounds int
	// ProvisionRuns is the number of timed VIP creations (20; quick 3).
	ProvisionRuns int
	// LoadBalancers is how many are created for the footprint (50; quick 4).
	LoadBalancers int
	// FootprintTimeout bounds creating them (5 min; quick 2 min).
	FootprintTimeout time.Duration
	// Progress, when set, receives one line per step.
	Progress io.Writer
}

func (o DataplaneOptions) withDefaults() DataplaneOptions {
	pick := func(full, quick int) int {
		if o.Quick {
			return quick
		}
		return full
	}
	if o.WrkDuration <= 0 {
		o.WrkDuration = time.Duration(pick(8, 2)) * time.Second
	}
	if o.WrkConnections <= 0 {
		o.WrkConnections = pick(32, 8)
	}
	if o.WrkThreads <= 0 {
		o.WrkThreads = 2
	}
	if o.Rounds <= 0 {
		o.Rounds = pick(2, 1)
	}
	if o.ProvisionRuns <= 0 {
		o.ProvisionRuns = pick(20, 3)
	}
	if o.LoadBalancers <= 0 {
		o.LoadBalancers = pick(50, 4)
	}
	if o.FootprintTimeout <= 0 {
		o.FootprintTimeout = time.Duration(pick(300, 120)) * time.Second
	}
	if o.TempDir == "" {
		o.TempDir = os.TempDir()
	}
	return o
}

func (o DataplaneOptions) progress(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, time.Now().Format("15:04:05 ")+format+"\n", args...)
	}
}

// DataplaneReport is the outcome of RunDataplane.
type DataplaneReport struct {
	deploymentRun
	Throughput   ThroughputResult
	L7           L7Result
	TLS          TLSResult
	Provisioning ProvisionResult
	// FullyPopulated times Octavia v2 creates of a whole load balancer
	// (listener, pool, two members, monitor) in one POST.
	FullyPopulated ProvisionResult
	Changes        ChangesResult
	Footprint      FootprintResult
	Dashboard      DashboardResult
}

// deploymentRun is what a benchmark of whole deployments records about
// its run.
type deploymentRun struct {
	Machine Machine
	// LoadAvgEnd is /proc/loadavg when the run ended (Machine has the start).
	LoadAvgEnd     string
	HAProxyVersion string
	WrkVersion     string
	Quick          bool
	Options        DataplaneOptions
	Elapsed        time.Duration
}

func newDeploymentRun(root string, o DataplaneOptions) deploymentRun {
	return deploymentRun{Machine: describeMachine(root), Quick: o.Quick, Options: o,
		HAProxyVersion: firstLineOf("haproxy", "-v"), WrkVersion: firstLineOf("wrk", "-v")}
}

// RunDataplane brings up a whole deployment on this machine (server, three
// compute agents and a network agent, the seed's networks with two HTTP
// backends), then measures throughput, provisioning time, member changes
// under load and memory footprint. A failing section is recorded in its
// result (Err) and the others still run; only a failed setup is an error.
func RunDataplane(ctx context.Context, o DataplaneOptions) (*DataplaneReport, error) {
	start := time.Now()
	o, root, err := prepareDeploymentBench(ctx, o, "data-plane")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(root)
	rep := &DataplaneReport{deploymentRun: newDeploymentRun(root, o)}
	tp, err := startDataplaneTopo(ctx, o, root)
	if tp != nil {
		defer tp.close()
	}
	if err != nil {
		return nil, err
	}
	o.progress("cluster up (namespaces %s*)", tp.prefix)

	rep.Throughput = tp.throughput(ctx, o)
	rep.L7 = tp.l7(ctx, o)
	rep.TLS = tp.tls(ctx, o)
	rep.Changes = tp.memberChanges(ctx, o)
	rep.Provisioning = tp.provisioning(ctx, o)
	rep.FullyPopulated = tp.provisionRuns(ctx, o, "fully populated", tp.fullyPopulatedOnce)
	rep.Footprint = tp.footprint(ctx, o)
	// Last: it kills the load balancer's active HAProxy.
	rep.Dashboard = tp.dashboard(ctx, o)

	rep.LoadAvgEnd = describeMachine(root).LoadAvg
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// prepareDeploymentBench checks what a benchmark that runs whole
// deployments needs (root, haproxy, wrk, ip), makes its directory (short:
// the embedded etcd's unix socket lives under it, 107 bytes) and builds
// the agents' binary unless given. The caller removes the directory.
func prepareDeploymentBench(ctx context.Context, o DataplaneOptions, what string) (DataplaneOptions, string, error) {
	o = o.withDefaults()
	if os.Geteuid() != 0 {
		return o, "", fmt.Errorf("bench: the %s benchmark builds namespaces: run it as root", what)
	}
	for _, bin := range []string{"haproxy", "wrk", "ip"} {
		if _, err := exec.LookPath(bin); err != nil {
			return o, "", fmt.Errorf("bench: %s is not installed", bin)
		}
	}
	root, err := os.MkdirTemp(o.TempDir, "lbt-bench")
	if err != nil {
		return o, "", err
	}
	if o.Binary == "" {
		o.progress("building lbaas")
		if o.Binary, err = buildLbaas(ctx, root); err != nil {
			os.RemoveAll(root)
			return o, "", err
		}
	}
	return o, root, nil
}

// buildLbaas compiles the agents' binary from the module this package is in.
func buildLbaas(ctx context.Context, dir string) (string, error) {
	out := filepath.Join(dir, "lbaas")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "lbaas/cmd/lbaas")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("bench: go build lbaas (pass DataplaneOptions.Binary outside the repository): %v\n%s", err, b)
	}
	return out, nil
}

func firstLineOf(name string, args ...string) string {
	b, _ := exec.Command(name, args...).CombinedOutput()
	line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return line
}

// dpTopo is the running deployment with the seed's topology and the
// benchmark's own client namespaces.
type dpTopo struct {
	c      *up.Cluster
	api    *up.API
	prefix string

	public, vipNet, vipSub, poolNet, poolSub string
	backends                                 []*up.Backend

	// octavia is the Octavia v2 API of the cluster.
	octavia *up.API
	// probeReady: the provisioning probe's namespace exists.
	probeReady bool

	// Client namespaces: on Public (through the router's NAT), on the VIP
	// network (straight to the VIP) and on the pool network (straight to a
	// member).
	pubClient, vipClient, poolClient string

	// The load balancer measured by throughput and member changes.
	poolID, vipID, vipAddr, fip string
	// handNS is the namespace of the hand-written HAProxy processes.
	handNS string
	// handPids: the hand-written HAProxy serving each port (-db: one
	// process, nbthread as configured).
	handPids map[int]int

	// Stop functions of processes the benchmark started itself.
	stops []func()
}

// Addresses of the benchmark's own namespaces: in the middle of the /24s,
// away from VIPs (allocated from the bottom) and instances (from the top).
var (
	addrPubClient  = "172.24.4.254/24"
	addrVIPClient  = "20.1.1.100/24"
	addrPoolClient = "10.1.1.100/24"
	addrHandVIP    = "20.1.1.101/24"
	addrHandPool   = "10.1.1.101/24"
	addrProbe      = "20.1.1.102/24"
	backendAddrs   = []string{"10.1.1.2/24", "10.1.1.3/24"}
	addedBackend   = "10.1.1.4/24"
)

func startDataplaneTopo(ctx context.Context, o DataplaneOptions, root string) (*dpTopo, error) {
	tp, err := startSeedTopo(ctx, seedTopo{
		prefix: fmt.Sprintf("%s%06x-", DataplaneNSPrefix, rand.Uint32()&0xffffff),
		dir:    filepath.Join(root, "cluster"), binary: o.Binary, name: "bench", clients: true,
	})
	if err != nil {
		return tp, err
	}
	err = tp.waitPoolActive(ctx, tp.poolID, 60*time.Second)
	if err == nil {
		// The floating IP's NAT is the network agent's, which the pool's
		// status does not cover.
		err = waitServed(ctx, tp.pubClient, "http://"+tp.fip+"/", 30*time.Second)
	}
	return tp, err
}

// seedTopo says what startSeedTopo builds.
type seedTopo struct {
	prefix, dir, binary, name string
	advert                    time.Duration
	// clients adds client namespaces on the VIP and pool networks too.
	clients bool
	// hosts runs every agent on a simulated host of its own (up.Options.Hosts).
	hosts bool
	// networkNodes is up.Options.NetworkNodes.
	networkNodes int
}

// startSeedTopo starts a cluster and builds the seed's topology in it:
// vipnet and poolnet, the backends, a client on Public, a pool with the
// backends as members, its VIP and a floating IP. On error the returned
// topology (if any) still needs close.
func startSeedTopo(ctx context.Context, s seedTopo) (*dpTopo, error) {
	listen, err := freeLoopback()
	if err != nil {
		return nil, err
	}
	octaviaListen, err := freeLoopback()
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	c, err := up.Start(sctx, up.Options{Dir: s.dir, Listen: listen, OctaviaListen: octaviaListen, Prefix: s.prefix, Binary: s.binary, AdvertInterval: s.advert, Hosts: s.hosts, NetworkNodes: s.networkNodes})
	if err != nil {
		// Start cleans up after itself on most failures; make sure.
		removeNamespaces(s.prefix)
		return nil, fmt.Errorf("bench: start cluster: %w", err)
	}
	prefix := s.prefix
	tp := &dpTopo{c: c, api: c.API(), prefix: prefix}
	tp.octavia = &up.API{URL: c.OctaviaURL, Token: c.AdminToken, HTTP: tp.api.HTTP}
	step := func(f func() error) {
		if err == nil {
			err = f()
		}
	}
	create := func(path, kind string, fields map[string]any) string {
		var obj map[string]any
		step(func() error {
			var err error
			obj, err = tp.api.Create(path, kind, fields)
			return err
		})
		return str(obj, "id")
	}
	tp.vipNet = create("/v2.0/networks", "network", map[string]any{"name": "vipnet"})
	tp.vipSub = create("/v2.0/subnets", "subnet", map[string]any{"name": "vipsubnet", "network_id": tp.vipNet, "cidr": "20.1.1.0/24", "ip_version": 4})
	tp.poolNet = create("/v2.0/networks", "network", map[string]any{"name": "poolnet"})
	tp.poolSub = create("/v2.0/subnets", "subnet", map[string]any{"name": "poolsubnet", "network_id": tp.poolNet, "cidr": "10.1.1.0/24", "ip_version": 4})
	for i, a := range backendAddrs {
		step(func() error {
			b, err := c.StartBackend(fmt.Sprintf("%sbackend%d", prefix, i+1), tp.poolNet, "10.1.1.0/24", mustPrefix(a))
			tp.backends = append(tp.backends, b)
			return err
		})
	}
	step(func() error {
		var pub struct {
			Networks []map[string]any `json:"networks"`
		}
		if err := tp.api.Call("GET", "/v2.0/networks?name=Public", nil, &pub); err != nil {
			return err
		}
		if len(pub.Networks) != 1 {
			return errors.New("bench: no Public network")
		}
		tp.public = str(pub.Networks[0], "id")
		return nil
	})
	tp.pubClient = prefix + "pubcli"
	step(func() error {
		return c.AddNamespace(tp.pubClient, tp.public, "172.24.4.0/24", mustPrefix(addrPubClient))
	})
	if s.clients {
		tp.vipClient, tp.poolClient = prefix+"vipcli", prefix+"poolcli"
		step(func() error { return c.AddNamespace(tp.vipClient, tp.vipNet, "20.1.1.0/24", mustPrefix(addrVIPClient)) })
		step(func() error {
			return c.AddNamespace(tp.poolClient, tp.poolNet, "10.1.1.0/24", mustPrefix(addrPoolClient))
		})
	}
	step(func() error {
		var err error
		tp.poolID, err = tp.createPool(s.name, backendAddrs)
		return err
	})
	step(func() error {
		vip, err := tp.createVIP(s.name, tp.poolID)
		if err != nil {
			return err
		}
		tp.vipID, tp.vipAddr = str(vip, "id"), str(vip, "address")
		fip, err := tp.api.Create("/v2.0/floatingips", "floatingip", map[string]any{"floating_network_id": tp.public, "port_id": vip["port_id"]})
		tp.fip = str(fip, "floating_ip_address")
		return err
	})
	return tp, err
}

func (tp *dpTopo) close() {
	for i := len(tp.stops) - 1; i >= 0; i-- {
		tp.stops[i]()
	}
	tp.c.Close()
	removeNamespaces(tp.prefix)
}

// removeNamespaces deletes what Close may have left with our prefix.
func removeNamespaces(prefix string) {
	left, _ := netns.List(prefix)
	for _, ns := range left {
		_ = netns.Delete(ns)
	}
}

// createPool makes an HTTP round-robin pool on the pool subnet with
// members at addrs (port 80) and returns its id.
func (tp *dpTopo) createPool(name string, addrs []string) (string, error) {
	return tp.createPoolOn(name, tp.poolSub, addrs)
}

func (tp *dpTopo) createPoolOn(name, subnet string, addrs []string) (string, error) {
	p, err := tp.api.Create("/v2.0/lb/pools", "pool", map[string]any{"name": name, "subnet_id": subnet, "protocol": "HTTP", "lb_method": "ROUND_ROBIN"})
	if err != nil {
		return "", err
	}
	id := str(p, "id")
	for _, a := range addrs {
		if _, err := tp.addMember(id, a, 1); err != nil {
			return id, err
		}
	}
	return id, nil
}

func (tp *dpTopo) addMember(poolID, addr string, weight int) (string, error) {
	m, err := tp.api.Create("/v2.0/lb/members", "member", map[string]any{"pool_id": poolID, "address": mustPrefix(addr).Addr().String(), "protocol_port": 80, "weight": weight})
	return str(m, "id"), err
}

func (tp *dpTopo) createVIP(name, poolID string) (map[string]any, error) {
	return tp.createVIPOn(name, tp.vipSub, poolID)
}

func (tp *dpTopo) createVIPOn(name, subnet, poolID string) (map[string]any, error) {
	return tp.api.Create("/v2.0/lb/vips", "vip", map[string]any{"name": name + "-vip", "subnet_id": subnet, "pool_id": poolID, "protocol": "HTTP", "protocol_port": 80})
}

// poolStatus returns the pool's status field.
func (tp *dpTopo) poolStatus(poolID string) (string, error) {
	p, err := tp.api.Get("/v2.0/lb/pools/"+poolID, "pool")
	return str(p, "status"), err
}

func (tp *dpTopo) waitPoolActive(ctx context.Context, poolID string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	last := ""
	for time.Now().Before(deadline) {
		st, err := tp.poolStatus(poolID)
		if err == nil && st == "ACTIVE" {
			return nil
		}
		last = st
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
	return fmt.Errorf("bench: pool %s not ACTIVE within %v (last %q)", poolID, limit, last)
}

// instanceDirs lists a load balancer's (a VIP's) instance directories in
// the agents' state.
func (tp *dpTopo) instanceDirs(lbID string) []string {
	var out []string
	for _, a := range tp.c.Agents() {
		d := filepath.Join(a.StateDir, "loadbalancer", lbID)
		if _, err := os.Stat(d); err == nil {
			out = append(out, d)
		}
	}
	return out
}

// waitInstancesGone waits (bounded) until no agent keeps the pool's files,
// i.e. its HAProxy and namespace are gone.
func (tp *dpTopo) waitInstancesGone(ctx context.Context, lbID string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for len(tp.instanceDirs(lbID)) > 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: instances of load balancer %s still present after %v", lbID, limit)
		}
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}

func freeLoopback() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// Package up runs a whole lbaas deployment on one machine: the API server,
// several agents (as separate processes, as on separate nodes), the
// network fabric, demo backends and a client namespace. `lbaas up` and the
// end-to-end tests use it.
package up

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"lbaas/internal/agent"
	"lbaas/internal/api/auth"
	"lbaas/internal/haproxy"
	"lbaas/internal/netns"
	"lbaas/internal/proc"
	"lbaas/internal/vrrp"
)

// Options configure a cluster.
type Options struct {
	// Dir holds everything the cluster writes; it is removed by Close.
	Dir string
	// Listen is the API address (default 127.0.0.1:9696).
	Listen string
	// AnalyticsListen is the analytics API address (default: none).
	AnalyticsListen string
	// OctaviaListen is the Octavia v2 API address (default: none; ":0"
	// style addresses get a free port).
	OctaviaListen string
	// MetricsListen is where the server serves /metrics (default: none).
	MetricsListen string
	// IdentityListen is the built-in identity service's address (default:
	// none); its bootstrap admin's clouds.yaml is CloudsFile.
	IdentityListen string
	// Nodes is the number of compute agents (default 3: compute-1..3).
	Nodes int
	// NetworkNodes is the number of network agents (default 1: network-1).
	// With two or more, the floating-IP router runs on each,
	// active/standby.
	NetworkNodes int
	// Prefix starts the names of the fabric, router, client and backend
	// namespaces (default "lbaas-"; tests use their own).
	Prefix string
	// Binary is the lbaas executable the agents run (default: this one).
	Binary string
	// PublicCIDR is the external network's subnet (default 172.24.4.0/24).
	PublicCIDR string
	// AdvertInterval is the agents' VRRP advert interval (0: default).
	AdvertInterval time.Duration
	// ServerLogLevel is the server's log level (default info); its log is
	// <Dir>/server.log.
	ServerLogLevel string
	// ServerFlags are more flags of lbaas server (a test's shorter
	// --pending-limit).
	ServerFlags []string
	// Hosts simulates one host per agent (see hosts.go): each agent gets a
	// host namespace with an address on a shared underlay, a fabric of
	// its own joined to the others by VXLAN, and the network node an
	// uplink to the public wire. Tenants' servers (StartBackend) live on
	// a host of their own. Without it every agent shares one fabric.
	Hosts bool
	// AgentFlags are more flags of one node's agent, by node name (a
	// test's wrong mapping).
	AgentFlags map[string][]string
}

// Cluster is a running deployment.
type Cluster struct {
	o      Options
	server *serverProc
	// URL is the Neutron API's base URL.
	URL string
	// AnalyticsAddr is the analytics API's address ("" when off).
	AnalyticsAddr string
	// OctaviaURL is the Octavia v2 API's base URL ("" when off).
	OctaviaURL string
	// MetricsURL is the server's /metrics ("" when off).
	MetricsURL string
	// IdentityURL is the built-in identity service's auth URL ("" when
	// off); CloudsFile holds its admin's password, for OS_CLOUD=lbaas.
	IdentityURL string
	CloudsFile  string
	AdminToken  string
	Fabric      *netns.Fabric

	mu       sync.Mutex
	agents   map[string]*Agent
	backends []*Backend
	extraNS  []string
	// wires is the simulated hosts' physical world (Options.Hosts): the
	// underlay bridge and the public wire; nil without Hosts.
	wires *netns.Fabric
}

// Agent is an `lbaas agent` child process.
type Agent struct {
	Node     string
	StateDir string
	args     []string
	cmd      *exec.Cmd
	done     chan struct{}
	log      *os.File
}

// FabricNamespace and friends derive the names from the prefix.
func (c *Cluster) FabricNamespace() string { return c.o.Prefix + "fabric" }

// RouterNamespace holds network-1's floating-IP router.
func (c *Cluster) RouterNamespace() string { return c.RouterNamespaceOf("network-1") }

// RouterNamespaceOf holds a network node's floating-IP router.
func (c *Cluster) RouterNamespaceOf(node string) string {
	if node == "network-1" {
		return c.o.Prefix + "router"
	}
	return c.o.Prefix + "router-" + strings.TrimPrefix(node, "network-")
}

// Start brings the cluster up and returns once the API answers and every
// agent has registered.
func Start(ctx context.Context, o Options) (*Cluster, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("lbaas up builds namespaces and runs agents: run it as root")
	}
	if _, err := exec.LookPath("haproxy"); err != nil {
		return nil, errors.New("haproxy is not installed (apt-get install haproxy)")
	}
	if o.Listen == "" {
		o.Listen = "127.0.0.1:9696"
	}
	if o.Nodes <= 0 {
		o.Nodes = 3
	}
	if o.Prefix == "" {
		o.Prefix = "lbaas-"
	}
	if o.PublicCIDR == "" {
		o.PublicCIDR = "172.24.4.0/24"
	}
	if err := claimDir(o.Dir); err != nil {
		return nil, err
	}
	if o.ServerLogLevel == "" {
		o.ServerLogLevel = "info"
	}
	// A restarted server must come back on the address the agents know.
	var err error
	if o.Listen, err = fixPort(o.Listen); err != nil {
		return nil, err
	}
	if o.AnalyticsListen, err = fixPort(o.AnalyticsListen); err != nil {
		return nil, err
	}
	if o.OctaviaListen, err = fixPort(o.OctaviaListen); err != nil {
		return nil, err
	}
	if o.IdentityListen, err = fixPort(o.IdentityListen); err != nil {
		return nil, err
	}
	if o.MetricsListen, err = fixPort(o.MetricsListen); err != nil {
		return nil, err
	}
	if o.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		o.Binary = exe
	}
	c := &Cluster{o: o, agents: map[string]*Agent{}}
	// Namespaces with our prefix are leftovers of a crashed run.
	if stale, _ := netns.List(o.Prefix); len(stale) > 0 {
		for _, ns := range stale {
			_ = netns.Delete(ns)
		}
	}
	if !o.Hosts {
		fabric, err := netns.NewFabric(netns.FabricOptions{Namespace: c.FabricNamespace()})
		if err != nil {
			return nil, err
		}
		c.Fabric = fabric
	}

	// Credentials: an admin token and one node credential per agent.
	c.AdminToken = auth.NewToken()
	entries := []auth.Entry{{TokenSHA256: auth.HashToken(c.AdminToken), Project: "admin", Role: auth.RoleAdmin}}
	nodes := c.nodeNames()
	for _, n := range nodes {
		tok := auth.NewToken()
		entries = append(entries, auth.Entry{TokenSHA256: auth.HashToken(tok), Project: "infra", Role: auth.RoleNode, Node: n})
		if err := os.WriteFile(filepath.Join(o.Dir, n+".token"), []byte(tok+"\n"), 0o600); err != nil {
			return nil, err
		}
	}
	tokens := filepath.Join(o.Dir, "tokens.json")
	if err := auth.WriteFile(tokens, entries); err != nil {
		return nil, err
	}
	c.URL, c.AnalyticsAddr = "http://"+o.Listen, o.AnalyticsListen
	if o.OctaviaListen != "" {
		c.OctaviaURL = "http://" + o.OctaviaListen
	}
	if o.MetricsListen != "" {
		c.MetricsURL = "http://" + o.MetricsListen + "/metrics"
	}
	if err := c.StartServer(ctx); err != nil {
		c.Close()
		return nil, err
	}
	if o.IdentityListen != "" {
		c.IdentityURL = "http://" + o.IdentityListen + "/v3"
		c.CloudsFile = filepath.Join(o.Dir, "server", "clouds.yaml")
	}
	if o.Hosts {
		if err := c.buildWires(); err != nil {
			c.Close()
			return nil, err
		}
	}
	for i, n := range nodes {
		roles := "compute"
		if strings.HasPrefix(n, "network-") {
			roles = "network"
		}
		if strings.HasPrefix(n, "servers-") {
			roles = "host"
		}
		a := &Agent{Node: n, StateDir: filepath.Join(o.Dir, "agents", n)}
		a.args = []string{"agent", "--node", n, "--server", c.URL, "--token-file", filepath.Join(o.Dir, n+".token"),
			"--state-dir", a.StateDir, "--roles", roles, "--fabric-namespace", c.FabricNamespace(),
			"--router-namespace", c.RouterNamespaceOf(n), "--log-level", "info"}
		if o.Hosts {
			hostArgs, err := c.buildHost(n, i)
			if err != nil {
				c.Close()
				return nil, err
			}
			a.args = append(a.args, hostArgs...)
		}
		if o.AdvertInterval > 0 {
			a.args = append(a.args, "--advert-interval", o.AdvertInterval.String())
		}
		a.args = append(a.args, o.AgentFlags[n]...)
		c.agents[n] = a
		if err := c.StartAgent(n); err != nil {
			c.Close()
			return nil, err
		}
	}
	if err := c.waitNodes(ctx, len(nodes)); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// claimDir makes dir ours: it refuses while another live process owns it,
// and clears what a crashed owner left.
func claimDir(dir string) error {
	pidFile := filepath.Join(dir, "up.pid")
	if b, err := os.ReadFile(pidFile); err == nil {
		var pid int
		if _, err := fmt.Sscan(string(b), &pid); err == nil && pid != os.Getpid() && syscall.Kill(pid, 0) == nil {
			return fmt.Errorf("%s belongs to a running lbaas up (pid %d); stop it first or use --dir", dir, pid)
		}
		// A crashed run: its agents' instances may still run.
		stale := &Cluster{o: Options{Dir: dir}, agents: map[string]*Agent{}}
		for _, d := range mustGlob(filepath.Join(dir, "agents", "*")) {
			stale.agents[filepath.Base(d)] = &Agent{Node: filepath.Base(d), StateDir: d}
		}
		stale.removeLeftovers()
		_ = os.RemoveAll(dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return os.WriteFile(pidFile, []byte(fmt.Sprint(os.Getpid())), 0o600)
}

func mustGlob(pattern string) []string {
	m, _ := filepath.Glob(pattern)
	return m
}

func (c *Cluster) nodeNames() []string {
	var out []string
	for i := 1; i <= c.o.Nodes; i++ {
		out = append(out, fmt.Sprintf("compute-%d", i))
	}
	for i := 1; i <= max(c.o.NetworkNodes, 1); i++ {
		out = append(out, fmt.Sprintf("network-%d", i))
	}
	if c.o.Hosts {
		out = append(out, ServersNode)
	}
	return out
}

// Agents returns the agent processes by node name.
func (c *Cluster) Agents() map[string]*Agent {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]*Agent{}
	for k, v := range c.agents {
		out[k] = v
	}
	return out
}

// StartAgent (re)starts a node's agent process.
func (c *Cluster) StartAgent(node string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.agents[node]
	if a == nil {
		return fmt.Errorf("no node %s", node)
	}
	if a.cmd != nil && a.done != nil {
		select {
		case <-a.done:
		default:
			return fmt.Errorf("agent %s is running", node)
		}
	}
	if err := os.MkdirAll(a.StateDir, 0o700); err != nil {
		return err
	}
	if c.o.Hosts && a.cmd != nil {
		// A host that died comes back (its flags are unchanged).
		if ok, _ := netns.Exists(c.HostNamespace(node)); !ok {
			if _, err := c.buildHost(node, slices.Index(c.nodeNames(), node)); err != nil {
				return err
			}
		}
	}
	logf, err := os.OpenFile(filepath.Join(c.o.Dir, node+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(c.o.Binary, a.args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group, so that a node can be killed whole.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	a.cmd, a.log, a.done = cmd, logf, make(chan struct{})
	done := a.done
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	return nil
}

func (a *Agent) running() bool {
	if a.done == nil {
		return false
	}
	select {
	case <-a.done:
		return false
	default:
		return true
	}
}

// StopAgent stops a node's agent (SIGTERM, or SIGKILL when hard), leaving
// what it started running, as a crashed or upgraded agent would.
func (c *Cluster) StopAgent(node string, hard bool) {
	c.mu.Lock()
	a := c.agents[node]
	c.mu.Unlock()
	if a == nil || a.cmd == nil {
		return
	}
	sig := syscall.SIGTERM
	if hard {
		sig = syscall.SIGKILL
	}
	_ = a.cmd.Process.Signal(sig)
	select {
	case <-a.done:
	case <-time.After(10 * time.Second):
		_ = a.cmd.Process.Kill()
		<-a.done
	}
}

// AgentLog returns what a node's agent printed.
func (c *Cluster) AgentLog(node string) string {
	b, _ := os.ReadFile(filepath.Join(c.o.Dir, node+".log"))
	return string(b)
}

func (c *Cluster) waitNodes(ctx context.Context, n int) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if c.liveAgents() >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("only %d of %d agents registered within 30s; see %s/*.log", c.liveAgents(), n, c.o.Dir)
}

// liveAgents is the number of agents the server counts as alive.
func (c *Cluster) liveAgents() int {
	var out struct {
		Agents []struct {
			ID string `json:"id"`
		} `json:"agents"`
	}
	if err := c.API().Call("GET", "/v2.0/agents?fields=id", nil, &out); err != nil {
		return 0
	}
	return len(out.Agents)
}

// Close removes everything the cluster made: load balancers (through the
// agents, which stop their HAProxy), agents, namespaces, files.
func (c *Cluster) Close() {
	c.deleteLoadBalancers()
	for _, n := range c.nodeNames() {
		c.StopAgent(n, false)
	}
	c.removeLeftovers()
	for _, a := range c.Agents() {
		_ = os.RemoveAll(agent.RunDir(a.StateDir))
	}
	for _, b := range c.backends {
		b.Close()
	}
	c.mu.Lock()
	extra := c.extraNS
	c.mu.Unlock()
	for _, ns := range extra {
		_ = netns.Delete(ns)
	}
	for _, n := range c.nodeNames() {
		if strings.HasPrefix(n, "network-") {
			_ = netns.Delete(c.RouterNamespaceOf(n))
		}
	}
	if c.Fabric != nil {
		_ = c.Fabric.Teardown()
	}
	c.removeHosts()
	c.StopServer()
	// Whatever outlived its supervisor (an arbiter of a failed test, a
	// process of a killed agent) names a file under the cluster's
	// directory: stop it before the directory goes.
	// The separator: a file under the directory, not a sibling whose name
	// merely starts the same.
	proc.Sweep(filepath.Clean(c.o.Dir)+string(filepath.Separator), 2*time.Second)
	_ = os.RemoveAll(c.o.Dir)
}

// removeLeftovers stops what agents could not remove: HAProxy by its pid
// file (checked against /proc) and the instances' namespaces.
func (c *Cluster) removeLeftovers() {
	for _, a := range c.Agents() {
		// A network node's arbiter.
		for _, pidFile := range mustGlob(filepath.Join(a.StateDir, "router", "*.pid")) {
			if pid, ok := ownedPid(pidFile, a.StateDir); ok {
				_ = syscall.Kill(pid, syscall.SIGTERM)
			}
		}
		for _, d := range mustGlob(filepath.Join(a.StateDir, "loadbalancer", "*")) {
			paths := haproxy.DefaultPaths(a.StateDir, filepath.Base(d))
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_ = vrrp.NewManager(vrrp.Options{}).Stop(ctx, vrrp.DefaultPaths(a.StateDir, filepath.Base(d)))
			_ = haproxy.NewManager(haproxy.Options{}).Stop(ctx, paths)
			cancel()
			if ns := recordedNamespace(d); ns != "" {
				_ = netns.Delete(ns)
			}
		}
	}
}

// deleteLoadBalancers deletes every load balancer through the API and
// waits (a bounded time) for the agents to remove their instances. The
// Octavia API sees them all (a v1 VIP is a load balancer too) and deletes
// each with its children; without it, the v1 VIPs are deleted.
func (c *Cluster) deleteLoadBalancers() {
	if c.ServerPid() == 0 {
		return
	}
	api := c.API()
	if c.OctaviaURL != "" {
		v2 := &API{URL: c.OctaviaURL + "/v2/lbaas", Token: c.AdminToken, HTTP: api.HTTP}
		var lbs struct {
			LBs []struct {
				ID string `json:"id"`
			} `json:"loadbalancers"`
		}
		if err := v2.Call("GET", "/loadbalancers?fields=id", nil, &lbs); err == nil {
			for _, lb := range lbs.LBs {
				_ = v2.Call("DELETE", "/loadbalancers/"+lb.ID+"?cascade=true", nil, nil)
			}
		}
	}
	var vips struct {
		VIPs []struct {
			ID string `json:"id"`
		} `json:"vips"`
	}
	if err := api.Call("GET", "/v2.0/lb/vips?fields=id", nil, &vips); err == nil {
		for _, v := range vips.VIPs {
			_ = api.Call("DELETE", "/v2.0/lb/vips/"+v.ID, nil, nil)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		left := 0
		for _, a := range c.Agents() {
			if !a.running() {
				continue // a killed node removes nothing; removeLeftovers will
			}
			d, _ := filepath.Glob(filepath.Join(a.StateDir, "loadbalancer", "*"))
			left += len(d)
		}
		if left == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func recordedNamespace(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "vm.json"))
	if err != nil {
		return ""
	}
	const key = `"namespace":"`
	s := string(b)
	i := strings.Index(s, key)
	if i < 0 {
		return ""
	}
	s = s[i+len(key):]
	if j := strings.IndexByte(s, '"'); j >= 0 {
		return s[:j]
	}
	return ""
}

// AddNamespace makes a namespace attached to a network (a client or a
// backend host) that Close removes.
func (c *Cluster) AddNamespace(name, networkID, cidr string, addr netip.Prefix) error {
	if err := netns.Ensure(name); err != nil {
		return err
	}
	c.mu.Lock()
	c.extraNS = append(c.extraNS, name)
	c.mu.Unlock()
	if c.o.Hosts {
		return c.plugIn(name, networkID, cidr, addr)
	}
	prefix, err := netip.ParsePrefix(cidr)
	if err != nil {
		return err
	}
	if err := c.Fabric.EnsureNetwork(netns.NetworkSpec{ID: networkID, CIDR: prefix}); err != nil {
		return err
	}
	return c.Fabric.Attach(netns.AttachSpec{Namespace: name, IfName: "eth0", NetworkID: networkID, Address: addr})
}

// Backend is a small HTTP server in a namespace of its own.
type Backend struct {
	Namespace string
	Addr      netip.Addr
	srv       *http.Server
	ln        net.Listener
}

// StartBackend runs an HTTP server at addr:80 in a new namespace on the
// network; it answers "backend <addr>\n" to every request.
func (c *Cluster) StartBackend(name, networkID, cidr string, addr netip.Prefix) (*Backend, error) {
	if err := c.AddNamespace(name, networkID, cidr, addr); err != nil {
		return nil, err
	}
	b := &Backend{Namespace: name, Addr: addr.Addr()}
	if err := b.Start(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.backends = append(c.backends, b)
	c.mu.Unlock()
	return b, nil
}

// Start (re)opens the backend's listener.
func (b *Backend) Start() error {
	var ln net.Listener
	err := netns.Do(b.Namespace, func() error {
		var err error
		ln, err = net.Listen("tcp", netip.AddrPortFrom(b.Addr, 80).String())
		return err
	})
	if err != nil {
		return err
	}
	b.ln = ln
	b.srv = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: answer("backend " + b.Addr.String() + "\n")}
	go func() { _ = b.srv.Serve(ln) }()
	return nil
}

// answer is a backend's handler: body to every request, after ?sleep=.
func answer(body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d := r.URL.Query().Get("sleep"); d != "" {
			if t, err := time.ParseDuration(d); err == nil && t <= 10*time.Second {
				time.Sleep(t)
			}
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, body)
	})
}

// ServePorts serves HTTP on more ports of the backend's address, each
// answering "backend <addr>:<port>\n" so that a client can tell which one
// it reached: many members on one namespace. They stop with the backend's
// namespace.
func (b *Backend) ServePorts(ports []int) error {
	return netns.Do(b.Namespace, func() error {
		for _, port := range ports {
			ap := netip.AddrPortFrom(b.Addr, uint16(port))
			ln, err := net.Listen("tcp", ap.String())
			if err != nil {
				return err
			}
			srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: answer("backend " + ap.String() + "\n")}
			go func() { _ = srv.Serve(ln) }()
		}
		return nil
	})
}

// Stop closes the listener: connections are refused, as when a server
// process dies.
func (b *Backend) Stop() {
	if b.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = b.srv.Shutdown(ctx)
		cancel()
		b.srv = nil
	}
}

// Close stops the server.
func (b *Backend) Close() { b.Stop() }

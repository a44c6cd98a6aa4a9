package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"lbaas/internal/netns"
	"lbaas/internal/up"
)

// Namespaces of these tests start with this prefix (the instances' own are
// vrouter-<vm>:<si>, as the seed names them). Each cluster adds a random
// part (see startTopo), so that two runs on one machine never share or
// delete each other's namespaces.
const nsPrefix = "lbt-e2e-"

// topo is a running cluster with the seed's networks, two backends and a
// client on the public network.
type topo struct {
	t        *testing.T
	c        *up.Cluster
	api      *up.API
	vipSub   string
	poolSub  string
	poolNet  string
	backends []*up.Backend
	client   string
	public   string // the Public network's id
	prefix   string // of this cluster's namespaces: nsPrefix + random

	mu  sync.Mutex
	lbs map[string]string // pool id -> its load balancer's (its VIP's) id
}

// lbID returns the id of the load balancer a pool belongs to (a v1 VIP is
// a load balancer with the VIP's id): instances, state directories and
// service instances are keyed by it.
func (tp *topo) lbID(poolID string) string {
	tp.t.Helper()
	tp.mu.Lock()
	id, ok := tp.lbs[poolID]
	tp.mu.Unlock()
	if ok {
		return id
	}
	p, err := tp.api.Get("/v2.0/lb/pools/"+poolID, "pool")
	if err != nil {
		tp.t.Fatal(err)
	}
	id, _ = p["vip_id"].(string)
	if id == "" {
		tp.t.Fatalf("pool %s has no VIP", poolID)
	}
	tp.mu.Lock()
	if tp.lbs == nil {
		tp.lbs = map[string]string{}
	}
	tp.lbs[poolID] = id
	tp.mu.Unlock()
	return id
}

func needDataPlane(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("data-plane tests build namespaces and need root")
	}
	for _, bin := range []string{"haproxy", "ip"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s is not installed", bin)
		}
	}
}

// needKeepalived skips failover tests where keepalived is missing (the
// agents then run without VRRP).
func needKeepalived(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("keepalived"); err != nil {
		t.Skip("keepalived is not installed: failover needs it")
	}
}

// startTopo brings up a cluster (server, 3 compute agents, network agent)
// and the seed's networks with two backends, 10.1.1.2 and 10.1.1.3.
func startTopo(t *testing.T, opts ...func(*up.Options)) *topo {
	tp := startCluster(t, opts...)
	vipnet := tp.create("/v2.0/networks", "network", map[string]any{"name": "vipnet"})
	tp.vipSub = tp.create("/v2.0/subnets", "subnet", map[string]any{"name": "vipsubnet", "network_id": vipnet["id"], "cidr": "20.1.1.0/24", "ip_version": 4})["id"].(string)
	poolnet := tp.create("/v2.0/networks", "network", map[string]any{"name": "poolnet"})
	tp.poolNet = poolnet["id"].(string)
	tp.poolSub = tp.create("/v2.0/subnets", "subnet", map[string]any{"name": "poolsubnet", "network_id": tp.poolNet, "cidr": "10.1.1.0/24", "ip_version": 4})["id"].(string)
	tp.startBackends(tp.poolNet)
	return tp
}

// startBackends starts the two web servers, 10.1.1.2 and 10.1.1.3, on a
// network with the seed's pool subnet.
func (tp *topo) startBackends(networkID string) {
	tp.t.Helper()
	for i, a := range []string{"10.1.1.2/24", "10.1.1.3/24"} {
		b, err := tp.c.StartBackend(fmt.Sprintf("%sbackend%d", tp.prefix, i+1), networkID, "10.1.1.0/24", netip.MustParsePrefix(a))
		if err != nil {
			tp.t.Fatal(err)
		}
		tp.backends = append(tp.backends, b)
	}
}

// startCluster brings up a cluster (server with both APIs, 3 compute
// agents, network agent) and a client namespace on the Public network.
func startCluster(t *testing.T, opts ...func(*up.Options)) *topo {
	needDataPlane(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Not t.TempDir(): it holds the test's name, and the embedded etcd's
	// unix socket under it must fit in 107 bytes.
	dir, err := os.MkdirTemp("", "lbt-e2e")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	prefix := fmt.Sprintf("%s%06x-", nsPrefix, rand.Uint32()&0xffffff)
	o := up.Options{Dir: dir + "/cluster", Listen: freeAddr(t), AnalyticsListen: freeAddr(t), OctaviaListen: freeAddr(t), Prefix: prefix, Binary: lbaasBin}
	for _, opt := range opts {
		opt(&o)
	}
	c, err := up.Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	tp := &topo{t: t, c: c, api: c.API(), prefix: prefix}
	t.Cleanup(func() {
		if t.Failed() {
			keepLogs(t, dir)
			b, _ := os.ReadFile(filepath.Join(dir, "cluster", "server.log"))
			t.Logf("--- server log (tail)\n%s", tail(string(b), 30))
			for n, a := range c.Agents() {
				for _, kl := range globAll(filepath.Join(a.StateDir, "loadbalancer", "*", "keepalived", "keepalived.log")) {
					b, _ := os.ReadFile(kl)
					t.Logf("--- keepalived of %s (tail)\n%s", n, tail(string(b), 15))
				}
				t.Logf("--- log of %s (tail)\n%s", n, tail(c.AgentLog(n), 40))
			}
		}
		c.Close()
		left, _ := netns.List(prefix)
		if len(left) > 0 {
			t.Errorf("namespaces left behind: %v", left)
		}
	})
	var pub struct {
		Networks []map[string]any `json:"networks"`
	}
	if err := tp.api.Call("GET", "/v2.0/networks?name=Public", nil, &pub); err != nil || len(pub.Networks) != 1 {
		t.Fatalf("no Public network: %v", err)
	}
	tp.public = pub.Networks[0]["id"].(string)
	tp.client = prefix + "client"
	if err := c.AddNamespace(tp.client, tp.public, "172.24.4.0/24", netip.MustParsePrefix("172.24.4.254/24")); err != nil {
		t.Fatal(err)
	}
	return tp
}

func (tp *topo) create(path, kind string, fields map[string]any) map[string]any {
	tp.t.Helper()
	obj, err := tp.api.Create(path, kind, fields)
	if err != nil {
		tp.t.Fatal(err)
	}
	return obj
}

// lb creates a pool with both backends as members, a VIP and a floating
// IP, and waits until the pool is ACTIVE. It returns pool, vip and the
// floating address.
func (tp *topo) lb(name string, pool, vip map[string]any) (map[string]any, map[string]any, string) {
	tp.t.Helper()
	var addrs []netip.Addr
	for _, b := range tp.backends {
		addrs = append(addrs, b.Addr)
	}
	return tp.lbOf(name, pool, vip, addrs)
}

// lbOf is lb with the members at addrs (port 80).
func (tp *topo) lbOf(name string, pool, vip map[string]any, addrs []netip.Addr) (map[string]any, map[string]any, string) {
	tp.t.Helper()
	pool["name"] = name
	pool["subnet_id"] = tp.poolSub
	if pool["protocol"] == nil {
		pool["protocol"] = "HTTP"
	}
	if pool["lb_method"] == nil {
		pool["lb_method"] = "ROUND_ROBIN"
	}
	p := tp.create("/v2.0/lb/pools", "pool", pool)
	for _, a := range addrs {
		tp.member(p["id"].(string), a)
	}
	vip["name"] = name + "-vip"
	vip["subnet_id"] = tp.vipSub
	vip["pool_id"] = p["id"]
	if vip["protocol"] == nil {
		vip["protocol"] = pool["protocol"]
	}
	if vip["protocol_port"] == nil {
		vip["protocol_port"] = 80
	}
	v := tp.create("/v2.0/lb/vips", "vip", vip)
	fip := tp.create("/v2.0/floatingips", "floatingip", map[string]any{"floating_network_id": tp.public, "port_id": v["port_id"]})
	tp.waitStatus("/v2.0/lb/pools/"+p["id"].(string), "pool", "ACTIVE", 30*time.Second)
	return p, v, fip["floating_ip_address"].(string)
}

// member adds addr:80 to a pool and returns the member's id.
func (tp *topo) member(poolID string, addr netip.Addr) string {
	tp.t.Helper()
	return tp.create("/v2.0/lb/members", "member", map[string]any{"pool_id": poolID, "address": addr.String(), "protocol_port": 80})["id"].(string)
}

// memberID finds the id of the pool's member at addr.
func (tp *topo) memberID(poolID string, addr netip.Addr) string {
	tp.t.Helper()
	var out struct {
		Members []map[string]any `json:"members"`
	}
	if err := tp.api.Call("GET", "/v2.0/lb/members?pool_id="+poolID, nil, &out); err != nil {
		tp.t.Fatal(err)
	}
	for _, m := range out.Members {
		if m["pool_id"] == poolID && m["address"] == addr.String() {
			return m["id"].(string)
		}
	}
	tp.t.Fatalf("pool %s has no member at %s", poolID, addr)
	return ""
}

// monitor creates a health monitor and associates it with the pool.
func (tp *topo) monitor(poolID string, fields map[string]any) string {
	tp.t.Helper()
	id := tp.create("/v2.0/lb/health_monitors", "health_monitor", fields)["id"].(string)
	if err := tp.api.Call("POST", "/v2.0/lb/pools/"+poolID+"/health_monitors", map[string]any{"health_monitor": map[string]any{"id": id}}, nil); err != nil {
		tp.t.Fatal(err)
	}
	return id
}

// code sends a request and returns only the HTTP status (for requests
// the API must refuse).
func (tp *topo) code(method, path string, body any) int {
	tp.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		tp.t.Fatal(err)
	}
	req, err := http.NewRequest(method, tp.api.URL+path, bytes.NewReader(b))
	if err != nil {
		tp.t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", tp.api.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := tp.api.HTTP.Do(req)
	if err != nil {
		tp.t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// waitStatus polls an object until its status is want.
func (tp *topo) waitStatus(path, kind, want string, limit time.Duration) map[string]any {
	tp.t.Helper()
	deadline := time.Now().Add(limit)
	var last map[string]any
	for time.Now().Before(deadline) {
		obj, err := tp.api.Get(path, kind)
		if err == nil {
			last = obj
			if obj["status"] == want {
				return obj
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	tp.t.Fatalf("%s did not become %s within %s; last: status=%v %v", path, want, limit, last["status"], last["status_description"])
	return nil
}

// httpClient returns a client whose connections start in the client
// namespace: traffic to our namespaces' addresses never leaves the host.
func httpClient(ns string, timeout time.Duration) *http.Client {
	return probeClient(ns, timeout, timeout)
}

// probeClient bounds the connect and the whole exchange separately. A lost
// VIP shows as an unanswered SYN, which the kernel would answer even while
// HAProxy waits for a CPU; so a short connect bound measures failover
// finely while a longer one for the exchange keeps a busy machine's slow
// answer from counting as a failure.
func probeClient(ns string, connect, total time.Duration) *http.Client {
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var conn net.Conn
		err := netns.Do(ns, func() error {
			var err error
			d := net.Dialer{Timeout: connect}
			conn, err = d.DialContext(ctx, network, addr)
			return err
		})
		return conn, err
	}
	return &http.Client{Timeout: total, Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true}}
}

// get fetches a URL from the client namespace and returns the body.
func (tp *topo) get(url string) (string, error) {
	return bodyOf(httpClient(tp.client, 3*time.Second).Get(url))
}

// bodyOf reads a 200 answer's trimmed body.
func bodyOf(resp *http.Response, err error) (string, error) {
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	return strings.TrimSpace(string(b)), nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func globAll(pattern string) []string {
	m, _ := filepath.Glob(pattern)
	return m
}

// keepLogs copies every log file of a failed test's cluster to the
// directory named by LBAAS_E2E_LOGS, when set, for a look after the run.
func keepLogs(t *testing.T, dir string) {
	dst := os.Getenv("LBAAS_E2E_LOGS")
	if dst == "" {
		return
	}
	dst = filepath.Join(dst, strings.ReplaceAll(t.Name(), "/", "_")+"-"+filepath.Base(dir))
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(d.Name(), ".log") {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		b, err := os.ReadFile(p)
		if err == nil && os.MkdirAll(filepath.Dir(filepath.Join(dst, rel)), 0o755) == nil {
			_ = os.WriteFile(filepath.Join(dst, rel), b, 0o644)
		}
		return nil
	})
	t.Logf("logs kept in %s", dst)
}

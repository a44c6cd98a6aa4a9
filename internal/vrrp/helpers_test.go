package vrrp

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"lbaas/internal/haproxy"
	"lbaas/internal/netns"
)

// testPrefix is unique per test binary run so that concurrent runs (other
// engineers use the lbt prefix too) never touch each other's namespaces.
var testPrefix = fmt.Sprintf("lbt%x-", os.Getpid())

const (
	vipNetID = "3c2b1a09-8f7e-4d6c-9b5a-493827160504"
	poolID   = "8f0e1d2c-3b4a-4596-8877-665544332211"
	memberID = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
)

var (
	vipNet = netip.MustParsePrefix("20.1.1.0/24")
	vip    = netip.MustParsePrefix("20.1.1.2/24")
)

func TestMain(m *testing.M) {
	code := m.Run()
	if os.Geteuid() == 0 {
		if left, _ := netns.List(testPrefix); len(left) > 0 {
			fmt.Fprintf(os.Stderr, "test namespaces left behind: %v\n", left)
			for _, n := range left {
				_ = netns.Delete(n)
			}
			code = 1
		}
	}
	os.Exit(code)
}

func requireReal(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces, keepalived)")
	}
	for _, b := range []string{"keepalived", "haproxy", "ip"} {
		if _, err := exec.LookPath(b); err != nil {
			t.Skipf("needs the %s binary", b)
		}
	}
}

// vm is one side of a pair: a namespace with vip0, a backend on 127.0.0.1
// answering the VM's name, a real HAProxy on the VIP and a keepalived.
type vm struct {
	name string
	ns   string
	addr netip.Prefix
	hap  haproxy.Spec
	spec Spec
}

type pair struct {
	t      *testing.T
	fab    *netns.Fabric
	a, b   *vm
	client string
	mgr    *Manager
	hm     *haproxy.Manager
}

func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %v: %v: %s", args, err, out)
	}
}

func testNamespace(t *testing.T, name string) string {
	t.Helper()
	if err := netns.Ensure(name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := netns.Delete(name); err != nil {
			t.Errorf("cleanup %s: %v", name, err)
		}
	})
	return name
}

// newPair builds the topology: VMs A (200) and B (100) and a client on one
// bridge, HAProxy running in both VMs. keepalived is not started yet.
func newPair(t *testing.T, suffix string, advert time.Duration) *pair {
	t.Helper()
	requireReal(t)
	fab, err := netns.NewFabric(netns.FabricOptions{Namespace: testPrefix + suffix + "-fab", BridgePrefix: "lbtb", PortPrefix: "lbtp"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := fab.Teardown(); err != nil {
			t.Errorf("cleanup fabric: %v", err)
		}
	})
	if err := fab.EnsureNetwork(netns.NetworkSpec{ID: vipNetID, CIDR: vipNet}); err != nil {
		t.Fatal(err)
	}
	hapBin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Fatal(err)
	}
	p := &pair{t: t, fab: fab, mgr: NewManager(Options{})}
	p.hm = haproxy.NewManager(haproxy.Options{})
	p.client = testNamespace(t, testPrefix+suffix+"-c")
	if err := fab.Attach(netns.AttachSpec{Namespace: p.client, IfName: "eth0", NetworkID: vipNetID, Address: netip.MustParsePrefix("20.1.1.10/24")}); err != nil {
		t.Fatal(err)
	}
	vrid, _ := VirtualRouterID(siID)
	mk := func(name, vmID string, addr, peer netip.Prefix, prio uint8) *vm {
		v := &vm{name: name, ns: testNamespace(t, testPrefix+suffix+"-"+name), addr: addr}
		if err := fab.Attach(netns.AttachSpec{Namespace: v.ns, IfName: "vip0", NetworkID: vipNetID, Address: addr}); err != nil {
			t.Fatal(err)
		}
		if err := netns.SetSysctl(v.ns, "net.ipv4.ip_nonlocal_bind", "1"); err != nil {
			t.Fatal(err)
		}
		startBackend(t, v)
		dir, err := os.MkdirTemp("", "lbt")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		hm := haproxy.NewManager(haproxy.Options{Start: func(c *exec.Cmd) error { return netns.StartProcess(v.ns, c) }})
		v.hap = haproxy.Spec{
			ID: poolID,
			Listeners: []haproxy.Listener{{ID: poolID, Address: vip.Addr(), Port: 80, Protocol: haproxy.ProtocolHTTP,
				ConnLimit: -1, AdminUp: true, DefaultPoolID: poolID}},
			Pools: []haproxy.Pool{{ID: poolID, Method: haproxy.MethodRoundRobin, Protocol: haproxy.ProtocolHTTP, AdminUp: true}},
			Paths: haproxy.DefaultPaths(dir, poolID),
		}
		v.hap.Pools[0].Members, v.hap.Pools[0].Slots = haproxy.AssignSlots(nil, []haproxy.Member{{ID: memberID,
			Address: netip.MustParseAddr("127.0.0.1"), Port: 8081, Weight: 1, AdminUp: true}}, 0)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if _, err := hm.Apply(ctx, v.hap); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_ = p.hm.Stop(ctx, v.hap.Paths)
		})
		inst, _ := InstanceName(vmID, siID)
		v.spec = Spec{Namespace: v.ns, Paths: PathsIn(dir + "/keepalived"), Config: Config{
			InstanceName: inst, Interface: "vip0", VirtualRouterID: vrid, Priority: prio,
			UnicastSrc: addr.Addr(), UnicastPeers: []netip.Addr{peer.Addr()}, VIP: vip,
			AdvertInterval: advert, TrackProcess: HAProxyProcess(hapBin, v.hap.Paths),
		}}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := p.mgr.Stop(ctx, v.spec.Paths); err != nil {
				t.Errorf("cleanup keepalived %s: %v", name, err)
			}
		})
		return v
	}
	aAddr, bAddr := netip.MustParsePrefix("20.1.1.254/24"), netip.MustParsePrefix("20.1.1.253/24")
	p.a = mk("a", vmA, aAddr, bAddr, PriorityActive)
	p.b = mk("b", vmB, bAddr, aAddr, PriorityStandby)
	return p
}

// startBackend serves the VM's name on 127.0.0.1:8081 inside its namespace.
func startBackend(t *testing.T, v *vm) {
	t.Helper()
	var ln net.Listener
	if err := netns.Do(v.ns, func() (err error) {
		ln, err = net.Listen("tcp", "127.0.0.1:8081")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, v.name)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

func (p *pair) apply(v *vm) Result {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, err := p.mgr.Apply(ctx, v.spec)
	if err != nil {
		p.t.Fatalf("apply %s: %v", v.name, err)
	}
	return r
}

func (p *pair) status(v *vm) Status {
	p.t.Helper()
	st, err := p.mgr.Status(context.Background(), v.spec)
	if err != nil {
		p.t.Fatalf("status %s: %v", v.name, err)
	}
	return st
}

// waitState waits (bounded) until v reports state with the VIP matching.
func (p *pair) waitState(v *vm, state string, within time.Duration) Status {
	p.t.Helper()
	deadline := time.Now().Add(within)
	for {
		st := p.status(v)
		if st.State == state && st.VIPPresent == (state == StateMaster) {
			return st
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: state %+v after %v, want %s; log:\n%s", v.name, st, within, state, tail(v.spec.Paths.Log))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// get sends one request to the VIP from the client namespace on a new
// connection and returns the answering VM's name.
func (p *pair) get(timeout time.Duration) (string, error) {
	var conn net.Conn
	d := net.Dialer{Timeout: timeout}
	if err := netns.Do(p.client, func() (err error) {
		conn, err = d.Dial("tcp", net.JoinHostPort(vip.Addr().String(), "80"))
		return err
	}); err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(conn, "GET / HTTP/1.0\r\nHost: vip\r\n\r\n"); err != nil {
		return "", err
	}
	b, err := io.ReadAll(conn)
	if err != nil {
		return "", err
	}
	s := string(b)
	if !strings.HasPrefix(s, "HTTP/1.0 200") && !strings.HasPrefix(s, "HTTP/1.1 200") {
		return "", fmt.Errorf("bad response %q", s)
	}
	return s[strings.LastIndex(s, "\n")+1:], nil
}

type sample struct {
	at   time.Time
	from string
	err  error
}

// probe sends a request every 10 ms (each bounded by 500 ms) until stop is
// called or limit elapses, and returns what it saw.
type probe struct {
	mu      sync.Mutex
	samples []sample
	stop    chan struct{}
	done    chan struct{}
}

func (p *pair) startProbe(limit time.Duration) *probe {
	pr := &probe{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(pr.done)
		end := time.Now().Add(limit)
		for i := 0; i < 5000 && time.Now().Before(end); i++ {
			// 500 ms: a request must not fail for the prober's own wait for a
			// CPU on a loaded host (the samples are what is measured).
			from, err := p.get(500 * time.Millisecond)
			pr.mu.Lock()
			pr.samples = append(pr.samples, sample{at: time.Now(), from: from, err: err})
			pr.mu.Unlock()
			select {
			case <-pr.stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	return pr
}

func (pr *probe) finish() []sample {
	close(pr.stop)
	<-pr.done
	return pr.samples
}

// waitServedBy waits until n consecutive probe samples came from name.
func (pr *probe) waitServedBy(t *testing.T, name string, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		pr.mu.Lock()
		s := pr.samples
		ok := len(s) >= n
		for i := len(s) - n; ok && i < len(s); i++ {
			ok = s[i].err == nil && s[i].from == name
		}
		pr.mu.Unlock()
		if ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("not served by %s %d times in a row within %v", name, n, within)
}

// gap is the longest time between two successful samples, and the failures.
func gap(s []sample) (longest time.Duration, failed int) {
	var last time.Time
	for _, x := range s {
		if x.err != nil {
			failed++
			continue
		}
		if !last.IsZero() && x.at.Sub(last) > longest {
			longest = x.at.Sub(last)
		}
		last = x.at
	}
	return longest, failed
}

// killKeepalived simulates a crash: SIGKILL to both of v's keepalived
// processes (started by this test), leaving the pid files behind.
func (p *pair) killKeepalived(v *vm) {
	p.t.Helper()
	st := p.status(v)
	if st.PID == 0 || st.VRRPPID == 0 {
		p.t.Fatalf("%s: keepalived not running: %+v", v.name, st)
	}
	for _, pid := range []int{st.PID, st.VRRPPID} {
		if err := syscallKill(pid); err != nil {
			p.t.Fatal(err)
		}
	}
	for _, pid := range []int{st.PID, st.VRRPPID} {
		if !waitGone(pid, 5*time.Second) {
			p.t.Fatalf("pid %d survived SIGKILL", pid)
		}
	}
}

// setPort sets the fabric side of v's vip0 down (node gone) or up.
func (p *pair) setPort(v *vm, up bool) {
	state := "down"
	if up {
		state = "up"
	}
	ipCmd(p.t, "-n", p.fab.Namespace(), "link", "set", p.fab.PortName(v.ns, "vip0"), state)
}

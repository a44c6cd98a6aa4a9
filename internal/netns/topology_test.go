package netns

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// topology is the test network: client on public, server on pool, and a
// router on both doing floating-IP NAT. Everything lives in lbt namespaces.
type topology struct {
	fabric                 *Fabric
	client, router, server string
}

var (
	clientAddr   = netip.MustParsePrefix("172.31.250.20/24")
	routerPublic = netip.MustParsePrefix("172.31.250.1/24")
	routerPool   = netip.MustParsePrefix("10.99.1.1/24")
	serverAddr   = netip.MustParsePrefix("10.99.1.10/24")
	floatingIP   = netip.MustParseAddr("172.31.250.10")
)

func buildTopology(t *testing.T, tag string) topology {
	t.Helper()
	tp := topology{
		fabric: testFabric(t, tag+"-fab"),
		client: testNamespace(t, tag+"-client"),
		router: testNamespace(t, tag+"-router"),
		server: testNamespace(t, tag+"-server"),
	}
	for _, n := range []NetworkSpec{{ID: publicNetID, CIDR: publicCIDR}, {ID: poolNetID, CIDR: poolCIDR}} {
		if err := tp.fabric.EnsureNetwork(n); err != nil {
			t.Fatal(err)
		}
	}
	gwPool := routerPool.Addr()
	for _, a := range []AttachSpec{
		{Namespace: tp.client, IfName: "lbtc0", NetworkID: publicNetID, Address: clientAddr},
		{Namespace: tp.router, IfName: "lbtrpub", NetworkID: publicNetID, Address: routerPublic},
		{Namespace: tp.router, IfName: "lbtrpool", NetworkID: poolNetID, Address: routerPool},
		// The server answers the client through the router; no default route.
		{Namespace: tp.server, IfName: "lbts0", NetworkID: poolNetID, Address: serverAddr,
			Gateway: gwPool, ExtraRoutes: []netip.Prefix{publicCIDR}},
	} {
		if err := tp.fabric.Attach(a); err != nil {
			t.Fatal(err)
		}
	}
	return tp
}

// serveHTTP starts an HTTP server listening inside ns (the socket is made
// inside Do, so it stays there) and records the remote address of each
// request.
func serveHTTP(t *testing.T, ns, addr string) *[]string {
	t.Helper()
	var ln net.Listener
	if err := Do(ns, func() (err error) { ln, err = net.Listen("tcp4", addr); return err }); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []string
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.RemoteAddr)
		mu.Unlock()
		io.WriteString(w, "hello from the pool")
	}), ReadHeaderTimeout: 2 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() }) // closes ln, releasing the namespace
	return &seen
}

// get dials addr from inside ns and does one HTTP/1.0 GET. The dial must
// happen inside Do: http.Client would dial from another goroutine, outside
// the namespace.
func get(ns, addr string) (string, error) {
	var conn net.Conn
	err := Do(ns, func() (err error) {
		d := net.Dialer{Timeout: 2 * time.Second}
		conn, err = d.DialContext(context.Background(), "tcp4", addr)
		return err
	})
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(3 * time.Second))
	req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
	if err := req.Write(conn); err != nil {
		return "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return string(b), err
}

func TestFloatingIPReachesServerThroughDNATAndStopsWhenRemoved(t *testing.T) {
	requireRoot(t)
	requireBinary(t, "ip")
	tp := buildTopology(t, "dnat")
	seen := serveHTTP(t, tp.server, serverAddr.Addr().String()+":8080")
	target := floatingIP.String() + ":8080"

	// Before any rule the floating IP does not exist.
	if _, err := get(tp.client, target); err == nil {
		t.Fatal("floating IP answered before SetFloatingIPs")
	}
	rules := []NATRule{{FloatingIP: floatingIP, FixedIP: serverAddr.Addr()}}
	if err := SetFloatingIPs(tp.router, rules); err != nil {
		t.Fatal(err)
	}
	body, err := get(tp.client, target)
	if err != nil {
		t.Fatalf("request to the floating IP: %v", err)
	}
	if body != "hello from the pool" {
		t.Fatalf("body = %q", body)
	}
	// DNAT only rewrites the destination: the server sees the real client.
	if len(*seen) != 1 || !strings.HasPrefix((*seen)[0], clientAddr.Addr().String()+":") {
		t.Fatalf("server saw %v, want one request from %v", *seen, clientAddr.Addr())
	}
	got, err := ListFloatingIPs(tp.router)
	if err != nil || !slices.Equal(got, rules) {
		t.Fatalf("ListFloatingIPs = %v, %v; want %v", got, err, rules)
	}
	if fwd, _ := GetSysctl(tp.router, "net.ipv4.ip_forward"); fwd != "1" {
		t.Fatalf("router ip_forward = %q", fwd)
	}
	if !strings.Contains(ipOut(t, tp.router, "-4", "-o", "addr", "show", "dev", "lbtrpub"), floatingIP.String()+"/32") {
		t.Fatal("floating IP not on the router's public interface")
	}

	if err := SetFloatingIPs(tp.router, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := get(tp.client, target); err == nil {
		t.Fatal("floating IP still reaches the server after its rule was removed")
	}
	if len(*seen) != 1 {
		t.Fatalf("server got requests after removal: %v", *seen)
	}
	if got, err := ListFloatingIPs(tp.router); err != nil || len(got) != 0 {
		t.Fatalf("ListFloatingIPs after removal = %v, %v", got, err)
	}
	if out := ipOut(t, tp.router, "-4", "-o", "addr", "show"); strings.Contains(out, floatingIP.String()) {
		t.Fatalf("floating IP address left on the router:\n%s", out)
	}
	if err := SetFloatingIPs(tp.router, nil); err != nil {
		t.Fatalf("removing an absent table: %v", err)
	}
}

func TestConnectionsFromFixedIPLeaveWithFloatingIP(t *testing.T) {
	requireRoot(t)
	tp := buildTopology(t, "snat")
	seen := serveHTTP(t, tp.client, clientAddr.Addr().String()+":8081")
	if err := SetFloatingIPs(tp.router, []NATRule{{FloatingIP: floatingIP, FixedIP: serverAddr.Addr()}}); err != nil {
		t.Fatal(err)
	}
	if _, err := get(tp.server, clientAddr.Addr().String()+":8081"); err != nil {
		t.Fatalf("server to client: %v", err)
	}
	if len(*seen) != 1 || !strings.HasPrefix((*seen)[0], floatingIP.String()+":") {
		t.Fatalf("client saw %v, want the floating IP %v as source", *seen, floatingIP)
	}
}

func TestSetFloatingIPsReplacesWholeSetAndOnlyOurTable(t *testing.T) {
	requireRoot(t)
	requireBinary(t, "nft")
	tp := buildTopology(t, "fipset")
	// A table that is not ours must survive every SetFloatingIPs.
	if out, err := exec.Command("ip", "netns", "exec", tp.router, "nft", "add", "table", "ip", "lbtforeign").CombinedOutput(); err != nil {
		t.Fatalf("nft add table: %v: %s", err, out)
	}
	a := netip.MustParseAddr("172.31.250.11")
	b := netip.MustParseAddr("172.31.250.12")
	first := []NATRule{{FloatingIP: b, FixedIP: netip.MustParseAddr("10.99.1.12")}, {FloatingIP: a, FixedIP: netip.MustParseAddr("10.99.1.11")}}
	for range 2 {
		if err := SetFloatingIPs(tp.router, first); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ListFloatingIPs(tp.router)
	if err != nil || len(got) != 2 || got[0].FloatingIP != a || got[1].FloatingIP != b {
		t.Fatalf("after setting twice: %v, %v", got, err)
	}
	second := []NATRule{{FloatingIP: b, FixedIP: netip.MustParseAddr("10.99.1.13")}}
	if err := SetFloatingIPs(tp.router, second); err != nil {
		t.Fatal(err)
	}
	if got, _ := ListFloatingIPs(tp.router); !slices.Equal(got, second) {
		t.Fatalf("after replace: %v, want %v", got, second)
	}
	addrs := ipOut(t, tp.router, "-4", "-o", "addr", "show")
	if strings.Contains(addrs, a.String()+"/32") || !strings.Contains(addrs, b.String()+"/32") {
		t.Fatalf("router addresses after replace:\n%s", addrs)
	}
	out, err := exec.Command("ip", "netns", "exec", tp.router, "nft", "list", "tables").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "lbtforeign") {
		t.Fatalf("foreign table lost: %v: %s", err, out)
	}
}

func TestSetFloatingIPsRejectsAmbiguousAndUnroutableRules(t *testing.T) {
	requireRoot(t)
	tp := buildTopology(t, "fipbad")
	fixed := netip.MustParseAddr("10.99.1.10")
	dup := []NATRule{{FloatingIP: netip.MustParseAddr("172.31.250.11"), FixedIP: fixed},
		{FloatingIP: netip.MustParseAddr("172.31.250.12"), FixedIP: fixed}}
	if err := SetFloatingIPs(tp.router, dup); err == nil {
		t.Error("two floating IPs for one fixed IP accepted")
	}
	far := []NATRule{{FloatingIP: netip.MustParseAddr("198.51.100.7"), FixedIP: fixed}}
	if err := SetFloatingIPs(tp.router, far); err == nil {
		t.Error("floating IP outside every connected subnet accepted")
	}
	if got, _ := ListFloatingIPs(tp.router); len(got) != 0 {
		t.Errorf("a rejected set left rules behind: %v", got)
	}
}

// A router of an active/standby pair: Attach without addresses and the NAT
// table alone (SetFloatingNAT). It serves nothing until its gateways and
// floating IP are added (keepalived does that when it becomes active), and
// then serves at once; a re-Attach leaves those addresses alone.
func TestAStandbyRouterHasTheNATTableAndServesOnceItsAddressesArrive(t *testing.T) {
	requireRoot(t)
	requireBinary(t, "ip")
	tp := buildTopology(t, "l3ha")
	seen := serveHTTP(t, tp.server, serverAddr.Addr().String()+":8082")
	target := floatingIP.String() + ":8082"
	rules := []NATRule{{FloatingIP: floatingIP, FixedIP: serverAddr.Addr()}}
	// It was a lone router (addresses of its own, a labelled /32)...
	if err := SetFloatingIPs(tp.router, rules); err != nil {
		t.Fatal(err)
	}
	// ...and becomes a standby: no address of its own on either side.
	for _, a := range []AttachSpec{
		{Namespace: tp.router, IfName: "lbtrpub", NetworkID: publicNetID},
		{Namespace: tp.router, IfName: "lbtrpool", NetworkID: poolNetID},
	} {
		if err := tp.fabric.Attach(a); err != nil {
			t.Fatal(err)
		}
	}
	if err := SetFloatingNAT(tp.router, rules); err != nil {
		t.Fatal(err)
	}
	if out := ipOut(t, tp.router, "-4", "-o", "addr", "show"); strings.Contains(out, "172.31.250.") || strings.Contains(out, "10.99.1.") {
		t.Fatalf("the standby router keeps addresses:\n%s", out)
	}
	if got, err := ListFloatingIPs(tp.router); err != nil || !slices.Equal(got, rules) {
		t.Fatalf("the standby's NAT table = %v, %v; want %v", got, err, rules)
	}
	if _, err := get(tp.client, target); err == nil {
		t.Fatal("a standby router answered for the floating IP")
	}
	// It becomes active: the addresses VRRP moves.
	for _, a := range []struct {
		ifname string
		p      netip.Prefix
	}{{"lbtrpub", routerPublic}, {"lbtrpub", netip.PrefixFrom(floatingIP, 32)}, {"lbtrpool", routerPool}} {
		if err := AddAddress(tp.router, a.ifname, a.p); err != nil {
			t.Fatal(err)
		}
	}
	if body, err := get(tp.client, target); err != nil || body != "hello from the pool" {
		t.Fatalf("through the router once active: %q, %v", body, err)
	}
	if err := tp.fabric.Attach(AttachSpec{Namespace: tp.router, IfName: "lbtrpool", NetworkID: poolNetID}); err != nil {
		t.Fatal(err)
	}
	if out := ipOut(t, tp.router, "-4", "-o", "addr", "show", "dev", "lbtrpool"); !strings.Contains(out, routerPool.String()) {
		t.Fatalf("a re-Attach removed the gateway VRRP added:\n%s", out)
	}
	if len(*seen) != 1 {
		t.Fatalf("server saw %v, want one request", *seen)
	}
}

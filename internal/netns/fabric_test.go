package netns

import (
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
)

const (
	publicNetID = "6f1c1a52-3b7e-4d2a-9c55-0e8d6a1b2c3d"
	poolNetID   = "a2b3c4d5-e6f7-4890-8abc-def012345678"
)

var (
	publicCIDR = netip.MustParsePrefix("172.31.250.0/24")
	poolCIDR   = netip.MustParsePrefix("10.99.1.0/24")
)

func TestLinkNamesAreDeterministicShortAndDistinct(t *testing.T) {
	f, err := NewFabric(FabricOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a, b := f.BridgeName(publicNetID), f.BridgeName(poolNetID)
	if a != f.BridgeName(strings.ToUpper(publicNetID)) {
		t.Error("bridge name depends on the case of the UUID")
	}
	if a == b || len(a) > 15 || !strings.HasPrefix(a, "br") {
		t.Errorf("bridge names %q %q: want distinct, br-prefixed, <= 15 bytes", a, b)
	}
	long := "vrouter-0b8a3f4e-2c1d-4e5f-9a8b-7c6d5e4f3a2b:5d6e7f80-1a2b-4c3d-8e9f-0a1b2c3d4e5f"
	p1, p2 := f.PortName(long, "eth0"), f.PortName(long, "eth1")
	if p1 == p2 || len(p1) > 15 || p1 != f.PortName(long, "eth0") {
		t.Errorf("port names %q %q: want distinct, stable, <= 15 bytes", p1, p2)
	}
	// The separator keeps ("ab","c") and ("a","bc") apart.
	if f.PortName("ab", "c") == f.PortName("a", "bc") {
		t.Error("port names of different (namespace, ifname) pairs collide")
	}
}

func TestNewFabricRejectsPrefixThatOverflowsIFNAMSIZ(t *testing.T) {
	if _, err := NewFabric(FabricOptions{BridgePrefix: "toolong"}); err == nil {
		t.Error("6-byte bridge prefix accepted")
	}
	if _, err := NewFabric(FabricOptions{BridgePrefix: "x", PortPrefix: "x"}); err == nil {
		t.Error("identical prefixes accepted")
	}
}

func TestAttachRefusesDefaultRouteAndBadNames(t *testing.T) {
	f, _ := NewFabric(FabricOptions{})
	base := AttachSpec{Namespace: "ns", IfName: "eth0", NetworkID: poolNetID,
		Address: netip.MustParsePrefix("10.99.1.10/24")}
	cases := map[string]func(*AttachSpec){
		"default route": func(s *AttachSpec) {
			s.Gateway = netip.MustParseAddr("10.99.1.1")
			s.ExtraRoutes = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}
		},
		"routes without gateway": func(s *AttachSpec) {
			s.ExtraRoutes = []netip.Prefix{netip.MustParsePrefix("172.31.250.0/24")}
		},
		"ifname too long":   func(s *AttachSpec) { s.IfName = "sixteen-chars-xx" },
		"ifname with colon": func(s *AttachSpec) { s.IfName = "eth0:1" },
		"IPv6 address":      func(s *AttachSpec) { s.Address = netip.MustParsePrefix("fd00::1/64") },
	}
	for name, mutate := range cases {
		s := base
		mutate(&s)
		if err := f.Attach(s); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestEnsureNetworkRejectsNonUUIDAndDefaultCIDR(t *testing.T) {
	f, _ := NewFabric(FabricOptions{})
	if err := f.EnsureNetwork(NetworkSpec{ID: "public", CIDR: publicCIDR}); err == nil {
		t.Error("non-UUID id accepted")
	}
	if err := f.EnsureNetwork(NetworkSpec{ID: publicNetID, CIDR: netip.MustParsePrefix("0.0.0.0/0")}); err == nil {
		t.Error("/0 network accepted")
	}
}

// ipOut runs `ip -n ns args...` for inspection only.
func ipOut(t *testing.T, ns string, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip -n %s %v: %v: %s", ns, args, err, out)
	}
	return string(out)
}

func TestAttachIsIdempotentAndFixesAddressInPlace(t *testing.T) {
	requireRoot(t)
	requireBinary(t, "ip")
	f := testFabric(t, "fab-idem")
	ns := testNamespace(t, "idem")
	for range 2 {
		if err := f.EnsureNetwork(NetworkSpec{ID: poolNetID, CIDR: poolCIDR}); err != nil {
			t.Fatal(err)
		}
	}
	spec := AttachSpec{Namespace: ns, IfName: "lbt0", NetworkID: poolNetID,
		Address: netip.MustParsePrefix("10.99.1.20/24"),
		Gateway: netip.MustParseAddr("10.99.1.1"),
		ExtraRoutes: []netip.Prefix{netip.MustParsePrefix("172.31.250.0/24"),
			netip.MustParsePrefix("192.0.2.0/24")}}
	if err := f.Attach(spec); err != nil {
		t.Fatal(err)
	}
	idx := ipOut(t, ns, "-o", "link", "show", "lbt0")
	vip := netip.MustParsePrefix("10.99.1.100/24")
	if err := AddAddress(ns, "lbt0", vip); err != nil {
		t.Fatal(err)
	}
	if err := AddAddress(ns, "lbt0", vip); err != nil {
		t.Fatalf("second AddAddress: %v", err)
	}
	if err := f.Attach(spec); err != nil {
		t.Fatalf("re-Attach: %v", err)
	}
	if again := ipOut(t, ns, "-o", "link", "show", "lbt0"); strings.Fields(again)[0] != strings.Fields(idx)[0] {
		t.Fatalf("re-Attach recreated the interface: %q then %q", idx, again)
	}

	// Change the address and drop one route: both are fixed in place, the
	// VIP survives although the old primary address goes away.
	spec.Address = netip.MustParsePrefix("10.99.1.21/24")
	spec.ExtraRoutes = spec.ExtraRoutes[:1]
	if err := f.Attach(spec); err != nil {
		t.Fatal(err)
	}
	addrs := ipOut(t, ns, "-4", "-o", "addr", "show", "dev", "lbt0")
	if strings.Contains(addrs, "10.99.1.20/") || !strings.Contains(addrs, "10.99.1.21/24") || !strings.Contains(addrs, "10.99.1.100/24") {
		t.Fatalf("after address change: want .21 and VIP .100, not .20:\n%s", addrs)
	}
	routes := ipOut(t, ns, "-4", "route", "show")
	if !strings.Contains(routes, "172.31.250.0/24 via 10.99.1.1") || strings.Contains(routes, "192.0.2.0") || strings.Contains(routes, "default") {
		t.Fatalf("routes after change:\n%s", routes)
	}
	if strings.Fields(ipOut(t, ns, "-o", "link", "show", "lbt0"))[0] != strings.Fields(idx)[0] {
		t.Fatal("address change recreated the interface")
	}
	// The fabric side is a port of the pool bridge and up.
	port := ipOut(t, f.Namespace(), "-o", "link", "show", f.PortName(ns, "lbt0"))
	if !strings.Contains(port, "master "+f.BridgeName(poolNetID)) || !strings.Contains(port, "state UP") {
		t.Fatalf("fabric port: %s", port)
	}
	if lo := ipOut(t, ns, "-o", "link", "show", "lo"); !strings.Contains(lo, "UP") {
		t.Fatalf("lo not up: %s", lo)
	}

	if err := DelAddress(ns, "lbt0", vip); err != nil {
		t.Fatal(err)
	}
	if err := DelAddress(ns, "lbt0", vip); err != nil {
		t.Fatalf("second DelAddress: %v", err)
	}
	if strings.Contains(ipOut(t, ns, "-4", "-o", "addr", "show", "dev", "lbt0"), "10.99.1.100") {
		t.Fatal("VIP still present after DelAddress")
	}
}

func TestAttachRecreatesPairWhoseFabricEndVanished(t *testing.T) {
	requireRoot(t)
	requireBinary(t, "ip")
	f := testFabric(t, "fab-heal")
	ns := testNamespace(t, "heal")
	if err := f.EnsureNetwork(NetworkSpec{ID: poolNetID, CIDR: poolCIDR}); err != nil {
		t.Fatal(err)
	}
	spec := AttachSpec{Namespace: ns, IfName: "lbt0", NetworkID: poolNetID, Address: netip.MustParsePrefix("10.99.1.30/24")}
	if err := f.Attach(spec); err != nil {
		t.Fatal(err)
	}
	// Deleting the bridge (DeleteNetwork) takes the pair with it.
	if err := f.DeleteNetwork(poolNetID); err != nil {
		t.Fatal(err)
	}
	if out, _ := exec.Command("ip", "-n", ns, "link", "show", "lbt0").CombinedOutput(); !strings.Contains(string(out), "does not exist") {
		t.Fatalf("namespace end survived DeleteNetwork: %s", out)
	}
	if err := f.DeleteNetwork(poolNetID); err != nil {
		t.Fatalf("second DeleteNetwork: %v", err)
	}
	if err := f.Attach(spec); err == nil {
		t.Fatal("Attach to a deleted network succeeded")
	}
	if err := f.EnsureNetwork(NetworkSpec{ID: poolNetID, CIDR: poolCIDR}); err != nil {
		t.Fatal(err)
	}
	if err := f.Attach(spec); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ipOut(t, ns, "-4", "-o", "addr", "show", "dev", "lbt0"), "10.99.1.30/24") {
		t.Fatal("re-attached interface lacks its address")
	}
	for range 2 {
		if err := f.Detach(ns, "lbt0"); err != nil {
			t.Fatal(err)
		}
	}
	if out := ipOut(t, f.Namespace(), "-o", "link", "show"); strings.Contains(out, f.PortName(ns, "lbt0")) {
		t.Fatalf("fabric port left after Detach:\n%s", out)
	}
}

func TestAttachRefusesAddressOutsideNetwork(t *testing.T) {
	requireRoot(t)
	f := testFabric(t, "fab-cidr")
	ns := testNamespace(t, "cidr")
	if err := f.EnsureNetwork(NetworkSpec{ID: poolNetID, CIDR: poolCIDR}); err != nil {
		t.Fatal(err)
	}
	err := f.Attach(AttachSpec{Namespace: ns, IfName: "lbt0", NetworkID: poolNetID, Address: netip.MustParsePrefix("10.98.1.5/24")})
	if err == nil {
		t.Fatal("address outside the network CIDR accepted")
	}
}

func TestFabricBridgesSkipTheIPFirewallHooks(t *testing.T) {
	requireRoot(t)
	if _, err := os.Stat("/proc/sys/net/bridge/bridge-nf-call-iptables"); err != nil {
		t.Skip("br_netfilter is not loaded: bridged frames never reach the IP hooks here")
	}
	f := testFabric(t, "fab-brnf")
	if err := f.EnsureNetwork(NetworkSpec{ID: poolNetID, CIDR: poolCIDR}); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables", "net.bridge.bridge-nf-call-arptables"} {
		if v, err := GetSysctl(f.Namespace(), key); err != nil || v != "0" {
			t.Errorf("%s in the fabric = %q (%v), want 0", key, v, err)
		}
	}
}

// Two agents of one host plumb the two VMs of a new load balancer at the
// same moment: both ensure the network's bridge, and both must succeed.
func TestEnsureNetworkFromManyAgentsAtOnceSucceedsForAll(t *testing.T) {
	requireRoot(t)
	f := testFabric(t, "race")
	if err := Ensure(f.Namespace()); err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 5; round++ {
		id := uuid.NewString()
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- f.EnsureNetwork(NetworkSpec{ID: id, CIDR: poolCIDR})
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	}
}

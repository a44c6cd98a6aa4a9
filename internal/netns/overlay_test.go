package netns

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// twoHosts simulates two hosts: each a namespace with an underlay address
// on one veth wire between them (the physical network "physnet1" too),
// and each with a fabric of its own.
type simHost struct {
	host   string
	fabric *Fabric
	ip     netip.Addr
}

func twoHosts(t *testing.T, tag string, mapping bool) (a, b simHost) {
	t.Helper()
	ha, hb := testNamespace(t, tag+"ha"), testNamespace(t, tag+"hb")
	ipA, ipB := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	err := withHandle(ha, func(h *netlink.Handle, _ int) error {
		return withHandle(hb, func(_ *netlink.Handle, fdB int) error {
			return h.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "wire0"}, PeerName: "wire0", PeerNamespace: netlink.NsFd(fdB)})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(ns string, ip netip.Addr, suffix string) simHost {
		opts := FabricOptions{Namespace: testPrefix + tag + suffix, BridgePrefix: "lbtb", PortPrefix: "lbtp", HostNamespace: ns}
		if mapping {
			opts.Mappings = map[string]string{"physnet1": "wire0"}
		} else {
			// The underlay: the tunnel address on the wire.
			if err := AddAddress(ns, "wire0", netip.PrefixFrom(ip, 24)); err != nil {
				t.Fatal(err)
			}
			opts.LocalIP = ip
		}
		if err := withHandle(ns, func(h *netlink.Handle, _ int) error {
			l, err := h.LinkByName("wire0")
			if err != nil {
				return err
			}
			return h.LinkSetUp(l)
		}); err != nil {
			t.Fatal(err)
		}
		f, err := NewFabric(opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = f.Teardown() })
		return simHost{host: ns, fabric: f, ip: ip}
	}
	return mk(ha, ipA, "fa"), mk(hb, ipB, "fb")
}

// vmOn plugs a namespace into the network on a host.
func vmOn(t *testing.T, h simHost, suffix, network, addr string, mtu int) string {
	t.Helper()
	ns := testNamespace(t, suffix)
	if err := h.fabric.Attach(AttachSpec{Namespace: ns, IfName: "eth0", NetworkID: network, Address: netip.MustParsePrefix(addr), MTU: mtu}); err != nil {
		t.Fatal(err)
	}
	return ns
}

func linkStats(t *testing.T, ns, name string) (rx, tx uint64) {
	t.Helper()
	_ = withHandle(ns, func(h *netlink.Handle, _ int) error {
		l, err := h.LinkByName(name)
		if err == nil && l.Attrs().Statistics != nil {
			rx, tx = l.Attrs().Statistics.RxPackets, l.Attrs().Statistics.TxPackets
		}
		return err
	})
	return rx, tx
}

func TestVXLANJoinsTwoHostsBridgesAndTheFloodListFollowsTheServer(t *testing.T) {
	requireRoot(t)
	a, b := twoHosts(t, "vx", false)
	id := uuid.NewString()
	cidr := netip.MustParsePrefix("10.77.0.0/24")
	for _, h := range []struct {
		s    simHost
		peer netip.Addr
	}{{a, b.ip}, {b, a.ip}} {
		if err := h.s.fabric.EnsureNetwork(NetworkSpec{ID: id, CIDR: cidr}); err != nil {
			t.Fatal(err)
		}
		if err := h.s.fabric.EnsureUplink(id, Segment{Type: "vxlan", SegmentationID: 4242, MTU: 1450, VTEPs: []netip.Addr{h.peer}}); err != nil {
			t.Fatal(err)
		}
	}
	vmA := vmOn(t, a, "vxva", id, "10.77.0.1/24", 1450)
	vmB := vmOn(t, b, "vxvb", id, "10.77.0.2/24", 1450)
	serveHTTP(t, vmB, "10.77.0.2:8080")
	_, txBefore := linkStats(t, a.host, "wire0")
	if body, err := get(vmA, "10.77.0.2:8080"); err != nil || !strings.Contains(body, "hello") {
		t.Fatalf("a VM on host A cannot reach one on host B over VXLAN: %q %v", body, err)
	}
	if _, tx := linkStats(t, a.host, "wire0"); tx <= txBefore {
		t.Fatal("the request did not cross the underlay")
	}
	// Idempotent, and the device is in the fabric, not the host.
	if err := a.fabric.EnsureUplink(id, Segment{Type: "vxlan", SegmentationID: 4242, MTU: 1450, VTEPs: []netip.Addr{b.ip}}); err != nil {
		t.Fatal(err)
	}
	if l, _ := linkStatsName(a.host, a.fabric.UplinkName(id)); l {
		t.Fatal("the VXLAN device stayed in the host namespace")
	}
	// A third host joins, then B leaves: the flood list is exactly the
	// server's list each time.
	third := netip.MustParseAddr("192.0.2.3")
	if err := a.fabric.EnsureUplink(id, Segment{Type: "vxlan", SegmentationID: 4242, VTEPs: []netip.Addr{b.ip, third}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := a.fabric.FloodList(id); !slices.Equal(got, []netip.Addr{b.ip, third}) {
		t.Fatalf("flood list %v, want %v", got, []netip.Addr{b.ip, third})
	}
	if err := a.fabric.EnsureUplink(id, Segment{Type: "vxlan", SegmentationID: 4242, VTEPs: []netip.Addr{third}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := a.fabric.FloodList(id); !slices.Equal(got, []netip.Addr{third}) {
		t.Fatalf("flood list after B left: %v", got)
	}
	// A network the host stops carrying loses its uplink.
	if err := a.fabric.PruneUplinks(map[string]bool{}); err != nil {
		t.Fatal(err)
	}
	if ok, _ := linkStatsName(a.fabric.Namespace(), a.fabric.UplinkName(id)); ok {
		t.Fatal("the uplink of a network no longer carried is still there")
	}
}

func linkStatsName(ns, name string) (bool, error) {
	found := false
	err := withHandle(ns, func(h *netlink.Handle, _ int) error {
		l, err := linkByName(h, name)
		found = l != nil
		return err
	})
	return found, err
}

func TestVLANNetworksOnOnePhysicalNetworkAreKeptApart(t *testing.T) {
	requireRoot(t)
	a, b := twoHosts(t, "vl", true)
	red, blue := uuid.NewString(), uuid.NewString()
	cidr := netip.MustParsePrefix("10.78.0.0/24")
	for _, h := range []simHost{a, b} {
		for vid, id := range map[int]string{100: red, 200: blue} {
			if err := h.fabric.EnsureNetwork(NetworkSpec{ID: id, CIDR: cidr}); err != nil {
				t.Fatal(err)
			}
			if err := h.fabric.EnsureUplink(id, Segment{Type: "vlan", PhysicalNetwork: "physnet1", SegmentationID: vid}); err != nil {
				if errors.Is(err, unix.EOPNOTSUPP) {
					t.Skip("needs the kernel's 802.1Q support (8021q), which this kernel lacks")
				}
				t.Fatal(err)
			}
		}
	}
	redA := vmOn(t, a, "vlra", red, "10.78.0.1/24", 0)
	redB := vmOn(t, b, "vlrb", red, "10.78.0.2/24", 0)
	blueB := vmOn(t, b, "vlbb", blue, "10.78.0.1/24", 0) // same address, other VLAN
	serveHTTP(t, redB, "10.78.0.2:8080")
	serveHTTP(t, blueB, "10.78.0.1:8080")
	if body, err := get(redA, "10.78.0.2:8080"); err != nil || !strings.Contains(body, "hello") {
		t.Fatalf("VLAN 100 does not join the hosts: %q %v", body, err)
	}
	// The host's own interface stays in the host namespace.
	if ok, _ := linkStatsName(a.host, "wire0"); !ok {
		t.Fatal("the VLAN network took the mapped interface away from the host")
	}
	if err := a.fabric.EnsureUplink(red, Segment{Type: "vlan", PhysicalNetwork: "physnet9", SegmentationID: 100}); err == nil || !strings.Contains(err.Error(), "physnet9") {
		t.Fatalf("an unmapped physical network: %v", err)
	}
}

func TestAFlatNetworkTakesAPlainInterfaceWholeAndGivesItBack(t *testing.T) {
	requireRoot(t)
	a, b := twoHosts(t, "fl", true)
	id := uuid.NewString()
	for _, h := range []simHost{a, b} {
		if err := h.fabric.EnsureNetwork(NetworkSpec{ID: id, CIDR: netip.MustParsePrefix("10.79.0.0/24")}); err != nil {
			t.Fatal(err)
		}
		if err := h.fabric.EnsureUplink(id, Segment{Type: "flat", PhysicalNetwork: "physnet1"}); err != nil {
			t.Fatal(err)
		}
	}
	va := vmOn(t, a, "flva", id, "10.79.0.1/24", 0)
	vb := vmOn(t, b, "flvb", id, "10.79.0.2/24", 0)
	serveHTTP(t, vb, "10.79.0.2:8080")
	if body, err := get(va, "10.79.0.2:8080"); err != nil || !strings.Contains(body, "hello") {
		t.Fatalf("the flat network does not join the hosts: %q %v", body, err)
	}
	if ok, errs := a.fabric.CheckMappings(); !slices.Equal(ok, []string{"physnet1"}) || len(errs) != 0 {
		t.Fatalf("an interface given to the fabric still counts as mapped: %v %v", ok, errs)
	}
	if err := a.fabric.PruneUplinks(nil); err != nil {
		t.Fatal(err)
	}
	if ok, _ := linkStatsName(a.host, "wire0"); !ok {
		t.Fatal("the interface was not given back to the host")
	}
}

func TestCheckMappingsNamesAMissingInterfaceAndAForeignTunnelAddress(t *testing.T) {
	requireRoot(t)
	host := testNamespace(t, "cmh")
	f, err := NewFabric(FabricOptions{Namespace: testPrefix + "cmf", BridgePrefix: "lbtb", PortPrefix: "lbtp", HostNamespace: host,
		LocalIP: netip.MustParseAddr("192.0.2.50"), Mappings: map[string]string{"physnet1": "lo", "physnet2": "eth9"}})
	if err != nil {
		t.Fatal(err)
	}
	ok, problems := f.CheckMappings()
	if !slices.Equal(ok, []string{"physnet1"}) || len(problems) != 2 ||
		!strings.Contains(problems[0], "eth9") || !strings.Contains(problems[1], "192.0.2.50") {
		t.Fatalf("ok %v problems %v", ok, problems)
	}
}

func TestAFlatNetworkMappedToAHostBridgeIsPatchedInAndThePatchGoesWithIt(t *testing.T) {
	requireRoot(t)
	a, b := twoHosts(t, "fb", false)
	// Each host's physical network is a bridge of its own (br-phys) with
	// the wire as a port: the usual layout where the host keeps using it.
	for _, h := range []simHost{a, b} {
		err := withHandle(h.host, func(hh *netlink.Handle, _ int) error {
			br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "br-phys"}}
			if err := hh.LinkAdd(br); err != nil {
				return err
			}
			wire, err := hh.LinkByName("wire0")
			if err != nil {
				return err
			}
			if err := hh.LinkSetMaster(wire, br); err != nil {
				return err
			}
			return hh.LinkSetUp(br)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	id := uuid.NewString()
	for _, h := range []simHost{a, b} {
		f, err := NewFabric(FabricOptions{Namespace: h.fabric.Namespace(), BridgePrefix: "lbtb", PortPrefix: "lbtp", HostNamespace: h.host,
			Mappings: map[string]string{"physnet1": "br-phys"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.EnsureNetwork(NetworkSpec{ID: id, CIDR: netip.MustParsePrefix("10.80.0.0/24")}); err != nil {
			t.Fatal(err)
		}
		if err := f.EnsureUplink(id, Segment{Type: "flat", PhysicalNetwork: "physnet1"}); err != nil {
			t.Fatal(err)
		}
		// Idempotent.
		if err := f.EnsureUplink(id, Segment{Type: "flat", PhysicalNetwork: "physnet1"}); err != nil {
			t.Fatal(err)
		}
	}
	va := vmOn(t, a, "fbva", id, "10.80.0.1/24", 0)
	vb := vmOn(t, b, "fbvb", id, "10.80.0.2/24", 0)
	serveHTTP(t, vb, "10.80.0.2:8080")
	if body, err := get(va, "10.80.0.2:8080"); err != nil || !strings.Contains(body, "hello") {
		t.Fatalf("the flat network through the host bridges: %q %v", body, err)
	}
	if ok, _ := linkStatsName(a.host, "br-phys"); !ok {
		t.Fatal("the host bridge left the host")
	}
	f, _ := NewFabric(FabricOptions{Namespace: a.fabric.Namespace(), BridgePrefix: "lbtb", PortPrefix: "lbtp", HostNamespace: a.host,
		Mappings: map[string]string{"physnet1": "br-phys"}})
	if err := f.PruneUplinks(nil); err != nil {
		t.Fatal(err)
	}
	hostEnd := hashName("uh", nameHexChars, id)
	if ok, _ := linkStatsName(a.host, hostEnd); ok {
		t.Fatal("the patch's host end outlived the network's uplink")
	}
	if ok, _ := linkStatsName(a.host, "br-phys"); !ok {
		t.Fatal("pruning took the host bridge")
	}
}

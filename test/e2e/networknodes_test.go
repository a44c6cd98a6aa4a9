package e2e

import (
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"lbaas/internal/netns"
	"lbaas/internal/up"
	"lbaas/internal/vrrp"
)

// twoNetworkNodes is four compute hosts and two network nodes, each a
// simulated host: the floating-IP router runs on both, active/standby.
func twoNetworkNodes(o *up.Options) { o.Hosts, o.Nodes, o.NetworkNodes = true, 4, 2 }

var networkNodes = []string{"network-1", "network-2"}

// routersHolding returns the network nodes whose router namespace holds
// addr (a floating IP VRRP moves).
func (tp *topo) routersHolding(addr string) []string {
	want := netip.MustParseAddr(addr)
	var out []string
	for _, n := range networkNodes {
		addrs, _ := netns.Addresses(tp.c.RouterNamespaceOf(n), "ext0")
		for _, a := range addrs {
			if a.Addr() == want {
				out = append(out, n)
			}
		}
	}
	return out
}

// waitOneRouterHolds waits until exactly one router holds addr and
// returns its node.
func (tp *topo) waitOneRouterHolds(t *testing.T, addr string, limit time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		h := tp.routersHolding(addr)
		if len(h) == 1 {
			return h[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("routers holding %s after %s: %v, want exactly one", addr, limit, h)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// routerState is what the node's router keepalived last reported.
func (tp *topo) routerState(node string) string {
	return vrrp.Recorded(vrrp.PathsIn(filepath.Join(tp.c.Agents()[node].StateDir, "router", "keepalived"))).State
}

// pinnedMAC is the MAC of the permanent neighbour entry for ip in a
// namespace (an arbiter's pin), or "" when there is none.
func pinnedMAC(t *testing.T, ns string, ip netip.Addr) string {
	t.Helper()
	mac := ""
	err := netns.WithHandle(ns, func(h *netlink.Handle, _ int) error {
		neighs, err := h.NeighList(0, netlink.FAMILY_V4)
		for _, n := range neighs {
			if n.IP.Equal(ip.AsSlice()) && n.State&netlink.NUD_PERMANENT != 0 {
				mac = n.HardwareAddr.String()
			}
		}
		return err
	})
	if err != nil {
		t.Fatalf("neighbours of %s: %v", ns, err)
	}
	return mac
}

// macOf is an interface's MAC in a namespace.
func macOf(t *testing.T, ns, ifname string) string {
	t.Helper()
	mac := ""
	err := netns.WithHandle(ns, func(h *netlink.Handle, _ int) error {
		l, err := h.LinkByName(ifname)
		if err == nil {
			mac = l.Attrs().HardwareAddr.String()
		}
		return err
	})
	if err != nil {
		t.Fatalf("%s in %s: %v", ifname, ns, err)
	}
	return mac
}

func TestOnSimulatedHostsTheActiveNetworkNodesDeathMovesTheFloatingIPsToTheOtherAndItsReturnCostsNothing(t *testing.T) {
	needKeepalived(t)
	tp := startTopo(t, twoNetworkNodes)
	pool, vip, fip := tp.lb("mhl3", map[string]any{}, map[string]any{})
	vipAddr := netip.MustParseAddr(vip["address"].(string))
	p := tp.probe("http://"+fip+"/", 10*time.Millisecond, 90*time.Second)
	p.waitOK(t, 20, 10*time.Second)
	active := tp.waitOneRouterHolds(t, fip, 10*time.Second)
	standby := networkNodes[0]
	if active == standby {
		standby = networkNodes[1]
	}
	if s := tp.routerState(standby); s != "BACKUP" {
		t.Fatalf("the standby router %s is %q, want BACKUP", standby, s)
	}

	// The active network node dies silently: its host, agent, keepalived
	// and arbiter are gone at once.
	if _, err := tp.c.KillNode(active, up.Silent); err != nil {
		t.Fatal(err)
	}
	if ok, _ := netns.Exists(tp.c.RouterNamespaceOf(active)); ok {
		t.Fatal("the dead network node's router namespace is still there")
	}
	p.waitOK(t, 30, 10*time.Second)
	if got := tp.waitOneRouterHolds(t, fip, 5*time.Second); got != standby {
		t.Fatalf("the floating IP %s is on %s's router, want %s's", fip, got, standby)
	}
	// The arbiter's promise is kept by the survivor: it pins the VIP to
	// the VM that holds it.
	holder := tp.active(pool["id"].(string), vipAddr.String())
	want := macOf(t, holder.namespace, "vip0")
	for deadline := time.Now().Add(5 * time.Second); pinnedMAC(t, tp.c.RouterNamespaceOf(standby), vipAddr) != want; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s's router does not pin the VIP %s to its holder's MAC %s (pin: %q)", standby, vipAddr, want, pinnedMAC(t, tp.c.RouterNamespaceOf(standby), vipAddr))
		}
	}
	death := oneOutage(t, p.stop())

	// It comes back: it joins as the standby and not a request fails.
	p = tp.probe("http://"+fip+"/", 10*time.Millisecond, 90*time.Second)
	p.waitOK(t, 20, 10*time.Second)
	if err := tp.c.StartAgent(active); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); tp.routerState(active) != "BACKUP"; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the returning network node's router is %q 20s after its agent started, want BACKUP", tp.routerState(active))
		}
	}
	// Past its master-down interval and a few adverts more.
	time.Sleep(2 * time.Second)
	p.waitOK(t, 20, 10*time.Second)
	ws := p.stop()
	if len(ws) != 0 {
		t.Errorf("the network node's return cost requests: %v", ws)
	}
	if h := tp.routersHolding(fip); len(h) != 1 || h[0] != standby {
		t.Errorf("after the return the floating IP is on %v, want %s only", h, standby)
	}
	t.Logf("active network node %s died silently: %s; its return: %d failure windows", active, death, len(ws))
}

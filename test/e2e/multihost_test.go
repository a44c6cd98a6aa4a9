package e2e

import (
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

	"lbaas/internal/netns"
	"lbaas/internal/up"
)

func withHosts(o *up.Options) { o.Hosts = true }

// uplinkCounters sums the packets every VXLAN device of a host's fabric
// received and sent.
func uplinkCounters(t *testing.T, fabricNS string) (vxlans int, rx, tx uint64) {
	t.Helper()
	err := netns.WithHandle(fabricNS, func(h *netlink.Handle, _ int) error {
		links, err := h.LinkList()
		for _, l := range links {
			if _, ok := l.(*netlink.Vxlan); ok {
				vxlans++
				if s := l.Attrs().Statistics; s != nil {
					rx += s.RxPackets
					tx += s.TxPackets
				}
			}
		}
		return err
	})
	if err != nil {
		t.Fatalf("read %s: %v", fabricNS, err)
	}
	return vxlans, rx, tx
}

func TestOnSimulatedHostsEveryPacketBetweenHostsCrossesTheVXLANOverlay(t *testing.T) {
	tp := startTopo(t, withHosts)
	p, _, fip := tp.lb("mh", map[string]any{}, map[string]any{})
	seen := map[string]int{}
	for i := 0; i < 10; i++ {
		body, err := tp.get("http://" + fip + "/")
		if err != nil {
			t.Fatalf("request %d through the floating IP %s: %v", i, fip, err)
		}
		seen[strings.TrimSpace(body)]++
	}
	if seen["backend 10.1.1.2"] != 5 || seen["backend 10.1.1.3"] != 5 {
		t.Fatalf("round robin across hosts: %v", seen)
	}
	// The servers' host, the network node and the VMs' hosts each carried
	// the traffic over VXLAN devices (nothing else joins their fabrics).
	hosts := []string{up.ServersNode, "network-1"}
	vms := tp.instances(p["id"].(string))
	if len(vms) != 2 {
		t.Fatalf("%d VMs, want 2", len(vms))
	}
	for _, vm := range vms {
		hosts = append(hosts, vm.node)
	}
	for _, h := range hosts {
		n, rx, tx := uplinkCounters(t, tp.c.HostFabric(h))
		t.Logf("host %s: %d VXLAN devices, %d packets in, %d out", h, n, rx, tx)
		if n == 0 || rx == 0 || tx == 0 {
			t.Errorf("host %s: %d VXLAN devices, %d packets in, %d out: the traffic did not cross the overlay", h, n, rx, tx)
		}
	}
}

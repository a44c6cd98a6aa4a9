package e2e

import (
	"context"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

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

// fourHosts is a cluster of four compute hosts, a network node and the
// servers' host, each simulated (up.Options.Hosts).
func fourHosts(o *up.Options) { o.Hosts, o.Nodes = true, 4 }

func TestOnSimulatedHostsHAProxyDeathFailsOverAcrossTheOverlay(t *testing.T) {
	needKeepalived(t)
	tp := startTopo(t, fourHosts)
	pool, vip, fip := tp.lb("mhha", map[string]any{}, map[string]any{})
	poolID := pool["id"].(string)
	before := tp.active(poolID, vip["address"].(string))
	waitNopreempt(t, before)
	p := tp.probe("http://"+fip+"/", 10*time.Millisecond, 60*time.Second)
	p.waitOK(t, 20, 10*time.Second)
	killHAProxy(t, before)
	p.waitOK(t, 50, 10*time.Second)
	time.Sleep(time.Second)
	ws := p.stop()
	after := tp.active(poolID, vip["address"].(string))
	t.Logf("HAProxy death on host %s: the VIP is on %s; %s", before.node, after.node, oneOutage(t, ws))
}

func TestOnSimulatedHostsAHostsDeathFailsOverAndThePairIsRebuiltOnAnotherHost(t *testing.T) {
	needKeepalived(t)
	tp := startTopo(t, fourHosts)
	pool, vip, fip := tp.lb("mhdeath", map[string]any{}, map[string]any{})
	poolID := pool["id"].(string)
	before := tp.active(poolID, vip["address"].(string))
	p := tp.probe("http://"+fip+"/", 10*time.Millisecond, 60*time.Second)
	p.waitOK(t, 20, 10*time.Second)
	if _, err := tp.c.KillNode(before.node, up.Silent); err != nil {
		t.Fatal(err)
	}
	if ok, _ := netns.Exists(tp.c.HostNamespace(before.node)); ok {
		t.Fatal("the dead host's namespace is still there")
	}
	p.waitOK(t, 30, 10*time.Second)
	tp.waitRepaired(t, poolID, before.node, 20*time.Second)
	// The new VM is on another host and serves: its standby role must be
	// reachable over the overlay, so the next failover works too.
	p.waitOK(t, 20, 10*time.Second)
	ws := p.stop()
	t.Logf("death of host %s: %s; pair now on %v", before.node, oneOutage(t, ws), tp.instances(poolID))
	if err := tp.c.StartAgent(before.node); err != nil {
		t.Fatal(err)
	}
}

func TestOnSimulatedHostsACutUnderlayLinkFailsOverWithOneHolder(t *testing.T) {
	needKeepalived(t)
	tp := startTopo(t, fourHosts)
	pool, vip, fip := tp.lb("mhcut", map[string]any{}, map[string]any{})
	poolID := pool["id"].(string)
	before := tp.active(poolID, vip["address"].(string))
	p := tp.probe("http://"+fip+"/", 10*time.Millisecond, 60*time.Second)
	p.waitOK(t, 20, 10*time.Second)
	if err := tp.c.SetUnderlay(before.node, false); err != nil {
		t.Fatal(err)
	}
	p.waitOK(t, 30, 10*time.Second)
	cut := p.stop()
	t.Logf("underlay of %s cut: %s", before.node, oneOutage(t, cut))
	// Restored: both sides claimed the VIP while apart; one must yield,
	// with at most one more short window.
	p = tp.probe("http://"+fip+"/", 10*time.Millisecond, 60*time.Second)
	p.waitOK(t, 10, 10*time.Second)
	if err := tp.c.SetUnderlay(before.node, true); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	p.waitOK(t, 20, 10*time.Second)
	t.Logf("underlay of %s restored: %s", before.node, oneOutage(t, p.stop()))
}

// overlayCarried fails the test unless every listed host's VXLAN devices
// carried packets both ways.
func overlayCarried(t *testing.T, tp *topo, hosts ...string) {
	t.Helper()
	for _, h := range hosts {
		n, rx, tx := uplinkCounters(t, tp.c.HostFabric(h))
		t.Logf("host %s: %d VXLAN devices, %d packets in, %d out", h, n, rx, tx)
		if n == 0 || rx == 0 || tx == 0 {
			t.Errorf("host %s: the traffic did not cross the overlay", h)
		}
	}
}

func TestOnSimulatedHostsTheOctaviaWorkflowWithTheRealClientServesAcrossTheOverlay(t *testing.T) {
	openstack, err := exec.LookPath("openstack")
	if err != nil {
		t.Skip("the openstack CLI (Debian python3-openstackclient and python3-octaviaclient) is not installed")
	}
	tp := startCluster(t, withHosts)
	octaviaWorkflowServes(t, tp, openstack)
	overlayCarried(t, tp, up.ServersNode, "network-1")
}

func TestOnSimulatedHostsTheSeedWorkflowServesAcrossTheOverlay(t *testing.T) {
	tp := startCluster(t, withHosts)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	demo, err := tp.c.RunDemo(ctx, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for i := 0; i < 6; i++ {
		for _, url := range []string{"http://" + demo.HTTPFloatingIP + "/", "http://" + demo.HTTPVIP + "/"} {
			body, err := tp.get(url)
			if err != nil {
				t.Fatalf("%s: %v", url, err)
			}
			seen[strings.TrimSpace(body)]++
		}
	}
	if seen["backend 10.1.1.2"] == 0 || seen["backend 10.1.1.3"] == 0 {
		t.Fatalf("the seed workflow's load balancers across hosts: %v", seen)
	}
	overlayCarried(t, tp, up.ServersNode, "network-1", "compute-1", "compute-2", "compute-3")
}

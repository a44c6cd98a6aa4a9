package e2e

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"lbaas/internal/netns"
	"lbaas/internal/up"
)

func withHosts(o *up.Options) { o.Hosts = true }

// networkOf returns the network of a subnet.
func (tp *topo) networkOf(subnetID string) string {
	tp.t.Helper()
	sn, err := tp.api.Get("/v2.0/subnets/"+subnetID, "subnet")
	if err != nil {
		tp.t.Fatal(err)
	}
	return sn["network_id"].(string)
}

// floodList is where a host's VXLAN device of a network sends broadcast
// and unknown frames.
func (tp *topo) floodList(node, networkID string) []netip.Addr {
	tp.t.Helper()
	f, err := netns.NewFabric(netns.FabricOptions{Namespace: tp.c.HostFabric(node)})
	if err != nil {
		tp.t.Fatal(err)
	}
	out, err := f.FloodList(networkID)
	if err != nil {
		tp.t.Fatalf("flood list of %s on %s: %v", networkID, node, err)
	}
	return out
}

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
	survivor := ""
	for _, in := range tp.instances(poolID) {
		if in.node != before.node {
			survivor = in.node
		}
	}
	killed := time.Now()
	if _, err := tp.c.KillNode(before.node, up.Silent); err != nil {
		t.Fatal(err)
	}
	if ok, _ := netns.Exists(tp.c.HostNamespace(before.node)); ok {
		t.Fatal("the dead host's namespace is still there")
	}
	p.waitOK(t, 30, 10*time.Second)
	tp.waitRepaired(t, poolID, before.node, 20*time.Second)
	repaired := time.Since(killed)
	// The survivor floods the VIP network to the new VM's host and no
	// longer to the dead one (the server's flood lists follow the hosts).
	var newHost string
	for _, in := range tp.instancesOn(poolID, before.node) {
		if in.node != survivor {
			newHost = in.node
		}
	}
	vipNet := tp.networkOf(tp.vipSub)
	deadline := time.Now().Add(10 * time.Second)
	var flood []netip.Addr
	for {
		flood = tp.floodList(survivor, vipNet)
		if slices.Contains(flood, tp.c.TunnelIP(newHost)) && !slices.Contains(flood, tp.c.TunnelIP(before.node)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s's flood list of the VIP network is %v 10s after the repair: want %s (%s) in and %s (%s) out",
				survivor, flood, newHost, tp.c.TunnelIP(newHost), before.node, tp.c.TunnelIP(before.node))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("pair whole again %s after the death; the survivor's flood list followed %s later: %v",
		repaired.Round(time.Millisecond), (time.Since(killed) - repaired).Round(time.Millisecond), flood)
	// The new VM is on another host and serves: its standby role must be
	// reachable over the overlay, so the next failover works too.
	p.waitOK(t, 20, 10*time.Second)
	ws := p.stop()
	t.Logf("death of host %s: %s; pair now on %s and %s", before.node, oneOutage(t, ws), survivor, newHost)
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
	// A client workflow: it runs beside the others after the rest of the
	// package (see workflowsInParallel).
	t.Parallel()
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

func TestOnSimulatedHostsADrainedNodeEmptiesWithAtMostOneWindowPerLoadBalancer(t *testing.T) {
	needKeepalived(t)
	tp := startTopo(t, fourHosts)
	type lbUnderTest struct {
		pool string
		fip  string
		p    *prober
	}
	var lbs []*lbUnderTest
	for _, name := range []string{"drain-a", "drain-b", "drain-c"} {
		pool, _, fip := tp.lb(name, map[string]any{}, map[string]any{})
		lbs = append(lbs, &lbUnderTest{pool: pool["id"].(string), fip: fip})
	}
	// The node with the most VMs is drained.
	count := map[string]int{}
	for _, l := range lbs {
		for _, in := range tp.instances(l.pool) {
			count[in.node]++
		}
	}
	drained := ""
	for n, c := range count {
		if drained == "" || c > count[drained] || c == count[drained] && n < drained {
			drained = n
		}
	}
	for _, l := range lbs {
		l.p = tp.probe("http://"+l.fip+"/", 10*time.Millisecond, 90*time.Second)
		l.p.waitOK(t, 10, 10*time.Second)
	}
	cmd := exec.Command(lbaasBin, "node-drain", drained)
	cmd.Env = append(cmd.Environ(), "OS_URL="+tp.c.URL, "OS_TOKEN="+tp.c.AdminToken)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Draining node "+drained) {
		t.Fatalf("lbaas node-drain %s: %v %s", drained, err, out)
	}
	start := time.Now()
	deadline := start.Add(60 * time.Second)
	for {
		left := 0
		for _, l := range lbs {
			for _, in := range tp.instances(l.pool) {
				if in.node == drained {
					left++
				}
			}
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d VMs still on the drained node %s after 60s", left, drained)
		}
		time.Sleep(100 * time.Millisecond)
	}
	emptied := time.Since(start)
	for _, l := range lbs {
		tp.waitTwoInstances(t, l.pool, 20*time.Second)
		l.p.waitOK(t, 20, 10*time.Second)
		ws := l.p.stop()
		t.Logf("load balancer %s: %s; now on %v", l.pool[:8], oneOutage(t, ws), tp.instances(l.pool))
	}
	t.Logf("%d VMs moved off %s in %s", count[drained], drained, emptied.Round(time.Millisecond))
	// Nothing new goes there.
	pool, _, _ := tp.lb("drain-new", map[string]any{}, map[string]any{})
	for _, in := range tp.instances(pool["id"].(string)) {
		if in.node == drained {
			t.Fatalf("a new load balancer got a VM on the drained node %s", drained)
		}
	}
}

func TestOnSimulatedHostsAWrongMappingIsReportedAndItsNodeIsNotScheduledOnForThatNetwork(t *testing.T) {
	tp := startCluster(t, func(o *up.Options) {
		o.Hosts = true
		o.ServerFlags = []string{"--physical-networks", "public,physnet1"}
		o.AgentFlags = map[string][]string{"compute-3": {"--physical-interface-mappings", "physnet1:eth9"}}
	})
	var agent map[string]any
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		agent, err = tp.api.Get("/v2.0/agents/compute-3", "agent")
		if err != nil {
			t.Fatal(err)
		}
		conf, _ := agent["configurations"].(map[string]any)
		if strings.Contains(fmt.Sprint(conf["errors"]), "eth9") {
			if strings.Contains(fmt.Sprint(conf["physical_networks"]), "physnet1") {
				t.Fatalf("a mapping to a missing interface counts as working: %v", conf)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("compute-3 does not report its wrong mapping: %v", agent)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// A flat network on physnet1: no node maps it, so no load balancer
	// can run there, and the reason says what to fix.
	flat := tp.create("/v2.0/networks", "network", map[string]any{"name": "flat1", "provider:network_type": "flat", "provider:physical_network": "physnet1"})
	sub := tp.create("/v2.0/subnets", "subnet", map[string]any{"network_id": flat["id"], "cidr": "30.1.1.0/24", "ip_version": 4})
	pool := tp.create("/v2.0/lb/pools", "pool", map[string]any{"name": "flatpool", "subnet_id": sub["id"], "protocol": "HTTP", "lb_method": "ROUND_ROBIN"})
	vip := tp.create("/v2.0/lb/vips", "vip", map[string]any{"name": "flatvip", "subnet_id": sub["id"], "pool_id": pool["id"], "protocol": "HTTP", "protocol_port": 80})
	deadline = time.Now().Add(10 * time.Second)
	for {
		si, err := tp.api.Get("/v2.0/lbaas-service-instances/"+vip["id"].(string), "service_instance")
		if err == nil && si["status"] == "ERROR" && strings.Contains(fmt.Sprint(si["status_description"]), "physical-interface-mappings for physnet1") {
			t.Logf("load balancer on an unmapped flat network: %v", si["status_description"])
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the load balancer on physnet1 does not say why it cannot run: %v %v", si, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

package controller_test

import (
	"slices"
	"testing"

	"lbaas/internal/agentapi"
	"lbaas/internal/controller"
	"lbaas/internal/model"
)

// segmentOf returns the segment of a network in a node's desired state.
func segmentOf(t *testing.T, node, network string) (agentapi.Segment, bool) {
	t.Helper()
	d, _ := controller.DesiredFor(env.st, node)
	for _, s := range d.Networks {
		if s.NetworkID == network {
			return s, true
		}
	}
	return agentapi.Segment{}, false
}

func TestEachHostFloodsAVXLANNetworkToExactlyTheOtherHostsThatCarryIt(t *testing.T) {
	reset(t)
	nodes := controller.NewNodes(env.st, 0)
	tunnels := map[string]string{"lbt-c1": "192.0.2.1", "lbt-c2": "192.0.2.2", "lbt-c3": "192.0.2.3", "lbt-n1": "192.0.2.9"}
	for name, ip := range tunnels {
		roles := compute
		if name == "lbt-n1" {
			roles = []string{controller.RoleNetwork}
		}
		if err := nodes.Beat(testCtx(t), name, model.NodeInfo{Version: "test", Roles: roles, TunnelIP: ip}); err != nil {
			t.Fatal(err)
		}
	}
	// Public (flat) for the router; without it no router is built.
	pub := create(t, "/v2.0/networks", "network", obj{"name": "lbt-public", "router:external": true, "provider:network_type": "flat", "provider:physical_network": "public"})
	create(t, "/v2.0/subnets", "subnet", obj{"network_id": pub["id"], "ip_version": 4, "cidr": "172.30.0.0/24"})
	n := newNets(t)
	newLB(t, n, "10.20.0.10")
	reconcile(t)
	si := env.st.List(model.KindServiceInstance)[0].Obj.(*model.ServiceInstance)
	var vmNodes, others []string
	for _, vm := range si.VMs {
		vmNodes = append(vmNodes, vm.Node)
	}
	for _, c := range []string{"lbt-c1", "lbt-c2", "lbt-c3"} {
		if !slices.Contains(vmNodes, c) {
			others = append(others, c)
		}
	}
	// A server's port, bound by the admin to the third compute host.
	code, out := call(t, "POST", "/v2.0/ports", obj{"port": obj{"network_id": n.poolNet, "binding:host_id": others[0]}})
	if code != 201 || out["port"].(obj)["binding:host_id"] != others[0] {
		t.Fatalf("bound port: %d %v", code, out)
	}
	ips := func(nodes ...string) []string {
		var out []string
		for _, n := range nodes {
			out = append(out, tunnels[n])
		}
		slices.Sort(out)
		return out
	}
	a, b := vmNodes[0], vmNodes[1]
	for _, tc := range []struct {
		node, network string
		want          []string
	}{
		// The VIP network: the two VMs and the router.
		{a, n.vipNet, ips(b, "lbt-n1")},
		{"lbt-n1", n.vipNet, ips(a, b)},
		// The pool network: the two VMs and the server's host.
		{a, n.poolNet, ips(b, others[0])},
		{others[0], n.poolNet, ips(a, b)},
	} {
		s, ok := segmentOf(t, tc.node, tc.network)
		if !ok {
			t.Fatalf("%s does not carry network %s", tc.node, tc.network)
		}
		if s.Type != "vxlan" || s.SegmentationID == 0 || s.MTU != 1450 || !slices.Equal(s.VTEPs, tc.want) {
			t.Fatalf("%s's segment of %s: %+v, want vxlan with VTEPs %v", tc.node, tc.network, s, tc.want)
		}
	}
	if _, ok := segmentOf(t, "lbt-n1", n.poolNet); ok {
		t.Fatal("the network node carries the pool network, which no router needs")
	}
	if s, ok := segmentOf(t, "lbt-n1", pub["id"].(string)); !ok || s.Type != "flat" || s.PhysicalNetwork != "public" || len(s.VTEPs) != 0 {
		t.Fatalf("the network node's public segment: %+v %v", s, ok)
	}

	// A host that dies leaves every flood list.
	kill(t, nodes, b)
	if s, _ := segmentOf(t, a, n.vipNet); slices.Contains(s.VTEPs, tunnels[b]) {
		t.Fatalf("the dead host %s is still in %s's flood list: %v", b, a, s.VTEPs)
	}
}

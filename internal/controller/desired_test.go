package controller_test

import (
	"net/netip"
	"slices"
	"testing"

	"lbaas/internal/agentapi"
	"lbaas/internal/controller"
	"lbaas/internal/model"
)

func vmIDs(d agentapi.Desired) []string {
	var out []string
	for _, in := range d.Instances {
		out = append(out, in.VMID)
	}
	slices.Sort(out)
	return out
}

func TestDesiredForANodeHoldsExactlyItsVMs(t *testing.T) {
	reset(t)
	nodes := controller.NewNodes(env.st, 0)
	beat(t, nodes, compute, "lbt-c1", "lbt-c2", "lbt-c3")
	n := newNets(t)
	for range 3 {
		newLB(t, n, "10.20.0.10")
	}
	reconcile(t)
	want := map[string][]string{}
	for _, e := range env.st.List(model.KindServiceInstance) {
		for _, vm := range e.Obj.(*model.ServiceInstance).VMs {
			want[vm.Node] = append(want[vm.Node], vm.ID)
		}
	}
	for _, node := range []string{"lbt-c1", "lbt-c2", "lbt-c3"} {
		d, _ := controller.DesiredFor(env.st, node)
		slices.Sort(want[node])
		if got := vmIDs(d); !slices.Equal(got, want[node]) {
			t.Fatalf("desired VMs of %s = %v, want %v", node, got, want[node])
		}
		if d.Router != nil {
			t.Fatalf("compute node %s was given a router", node)
		}
		for _, in := range d.Instances {
			if in.VIPNetAddress == "" || in.PoolNetAddress == "" || in.VIPNetMAC == "" || len(in.Peers) != 1 || len(in.Pools) != 1 || len(in.Pools[0].Members) != 1 {
				t.Fatalf("instance %s for %s is incomplete: %+v", in.VMID, node, in)
			}
			if in.Peers[0].Node == node {
				t.Fatalf("instance %s's peer is on its own node %s", in.VMID, node)
			}
		}
	}
	d, _ := controller.DesiredFor(env.st, "lbt-unknown")
	if d.Instances == nil || len(d.Instances) != 0 {
		t.Fatalf("desired state of a node without VMs: %+v, want an empty (non-nil) list", d.Instances)
	}
}

func TestDesiredHashChangesWithAMemberAndOnlyThen(t *testing.T) {
	reset(t)
	nodes := controller.NewNodes(env.st, 0)
	beat(t, nodes, compute, "lbt-c1", "lbt-c2")
	l := newLB(t, newNets(t), "10.20.0.10")
	reconcile(t)
	_, h1 := controller.DesiredFor(env.st, "lbt-c1")
	if _, again := controller.DesiredFor(env.st, "lbt-c1"); again != h1 {
		t.Fatalf("hash changed without any change: %s -> %s", h1, again)
	}
	// The agent's own report must not change what it is asked to run,
	// or each report would wake its long poll again.
	si := instance(t, l.vip)
	for _, vm := range si.VMs {
		report(t, si, vm, model.VMServing, hashOf(t, si, vm), "BACKUP")
	}
	reconcile(t)
	if _, h := controller.DesiredFor(env.st, "lbt-c1"); h != h1 {
		t.Fatalf("hash changed after the agents reported: %s -> %s", h1, h)
	}
	// A member is something every VM of the pool must apply.
	addMember(t, l.pool, "10.20.0.11")
	_, h2 := controller.DesiredFor(env.st, "lbt-c1")
	if h2 == h1 {
		t.Fatal("hash did not change when a member was added")
	}
	d, _ := controller.DesiredFor(env.st, "lbt-c1")
	if len(d.Instances) != 1 || len(d.Instances[0].Pools) != 1 || len(d.Instances[0].Pools[0].Members) != 2 {
		t.Fatalf("desired instance members after the add: %+v", d.Instances)
	}
}

func TestDesiredOfOneNodeIgnoresChangesOfPoolsItDoesNotRun(t *testing.T) {
	reset(t)
	nodes := controller.NewNodes(env.st, 0)
	beat(t, nodes, compute, "lbt-c1", "lbt-c2", "lbt-c3", "lbt-c4")
	n := newNets(t)
	first := newLB(t, n, "10.20.0.10")
	reconcile(t)
	second := newLB(t, n, "10.20.0.20")
	reconcile(t)
	// The second pair went to the two idle nodes.
	onFirst := map[string]bool{}
	for _, vm := range instance(t, first.vip).VMs {
		onFirst[vm.Node] = true
	}
	var other string
	for _, vm := range instance(t, second.vip).VMs {
		if onFirst[vm.Node] {
			t.Fatalf("the second pair shares node %s with the first while two nodes are idle", vm.Node)
		}
		other = vm.Node
	}
	_, before := controller.DesiredFor(env.st, other)
	addMember(t, first.pool, "10.20.0.11")
	if _, after := controller.DesiredFor(env.st, other); after != before {
		t.Fatalf("node %s's hash changed when a pool it does not run changed", other)
	}
}

func TestNetworkNodeRouterMapsFloatingIPsAndVIPsToTheirVMs(t *testing.T) {
	reset(t)
	nodes := controller.NewNodes(env.st, 0)
	beat(t, nodes, compute, "lbt-c1", "lbt-c2")
	beat(t, nodes, []string{controller.RoleNetwork}, "lbt-n1")
	ext := create(t, "/v2.0/networks", "network", obj{"name": "Public", "router:external": true})
	extSub := create(t, "/v2.0/subnets", "subnet", obj{"network_id": ext["id"], "ip_version": 4, "cidr": "172.24.4.0/24"})
	l := newLB(t, newNets(t), "10.20.0.10")
	fip := create(t, "/v2.0/floatingips", "floatingip", obj{"floating_network_id": ext["id"], "port_id": l.vipPort})
	reconcile(t)

	d, _ := controller.DesiredFor(env.st, "lbt-n1")
	r := d.Router
	if r == nil {
		t.Fatal("the network node has no router")
	}
	if r.External.ID != ext["id"] || r.External.SubnetID != extSub["id"] || r.External.CIDR != "172.24.4.0/24" {
		t.Fatalf("router external network %+v", r.External)
	}
	if len(r.FloatingIPs) != 1 || r.FloatingIPs[0].ID != fip["id"] || r.FloatingIPs[0].FloatingIP != fip["floating_ip_address"] || r.FloatingIPs[0].FixedIP != l.vipAddr {
		t.Fatalf("router floating IPs %+v: want %v mapped to the VIP address %s", r.FloatingIPs, fip["floating_ip_address"], l.vipAddr)
	}
	if len(r.VIPs) != 1 || r.VIPs[0].Address != l.vipAddr {
		t.Fatalf("router VIPs %+v: want the VIP %s", r.VIPs, l.vipAddr)
	}
	si := instance(t, l.vip)
	n := r.VIPs[0]
	if len(n.Members) != len(si.VMs) {
		t.Fatalf("router VIP members %+v: want one per VM", n.Members)
	}
	for i, vm := range si.VMs {
		p := portsOf(vm.ID)[n.SubnetID]
		if p == nil {
			t.Fatalf("VM %s has no port on the VIP subnet", vm.ID)
		}
		if got := n.Members[i]; got.Address != addrOn(p, n.SubnetID) || got.MAC != p.MACAddress {
			t.Fatalf("router member %+v, want VM %s's %s/%s", got, vm.ID, addrOn(p, n.SubnetID), p.MACAddress)
		}
		if _, err := netip.ParseAddr(n.Members[i].Address); err != nil {
			t.Fatalf("router member address %q is not a bare address", n.Members[i].Address)
		}
	}
	if len(r.Internal) != 1 || r.Internal[0].SubnetID != n.SubnetID {
		t.Fatalf("router internal networks %+v: want the VIP subnet", r.Internal)
	}
	// The load balancers route external clients' replies via the router.
	dc, _ := controller.DesiredFor(env.st, "lbt-c1")
	if len(dc.Instances) != 1 || !slices.Equal(dc.Instances[0].ExternalCIDRs, []string{"172.24.4.0/24"}) {
		t.Fatalf("compute instance external CIDRs %+v", dc.Instances)
	}
}

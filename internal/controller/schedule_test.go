package controller_test

import (
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"lbaas/internal/controller"
	"lbaas/internal/ipam"
	"lbaas/internal/model"
	"lbaas/internal/store"
)

func TestPoolWithVIPGetsActiveAndStandbyOnTwoLiveComputeNodes(t *testing.T) {
	reset(t)
	nodes := controller.NewNodes(env.st, 0)
	beat(t, nodes, compute, "lbt-c1", "lbt-c2")
	// A network-only node never runs load balancers.
	beat(t, nodes, []string{controller.RoleNetwork}, "lbt-n1")
	n := newNets(t)
	// A member at the very top of the pool subnet: VMs must step over it.
	l := newLB(t, n, "10.20.0.254", "10.20.0.10")
	reconcile(t)

	si := instance(t, l.vip)
	if si.LoadBalancerID != l.vip || si.Name != "default-domain:"+si.TenantID+":"+l.vip {
		t.Fatalf("instance %s (%s) of load balancer %s, want the VIP's %s", si.ID, si.Name, si.LoadBalancerID, l.vip)
	}
	if len(si.VMs) != 2 {
		t.Fatalf("instance has %d VMs, want 2: %+v", len(si.VMs), si.VMs)
	}
	a, s := si.VMs[0], si.VMs[1]
	if a.Role != model.RoleActive || a.Priority != 200 || s.Role != model.RoleStandby || s.Priority != 100 {
		t.Fatalf("roles %s/%d and %s/%d, want active/200 then standby/100", a.Role, a.Priority, s.Role, s.Priority)
	}
	got := map[string]bool{a.Node: true, s.Node: true}
	if !got["lbt-c1"] || !got["lbt-c2"] {
		t.Fatalf("VMs on %s and %s, want one on each live compute node", a.Node, s.Node)
	}
	if si.Status != model.StatusActive || si.StatusDescription != "" {
		t.Fatalf("instance status %q %q, want ACTIVE without remark", si.Status, si.StatusDescription)
	}

	// Ports on both networks, from the top of each range, never at the
	// member's address, each with its claim held.
	wantAddrs := map[string][]string{n.vipSubnet: {"10.10.0.254", "10.10.0.253"}, n.poolSubnet: {"10.20.0.253", "10.20.0.252"}}
	gotAddrs := map[string][]string{}
	for _, vm := range si.VMs {
		ports := portsOf(vm.ID)
		if len(ports) != 2 {
			t.Fatalf("VM %s has ports on %d subnets, want the VIP's and the pool's", vm.ID, len(ports))
		}
		for _, sub := range []string{n.vipSubnet, n.poolSubnet} {
			p := ports[sub]
			if p == nil {
				t.Fatalf("VM %s has no port on subnet %s", vm.ID, sub)
			}
			if p.DeviceOwner != controller.DeviceOwnerVM || p.MACAddress == "" {
				t.Fatalf("VM port %+v: want owner %s and a MAC", p, controller.DeviceOwnerVM)
			}
			addr := addrOn(p, sub)
			gotAddrs[sub] = append(gotAddrs[sub], addr)
			holder, held, err := env.st.ClaimHolder(testCtx(t), ipam.Claim(sub, netip.MustParseAddr(addr)))
			if err != nil || !held || holder != p.ID {
				t.Fatalf("claim of %s: holder %q held %v err %v; want the port %s", addr, holder, held, err, p.ID)
			}
		}
	}
	for sub, want := range wantAddrs {
		if strings.Join(gotAddrs[sub], ",") != strings.Join(want, ",") {
			t.Fatalf("VM addresses on subnet %s: %v, want %v (top of the range, skipping members)", sub, gotAddrs[sub], want)
		}
	}
	if l.vipAddr != "10.10.0.2" {
		t.Fatalf("VIP address %s: tenant addresses come from the bottom", l.vipAddr)
	}
}

func TestReconcileWithNothingToDoChangesNothing(t *testing.T) {
	reset(t)
	nodes := controller.NewNodes(env.st, 0)
	beat(t, nodes, compute, "lbt-c1", "lbt-c2")
	l := newLB(t, newNets(t), "10.20.0.10")
	reconcile(t)
	before, _ := env.st.Get(model.KindServiceInstance, l.vip)
	ports := len(env.st.List(model.KindPort))
	reconcile(t)
	after, _ := env.st.Get(model.KindServiceInstance, l.vip)
	if after.Rev != before.Rev {
		t.Fatalf("a second pass rewrote the instance (rev %d -> %d)", before.Rev, after.Rev)
	}
	if n := len(env.st.List(model.KindPort)); n != ports {
		t.Fatalf("a second pass changed the number of ports from %d to %d", ports, n)
	}
}

func TestInstancesSpreadEvenlyOverComputeNodes(t *testing.T) {
	reset(t)
	nodes := controller.NewNodes(env.st, 0)
	beat(t, nodes, compute, "lbt-c1", "lbt-c2", "lbt-c3")
	n := newNets(t)
	var vips []string
	for range 3 {
		vips = append(vips, newLB(t, n).vip)
	}
	reconcile(t)
	load := map[string]int{}
	for _, p := range vips {
		si := instance(t, p)
		if len(si.VMs) != 2 || si.VMs[0].Node == si.VMs[1].Node {
			t.Fatalf("instance %s VMs %+v: want two on different nodes", p, si.VMs)
		}
		for _, vm := range si.VMs {
			load[vm.Node]++
		}
	}
	for _, node := range []string{"lbt-c1", "lbt-c2", "lbt-c3"} {
		if load[node] != 2 {
			t.Fatalf("VMs per node %v: want 2 on each of 3 nodes for 3 pairs", load)
		}
	}
}

func TestSingleLiveNodeRunsOneVMDegradedUntilASecondNodeJoins(t *testing.T) {
	reset(t)
	nodes := controller.NewNodes(env.st, 0)
	beat(t, nodes, compute, "lbt-c1")
	l := newLB(t, newNets(t))
	reconcile(t)
	si := instance(t, l.vip)
	if len(si.VMs) != 1 || si.VMs[0].Node != "lbt-c1" || si.VMs[0].Role != model.RoleActive {
		t.Fatalf("VMs %+v: want one active VM on lbt-c1", si.VMs)
	}
	if si.Status != model.StatusActive || !strings.Contains(si.StatusDescription, "DEGRADED") {
		t.Fatalf("status %q %q, want ACTIVE with a DEGRADED remark", si.Status, si.StatusDescription)
	}

	beat(t, nodes, compute, "lbt-c2")
	reconcile(t)
	si = instance(t, l.vip)
	if len(si.VMs) != 2 || si.VMs[1].Node != "lbt-c2" || si.VMs[1].Role != model.RoleStandby {
		t.Fatalf("VMs %+v after a second node joined: want a standby on lbt-c2", si.VMs)
	}
	if si.VMs[0].Node != "lbt-c1" || si.VMs[0].Role != model.RoleActive {
		t.Fatalf("the active VM moved when a standby was added: %+v", si.VMs)
	}
	if si.StatusDescription != "" {
		t.Fatalf("remark %q stays after the pair is complete", si.StatusDescription)
	}
}

func TestNoLiveComputeNodeIsAnError(t *testing.T) {
	reset(t)
	nodes := controller.NewNodes(env.st, 0)
	beat(t, nodes, []string{controller.RoleNetwork}, "lbt-n1")
	l := newLB(t, newNets(t))
	reconcile(t)
	si := instance(t, l.vip)
	if len(si.VMs) != 0 || si.Status != model.StatusError {
		t.Fatalf("instance %+v: want no VM and status ERROR", si)
	}
	// The pool shows its load balancer's status.
	st := controller.PoolStatus(env.st, l.pool)
	if st.Status != model.StatusError || !strings.Contains(st.Description, "no live compute node") {
		t.Fatalf("PoolStatus = %+v, want ERROR explaining there is no live compute node", st)
	}
}

func TestDeadNodesVMIsReplacedAndTheSurvivorPromoted(t *testing.T) {
	reset(t)
	nodes := controller.NewNodes(env.st, 0)
	beat(t, nodes, compute, "lbt-c1", "lbt-c2")
	n := newNets(t)
	l := newLB(t, n)
	reconcile(t)
	si := instance(t, l.vip)
	dead, survivor := si.VMs[0], si.VMs[1] // the active dies
	report(t, si, dead, model.VMServing, hashOf(t, si, dead), "MASTER")
	deadPorts := portsOf(dead.ID)

	beat(t, nodes, compute, "lbt-c3")
	kill(t, nodes, dead.Node)
	reconcile(t)

	si = instance(t, l.vip)
	if len(si.VMs) != 2 {
		t.Fatalf("VMs %+v after a node died: want the survivor and a new standby", si.VMs)
	}
	if si.VMs[0].ID != survivor.ID || si.VMs[0].Role != model.RoleActive || si.VMs[0].Priority != model.PriorityActive {
		t.Fatalf("first VM %+v: want the survivor %s promoted to active/200", si.VMs[0], survivor.ID)
	}
	repl := si.VMs[1]
	if repl.ID == dead.ID || repl.Node != "lbt-c3" || repl.Role != model.RoleStandby || repl.Priority != model.PriorityStandby {
		t.Fatalf("replacement %+v: want a new standby/100 on lbt-c3", repl)
	}
	if len(portsOf(repl.ID)) != 2 {
		t.Fatal("the replacement VM has no ports on both subnets")
	}
	// The dead VM's ports, their addresses and its report are gone.
	if p := portsOf(dead.ID); len(p) != 0 {
		t.Fatalf("the dead VM still has ports: %v", p)
	}
	for sub, p := range deadPorts {
		a := netip.MustParseAddr(addrOn(p, sub))
		if _, held, _ := env.st.ClaimHolder(testCtx(t), ipam.Claim(sub, a)); held {
			t.Fatalf("address %s of the dead VM is still claimed", a)
		}
	}
	if _, ok := env.st.Get(model.KindVMReport, dead.ID); ok {
		t.Fatal("the dead VM's report was not collected")
	}
}

func TestDeletingTheVIPDeletesTheInstanceAndFreesItsAddresses(t *testing.T) {
	reset(t)
	nodes := controller.NewNodes(env.st, 0)
	beat(t, nodes, compute, "lbt-c1", "lbt-c2")
	n := newNets(t)
	l := newLB(t, n)
	reconcile(t)
	si := instance(t, l.vip)
	freed := addrOn(portsOf(si.VMs[0].ID)[n.vipSubnet], n.vipSubnet)
	if code, out := call(t, "DELETE", "/v2.0/lb/vips/"+l.vip, nil); code != http.StatusNoContent {
		t.Fatalf("delete VIP: %d %v", code, out)
	}
	reconcile(t)
	if _, ok := env.st.Get(model.KindServiceInstance, l.vip); ok {
		t.Fatal("the instance survived its VIP")
	}
	for _, vm := range si.VMs {
		if p := portsOf(vm.ID); len(p) != 0 {
			t.Fatalf("VM %s of the deleted instance keeps ports %v", vm.ID, p)
		}
	}
	// The address is free again: a new VIP may take it.
	code, out := call(t, "POST", "/v2.0/lb/vips", obj{"vip": obj{"name": "again", "subnet_id": n.vipSubnet, "pool_id": l.pool, "protocol": "HTTP", "protocol_port": 80, "address": freed}})
	if code != http.StatusCreated {
		t.Fatalf("a new VIP at the freed address %s: %d %v", freed, code, out)
	}
	reconcile(t)
	if si2 := instance(t, out["vip"].(obj)["id"].(string)); si2.LoadBalancerID != si2.ID || len(si2.VMs) != 2 {
		t.Fatalf("new VIP's instance %+v", si2)
	}
}

func TestVMsGoOnlyToNodesThatCarryTheLoadBalancersNetworks(t *testing.T) {
	reset(t)
	nodes := controller.NewNodes(env.st, 0)
	info := func(ip string, physnets ...string) model.NodeInfo {
		return model.NodeInfo{Version: "test", Roles: compute, TunnelIP: ip, Physnets: physnets}
	}
	for name, in := range map[string]model.NodeInfo{
		"lbt-c1": info("192.0.2.1"),
		"lbt-c2": info("192.0.2.2", "public"),
		"lbt-c3": info("", "public"), // no tunnel: cannot carry a vxlan network
	} {
		if err := nodes.Beat(testCtx(t), name, in); err != nil {
			t.Fatal(err)
		}
	}
	n := newNets(t) // vxlan networks
	l := newLB(t, n, "10.20.0.10")
	reconcile(t)
	si := instance(t, l.vip)
	var got []string
	for _, vm := range si.VMs {
		got = append(got, vm.Node)
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"lbt-c1", "lbt-c2"}) {
		t.Fatalf("VMs on %v: want the two nodes with a tunnel address", got)
	}

	// A flat network no compute node maps: the reason names it.
	flat := create(t, "/v2.0/networks", "network", obj{"name": "lbt-flat", "provider:network_type": "flat", "provider:physical_network": "public"})
	fs := create(t, "/v2.0/subnets", "subnet", obj{"network_id": flat["id"], "ip_version": 4, "cidr": "10.40.0.0/24"})
	if err := nodes.Beat(testCtx(t), "lbt-c2", info("192.0.2.2")); err != nil {
		t.Fatal(err)
	}
	if err := nodes.Beat(testCtx(t), "lbt-c3", info("", "other")); err != nil {
		t.Fatal(err)
	}
	l2 := newLB(t, nets{vipNet: flat["id"].(string), vipSubnet: fs["id"].(string), poolNet: n.poolNet, poolSubnet: n.poolSubnet}, "10.20.0.11")
	reconcile(t)
	si2 := instance(t, l2.vip)
	if len(si2.VMs) != 0 || si2.Status != model.StatusError || !strings.Contains(si2.StatusDescription, "physical-interface-mappings for public") {
		t.Fatalf("instance on an unmapped flat network: %+v", si2)
	}
}

func TestANodeWhoseLoadBalancersHoldManyConnectionsGetsFewerNewVMs(t *testing.T) {
	reset(t)
	nodes := controller.NewNodes(env.st, 0)
	beat(t, nodes, compute, "lbt-c1", "lbt-c2", "lbt-c3")
	n := newNets(t)
	busy := newLB(t, n, "10.20.0.10")
	reconcile(t)
	si := instance(t, busy.vip)
	// Its VMs hold 5,000 connections each: five VMs' worth.
	for _, vm := range si.VMs {
		r := &model.VMReport{Meta: model.Meta{ID: vm.ID, TenantID: si.TenantID}, Node: vm.Node, SIID: si.ID, LoadBalancerID: si.LoadBalancerID,
			State: model.VMServing, Stats: model.Stats{ActiveConnections: 5000}, ReportedAt: time.Now().UTC()}
		putObject(t, model.KindVMReport, r)
	}
	idle := ""
	for _, c := range []string{"lbt-c1", "lbt-c2", "lbt-c3"} {
		if !slices.Contains(nodesOf(si), c) {
			idle = c
		}
	}
	// By VM count alone the third and fourth pairs would leave the idle
	// node out (it would run as many VMs as the others); by load each
	// of the four takes it.
	for i := range 4 {
		l := newLB(t, n, "10.20.0."+strconv.Itoa(20+i))
		reconcile(t)
		if got := nodesOf(instance(t, l.vip)); !slices.Contains(got, idle) {
			t.Fatalf("new pair %d on %v: want the idle node %s in it", i, got, idle)
		}
	}
}

// put stores objects as an admin's API calls would have.
func put(t *testing.T, objs ...model.Object) {
	t.Helper()
	txn := new(store.Txn)
	for _, o := range objs {
		txn.Put(model.KindOf(o), o)
	}
	if _, err := env.st.Commit(testCtx(t), txn); err != nil {
		t.Fatal(err)
	}
}

// placed gives the load balancer a flavor and a zone, stored directly.
func placed(t *testing.T, lbID, flavorData, zoneData string) {
	t.Helper()
	e, _ := env.st.Get(model.KindLoadBalancer, lbID)
	lb := *e.Obj.(*model.LoadBalancer)
	if flavorData != "" {
		put(t, &model.FlavorProfile{Meta: model.Meta{ID: "fp-" + lbID}, FlavorData: flavorData},
			&model.Flavor{Meta: model.Meta{ID: "f-" + lbID}, FlavorProfileID: "fp-" + lbID, Enabled: true})
		lb.FlavorID = "f-" + lbID
	}
	if zoneData != "" {
		put(t, &model.AZProfile{Meta: model.Meta{ID: "azp-" + lbID}, Data: zoneData},
			&model.AvailabilityZone{Meta: model.Meta{ID: "az-" + lbID}, Name: "az-" + lbID, ProfileID: "azp-" + lbID, Enabled: true})
		lb.AvailabilityZone = "az-" + lbID
	}
	if _, err := env.st.Commit(testCtx(t), new(store.Txn).Update(model.KindLoadBalancer, &lb, e.Rev)); err != nil {
		t.Fatal(err)
	}
}

func TestAZoneKeepsTheVMsOnItsNodesAndASingleFlavorRunsOneVM(t *testing.T) {
	reset(t)
	nodes := controller.NewNodes(env.st, 0)
	for name, zone := range map[string]string{"lbt-z1a": "rack1", "lbt-z2a": "rack2", "lbt-z2b": "rack2"} {
		if err := nodes.Beat(testCtx(t), name, model.NodeInfo{Version: "test", Roles: compute, Zone: zone}); err != nil {
			t.Fatal(err)
		}
	}
	n := newNets(t)
	inZone := newLB(t, n)
	placed(t, inZone.vip, "", `{"compute_zone": "rack2"}`)
	single := newLB(t, n)
	placed(t, single.vip, `{"loadbalancer_topology": "SINGLE"}`, `{"compute_zone": "rack1"}`)
	nowhere := newLB(t, n)
	placed(t, nowhere.vip, "", `{"compute_zone": "rack9"}`)
	reconcile(t)

	si := instance(t, inZone.vip)
	got := map[string]bool{}
	for _, vm := range si.VMs {
		got[vm.Node] = true
	}
	if len(si.VMs) != 2 || !got["lbt-z2a"] || !got["lbt-z2b"] {
		t.Errorf("zone rack2: VMs %+v, want one on each of its two nodes", si.VMs)
	}
	si = instance(t, single.vip)
	if len(si.VMs) != 1 || si.VMs[0].Node != "lbt-z1a" || si.VMs[0].Role != model.RoleActive || si.Status != model.StatusActive || si.StatusDescription != "" {
		t.Errorf("SINGLE in rack1: %+v %s %q, want one active VM on lbt-z1a, ACTIVE without remark", si.VMs, si.Status, si.StatusDescription)
	}
	si = instance(t, nowhere.vip)
	if len(si.VMs) != 0 || si.Status != model.StatusError || !strings.Contains(si.StatusDescription, "no live compute node in zone rack9") {
		t.Errorf("a zone without nodes: %+v %s %q", si.VMs, si.Status, si.StatusDescription)
	}
}

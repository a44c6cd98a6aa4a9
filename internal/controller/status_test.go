package controller_test

import (
	"strings"
	"testing"
	"time"

	"lbaas/internal/controller"
	"lbaas/internal/model"
)

// pair sets up one load balancer scheduled on two nodes and returns it
// with its instance.
func pair(t *testing.T) (lb, *model.ServiceInstance) {
	t.Helper()
	reset(t)
	nodes := controller.NewNodes(env.st, 0)
	beat(t, nodes, compute, "lbt-c1", "lbt-c2")
	l := newLB(t, newNets(t), "10.20.0.10")
	reconcile(t)
	return l, instance(t, l.vip)
}

func expectStatus(t *testing.T, lbID, status string, desc ...string) {
	t.Helper()
	got := controller.InstanceStatus(env.st, lbID)
	if got.Status != status {
		t.Fatalf("InstanceStatus = %s (%q), want %s", got.Status, got.Description, status)
	}
	for _, d := range desc {
		if !strings.Contains(got.Description, d) {
			t.Fatalf("InstanceStatus description %q lacks %q", got.Description, d)
		}
	}
}

func TestPoolWithoutVIPIsNotDeployed(t *testing.T) {
	reset(t)
	n := newNets(t)
	p := create(t, "/v2.0/lb/pools", "pool", obj{"subnet_id": n.poolSubnet, "protocol": "HTTP", "lb_method": "ROUND_ROBIN"})
	if got := controller.PoolStatus(env.st, p["id"].(string)); got.Status != model.StatusPendingCreate || !strings.Contains(got.Description, "no VIP") {
		t.Fatalf("PoolStatus = %s (%q), want %s saying it has no VIP", got.Status, got.Description, model.StatusPendingCreate)
	}
}

func TestVIPNotYetScheduledWaitsForTheController(t *testing.T) {
	reset(t)
	l := newLB(t, newNets(t))
	expectStatus(t, l.vip, model.StatusPendingCreate, "controller")
}

func TestInstanceIsPendingCreateUntilItsVMsReport(t *testing.T) {
	l, _ := pair(t)
	expectStatus(t, l.vip, model.StatusPendingCreate, "active on lbt-c1 has not reported", "standby on lbt-c2 has not reported")
}

func TestInstanceIsActiveOnlyWhenEveryVMServesTheCurrentHashAndOneHoldsTheVIP(t *testing.T) {
	l, si := pair(t)
	a, s := si.VMs[0], si.VMs[1]
	report(t, si, a, model.VMServing, hashOf(t, si, a), "MASTER")
	expectStatus(t, l.vip, model.StatusPendingUpdate, "standby on lbt-c2 has not reported")

	report(t, si, s, model.VMPending, "", "")
	expectStatus(t, l.vip, model.StatusPendingUpdate, "standby on lbt-c2 is applying")

	report(t, si, s, model.VMServing, hashOf(t, si, s), "BACKUP")
	expectStatus(t, l.vip, model.StatusActive, "active on lbt-c1", "standby on lbt-c2")
}

func TestInstanceWithoutAVRRPMasterIsNotActive(t *testing.T) {
	l, si := pair(t)
	for _, vm := range si.VMs {
		report(t, si, vm, model.VMServing, hashOf(t, si, vm), "BACKUP")
	}
	expectStatus(t, l.vip, model.StatusPendingUpdate, "VRRP")
}

func TestStaleAppliedHashOnOneVMIsPendingUpdate(t *testing.T) {
	l, si := pair(t)
	a, s := si.VMs[0], si.VMs[1]
	report(t, si, a, model.VMServing, hashOf(t, si, a), "MASTER")
	report(t, si, s, model.VMServing, "0123456789abcdef01234567", "BACKUP")
	expectStatus(t, l.vip, model.StatusPendingUpdate, "standby on lbt-c2 is applying the latest change")
}

func TestAddingAMemberToARunningInstanceIsPendingUpdateNotCreate(t *testing.T) {
	l, si := pair(t)
	for i, vm := range si.VMs {
		ha := "BACKUP"
		if i == 0 {
			ha = "MASTER"
		}
		report(t, si, vm, model.VMServing, hashOf(t, si, vm), ha)
	}
	expectStatus(t, l.vip, model.StatusActive)
	addMember(t, l.pool, "10.20.0.11")
	// Both VMs still serve the previous configuration.
	expectStatus(t, l.vip, model.StatusPendingUpdate, "applying the latest change")
}

func TestAgentErrorMakesTheInstanceErrorWithItsMessage(t *testing.T) {
	l, si := pair(t)
	report(t, si, si.VMs[0], model.VMServing, hashOf(t, si, si.VMs[0]), "MASTER")
	report(t, si, si.VMs[1], model.VMError, "", "")
	expectStatus(t, l.vip, model.StatusError, "standby on lbt-c2", "haproxy -c rejected the configuration")
}

func TestDegradedRemarkStaysVisibleOnAnActiveInstance(t *testing.T) {
	reset(t)
	beat(t, controller.NewNodes(env.st, 0), compute, "lbt-c1")
	l := newLB(t, newNets(t))
	reconcile(t)
	si := instance(t, l.vip)
	report(t, si, si.VMs[0], model.VMServing, hashOf(t, si, si.VMs[0]), "MASTER")
	expectStatus(t, l.vip, model.StatusActive, "DEGRADED")
}

func TestViewFollowsTheScheduleUntilVMsReport(t *testing.T) {
	_, si := pair(t)
	v := controller.ViewInstance(env.st, si)
	if v.ID != si.ID || v.LoadBalancerID != si.LoadBalancerID || len(v.VMs) != 2 {
		t.Fatalf("view %+v", v)
	}
	if v.VMs[0].ID != si.VMs[0].ID || v.VMs[0].HA != "active: 200" || v.VMs[1].HA != "standby: 100" {
		t.Fatalf("view VMs %+v: want the scheduled active first as \"active: 200\", then \"standby: 100\"", v.VMs)
	}
	if v.VMs[0].State != "NOT REPORTED" || v.VMs[0].Namespace != controller.Namespace(si.VMs[0].ID, si.ID) {
		t.Fatalf("view VM %+v: want state NOT REPORTED and the VM's namespace", v.VMs[0])
	}
}

func TestViewShowsTheVMThatReportsMasterAsActiveAfterAFailover(t *testing.T) {
	_, si := pair(t)
	a, s := si.VMs[0], si.VMs[1]
	// VRRP moved the VIP to the standby; the schedule has not changed.
	report(t, si, a, model.VMServing, hashOf(t, si, a), "BACKUP")
	report(t, si, s, model.VMServing, hashOf(t, si, s), "MASTER")
	v := controller.ViewInstance(env.st, si)
	if len(v.VMs) != 2 {
		t.Fatalf("view VMs %+v", v.VMs)
	}
	first, second := v.VMs[0], v.VMs[1]
	if first.ID != s.ID || first.HA != "active: 200" || first.Role != model.RoleActive || first.Priority != 200 {
		t.Fatalf("first view VM %+v: want the former standby %s as \"active: 200\"", first, s.ID)
	}
	if second.ID != a.ID || second.HA != "standby: 100" {
		t.Fatalf("second view VM %+v: want the former active %s as \"standby: 100\"", second, a.ID)
	}
	if first.State != "SERVING/MASTER" {
		t.Fatalf("state %q, want SERVING/MASTER", first.State)
	}
	if v.Status != model.StatusActive {
		t.Fatalf("view status %s %q, want ACTIVE", v.Status, v.StatusDescription)
	}
}

func TestMemberHealthAndStatsComeFromTheReports(t *testing.T) {
	l, si := pair(t)
	members := env.st.List(model.KindMember)
	if len(members) != 1 {
		t.Fatalf("%d members", len(members))
	}
	m := members[0].Obj.(*model.Member)
	if st := controller.MemberStatus(env.st, m); st.Status != model.StatusPendingCreate {
		t.Fatalf("member status before any report: %+v", st)
	}
	for i, vm := range si.VMs {
		ha, health := "BACKUP", model.MemberHealth{Status: model.StatusInactive, Description: "standby's view"}
		if i == 1 { // the standby holds the VIP: its view counts
			ha, health = "MASTER", model.MemberHealth{Status: model.StatusActive, Description: "L7OK"}
		}
		r := &model.VMReport{Meta: model.Meta{ID: vm.ID}, Node: vm.Node, SIID: si.ID, LoadBalancerID: si.LoadBalancerID, State: model.VMServing,
			AppliedHash: hashOf(t, si, vm), HAState: ha, Members: map[string]model.MemberHealth{m.ID: health},
			Stats: model.Stats{BytesIn: 10, BytesOut: 20, ActiveConnections: 1, TotalConnections: 3},
			Pools: map[string]model.Stats{l.pool: {BytesIn: 10, BytesOut: 20, ActiveConnections: 1, TotalConnections: 3}}}
		putObject(t, model.KindVMReport, r)
	}
	if st := controller.MemberStatus(env.st, m); st.Status != model.StatusActive || st.Description != "L7OK" {
		t.Fatalf("member status %+v: want the VIP holder's ACTIVE/L7OK", st)
	}
	if s := controller.PoolStats(env.st, l.pool); s.BytesIn != 20 || s.BytesOut != 40 || s.ActiveConnections != 2 || s.TotalConnections != 6 {
		t.Fatalf("pool stats %+v: want the sum over both VMs", s)
	}
	down := *m
	down.AdminStateUp = false
	if st := controller.MemberStatus(env.st, &down); st.Status != model.StatusInactive {
		t.Fatalf("administratively down member: %+v", st)
	}
}

func TestAMemberOnANewSubnetIsPendingUntilTheVMsHaveAPortThere(t *testing.T) {
	reset(t)
	nodes := controller.NewNodes(env.st, 0)
	beat(t, nodes, compute, "lbt-c1", "lbt-c2")
	n := newNets(t)
	// An Octavia-style load balancer: a pool without a subnet, so its VMs
	// sit on the VIP network only.
	l := newLB(t, n)
	pe, _ := env.st.Get(model.KindPool, l.pool)
	p := *pe.Obj.(*model.Pool)
	p.SubnetID = ""
	putObject(t, model.KindPool, &p)
	reconcile(t)
	si := instance(t, l.vip)
	for _, vm := range si.VMs {
		report(t, si, vm, model.VMServing, hashOf(t, si, vm), map[bool]string{true: "MASTER", false: "BACKUP"}[vm.Role == model.RoleActive])
	}
	expectStatus(t, l.vip, model.StatusActive)

	now := time.Now().UTC()
	putObject(t, model.KindMember, &model.Member{Meta: model.Meta{ID: "00000000-0000-4000-8000-00000000aa01", TenantID: p.TenantID, CreatedAt: now, UpdatedAt: now},
		PoolID: p.ID, Address: "10.20.0.44", ProtocolPort: 80, Weight: 1, AdminStateUp: true, SubnetID: n.poolSubnet})
	expectStatus(t, l.vip, model.StatusPendingUpdate, "no port")
	reconcile(t)
	for _, vm := range instance(t, l.vip).VMs {
		if addrOn(portOf(t, vm.ID, n.poolSubnet), n.poolSubnet) == "" {
			t.Fatalf("VM %s has no port on the member's subnet after a reconcile", vm.ID)
		}
	}
}

func portOf(t *testing.T, vmID, subnet string) *model.Port {
	t.Helper()
	for _, p := range portsOf(vmID) {
		if addrOn(p, subnet) != "" {
			return p
		}
	}
	return &model.Port{}
}

func TestAChangeNotAppliedWithinThePendingLimitReadsErrorUntilTheVMsCatchUp(t *testing.T) {
	l, si := pair(t)
	for _, vm := range si.VMs {
		report(t, si, vm, model.VMServing, "an-older-hash", map[bool]string{true: "MASTER", false: "BACKUP"}[vm.Role == model.RoleActive])
	}
	expectStatus(t, l.vip, model.StatusPendingUpdate, "applying the latest change")
	defer func(old time.Duration) { controller.PendingLimit = old }(controller.PendingLimit)
	controller.PendingLimit = 0
	time.Sleep(10 * time.Millisecond)
	expectStatus(t, l.vip, model.StatusError, "not applied within", "applying the latest change")
	for _, vm := range si.VMs {
		report(t, si, vm, model.VMServing, hashOf(t, si, vm), map[bool]string{true: "MASTER", false: "BACKUP"}[vm.Role == model.RoleActive])
	}
	expectStatus(t, l.vip, model.StatusActive)
}

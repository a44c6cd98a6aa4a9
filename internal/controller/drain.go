package controller

import (
	"slices"

	"lbaas/internal/model"
)

// DrainParallel is how many load balancers move off drained nodes at
// once. Each move is one failover window for its load balancer (none when
// the VM that moves is the standby); one at a time keeps a drain from
// becoming an outage of many at the same moment.
var DrainParallel = 1

// drain carries the move of an instance's VM off a drained node one step
// forward, and reports whether it changed the instance. A move replaces
// the VM by a new one on another node, as a failover rebuilds a VM in
// place (rebuild): the drained VM's agent removes it, keepalived first, so
// if it was the active the other VM takes the VIP (the one window), and
// the records follow the traffic. A move starts only when both VMs serve,
// no failover runs, and fewer than DrainParallel moves are under way; it
// ends when the new VM serves.
func (c *Controller) drain(si *model.ServiceInstance, lb *model.LoadBalancer, ps *pass) bool {
	if si.Moving != "" {
		i := slices.IndexFunc(si.VMs, func(vm model.SIVM) bool { return vm.ID == si.Moving })
		if i >= 0 && !serves(c, si, si.VMs[i]) {
			return false
		}
		c.log.Info("drain: the moved VM serves", "loadbalancer", lb.ID, "vm", si.Moving)
		si.Moving = ""
		ps.moving--
		return true
	}
	next := -1
	for i, vm := range si.VMs {
		if ps.drained[vm.Node] && next < 0 {
			next = i
		}
	}
	if next < 0 || lb.Failovers > si.FailedOver || len(si.VMs) < VMsPerInstance || ps.moving >= DrainParallel {
		return false
	}
	for _, vm := range si.VMs {
		if !serves(c, si, vm) {
			return false
		}
	}
	var live []*model.Node
	nets := lbNetworks(c.st, lb)
	for _, n := range ps.all {
		if !ps.drained[n.Name] && carriesAll(n, nets) {
			live = append(live, n)
		}
	}
	// The new VM must not share a zone with the one that stays.
	stays := slices.Delete(slices.Clone(si.VMs), next, next+1)
	node := pickNode(live, ps.zoneOf, stays, ps.load)
	if node == "" || slices.ContainsFunc(stays, func(vm model.SIVM) bool { return vm.Node == node }) {
		return false // nowhere to go: the VM stays until a node is
	}
	old := si.VMs[next]
	vm := replaceVM(si, next, node)
	si.Moving = vm.ID
	ps.moving++
	ps.load[node]++
	c.log.Info("drain: moving a VM off a drained node", "loadbalancer", lb.ID, "old_vm", old.ID, "from", old.Node, "vm", vm.ID, "to", node, "was", old.Role)
	return true
}

// moving counts the instances with a move under way.
func (c *Controller) moving() int {
	n := 0
	for _, se := range c.st.List(model.KindServiceInstance) {
		if se.Obj.(*model.ServiceInstance).Moving != "" {
			n++
		}
	}
	return n
}

func carriesAll(n *model.Node, nets []*model.Network) bool {
	for _, nw := range nets {
		if !n.Carries(nw) {
			return false
		}
	}
	return true
}

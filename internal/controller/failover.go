package controller

import (
	"slices"

	"github.com/google/uuid"

	"lbaas/internal/model"
)

// rebuild carries a requested failover (Octavia's PUT .../failover) one
// step forward and reports whether it changed the instance. Each VM is
// replaced by a new one on the same node, one at a time, and the next
// waits until every VM built so far serves the current configuration:
//   - the standby first, which costs clients nothing;
//   - then the active. Its agent removes it, keepalived first, so the
//     rebuilt standby takes the VIP: the one switch clients see. The
//     records follow the traffic, as after a node death: the rebuilt
//     standby becomes the active (200) and the new VM its standby (100),
//     which also keeps the new VM from claiming the VIP back.
//
// A failover asked for while one runs is folded into it.
func (c *Controller) rebuild(si *model.ServiceInstance, lb *model.LoadBalancer) bool {
	if lb.Failovers <= si.FailedOver {
		return false
	}
	for _, vm := range si.VMs {
		if slices.Contains(si.Rebuilt, vm.ID) && !serves(c, si, vm) {
			return false // the last step is still being built
		}
	}
	next := -1
	for _, role := range []string{model.RoleStandby, model.RoleActive} {
		for i, vm := range si.VMs {
			if next < 0 && vm.Role == role && !slices.Contains(si.Rebuilt, vm.ID) {
				next = i
			}
		}
	}
	if next < 0 {
		c.log.Info("failover done: every VM rebuilt", "loadbalancer", lb.ID, "failovers", lb.Failovers)
		si.FailedOver, si.Rebuilt = lb.Failovers, nil
		return true
	}
	old := si.VMs[next]
	vm := replaceVM(si, next, old.Node)
	si.Rebuilt = append(si.Rebuilt, vm.ID)
	c.log.Info("failover: rebuilding a VM", "loadbalancer", lb.ID, "old_vm", old.ID, "vm", vm.ID, "node", vm.Node, "was", old.Role)
	return true
}

// rebuildOne carries out a failover of one VM (an amphora failover):
// once the other VMs serve, that VM is replaced by a new one on its node.
// A standby's replacement costs clients nothing and leaves the active
// holding the VIP; an active's moves the VIP to the standby once, as a
// whole failover does. A VM already gone (replaced meanwhile) makes the
// request done.
func (c *Controller) rebuildOne(si *model.ServiceInstance, lb *model.LoadBalancer) bool {
	if lb.AmphoraFailovers <= si.AmphoraFailedOver {
		return false
	}
	i := slices.IndexFunc(si.VMs, func(vm model.SIVM) bool { return vm.ID == lb.FailoverAmphora })
	if i >= 0 {
		for j, vm := range si.VMs {
			if j != i && !serves(c, si, vm) {
				return false // the VIP needs a serving peer first
			}
		}
		old := si.VMs[i]
		vm := replaceVM(si, i, old.Node)
		c.log.Info("amphora failover: rebuilding a VM", "loadbalancer", lb.ID, "old_vm", old.ID, "vm", vm.ID, "node", vm.Node, "was", old.Role)
	}
	si.AmphoraFailedOver = lb.AmphoraFailovers
	return true
}

// replaceVM puts a new VM on node in the place of si.VMs[i] and returns
// it. The agent of the old one removes it, keepalived first; if it was the
// active, the other VM takes the VIP, and the records follow the traffic:
// that VM becomes the active and the new one its standby, which also keeps
// the new VM from claiming the VIP back.
func replaceVM(si *model.ServiceInstance, i int, node string) model.SIVM {
	old := si.VMs[i]
	vm := model.SIVM{ID: uuid.NewString(), Node: node, Role: old.Role, Priority: old.Priority}
	if old.Role == model.RoleActive {
		for j := range si.VMs {
			if j != i {
				si.VMs[j].Role, si.VMs[j].Priority = model.RoleActive, model.PriorityActive
			}
		}
		vm.Role, vm.Priority = model.RoleStandby, model.PriorityStandby
	}
	si.VMs[i] = vm
	return vm
}

// serves reports whether a VM's agent says it serves the VM's current
// desired configuration.
func serves(c *Controller, si *model.ServiceInstance, vm model.SIVM) bool {
	e, ok := c.st.Get(model.KindVMReport, vm.ID)
	if !ok {
		return false
	}
	r := e.Obj.(*model.VMReport)
	if r.State != model.VMServing {
		return false
	}
	in, err := BuildInstance(c.st, si, vm)
	return err == nil && r.AppliedHash == in.Hash
}

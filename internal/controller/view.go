package controller

import (
	"fmt"
	"sort"

	"lbaas/internal/model"
	"lbaas/internal/store"
)

// TemplateName is the service template every instance is made from, named
// as in OpenContrail.
const TemplateName = "default-domain:haproxy-loadbalancer-template"

// VMView is one VM of an instance as observed.
type VMView struct {
	ID       string `json:"id"`
	Node     string `json:"node"`
	Role     string `json:"role"`
	Priority int    `json:"priority"`
	// HA is "active: 200" or "standby: 100", from what the VMs report
	// (VRRP's view) when they have reported, else from the schedule.
	HA        string `json:"ha"`
	State     string `json:"state"`
	Namespace string `json:"namespace"`
}

// InstanceView is a service instance with its observed state.
type InstanceView struct {
	ID                string   `json:"id"`
	Name              string   `json:"name"`
	TenantID          string   `json:"tenant_id"`
	LoadBalancerID    string   `json:"loadbalancer_id"`
	Status            string   `json:"status"`
	StatusDescription string   `json:"status_description"`
	CreatedAt         int64    `json:"create_ts"`
	VMs               []VMView `json:"vms"`
}

// ViewInstance describes si as it is now: who holds the VIP is what the
// VMs report, so after a failover the survivor reads "active: 200" as
// soon as its agent reports.
func ViewInstance(st *store.Store, si *model.ServiceInstance) InstanceView {
	reps := reports(st, si.ID)
	master := ""
	for _, vm := range si.VMs {
		if r := reps[vm.ID]; r != nil && r.HAState == "MASTER" && r.State == model.VMServing {
			master = vm.ID
		}
	}
	status := InstanceStatus(st, si.LoadBalancerID)
	v := InstanceView{ID: si.ID, Name: si.Name, TenantID: si.TenantID, LoadBalancerID: si.LoadBalancerID,
		Status: status.Status, StatusDescription: status.Description, CreatedAt: si.CreatedAt.UnixMicro()}
	for _, vm := range si.VMs {
		role := vm.Role
		if master != "" {
			role = model.RoleStandby
			if vm.ID == master {
				role = model.RoleActive
			}
		}
		prio := model.PriorityStandby
		if role == model.RoleActive {
			prio = model.PriorityActive
		}
		state := "NOT REPORTED"
		if r := reps[vm.ID]; r != nil {
			state = r.State
			if r.HAState != "" {
				state += "/" + r.HAState
			}
		}
		v.VMs = append(v.VMs, VMView{ID: vm.ID, Node: vm.Node, Role: role, Priority: prio, HA: fmt.Sprintf("%s: %d", role, prio), State: state, Namespace: Namespace(vm.ID, si.ID)})
	}
	sort.SliceStable(v.VMs, func(i, j int) bool { return v.VMs[i].Priority > v.VMs[j].Priority })
	return v
}

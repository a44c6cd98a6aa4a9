package controller

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"lbaas/internal/model"
	"lbaas/internal/store"
)

// Status is a provisioning status with its description.
type Status struct {
	Status      string
	Description string
}

func pending(desc string) Status { return Status{model.StatusPendingCreate, desc} }

// instanceOf returns the service instance of a load balancer, if any (it
// has the load balancer's id).
func instanceOf(st *store.Store, lbID string) *model.ServiceInstance {
	if lbID == "" {
		return nil
	}
	if e, ok := st.Get(model.KindServiceInstance, lbID); ok {
		return e.Obj.(*model.ServiceInstance)
	}
	return nil
}

// poolLB returns the load balancer id of a pool ("" when it has none).
func poolLB(st *store.Store, poolID string) string {
	if e, ok := st.Get(model.KindPool, poolID); ok {
		return e.Obj.(*model.Pool).LoadBalancerID
	}
	return ""
}

// PoolStatus is the status of a pool's deployment: its load balancer's.
func PoolStatus(st *store.Store, poolID string) Status {
	lb := poolLB(st, poolID)
	if lb == "" {
		return pending("not deployed: the pool has no VIP")
	}
	return InstanceStatus(st, lb)
}

// reports returns the VM reports of a service instance by VM id.
func reports(st *store.Store, siID string) map[string]*model.VMReport {
	out := map[string]*model.VMReport{}
	for _, e := range st.ByIndex(model.KindVMReport, store.IdxSI, siID) {
		r := e.Obj.(*model.VMReport)
		out[r.ID] = r
	}
	return out
}

// InstanceStatus is the status of a load balancer's deployment: ACTIVE
// only when every VM of its service instance reports that HAProxy serves
// the current desired config.
func InstanceStatus(st *store.Store, lbID string) Status {
	si := instanceOf(st, lbID)
	if si == nil {
		return bounded(st, lbID, nil, pending("waiting for the controller to schedule the load balancer"))
	}
	if si.Status == model.StatusError {
		return Status{model.StatusError, si.StatusDescription}
	}
	reps := reports(st, si.ID)
	var waiting, serving []string
	masters := 0
	for _, vm := range si.VMs {
		r := reps[vm.ID]
		if r == nil {
			waiting = append(waiting, fmt.Sprintf("%s on %s has not reported", vm.Role, vm.Node))
			continue
		}
		if r.State == model.VMError {
			return Status{model.StatusError, fmt.Sprintf("%s on %s: %s", vm.Role, vm.Node, r.Error)}
		}
		in, err := BuildInstance(st, si, vm)
		if errors.Is(err, ErrNoPortYet) {
			waiting = append(waiting, fmt.Sprintf("%s on %s %v", vm.Role, vm.Node, ErrNoPortYet))
			continue
		}
		if err != nil {
			return Status{model.StatusError, err.Error()}
		}
		if r.State != model.VMServing || r.AppliedHash != in.Hash {
			waiting = append(waiting, fmt.Sprintf("%s on %s is applying the latest change", vm.Role, vm.Node))
			continue
		}
		role := "standby"
		if r.HAState == "MASTER" {
			role = "active"
			masters++
		}
		serving = append(serving, fmt.Sprintf("%s on %s", role, vm.Node))
	}
	if len(waiting) == 0 && masters == 0 {
		waiting = append(waiting, "waiting for VRRP to elect the VM that holds the VIP")
	}
	if len(waiting) > 0 {
		// PENDING_CREATE until some VM has served; after that a change is
		// an update of something running.
		status := model.StatusPendingCreate
		for _, r := range reps {
			if r.State == model.VMServing {
				status = model.StatusPendingUpdate
			}
		}
		return bounded(st, lbID, si, Status{status, strings.Join(waiting, "; ")})
	}
	desc := "serving: " + strings.Join(serving, ", ")
	if masters > 1 {
		desc += "; WARNING: more than one VM holds the VIP"
	}
	if si.StatusDescription != "" {
		desc += "; " + si.StatusDescription
	}
	return Status{model.StatusActive, desc}
}

// activeReport returns the report of the VM that holds the VIP (or the
// highest-priority one when none says), which is what members' health is
// read from.
func activeReport(st *store.Store, si *model.ServiceInstance) *model.VMReport {
	reps := reports(st, si.ID)
	vms := append([]model.SIVM(nil), si.VMs...)
	sort.Slice(vms, func(i, j int) bool { return vms[i].Priority > vms[j].Priority })
	for _, vm := range vms {
		if r := reps[vm.ID]; r != nil && r.HAState == "MASTER" {
			return r
		}
	}
	for _, vm := range vms {
		if r := reps[vm.ID]; r != nil {
			return r
		}
	}
	return nil
}

// MemberStatus is a member's health as the active HAProxy sees it.
func MemberStatus(st *store.Store, m *model.Member) Status {
	if !m.AdminStateUp {
		return Status{model.StatusInactive, "administratively down"}
	}
	si := instanceOf(st, poolLB(st, m.PoolID))
	if si == nil {
		return pending("the pool is not deployed")
	}
	r := activeReport(st, si)
	if r == nil {
		return pending("waiting for the data plane to report")
	}
	h, ok := r.Members[m.ID]
	if !ok {
		return pending("not yet in the running configuration")
	}
	return Status{h.Status, h.Description}
}

// PoolStats sums the traffic counters of a pool over every VM of its load
// balancer.
func PoolStats(st *store.Store, poolID string) model.Stats {
	var out model.Stats
	si := instanceOf(st, poolLB(st, poolID))
	if si == nil {
		return out
	}
	for _, r := range reports(st, si.ID) {
		out.Add(r.Pools[poolID])
	}
	return out
}

// LoadBalancerStats sums a load balancer's counters over its VMs.
func LoadBalancerStats(st *store.Store, lbID string) model.Stats {
	var out model.Stats
	si := instanceOf(st, lbID)
	if si == nil {
		return out
	}
	for _, r := range reports(st, si.ID) {
		out.Add(r.Stats)
	}
	return out
}

// ListenerStats sums a listener's counters over the VMs of its load
// balancer.
func ListenerStats(st *store.Store, lbID, listenerID string) model.Stats {
	var out model.Stats
	si := instanceOf(st, lbID)
	if si == nil {
		return out
	}
	for _, r := range reports(st, si.ID) {
		out.Add(r.Listeners[listenerID])
	}
	return out
}

// PendingLimit bounds how long a load balancer reads PENDING_*: past it,
// with the data plane still not serving its latest change, it reads ERROR
// with what it is waiting for. Status is derived, never stored, so it turns
// ACTIVE by itself once the VMs catch up, and nothing refuses an update, a
// failover or a delete because of it: ERROR says something, it is not a
// dead end.
var PendingLimit = 2 * time.Minute

// bounded turns a pending status older than PendingLimit into an error.
func bounded(st *store.Store, lbID string, si *model.ServiceInstance, s Status) Status {
	since := lastChange(st, lbID, si)
	if since.IsZero() || time.Since(since) <= PendingLimit {
		return s
	}
	return Status{model.StatusError, fmt.Sprintf("not applied within %v of the last change (%s): %s",
		PendingLimit, since.Format(time.RFC3339), s.Description)}
}

// lastChange is when the load balancer's desired state last changed: the
// newest update of it, its listeners, pools, members, monitors and its
// instance's schedule.
// LastChange is when a load balancer's desired state last changed: the
// newest update of it, its listeners, pools, members, monitors and its
// instance's schedule.
func LastChange(st *store.Store, lbID string) time.Time {
	return lastChange(st, lbID, instanceOf(st, lbID))
}

func lastChange(st *store.Store, lbID string, si *model.ServiceInstance) time.Time {
	var t time.Time
	see := func(o model.Object) {
		if u := o.Base().UpdatedAt; u.After(t) {
			t = u
		}
	}
	if e, ok := st.Get(model.KindLoadBalancer, lbID); ok {
		see(e.Obj)
	}
	if si != nil {
		see(si)
	}
	for _, l := range Listeners(st, lbID) {
		see(l)
	}
	for _, p := range Pools(st, lbID) {
		see(p)
		ms := Members(st, p.ID)
		for i := range ms {
			see(&ms[i])
		}
		for _, id := range p.HealthMonitors {
			if e, ok := st.Get(model.KindHealthMonitor, id); ok {
				see(e.Obj)
			}
		}
	}
	return t
}

package controller

import (
	"lbaas/internal/model"
	"lbaas/internal/store"
)

// Operating statuses, as Octavia names them.
const (
	OperatingOnline    = "ONLINE"
	OperatingOffline   = "OFFLINE"
	OperatingDegraded  = "DEGRADED"
	OperatingError     = "ERROR"
	OperatingNoMonitor = "NO_MONITOR"
	OperatingDraining  = "DRAINING"
)

// Operating is how a load balancer and its children work right now, from
// what the VM holding the VIP reports, rolled up member → pool → listener
// → load balancer as Octavia rolls it up: a pool with some members in
// error is DEGRADED, with all of them ERROR; a load balancer is DEGRADED
// when any listener or pool is not ONLINE; anything administratively down
// is OFFLINE and counts for nothing above it.
type Operating struct {
	LoadBalancer string
	Listeners    map[string]string
	Pools        map[string]string
	Members      map[string]string
}

// OperatingOf derives the operating status of a load balancer's tree.
func OperatingOf(st *store.Store, lbID string) Operating {
	op := Operating{LoadBalancer: OperatingOffline, Listeners: map[string]string{}, Pools: map[string]string{}, Members: map[string]string{}}
	le, ok := st.Get(model.KindLoadBalancer, lbID)
	if !ok {
		return op
	}
	lb := le.Obj.(*model.LoadBalancer)
	var rep *model.VMReport
	if si := instanceOf(st, lbID); si != nil {
		rep = activeReport(st, si)
	}
	serving := rep != nil && rep.State == model.VMServing
	worst := OperatingOnline
	degrade := func(s string) {
		if s == OperatingDegraded || s == OperatingError {
			worst = OperatingDegraded
		}
	}
	for _, p := range Pools(st, lbID) {
		ps := poolOperating(st, p, rep, serving, op.Members)
		op.Pools[p.ID] = ps
		degrade(ps)
	}
	for _, l := range Listeners(st, lbID) {
		ls := OperatingOnline
		switch {
		case !l.AdminStateUp || !lb.AdminStateUp:
			ls = OperatingOffline
		case rep == nil:
			ls = OperatingOffline // not deployed yet
		case !serving:
			ls = OperatingError
		}
		op.Listeners[l.ID] = ls
		degrade(ls)
	}
	switch {
	case !lb.AdminStateUp || rep == nil:
		op.LoadBalancer = OperatingOffline
	case rep.State == model.VMError:
		op.LoadBalancer = OperatingError
	default:
		op.LoadBalancer = worst
	}
	return op
}

// poolOperating sets the pool's members' statuses in members and returns
// the pool's.
func poolOperating(st *store.Store, p *model.Pool, rep *model.VMReport, serving bool, members map[string]string) string {
	monitored := false
	for _, id := range p.HealthMonitors {
		if he, ok := st.Get(model.KindHealthMonitor, id); ok && he.Obj.(*model.HealthMonitor).AdminStateUp {
			monitored = true
			break
		}
	}
	up, failed, counted := 0, 0, 0
	for _, m := range Members(st, p.ID) {
		s := memberOperating(m, rep, monitored)
		members[m.ID] = s
		if s == OperatingOffline {
			continue
		}
		counted++
		switch s {
		case OperatingError:
			failed++
		default:
			up++
		}
	}
	switch {
	case !p.AdminStateUp:
		return OperatingOffline
	case rep == nil:
		return OperatingOffline
	case !serving:
		return OperatingError
	case counted > 0 && failed == counted:
		return OperatingError
	case failed > 0:
		return OperatingDegraded
	}
	return OperatingOnline
}

func memberOperating(m model.Member, rep *model.VMReport, monitored bool) string {
	if !m.AdminStateUp {
		return OperatingOffline
	}
	if rep == nil {
		return OperatingOffline
	}
	h, ok := rep.Members[m.ID]
	if !ok {
		return OperatingOffline // not in the running configuration yet
	}
	if !monitored {
		return OperatingNoMonitor
	}
	switch h.Status {
	case model.StatusActive:
		if m.Weight == 0 {
			return OperatingDraining
		}
		return OperatingOnline
	case model.StatusInactive:
		return OperatingError
	}
	return OperatingOffline // no check result yet
}

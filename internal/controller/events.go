package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"lbaas/internal/model"
	"lbaas/internal/store"
)

// Event retention: the history keeps at most MaxEvents events and none
// older than EventMaxAge; the leader prunes the rest at every pass.
const (
	MaxEvents   = 10000
	EventMaxAge = 14 * 24 * time.Hour
)

// instanceEvents returns the events a pass's change to a load balancer's
// instance records: VMs dropped with their dead node, VMs scheduled (first
// placement or a repair) and a change to or from ERROR, with the
// controller's reason. They commit with the instance's change.
func instanceEvents(old *model.ServiceInstance, si *model.ServiceInstance, now time.Time) []*model.Event {
	var out []*model.Event
	add := func(typ, severity, object, node, from, to, msg string) {
		e := model.NewEvent(now.Add(time.Duration(len(out))), si.TenantID, typ, severity, msg) // in order within a pass
		e.LoadBalancerID, e.ObjectID, e.Node, e.From, e.To = si.LoadBalancerID, object, node, from, to
		out = append(out, e)
	}
	var before []model.SIVM
	oldStatus := ""
	if old != nil {
		before, oldStatus = old.VMs, old.Status
	}
	has := func(vms []model.SIVM, id string) bool {
		return slices.ContainsFunc(vms, func(v model.SIVM) bool { return v.ID == id })
	}
	for _, vm := range before {
		if !has(si.VMs, vm.ID) {
			add(model.EventRepair, model.SeverityWarning, vm.ID, vm.Node, vm.Role, "",
				fmt.Sprintf("VM %s (%s) on %s removed: its node is gone, drained, or a failover replaced it", vm.ID, vm.Role, vm.Node))
		}
	}
	for _, vm := range si.VMs {
		if has(before, vm.ID) {
			continue
		}
		typ, sev, what := model.EventScheduled, model.SeverityInfo, "scheduled"
		if len(before) > 0 {
			typ, what = model.EventRepair, "scheduled to repair the pair"
		}
		add(typ, sev, vm.ID, vm.Node, "", vm.Role, fmt.Sprintf("VM %s (%s) %s on %s", vm.ID, vm.Role, what, vm.Node))
	}
	if si.Status != oldStatus {
		switch {
		case si.Status == model.StatusError:
			add(model.EventProvisioningError, model.SeverityError, si.ID, "", oldStatus, si.Status, si.StatusDescription)
		case oldStatus == model.StatusError:
			add(model.EventProvisioningError, model.SeverityInfo, si.ID, "", oldStatus, si.Status, "placed again: "+orDash(si.StatusDescription))
		}
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// nodeEvents records the nodes that joined or were lost since the last
// pass of this term (the first pass only takes the roll). A node is lost
// only once the store is trusted (see StartupGrace): before that, a
// missing node may just not have beaten yet.
func (c *Controller) nodeEvents(ctx context.Context, now time.Time) error {
	alive := map[string]*model.Node{}
	for _, e := range c.st.List(model.KindNode) {
		n := e.Obj.(*model.Node)
		alive[n.Name] = n
	}
	if c.knownNodes == nil || !c.store.trusted(now, StartupGrace) {
		c.knownNodes = map[string]bool{}
		for name := range alive {
			c.knownNodes[name] = true
		}
		return nil
	}
	t := new(store.Txn)
	for name, n := range alive {
		if !c.knownNodes[name] {
			e := model.NewEvent(now, "admin", model.EventNodeJoined, model.SeverityInfo, fmt.Sprintf("node %s joined (%v, zone %s, version %s)", name, n.Roles, orDash(n.Zone), n.Version))
			e.ObjectID, e.Node = name, name
			t.Put(model.KindEvent, e)
		}
	}
	for name := range c.knownNodes {
		if alive[name] == nil {
			e := model.NewEvent(now, "admin", model.EventNodeLost, model.SeverityWarning, fmt.Sprintf("node %s lost: its agent stopped renewing its lease", name))
			e.ObjectID, e.Node = name, name
			t.Put(model.KindEvent, e)
		}
	}
	if t.Empty() {
		return nil
	}
	if _, err := c.st.Commit(ctx, t); err != nil {
		return err // the roll stays as it was: the next pass records them
	}
	c.knownNodes = map[string]bool{}
	for name := range alive {
		c.knownNodes[name] = true
	}
	return nil
}

// pruneEvents deletes the events past MaxEvents and those older than
// EventMaxAge, oldest first, a bounded batch per pass.
func (c *Controller) pruneEvents(ctx context.Context, now time.Time) error {
	all := c.st.List(model.KindEvent) // newest first (see model.NewEventID)
	t := new(store.Txn)
	n := 0
	for i := len(all) - 1; i >= 0 && n < 500; i-- {
		ev := all[i].Obj.(*model.Event)
		if i < MaxEvents && now.Sub(ev.Time) <= EventMaxAge {
			break
		}
		t.Delete(model.KindEvent, ev.ID, all[i].Rev)
		n++
	}
	if t.Empty() {
		return nil
	}
	_, err := c.st.Commit(ctx, t)
	if errors.Is(err, store.ErrConflict) {
		return nil
	}
	return err
}

package agentsrv

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"lbaas/internal/controller"
	"lbaas/internal/model"
	"lbaas/internal/store"
)

// reportEvents returns the events a VM's new report records against its
// previous one (nil for its first): VIP taken or given up, a member's
// health changing (seen by the VM holding the VIP, so that a pair does not
// say it twice), a new configuration applied, an error and the recovery
// from it. They are committed with the report, so a change is recorded
// exactly once, by whichever server took the report.
func reportEvents(st *store.Store, prev, next *model.VMReport, now time.Time) []*model.Event {
	var out []*model.Event
	add := func(typ, severity, object, from, to, msg string) {
		// A nanosecond apart: one report's events list in the order they are added.
		e := model.NewEvent(now.Add(time.Duration(len(out))), next.TenantID, typ, severity, msg)
		e.LoadBalancerID, e.ObjectID, e.Node, e.From, e.To = next.LoadBalancerID, object, next.Node, from, to
		out = append(out, e)
	}
	vm := vmName(next.ID, next.Node)
	prevHA, prevState, prevHash, prevErr := "", "", "", ""
	var prevMembers map[string]model.MemberHealth
	if prev != nil {
		prevHA, prevState, prevHash, prevErr, prevMembers = prev.HAState, prev.State, prev.AppliedHash, prev.Error, prev.Members
	}
	if next.HAState != prevHA && next.HAState != "" {
		switch {
		case next.HAState == "MASTER" && prevHA == "BACKUP":
			add(model.EventVRRP, model.SeverityWarning, next.ID, prevHA, next.HAState, vm+" took over the VIP")
		case next.HAState == "MASTER":
			add(model.EventVRRP, model.SeverityInfo, next.ID, prevHA, next.HAState, vm+" holds the VIP")
		case prevHA == "MASTER":
			add(model.EventVRRP, model.SeverityWarning, next.ID, prevHA, next.HAState, vm+" gave up the VIP")
		}
	}
	// A new reason is a new error (the frontend not open, then the
	// configuration refused: the second says why).
	if next.State != prevState || next.State == model.VMError && next.Error != prevErr {
		switch {
		case next.State == model.VMError:
			add(model.EventVMError, model.SeverityError, next.ID, prevState, next.State, vm+": "+next.Error)
		case prevState == model.VMError && next.State == model.VMServing:
			add(model.EventVMRecovered, model.SeverityInfo, next.ID, prevState, next.State, vm+" serves again")
		}
	}
	if next.AppliedHash != prevHash && next.AppliedHash != "" && next.State == model.VMServing {
		h := next.AppliedHash
		if len(h) > 12 {
			h = h[:12]
		}
		add(model.EventConfigApplied, model.SeverityInfo, next.ID, "", "", vm+" applied configuration "+h)
		// How long the change took to reach this VM (the reconcile lag).
		if lc := controller.LastChange(st, next.LoadBalancerID); !lc.IsZero() && now.After(lc) {
			out[len(out)-1].DurationMs = float64(now.Sub(lc).Microseconds()) / 1000
		}
	}
	if next.HAState == "MASTER" {
		for id, h := range next.Members {
			p, ok := prevMembers[id]
			if !ok || p.Status == h.Status {
				continue
			}
			sev := model.SeverityInfo
			if h.Status != model.StatusActive {
				sev = model.SeverityWarning
			}
			add(model.EventMember, sev, id, p.Status, h.Status, fmt.Sprintf("member %s %s: %s", memberName(st, id), h.Status, h.Description))
		}
	}
	return out
}

// vmName is a VM as the events' messages name it.
func vmName(id, node string) string { return fmt.Sprintf("VM %s on %s", id, node) }

// memberName is a member's address and port as a person reads it.
func memberName(st *store.Store, id string) string {
	if e, ok := st.Get(model.KindMember, id); ok {
		m := e.Obj.(*model.Member)
		return net.JoinHostPort(m.Address, strconv.Itoa(m.ProtocolPort))
	}
	return id
}

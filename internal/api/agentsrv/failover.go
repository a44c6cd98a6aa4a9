package agentsrv

import (
	"fmt"
	"sync"
	"time"

	"lbaas/internal/controller"
	"lbaas/internal/model"
	"lbaas/internal/store"
)

// A failover is recorded from the new holder's reports: its keepalived
// says when it entered MASTER, and the previous holder's says when and
// how it left (FAULT, BACKUP, STOP). The two reports reach the server in
// either order, and a previous holder that died silently never reports
// again, so a takeover waits, report after report of the new holder, until
// its cause is known, and is recorded once.
const (
	// takeoverWindow bounds the wait: a takeover older than this is not
	// recorded (it was, by a server that took the reports before).
	takeoverWindow = 30 * time.Second
	// departureSlack is how far apart the two keepalived records may be
	// and still be one failover: two nodes' clocks, and the order of the
	// writes (the previous holder may record its FAULT just after its
	// peer took over, when its adverts simply stopped).
	departureSlack = 2 * time.Second
	// departureLead: a departure this long before the takeover is an
	// older one.
	departureLead = 10 * time.Second
	// silentAfter: a previous holder that has said nothing by now while
	// its node still holds its lease fell silent alone (its keepalived);
	// by then a dead node's lease has run out.
	silentAfter = 2*controller.NodeTTL + time.Second
)

// takeovers follows, per VM that took a VIP, the takeover until its
// failover is recorded or known not to be one.
type takeovers struct {
	mu      sync.Mutex
	pending map[string]*takeover // by the new holder's VM id
}

type takeover struct {
	since  time.Time // the new holder entered MASTER (its keepalived's record)
	holder string    // the previous holder's VM id ("": none, not a failover)
	node   string    // the previous holder's node
	done   bool
}

func newTakeovers() *takeovers { return &takeovers{pending: map[string]*takeover{}} }

// failoverEvent returns the failover next's report completes, if any.
func (tk *takeovers) failoverEvent(st *store.Store, next *model.VMReport, now time.Time) *model.Event {
	r := next.VRRP
	taking := next.HAState == "MASTER" && r.State == "MASTER" && !r.Since.IsZero() && now.Sub(r.Since) <= takeoverWindow
	tk.mu.Lock()
	defer tk.mu.Unlock()
	if !taking {
		delete(tk.pending, next.ID)
		return nil
	}
	p := tk.pending[next.ID]
	if p == nil || !p.since.Equal(r.Since) {
		// A new takeover: forget those past the window (their VMs may be
		// gone and never report again), once per takeover, not per report.
		for id, old := range tk.pending {
			if now.Sub(old.since) > takeoverWindow {
				delete(tk.pending, id)
			}
		}
		p = &takeover{since: r.Since}
		p.holder, p.node = previousHolder(st, next)
		p.done = p.holder == "" || failoverRecorded(st, next.LoadBalancerID, next.ID, r.Since)
		tk.pending[next.ID] = p
	}
	if p.done {
		return nil
	}
	vm, prev := vmName(next.ID, next.Node), vmName(p.holder, p.node)
	var trigger, from, msg string
	var dur time.Duration
	var old *model.VMReport
	if e, ok := st.Get(model.KindVMReport, p.holder); ok {
		old = e.Obj.(*model.VMReport)
	}
	_, nodeAlive := st.Get(model.KindNode, p.node)
	switch {
	case old != nil && departedNear(old.VRRP, r.Since):
		from, dur = old.VRRP.Left, max(r.Since.Sub(old.VRRP.LeftAt), 0)
		why := "its keepalived went FAULT (its HAProxy, its VIP link or its health check failed)"
		trigger = model.TriggerFault
		if from != "FAULT" {
			why, trigger = "its keepalived stepped down ("+from+")", model.TriggerResigned
		}
		msg = fmt.Sprintf("%s took the VIP from %s in %.1f ms: %s", vm, prev, float64(dur.Microseconds())/1000, why)
	case !nodeAlive:
		trigger = model.TriggerNodeSilent
		msg = fmt.Sprintf("%s took the VIP from %s: node %s went silent (its lease ran out); the takeover waited for keepalived's master-down timer, which is not timed here", vm, prev, p.node)
	case now.Sub(r.Since) <= silentAfter:
		return nil // the previous holder has not said yet
	case old != nil && holds(old):
		// Both say they hold it: a second MASTER (a new VM electing itself
		// before it heard its peer, a partition), which the arbiter keeps
		// from taking traffic. The VIP did not move.
		p.done = true
		return nil
	default:
		trigger = model.TriggerVRRPSilent
		msg = fmt.Sprintf("%s took the VIP from %s: its keepalived stopped without leaving MASTER while its node lived (killed or frozen)", vm, prev)
	}
	p.done = true
	e := model.NewEvent(now, next.TenantID, model.EventFailover, model.SeverityWarning, msg)
	e.LoadBalancerID, e.ObjectID, e.Node, e.From, e.To, e.Trigger = next.LoadBalancerID, next.ID, next.Node, from, "MASTER", trigger
	if dur > 0 {
		e.DurationMs = float64(dur.Microseconds()) / 1000
	}
	return e
}

// forget drops what is known of a VM's takeover, so that its next report
// judges it again: its failover event was not committed.
func (tk *takeovers) forget(vm string) {
	tk.mu.Lock()
	delete(tk.pending, vm)
	tk.mu.Unlock()
}

// departedNear says whether a VM's last departure from MASTER belongs to a
// takeover at since: close enough in time, and not followed by the VM
// entering MASTER again (a departure that a later failover back to it
// has already answered).
func departedNear(r model.VRRPRecord, since time.Time) bool {
	if r.Left == "" || r.LeftAt.IsZero() || r.State == "MASTER" && r.Since.After(r.LeftAt) {
		return false
	}
	return r.LeftAt.After(since.Add(-departureLead)) && r.LeftAt.Before(since.Add(departureSlack))
}

// holds says whether a VM's report says it serves with the VIP.
func holds(o *model.VMReport) bool {
	return o.State != model.VMError && o.HAState == "MASTER" && o.VRRP.State == "MASTER"
}

// previousHolder names the VM of next's load balancer that held the VIP
// before next took it: one that left MASTER just before, or whose last word
// is still MASTER from earlier. None: next's election was the first (a new
// pair), not a failover.
func previousHolder(st *store.Store, next *model.VMReport) (vm, node string) {
	for _, e := range st.ByIndex(model.KindVMReport, store.IdxSI, next.SIID) {
		o := e.Obj.(*model.VMReport)
		if o.ID == next.ID {
			continue
		}
		if departedNear(o.VRRP, next.VRRP.Since) || o.VRRP.State == "MASTER" && o.VRRP.Since.Before(next.VRRP.Since) || o.HAState == "MASTER" {
			return o.ID, o.Node
		}
	}
	return "", ""
}

// failoverRecorded says whether a failover to vm since then is in the
// history already (recorded by another server that took its reports).
func failoverRecorded(st *store.Store, lb, vm string, since time.Time) bool {
	for _, e := range st.ByIndex(model.KindEvent, store.IdxLB, lb) {
		ev := e.Obj.(*model.Event)
		if ev.Type == model.EventFailover && ev.ObjectID == vm && !ev.Time.Before(since) {
			return true
		}
	}
	return false
}

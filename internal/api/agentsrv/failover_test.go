package agentsrv_test

import (
	"strings"
	"testing"
	"time"

	"lbaas/internal/agentapi"
	"lbaas/internal/model"
	"lbaas/internal/store"
)

// pair sends the reports of one load balancer's two VMs, as their agents
// would: compute-1's with its own credential, compute-2's as an admin.
type pair struct {
	t            *testing.T
	si           *model.ServiceInstance
	mine, theirs agentapi.VMStatus
}

func newPair(t *testing.T) *pair {
	_, si := deployed(t)
	return &pair{t: t, si: si,
		mine:   vmStatus(si, vmOn(t, si, "compute-1"), "BACKUP", model.Stats{}),
		theirs: vmStatus(si, vmOn(t, si, "compute-2"), "BACKUP", model.Stats{}),
	}
}

func (p *pair) sendMine(change func(*agentapi.VMStatus)) {
	p.t.Helper()
	change(&p.mine)
	if err := agent().Report(testCtx(p.t), agentapi.Report{VMs: []agentapi.VMStatus{p.mine}}); err != nil {
		p.t.Fatal(err)
	}
}

func (p *pair) sendTheirs(change func(*agentapi.VMStatus)) {
	p.t.Helper()
	change(&p.theirs)
	c := &agentapi.Client{BaseURL: env.url, Token: adminToken, Node: "compute-2"}
	if err := c.Report(testCtx(p.t), agentapi.Report{VMs: []agentapi.VMStatus{p.theirs}}); err != nil {
		p.t.Fatal(err)
	}
}

func (p *pair) failovers() []map[string]any {
	p.t.Helper()
	return listEvents(p.t, "?loadbalancer_id="+p.si.LoadBalancerID+"&type=failover")
}

// master makes a VM the VIP holder since the given time.
func master(since time.Time) func(*agentapi.VMStatus) {
	return func(s *agentapi.VMStatus) {
		s.HAState, s.VRRP = "MASTER", model.VRRPRecord{State: "MASTER", Since: since, Left: s.VRRP.Left, LeftAt: s.VRRP.LeftAt}
	}
}

// TestFailoverIsRecordedOnceWithItsTriggerAndDurationWhicheverReportComesFirst
// plays a HAProxy death on the VIP holder: its keepalived goes FAULT, its
// peer takes the VIP 23.5 ms later. The failover is one event, trigger
// "fault", timed from the two keepalived records, whether the new holder
// reports before or after the old one says it left; the first election of
// a pair is no failover.
func TestFailoverIsRecordedOnceWithItsTriggerAndDurationWhicheverReportComesFirst(t *testing.T) {
	for _, newFirst := range []bool{true, false} {
		p := newPair(t)
		t0 := time.Now().UTC().Add(-time.Second)
		p.sendMine(func(s *agentapi.VMStatus) { s.VRRP = model.VRRPRecord{State: "BACKUP", Since: t0} })
		p.sendTheirs(master(t0))
		if n := len(p.failovers()); n != 0 {
			t.Fatalf("a pair's first election recorded %d failovers", n)
		}
		left := t0.Add(500 * time.Millisecond)
		took := left.Add(23500 * time.Microsecond)
		fault := func(s *agentapi.VMStatus) {
			s.State, s.Error, s.HAState = model.VMError, "HAProxy does not answer on its runtime socket", ""
			s.VRRP = model.VRRPRecord{State: "FAULT", Since: left, Left: "FAULT", LeftAt: left}
		}
		if newFirst {
			p.sendMine(master(took))
			if n := len(p.failovers()); n != 0 {
				t.Fatalf("recorded before the old holder said why it left: %v", p.failovers())
			}
			p.sendTheirs(fault)
			p.sendMine(func(*agentapi.VMStatus) {}) // its next report, unchanged
		} else {
			p.sendTheirs(fault)
			p.sendMine(master(took))
		}
		p.sendMine(func(*agentapi.VMStatus) {})
		evs := p.failovers()
		if len(evs) != 1 {
			t.Fatalf("new holder first %v: %d failover events, want 1: %v", newFirst, len(evs), evs)
		}
		e := evs[0]
		if e["trigger"] != model.TriggerFault || e["object_id"] != p.mine.VMID || e["from"] != "FAULT" || e["to"] != "MASTER" || e["duration_ms"] != 23.5 {
			t.Errorf("new holder first %v: event %v, want trigger fault, from FAULT, 23.5 ms, on %s", newFirst, e, p.mine.VMID)
		}
		if !strings.Contains(e["message"].(string), "took the VIP from VM "+p.theirs.VMID) {
			t.Errorf("message %q does not name the previous holder", e["message"])
		}
	}
}

// A holder that stepped down (keepalived stopped: STOP) is a resignation.
func TestFailoverFromAStoppedKeepalivedIsAResignation(t *testing.T) {
	p := newPair(t)
	t0 := time.Now().UTC().Add(-time.Second)
	p.sendTheirs(master(t0))
	p.sendMine(func(s *agentapi.VMStatus) { s.VRRP = model.VRRPRecord{State: "BACKUP", Since: t0} })
	p.sendTheirs(func(s *agentapi.VMStatus) {
		s.HAState, s.VRRP = "BACKUP", model.VRRPRecord{State: "STOP", Since: t0.Add(time.Second), Left: "STOP", LeftAt: t0.Add(time.Second)}
	})
	p.sendMine(master(t0.Add(time.Second + 4*time.Millisecond)))
	evs := p.failovers()
	if len(evs) != 1 || evs[0]["trigger"] != model.TriggerResigned || evs[0]["duration_ms"] != 4.0 {
		t.Fatalf("events %v, want one resignation of 4 ms", evs)
	}
}

// A holder whose node loses its lease said nothing: the failover is a
// silent node death, recorded once the lease is gone, without a duration
// (nobody recorded the death). One whose node lives on but whose
// keepalived said nothing fell silent alone.
func TestFailoverFromASilentHolderSaysWhetherItsNodeOrItsKeepalivedWentSilent(t *testing.T) {
	t.Run("node", func(t *testing.T) {
		p := newPair(t)
		t0 := time.Now().UTC().Add(-2 * time.Second)
		p.sendTheirs(master(t0))
		p.sendMine(func(s *agentapi.VMStatus) { s.VRRP = model.VRRPRecord{State: "BACKUP", Since: t0} })
		p.sendMine(master(time.Now().UTC()))
		if n := len(p.failovers()); n != 0 {
			t.Fatalf("a silent holder whose node still has its lease was judged at once: %v", p.failovers())
		}
		// The lease running out removes the node's record.
		if _, err := env.st.Commit(testCtx(t), new(store.Txn).DeleteIfExists(model.KindNode, "compute-2")); err != nil {
			t.Fatal(err)
		}
		p.sendMine(func(*agentapi.VMStatus) {})
		evs := p.failovers()
		if len(evs) != 1 || evs[0]["trigger"] != model.TriggerNodeSilent || evs[0]["duration_ms"] != 0.0 || !strings.Contains(evs[0]["message"].(string), "node compute-2 went silent") {
			t.Fatalf("events %v, want one silent node death without a duration", evs)
		}
	})
	t.Run("keepalived", func(t *testing.T) {
		p := newPair(t)
		t0 := time.Now().UTC().Add(-20 * time.Second)
		p.sendTheirs(master(t0))
		p.sendMine(func(s *agentapi.VMStatus) { s.VRRP = model.VRRPRecord{State: "BACKUP", Since: t0} })
		// Its keepalived was killed: the record still says MASTER, the
		// agent says it is not running.
		p.sendTheirs(func(s *agentapi.VMStatus) {
			s.State, s.Error, s.HAState = model.VMError, "keepalived is not running", ""
		})
		// Taken long enough ago that a dead node's lease would be gone.
		p.sendMine(master(time.Now().UTC().Add(-10 * time.Second)))
		evs := p.failovers()
		if len(evs) != 1 || evs[0]["trigger"] != model.TriggerVRRPSilent {
			t.Fatalf("events %v, want one failover from a silent keepalived", evs)
		}
	})
}

// A departure that an earlier failover answered is not the cause of a
// later takeover, and a second VM electing itself while the holder still
// serves with the VIP is no failover: the VIP never moved.
func TestNoFailoverIsRecordedWhileTheHolderStillHoldsTheVIP(t *testing.T) {
	p := newPair(t)
	t0 := time.Now().UTC().Add(-20 * time.Second)
	// theirs lost the VIP once (FAULT at t0) and took it back at t0+3s.
	p.sendTheirs(func(s *agentapi.VMStatus) {
		s.HAState, s.VRRP = "MASTER", model.VRRPRecord{State: "MASTER", Since: t0.Add(3 * time.Second), Left: "FAULT", LeftAt: t0}
	})
	p.sendMine(func(s *agentapi.VMStatus) { s.VRRP = model.VRRPRecord{State: "BACKUP", Since: t0} })
	p.sendMine(master(time.Now().UTC().Add(-10 * time.Second)))
	p.sendMine(func(*agentapi.VMStatus) {})
	if evs := p.failovers(); len(evs) != 0 {
		t.Fatalf("recorded %v while the holder kept the VIP", evs)
	}
}

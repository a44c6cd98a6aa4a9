package agentsrv_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"lbaas/internal/agentapi"
	"lbaas/internal/model"
)

// listEvents reads the event history through the API, newest first.
func listEvents(t *testing.T, query string) []map[string]any {
	t.Helper()
	code, b := do(t, adminToken, "GET", "/v2.0/lbaas-events"+query, nil)
	if code != http.StatusOK {
		t.Fatalf("GET events: %d %s", code, b)
	}
	var out struct {
		Events []map[string]any `json:"events"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out.Events
}

// TestReportsRecordTheVIPTakeoverMemberHealthErrorsAndNewConfigsAsEvents
// sends a VM's reports through the agent API as its state moves: it
// takes the VIP, a member fails its check, the configuration is refused
// and then applied. Each change is one event, newest first, in the load
// balancer's project; a report that changes nothing records nothing.
func TestReportsRecordTheVIPTakeoverMemberHealthErrorsAndNewConfigsAsEvents(t *testing.T) {
	_, si := deployed(t)
	mine := vmOn(t, si, "compute-1")
	var memberID string
	for _, e := range env.st.List(model.KindMember) {
		memberID = e.Obj.Base().ID
	}
	st := vmStatus(si, mine, "BACKUP", model.Stats{})
	st.Members = map[string]model.MemberHealth{memberID: {Status: model.StatusActive, Description: "Layer4 check passed"}}
	send := func(change func(*agentapi.VMStatus)) {
		t.Helper()
		change(&st)
		if err := agent().Report(testCtx(t), agentapi.Report{VMs: []agentapi.VMStatus{st}}); err != nil {
			t.Fatal(err)
		}
	}
	send(func(*agentapi.VMStatus) {})
	base := len(listEvents(t, "?loadbalancer_id="+si.LoadBalancerID))
	send(func(s *agentapi.VMStatus) { s.HAState = "MASTER" })
	send(func(*agentapi.VMStatus) {}) // nothing new
	send(func(s *agentapi.VMStatus) {
		s.Members = map[string]model.MemberHealth{memberID: {Status: model.StatusInactive, Description: "Layer4 connection problem: Connection refused"}}
	})
	send(func(s *agentapi.VMStatus) {
		s.State, s.Error = model.VMError, "HAProxy refused the configuration: [ALERT] parsing"
	})
	send(func(s *agentapi.VMStatus) { s.State, s.Error, s.AppliedHash = model.VMServing, "", "h2" })

	evs := listEvents(t, "?loadbalancer_id="+si.LoadBalancerID)
	if len(evs)-base != 5 {
		t.Fatalf("%d new events, want 5: %v", len(evs)-base, evs)
	}
	want := []struct{ typ, to, text string }{ // newest first
		{model.EventConfigApplied, "", "applied configuration h2"},
		{model.EventVMRecovered, model.VMServing, "serves again"},
		{model.EventVMError, model.VMError, "refused the configuration"},
		{model.EventMember, model.StatusInactive, "10.30.0.10:80 INACTIVE: Layer4 connection problem"},
		{model.EventVRRP, "MASTER", "took over the VIP"},
	}
	for i, w := range want {
		e := evs[i]
		if e["type"] != w.typ || e["to"] != w.to || !strings.Contains(e["message"].(string), w.text) || e["project_id"] != si.TenantID || e["node"] != "compute-1" {
			t.Errorf("event %d: %v, want %s to %q saying %q", i, e, w.typ, w.to, w.text)
		}
	}
	// A new configuration says how long the change took to reach the VM.
	if d, _ := evs[0]["duration_ms"].(float64); d <= 0 {
		t.Errorf("config_applied without its reconcile lag: %v", evs[0])
	}
	if got := listEvents(t, "?loadbalancer_id="+si.LoadBalancerID+"&type=vm_error"); len(got) != 1 {
		t.Errorf("filter on type: %d events", len(got))
	}
	if got := listEvents(t, "?loadbalancer_id="+si.LoadBalancerID+"&limit=2"); len(got) != 2 || got[0]["type"] != model.EventConfigApplied {
		t.Errorf("limit=2 does not give the latest two: %v", got)
	}
}

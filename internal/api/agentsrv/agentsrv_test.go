package agentsrv_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"lbaas/internal/agentapi"
	"lbaas/internal/controller"
	"lbaas/internal/model"
)

func TestHeartbeatRegistersTheNodeWithItsRoles(t *testing.T) {
	reset(t)
	reply, err := agent().Heartbeat(testCtx(t), agentapi.Heartbeat{Version: "1.2.3", Roles: []string{"compute", "network"}})
	if err != nil {
		t.Fatalf("heartbeat: %v", err)
	}
	if reply.Interval != controller.HeartbeatInterval || reply.TTL != controller.NodeTTL {
		t.Fatalf("reply %+v: want interval %v and TTL %v", reply, controller.HeartbeatInterval, controller.NodeTTL)
	}
	e, ok := env.st.Get(model.KindNode, "compute-1")
	if !ok {
		t.Fatal("the node is not registered after its heartbeat")
	}
	n := e.Obj.(*model.Node)
	if n.Version != "1.2.3" || !slices.Equal(n.Roles, []string{"compute", "network"}) {
		t.Fatalf("registered node %+v", n)
	}
	if alive := controller.Alive(env.st, controller.RoleCompute); len(alive) != 1 || alive[0].Name != "compute-1" {
		t.Fatalf("live compute nodes %+v, want compute-1", alive)
	}
}

func TestHeartbeatWithAnUnknownRoleIsRefused(t *testing.T) {
	reset(t)
	code, b := do(t, nodeToken, "POST", "/agent/v1/nodes/compute-1/heartbeat", obj{"version": "1", "roles": []string{"compute", "root"}})
	if code != http.StatusBadRequest {
		t.Fatalf("heartbeat with role root: %d %s", code, b)
	}
	if _, ok := env.st.Get(model.KindNode, "compute-1"); ok {
		t.Fatal("a refused heartbeat registered the node")
	}
}

func TestNodeCredentialCannotActForAnotherNode(t *testing.T) {
	reset(t)
	for _, c := range []struct{ method, path string }{
		{"POST", "/agent/v1/nodes/compute-2/heartbeat"},
		{"GET", "/agent/v1/nodes/compute-2/desired"},
		{"POST", "/agent/v1/nodes/compute-2/report"},
	} {
		code, b := do(t, nodeToken, c.method, c.path, obj{"version": "1", "roles": []string{"compute"}, "vms": []any{}})
		if code != http.StatusForbidden {
			t.Fatalf("%s %s with compute-1's token: %d %s, want 403", c.method, c.path, code, b)
		}
	}
	if _, ok := env.st.Get(model.KindNode, "compute-2"); ok {
		t.Fatal("compute-1's token registered compute-2")
	}
}

func TestNodeCredentialCannotUseTheNeutronAPI(t *testing.T) {
	for _, c := range []struct{ method, path string }{
		{"GET", "/v2.0/networks"},
		{"GET", "/v2.0/lb/pools"},
		{"POST", "/v2.0/lb/pools"},
	} {
		if code, b := do(t, nodeToken, c.method, c.path, nil); code != http.StatusForbidden {
			t.Fatalf("%s %s with a node token: %d %s, want 403", c.method, c.path, code, b)
		}
	}
}

func TestMemberCredentialCannotUseTheAgentAPI(t *testing.T) {
	reset(t)
	if code, b := do(t, memberToken, "POST", "/agent/v1/nodes/compute-1/heartbeat", obj{"version": "1", "roles": []string{"compute"}}); code != http.StatusForbidden {
		t.Fatalf("heartbeat with a member token: %d %s, want 403", code, b)
	}
	if code, b := do(t, memberToken, "GET", "/agent/v1/nodes/compute-1/desired", nil); code != http.StatusForbidden {
		t.Fatalf("desired with a member token: %d %s, want 403", code, b)
	}
	if code, _ := do(t, "", "GET", "/agent/v1/nodes/compute-1/desired", nil); code != http.StatusUnauthorized {
		t.Fatalf("desired without a token: %d, want 401", code)
	}
	if _, ok := env.st.Get(model.KindNode, "compute-1"); ok {
		t.Fatal("a member token registered a node")
	}
}

func TestMalformedNodeNameIsRefused(t *testing.T) {
	if code, b := do(t, adminToken, "POST", "/agent/v1/nodes/bad.name/heartbeat", obj{"version": "1", "roles": []string{"compute"}}); code != http.StatusBadRequest {
		t.Fatalf("heartbeat for node bad.name: %d %s, want 400", code, b)
	}
}

func TestDesiredAnswersAtOnceForAnAgentThatKnowsNothing(t *testing.T) {
	_, si := deployed(t)
	start := time.Now()
	d, hash, err := agent().Desired(testCtx(t), "")
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > time.Second {
		t.Fatalf("desired with an empty known took %v", time.Since(start))
	}
	if hash == "" {
		t.Fatal("no X-Lbaas-Desired-Hash in the answer")
	}
	mine := vmOn(t, si, "compute-1")
	if len(d.Instances) != 1 || d.Instances[0].VMID != mine.ID {
		t.Fatalf("desired instances %+v: want compute-1's VM %s only", d.Instances, mine.ID)
	}
}

func TestDesiredLongPollWaitsWhileNothingRelevantChanges(t *testing.T) {
	deployed(t)
	_, hash, err := agent().Desired(testCtx(t), "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	// A change elsewhere in the store must not end the wait.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		time.Sleep(100 * time.Millisecond)
		// Not do(): it may call t.Fatal, which only the test goroutine may.
		req, _ := http.NewRequest("POST", env.url+"/v2.0/networks", strings.NewReader(`{"network": {"name": "lbt-unrelated"}}`))
		req.Header.Set("X-Auth-Token", adminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("unrelated network create: %v", err)
			return
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Errorf("unrelated network create: %d", resp.StatusCode)
		}
	}()
	start := time.Now()
	d, _, err := agent().Desired(ctx, hash)
	wg.Wait()
	if len(env.st.List(model.KindNetwork)) < 2 {
		t.Fatal("the unrelated change was not made")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("long poll with the current hash returned after %v: %+v, %v; want it still waiting at 400ms", time.Since(start), d, err)
	}
}

func TestDesiredLongPollAnswersSoonAfterARelevantChange(t *testing.T) {
	pool, _ := deployed(t)
	_, hash, err := agent().Desired(testCtx(t), "")
	if err != nil {
		t.Fatal(err)
	}
	type answer struct {
		d    agentapi.Desired
		hash string
		err  error
		at   time.Time
	}
	got := make(chan answer, 1)
	go func() {
		d, h, err := agent().Desired(testCtx(t), hash)
		got <- answer{d, h, err, time.Now()}
	}()
	select {
	case a := <-got:
		t.Fatalf("long poll returned before any change: %+v", a)
	case <-time.After(300 * time.Millisecond):
	}
	changed := time.Now()
	create(t, "/v2.0/lb/members", "member", obj{"pool_id": pool, "address": "10.30.0.11", "protocol_port": 80})
	select {
	case a := <-got:
		if a.err != nil {
			t.Fatal(a.err)
		}
		if a.hash == hash || len(a.d.Instances) != 1 || len(a.d.Instances[0].Pools) != 1 || len(a.d.Instances[0].Pools[0].Members) != 2 {
			t.Fatalf("answer after adding a member: hash %s (was %s), instances %+v", a.hash, hash, a.d.Instances)
		}
		if d := a.at.Sub(changed); d > 2*time.Second {
			t.Fatalf("long poll answered %v after the change", d)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("long poll did not answer within 3s of a member being added")
	}
}

func vmStatus(si *model.ServiceInstance, vm model.SIVM, ha string, stats model.Stats) agentapi.VMStatus {
	return agentapi.VMStatus{VMID: vm.ID, SIID: si.ID, LoadBalancerID: si.LoadBalancerID, State: model.VMServing, AppliedHash: "h1", HAState: ha, Stats: stats}
}

func TestReportForAVMTheNodeDoesNotRunIsIgnored(t *testing.T) {
	_, si := deployed(t)
	mine, theirs := vmOn(t, si, "compute-1"), vmOn(t, si, "compute-2")
	ghost := model.SIVM{ID: uuid.NewString(), Node: "compute-1"}
	err := agent().Report(testCtx(t), agentapi.Report{VMs: []agentapi.VMStatus{
		vmStatus(si, theirs, "MASTER", model.Stats{}),
		vmStatus(si, ghost, "MASTER", model.Stats{}),
		{VMID: uuid.NewString(), SIID: uuid.NewString(), State: model.VMServing},
		vmStatus(si, mine, "BACKUP", model.Stats{}),
	}})
	if err != nil {
		t.Fatalf("report: %v", err)
	}
	if _, ok := env.st.Get(model.KindVMReport, theirs.ID); ok {
		t.Fatal("compute-1 wrote the report of compute-2's VM")
	}
	if _, ok := env.st.Get(model.KindVMReport, ghost.ID); ok {
		t.Fatal("a report of a VM no instance has was stored")
	}
	e, ok := env.st.Get(model.KindVMReport, mine.ID)
	if !ok {
		t.Fatal("the report of compute-1's own VM was dropped")
	}
	if r := e.Obj.(*model.VMReport); r.Node != "compute-1" || r.SIID != si.ID || r.HAState != "BACKUP" || r.State != model.VMServing {
		t.Fatalf("stored report %+v", r)
	}
	if n := len(env.st.List(model.KindVMReport)); n != 1 {
		t.Fatalf("%d reports stored, want 1", n)
	}
}

func TestReportWithOnlyNewCountersIsWrittenAtMostEveryTwoSeconds(t *testing.T) {
	_, si := deployed(t)
	mine := vmOn(t, si, "compute-1")
	send := func(ha string, bytesIn int64) {
		t.Helper()
		if err := agent().Report(testCtx(t), agentapi.Report{VMs: []agentapi.VMStatus{vmStatus(si, mine, ha, model.Stats{BytesIn: bytesIn})}}); err != nil {
			t.Fatal(err)
		}
	}
	stored := func() (*model.VMReport, int64) {
		t.Helper()
		e, ok := env.st.Get(model.KindVMReport, mine.ID)
		if !ok {
			t.Fatal("no report stored")
		}
		return e.Obj.(*model.VMReport), e.Rev
	}
	send("BACKUP", 1)
	_, rev1 := stored()
	send("BACKUP", 2)
	if r, rev := stored(); rev != rev1 || r.Stats.BytesIn != 1 {
		t.Fatalf("counters alone were written at once (bytes_in %d, rev %d -> %d)", r.Stats.BytesIn, rev1, rev)
	}
	// A change of health is written at once, counters with it.
	send("MASTER", 3)
	r, rev2 := stored()
	if rev2 == rev1 || r.HAState != "MASTER" || r.Stats.BytesIn != 3 {
		t.Fatalf("a HA state change was not written at once: %+v", r)
	}
	written := time.Now()
	send("MASTER", 4)
	if _, rev := stored(); rev != rev2 {
		t.Fatal("counters alone were written within 2s of the previous write")
	}
	time.Sleep(2*time.Second + 100*time.Millisecond - time.Since(written))
	send("MASTER", 5)
	if r, rev := stored(); rev == rev2 || r.Stats.BytesIn != 5 {
		t.Fatalf("new counters were not written 2s after the previous write: bytes_in %d", r.Stats.BytesIn)
	}
}

func TestReportOfFloatingIPsRecordsOnlyKnownOnesAndOnlyChanges(t *testing.T) {
	reset(t)
	ext := create(t, "/v2.0/networks", "network", obj{"name": "Public", "router:external": true})
	create(t, "/v2.0/subnets", "subnet", obj{"network_id": ext["id"], "ip_version": 4, "cidr": "172.24.4.0/24"})
	fip := create(t, "/v2.0/floatingips", "floatingip", obj{"floating_network_id": ext["id"]})
	id := fip["id"].(string)
	unknown := uuid.NewString()
	if err := agent().Report(testCtx(t), agentapi.Report{FloatingIPs: map[string]string{id: "ACTIVE", unknown: "ACTIVE"}}); err != nil {
		t.Fatal(err)
	}
	e, ok := env.st.Get(model.KindObserved, id)
	if !ok || e.Obj.(*model.Observed).Status != "ACTIVE" {
		t.Fatalf("observed floating IP %+v, %v: want ACTIVE", e.Obj, ok)
	}
	if _, ok := env.st.Get(model.KindObserved, unknown); ok {
		t.Fatal("an observation of an unknown floating IP was stored")
	}
	if err := agent().Report(testCtx(t), agentapi.Report{FloatingIPs: map[string]string{id: "ACTIVE"}}); err != nil {
		t.Fatal(err)
	}
	if again, _ := env.st.Get(model.KindObserved, id); again.Rev != e.Rev {
		t.Fatal("an unchanged floating IP status was written again")
	}
}

func TestMalformedReportIsRefused(t *testing.T) {
	if code, b := do(t, nodeToken, "POST", "/agent/v1/nodes/compute-1/report", "not a report"); code != http.StatusBadRequest {
		t.Fatalf("report with a string body: %d %s, want 400", code, b)
	}
}

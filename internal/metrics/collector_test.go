package metrics

import (
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	pmodel "github.com/prometheus/common/model"

	"lbaas/internal/model"
	"lbaas/internal/store"
	"lbaas/internal/store/storetest"
)

var env struct{ st *store.Store }

func TestMain(m *testing.M) {
	os.Exit(storetest.Main(m, "lbt-mx", func(x *storetest.Env) { env.st = x.Store }))
}

// families scrapes h and parses the answer with the Prometheus client's
// own text parser.
func families(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	parser := expfmt.NewTextParser(pmodel.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("not Prometheus text format: %v", err)
	}
	return fams
}

// value is the sample of family name whose labels include want (-1 when
// there is none).
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		}
	}
	return -1
}

func commit(t *testing.T, txn *store.Txn) {
	t.Helper()
	rev, err := env.st.Commit(storetest.Ctx(t), txn)
	if err != nil {
		t.Fatal(err)
	}
	// The collector reads the store's cache.
	if err := env.st.WaitRev(storetest.Ctx(t), rev); err != nil {
		t.Fatal(err)
	}
}

// TestScrapeShowsEachObjectsTrafficAndKeepsItAcrossAFailover builds a
// load balancer in the real store with two VMs' reports, scrapes, then
// replaces the active VM (its report gone, a new VM's report with small
// counters) and scrapes again: every counter of every object keeps
// growing, and the VM series follow the new pair.
func TestScrapeShowsEachObjectsTrafficAndKeepsItAcrossAFailover(t *testing.T) {
	storetest.Reset(t, env.st)
	now := time.Now().UTC()
	meta := func(id string) model.Meta {
		return model.Meta{ID: id, TenantID: "proj-a", CreatedAt: now, UpdatedAt: now}
	}
	lb := &model.LoadBalancer{Meta: meta("lb1"), Name: "web", AdminStateUp: true, VIPAddress: "20.1.1.5"}
	l := &model.Listener{Meta: meta("ls1"), LoadBalancerID: "lb1", Name: "http", AdminStateUp: true, Protocol: "HTTP", ProtocolPort: 80}
	pool := &model.Pool{Meta: meta("pl1"), LoadBalancerID: "lb1", Name: "app", AdminStateUp: true, Protocol: "HTTP", LBMethod: "ROUND_ROBIN"}
	mem := &model.Member{Meta: meta("mb1"), PoolID: "pl1", Address: "10.1.1.2", ProtocolPort: 80, Weight: 3, AdminStateUp: true}
	si := &model.ServiceInstance{Meta: meta("lb1"), LoadBalancerID: "lb1", VMs: []model.SIVM{{ID: "vm-a", Node: "compute-1", Role: "MASTER"}, {ID: "vm-b", Node: "compute-2", Role: "BACKUP"}}}
	cert := &model.Certificate{Meta: meta("c1"), Name: "site", NotAfter: now.Add(10 * 24 * time.Hour)}
	reload := now.Add(-time.Minute)
	report := func(vm, node, ha string, req, bytes int64) *model.VMReport {
		s := model.Stats{Requests: req, BytesIn: bytes, TotalConnections: req, Responses2xx: req}
		return &model.VMReport{Meta: meta(vm), Node: node, SIID: "lb1", LoadBalancerID: "lb1", State: model.VMServing, HAState: ha, LastReload: reload,
			Members: map[string]model.MemberHealth{"mb1": {Status: model.StatusActive}}, Stats: s,
			Listeners: map[string]model.Stats{"ls1": s}, Pools: map[string]model.Stats{"pl1": s}, MemberStats: map[string]model.Stats{"mb1": s}, ReportedAt: now}
	}
	commit(t, new(store.Txn).Put(model.KindLoadBalancer, lb).Put(model.KindListener, l).Put(model.KindPool, pool).Put(model.KindMember, mem).
		Put(model.KindServiceInstance, si).Put(model.KindCertificate, cert).
		Put(model.KindVMReport, report("vm-a", "compute-1", "MASTER", 120, 6000)).Put(model.KindVMReport, report("vm-b", "compute-2", "BACKUP", 0, 0)))

	mx := New(env.st)
	h := mx.Handler()
	f1 := families(t, h)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"lbaas_loadbalancer_requests_total", map[string]string{"loadbalancer_id": "lb1", "project_id": "proj-a"}, 120},
		{"lbaas_listener_requests_total", map[string]string{"listener_id": "ls1"}, 120},
		{"lbaas_listener_responses_total", map[string]string{"listener_id": "ls1", "code_class": "2xx"}, 120},
		{"lbaas_pool_bytes_in_total", map[string]string{"pool_id": "pl1"}, 6000},
		{"lbaas_member_connections_total", map[string]string{"member_id": "mb1", "pool_id": "pl1"}, 120},
		{"lbaas_member_up", map[string]string{"member_id": "mb1"}, 1},
		{"lbaas_member_weight", map[string]string{"member_id": "mb1"}, 3},
		{"lbaas_loadbalancer_info", map[string]string{"loadbalancer_id": "lb1", "name": "web", "vip_address": "20.1.1.5"}, 1},
		{"lbaas_amphora_vrrp_master", map[string]string{"amphora_id": "vm-a", "node": "compute-1"}, 1},
		{"lbaas_amphora_vrrp_master", map[string]string{"amphora_id": "vm-b", "node": "compute-2"}, 0},
		{"lbaas_amphora_haproxy_up", map[string]string{"amphora_id": "vm-a"}, 1},
	} {
		if got := value(f1, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if d := value(f1, "lbaas_certificate_days_left", map[string]string{"certificate_id": "c1"}); d < 9.9 || d > 10 {
		t.Errorf("certificate days left %v, want 10", d)
	}

	// The failover: vm-a is gone, vm-c is the new standby, vm-b holds the
	// VIP and has served 7 requests since.
	si.VMs = []model.SIVM{{ID: "vm-b", Node: "compute-2", Role: "MASTER"}, {ID: "vm-c", Node: "compute-3", Role: "BACKUP"}}
	takeover := model.NewEvent(now, "proj-a", model.EventVRRP, model.SeverityWarning, "vm-b took over the VIP")
	applied := model.NewEvent(now, "proj-a", model.EventConfigApplied, model.SeverityInfo, "vm-c applied configuration x")
	applied.DurationMs = 420
	failover := model.NewEvent(now, "proj-a", model.EventFailover, model.SeverityWarning, "vm-b took the VIP from vm-a")
	failover.Trigger, failover.DurationMs = model.TriggerFault, 31
	commit(t, new(store.Txn).Put(model.KindEvent, takeover).Put(model.KindEvent, applied).Put(model.KindEvent, failover).Put(model.KindServiceInstance, si).DeleteIfExists(model.KindVMReport, "vm-a").
		Put(model.KindVMReport, report("vm-b", "compute-2", "MASTER", 7, 350)).Put(model.KindVMReport, report("vm-c", "compute-3", "BACKUP", 0, 0)))
	f2 := families(t, h)
	for _, name := range []string{"lbaas_loadbalancer_requests_total", "lbaas_listener_requests_total", "lbaas_pool_requests_total", "lbaas_member_requests_total",
		"lbaas_listener_bytes_in_total", "lbaas_member_connections_total"} {
		before, after := f1[name], f2[name]
		if before == nil || after == nil || len(after.Metric) != 1 {
			t.Fatalf("%s missing: %v %v", name, before, after)
		}
		if b, a := before.Metric[0].Counter.GetValue(), after.Metric[0].Counter.GetValue(); a < b {
			t.Errorf("%s went back from %v to %v across the failover", name, b, a)
		}
	}
	if got := value(f2, "lbaas_listener_requests_total", map[string]string{"listener_id": "ls1"}); got != 127 {
		t.Errorf("listener requests after the failover %v, want 120 + 7", got)
	}
	if got := value(f2, "lbaas_events_total", map[string]string{"type": model.EventVRRP, "severity": model.SeverityWarning}); got != 1 {
		t.Errorf("events counted %v, want the takeover", got)
	}
	if got := value(f2, "lbaas_failovers_total", map[string]string{"trigger": model.TriggerFault}); got != 1 {
		t.Errorf("failovers by trigger %v, want the one fault", got)
	}
	if h := f2["lbaas_failover_duration_seconds"]; h == nil || h.Metric[0].Histogram.GetSampleCount() != 1 || h.Metric[0].Histogram.GetSampleSum() != 0.031 {
		t.Errorf("failover duration from the failover event: %v", h)
	}
	if h := f2["lbaas_reconcile_lag_seconds"]; h == nil || h.Metric[0].Histogram.GetSampleCount() != 1 || h.Metric[0].Histogram.GetSampleSum() != 0.42 {
		t.Errorf("reconcile lag from the config_applied event: %v", h)
	}
	if got := value(f2, "lbaas_amphora_last_reload_timestamp_seconds", map[string]string{"amphora_id": "vm-b"}); got != float64(reload.UnixNano())/1e9 {
		t.Errorf("last reload %v, want %v", got, float64(reload.UnixNano())/1e9)
	}
	if h := f2["lbaas_store_commit_duration_seconds"]; h == nil || h.Metric[0].Histogram.GetSampleCount() == 0 {
		t.Errorf("the store's commits are not timed: %v", h)
	}
	if got := value(f2, "lbaas_amphora_vrrp_master", map[string]string{"amphora_id": "vm-a"}); got != -1 {
		t.Errorf("the dead VM is still a series: %v", got)
	}
	if got := value(f2, "lbaas_amphora_vrrp_master", map[string]string{"amphora_id": "vm-b"}); got != 1 {
		t.Errorf("vm-b holds the VIP: %v", got)
	}
}

// TestAPIRequestsAreCountedByRouteMethodAndCode: the wrapped handler's
// answers show up with the route template, never the id.
func TestAPIRequestsAreCountedByRouteMethodAndCode(t *testing.T) {
	mx := New(env.st)
	api := mx.Instrument("octavia", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "DELETE" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		_, _ = w.Write([]byte("{}"))
	}))
	for range 3 {
		api.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/v2/lbaas/loadbalancers/0b1c2d3e-aaaa-4bbb-8ccc-123456789abc", nil))
	}
	api.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("DELETE", "/v2/lbaas/loadbalancers/77", nil))
	fams := families(t, mx.Handler())
	route := "/v2/lbaas/loadbalancers/{id}"
	if got := value(fams, "lbaas_api_requests_total", map[string]string{"api": "octavia", "route": route, "method": "GET", "code": "200"}); got != 3 {
		t.Errorf("GET count %v, want 3", got)
	}
	if got := value(fams, "lbaas_api_requests_total", map[string]string{"route": route, "method": "DELETE", "code": "404"}); got != 1 {
		t.Errorf("DELETE 404 count %v, want 1", got)
	}
	h := fams["lbaas_api_request_duration_seconds"]
	if h == nil || len(h.Metric) != 2 || h.Metric[0].Histogram.GetSampleCount() == 0 {
		t.Errorf("latency histogram: %v", h)
	}
}

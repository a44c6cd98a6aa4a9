package e2e

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	pmodel "github.com/prometheus/common/model"

	"lbaas/internal/up"
)

// scrape reads the server's /metrics (on loopback) and parses it with
// the Prometheus client's text parser.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	parser := expfmt.NewTextParser(pmodel.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics is not Prometheus' text format: %v", err)
	}
	return fams
}

// sample returns the value of the family's sample whose labels include
// want, and whether there is one.
func sample(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		for k, v := range want {
			found := false
			for _, l := range m.Label {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		if m.Counter != nil {
			return m.Counter.GetValue(), true
		}
		return m.Gauge.GetValue(), true
	}
	return 0, false
}

// counters returns every counter sample, keyed by family and labels.
func counters(fams map[string]*dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	for name, f := range fams {
		if f.GetType() != dto.MetricType_COUNTER || !strings.HasPrefix(name, "lbaas_") {
			continue
		}
		for _, m := range f.Metric {
			var ls []string
			for _, l := range m.Label {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			sort.Strings(ls)
			out[name+"{"+strings.Join(ls, ",")+"}"] = m.Counter.GetValue()
		}
	}
	return out
}

// TestMetricsCountTheRequestsSentAndNeverGoBackwardsAcrossAFailover sends
// a known number of requests through a floating IP and reads them back
// from /metrics (listener, load balancer, pool and members), kills the
// active HAProxy (the standby takes the VIP, the agent restarts the dead
// one with its counters at zero), sends more, and checks that every
// lbaas counter of every scrape in between never went backwards.
func TestMetricsCountTheRequestsSentAndNeverGoBackwardsAcrossAFailover(t *testing.T) {
	needKeepalived(t)
	// Beside the client workflows (see workflowsInParallel): it asserts
	// counts and their order, never a time.
	t.Parallel()
	tp := startTopo(t, func(o *up.Options) { o.MetricsListen = freeAddr(t) })
	url := tp.c.MetricsURL
	pool, vip, fip := tp.lb("mx", map[string]any{}, map[string]any{})
	poolID, lbID := pool["id"].(string), vip["id"].(string)
	lis := map[string]string{"listener_id": lbID}

	// Counters only move when an agent reports; wait until the reports
	// of the setup's own probes have settled.
	var prev map[string]float64
	seen := 0
	check := func(fams map[string]*dto.MetricFamily) {
		t.Helper()
		cur := counters(fams)
		for k, v := range prev {
			if now, ok := cur[k]; ok && now < v {
				t.Errorf("%s went back from %v to %v", k, v, now)
			}
		}
		prev = cur
		seen++
	}
	requests := func() float64 {
		fams := scrape(t, url)
		check(fams)
		v, ok := sample(fams, "lbaas_listener_requests_total", lis)
		if !ok {
			t.Fatalf("no lbaas_listener_requests_total for listener %s", lbID)
		}
		return v
	}
	stable := func(within time.Duration) float64 {
		t.Helper()
		deadline := time.Now().Add(within)
		last, same := requests(), 0
		for time.Now().Before(deadline) && same < 4 {
			time.Sleep(time.Second)
			if v := requests(); v == last {
				same++
			} else {
				last, same = v, 0
			}
		}
		return last
	}
	base := stable(30 * time.Second)
	baseFams := scrape(t, url)
	base2xx, _ := sample(baseFams, "lbaas_pool_responses_total", map[string]string{"pool_id": poolID, "code_class": "2xx"})

	send := func(n int) {
		t.Helper()
		c := httpClient(tp.client, 5*time.Second)
		for i := range n {
			resp, err := c.Get("http://" + fip + "/")
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("request %d: %s", i, resp.Status)
			}
		}
	}
	waitFor := func(want float64, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		got := requests()
		for got < want && time.Now().Before(deadline) {
			time.Sleep(500 * time.Millisecond)
			got = requests()
		}
		if got != want {
			t.Fatalf("lbaas_listener_requests_total %v, want %v", got, want)
		}
	}

	const n = 150
	send(n)
	waitFor(base+n, 30*time.Second)
	fams := scrape(t, url)
	check(fams)
	if v, _ := sample(fams, "lbaas_pool_responses_total", map[string]string{"pool_id": poolID, "code_class": "2xx"}); v-base2xx != n {
		t.Errorf("pool 2xx responses grew by %v, want %d", v-base2xx, n)
	}
	var members float64
	for _, b := range tp.backends {
		v, ok := sample(fams, "lbaas_member_info", map[string]string{"pool_id": poolID, "address": b.Addr.String()})
		if !ok || v != 1 {
			t.Fatalf("no lbaas_member_info for %s", b.Addr)
		}
	}
	for _, m := range fams["lbaas_member_responses_total"].GetMetric() {
		class := ""
		for _, l := range m.Label {
			if l.GetName() == "code_class" {
				class = l.GetValue()
			}
		}
		if class == "2xx" {
			members += m.Counter.GetValue()
		}
	}
	if members < n {
		t.Errorf("members answered %v requests with 2xx in all, want at least %d", members, n)
	}
	if lb, _ := sample(fams, "lbaas_loadbalancer_requests_total", map[string]string{"loadbalancer_id": lbID}); lb != base+n {
		t.Errorf("load balancer requests %v, want %v (its one listener's)", lb, base+n)
	}
	if v, ok := sample(fams, "lbaas_api_requests_total", map[string]string{"api": "neutron", "route": "/v2.0/lb/pools", "method": "POST", "code": "201"}); !ok || v < 1 {
		t.Errorf("the pool's create is not counted: %v %v", v, ok)
	}

	// The VMs' last reload, and the reconcile lag of the configurations
	// they applied.
	for _, vm := range fams["lbaas_amphora_info"].GetMetric() {
		var id string
		for _, l := range vm.Label {
			if l.GetName() == "amphora_id" {
				id = l.GetValue()
			}
		}
		if v, ok := sample(fams, "lbaas_amphora_last_reload_timestamp_seconds", map[string]string{"amphora_id": id}); !ok || time.Since(time.Unix(int64(v), 0)) > 10*time.Minute {
			t.Errorf("VM %s: last reload %v %v", id, v, ok)
		}
	}
	if h := fams["lbaas_reconcile_lag_seconds"]; h == nil || h.Metric[0].Histogram.GetSampleCount() < 2 {
		t.Errorf("reconcile lag: %v", h)
	}

	before := tp.active(poolID, vip["address"].(string))
	if v, ok := sample(fams, "lbaas_amphora_vrrp_master", map[string]string{"loadbalancer_id": lbID, "node": before.node}); !ok || v != 1 {
		t.Errorf("lbaas_amphora_vrrp_master of the active on %s: %v %v", before.node, v, ok)
	}
	killHAProxy(t, before)
	p := tp.probe("http://"+fip+"/", 20*time.Millisecond, 30*time.Second)
	p.waitOK(t, 20, 15*time.Second)
	p.stop()
	// Wait for the dead HAProxy to be back (its counters at zero) before
	// the second batch, so that the sums cross a reset.
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) && !pidAlive(masterOf(before)) {
		time.Sleep(100 * time.Millisecond)
	}
	after := stable(30 * time.Second)
	// The VIP's holder is in the event history, through our CLI: a
	// takeover, or (when the agent restarted HAProxy before keepalived
	// counted it dead, and the VIP stayed) the first holding.
	now := tp.active(poolID, vip["address"].(string))
	deadline = time.Now().Add(15 * time.Second)
	var history string
	for time.Now().Before(deadline) {
		history = runCLI(t, tp, "event-list", "-f", "value", "-c", "type", "-c", "to", "-c", "node", "--", "--loadbalancer_id", lbID, "--type", "vrrp_transition")
		if strings.Contains(history, "vrrp_transition MASTER "+now.node) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if !strings.Contains(history, "vrrp_transition MASTER "+now.node) {
		t.Errorf("no event of %s taking the VIP in:\n%s", now.node, history)
	}
	const m = 50
	send(m)
	waitFor(after+m, 30*time.Second)
	if seen < 5 {
		t.Fatalf("only %d scrapes compared", seen)
	}
	t.Log(fmt.Sprintf("%d scrapes, listener requests %v → %v → %v; the probes during the failover: %v", seen, base, after, after+m, after-base-n))
}

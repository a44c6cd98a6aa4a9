package e2e

import (
	"bytes"
	"net/http"
	"testing"
	"time"
)

func TestMemberAddressCannotInjectConfig(t *testing.T) {
	tp := startTopo(t)
	p, v, _ := tp.lb("inject", map[string]any{}, map[string]any{})
	poolID, vipID := p["id"].(string), v["id"].(string)
	ins := tp.instances(poolID)
	if len(ins) != 2 {
		t.Fatalf("want 2 instances, found %d", len(ins))
	}
	before := map[string][]byte{}
	for _, in := range ins {
		before[in.node] = in.config(t)
	}
	const evil = "\n    server evil 6.6.6.6:80"
	attempts := []struct {
		method, path string
		body         any
	}{
		{"POST", "/v2.0/lb/members", map[string]any{"member": map[string]any{"pool_id": poolID, "address": "10.1.1.9" + evil, "protocol_port": 80}}},
		{"POST", "/v2.0/lb/members", map[string]any{"member": map[string]any{"pool_id": poolID, "address": "10.1.1.9 check", "protocol_port": 80}}},
		{"POST", "/v2.0/lb/members", map[string]any{"member": map[string]any{"pool_id": poolID, "address": "10.1.1.9#evil", "protocol_port": 80}}},
		{"POST", "/v2.0/lb/pools", map[string]any{"pool": map[string]any{"name": "p" + evil, "subnet_id": tp.poolSub, "protocol": "HTTP", "lb_method": "ROUND_ROBIN"}}},
		{"PUT", "/v2.0/lb/pools/" + poolID, map[string]any{"pool": map[string]any{"name": "p" + evil}}},
		{"PUT", "/v2.0/lb/vips/" + vipID, map[string]any{"vip": map[string]any{"session_persistence": map[string]any{"type": "APP_COOKIE", "cookie_name": "c" + evil}}}},
		{"POST", "/v2.0/lb/health_monitors", map[string]any{"health_monitor": map[string]any{"type": "HTTP", "delay": 1, "timeout": 1, "max_retries": 1, "url_path": "/" + evil}}},
		{"POST", "/v2.0/lb/health_monitors", map[string]any{"health_monitor": map[string]any{"type": "HTTP", "delay": 1, "timeout": 1, "max_retries": 1, "http_method": "GET" + evil}}},
	}
	for _, a := range attempts {
		if code := tp.code(a.method, a.path, a.body); code != http.StatusBadRequest {
			t.Errorf("%s %s %v: got %d, want 400", a.method, a.path, a.body, code)
		}
	}
	// Anything that slipped through would be applied within this time.
	time.Sleep(2 * time.Second)
	tp.waitStatus("/v2.0/lb/pools/"+poolID, "pool", "ACTIVE", 10*time.Second)
	for _, in := range tp.instances(poolID) {
		cfg := in.config(t)
		if bytes.Contains(cfg, []byte("evil")) {
			t.Errorf("%s: haproxy.cfg holds injected text:\n%s", in.node, cfg)
		}
		if !bytes.Equal(cfg, before[in.node]) {
			t.Errorf("%s: haproxy.cfg changed after rejected requests:\nbefore:\n%s\nafter:\n%s", in.node, before[in.node], cfg)
		}
	}
}

func TestPoolStatsSumLiveCounters(t *testing.T) {
	tp := startTopo(t)
	p, _, fip := tp.lb("stats", map[string]any{}, map[string]any{})
	poolID := p["id"].(string)
	start := tp.poolStats(poolID)
	const n = 12
	for i := 0; i < n; i++ {
		if _, err := tp.get("http://" + fip + "/"); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	deadline := time.Now().Add(8 * time.Second)
	var got poolStats
	for time.Now().Before(deadline) {
		got = tp.poolStats(poolID)
		if got.TotalConnections-start.TotalConnections >= n && got.BytesIn > start.BytesIn && got.BytesOut > start.BytesOut {
			t.Logf("stats after %d requests: %+v (before: %+v)", n, got, start)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("after %d requests the pool stats show %+v (before: %+v); want total_connections to grow by >= %d and bytes to grow", n, got, start, n)
}

// poolStats is the answer of GET /v2.0/lb/pools/{id}/stats.
type poolStats struct {
	BytesIn           int64 `json:"bytes_in"`
	BytesOut          int64 `json:"bytes_out"`
	ActiveConnections int64 `json:"active_connections"`
	TotalConnections  int64 `json:"total_connections"`
}

func (tp *topo) poolStats(poolID string) poolStats {
	tp.t.Helper()
	path := "/v2.0/lb/pools/" + poolID + "/stats"
	var out struct {
		Stats *poolStats `json:"stats"`
	}
	if err := tp.api.Call("GET", path, nil, &out); err != nil {
		tp.t.Fatal(err)
	}
	if out.Stats == nil {
		tp.t.Fatalf("GET %s has no stats object", path)
	}
	return *out.Stats
}

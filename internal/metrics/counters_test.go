package metrics

import (
	"testing"

	"lbaas/internal/model"
)

func scrape(m *monotonic, series string, vms map[string]model.Stats) model.Stats {
	p := m.begin()
	p.touch(series)
	for vm, s := range vms {
		p.vm(vm, 0)
		p.observe(series, vm, s)
	}
	t := p.total(series)
	p.end(func(string) bool { return true })
	return t
}

// TestCountersNeverGoBackwardsWhenAnHAProxyRestartsOrAVMIsReplaced walks
// one listener through what a failover does to its counters: the active
// VM's HAProxy restarts (its counters start again from zero), then the
// VM dies (its report disappears) and a new one appears with small
// counters. The sum only grows, and the gauges are the live VMs' alone.
func TestCountersNeverGoBackwardsWhenAnHAProxyRestartsOrAVMIsReplaced(t *testing.T) {
	m := newMonotonic()
	steps := []struct {
		name           string
		vms            map[string]model.Stats
		requests, bIn  int64
		active, queued int64
	}{
		{"two VMs", map[string]model.Stats{"a": {Requests: 100, BytesIn: 1000, ActiveConnections: 3}, "b": {Requests: 0, BytesIn: 10}}, 100, 1010, 3, 0},
		{"a counts on", map[string]model.Stats{"a": {Requests: 150, BytesIn: 1500, ActiveConnections: 2, Queued: 1}, "b": {BytesIn: 10}}, 150, 1510, 2, 1},
		{"a's HAProxy restarted", map[string]model.Stats{"a": {Requests: 5, BytesIn: 50}, "b": {BytesIn: 10}}, 155, 1560, 0, 0},
		{"a died, b serves", map[string]model.Stats{"b": {Requests: 20, BytesIn: 210, ActiveConnections: 4}}, 175, 1760, 4, 0},
		{"c replaces a", map[string]model.Stats{"b": {Requests: 30, BytesIn: 310}, "c": {Requests: 1, BytesIn: 1}}, 186, 1861, 0, 0},
	}
	var last model.Stats
	for _, s := range steps {
		got := scrape(m, "listener/x", s.vms)
		if got.Requests != s.requests || got.BytesIn != s.bIn || got.ActiveConnections != s.active || got.Queued != s.queued {
			t.Errorf("%s: requests %d bytes in %d active %d queued %d, want %d %d %d %d", s.name, got.Requests, got.BytesIn, got.ActiveConnections, got.Queued,
				s.requests, s.bIn, s.active, s.queued)
		}
		for _, f := range counterFields {
			if *f.get(&got) < *f.get(&last) {
				t.Errorf("%s: %s%s went back from %d to %d", s.name, f.name, f.class, *f.get(&last), *f.get(&got))
			}
		}
		last = got
	}
}

// TestAReportInErrorOrWithoutTheSeriesCarriesNothing: a VM that still
// exists but says nothing about a series this time (its report in error,
// a listener not yet in its configuration) keeps its last count where it
// is; counting it as gone would count it twice once it reports again.
func TestAReportInErrorOrWithoutTheSeriesCarriesNothing(t *testing.T) {
	m := newMonotonic()
	scrape(m, "listener/l", map[string]model.Stats{"a": {Requests: 100}})
	p := m.begin()
	p.touch("listener/l")
	p.vm("a", 0) // exists, observed nothing
	if got := p.total("listener/l"); got.Requests != 100 {
		t.Errorf("while a says nothing: %d, want 100", got.Requests)
	}
	p.end(func(string) bool { return true })
	if got := scrape(m, "listener/l", map[string]model.Stats{"a": {Requests: 130}}); got.Requests != 130 {
		t.Errorf("a reports again: %d, want 130 (not 230)", got.Requests)
	}
}

// TestDeletedSeriesAreForgotten: once an object is gone, its carried
// counts go too (a new object never inherits them, memory stays bounded).
func TestDeletedSeriesAreForgotten(t *testing.T) {
	m := newMonotonic()
	scrape(m, "pool/p", map[string]model.Stats{"a": {Requests: 7}})
	p := m.begin()
	p.end(func(string) bool { return false })
	if len(m.last) != 0 || len(m.carried) != 0 {
		t.Fatalf("state kept for a deleted series: %v %v", m.last, m.carried)
	}
	if got := scrape(m, "pool/p", map[string]model.Stats{"b": {Requests: 2}}); got.Requests != 2 {
		t.Errorf("a new series with the old name starts at %d, want 2", got.Requests)
	}
}

func TestRouteReplacesIdsAndKeepsTheAPIsWords(t *testing.T) {
	for path, want := range map[string]string{
		"/v2/lbaas/loadbalancers/6f3c2a9e-1b7d-4c55-9a51-0c1d2e3f4a5b/stats": "/v2/lbaas/loadbalancers/{id}/stats",
		"/v2.0/lb/pools": "/v2.0/lb/pools",
		"/v2/lbaas/l7policies/abc123/rules/def456":        "/v2/lbaas/l7policies/{id}/rules/{id}",
		"/v2.0/lbaas-certificates":                        "/v2.0/lbaas-certificates",
		"/agent/v1/nodes/compute-1/report":                "/agent/v1/nodes/{id}/report",
		"/v3/auth/tokens":                                 "/v3/auth/tokens",
		"/":                                               "/",
		"/a/b/c/d/e/f/g/h/i/j/k":                          "/a/b/c/d/e/f/g/h/...",
		"/v2/lbaas/loadbalancers/My%20LB":                 "/v2/lbaas/loadbalancers/{id}",
		"/v2/lbaas/loadbalancers/UPPERCASE-NAME-IS-AN-ID": "/v2/lbaas/loadbalancers/{id}",
	} {
		if got := Route(path); got != want {
			t.Errorf("Route(%q) = %q, want %q", path, got, want)
		}
	}
}

// TestMadeUpPathsCannotGrowTheRoutesWithoutBound: past maxRoutes distinct
// routes, new ones are counted as "other".
func TestMadeUpPathsCannotGrowTheRoutesWithoutBound(t *testing.T) {
	h := &httpMetrics{routes: map[string]bool{}}
	var last string
	for i := range maxRoutes + 10 {
		word := ""
		for n := i; ; n /= 26 {
			word += string(rune('a' + n%26))
			if n < 26 {
				break
			}
		}
		last = h.route("/x/" + word)
	}
	if last != "other" || len(h.routes) != maxRoutes {
		t.Errorf("after %d made-up routes: last %q, %d kept", maxRoutes+10, last, len(h.routes))
	}
	if h.route("/x/a") != "/x/a" {
		t.Error("a route seen before the bound is no longer its own")
	}
}

// A reload's new worker starts from zero and may count past its
// predecessor before the next report: by the counters alone that looks
// like growth, and the old worker's counts would be lost. The worker's
// pid with the counters says it is a new one, and its predecessor's
// counts are carried exactly.
func TestANewHAProxyWorkerIsCarriedExactlyEvenWhenItCountedPastTheOldOne(t *testing.T) {
	m := newMonotonic()
	observe := func(epoch int, requests int64) int64 {
		p := m.begin()
		p.touch("listener/l")
		p.vm("a", epoch)
		p.observe("listener/l", "a", model.Stats{Requests: requests})
		total := p.total("listener/l")
		p.end(func(string) bool { return true })
		return total.Requests
	}
	steps := []struct {
		epoch     int
		requests  int64
		wantTotal int64
	}{
		{100, 40, 40},
		{100, 50, 50},
		{101, 70, 120}, // a new worker that served 70 since: 50 + 70
		{101, 75, 125}, // it counts on
		{101, 75, 125}, // the same report scraped again adds nothing
		{102, 10, 135}, // and another, below: 75 + 10
		{0, 200, 325},  // an agent that does not say: growth is taken for the same worker
		{0, 5, 330},    // a decrease is still a reset
		{103, 7, 332},  // an epoch after none: only a decrease would say
	}
	for i, s := range steps {
		if got := observe(s.epoch, s.requests); got != s.wantTotal {
			t.Fatalf("step %d (worker %d, %d requests): total %d, want %d", i, s.epoch, s.requests, got, s.wantTotal)
		}
	}
}

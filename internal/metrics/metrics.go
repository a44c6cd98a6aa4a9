// Package metrics exposes the control plane and every load balancer in
// Prometheus' text format, built with the Prometheus Go client.
//
// Traffic series (per load balancer, listener, pool and member) come from
// the agents' reports already in the store, so a scrape reads memory: it
// costs the agents nothing, however many load balancers there are. Their
// counters are summed over the VMs and kept monotonic across HAProxy
// restarts and failovers (see monotonic). API requests are counted by the
// handlers that Instrument wraps.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"lbaas/internal/model"
	"lbaas/internal/store"
)

// Metrics is a registry with the server's series.
type Metrics struct {
	reg   *prometheus.Registry
	http  *httpMetrics
	store *storeCollector
}

// New registers the store-derived series of st, the API request
// counters, and the Go runtime's and process's own.
func New(st *store.Store) *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	sc := newStoreCollector(st)
	reg.MustRegister(sc)
	return &Metrics{reg: reg, http: newHTTPMetrics(reg), store: sc}
}

// LoadBalancerTraffic returns each load balancer's traffic totals, kept
// monotonic across failovers exactly as /metrics keeps them (the same
// counts), with its VMs' current gauges.
func (m *Metrics) LoadBalancerTraffic() map[string]model.Stats { return m.store.loadBalancerTraffic() }

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorLog: nil, Registry: m.reg})
}

// Instrument counts next's requests under the api label.
func (m *Metrics) Instrument(api string, next http.Handler) http.Handler {
	return m.http.wrap(api, next)
}

// Registerer lets other packages add their own series.
func (m *Metrics) Registerer() prometheus.Registerer { return m.reg }

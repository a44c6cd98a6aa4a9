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
	"time"

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
	commits := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "lbaas_store_commit_duration_seconds",
		Help:    "Store transactions by outcome (ok, conflict, error), until this server's cache holds them.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"outcome"})
	events := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lbaas_events_total",
		Help: "Events recorded since this server started (VIP takeovers: failover and vrrp_transition; repairs; placements: vm_scheduled; errors), by type and severity, whichever server recorded them.",
	}, []string{"type", "severity"})
	lag := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "lbaas_reconcile_lag_seconds",
		Help:    "From a load balancer's latest change (of it or anything in it) to a VM running it, per VM that applied it (from the config_applied events).",
		Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120},
	})
	failovers := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lbaas_failovers_total",
		Help: "VIP takeovers between the two VMs of a load balancer since this server started, by trigger: fault (the holder's HAProxy, VIP link or health failed), resigned (its keepalived stopped or stepped down), vrrp_silent (its keepalived fell silent while its node lived), node_silent (its node went silent).",
	}, []string{"trigger"})
	failoverTime := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "lbaas_failover_duration_seconds",
		Help:    "From the VIP holder's keepalived leaving MASTER to its peer's entering it, as both recorded them, by trigger (silent holders record nothing, so they are counted in lbaas_failovers_total only).",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"trigger"})
	reg.MustRegister(commits, events, lag, failovers, failoverTime)
	st.SetCommitObserver(func(d time.Duration, outcome string) { commits.WithLabelValues(outcome).Observe(d.Seconds()) })
	// Every server's cache sees every event, so each counts them all.
	st.Observe(func(changes []store.Change) {
		for _, ch := range changes {
			if ch.Kind != model.KindEvent || ch.Old != nil || ch.New == nil {
				continue
			}
			e := ch.New.(*model.Event)
			events.WithLabelValues(e.Type, e.Severity).Inc()
			switch {
			case e.Type == model.EventConfigApplied && e.DurationMs > 0:
				lag.Observe(e.DurationMs / 1000)
			case e.Type == model.EventFailover:
				failovers.WithLabelValues(e.Trigger).Inc()
				if e.DurationMs > 0 {
					failoverTime.WithLabelValues(e.Trigger).Observe(e.DurationMs / 1000)
				}
			}
		}
	})
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

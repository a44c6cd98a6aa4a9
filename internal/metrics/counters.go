package metrics

import (
	"sync"

	"lbaas/internal/model"
)

// Which side of HAProxy a counter is counted on: frontends (load
// balancers and listeners: what clients did) or backends (pools and
// members: what the members did). A counter is exposed only for the
// objects whose side counts it; the other side's would always read 0.
const (
	front = 1 << iota
	back
	both = front | back
)

// counterField is one traffic counter of model.Stats.
type counterField struct {
	// name completes the metric's name (lbaas_<object>_<name>); class,
	// when set, is the code_class label of lbaas_<object>_responses_total.
	name, help, class string
	side              int
	get               func(*model.Stats) *int64
}

// sideOf is the side of HAProxy an object kind's counters come from.
func sideOf(kind string) int {
	if kind == "pool" || kind == "member" {
		return back
	}
	return front
}

// counterFields are the counters the agents report, in the order they
// are exposed. Every one only grows on one HAProxy; monotonic keeps their
// sums growing across reloads and failovers.
var counterFields = []counterField{
	{name: "bytes_in_total", side: both, help: "Bytes received from clients.", get: func(s *model.Stats) *int64 { return &s.BytesIn }},
	{name: "bytes_out_total", side: both, help: "Bytes sent to clients.", get: func(s *model.Stats) *int64 { return &s.BytesOut }},
	{name: "connections_total", side: both, help: "Connections (sessions) handled.", get: func(s *model.Stats) *int64 { return &s.TotalConnections }},
	{name: "request_errors_total", side: front, help: "Requests that failed while being read or were malformed.", get: func(s *model.Stats) *int64 { return &s.RequestErrors }},
	{name: "requests_total", side: both, help: "HTTP requests (HTTP listeners and pools only).", get: func(s *model.Stats) *int64 { return &s.Requests }},
	{name: "responses_total", side: both, class: "1xx", help: "HTTP responses by status class.", get: func(s *model.Stats) *int64 { return &s.Responses1xx }},
	{name: "responses_total", side: both, class: "2xx", get: func(s *model.Stats) *int64 { return &s.Responses2xx }},
	{name: "responses_total", side: both, class: "3xx", get: func(s *model.Stats) *int64 { return &s.Responses3xx }},
	{name: "responses_total", side: both, class: "4xx", get: func(s *model.Stats) *int64 { return &s.Responses4xx }},
	{name: "responses_total", side: both, class: "5xx", get: func(s *model.Stats) *int64 { return &s.Responses5xx }},
	{name: "responses_total", side: both, class: "other", get: func(s *model.Stats) *int64 { return &s.ResponsesOther }},
	{name: "connection_errors_total", side: back, help: "Failed connections to members.", get: func(s *model.Stats) *int64 { return &s.ConnectionErrors }},
	{name: "response_errors_total", side: back, help: "Responses from members that failed.", get: func(s *model.Stats) *int64 { return &s.ResponseErrors }},
	{name: "retries_total", side: back, help: "Connections to a member retried.", get: func(s *model.Stats) *int64 { return &s.Retries }},
	{name: "redispatches_total", side: back, help: "Requests sent to another member after a failure.", get: func(s *model.Stats) *int64 { return &s.Redispatches }},
	{name: "denied_requests_total", side: front, help: "Requests refused by a rule (an L7 REJECT policy, allowed_cidrs).", get: func(s *model.Stats) *int64 { return &s.DeniedRequests }},
}

// monotonic turns per-VM counters into sums that never go backwards.
// HAProxy's counters start again from zero when a VM is rebuilt or its
// HAProxy restarted or reloaded, and a VM that dies takes its counts with
// it: what a VM had counted before either is carried into the sum.
//
// A restart is known for certain when the VM reports counters of a new
// HAProxy worker (its epoch: the worker's pid, read with the counters).
// Without an epoch (an older agent), a counter that decreased is taken for
// one; that misses a new worker that counted past its predecessor within
// one report, an undercount, never a step back.
type monotonic struct {
	mu sync.Mutex
	// last is the latest value per series and VM; carried what VMs that
	// reset or went away had counted.
	last    map[string]map[string]observation
	carried map[string]model.Stats
}

// observation is a VM's counters of one series and the HAProxy worker
// that counted them (0: not known).
type observation struct {
	model.Stats
	epoch int
}

func newMonotonic() *monotonic {
	return &monotonic{last: map[string]map[string]observation{}, carried: map[string]model.Stats{}}
}

// pass is one scrape's view: the series seen in it, per VM, and the VMs
// that still exist (have a report). Only a VM that no longer exists has
// its counts carried: a report that leaves a series out, or says nothing
// because the VM is in error, is no reason to think its HAProxy lost them.
type pass struct {
	m      *monotonic
	seen   map[string]map[string]bool
	exists map[string]bool
	epochs map[string]int
}

func (m *monotonic) begin() *pass {
	m.mu.Lock()
	return &pass{m: m, seen: map[string]map[string]bool{}, exists: map[string]bool{}, epochs: map[string]int{}}
}

// vm records that a VM still exists, and the HAProxy worker whose counters
// it reports (0: not known).
func (p *pass) vm(id string, epoch int) { p.exists[id], p.epochs[id] = true, epoch }

// touch marks a series as looked at in this pass, even with no VM to
// observe (all its VMs gone: their counts are carried at end).
func (p *pass) touch(series string) {
	if p.seen[series] == nil {
		p.seen[series] = map[string]bool{}
	}
}

// observe records the VM's current counters of a series.
func (p *pass) observe(series, vm string, cur model.Stats) {
	m := p.m
	if m.last[series] == nil {
		m.last[series] = map[string]observation{}
	}
	epoch := p.epochs[vm]
	if prev, ok := m.last[series][vm]; ok {
		c := m.carried[series]
		restarted := prev.epoch != 0 && epoch != 0 && prev.epoch != epoch
		for _, f := range counterFields {
			if restarted || *f.get(&cur) < *f.get(&prev.Stats) {
				*f.get(&c) += *f.get(&prev.Stats) // a reset: keep what was counted
			}
		}
		m.carried[series] = c
	}
	m.last[series][vm] = observation{Stats: cur, epoch: epoch}
	if p.seen[series] == nil {
		p.seen[series] = map[string]bool{}
	}
	p.seen[series][vm] = true
}

// total is the series' monotonic sum, with the gauges (active
// connections, queue, response time) of the VMs seen in this pass.
func (p *pass) total(series string) model.Stats {
	m := p.m
	out := m.carried[series]
	var gauges model.Stats
	for vm, o := range m.last[series] {
		s := o.Stats
		for _, f := range counterFields {
			*f.get(&out) += *f.get(&s)
		}
		if p.seen[series][vm] {
			gauges.ActiveConnections += s.ActiveConnections
			gauges.Queued += s.Queued
			gauges.ResponseTimeMs = max(gauges.ResponseTimeMs, s.ResponseTimeMs)
		}
	}
	out.ActiveConnections, out.Queued, out.ResponseTimeMs = gauges.ActiveConnections, gauges.Queued, gauges.ResponseTimeMs
	return out
}

// end carries the counts of VMs that no longer exist from the series
// the pass looked at, forgets series that no longer exist (keep
// says which do), then unlocks. A series the pass did not look at (a
// pass over the load balancers alone, for the dashboard) is left as it
// is.
func (p *pass) end(keep func(series string) bool) {
	m := p.m
	defer m.mu.Unlock()
	for series, vms := range m.last {
		if !keep(series) {
			delete(m.last, series)
			delete(m.carried, series)
			continue
		}
		if p.seen[series] == nil {
			continue
		}
		for vm, o := range vms {
			if p.exists[vm] {
				continue
			}
			s := o.Stats
			c := m.carried[series]
			for _, f := range counterFields {
				*f.get(&c) += *f.get(&s)
			}
			m.carried[series] = c
			delete(vms, vm)
		}
	}
}

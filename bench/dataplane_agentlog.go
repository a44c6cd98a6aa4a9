package bench

import (
	"slices"
	"strings"
	"time"
)

// appliedAt returns when the agents logged "instance applied" for the
// load balancer (a v1 VIP's id is its load balancer's) at or after since,
// sorted: it splits a change's delay into the
// control plane's part (API → controller → agent → HAProxy runtime API or
// start) and what follows until traffic shows it. The log's times have
// millisecond resolution.
func (tp *dpTopo) appliedAt(lbID string, since time.Time) []time.Time {
	var out []time.Time
	since = since.Truncate(time.Millisecond)
	for node := range tp.c.Agents() {
		for _, line := range strings.Split(tp.c.AgentLog(node), "\n") {
			if !strings.Contains(line, `msg="instance applied"`) || !strings.Contains(line, " loadbalancer="+lbID) {
				continue
			}
			f, _, _ := strings.Cut(line, " ")
			v, ok := strings.CutPrefix(f, "time=")
			if !ok {
				continue
			}
			at, err := time.Parse(time.RFC3339Nano, v)
			if err == nil && !at.Before(since) {
				out = append(out, at)
			}
		}
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

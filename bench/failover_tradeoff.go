package bench

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"lbaas/internal/vrrp"
)

// sortedClusters returns the clusters that are not the baseline (the
// shipped one and the alternatives), by advert interval.
func (r *FailoverReport) sortedClusters() []ClusterFailover {
	var out []ClusterFailover
	for _, c := range r.Clusters {
		if c.Kind != KindBaseline {
			out = append(out, c)
		}
	}
	slices.SortStableFunc(out, func(a, b ClusterFailover) int { return int(a.Advert - b.Advert) })
	return out
}

// gapMisses says which failover aims a trigger's runs miss and by how
// much (none: met).
func gapMisses(t TriggerResult) []string {
	g := t.Gaps()
	var out []string
	switch {
	case len(t.Runs) == 0:
		return []string{"not run"}
	case g.N == 0:
		return []string{"no run measured"}
	case g.N < len(t.Runs):
		out = append(out, fmt.Sprintf("%d of %d runs not measured", len(t.Runs)-g.N, len(t.Runs)))
	}
	if g.P50 >= AimFailoverP50 {
		out = append(out, fmt.Sprintf("median %s, %s over %v", ms(g.P50), ms(g.P50-AimFailoverP50), AimFailoverP50))
	}
	if g.Max >= AimFailoverMax {
		out = append(out, fmt.Sprintf("max %s, %s over %v", ms(g.Max), ms(g.Max-AimFailoverMax), AimFailoverMax))
	}
	return out
}

// spuriousMisses says why a spurious watch does not show zero spurious
// transitions under saturation (none: it does).
func spuriousMisses(s *SpuriousResult) []string {
	if s == nil {
		return []string{"no spurious watch"}
	}
	var out []string
	if s.Err != "" {
		out = append(out, "watch: "+s.Err)
	} else if !s.Saturated {
		out = append(out, "watched without stress-ng")
	}
	if s.Polls == 0 {
		out = append(out, "nothing watched")
	}
	if n := s.Spurious(); n > 0 {
		out = append(out, fmt.Sprintf("%d spurious transitions in %v (%s per 10 min)", n, s.Duration, per10(*s)))
	}
	return out
}

// tradeoffMisses are the aims an advert interval misses: a silent node
// death under the failover aims idle and saturated, no spurious
// transition under saturation.
func tradeoffMisses(c ClusterFailover) []string {
	if c.Err != "" {
		return []string{"setup failed"}
	}
	var out []string
	for _, load := range []string{LoadIdle, LoadSaturated} {
		for _, m := range gapMisses(c.Trigger(TriggerNodeSilent, load)) {
			out = append(out, load+" silent death: "+m)
		}
	}
	return append(out, spuriousMisses(c.Spurious)...)
}

func (r *FailoverReport) tradeoffMarkdown(w writer) {
	cs := r.sortedClusters()
	w("## Trade-off: advert interval, silent-death failover, spurious failovers")
	w("")
	w("Shorter adverts shorten the failover a silent death costs (the master-down interval, 3 × advert + skew) and leave less")
	w("margin for adverts delayed on a busy host. Per interval tried: the silent node death (runs per load: %d) and the spurious", r.Options.Runs)
	w("watch under saturation (wrk and stress-ng). Aims: median < %v and max < %v idle and saturated, 0 spurious transitions.", AimFailoverP50, AimFailoverMax)
	w("")
	w("| advert | master-down interval | silent node death, idle: median / max | saturated: median / max | spurious transitions (saturated) | watched | per 10 min | aims |")
	w("|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, c := range cs {
		idle, sat := c.Trigger(TriggerNodeSilent, LoadIdle).Gaps(), c.Trigger(TriggerNodeSilent, LoadSaturated).Gaps()
		spurious, watched, rate := "-", "-", "-"
		if s := c.Spurious; s != nil {
			spurious, watched, rate = fmt.Sprint(s.Spurious()), s.Duration.String(), per10(*s)
		}
		aims := "met"
		if m := tradeoffMisses(c); len(m) > 0 {
			aims = strings.Join(m, "; ")
		}
		name := c.Advert.String()
		if c.Kind == KindShipped {
			name += " (shipped)"
		}
		w("| %s | %s | %s / %s | %s / %s | %s | %s | %s | %s |", name, ms(vrrpTimesFor(c.Advert).MasterDown), ms(idle.P50), ms(idle.Max),
			ms(sat.P50), ms(sat.Max), spurious, watched, rate, aims)
	}
	w("")
	ours := r.ours()
	// Of the intervals that meet every aim, the longest: it keeps the most
	// margin for adverts delayed on a stalled host and sends the fewest
	// adverts (each VM sends one per interval to its peer and the router).
	var meeting []string
	best := -1
	for i, c := range cs {
		if len(tradeoffMisses(c)) == 0 {
			meeting = append(meeting, c.Advert.String())
			best = i
		}
	}
	rule := fmt.Sprintf("of the intervals that meet every aim (%s), the longest: the most margin for adverts delayed on a stalled host and the fewest adverts", strings.Join(meeting, ", "))
	switch {
	case len(cs) == 0:
		w("No interval was measured.")
	case best >= 0 && cs[best].Advert == ours.Advert:
		w("The data supports the shipped default, %v: %s.", ours.Advert, rule)
	case best >= 0:
		why := "it misses: " + strings.Join(tradeoffMisses(ours), "; ")
		if len(tradeoffMisses(ours)) == 0 {
			why = "it meets the aims too"
		}
		w("The data supports %v: %s. The shipped default is %v (%s).", cs[best].Advert, rule, ours.Advert, why)
	default:
		w("No interval tried meets every aim, so the data supports no default outright:")
		for _, c := range cs {
			w("- %v misses: %s", c.Advert, strings.Join(tradeoffMisses(c), "; "))
		}
	}
	if d := r.Options.SpuriousDuration; d < 10*time.Minute {
		w("")
		w("Each spurious watch lasted %v, not the 10 minutes the issue asks for: zero transitions there is evidence, not proof.", d)
	}
	w("")
}

func (r *FailoverReport) timeMarkdown(w writer) {
	w("## Where the time goes")
	w("")
	w("The protocol's own delays (RFC 5798 with the standby's priority %d; the arbiter's silence limit, vrrp.ArbiterTimeout), against", vrrp.PriorityStandby)
	w("the measured medians:")
	w("")
	w("| advert | skew time | master-down interval (3 × advert + skew) | arbiter timeout (3.5 × advert) | HAProxy death (alone), idle | resigning node death, idle | silent node death, idle | silent node death, saturated | link deleted, idle |")
	w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, c := range r.Clusters {
		t := vrrpTimesFor(c.Advert)
		med := func(name, load string) string { return ms(c.Trigger(name, load).Gaps().P50) }
		w("| %v | %s | %s | %s | %s | %s | %s | %s | %s |", c.Advert, ms(t.Skew), ms(t.MasterDown), ms(t.Arbiter),
			med(TriggerHAProxyAlone, LoadIdle), med(TriggerNodeResigning, LoadIdle), med(TriggerNodeSilent, LoadIdle),
			med(TriggerNodeSilent, LoadSaturated), med(TriggerLink, LoadIdle))
	}
	w("")
	ours := r.ours()
	t := vrrpTimesFor(ours.Advert)
	w("- HAProxy death: keepalived hears of it from the kernel's process-events connector at once, goes FAULT, drops the VIP and")
	w("  sends a priority-0 advert; the standby takes over after the skew time only (%s at %v), and the arbiter follows the", ms(t.Skew), ours.Advert)
	w("  resignation at once. The gap is therefore skew + the new MASTER's gratuitous ARP + the first new connection.")
	w("- Resigning node death: `up.Resigning` kills HAProxy first, so the dying keepalived resigns as above before it is killed;")
	w("  the gap is that of an HAProxy death.")
	w("- Silent node death: `up.Silent` freezes every process of the node at once, so nobody resigns. The standby takes over when")
	w("  its master-down interval has passed since the last advert it heard (%s at %v adverts); the arbiter's silence limit", ms(t.MasterDown), ours.Advert)
	w("  (%s) is just under it, so the arbiter has let the silent holder go when the standby's first advert as MASTER comes and", ms(t.Arbiter))
	w("  adds nothing. The last advert was up to one interval before the blow, so the gap lies between master-down − 1 advert and")
	w("  master-down, plus the gratuitous ARP and the first new connection. The only lever is the advert interval (the trade-off above).")
	for _, c := range r.Clusters {
		var gaps []time.Duration
		for _, load := range []string{LoadIdle, LoadSaturated} {
			for _, run := range c.Trigger(TriggerNodeSilent, load).Runs {
				if run.valid() {
					gaps = append(gaps, run.Gap)
				}
			}
		}
		if len(gaps) > 0 {
			w("  At advert %v the %d silent-death gaps ranged %s–%s against a master-down interval of %s.", c.Advert, len(gaps),
				ms(slices.Min(gaps)), ms(slices.Max(gaps)), ms(vrrpTimesFor(c.Advert).MasterDown))
		}
	}
	w("- Link deleted: the active cannot resign (its interface is gone): the same master-down wait as a silent death; the")
	w("  arbiter keeps the VIP pinned to the silent holder until its own timeout, so a second MASTER could not take the traffic")
	w("  sooner during a partition.")
	w("- Saturated: keepalived and the arbiter run realtime, so adverts keep their timing while stress-ng hogs every CPU; HAProxy,")
	w("  the agents and the probing client do not, so a saturated gap also holds their scheduling delays (HAProxy's accept,")
	w("  the client's connect).")
	w("- After a link repair: the agent re-creates vip0 and, seeing a new link index, restarts that VM's keepalived on it (a")
	w("  keepalived left on the deleted link would never hear or send an advert again); every link run strikes the VM that was")
	w("  repaired in the run before, so each gap also shows that the repaired VM takes over.")
	w("- Pair whole again after a node death: the node's lease (controller.NodeTTL, 2 s, granted in whole seconds by etcd) must")
	w("  run out before the controller reschedules the dead VM onto the third node, which then starts HAProxy and keepalived and reports.")
	w("")
}

func (r *FailoverReport) goalsMarkdown(w writer) {
	ours := r.ours()
	w("## Against the goals")
	w("")
	verdict := func(misses []string) string {
		if len(misses) == 0 {
			return "**met**"
		}
		return "**missed** (" + strings.Join(misses, "; ") + ")"
	}
	for _, name := range []string{TriggerNodeSilent, TriggerHAProxyAlone, TriggerHAProxyAgent, TriggerNodeResigning} {
		for _, load := range []string{LoadIdle, LoadSaturated} {
			t := ours.Trigger(name, load)
			g := t.Gaps()
			w("- %s, %s, at advert %v: median %s, max %s over %d/%d runs; goal median < %v and max < %v: %s", name, load, ours.Advert,
				ms(g.P50), ms(g.Max), g.N, len(t.Runs), AimFailoverP50, AimFailoverMax, verdict(gapMisses(t)))
		}
	}
	var wholes []time.Duration
	deaths := 0
	for _, t := range ours.Triggers {
		if _, node := nodeDeath(t.Name); node {
			deaths += len(t.Runs)
			for _, run := range t.Runs {
				if run.Err == "" && run.PairWhole > 0 {
					wholes = append(wholes, run.PairWhole)
				}
			}
		}
	}
	wh := summarize(wholes)
	w("- pair whole again after a node death (every node death at advert %v): median %s, max %s over %d/%d; goal < %v: **%s**", ours.Advert,
		ms(wh.P50), ms(wh.Max), wh.N, deaths, AimPairWhole, metOrMissed(wh.N > 0 && wh.N == deaths && wh.Max < AimPairWhole))
	for _, x := range []struct {
		load string
		rs   RestartsResult
	}{{LoadIdle, r.Restarts}, {LoadSaturated, r.RestartsSaturated}} {
		failed, moved := x.rs.Failed()
		w("- agent and server restarts, %s: %d failed requests, %d failovers over %d restarts; goal 0 and 0: **%s**", x.load, failed, moved, len(x.rs.Steps),
			metOrMissed(len(x.rs.Steps) == 4 && failed == 0 && moved == 0 && x.rs.Err == ""))
	}
	if s := ours.Spurious; s != nil {
		w("- spurious failovers at advert %v under %v of saturating load (wrk and stress-ng): %d (holder changes %d, MASTER entries %d);",
			ours.Advert, s.Duration, s.Spurious(), s.HolderChanges, s.MasterEntries)
		w("  goal 0 during 10 minutes: %s", verdict(spuriousMisses(s)))
		if s.Duration < 10*time.Minute {
			w("  (this watch lasted %v, not 10 minutes: zero here is evidence, not the goal's proof)", s.Duration)
		}
	} else {
		w("- spurious failovers at advert %v: not watched", ours.Advert)
	}
}

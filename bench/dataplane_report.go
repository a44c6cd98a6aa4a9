package bench

import (
	"fmt"
	"strings"
	"time"
)

// Markdown renders the data-plane report: machine facts, one section per
// measurement with its baseline and ratios, and the aims.
func (r *DataplaneReport) Markdown() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	o := r.Options
	w("# Data-plane benchmark: throughput, provisioning, member changes, footprint")
	w("")
	mode := ""
	if r.Quick {
		mode = " Quick mode: a smoke run, not the benchmark."
	}
	w("Whole deployment on this machine (`internal/up`: API server, 3 compute agents and a network agent as separate processes,")
	w("each load balancer an active and a standby HAProxy in namespaces of their own).%s Ran %s, took %v.", mode,
		r.Machine.Date.Format("2006-01-02 15:04 MST"), r.Elapsed.Round(time.Second))
	w("")
	w("Reproduce: `%s` (or `LBAAS_BENCH_FULL=1 go test -run TestDataplaneBenchFull -timeout 30m ./bench/` as root).", DataplaneReproduceCmd)
	w("")
	total, _ := memInfo()
	if r.Footprint.MemTotal > 0 {
		total = r.Footprint.MemTotal
	}
	w("| machine | |")
	w("|---|---|")
	w("| CPUs (nproc) | %d (GOMAXPROCS %d), shared by clients, HAProxy, backends and the control plane |", r.Machine.NumCPU, r.Machine.GOMAXPROCS)
	w("| CPU | %s |", orDash(r.Machine.CPUModel))
	w("| memory | %s total |", mib(total))
	w("| Go | %s %s |", r.Machine.GoVersion, r.Machine.OSArch)
	w("| kernel | %s |", orDash(r.Machine.Kernel))
	w("| HAProxy | %s |", orDash(r.HAProxyVersion))
	w("| wrk | %s |", orDash(r.WrkVersion))
	w("| load average at start / end | %s / %s (other engineers' work shares the machine) |", orDash(r.Machine.LoadAvg), orDash(r.LoadAvgEnd))
	w("| date | %s |", r.Machine.Date.Format(time.RFC3339))
	w("")
	r.throughputMarkdown(w, o)
	r.l7Markdown(w)
	r.tlsMarkdown(w)
	r.provisioningMarkdown(w, o)
	r.fullyPopulatedMarkdown(w, o)
	r.changesMarkdown(w)
	r.footprintMarkdown(w)
	r.dashboardMarkdown(w)
	r.aimsMarkdown(w)
	return b.String()
}

type writer func(format string, args ...any)

func (r *DataplaneReport) throughputMarkdown(w writer, o DataplaneOptions) {
	t := r.Throughput
	w("## Throughput")
	w("")
	w("`wrk -t%d -c%d -d%v --latency` run inside a client namespace (never from the root namespace), %d round(s); the", o.WrkThreads, o.WrkConnections, o.WrkDuration, o.Rounds)
	w("targets take turns within each round so that all see the same machine. req/s is the mean over the rounds, p50/p99")
	w("the median of wrk's per-run percentiles. Backends are the Go HTTP servers of `internal/up` (`up.Backend`), which")
	w("run inside the benchmark's own process: they are the bottleneck and share the 2 CPUs with wrk and HAProxy, so")
	w("absolute numbers are far below an nginx backend; the ratios are what the aims are about.")
	w("")
	targetTable(w, t.Targets)
	w("| ratio (req/s) | value | aim |")
	w("|---|---:|---|")
	w("| ours via VIP / hand-written | %s | >= %.2f |", fmtRatio(t.Ratio(TargetVIP, TargetHand)), AimVsHandWritten)
	w("| ours via VIP / hand-written, nbthread 1 (same thread count) | %s | |", fmtRatio(t.Ratio(TargetVIP, TargetHandThread1)))
	w("| ours via VIP / direct to a member | %s | >= %.2f |", fmtRatio(t.Ratio(TargetVIP, TargetDirect)), AimVsDirect)
	w("| ours via floating IP / direct to a member | %s | |", fmtRatio(t.Ratio(TargetFloatingIP, TargetDirect)))
	w("| ours via floating IP / ours via VIP (cost of the router's NAT) | %s | |", fmtRatio(t.Ratio(TargetFloatingIP, TargetVIP)))
	if t.Err != "" {
		w("- error: %s", t.Err)
	}
	for _, x := range t.Targets {
		if x.Err != "" {
			w("- %s: %s", x.Name, x.Err)
		}
	}
	w("")
}

// targetTable renders wrk's results per target.
func targetTable(w writer, targets []TargetResult) {
	w("| target | what the requests cross | req/s | p50 | p99 | errors | runs |")
	w("|---|---|---:|---:|---:|---:|---:|")
	for _, x := range targets {
		w("| %s | %s | %.0f | %s | %s | %d | %d |", x.Name, x.Path, x.ReqPerSec(), ms(x.P50()), ms(x.P99()), x.Errors(), len(x.Runs))
	}
	w("")
}

func (r *DataplaneReport) provisioningMarkdown(w writer, o DataplaneOptions) {
	p := r.Provisioning
	w("## Provisioning")
	w("")
	w("%d runs. Each creates a pool with the two members first (not timed), then times from `POST /v2.0/lb/vips`", o.ProvisionRuns)
	w("returning: (1) to the first request answered through the VIP address, probed from a client namespace on the VIP")
	w("network every %v on a fresh connection, and (2) to the pool's status turning ACTIVE (both instances serving the", probeEvery)
	w("current configuration), polled through the API every %v. The VIP is then deleted and the next run waits until", probeEvery)
	w("both instances are gone.")
	w("")
	w("| measure | runs | p50 | p99 | max |")
	w("|---|---:|---:|---:|---:|")
	latencyRow(w, "VIP created → first request served", p.FirstServed)
	latencyRow(w, "VIP created → pool ACTIVE", p.Active)
	latencyRow(w, "VIP created → 1st instance applied (agent log)", p.AgentFirst)
	latencyRow(w, "VIP created → 2nd instance applied (agent log)", p.AgentLast)
	latencyRow(w, "the `POST /v2.0/lb/vips` itself", p.VIPCreate)
	var cl []time.Duration
	for _, run := range p.Runs {
		if run.Cleanup > 0 {
			cl = append(cl, run.Cleanup)
		}
	}
	c := summarize(cl)
	latencyRow(w, "VIP deleted → both instances gone", c)
	w("")
	w("The probe client above is a namespace that never saw the address (neighbour cache flushed before each run) with")
	w("ARP retransmission at %s ms instead of the kernel's 1 s, so that it measures when the VIP answers rather than ARP's", probeARPRetry)
	w("retry cadence. A second client with default settings, which talked to an earlier run's VIP at the same address")
	w("(addresses are reused), was served within %v in %d of %d runs (p50 %s, max %s of those): the active instance", cachedProbeLimit,
		p.CachedClient.N, p.CachedClient.N+p.CachedMissed, ms(p.CachedClient.P50), ms(p.CachedClient.Max))
	if p.CachedMissed > 0 {
		w("The misses: the active instance adds the VIP without announcing it (no gratuitous ARP), so a client's neighbour")
		w("entry pointing at the old MAC holds until it goes stale (tens of seconds); the same applies to clients of a VIP")
		w("that moves on failover.")
	}
	if p.Err != "" {
		w("- error: %s", p.Err)
	}
	w("")
}

func (r *DataplaneReport) changesMarkdown(w writer) {
	c := r.Changes
	w("## Member changes under load")
	w("")
	w("A load of %d keep-alive clients in the VIP network's client namespace sends requests through the VIP without pause", c.Workers)
	w("(bounded: %v, %d requests) while the API adds a member (a third backend, 10.1.1.4), sets its weight to 0 and", loadMaxTime, loadMaxSamples)
	w("back to 1, and removes it. \"Effect\" is from the API call returning until the traffic shows the change: the first")
	w("answer from the member, or the send time of the last request it answered (0 when no request sent after the call")
	w("reached it); a removal counts once %v passed with %d other answers and none from it.", quietFor, quietRequests)
	w("")
	w("| change | API call | agents applied (1st / 2nd instance) | effect after | effective | requests | errors | observed |")
	w("|---|---:|---:|---:|---|---:|---:|---|")
	for _, x := range c.Changes {
		eff := ms(x.Effect)
		if x.Effective && x.Effect == 0 {
			eff = "0 (before the next request)"
		}
		if !x.Effective {
			eff = fmt.Sprintf("not within %v", changeLimit)
		}
		applied := "-"
		if x.Applied {
			applied = fmt.Sprintf("%s / %s", signedMs(x.AppliedFirst), signedMs(x.AppliedLast))
		}
		w("| %s | %s | %s | %s | %v | %d | %d | %s |", x.Name, ms(x.API), applied, eff, x.Effective, x.Requests, x.Errors, x.Observed)
	}
	w("")
	rate := 0.0
	if c.Duration > 0 {
		rate = float64(c.Requests) / c.Duration.Seconds()
	}
	w("\"Agents applied\" comes from the agents' logs (millisecond resolution): the time until an agent finished the runtime-API")
	w("commands; what remains until \"effect\" is HAProxy and the load loop's own granularity.")
	w("")
	w("Whole load: %d requests in %v (%.0f req/s), **%d errors**.", c.Requests, c.Duration.Round(time.Millisecond), rate, c.Errors)
	if c.FirstError != "" {
		w("First error: `%s`.", c.FirstError)
	}
	w("")
	w("HAProxy processes of the pool before and after (a reload would replace the workers, a restart the master):")
	w("**%s**.", map[bool]string{true: "unchanged, no reload", false: "CHANGED"}[c.ProcessesUnchanged()])
	w("")
	for i := range max(len(c.Before), len(c.After)) {
		var b, a string
		if i < len(c.Before) {
			b = c.Before[i]
		}
		if i < len(c.After) {
			a = c.After[i]
		}
		w("- before `%s`, after `%s`", b, a)
	}
	if c.Err != "" {
		w("- error: %s", c.Err)
	}
	w("")
}

func (r *DataplaneReport) footprintMarkdown(w writer) {
	f := r.Footprint
	w("## Footprint")
	w("")
	w("%d load balancers requested, **%d created and ACTIVE** in %v (%d HAProxy instances, %d processes: master + worker),", f.Requested, f.Created, f.CreateTime.Round(time.Millisecond), f.Instances, f.Processes)
	w("on networks of their own; deleting them took %v.", f.TeardownTime.Round(time.Millisecond))
	if f.TimedOut {
		w("Creation stopped at its time limit; the numbers are for those that were up.")
	}
	w("")
	w("| measured over the %d load balancers | total | per load balancer (2 instances) | per instance |", f.Created)
	w("|---|---:|---:|---:|")
	w("| HAProxy PSS (masters + workers, shared pages split) | %s | %s | %s |", mib(f.HAProxyPSS), mib(f.HAProxyPerLB()), mib(f.HAProxyPerLB()/2))
	w("| HAProxy RSS (shared pages counted in each process) | %s | %s | %s |", mib(f.HAProxyRSS), mib(perN(f.HAProxyRSS, f.Created)), mib(perN(f.HAProxyRSS, f.Created)/2))
	w("| agents' PSS growth | %s | | |", signedMiB(f.AgentsDelta))
	drop := int64(f.MemAvailableBefore) - int64(f.MemAvailableAfter)
	w("| MemAvailable drop (everything: HAProxy, namespaces, veths, kernel, agents, server) | %s | %s | %s |", signedMiB(drop), mib(f.SystemPerLB()), mib(f.SystemPerLB()/2))
	w("")
	w("**Extrapolation** (not measured): instances that fit in the %s that were available before, at the measured cost:", mib(f.MemAvailableBefore))
	w("")
	w("| at | instances per node | load balancers |")
	w("|---|---:|---:|")
	hp := f.ProjectedInstances(f.HAProxyPerLB())
	sys := f.ProjectedInstances(f.SystemPerLB())
	w("| HAProxy PSS only | %d | %d |", hp, hp/2)
	w("| MemAvailable drop (conservative) | %d | %d |", sys, sys/2)
	w("")
	w("Memory only: every instance is idle here; under traffic CPU, not memory, limits a node.")
	if f.Err != "" {
		w("- error: %s", f.Err)
	}
	w("")
}

func (r *DataplaneReport) fullyPopulatedMarkdown(w writer, o DataplaneOptions) {
	p := r.FullyPopulated
	w("## Fully populated create (Octavia v2)")
	w("")
	w("%d runs. Each POSTs a whole load balancer to `/v2.0/lbaas/loadbalancers` in one request: an HTTP listener whose", o.ProvisionRuns)
	w("default pool has the two backends as members and an HTTP health monitor. Times are counted from the POST being")
	w("sent (the POST's own time is included, unlike the rows above) to the first request served through the VIP (the same")
	w("probe) and to the load balancer's `provisioning_status` turning ACTIVE. Each run then deletes it with `cascade=true`.")
	w("")
	w("| measure | runs | p50 | p99 | max |")
	w("|---|---:|---:|---:|---:|")
	latencyRow(w, "POST sent → first request served", p.FirstServed)
	latencyRow(w, "POST sent → load balancer ACTIVE", p.Active)
	latencyRow(w, "POST sent → 2nd instance applied (agent log)", p.AgentLast)
	latencyRow(w, "the POST itself", p.VIPCreate)
	if p.Err != "" {
		w("- error: %s", p.Err)
	}
	w("")
}

func (r *DataplaneReport) aimsMarkdown(w writer) {
	t, p, c, f := r.Throughput, r.Provisioning, r.Changes, r.Footprint
	w("## Against the aims")
	w("")
	vh, vd := t.Ratio(TargetVIP, TargetHand), t.Ratio(TargetVIP, TargetDirect)
	w("- throughput vs hand-written HAProxy: %s; aim >= %.2f: **%s**", fmtRatio(vh), AimVsHandWritten, metOrMissed(vh >= AimVsHandWritten))
	w("- throughput vs direct: %s; aim >= %.2f: **%s**", fmtRatio(vd), AimVsDirect, metOrMissed(vd >= AimVsDirect))
	w("- provisioning to first served request: p50 %s, max %s; aim p50 < %v and max < %v: **%s**", ms(p.FirstServed.P50), ms(p.FirstServed.Max), AimProvisionP50, AimProvisionMax,
		metOrMissed(p.FirstServed.N > 0 && p.FirstServed.P50 < AimProvisionP50 && p.FirstServed.Max < AimProvisionMax))
	w("- provisioning to ACTIVE (both instances): p50 %s, max %s; same aim: **%s**", ms(p.Active.P50), ms(p.Active.Max),
		metOrMissed(p.Active.N > 0 && p.Active.P50 < AimProvisionP50 && p.Active.Max < AimProvisionMax))
	g := r.FullyPopulated
	w("- fully populated create to first served request: p50 %s, max %s; aim p50 < %v: **%s**", ms(g.FirstServed.P50), ms(g.FirstServed.Max), AimFullyPopulatedP50,
		metOrMissed(g.FirstServed.N > 0 && g.FirstServed.P50 < AimFullyPopulatedP50 && g.Err == ""))
	worst, allEffective := time.Duration(0), len(c.Changes) > 0
	for _, x := range c.Changes {
		worst = max(worst, x.Effect)
		allEffective = allEffective && x.Effective
	}
	w("- member changes under load: %d errors, slowest effect %s, processes %s; aim 0 errors, < %v, no reload: **%s**", c.Errors, ms(worst),
		map[bool]string{true: "unchanged", false: "changed"}[c.ProcessesUnchanged()], AimChangeEffect,
		metOrMissed(allEffective && c.Errors == 0 && worst < AimChangeEffect && c.ProcessesUnchanged() && c.Err == ""))
	sys := f.ProjectedInstances(f.SystemPerLB())
	w("- instances per node (extrapolated from %d measured load balancers, MemAvailable drop): %d; aim >= %d: **%s**", f.Created, sys, AimInstancesPerNode,
		metOrMissed(f.Created > 0 && sys >= AimInstancesPerNode))
}

// WriteReport writes Markdown to path, creating its directory.
func (r *DataplaneReport) WriteReport(path string) error {
	return writeMarkdown(path, r.Markdown())
}

func signedMs(d time.Duration) string {
	if d < 0 {
		return "-" + ms(-d)
	}
	if d == 0 {
		return "0"
	}
	return ms(d)
}

func mib(b uint64) string {
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}

func signedMiB(b int64) string {
	return fmt.Sprintf("%+.1f MiB", float64(b)/(1<<20))
}

// latencyRow is one row of a "| measure | runs | p50 | p99 | max |" table.
func latencyRow(w writer, label string, l Latency) {
	w("| %s | %d | %s | %s | %s |", label, l.N, ms(l.P50), ms(l.P99), ms(l.Max))
}

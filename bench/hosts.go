package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// HostsReproduceCmd reproduces the hosts benchmark.
const HostsReproduceCmd = "./lbaas.sh bench hosts"

// Targets of the hosts benchmark.
const (
	TargetOneHostFIP    = "one host (bridges), via floating IP"
	TargetAcrossHostFIP = "across hosts (VXLAN), via floating IP"
	TargetOneHostVIP    = "one host (bridges), via VIP"
	TargetAcrossHostVIP = "across hosts (VXLAN), via VIP"
)

// AimAcrossHosts is the least req/s across hosts may keep of one host's.
const AimAcrossHosts = 0.9

// HostsReport compares a load balancer whose VMs, members and clients are
// on different hosts, joined by VXLAN (simulated hosts, up.Options.Hosts),
// with the same load balancer on one host's bridges, both deployments up
// at once and measured in alternation.
type HostsReport struct {
	deploymentRun
	Throughput ThroughputResult
	// NetworkNode are the active network node's deaths and returns in the
	// deployment across hosts.
	NetworkNode []NetworkNodeRun
}

// RunHosts runs the hosts benchmark (root).
func RunHosts(ctx context.Context, o DataplaneOptions) (*HostsReport, error) {
	start := time.Now()
	o, root, err := prepareDeploymentBench(ctx, o, "hosts")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(root)
	rep := &HostsReport{deploymentRun: newDeploymentRun(root, o)}
	topo := func(hosts bool, name string) (*dpTopo, error) {
		// Across hosts the router runs on two network nodes, whose
		// failover the benchmark measures last.
		networkNodes := 1
		if hosts {
			networkNodes = 2
		}
		tp, err := startSeedTopo(ctx, seedTopo{
			prefix: fmt.Sprintf("%s%06x-", DataplaneNSPrefix, rand.Uint32()&0xffffff),
			dir:    filepath.Join(root, name), binary: o.Binary, name: "bench", clients: true, hosts: hosts, networkNodes: networkNodes,
		})
		if err == nil {
			err = tp.waitPoolActive(ctx, tp.poolID, 60*time.Second)
		}
		if err == nil {
			err = waitServed(ctx, tp.pubClient, "http://"+tp.fip+"/", 30*time.Second)
		}
		return tp, err
	}
	one, err := topo(false, "one")
	if one != nil {
		defer one.close()
	}
	if err != nil {
		return nil, fmt.Errorf("one host: %w", err)
	}
	across, err := topo(true, "hosts")
	if across != nil {
		defer across.close()
	}
	if err != nil {
		return nil, fmt.Errorf("simulated hosts: %w", err)
	}
	o.progress("both deployments up (one host %s*, simulated hosts %s*)", one.prefix, across.prefix)
	res := &rep.Throughput
	res.Targets = []TargetResult{
		{Name: TargetOneHostFIP, Path: "client on Public → router NAT → HAProxy → 2 members, every namespace on one bridge fabric", URL: "http://" + one.fip + "/"},
		{Name: TargetAcrossHostFIP, Path: "client on the public wire → network node (NAT) → VXLAN → HAProxy's host → VXLAN → the servers' host", URL: "http://" + across.fip + "/"},
		{Name: TargetOneHostVIP, Path: "client on the VIP network → HAProxy → 2 members, one bridge fabric", URL: "http://" + one.vipAddr + "/"},
		{Name: TargetAcrossHostVIP, Path: "client on the servers' host → VXLAN → HAProxy's host → VXLAN → members on the servers' host", URL: "http://" + across.vipAddr + "/"},
	}
	clients := map[string]string{TargetOneHostFIP: one.pubClient, TargetAcrossHostFIP: across.pubClient,
		TargetOneHostVIP: one.vipClient, TargetAcrossHostVIP: across.vipClient}
	wrkRounds(ctx, o, "hosts", res.Targets, clients, nil)
	runs := 3
	if o.Quick {
		runs = 1
	}
	rep.NetworkNode = networkNodeRuns(ctx, o, across, []string{"network-1", "network-2"}, runs)
	rep.LoadAvgEnd = describeMachine(root).LoadAvg
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// Markdown renders the report.
func (r *HostsReport) Markdown() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	o, t := r.Options, r.Throughput
	w("# Hosts benchmark: a load balancer across hosts (VXLAN) beside the same on one host")
	w("")
	mode := ""
	if r.Quick {
		mode = " Quick mode: a smoke run, not the benchmark."
	}
	w("Two whole deployments on this machine, up at once (`internal/up`): one with every agent on one bridge fabric, one")
	w("with each agent on a simulated host of its own (`lbaas up --hosts`: a namespace per host on a shared underlay, the")
	w("networks joined by VXLAN, the servers on a host of their own), so that every packet between the client, the")
	w("HAProxy VM and the members crosses the overlay.%s Ran %s, took %v.", mode, r.Machine.Date.Format("2006-01-02 15:04 MST"), r.Elapsed.Round(time.Second))
	w("")
	w("Reproduce: `%s`.", HostsReproduceCmd)
	w("")
	w("| machine | |")
	w("|---|---|")
	w("| CPUs (nproc) | %d, shared by both deployments, wrk and the backends |", r.Machine.NumCPU)
	w("| CPU | %s |", orDash(r.Machine.CPUModel))
	w("| kernel | %s |", orDash(r.Machine.Kernel))
	w("| HAProxy | %s |", orDash(r.HAProxyVersion))
	w("| wrk | %s |", orDash(r.WrkVersion))
	w("| load average at start / end | %s / %s |", orDash(r.Machine.LoadAvg), orDash(r.LoadAvgEnd))
	w("")
	w("## Throughput")
	w("")
	w("`wrk -t%d -c%d -d%v --latency` inside a client namespace, %d round(s), the targets in turn within each round.", o.WrkThreads, o.WrkConnections, o.WrkDuration, o.Rounds)
	w("req/s is the mean over the rounds, p50/p99 the median of wrk's per-run percentiles. The backends are Go HTTP")
	w("servers in the benchmark's process and the bottleneck; the ratios are the result.")
	w("")
	targetTable(w, t.Targets)
	w("| ratio | value | aim |")
	w("|---|---:|---|")
	w("| req/s across hosts / one host, via floating IP | %s | >= %.2f |", fmtRatio(t.Ratio(TargetAcrossHostFIP, TargetOneHostFIP)), AimAcrossHosts)
	w("| req/s across hosts / one host, via VIP | %s | >= %.2f |", fmtRatio(t.Ratio(TargetAcrossHostVIP, TargetOneHostVIP)), AimAcrossHosts)
	w("| p99 across hosts / one host, via floating IP | %s | |", fmtRatio(ratio(float64(t.Target(TargetAcrossHostFIP).P99()), float64(t.Target(TargetOneHostFIP).P99()))))
	w("| p99 across hosts / one host, via VIP | %s | |", fmtRatio(ratio(float64(t.Target(TargetAcrossHostVIP).P99()), float64(t.Target(TargetOneHostVIP).P99()))))
	for _, x := range t.Targets {
		if x.Err != "" {
			w("- %s: %s", x.Name, x.Err)
		}
	}
	w("")
	networkNodeMarkdown(w, r.NetworkNode)
	return b.String()
}

// WriteReport writes the Markdown report.
func (r *HostsReport) WriteReport(path string) error {
	return writeMarkdown(path, r.Markdown())
}

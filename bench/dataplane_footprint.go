package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// FootprintResult is the memory of N load balancers (each a VIP and a pool
// served by an active and a standby HAProxy, each in its own namespace).
type FootprintResult struct {
	Requested int
	// Created is how many were created and reached ACTIVE in time.
	Created int
	// Instances are HAProxy masters found; Processes masters + workers.
	Instances, Processes int
	CreateTime           time.Duration
	TeardownTime         time.Duration
	TimedOut             bool
	// HAProxyPSS and HAProxyRSS sum every HAProxy process of the created
	// load balancers (bytes). PSS splits shared pages (the binary, libc)
	// between the processes; RSS counts them in each.
	HAProxyPSS, HAProxyRSS uint64
	// AgentsDelta is the growth of the agents' PSS (bytes; can be < 0).
	AgentsDelta int64
	// MemAvailable before and after creating them (bytes), and MemTotal:
	// the system-wide measure that includes the kernel's share
	// (namespaces, veths, sockets). Other work on a shared machine moves it.
	MemAvailableBefore, MemAvailableAfter, MemTotal uint64
	Err                                             string
}

// HAProxyPerLB is the HAProxy PSS of one load balancer (both instances).
func (f FootprintResult) HAProxyPerLB() uint64 { return perN(f.HAProxyPSS, f.Created) }

// SystemPerLB is MemAvailable's drop per load balancer: everything it
// costs the machine (0 if MemAvailable grew, i.e. other work freed memory).
func (f FootprintResult) SystemPerLB() uint64 {
	if f.MemAvailableAfter >= f.MemAvailableBefore {
		return 0
	}
	return perN(f.MemAvailableBefore-f.MemAvailableAfter, f.Created)
}

// ProjectedInstances is how many HAProxy instances (half a load balancer
// each) fit in the memory that was available before, at perLB bytes per
// load balancer: an extrapolation, not a measurement.
func (f FootprintResult) ProjectedInstances(perLB uint64) int {
	if perLB == 0 {
		return 0
	}
	return int(2 * f.MemAvailableBefore / perLB)
}

func perN(total uint64, n int) uint64 {
	if n <= 0 {
		return 0
	}
	return total / uint64(n)
}

// footprint has a named result: the deferred teardown records its time.
func (tp *dpTopo) footprint(ctx context.Context, o DataplaneOptions) (res FootprintResult) {
	res.Requested = o.LoadBalancers
	// Networks of their own, /16s: room for any N without touching the
	// seed's /24s.
	vnet, err := tp.api.Create("/v2.0/networks", "network", map[string]any{"name": "fp-vipnet"})
	if err != nil {
		res.Err = err.Error()
		return res
	}
	vipSub, err := tp.api.Create("/v2.0/subnets", "subnet", map[string]any{"name": "fp-vipsub", "network_id": str(vnet, "id"), "cidr": "20.2.0.0/16", "ip_version": 4})
	if err != nil {
		res.Err = err.Error()
		return res
	}
	pnet, err := tp.api.Create("/v2.0/networks", "network", map[string]any{"name": "fp-poolnet"})
	if err != nil {
		res.Err = err.Error()
		return res
	}
	poolSub, err := tp.api.Create("/v2.0/subnets", "subnet", map[string]any{"name": "fp-poolsub", "network_id": str(pnet, "id"), "cidr": "10.2.0.0/16", "ip_version": 4})
	if err != nil {
		res.Err = err.Error()
		return res
	}
	settle()
	agentsBefore := tp.agentsPSS()
	res.MemTotal, res.MemAvailableBefore = memInfo()

	start := time.Now()
	deadline := start.Add(o.FootprintTimeout)
	var pools, vips []string
	defer func() {
		t := time.Now()
		for _, v := range vips {
			_ = tp.api.Call("DELETE", "/v2.0/lb/vips/"+v, nil, nil)
		}
		for _, v := range vips {
			_ = tp.waitInstancesGone(ctx, v, time.Until(t.Add(3*time.Minute)))
		}
		for _, p := range pools {
			_ = tp.api.Call("DELETE", "/v2.0/lb/pools/"+p, nil, nil)
		}
		res.TeardownTime = time.Since(t)
		o.progress("footprint: teardown took %v", res.TeardownTime.Round(time.Millisecond))
	}()
	// Members point at addresses nobody holds: without a health monitor
	// HAProxy never connects to them, and memory does not depend on it.
	members := []string{"10.2.0.2/16", "10.2.0.3/16"}
	for i := range o.LoadBalancers {
		if time.Now().After(deadline) || ctx.Err() != nil {
			res.TimedOut = true
			break
		}
		id, err := tp.createPoolOn(fmt.Sprintf("fp%d", i), str(poolSub, "id"), members)
		if id != "" {
			pools = append(pools, id)
		}
		if err != nil {
			res.Err = err.Error()
			break
		}
		vip, err := tp.createVIPOn(fmt.Sprintf("fp%d", i), str(vipSub, "id"), id)
		if err != nil {
			res.Err = err.Error()
			break
		}
		vips = append(vips, str(vip, "id"))
	}
	active := 0
	for _, p := range pools {
		left := time.Until(deadline)
		if left <= 0 {
			res.TimedOut = true
			break
		}
		if err := tp.waitPoolActive(ctx, p, left); err != nil {
			res.TimedOut = true
			break
		}
		active++
	}
	res.CreateTime = time.Since(start)
	res.Created = active
	o.progress("footprint: %d of %d load balancers ACTIVE in %v", active, o.LoadBalancers, res.CreateTime.Round(time.Millisecond))
	settle()
	_, res.MemAvailableAfter = memInfo()
	for _, v := range vips[:min(active, len(vips))] {
		for _, d := range tp.instanceDirs(v) {
			pid, err := readPid(filepath.Join(d, "haproxy.pid"))
			if err != nil {
				continue
			}
			res.Instances++
			for _, q := range append([]int{pid}, childrenOf(pid)...) {
				pss, rss := procMem(q)
				res.HAProxyPSS += pss
				res.HAProxyRSS += rss
				res.Processes++
			}
		}
	}
	res.AgentsDelta = int64(tp.agentsPSS()) - int64(agentsBefore)
	return res
}

// settle gives freed and lazily allocated memory a moment, so that
// MemAvailable is read in a steady state.
func settle() { time.Sleep(2 * time.Second) }

// memInfo returns MemTotal and MemAvailable in bytes.
func memInfo() (total, avail uint64) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseUint(f[1], 10, 64)
		switch f[0] {
		case "MemTotal:":
			total = v * 1024
		case "MemAvailable:":
			avail = v * 1024
		}
	}
	return total, avail
}

// procMem returns a process's PSS (from smaps_rollup; RSS when that is
// missing) and RSS, in bytes.
func procMem(pid int) (pss, rss uint64) {
	field := func(path, key string) (uint64, bool) {
		b, err := os.ReadFile(path)
		if err != nil {
			return 0, false
		}
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, key); ok {
				f := strings.Fields(rest)
				if len(f) > 0 {
					v, err := strconv.ParseUint(f[0], 10, 64)
					return v * 1024, err == nil
				}
			}
		}
		return 0, false
	}
	rss, _ = field(fmt.Sprintf("/proc/%d/status", pid), "VmRSS:")
	pss, ok := field(fmt.Sprintf("/proc/%d/smaps_rollup", pid), "Pss:")
	if !ok {
		pss = rss
	}
	return pss, rss
}

// agentsPSS sums the PSS of the cluster's agent processes, found by their
// --state-dir argument.
func (tp *dpTopo) agentsPSS() uint64 {
	want := map[string]bool{}
	for _, a := range tp.c.Agents() {
		want[a.StateDir] = true
	}
	var sum uint64
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		for i := 0; i+1 < len(args); i++ {
			if args[i] == "--state-dir" && want[args[i+1]] && len(args) > 1 && args[1] == "agent" {
				pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
				pss, _ := procMem(pid)
				sum += pss
				break
			}
		}
	}
	return sum
}

package up

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"lbaas/internal/netns"
	"lbaas/internal/proc"
)

// resignGrace is how long a resigning node's keepalived outlives its
// HAProxy: ample for the process-events notice and the priority-0 advert.
const resignGrace = 50 * time.Millisecond

// NodeDeath says how a node dies.
type NodeDeath int

const (
	// Silent is a power loss: every process of the node stops at the same
	// instant, so none can tell its peers (no VRRP priority 0); the peer
	// notices only the missing adverts.
	Silent NodeDeath = iota
	// Resigning kills the node's HAProxy processes first: its keepalived
	// sees them go and resigns (priority 0) before it is killed in turn,
	// as on a node whose services crash one after the other.
	Resigning
)

func (d NodeDeath) String() string {
	if d == Resigning {
		return "resigning"
	}
	return "silent"
}

// KillNode simulates the sudden death of a node: its agent and every
// process the agent started (HAProxy, keepalived) get SIGKILL, and the
// node's namespaces disappear, as its network presence would. It returns
// the pids it killed.
func (c *Cluster) KillNode(node string, how NodeDeath) ([]int, error) {
	c.mu.Lock()
	a := c.agents[node]
	c.mu.Unlock()
	if a == nil {
		return nil, fmt.Errorf("no node %s", node)
	}
	// Every process first, while all still run.
	var namespaces []string
	var haproxies, keepaliveds []int
	for _, d := range mustGlob(filepath.Join(a.StateDir, "loadbalancer", "*")) {
		for _, pidFile := range mustGlob(filepath.Join(d, "*.pid")) {
			if pid, ok := ownedPid(pidFile, d); ok {
				haproxies = append(haproxies, append(proc.Children(pid), pid)...)
			}
		}
		for _, pidFile := range mustGlob(filepath.Join(d, "keepalived", "*.pid")) {
			if pid, ok := ownedPid(pidFile, d); ok {
				keepaliveds = append(keepaliveds, append(proc.Children(pid), pid)...)
			}
		}
		if ns := recordedNamespace(d); ns != "" {
			namespaces = append(namespaces, ns)
		}
	}
	// A network node's router: its arbiter and its keepalived die with
	// the node, and so does its namespace.
	var routers []int
	if strings.HasPrefix(node, "network-") {
		dir := filepath.Join(a.StateDir, "router")
		for _, pidFile := range append(mustGlob(filepath.Join(dir, "*.pid")), mustGlob(filepath.Join(dir, "keepalived", "*.pid"))...) {
			if pid, ok := ownedPid(pidFile, dir); ok && !slices.Contains(routers, pid) {
				routers = append(routers, append(proc.Children(pid), pid)...)
			}
		}
		namespaces = append(namespaces, c.RouterNamespaceOf(node))
	}
	var killed []int
	kill := func(pids []int) {
		for _, p := range pids {
			if syscall.Kill(p, syscall.SIGKILL) == nil {
				killed = append(killed, p)
			}
		}
	}
	agentAlive := a.cmd != nil && a.cmd.Process != nil && a.running()
	if how == Silent {
		// Frozen together, then killed: none of them runs another
		// instruction, so no VRRP process sees HAProxy go and resigns.
		if agentAlive {
			_ = syscall.Kill(-a.cmd.Process.Pid, syscall.SIGSTOP)
		}
		for _, p := range slices.Concat(keepaliveds, haproxies, routers) {
			_ = syscall.Kill(p, syscall.SIGSTOP)
		}
	}
	if agentAlive {
		// The agent runs in a process group of its own.
		_ = syscall.Kill(-a.cmd.Process.Pid, syscall.SIGKILL)
		<-a.done
		killed = append(killed, a.cmd.Process.Pid)
	}
	kill(haproxies)
	if how == Resigning {
		// keepalived hears of HAProxy's death from the kernel within a
		// millisecond or two; let it send its priority 0.
		time.Sleep(resignGrace)
	}
	kill(keepaliveds)
	kill(routers)
	if c.o.Hosts {
		// The host is gone from the network: its fabric (and with it the
		// VXLAN devices) and its own namespace.
		namespaces = append(namespaces, c.HostFabric(node), c.HostNamespace(node))
	}
	for _, ns := range namespaces {
		_ = netns.Delete(ns)
	}
	// A measure taken on a node that did not die would be a lie: check.
	var survivors []int
	for _, p := range slices.Concat(haproxies, keepaliveds, routers) {
		for end := time.Now().Add(2 * time.Second); proc.Alive(p) && time.Now().Before(end); {
			time.Sleep(5 * time.Millisecond)
		}
		if proc.Alive(p) {
			survivors = append(survivors, p)
		}
	}
	if len(namespaces) > 0 && len(haproxies) == 0 && len(routers) == 0 || len(survivors) > 0 {
		return killed, fmt.Errorf("node %s did not die whole: %d namespaces, %d HAProxy, %d keepalived and %d router processes found, %v still alive",
			node, len(namespaces), len(haproxies), len(keepaliveds), len(routers), survivors)
	}
	return killed, nil
}

// ownedPid reads a pid file and checks that the process's command line
// names a file under dir, so that a recycled pid is never signalled.
func ownedPid(pidFile, dir string) (int, bool) {
	pid, err := proc.ReadPidFile(pidFile)
	if err != nil || !proc.Mentions(pid, dir) {
		return 0, false
	}
	return pid, true
}

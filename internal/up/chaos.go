package up

import (
	"fmt"
	"path/filepath"
	"syscall"

	"lbaas/internal/netns"
	"lbaas/internal/proc"
)

// KillNode simulates the sudden death of a node: its agent and every
// process the agent started (HAProxy, keepalived) get SIGKILL, and the
// node's namespaces disappear, as its network presence would. It returns
// the pids it killed.
func (c *Cluster) KillNode(node string) ([]int, error) {
	c.mu.Lock()
	a := c.agents[node]
	c.mu.Unlock()
	if a == nil {
		return nil, fmt.Errorf("no node %s", node)
	}
	var killed []int
	if a.cmd != nil && a.cmd.Process != nil {
		// The agent runs in a process group of its own.
		_ = syscall.Kill(-a.cmd.Process.Pid, syscall.SIGKILL)
		<-a.done
		killed = append(killed, a.cmd.Process.Pid)
	}
	for _, d := range mustGlob(filepath.Join(a.StateDir, "loadbalancer", "*")) {
		for _, pidFile := range append(mustGlob(filepath.Join(d, "*.pid")), mustGlob(filepath.Join(d, "keepalived", "*.pid"))...) {
			pid, ok := ownedPid(pidFile, d)
			if !ok {
				continue
			}
			for _, p := range append(proc.Children(pid), pid) {
				if syscall.Kill(p, syscall.SIGKILL) == nil {
					killed = append(killed, p)
				}
			}
		}
		if ns := recordedNamespace(d); ns != "" {
			_ = netns.Delete(ns)
		}
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

package up

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"lbaas/internal/netns"
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
			for _, p := range append(children(pid), pid) {
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
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return 0, false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !bytes.Contains(cmdline, []byte(dir)) {
		return 0, false
	}
	return pid, true
}

// children returns the pids whose parent is pid.
func children(pid int) []int {
	var out []int
	for _, stat := range mustGlob("/proc/[0-9]*/stat") {
		b, err := os.ReadFile(stat)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may contain spaces, so cut at ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			if p, err := strconv.Atoi(filepath.Base(filepath.Dir(stat))); err == nil {
				out = append(out, p)
			}
		}
	}
	return out
}

package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"lbaas/internal/netns"
	"lbaas/internal/vrrp"
)

// foVM is one VM of the pair as the service-instance API names it, with
// its files in the node's agent state directory.
type foVM struct {
	Node, Namespace, Dir string
}

// pair returns the load balancer's VMs from GET
// /v2.0/lbaas-service-instances/{pool-id}, with the instance's status and
// "ha" summary.
func (ft *dpTopo) pair() (vms []foVM, status, ha string, err error) {
	var out struct {
		SI struct {
			Status string `json:"status"`
			HA     string `json:"ha"`
			VMs    []struct {
				Node      string `json:"node"`
				Namespace string `json:"namespace"`
			} `json:"vms"`
		} `json:"service_instance"`
	}
	if err := ft.api.Call("GET", "/v2.0/lbaas-service-instances/"+ft.vipID, nil, &out); err != nil {
		return nil, "", "", err
	}
	agents := ft.c.Agents()
	for _, v := range out.SI.VMs {
		vm := foVM{Node: v.Node, Namespace: v.Namespace}
		if a := agents[v.Node]; a != nil {
			vm.Dir = filepath.Join(a.StateDir, "loadbalancer", ft.vipID)
		}
		vms = append(vms, vm)
	}
	return vms, out.SI.Status, out.SI.HA, nil
}

// holdsVIP reports whether the VM's vip0 carries the VIP now (a missing
// namespace or link carries nothing).
func (ft *dpTopo) holdsVIP(vm foVM) bool {
	addrs, _ := netns.Addresses(vm.Namespace, "vip0")
	for _, a := range addrs {
		if a.Addr().String() == ft.vipAddr {
			return true
		}
	}
	return false
}

// holder names the node(s) whose VM holds the VIP: "" for none, "a+b" for
// both (split brain).
func (ft *foTopo) holder(vms []foVM) string {
	var h []string
	for _, vm := range vms {
		if ft.holdsVIP(vm) {
			h = append(h, vm.Node)
		}
	}
	return strings.Join(h, "+")
}

// activeOf returns the VM holding the VIP and the other one.
func (ft *foTopo) activeOf(vms []foVM) (active, standby foVM, err error) {
	n := 0
	for _, vm := range vms {
		if ft.holdsVIP(vm) {
			active, n = vm, n+1
		} else {
			standby = vm
		}
	}
	if n != 1 || len(vms) != 2 {
		return active, standby, fmt.Errorf("bench: want one of two VMs holding the VIP, got %d of %d", n, len(vms))
	}
	return active, standby, nil
}

// keepalivedState is what the instance's notify script last recorded.
func keepalivedState(vm foVM) string {
	return vrrp.Recorded(vrrp.PathsIn(filepath.Join(vm.Dir, "keepalived"))).State
}

// haproxyMaster returns the instance's live HAProxy master (checked
// against its command line, so that a recycled pid is never taken).
func haproxyMaster(vm foVM) (int, bool) {
	pid, err := readPid(filepath.Join(vm.Dir, "haproxy.pid"))
	if err != nil || pid <= 1 {
		return 0, false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !bytes.Contains(cmdline, []byte(vm.Dir)) {
		return 0, false
	}
	return pid, true
}

// killHAProxy SIGKILLs the instance's HAProxy master and workers, as a
// crash would.
func killHAProxy(vm foVM) error {
	pid, ok := haproxyMaster(vm)
	if !ok {
		return fmt.Errorf("bench: no live HAProxy in %s", vm.Dir)
	}
	for _, p := range append(childrenOf(pid), pid) {
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
	return nil
}

// settledState says why the pair is not settled yet ("" when it is).
func (ft *foTopo) settledState() string {
	if st, err := ft.poolStatus(ft.poolID); err != nil || st != "ACTIVE" {
		return fmt.Sprintf("pool %q %v", st, err)
	}
	vms, status, ha, err := ft.pair()
	if err != nil || status != "ACTIVE" || len(vms) != 2 {
		return fmt.Sprintf("service instance %q (%s) %v", status, ha, err)
	}
	active, standby, err := ft.activeOf(vms)
	if err != nil {
		return err.Error()
	}
	if s := keepalivedState(active); s != vrrp.StateMaster {
		return "active keepalived " + s
	}
	if s := keepalivedState(standby); s != vrrp.StateBackup {
		return "standby keepalived " + s
	}
	for _, vm := range vms {
		if _, ok := haproxyMaster(vm); !ok {
			return "no HAProxy on " + vm.Node
		}
	}
	return ""
}

// waitSettled waits (bounded) until the pool and its service instance
// are ACTIVE, one VM holds the VIP as MASTER and the other is BACKUP,
// both HAProxy run, and the floating IP answers: a whole pair, ready for
// the next blow.
func (ft *foTopo) waitSettled(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	why := ""
	for time.Now().Before(deadline) {
		if why = ft.settledState(); why == "" {
			// Two checks in a row: a status can lag a change by a report.
			if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
				return err
			}
			if why = ft.settledState(); why == "" {
				return waitServed(ctx, ft.pubClient, ft.url(), time.Until(deadline)+time.Second)
			}
		}
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
	return fmt.Errorf("bench: pair not settled within %v: %s%s", limit, why, ft.pairDiagnosis())
}

// pairDiagnosis describes each VM's keepalived for a settle failure: its
// processes and the last lines of its log, so that a failure in CI (where
// the cluster is gone by the time anyone looks) can still be explained.
func (ft *foTopo) pairDiagnosis() string {
	vms, _, _, err := ft.pair()
	if err != nil {
		return "; pair: " + err.Error()
	}
	var b strings.Builder
	for _, vm := range vms {
		p := vrrp.PathsIn(filepath.Join(vm.Dir, "keepalived"))
		parent, _ := readPid(p.PidFile)
		child, _ := readPid(p.VRRPPidFile)
		fmt.Fprintf(&b, "\n  %s (%s): VIP %v, keepalived pid %d (alive %v), vrrp pid %d (alive %v), state file %q, log tail:",
			vm.Node, vm.Namespace, ft.holdsVIP(vm), parent, pidAlive(parent), child, pidAlive(child), keepalivedState(vm))
		log, _ := os.ReadFile(p.Log)
		lines := strings.Split(strings.TrimSpace(string(log)), "\n")
		if len(lines) > 12 {
			lines = lines[len(lines)-12:]
		}
		for _, l := range lines {
			b.WriteString("\n    " + l)
		}
	}
	return b.String()
}

// pidAlive says whether a process with that pid exists.
func pidAlive(pid int) bool {
	return pid > 1 && syscall.Kill(pid, 0) == nil
}

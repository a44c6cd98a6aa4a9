package e2e

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"lbaas/internal/netns"
)

// instance is one VM of a pool as its agent keeps it on disk: what the
// tests can see of the data plane without an API for it.
type instance struct {
	node      string
	dir       string // <state-dir>/loadbalancer/<pool-id>
	namespace string
	siID      string
}

// instances lists the pool's VMs found in the agents' state directories,
// sorted by node.
func (tp *topo) instances(poolID string) []instance {
	tp.t.Helper()
	return tp.instancesOf(tp.lbID(poolID))
}

// instancesOf lists a load balancer's VMs found in the agents' state
// directories, sorted by node.
func (tp *topo) instancesOf(lb string) []instance {
	tp.t.Helper()
	var out []instance
	for node, a := range tp.c.Agents() {
		dir := filepath.Join(a.StateDir, "loadbalancer", lb)
		b, err := os.ReadFile(filepath.Join(dir, "vm.json"))
		if err != nil {
			continue
		}
		var vm struct {
			Namespace string `json:"namespace"`
			SIID      string `json:"si_id"`
		}
		if err := json.Unmarshal(b, &vm); err != nil {
			tp.t.Fatalf("%s/vm.json: %v", dir, err)
		}
		out = append(out, instance{node: node, dir: dir, namespace: vm.Namespace, siID: vm.SIID})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].node < out[j].node })
	return out
}

// active returns the instance whose namespace holds the VIP address.
func (tp *topo) active(poolID, vipAddr string) instance {
	tp.t.Helper()
	want := netip.MustParseAddr(vipAddr)
	for _, in := range tp.instances(poolID) {
		addrs, _ := netns.Addresses(in.namespace, "vip0")
		for _, a := range addrs {
			if a.Addr() == want {
				return in
			}
		}
	}
	tp.t.Fatalf("no instance of pool %s holds the VIP %s", poolID, vipAddr)
	return instance{}
}

// masterPID is the live HAProxy master recorded in the instance's pid file.
// HAProxy's master unlinks and recreates that file each time it executes
// itself (at every reload), so a read that finds it missing or empty is
// retried for a moment: tests poll it while reloads run.
func (in instance) masterPID(t *testing.T) int {
	t.Helper()
	var b []byte
	var err error
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		b, err = os.ReadFile(filepath.Join(in.dir, "haproxy.pid"))
		if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && perr == nil && pidAlive(pid) {
			return pid
		}
		if time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("%s: %v", in.node, err)
	}
	t.Fatalf("%s: haproxy.pid %q does not name a live process", in.node, b)
	return 0
}

// config returns the rendered haproxy.cfg.
func (in instance) config(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(in.dir, "etc", "haproxy", "haproxy.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// process is an HAProxy master and its workers: a reload changes the
// workers (the master re-executes in place and keeps its pid).
type process struct {
	master  int
	workers []int
}

func (p process) String() string { return fmt.Sprintf("master %d workers %v", p.master, p.workers) }

func (p process) equal(o process) bool {
	return p.master == o.master && slices.Equal(p.workers, o.workers)
}

// processOf reads the instance's master and the master's children.
func (in instance) processOf(t *testing.T) process {
	t.Helper()
	pid := in.masterPID(t)
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		t.Fatal(err)
	}
	p := process{master: pid}
	for _, f := range strings.Fields(string(b)) {
		if w, err := strconv.Atoi(f); err == nil {
			p.workers = append(p.workers, w)
		}
	}
	sort.Ints(p.workers)
	return p
}

// pidAlive reports whether pid runs (a zombie does not count).
func pidAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i >= 0 && i+2 < len(b) && b[i+2] != 'Z' && b[i+2] != 'X'
}

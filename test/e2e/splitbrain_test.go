package e2e

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"lbaas/internal/agent"
	"lbaas/internal/haproxy"
	"lbaas/internal/netns"
)

// partition drops VRRP between two instances, in both directions, inside
// their own namespaces: each stops hearing the other while the router
// still hears both. Matching the sender's address drops the router's
// relayed adverts as well (they carry it): the router can only pin.
func partition(t *testing.T, a, b instance, aAddr, bAddr string) func() {
	t.Helper()
	return dropVRRP(t, a, b, "ip saddr "+bAddr, "ip saddr "+aAddr)
}

// linkPartition breaks only the path between the two VMs: frames from the
// other VM's MAC are dropped, frames the router forwards are not.
func linkPartition(t *testing.T, a, b instance) func() {
	t.Helper()
	return dropVRRP(t, a, b, "ether saddr "+vipMAC(t, b), "ether saddr "+vipMAC(t, a))
}

// dropVRRP drops VRRP matching fromB in a and fromA in b, counting what it drops.
func dropVRRP(t *testing.T, a, b instance, fromB, fromA string) func() {
	t.Helper()
	rule := func(in instance, match string) {
		script := fmt.Sprintf("table ip lbt_partition {\n chain in {\n  type filter hook input priority 0;\n  %s ip protocol 112 counter drop\n }\n}\n", match)
		cmd := exec.Command("ip", "netns", "exec", in.namespace, "nft", "-f", "-")
		cmd.Stdin = strings.NewReader(script)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("partition %s: %v %s", in.namespace, err, out)
		}
	}
	rule(a, fromB)
	rule(b, fromA)
	return func() {
		for _, in := range []instance{a, b} {
			_ = exec.Command("ip", "netns", "exec", in.namespace, "nft", "delete", "table", "ip", "lbt_partition").Run()
		}
	}
}

// sessions is the total of sessions an instance's frontend served.
func (tp *topo) sessions(t *testing.T, in instance, poolID string) uint64 {
	t.Helper()
	// The socket is the load balancer's, and a v1 VIP's listener has the
	// VIP's (the load balancer's) id.
	lb := tp.lbID(poolID)
	sock := filepath.Join(agent.RunDir(tp.c.Agents()[in.node].StateDir), lb+".sock")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := haproxy.Client{Socket: sock}.ShowStat(ctx)
	if err != nil {
		t.Fatalf("stats of %s: %v", in.node, err)
	}
	for _, f := range st.Frontends {
		if f.Proxy == haproxy.FrontendName(lb) {
			return f.TotalSessions
		}
	}
	t.Fatalf("no frontend in the stats of %s", in.node)
	return 0
}

func holdsVIP(in instance, vip string) bool {
	addrs, _ := netns.Addresses(in.namespace, "vip0")
	for _, a := range addrs {
		if a.Addr().String() == vip {
			return true
		}
	}
	return false
}

// TestPartitionBetweenTheVMsCreatesNoSecondActive cuts VRRP between the
// two VMs of a load balancer (the router still reaches both). The standby
// stops hearing the active and becomes MASTER too; the router's arbiter
// keeps sending the VIP's traffic to the VM that held it, so the second
// MASTER serves nothing and no request fails.
func TestPartitionBetweenTheVMsCreatesNoSecondActive(t *testing.T) {
	needKeepalived(t)
	tp := startTopo(t)
	poolID, vipAddr, fip, active, standby := tp.pair("split")
	addrOf := func(in instance) string {
		addrs, _ := netns.Addresses(in.namespace, "vip0")
		for _, a := range addrs {
			if a.Addr().String() != vipAddr {
				return a.Addr().String()
			}
		}
		t.Fatalf("no own address on %s", in.namespace)
		return ""
	}
	p := tp.probe("http://"+fip+"/", 10*time.Millisecond, 60*time.Second)
	p.waitOK(t, 30, 10*time.Second)
	standbyBefore := tp.sessions(t, standby, poolID)

	heal := partition(t, active, standby, addrOf(active), addrOf(standby))
	defer heal()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && !holdsVIP(standby, vipAddr) {
		time.Sleep(20 * time.Millisecond)
	}
	if !holdsVIP(standby, vipAddr) || !holdsVIP(active, vipAddr) {
		t.Fatalf("the partition did not make both VMs MASTER (active holds VIP: %v, standby: %v); the test proves nothing", holdsVIP(active, vipAddr), holdsVIP(standby, vipAddr))
	}
	time.Sleep(3 * time.Second) // both MASTER, both sending gratuitous ARPs
	served := tp.sessions(t, standby, poolID) - standbyBefore
	heal()
	time.Sleep(time.Second)
	ws := p.stop()
	ok, failed := p.count()
	t.Logf("partition: both VMs held the VIP for 3s; the second MASTER (%s) served %d sessions; %d requests, %d failed", standby.node, served, ok+failed, failed)
	if served != 0 {
		t.Fatalf("the second MASTER on %s took %d sessions", standby.node, served)
	}
	if failed != 0 || len(ws) != 0 {
		t.Fatalf("requests failed during the partition: %d, windows %v", failed, ws)
	}
	// After healing, one VM yields; traffic keeps flowing (checked above)
	// and a single VM holds the VIP again.
	deadline = time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && holdsVIP(active, vipAddr) && holdsVIP(standby, vipAddr) {
		time.Sleep(50 * time.Millisecond)
	}
	if holdsVIP(active, vipAddr) && holdsVIP(standby, vipAddr) {
		t.Fatal("both VMs still hold the VIP after the partition healed")
	}
}

func vipMAC(t *testing.T, in instance) string {
	t.Helper()
	var mac string
	err := netns.Do(in.namespace, func() error {
		ifc, err := net.InterfaceByName("vip0")
		if err == nil {
			mac = ifc.HardwareAddr.String()
		}
		return err
	})
	if err != nil {
		t.Fatalf("vip0 of %s: %v", in.namespace, err)
	}
	return mac
}

// droppedVRRP is how many adverts an instance's partition rule dropped.
func droppedVRRP(t *testing.T, in instance) int {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", in.namespace, "nft", "list", "table", "ip", "lbt_partition").CombinedOutput()
	if err != nil {
		t.Fatalf("partition counters of %s: %v %s", in.namespace, err, out)
	}
	_, rest, ok := strings.Cut(string(out), "counter packets ")
	if !ok {
		t.Fatalf("no counter in %s", out)
	}
	n, _ := strconv.Atoi(strings.Fields(rest)[0])
	return n
}

// TestRouterRelayKeepsTheStandbyBackupWhenTheVMsLoseEachOther breaks the
// path between the two VMs only. The router still hears the active and
// relays its adverts to the standby, which therefore never becomes a
// second MASTER: no gratuitous ARP from it, for any client on any network.
func TestRouterRelayKeepsTheStandbyBackupWhenTheVMsLoseEachOther(t *testing.T) {
	needKeepalived(t)
	tp := startTopo(t)
	_, vipAddr, fip, active, standby := tp.pair("relay")
	p := tp.probe("http://"+fip+"/", 10*time.Millisecond, 60*time.Second)
	p.waitOK(t, 30, 10*time.Second)

	heal := linkPartition(t, active, standby)
	defer heal()
	// Ten times the standby's master-down interval.
	until := time.Now().Add(3 * time.Second)
	for time.Now().Before(until) {
		if holdsVIP(standby, vipAddr) {
			t.Fatalf("the standby on %s became MASTER although the router relays the active's adverts", standby.node)
		}
		time.Sleep(10 * time.Millisecond)
	}
	dropped := droppedVRRP(t, standby)
	heal()
	if dropped < 30 {
		t.Fatalf("only %d direct adverts of the active were dropped: the partition did not cut the VMs apart, the test proves nothing", dropped)
	}
	if !holdsVIP(active, vipAddr) {
		t.Fatal("the active lost the VIP")
	}
	ws := p.stop()
	ok, failed := p.count()
	t.Logf("link partition for 3s: %d direct adverts dropped at the standby, which stayed BACKUP; %d requests, %d failed", dropped, ok+failed, failed)
	if failed != 0 || len(ws) != 0 {
		t.Fatalf("requests failed during the partition: %d, windows %v", failed, ws)
	}
}

// pair creates a load balancer and returns its pool, VIP and floating
// addresses and the instance holding the VIP and the other one.
func (tp *topo) pair(name string) (poolID, vipAddr, fip string, active, standby instance) {
	tp.t.Helper()
	pool, vip, fip := tp.lb(name, map[string]any{}, map[string]any{})
	poolID, vipAddr = pool["id"].(string), vip["address"].(string)
	active = tp.active(poolID, vipAddr)
	for _, in := range tp.instances(poolID) {
		if in.node != active.node {
			standby = in
		}
	}
	return poolID, vipAddr, fip, active, standby
}

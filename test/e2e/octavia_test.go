package e2e

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"lbaas/internal/up"
)

// TestOctaviaWorkflowPassesWithTheRealOpenstackClient runs the Octavia
// acceptance script unchanged with the real `openstack loadbalancer` CLI
// against a cluster with agents. Every mutating command waits (--wait), so
// each object must really become ACTIVE on the data plane. The objects are
// kept, and traffic must then flow through the listener the script built,
// from a client on the Public network through the floating IP it mapped.
func TestOctaviaWorkflowPassesWithTheRealOpenstackClient(t *testing.T) {
	// A client workflow: it runs beside the others after the rest of the
	// package (see workflowsInParallel).
	t.Parallel()
	openstack, err := exec.LookPath("openstack")
	if err != nil {
		t.Skip("the openstack CLI (Debian python3-openstackclient and python3-octaviaclient) is not installed")
	}
	octaviaWorkflowServes(t, startCluster(t), openstack)
}

// octaviaWorkflowServes runs the Octavia acceptance script with the real
// client and then sends traffic through what it built.
func octaviaWorkflowServes(t *testing.T, tp *topo, openstack string) {
	octaviaWorkflowServesWith(t, tp, []string{"LBAAS_URL=" + tp.c.URL, "OCTAVIA_URL=" + tp.c.OctaviaURL, "LBAAS_TOKEN=" + tp.c.AdminToken,
		"OPENSTACK=" + openstack, "SEED_KEEP=1"})
}

// octaviaWorkflowServesWith is octaviaWorkflowServes with the script's
// environment given (the caller's OS_* variables are not passed on).
func octaviaWorkflowServesWith(t *testing.T, tp *topo, env []string) {
	script := sharedFile(t, "api/octavia-workflow.sh")
	cmd := exec.Command("bash", script)
	cmd.Env = append(withoutOS(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "OCTAVIA WORKFLOW PASSED") {
		t.Fatalf("octavia workflow failed: %v\n%s\n%s", err, tail(string(out), 60), failedLine(string(out)))
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	t.Log(lines[len(lines)-1])

	// What the script left: lb1 with an HTTP listener on 80, pool1 with
	// members 10.1.1.2 and 10.1.1.3 on poolnet, an HTTP monitor, and a
	// floating IP on the VIP's port.
	octavia := &up.API{URL: tp.c.OctaviaURL + "/v2", Token: tp.c.AdminToken, HTTP: tp.api.HTTP}
	var lbs struct {
		LBs []map[string]any `json:"loadbalancers"`
	}
	if err := octavia.Call("GET", "/lbaas/loadbalancers?name=lb1", nil, &lbs); err != nil || len(lbs.LBs) != 1 {
		t.Fatalf("lb1 after the workflow: %v %v", lbs.LBs, err)
	}
	port := lbs.LBs[0]["vip_port_id"].(string)
	var nets struct {
		Networks []map[string]any `json:"networks"`
	}
	if err := tp.api.Call("GET", "/v2.0/networks?name=poolnet", nil, &nets); err != nil || len(nets.Networks) != 1 {
		t.Fatalf("poolnet: %v %v", nets.Networks, err)
	}
	tp.startBackends(nets.Networks[0]["id"].(string))
	// The members were down while nothing answered at their addresses;
	// with the script's monitor (delay 30 s, three successes to come up)
	// they would take 90 s to return: make it check every second.
	var hms struct {
		HMs []map[string]any `json:"healthmonitors"`
	}
	if err := octavia.Call("GET", "/lbaas/healthmonitors?name=hm1", nil, &hms); err != nil || len(hms.HMs) != 1 {
		t.Fatalf("hm1: %v %v", hms.HMs, err)
	}
	body := map[string]any{"healthmonitor": map[string]any{"delay": 1, "timeout": 1}}
	if err := octavia.Call("PUT", "/lbaas/healthmonitors/"+hms.HMs[0]["id"].(string), body, nil); err != nil {
		t.Fatal(err)
	}
	var fips struct {
		FIPs []map[string]any `json:"floatingips"`
	}
	if err := tp.api.Call("GET", "/v2.0/floatingips?port_id="+port, nil, &fips); err != nil || len(fips.FIPs) != 1 {
		t.Fatalf("the floating IP of the VIP port: %v %v", fips.FIPs, err)
	}
	url := "http://" + fips.FIPs[0]["floating_ip_address"].(string) + "/"
	seen := map[string]int{}
	deadline := time.Now().Add(30 * time.Second)
	for len(seen) < 2 && time.Now().Before(deadline) {
		// The monitor brings the members up once the backends answer.
		if body, err := tp.get(url); err == nil {
			seen[body]++
		} else {
			time.Sleep(200 * time.Millisecond)
		}
	}
	if len(seen) < 2 {
		t.Fatalf("through the workflow's listener: answers %v within 30s, want both members", seen)
	}
	t.Logf("through the workflow's listener and floating IP: %v", seen)
}

// TestOctaviaWorkflowPassesWithTheLbaasCLI runs the same script with our
// own CLI in place of `openstack`: its loadbalancer, network, subnet and
// floating ip verbs take the openstack CLI's command lines and print its
// `| Field | Value |` tables. Every mutating command waits, and the
// script's teardown (deletes with --wait, the cascading delete, the
// network deletes) runs too.
func TestOctaviaWorkflowPassesWithTheLbaasCLI(t *testing.T) {
	// A client workflow: it runs beside the others after the rest of the
	// package (see workflowsInParallel).
	t.Parallel()
	tp := startCluster(t)
	script := sharedFile(t, "api/octavia-workflow.sh")
	cmd := exec.Command("bash", script)
	cmd.Env = append(withoutOS(), "LBAAS_URL="+tp.c.URL, "OCTAVIA_URL="+tp.c.OctaviaURL, "LBAAS_TOKEN="+tp.c.AdminToken,
		"OPENSTACK="+lbaasBin)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "OCTAVIA WORKFLOW PASSED") {
		t.Fatalf("octavia workflow with the lbaas CLI failed: %v\n%s\n%s", err, tail(string(out), 60), failedLine(string(out)))
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	t.Log(lines[len(lines)-1])
}

// failedLine returns the script's own account of the step that failed.
func failedLine(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "WORKFLOW FAILED") {
			return l
		}
	}
	return ""
}

// TestFailoverThroughTheAPIRebuildsBothVMsWithAtMostOneWindow asks for an
// Octavia failover under traffic: both VMs are rebuilt (new namespaces on
// the same nodes), one after the other, and clients see at most one short
// outage, when the active hands the VIP to the rebuilt standby.
func TestFailoverThroughTheAPIRebuildsBothVMsWithAtMostOneWindow(t *testing.T) {
	needKeepalived(t)
	tp := startTopo(t)
	pool, vip, fip := tp.lb("failover", map[string]any{}, map[string]any{})
	poolID, lbID := pool["id"].(string), vip["id"].(string)
	before := tp.instances(poolID)
	p := tp.probe("http://"+fip+"/", 10*time.Millisecond, 120*time.Second)
	p.waitOK(t, 30, 10*time.Second)

	octavia := &up.API{URL: tp.c.OctaviaURL + "/v2", Token: tp.c.AdminToken, HTTP: tp.api.HTTP}
	if err := octavia.Call("PUT", "/lbaas/loadbalancers/"+lbID+"/failover", nil, nil); err != nil {
		t.Fatal(err)
	}
	var rebuilt []instance
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		var out struct {
			LB map[string]any `json:"loadbalancer"`
		}
		if err := octavia.Call("GET", "/lbaas/loadbalancers/"+lbID, nil, &out); err == nil && out.LB["provisioning_status"] == "ACTIVE" {
			if rebuilt = tp.instances(poolID); len(rebuilt) == 2 && !sharesNamespace(before, rebuilt) {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(rebuilt) != 2 || sharesNamespace(before, rebuilt) {
		t.Fatalf("within 90s of the failover: VMs %v, before %v; want two new ones", rebuilt, before)
	}
	p.waitOK(t, 50, 10*time.Second)
	ws := p.stop()
	ok, failed := p.count()
	t.Logf("failover: %d requests, %d failed, windows %v", ok+failed, failed, ws)
	if len(ws) > 1 {
		t.Fatalf("a failover through the API caused %d windows, want at most one: %v", len(ws), ws)
	}
	for _, w := range ws {
		if w.length() > failoverBound {
			t.Fatalf("window %v longer than %v", w, failoverBound)
		}
	}
	for i := range before {
		if before[i].node != rebuilt[i].node {
			t.Fatalf("the failover moved VMs to other nodes: %v then %v", before, rebuilt)
		}
	}
}

func sharesNamespace(a, b []instance) bool {
	for _, x := range a {
		for _, y := range b {
			if x.namespace == y.namespace {
				return true
			}
		}
	}
	return false
}

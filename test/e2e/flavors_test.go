package e2e

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"lbaas/internal/up"
)

// TestFlavorsAndZonesMadeWithTheOpenstackClientPlaceLoadBalancers: an
// admin publishes a SINGLE flavor and a zone over rack2 with the real
// openstack client; a load balancer in the zone runs its pair on rack2's
// two nodes only, and one of the SINGLE flavor runs one VM (STANDALONE)
// that serves through its floating IP.
func TestFlavorsAndZonesMadeWithTheOpenstackClientPlaceLoadBalancers(t *testing.T) {
	// A client workflow: it runs beside the others after the rest of the
	// package (see workflowsInParallel).
	t.Parallel()
	openstack, err := exec.LookPath("openstack")
	if err != nil {
		t.Skip("the openstack CLI (Debian python3-openstackclient and python3-octaviaclient) is not installed")
	}
	tp := startTopo(t, func(o *up.Options) {
		o.AgentFlags = map[string][]string{"compute-1": {"--availability-zone", "rack1"},
			"compute-2": {"--availability-zone", "rack2"}, "compute-3": {"--availability-zone", "rack2"}}
	})
	tp.osc(openstack, "flavorprofile", "create", "--name", "single-fp", "--provider", "lbaas", "--flavor-data", `{"loadbalancer_topology": "SINGLE"}`)
	flavor := tp.oscJSON(openstack, "flavor", "create", "--name", "single", "--flavorprofile", "single-fp", "--enable")
	tp.osc(openstack, "availabilityzoneprofile", "create", "--name", "rack2-p", "--provider", "lbaas", "--availability-zone-data", `{"compute_zone": "rack2"}`)
	tp.osc(openstack, "availabilityzone", "create", "--name", "rack2", "--availabilityzoneprofile", "rack2-p")
	if out := tp.osc(openstack, "availabilityzone", "list"); !strings.Contains(out, "rack2") {
		t.Fatalf("availabilityzone list:\n%s", out)
	}
	if out := tp.osc(openstack, "provider", "capability", "list", "lbaas"); !strings.Contains(out, "loadbalancer_topology") || !strings.Contains(out, "compute_zone") {
		t.Fatalf("provider capability list:\n%s", out)
	}

	zoned := tp.v2Create("/loadbalancers", "loadbalancer", map[string]any{"name": "zoned", "vip_subnet_id": tp.vipSub, "availability_zone": "rack2"})
	single := tp.v2Create("/loadbalancers", "loadbalancer", map[string]any{"name": "single", "vip_subnet_id": tp.vipSub, "flavor_id": flavor["id"]})
	if zoned["availability_zone"] != "rack2" || single["flavor_id"] != flavor["id"] {
		t.Fatalf("load balancers: %v %v", zoned, single)
	}
	l := tp.v2Create("/listeners", "listener", map[string]any{"loadbalancer_id": single["id"], "protocol": "HTTP", "protocol_port": 80})
	pool := tp.v2Create("/pools", "pool", map[string]any{"listener_id": l["id"], "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"})
	tp.v2Create("/pools/"+pool["id"].(string)+"/members", "member", map[string]any{"address": tp.backends[0].Addr.String(), "protocol_port": 80, "subnet_id": tp.poolSub})
	tp.v2WaitActive(single["id"].(string), 60*time.Second)
	fip := tp.create("/v2.0/floatingips", "floatingip", map[string]any{"floating_network_id": tp.public, "port_id": single["vip_port_id"]})["floating_ip_address"].(string)
	tp.waitServed("http://"+fip+"/", 30*time.Second)
	if ins := tp.instancesOf(single["id"].(string)); len(ins) != 1 {
		t.Errorf("a SINGLE load balancer's VMs: %v, want one", ins)
	}
	if out := tp.osc(openstack, "amphora", "list", "--loadbalancer", single["id"].(string), "-f", "value", "-c", "role"); strings.TrimSpace(out) != "STANDALONE" {
		t.Errorf("the SINGLE load balancer's amphora role: %q", out)
	}

	deadline := time.Now().Add(30 * time.Second)
	for {
		ins := tp.instancesOf(zoned["id"].(string))
		nodes := map[string]bool{}
		for _, in := range ins {
			nodes[in.node] = true
		}
		if len(ins) == 2 && nodes["compute-2"] && nodes["compute-3"] {
			break
		}
		if time.Now().After(deadline) || nodes["compute-1"] {
			t.Fatalf("the load balancer in zone rack2 runs on %v, want compute-2 and compute-3", ins)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := tp.v2().Call("DELETE", "/availabilityzones/rack2", nil, nil); err == nil || !strings.Contains(err.Error(), "409") {
		t.Fatalf("deleting a zone in use: %v, want 409", err)
	}
}

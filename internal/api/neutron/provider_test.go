package neutron_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

func TestTenantNetworksGetTheirOwnVNIAndAnMTUThatLeavesRoomForTheOverlay(t *testing.T) {
	a := create(t, alphaToken, "/v2.0/networks", "network", obj{"name": unique("vx")})
	b := create(t, betaToken, "/v2.0/networks", "network", obj{"name": unique("vx")})
	for _, n := range []obj{a, b} {
		if n["mtu"] != float64(1450) {
			t.Fatalf("a vxlan network over a 1500-byte underlay must have mtu 1450: %v", n)
		}
		for _, k := range []string{"provider:network_type", "provider:physical_network", "provider:segmentation_id"} {
			if _, ok := n[k]; ok {
				t.Fatalf("a tenant sees the admin-only %s: %v", k, n)
			}
		}
	}
	sa := show(t, adminToken, "/v2.0/networks/"+a["id"].(string), "network")
	sb := show(t, adminToken, "/v2.0/networks/"+b["id"].(string), "network")
	if sa["provider:network_type"] != "vxlan" || sa["provider:physical_network"] != nil {
		t.Fatalf("admin view of a tenant network: %v", sa)
	}
	va, _ := sa["provider:segmentation_id"].(float64)
	vb, _ := sb["provider:segmentation_id"].(float64)
	if va < 100 || vb < 100 || va > 100000 || vb > 100000 || va == vb {
		t.Fatalf("VNIs %v and %v: want two different ones from the range 100:100000", va, vb)
	}
	// Filtering on an admin-only attribute finds nothing for a tenant.
	if got := list(t, alphaToken, fmt.Sprintf("/v2.0/networks?provider:segmentation_id=%d", int(va)), "networks"); len(got) != 0 {
		t.Fatalf("a tenant filtered on provider:segmentation_id and got %v", got)
	}
	if got := list(t, adminToken, fmt.Sprintf("/v2.0/networks?provider:segmentation_id=%d", int(va)), "networks"); len(got) != 1 || got[0]["id"] != a["id"] {
		t.Fatalf("the admin's filter on the VNI: %v", got)
	}
}

func TestOnlyAnAdminSetsProviderAttributes(t *testing.T) {
	for _, body := range []obj{
		{"name": unique("p"), "provider:network_type": "vxlan"},
		{"name": unique("p"), "provider:segmentation_id": 4000},
		{"name": unique("p"), "provider:physical_network": "physnet1"},
	} {
		expectNeutronError(t, call(t, alphaToken, "POST", "/v2.0/networks", obj{"network": body}), http.StatusForbidden, "HTTPForbidden", "admin")
		if got := list(t, adminToken, "/v2.0/networks?name="+body["name"].(string), "networks"); len(got) != 0 {
			t.Fatalf("a refused network was stored: %v", got)
		}
	}
}

func TestProviderNetworksAreCheckedAndNoTwoShareASegment(t *testing.T) {
	post := func(body obj) resp { return call(t, adminToken, "POST", "/v2.0/networks", obj{"network": body}) }
	refused := func(code int, typ string, body obj, words ...string) {
		t.Helper()
		name := unique("bad")
		body["name"] = name
		expectNeutronError(t, post(body), code, typ, words...)
		if got := list(t, adminToken, "/v2.0/networks?name="+name, "networks"); len(got) != 0 {
			t.Fatalf("a refused network was stored: %v", got)
		}
	}
	refused(400, "InvalidInput", obj{"provider:network_type": "gre"}, "gre", "vxlan, vlan, flat")
	refused(400, "InvalidInput", obj{"provider:network_type": "vxlan", "provider:segmentation_id": 1 << 24}, "16777216")
	refused(400, "InvalidInput", obj{"provider:network_type": "vxlan", "provider:physical_network": "physnet1"}, "physical_network")
	refused(400, "InvalidInput", obj{"provider:network_type": "vlan", "provider:physical_network": "physnet1"}, "segmentation_id is required")
	refused(400, "InvalidInput", obj{"provider:network_type": "vlan", "provider:physical_network": "physnet1", "provider:segmentation_id": 4095}, "4095")
	refused(400, "InvalidInput", obj{"provider:network_type": "vlan", "provider:physical_network": "physnet9", "provider:segmentation_id": 10}, "physnet9", "physnet1")
	refused(400, "InvalidInput", obj{"provider:network_type": "flat"}, "physical_network is required")
	refused(400, "InvalidInput", obj{"provider:network_type": "flat", "provider:physical_network": "physnet2", "provider:segmentation_id": 3}, "must not be set")
	refused(400, "InvalidInput", obj{"mtu": 9000}, "mtu")

	vlan := post(obj{"name": unique("vlan"), "provider:network_type": "vlan", "provider:physical_network": "physnet1", "provider:segmentation_id": 100})
	expect(t, vlan, http.StatusCreated)
	if n := vlan.body["network"].(obj); n["mtu"] != float64(1500) || n["provider:segmentation_id"] != float64(100) || n["provider:physical_network"] != "physnet1" {
		t.Fatalf("vlan network as created: %v", n)
	}
	refused(409, "VlanIdInUse", obj{"provider:network_type": "vlan", "provider:physical_network": "physnet1", "provider:segmentation_id": 100}, "VLAN 100", "physnet1")
	// The same id on another physical network is another wire.
	other := post(obj{"name": unique("vlan"), "provider:network_type": "vlan", "provider:physical_network": "physnet2", "provider:segmentation_id": 100})
	expect(t, other, http.StatusCreated)

	flat := post(obj{"name": unique("flat"), "provider:network_type": "flat", "provider:physical_network": "physnet2"})
	expect(t, flat, http.StatusCreated)
	refused(409, "FlatNetworkInUse", obj{"provider:network_type": "flat", "provider:physical_network": "physnet2"}, "physnet2")

	vx := post(obj{"name": unique("vx"), "provider:network_type": "vxlan", "provider:segmentation_id": 7000000})
	expect(t, vx, http.StatusCreated)
	refused(409, "TunnelIdInUse", obj{"provider:network_type": "vxlan", "provider:segmentation_id": 7000000}, "7000000")

	// Deleting a network frees its segment.
	expect(t, call(t, adminToken, "DELETE", "/v2.0/networks/"+vlan.body["network"].(obj)["id"].(string), nil), http.StatusNoContent)
	expect(t, post(obj{"name": unique("vlan"), "provider:network_type": "vlan", "provider:physical_network": "physnet1", "provider:segmentation_id": 100}), http.StatusCreated)
}

func TestAProviderAttributeCannotChangeButMayBeRestated(t *testing.T) {
	n := create(t, adminToken, "/v2.0/networks", "network", obj{"name": unique("vx"), "provider:network_type": "vxlan", "provider:segmentation_id": 7000001})
	path := "/v2.0/networks/" + n["id"].(string)
	expectNeutronError(t, call(t, adminToken, "PUT", path, obj{"network": obj{"provider:segmentation_id": 7000002}}), 400, "InvalidInput", "cannot be changed")
	expectNeutronError(t, call(t, adminToken, "PUT", path, obj{"network": obj{"mtu": 1400}}), 400, "InvalidInput", "cannot be changed")
	expect(t, call(t, adminToken, "PUT", path, obj{"network": obj{"provider:segmentation_id": 7000001, "name": "renamed"}}), http.StatusOK)
	if got := show(t, adminToken, path, "network"); got["provider:segmentation_id"] != float64(7000001) || got["name"] != "renamed" {
		t.Fatalf("after restating the VNI: %v", got)
	}
}

func TestConcurrentNetworkCreatesNeverShareAVNI(t *testing.T) {
	const n = 12
	got := make([]float64, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := call(t, adminToken, "POST", "/v2.0/networks", obj{"network": obj{"name": unique("race")}})
			if r.code != http.StatusCreated {
				t.Errorf("create %d: %d %s", i, r.code, r.raw)
				return
			}
			got[i], _ = r.body["network"].(obj)["provider:segmentation_id"].(float64)
		}()
	}
	wg.Wait()
	seen := map[float64]bool{}
	for _, v := range got {
		if v == 0 || seen[v] {
			t.Fatalf("VNIs of concurrent creates: %v", got)
		}
		seen[v] = true
	}
}

func TestAServersPortMayTakeTheAddressItsMembersNameButNotAnotherPorts(t *testing.T) {
	netID, sub := network(t, alphaToken, "10.66.1.0/24")
	p := pool(t, alphaToken, sub, "HTTP")
	member(t, alphaToken, p, "10.66.1.20", 80)
	port := create(t, alphaToken, "/v2.0/ports", "port", obj{"network_id": netID, "fixed_ips": []obj{{"ip_address": "10.66.1.20"}}})
	if fmt.Sprint(port["fixed_ips"]) == "" || !strings.Contains(fmt.Sprint(port["fixed_ips"]), "10.66.1.20") {
		t.Fatalf("the server's port did not take its members' address: %v", port)
	}
	expectNeutronError(t, call(t, alphaToken, "POST", "/v2.0/ports", obj{"port": obj{"network_id": netID, "fixed_ips": []obj{{"ip_address": "10.66.1.20"}}}}), 409, "IpAddressInUse")
	// A member may name a server's port; a VIP may not take it.
	member(t, alphaToken, pool(t, alphaToken, sub, "HTTP"), "10.66.1.20", 80)
	expectNeutronError(t, call(t, alphaToken, "POST", "/v2.0/lb/vips", obj{"vip": obj{"subnet_id": sub, "pool_id": pool(t, alphaToken, sub, "TCP"), "protocol": "TCP", "protocol_port": 22, "address": "10.66.1.20"}}), 409, "IpAddressInUse")
	// Only an admin binds a port to a host.
	expectNeutronError(t, call(t, alphaToken, "PUT", "/v2.0/ports/"+port["id"].(string), obj{"port": obj{"binding:host_id": "compute-1"}}), 403, "HTTPForbidden")
	if _, ok := port["binding:host_id"]; ok {
		t.Fatalf("a tenant sees binding:host_id: %v", port)
	}
	expect(t, call(t, adminToken, "PUT", "/v2.0/ports/"+port["id"].(string), obj{"port": obj{"binding:host_id": "compute-1"}}), 200)
	if got := show(t, adminToken, "/v2.0/ports/"+port["id"].(string), "port"); got["binding:host_id"] != "compute-1" {
		t.Fatalf("binding after update: %v", got)
	}
	expectNeutronError(t, call(t, adminToken, "PUT", "/v2.0/ports/"+port["id"].(string), obj{"port": obj{"binding:host_id": "bad host!"}}), 400, "InvalidInput")
}

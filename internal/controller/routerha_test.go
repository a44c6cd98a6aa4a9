package controller_test

import (
	"slices"
	"testing"

	"lbaas/internal/controller"
)

func TestASecondNetworkNodeMakesTheRouterAnActiveStandbyPairThatOutlivesADeath(t *testing.T) {
	reset(t)
	nodes := controller.NewNodes(env.st, 0)
	network := []string{controller.RoleNetwork}
	beat(t, nodes, network, "lbt-n1")
	ext := create(t, "/v2.0/networks", "network", obj{"name": "Public", "router:external": true})
	create(t, "/v2.0/subnets", "subnet", obj{"network_id": ext["id"], "ip_version": 4, "cidr": "172.24.4.0/24"})
	reconcile(t)

	// Alone, the router holds its addresses itself.
	d, _ := controller.DesiredFor(env.st, "lbt-n1")
	if d.Router == nil || d.Router.HA != nil {
		t.Fatalf("a lone network node's router: %+v; want one without a VRRP group", d.Router)
	}

	beat(t, nodes, network, "lbt-n2")
	// Until the controller gave it a place in the group, the new node runs
	// no router: it would hold the active router's addresses.
	if d, _ := controller.DesiredFor(env.st, "lbt-n2"); d.Router != nil {
		t.Fatalf("a network node outside the group got a router: %+v", d.Router)
	}
	reconcile(t)
	d1, _ := controller.DesiredFor(env.st, "lbt-n1")
	d2, _ := controller.DesiredFor(env.st, "lbt-n2")
	if d1.Router == nil || d1.Router.HA == nil || d2.Router == nil || d2.Router.HA == nil {
		t.Fatalf("two network nodes: routers %+v and %+v, want both in a VRRP group", d1.Router, d2.Router)
	}
	h1, h2 := d1.Router.HA, d2.Router.HA
	if h1.Address != "169.254.1.1/16" || h2.Address != "169.254.1.2/16" {
		t.Fatalf("own addresses %s and %s: want 169.254.1.1/16 and 169.254.1.2/16 in joining order", h1.Address, h2.Address)
	}
	if h1.MAC != "02:00:a9:fe:01:01" || h2.MAC != "02:00:a9:fe:01:02" {
		t.Fatalf("external MACs %s and %s: want them derived from the own addresses", h1.MAC, h2.MAC)
	}
	if !slices.Equal(h1.Peers, []string{"169.254.1.2"}) || !slices.Equal(h2.Peers, []string{"169.254.1.1"}) {
		t.Fatalf("peers %v and %v: want each other", h1.Peers, h2.Peers)
	}
	if h1.Priority <= h2.Priority || h1.VirtualRouterID != h2.VirtualRouterID || h1.AdvertIntervalMS != h2.AdvertIntervalMS || h1.AdvertIntervalMS <= 0 {
		t.Fatalf("groups disagree: %+v and %+v", h1, h2)
	}

	// The first node dies: the survivor's group is unchanged, so its
	// keepalived needs no reload at the moment it takes over.
	kill(t, nodes, "lbt-n1")
	reconcile(t)
	after, _ := controller.DesiredFor(env.st, "lbt-n2")
	if after.Router == nil || after.Router.HA == nil || !slices.Equal(after.Router.HA.Peers, h2.Peers) || after.Router.HA.Address != h2.Address {
		t.Fatalf("after the first network node's death the survivor's router is %+v, want the same group", after.Router)
	}
	// It comes back with its old address.
	beat(t, nodes, network, "lbt-n1")
	reconcile(t)
	back, _ := controller.DesiredFor(env.st, "lbt-n1")
	if back.Router == nil || back.Router.HA == nil || back.Router.HA.Address != h1.Address {
		t.Fatalf("the returning network node's router is %+v, want its old place %s", back.Router, h1.Address)
	}
}

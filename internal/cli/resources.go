package cli

// catalog holds the resources the verbs talk to. It is built per
// Register call so that nothing is shared between command trees.
type catalog struct {
	networks, subnets, ports, floatingIPs  *resource
	pools, members, vips, monitors         *resource
	certificates, serviceInstances, events *resource
	agents                                 *resource
	// The Octavia v2 collections (members are per pool, see memberRes).
	lbs, listeners, lbPools, lbMonitors *resource
	l7policies, amphorae                *resource
}

func newCatalog() *catalog {
	return &catalog{
		networks:         &resource{singular: "network", plural: "networks", path: "/networks"},
		subnets:          &resource{singular: "subnet", plural: "subnets", path: "/subnets"},
		ports:            &resource{singular: "port", plural: "ports", path: "/ports"},
		floatingIPs:      &resource{singular: "floatingip", plural: "floatingips", path: "/floatingips"},
		pools:            &resource{singular: "pool", plural: "pools", path: "/lb/pools"},
		members:          &resource{singular: "member", plural: "members", path: "/lb/members"},
		vips:             &resource{singular: "vip", plural: "vips", path: "/lb/vips"},
		monitors:         &resource{singular: "health_monitor", plural: "health_monitors", path: "/lb/health_monitors"},
		certificates:     &resource{singular: "certificate", plural: "certificates", path: "/lbaas-certificates", direct: true},
		serviceInstances: &resource{singular: "service_instance", plural: "service_instances", path: "/lbaas-service-instances", direct: true},
		agents:           &resource{singular: "agent", plural: "agents", path: "/agents", direct: true},
		events:           &resource{singular: "event", plural: "events", path: "/lbaas-events", direct: true},
		lbs:              lbaasRes("loadbalancer", "loadbalancers", "loadbalancers"),
		listeners:        lbaasRes("listener", "listeners", "listeners"),
		lbPools:          lbaasRes("pool", "pools", "pools"),
		lbMonitors:       lbaasRes("healthmonitor", "healthmonitors", "healthmonitors"),
		l7policies:       lbaasRes("l7policy", "l7policies", "l7policies"),
		amphorae:         &resource{singular: "amphora", plural: "amphorae", path: "/octavia/amphorae", direct: true, octavia: true},
	}
}

package controller

import (
	"lbaas/internal/model"
	"lbaas/internal/store"
)

// Affected says whose desired state (DesiredFor) a batch of stored
// changes may alter: the nodes named, or every node (all). It follows
// what DesiredFor reads, so that the agent API recomputes a node's
// desired state only when it may differ: with a thousand agents
// long-polling, recomputing every node's at every change of any object
// kept the server busy doing nothing else.
//
// When in doubt it says all: a kind it does not know, a reload of the
// cache, and the rare changes that reach every node (networks, subnets,
// nodes joining or leaving, certificates).
func Affected(st *store.Store, changes []store.Change) (nodes map[string]bool, all bool) {
	nodes = map[string]bool{}
	// Once per batch: listing the nodes costs as much as the rest of a
	// change, and most changes concern the routers.
	named := false
	netNodes := func() {
		if named {
			return
		}
		named = true
		for _, n := range Alive(st, RoleNetwork) {
			nodes[n.Name] = true
		}
	}
	ofSI := func(si *model.ServiceInstance) {
		for _, vm := range si.VMs {
			nodes[vm.Node] = true
		}
	}
	ofLB := func(lbID string) {
		for _, e := range st.ByIndex(model.KindServiceInstance, store.IdxLB, lbID) {
			ofSI(e.Obj.(*model.ServiceInstance))
		}
	}
	for _, ch := range changes {
		objs := []model.Object{}
		for _, o := range []model.Object{ch.Old, ch.New} {
			if o != nil {
				objs = append(objs, o)
			}
		}
		switch ch.Kind {
		case model.KindVMReport, model.KindObserved, model.KindNodeAdmin, model.KindQuota, model.KindEvent:
			// Reports, admin records and the event history: not inputs
			// of a desired state.
		case model.KindServiceInstance:
			for _, o := range objs {
				ofSI(o.(*model.ServiceInstance))
			}
			netNodes() // the router arbitrates the VIPs of every VM
		case model.KindLoadBalancer:
			for _, o := range objs {
				lb := o.(*model.LoadBalancer)
				ofLB(lb.ID)
				// The first load balancer on a network makes the routers
				// carry it: every host's flood list of it changes.
				if st.IndexCount(model.KindLoadBalancer, store.IdxSubnet, lb.VIPSubnetID) <= 1 {
					return nodes, true
				}
			}
			netNodes()
		case model.KindListener:
			for _, o := range objs {
				ofLB(o.(*model.Listener).LoadBalancerID)
			}
		case model.KindPool:
			for _, o := range objs {
				ofLB(o.(*model.Pool).LoadBalancerID)
			}
		case model.KindL7Policy:
			for _, o := range objs {
				ofLB(o.(*model.L7Policy).LoadBalancerID)
			}
		case model.KindL7Rule:
			for _, o := range objs {
				ofLB(o.(*model.L7Rule).LoadBalancerID)
			}
		case model.KindMember:
			for _, o := range objs {
				if pe, ok := st.Get(model.KindPool, o.(*model.Member).PoolID); ok {
					ofLB(pe.Obj.(*model.Pool).LoadBalancerID)
				}
			}
		case model.KindHealthMonitor:
			for _, pe := range st.ByIndex(model.KindPool, store.IdxMonitor, ch.ID) {
				ofLB(pe.Obj.(*model.Pool).LoadBalancerID)
			}
		case model.KindPort:
			for _, o := range objs {
				p := o.(*model.Port)
				if p.BindingHost != "" {
					nodes[p.BindingHost] = true
					if startsOrEndsCarrying(st, p) {
						return nodes, true
					}
				}
				// A VM's port: its instance's VMs (each names the
				// other's address) and the routers (the VIP's holders).
				for _, e := range st.ByIndex(model.KindServiceInstance, store.IdxDevice, p.DeviceID) {
					ofSI(e.Obj.(*model.ServiceInstance))
					netNodes()
				}
			}
		case model.KindFloatingIP, model.KindRouterMember:
			netNodes()
		default:
			return nodes, true
		}
	}
	return nodes, false
}

// startsOrEndsCarrying reports whether a port is the only one that makes
// its host carry its network, on a host with a tunnel address: then the
// set of hosts of that network changes, and with it the flood list of
// every other host that carries it.
func startsOrEndsCarrying(st *store.Store, p *model.Port) bool {
	ne, ok := st.Get(model.KindNode, p.BindingHost)
	if !ok || ne.Obj.(*model.Node).TunnelIP == "" {
		return false // no tunnel address: in nobody's flood list
	}
	for _, e := range st.ByIndex(model.KindPort, store.IdxHost, p.BindingHost) {
		if q := e.Obj.(*model.Port); q.ID != p.ID && q.NetworkID == p.NetworkID {
			return false
		}
	}
	return true
}

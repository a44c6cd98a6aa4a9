package controller

import (
	"slices"
	"sort"

	"lbaas/internal/agentapi"
	"lbaas/internal/model"
	"lbaas/internal/store"
)

// segments lists the networks a node carries and, for each, the tunnel
// addresses of the other live hosts that carry it. A host carries a
// network when a port on it is bound to the host (its VMs' ports, servers'
// ports an admin bound there) or, for a network node, when its router sits
// on it (the external network and every network with a VIP). This is what
// Neutron's l2population computes from port bindings: each host's VXLAN
// device floods only to the hosts that need the frames, with no multicast.
func segments(st *store.Store, node string, r *agentapi.Router) []agentapi.Segment {
	routed := routerNetworks(r)
	want := map[string]bool{}
	for id := range routed {
		want[id] = true
	}
	for _, pe := range st.ByIndex(model.KindPort, store.IdxHost, node) {
		want[pe.Obj.(*model.Port).NetworkID] = true
	}
	if len(want) == 0 {
		return nil
	}
	var netNodes []string
	tunnel := map[string]string{}
	for _, e := range st.List(model.KindNode) {
		n := e.Obj.(*model.Node)
		if n.TunnelIP != "" {
			tunnel[n.Name] = n.TunnelIP
		}
		if slices.Contains(n.Roles, RoleNetwork) {
			netNodes = append(netNodes, n.Name)
		}
	}
	out := make([]agentapi.Segment, 0, len(want))
	for id := range want {
		ne, ok := st.Get(model.KindNetwork, id)
		if !ok {
			continue
		}
		n := ne.Obj.(*model.Network)
		s := agentapi.Segment{NetworkID: id, Type: n.NetworkType, PhysicalNetwork: n.PhysicalNetwork, SegmentationID: n.SegmentationID, MTU: n.MTU}
		subs := st.ByIndex(model.KindSubnet, store.IdxNetwork, id)
		if len(subs) == 0 {
			continue // nothing can be plugged in yet
		}
		sort.Slice(subs, func(i, j int) bool { return subs[i].Obj.Base().CreatedAt.Before(subs[j].Obj.Base().CreatedAt) })
		s.CIDR = subs[0].Obj.(*model.Subnet).CIDR
		if n.NetworkType == "vxlan" {
			hosts := map[string]bool{}
			for _, pe := range st.ByIndex(model.KindPort, store.IdxNetwork, id) {
				p := pe.Obj.(*model.Port)
				hosts[p.BindingHost] = true
				if p.DeviceOwner == model.DeviceOwnerLoadBalancer {
					// The routers reach the VIP's network.
					for _, nn := range netNodes {
						hosts[nn] = true
					}
				}
			}
			if n.RouterExternal {
				for _, nn := range netNodes {
					hosts[nn] = true
				}
			}
			for h := range hosts {
				if ip := tunnel[h]; h != node && ip != "" && ip != tunnel[node] && !slices.Contains(s.VTEPs, ip) {
					s.VTEPs = append(s.VTEPs, ip)
				}
			}
			slices.Sort(s.VTEPs)
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NetworkID < out[j].NetworkID })
	return out
}

// routerNetworks are the networks a network node's router sits on.
func routerNetworks(r *agentapi.Router) map[string]bool {
	out := map[string]bool{}
	if r == nil {
		return out
	}
	out[r.External.ID] = true
	for _, nw := range r.Internal {
		out[nw.ID] = true
	}
	return out
}

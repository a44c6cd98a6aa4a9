package controller

import (
	"slices"
	"sort"
	"sync"

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
			hosts, routed := networkHosts(st, id)
			if routed || n.RouterExternal {
				// The routers reach the VIP's network and the external one.
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

// carriers follows, per store, which hosts ports of each network are
// bound to and which networks have a load balancer's port, from the
// store's watch: each node's long poll asks for the hosts of its networks,
// and a network with thousands of ports must not be read whole each time.
type carriers struct {
	mu sync.Mutex
	// ports[network][host] and lbPorts[network] hold port ids: adding or
	// removing one twice is harmless, so the first scan and the watch's
	// changes may overlap.
	ports   map[string]map[string]map[string]struct{}
	lbPorts map[string]map[string]struct{}
}

// Track starts following the store's ports for DesiredFor. Observers run
// in the order they were registered: the agent API calls it before it
// registers its wakes, so that a woken poll reads the hosts of a network
// with the change that woke it.
func Track(st *store.Store) { carriersFor(st) }

// carriersFor returns the store's tracker, made on first use.
func carriersFor(st *store.Store) *carriers {
	return st.View("controller.carriers", func() any {
		c := &carriers{}
		st.Follow(model.KindPort, func() { c.reset(st) }, func(old, new model.Object) {
			if old != nil {
				c.set(old.(*model.Port), false)
			}
			if new != nil {
				c.set(new.(*model.Port), true)
			}
		})
		return c
	}).(*carriers)
}

// reset forgets everything and reads every port.
func (c *carriers) reset(st *store.Store) {
	c.mu.Lock()
	c.ports, c.lbPorts = map[string]map[string]map[string]struct{}{}, map[string]map[string]struct{}{}
	c.mu.Unlock()
	for _, e := range st.List(model.KindPort) {
		c.set(e.Obj.(*model.Port), true)
	}
}

func (c *carriers) set(p *model.Port, add bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	put := func(m map[string]map[string]struct{}, key string) {
		if add {
			if m[key] == nil {
				m[key] = map[string]struct{}{}
			}
			m[key][p.ID] = struct{}{}
		} else if set := m[key]; set != nil {
			delete(set, p.ID)
			if len(set) == 0 {
				delete(m, key)
			}
		}
	}
	byHost := c.ports[p.NetworkID]
	if byHost == nil {
		byHost = map[string]map[string]struct{}{}
		c.ports[p.NetworkID] = byHost
	}
	put(byHost, p.BindingHost)
	if len(byHost) == 0 {
		delete(c.ports, p.NetworkID)
	}
	if p.DeviceOwner == model.DeviceOwnerLoadBalancer {
		put(c.lbPorts, p.NetworkID)
	}
}

// networkHosts returns the hosts that ports of a network are bound to (a
// fresh map) and whether a load balancer's port is on it (then the
// routers carry it too).
func networkHosts(st *store.Store, networkID string) (map[string]bool, bool) {
	c := carriersFor(st)
	c.mu.Lock()
	defer c.mu.Unlock()
	hosts := make(map[string]bool, len(c.ports[networkID]))
	for h := range c.ports[networkID] {
		hosts[h] = true
	}
	return hosts, len(c.lbPorts[networkID]) > 0
}

package controller

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/netip"
	"slices"
	"sort"

	"lbaas/internal/agentapi"
	"lbaas/internal/model"
	"lbaas/internal/store"
)

// DesiredFor computes everything node must run, and a hash of it that
// changes exactly when the agent has something to do.
func DesiredFor(st *store.Store, node string) (agentapi.Desired, string) {
	d := agentapi.Desired{Revision: st.Rev(), Instances: []agentapi.Instance{}}
	for _, se := range st.ByIndex(model.KindServiceInstance, store.IdxNode, node) {
		si := se.Obj.(*model.ServiceInstance)
		for _, vm := range si.VMs {
			if vm.Node != node {
				continue
			}
			in, err := BuildInstance(st, si, vm)
			if err != nil {
				// Not buildable yet (ports being allocated, a certificate
				// missing): InstanceStatus reports why; the agent is told
				// nothing until it is.
				continue
			}
			d.Instances = append(d.Instances, in)
		}
	}
	sort.Slice(d.Instances, func(i, j int) bool { return d.Instances[i].VMID < d.Instances[j].VMID })
	if ne, ok := st.Get(model.KindNode, node); ok && slices.Contains(ne.Obj.(*model.Node).Roles, RoleNetwork) {
		if ha, ok := routerHA(st, node); ok {
			d.Router = router(st)
			if d.Router != nil {
				d.Router.HA = ha
			}
		}
	}
	d.Networks = segments(st, node, d.Router)
	b, _ := json.Marshal(struct {
		I []string
		R *agentapi.Router
		N []agentapi.Segment
	}{hashes(d.Instances), d.Router, d.Networks})
	sum := sha256.Sum256(b)
	return d, hex.EncodeToString(sum[:12])
}

func hashes(ins []agentapi.Instance) []string {
	out := make([]string, len(ins))
	for i, in := range ins {
		out[i] = in.VMID + "=" + in.Hash
	}
	return out
}

// router is the network node's view: the external network, the networks
// VIPs live on, and every floating IP mapped to a VIP port.
func router(st *store.Store) *agentapi.Router {
	var r *agentapi.Router
	for _, ne := range st.List(model.KindNetwork) {
		n := ne.Obj.(*model.Network)
		if !n.RouterExternal {
			continue
		}
		subs := st.ByIndex(model.KindSubnet, store.IdxNetwork, n.ID)
		if len(subs) == 0 {
			continue
		}
		sn := subs[0].Obj.(*model.Subnet)
		r = &agentapi.Router{External: agentapi.Network{ID: n.ID, SubnetID: sn.ID, CIDR: sn.CIDR, GatewayIP: sn.GatewayIP, MTU: n.MTU}}
		break
	}
	if r == nil {
		return nil
	}
	seen := map[string]bool{}
	for _, le := range st.List(model.KindLoadBalancer) {
		lb := le.Obj.(*model.LoadBalancer)
		if seen[lb.VIPSubnetID] {
			continue
		}
		seen[lb.VIPSubnetID] = true
		if nw, err := network(st, lb.VIPSubnetID); err == nil {
			r.Internal = append(r.Internal, nw)
		}
	}
	sort.Slice(r.Internal, func(i, j int) bool { return r.Internal[i].SubnetID < r.Internal[j].SubnetID })
	for _, se := range st.List(model.KindServiceInstance) {
		si := se.Obj.(*model.ServiceInstance)
		le, ok := st.Get(model.KindLoadBalancer, si.LoadBalancerID)
		if !ok {
			continue
		}
		lb := le.Obj.(*model.LoadBalancer)
		nw, err := network(st, lb.VIPSubnetID)
		if err != nil {
			continue
		}
		rv := agentapi.RouterVIP{Address: lb.VIPAddress, NetworkID: nw.ID, SubnetID: nw.SubnetID}
		for _, vm := range si.VMs {
			addr, mac := vmPort(st, vm.ID, nw)
			if p, err := netip.ParsePrefix(addr); err == nil && mac != "" {
				rv.Members = append(rv.Members, agentapi.RouterMember{Address: p.Addr().String(), MAC: mac})
			}
		}
		r.VIPs = append(r.VIPs, rv)
	}
	for _, fe := range st.List(model.KindFloatingIP) {
		f := fe.Obj.(*model.FloatingIP)
		if f.PortID == "" || f.FixedIPAddress == "" {
			continue
		}
		r.FloatingIPs = append(r.FloatingIPs, agentapi.FloatingIP{ID: f.ID, FloatingIP: f.FloatingIPAddress, FixedIP: f.FixedIPAddress})
	}
	return r
}

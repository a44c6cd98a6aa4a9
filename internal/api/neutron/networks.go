package neutron

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"time"

	"github.com/google/uuid"

	"lbaas/internal/api/httpapi"
	"lbaas/internal/api/policy"
	"lbaas/internal/controller"
	"lbaas/internal/ipam"
	"lbaas/internal/model"
	"lbaas/internal/segment"
	"lbaas/internal/store"
)

var (
	networkRes = &resource{policy: "network", kind: model.KindNetwork, singular: "network", plural: "networks", what: "Network", notFound: "NetworkNotFound",
		view: viewNetwork, adminOnly: providerAttrs, adminOp: opNetworkAdmin, public: func(_ *Server, o model.Object) bool { n := o.(*model.Network); return n.Shared || n.RouterExternal }}
	subnetRes = &resource{policy: "subnet", kind: model.KindSubnet, singular: "subnet", plural: "subnets", what: "Subnet", notFound: "SubnetNotFound",
		view: viewSubnet, public: func(s *Server, o model.Object) bool {
			n, ok := s.st.Get(model.KindNetwork, o.(*model.Subnet).NetworkID)
			return ok && networkRes.public(s, n.Obj)
		}}
	portRes       = &resource{policy: "port", kind: model.KindPort, singular: "port", plural: "ports", what: "Port", notFound: "PortNotFound", view: viewPort, adminOnly: map[string]bool{"binding:host_id": true}, adminOp: opPortBinding}
	floatingIPRes = &resource{policy: "floatingip", kind: model.KindFloatingIP, singular: "floatingip", plural: "floatingips", what: "Floating IP", notFound: "FloatingIPNotFound", view: viewFloatingIP}
)

func viewNetwork(s *Server, e store.Entry) map[string]any {
	n := e.Obj.(*model.Network)
	v := commonView(&n.Meta)
	subnets := ids(s.st.ByIndex(model.KindSubnet, store.IdxNetwork, n.ID))
	v["name"] = n.Name
	v["admin_state_up"] = n.AdminStateUp
	v["shared"] = n.Shared
	v["router:external"] = n.RouterExternal
	v["status"] = model.StatusActive
	v["subnets"] = subnets
	// Admin-only (see networkRes.adminOnly); "local" for a network stored
	// before segments existed.
	v["provider:network_type"] = cmp.Or(n.NetworkType, "local")
	v["provider:physical_network"] = nullable(n.PhysicalNetwork)
	v["provider:segmentation_id"] = nil
	if n.SegmentationID != 0 {
		v["provider:segmentation_id"] = n.SegmentationID
	}
	v["mtu"] = n.MTU
	return v
}

func viewSubnet(_ *Server, e store.Entry) map[string]any {
	sn := e.Obj.(*model.Subnet)
	v := commonView(&sn.Meta)
	v["name"] = sn.Name
	v["network_id"] = sn.NetworkID
	v["cidr"] = sn.CIDR
	v["ip_version"] = sn.IPVersion
	v["gateway_ip"] = sn.GatewayIP
	v["allocation_pools"] = sn.AllocationPools
	v["enable_dhcp"] = sn.EnableDHCP
	v["host_routes"] = []any{}
	v["dns_nameservers"] = []any{}
	return v
}

func viewPort(s *Server, e store.Entry) map[string]any {
	p := e.Obj.(*model.Port)
	v := commonView(&p.Meta)
	v["name"] = p.Name
	v["network_id"] = p.NetworkID
	v["fixed_ips"] = p.FixedIPs
	v["mac_address"] = p.MACAddress
	v["device_owner"] = p.DeviceOwner
	v["device_id"] = p.DeviceID
	v["binding:host_id"] = p.BindingHost
	v["admin_state_up"] = p.AdminStateUp
	status := s.portStatus(p)
	if status == model.StatusActive {
		v["status"] = model.StatusActive
	} else {
		v["status"] = model.StatusDown
	}
	return v
}

func viewFloatingIP(s *Server, e store.Entry) map[string]any {
	f := e.Obj.(*model.FloatingIP)
	v := commonView(&f.Meta)
	v["floating_network_id"] = f.FloatingNetworkID
	v["floating_ip_address"] = f.FloatingIPAddress
	v["port_id"] = nullable(f.PortID)
	v["fixed_ip_address"] = nullable(f.FixedIPAddress)
	v["router_id"] = nil
	// ACTIVE only once an agent reports the NAT in place.
	status, _ := s.observed(f.ID)
	if f.PortID == "" || status != model.StatusActive {
		status = model.StatusDown
	}
	v["status"] = status
	return v
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *Server) createNetwork() http.HandlerFunc {
	return handleCreate(s, networkRes, func(caller httpapi.Who, req *model.NetworkRequest) (model.Object, error) {
		tenant, err := tenantFor(caller, req.TenantID, req.ProjectID)
		if err != nil {
			return nil, err
		}
		if (req.RouterExternal != nil && *req.RouterExternal || req.Shared != nil && *req.Shared) && !policy.Allowed(caller.Caller, opNetworkAdmin, tenant) {
			return nil, &model.ForbiddenError{Message: httpapi.PolicyRefusal(opNetworkAdmin) + " Only an admin may create shared or external networks."}
		}
		provider := req.NetworkType != nil || req.PhysicalNetwork != nil || req.SegmentationID != nil
		if provider && !policy.Allowed(caller.Caller, opNetworkAdmin, tenant) {
			return nil, &model.ForbiddenError{Message: httpapi.PolicyRefusal(opNetworkAdmin) + " Only an admin may set provider:network_type, provider:physical_network or provider:segmentation_id."}
		}
		n := &model.Network{Meta: s.newMeta(tenant), AdminStateUp: true}
		req.Apply(n)
		if err := s.segments.Check(n); err != nil {
			return nil, err
		}
		if req.MTU != nil && *req.MTU != n.MTU {
			return nil, badRequest("InvalidInput", "Invalid input for operation: mtu %d is not what a %s network carries here (%d); leave it out.", *req.MTU, n.NetworkType, n.MTU)
		}
		return n, model.ValidateNetwork(n)
	}, func(_ httpapi.Who, req *model.NetworkRequest, o model.Object, t *store.Txn) error {
		n := o.(*model.Network)
		if n.NetworkType == segment.VXLAN && (req.SegmentationID == nil || *req.SegmentationID == 0) {
			// Run again on a conflict: the next pass sees the winner's VNI.
			vni, err := s.segments.Allocate(func(key string) bool { return s.st.IndexHas(model.KindNetwork, store.IdxSegment, key) })
			if err != nil {
				return err
			}
			n.SegmentationID = vni
		} else if s.st.IndexHas(model.KindNetwork, store.IdxSegment, n.SegmentKey()) {
			return segment.InUse(n)
		}
		t.Claim(segment.Claim(n), n.ID)
		return nil
	})
}

func (s *Server) newMeta(tenant string) model.Meta {
	now := s.now()
	return model.Meta{ID: uuid.NewString(), TenantID: tenant, CreatedAt: now, UpdatedAt: now}
}

func (s *Server) updateNetwork() http.HandlerFunc {
	return handleUpdate(s, networkRes, func(_ httpapi.Who, req *model.NetworkRequest, e store.Entry, _ *store.Txn) (model.Object, error) {
		n := *e.Obj.(*model.Network)
		// The segment is fixed once the network exists (hosts carry it);
		// restating it is harmless, changing it is refused.
		same := (req.NetworkType == nil || *req.NetworkType == n.NetworkType) &&
			(req.PhysicalNetwork == nil || *req.PhysicalNetwork == n.PhysicalNetwork) &&
			(req.SegmentationID == nil || *req.SegmentationID == n.SegmentationID) &&
			(req.MTU == nil || *req.MTU == n.MTU)
		if !same {
			return nil, badRequest("InvalidInput", "Invalid input for operation: a network's provider attributes and mtu cannot be changed; create a new network.")
		}
		req.Apply(&n)
		return &n, model.ValidateNetwork(&n)
	})
}

// deleteNetwork removes a network and its subnets, as Neutron does; it
// refuses while a port, pool or load balancer (a VIP) still uses one of
// them.
func (s *Server) deleteNetwork() http.HandlerFunc {
	return s.handleDelete(networkRes, func(_ httpapi.Who, e store.Entry, t *store.Txn) error {
		id := e.Obj.Base().ID
		if len(s.st.ByIndex(model.KindPort, store.IdxNetwork, id)) > 0 {
			return conflict("NetworkInUse", "Unable to complete operation on network %s. There are one or more ports still in use on the network.", id)
		}
		for _, se := range s.st.ByIndex(model.KindSubnet, store.IdxNetwork, id) {
			if err := s.subnetInUse(se.Obj.Base().ID); err != nil {
				return err
			}
			t.Delete(model.KindSubnet, se.Obj.Base().ID, se.Rev)
		}
		if n := e.Obj.(*model.Network); n.SegmentKey() != "" {
			t.Release(segment.Claim(n))
		}
		return nil
	})
}

func (s *Server) subnetInUse(id string) error {
	inUse := func() error {
		return conflict("SubnetInUse", "Unable to complete operation on subnet %s: one or more ports, pools or floating IPs use it.", id)
	}
	for _, pe := range s.st.List(model.KindPool) {
		if pe.Obj.(*model.Pool).SubnetID == id {
			return inUse()
		}
	}
	// A VIP's port on the subnet says so too; the load balancer is what
	// holds the address there, so it is checked whatever its port.
	for _, le := range s.st.List(model.KindLoadBalancer) {
		if le.Obj.(*model.LoadBalancer).VIPSubnetID == id {
			return inUse()
		}
	}
	if len(s.st.ByIndex(model.KindPort, store.IdxSubnet, id)) > 0 {
		return inUse()
	}
	if se, ok := s.st.Get(model.KindSubnet, id); ok {
		for _, fe := range s.st.List(model.KindFloatingIP) {
			if fe.Obj.(*model.FloatingIP).FloatingNetworkID == se.Obj.(*model.Subnet).NetworkID {
				return inUse()
			}
		}
	}
	return nil
}

func (s *Server) createSubnet() http.HandlerFunc {
	return handleCreate(s, subnetRes, func(caller httpapi.Who, req *model.SubnetRequest) (model.Object, error) {
		tenant, err := tenantFor(caller, req.TenantID, req.ProjectID)
		if err != nil {
			return nil, err
		}
		sn, err := buildSubnet(req)
		if err != nil {
			return nil, err
		}
		sn.Meta = s.newMeta(tenant)
		return sn, nil
	}, func(caller httpapi.Who, req *model.SubnetRequest, o model.Object, t *store.Txn) error {
		sn := o.(*model.Subnet)
		ne, err := s.lookupOwned(networkRes, caller, sn.NetworkID)
		if err != nil {
			return err
		}
		newPrefix := netip.MustParsePrefix(sn.CIDR)
		for _, se := range s.st.ByIndex(model.KindSubnet, store.IdxNetwork, sn.NetworkID) {
			if netip.MustParsePrefix(se.Obj.(*model.Subnet).CIDR).Overlaps(newPrefix) {
				return badRequest("InvalidInput", "Invalid input for operation: Requested subnet with cidr: %s for network: %s overlaps with another subnet", sn.CIDR, sn.NetworkID)
			}
		}
		// Rewriting the network makes concurrent subnet creates on it
		// conflict, so two overlapping subnets cannot both pass the check.
		n := *ne.Obj.(*model.Network)
		n.UpdatedAt = s.now()
		t.Update(model.KindNetwork, &n, ne.Rev)
		return nil
	})
}

// buildSubnet validates a subnet request and fills the defaults: gateway at
// the first address, allocation from the one after it to the last but one.
func buildSubnet(req *model.SubnetRequest) (*model.Subnet, error) {
	if err := model.ValidateUUID("network_id", *req.NetworkID); err != nil {
		return nil, err
	}
	if req.IPVersion != nil && *req.IPVersion != 4 {
		return nil, badRequest("HTTPBadRequest", "Invalid input for ip_version. Reason: only IPv4 (4) is supported.")
	}
	prefix, err := model.ParseCIDR("cidr", *req.CIDR)
	if err != nil {
		return nil, err
	}
	sn := &model.Subnet{NetworkID: *req.NetworkID, CIDR: prefix.String(), IPVersion: 4, EnableDHCP: true}
	if req.Name != nil {
		if err := model.ValidateText("name", *req.Name, model.MaxNameLen); err != nil {
			return nil, err
		}
		sn.Name = *req.Name
	}
	if req.EnableDHCP != nil {
		sn.EnableDHCP = *req.EnableDHCP
	}
	first := prefix.Addr().Next()
	last := lastAddr(prefix).Prev()
	gw := first
	if req.GatewayIP != nil && *req.GatewayIP != "" {
		if gw, err = model.ParseIPv4("gateway_ip", *req.GatewayIP); err != nil {
			return nil, err
		}
		if !prefix.Contains(gw) || gw == prefix.Addr() || gw == lastAddr(prefix) {
			return nil, badRequest("HTTPBadRequest", "Invalid input for gateway_ip. Reason: %s is not a host address of %s.", gw, prefix)
		}
	}
	if req.GatewayIP == nil || *req.GatewayIP != "" {
		sn.GatewayIP = gw.String()
	}
	if req.AllocationPools != nil && len(*req.AllocationPools) > 0 {
		for _, ap := range *req.AllocationPools {
			start, err := model.ParseIPv4("allocation_pools", ap.Start)
			if err != nil {
				return nil, err
			}
			end, err := model.ParseIPv4("allocation_pools", ap.End)
			if err != nil {
				return nil, err
			}
			if !prefix.Contains(start) || !prefix.Contains(end) || end.Less(start) || start.Less(first) || last.Less(end) {
				return nil, badRequest("HTTPBadRequest", "Invalid input for allocation_pools. Reason: %s-%s is not a range of host addresses of %s.", start, end, prefix)
			}
			if sn.GatewayIP != "" && !gw.Less(start) && !end.Less(gw) {
				return nil, badRequest("HTTPBadRequest", "Invalid input for allocation_pools. Reason: the range %s-%s contains the gateway %s.", start, end, gw)
			}
			sn.AllocationPools = append(sn.AllocationPools, model.AllocationPool{Start: start.String(), End: end.String()})
		}
	} else {
		start := first
		if sn.GatewayIP != "" && gw == first {
			start = first.Next()
		}
		sn.AllocationPools = []model.AllocationPool{{Start: start.String(), End: last.String()}}
	}
	return sn, nil
}

func lastAddr(p netip.Prefix) netip.Addr { return ipam.LastAddr(p) }

func (s *Server) updateSubnet() http.HandlerFunc {
	return handleUpdate(s, subnetRes, func(_ httpapi.Who, req *model.SubnetRequest, e store.Entry, _ *store.Txn) (model.Object, error) {
		sn := *e.Obj.(*model.Subnet)
		if req.Name != nil {
			if err := model.ValidateText("name", *req.Name, model.MaxNameLen); err != nil {
				return nil, err
			}
			sn.Name = *req.Name
		}
		if req.EnableDHCP != nil {
			sn.EnableDHCP = *req.EnableDHCP
		}
		return &sn, nil
	})
}

func (s *Server) deleteSubnet() http.HandlerFunc {
	return s.handleDelete(subnetRes, func(_ httpapi.Who, e store.Entry, _ *store.Txn) error {
		return s.subnetInUse(e.Obj.Base().ID)
	})
}

// allocateIP returns the wanted address if it is free, or the lowest free
// one; the caller claims it in its transaction.
func (s *Server) allocateIP(sn *model.Subnet, want string) (netip.Addr, error) {
	return ipam.Allocate(s.st, sn, want)
}

func ipClaim(subnetID string, a netip.Addr) string { return ipam.Claim(subnetID, a) }

func ids(es []store.Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Obj.Base().ID
	}
	return out
}

// externalSubnet is the subnet floating IPs of a network come from.
func (s *Server) externalSubnet(networkID string) *model.Subnet {
	var best *model.Subnet
	for _, se := range s.st.List(model.KindSubnet) {
		sn := se.Obj.(*model.Subnet)
		if sn.NetworkID == networkID && (best == nil || sn.CreatedAt.Before(best.CreatedAt)) {
			best = sn
		}
	}
	return best
}

func (s *Server) createFloatingIP() http.HandlerFunc {
	return handleCreate(s, floatingIPRes, func(caller httpapi.Who, req *model.FloatingIPRequest) (model.Object, error) {
		tenant, err := tenantFor(caller, req.TenantID, req.ProjectID)
		if err != nil {
			return nil, err
		}
		if err := model.ValidateUUID("floating_network_id", *req.FloatingNetworkID); err != nil {
			return nil, err
		}
		return &model.FloatingIP{Meta: s.newMeta(tenant), FloatingNetworkID: *req.FloatingNetworkID}, nil
	}, func(caller httpapi.Who, req *model.FloatingIPRequest, o model.Object, t *store.Txn) error {
		f := o.(*model.FloatingIP)
		ne, err := s.lookup(networkRes, caller, f.FloatingNetworkID)
		if err != nil {
			return err
		}
		if !ne.Obj.(*model.Network).RouterExternal {
			return badRequest("BadRequest", "Bad floatingip request: Network %s is not a valid external network.", f.FloatingNetworkID)
		}
		sn := s.externalSubnet(f.FloatingNetworkID)
		if sn == nil {
			return badRequest("BadRequest", "Bad floatingip request: Network %s has no subnet to allocate from.", f.FloatingNetworkID)
		}
		a, err := s.allocateIP(sn, "")
		if err != nil {
			return err
		}
		f.FloatingIPAddress = a.String()
		t.Claim(ipClaim(sn.ID, a), f.ID)
		if req.PortID != nil && *req.PortID != "" {
			return s.bindFloatingIP(t, caller, f, *req.PortID)
		}
		return nil
	})
}

// bindFloatingIP points f at a port of the caller's, refusing a port that
// another floating IP already maps.
func (s *Server) bindFloatingIP(t *store.Txn, caller httpapi.Who, f *model.FloatingIP, portID string) error {
	if err := model.ValidateUUID("port_id", portID); err != nil {
		return err
	}
	pe, err := s.lookupOwned(portRes, caller, portID)
	if err != nil {
		return err
	}
	p := pe.Obj.(*model.Port)
	if len(p.FixedIPs) == 0 {
		return badRequest("BadRequest", "Port %s has no fixed IP to map.", portID)
	}
	for _, fe := range s.st.ByIndex(model.KindFloatingIP, store.IdxPort, portID) {
		if other := fe.Obj.(*model.FloatingIP); other.ID != f.ID {
			return conflict("FloatingIPPortAlreadyAssociated", "Cannot associate floating IP %s with port %s: floating IP %s already maps it.", f.FloatingIPAddress, portID, other.ID)
		}
	}
	t.Require(model.KindPort, portID, pe.Rev)
	f.PortID = portID
	f.FixedIPAddress = p.FixedIPs[0].IPAddress
	return nil
}

func (s *Server) updateFloatingIP() http.HandlerFunc {
	return handleUpdate(s, floatingIPRes, func(caller httpapi.Who, req *model.FloatingIPRequest, e store.Entry, t *store.Txn) (model.Object, error) {
		f := *e.Obj.(*model.FloatingIP)
		if req.PortID != nil {
			if *req.PortID == "" {
				f.PortID, f.FixedIPAddress = "", ""
			} else if err := s.bindFloatingIP(t, caller, &f, *req.PortID); err != nil {
				return nil, err
			}
		}
		return &f, nil
	})
}

func (s *Server) deleteFloatingIP() http.HandlerFunc {
	return s.handleDelete(floatingIPRes, func(_ httpapi.Who, e store.Entry, t *store.Txn) error {
		f := e.Obj.(*model.FloatingIP)
		if sn := s.externalSubnet(f.FloatingNetworkID); sn != nil {
			t.Release(ipClaim(sn.ID, netip.MustParseAddr(f.FloatingIPAddress)))
		}
		return nil
	})
}

// EnsurePublicNetwork creates the shared external network that floating IPs
// come from, once for all the servers that share the store. Servers that
// start together (a new cluster, a fleet restart) all run it: the network
// and its subnet are created in one transaction with the claim
// public-network/<name>, so exactly one of them creates it and the others
// find the claim held. A store that cannot answer yet (a new etcd cluster
// still electing its first leader) is waited for until ctx ends.
func EnsurePublicNetwork(ctx context.Context, st *store.Store, pub PublicNetwork, seg segment.Config) error {
	name := pub.Name
	// A store written before the claim existed has the network, no claim.
	for _, e := range st.List(model.KindNetwork) {
		if e.Obj.(*model.Network).Name == name {
			return nil
		}
	}
	n, sn, err := buildPublicNetwork(pub, seg.WithDefaults())
	if err != nil {
		return err
	}
	pause := 100 * time.Millisecond
	for conflicts := 0; ; {
		err := claimPublicNetwork(ctx, st, name, n, sn)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, store.ErrConflict) && conflicts < 10:
			conflicts++
			// Another server took the claim first: the next pass finds
			// its network.
			continue
		case !errors.Is(err, store.ErrUnavailable):
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (the store: %v)", ctx.Err(), err)
		case <-time.After(pause):
		}
		pause = min(2*pause, 2*time.Second)
	}
}

// claimPublicNetwork creates n and sn unless the claim of the public
// network names a network that exists. A claim whose network an admin
// deleted is taken over, so that a start recreates it as it always did.
func claimPublicNetwork(ctx context.Context, st *store.Store, name string, n *model.Network, sn *model.Subnet) error {
	key := "public-network/" + name
	owner, rev, err := st.Claimed(ctx, key)
	if err != nil {
		return err
	}
	if owner != "" {
		if _, ok, err := st.GetFresh(ctx, model.KindNetwork, owner); err != nil || ok {
			return err
		}
	}
	t := new(store.Txn).Create(model.KindNetwork, n).Create(model.KindSubnet, sn).Claim(segment.Claim(n), n.ID)
	if rev == 0 {
		t.Claim(key, n.ID)
	} else {
		t.Reclaim(key, n.ID, rev)
	}
	_, err = st.Commit(ctx, t)
	return err
}

// DefaultPublicPhysnet is the physical network the public network is
// carried on: a flat network, which each network node maps to its uplink.
const DefaultPublicPhysnet = "public"

// PublicNetwork describes the external network a server creates on first
// start.
type PublicNetwork struct {
	Name string
	CIDR string
	// PhysicalNetwork carries it, flat (default DefaultPublicPhysnet); it
	// must be one of the configured physical networks.
	PhysicalNetwork string
}

// buildPublicNetwork builds the external network, flat on its physical
// network, and its subnet.
func buildPublicNetwork(pub PublicNetwork, seg segment.Config) (*model.Network, *model.Subnet, error) {
	name, cidr := pub.Name, pub.CIDR
	prefix, err := model.ParseCIDR("public cidr", cidr)
	if err != nil {
		return nil, nil, err
	}
	s := &Server{now: func() time.Time { return time.Now().UTC() }}
	n := &model.Network{Meta: s.newMeta("admin"), Name: name, AdminStateUp: true, Shared: true, RouterExternal: true,
		NetworkType: segment.Flat, PhysicalNetwork: cmp.Or(pub.PhysicalNetwork, DefaultPublicPhysnet)}
	if err := seg.Check(n); err != nil {
		return nil, nil, err
	}
	req := model.SubnetRequest{NetworkID: &n.ID, CIDR: ptr(prefix.String()), Name: ptr(name + "-subnet")}
	sn, err := buildSubnet(&req)
	if err != nil {
		return nil, nil, err
	}
	sn.Meta = s.newMeta("admin")
	sn.EnableDHCP = false
	// Keep the top of the range out of allocation: external hosts (the
	// demo's client namespace, an operator's test box) live there.
	if prefix.Bits() <= 26 {
		end := lastAddr(prefix)
		for i := 0; i < 16; i++ {
			end = end.Prev()
		}
		sn.AllocationPools[0].End = end.String()
	}
	return n, sn, nil
}

func ptr[T any](v T) *T { return &v }

// portStatus is ACTIVE when what owns the port is deployed: a load
// balancer (a VIP's port has its id as device) whose instance serves, or a
// VM that reports serving.
func (s *Server) portStatus(p *model.Port) string {
	if _, ok := s.st.Get(model.KindLoadBalancer, p.DeviceID); ok {
		return controller.InstanceStatus(s.st, p.DeviceID).Status
	}
	if re, ok := s.st.Get(model.KindVMReport, p.DeviceID); ok && re.Obj.(*model.VMReport).State == model.VMServing {
		return model.StatusActive
	}
	return model.StatusDown
}

// providerAttrs are the provider extension's attributes, admin-only.
var providerAttrs = map[string]bool{"provider:network_type": true, "provider:physical_network": true, "provider:segmentation_id": true}

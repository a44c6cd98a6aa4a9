package neutron

import (
	"net/http"
	"net/netip"
	"sort"

	"lbaas/internal/api/httpapi"
	"lbaas/internal/api/policy"
	"lbaas/internal/ipam"
	"lbaas/internal/model"
	"lbaas/internal/store"
)

// Ports a tenant makes itself: an address of its choice (or the next
// free one) on a network it can see, held until the port is deleted. Its
// use here is a VIP the tenant picked in advance, which an Octavia load
// balancer then takes (vip_port_id) and gives back when it is deleted.

func (s *Server) createPort() http.HandlerFunc {
	return handleCreate(s, portRes, func(caller httpapi.Who, req *model.PortRequest) (model.Object, error) {
		tenant, err := tenantFor(caller, req.TenantID, req.ProjectID)
		if err != nil {
			return nil, err
		}
		if err := model.ValidateUUID("network_id", *req.NetworkID); err != nil {
			return nil, err
		}
		p := &model.Port{Meta: s.newMeta(tenant), NetworkID: *req.NetworkID, AdminStateUp: true, MACAddress: ipam.RandomMAC()}
		if err := applyPort(caller, p, req); err != nil {
			return nil, err
		}
		if req.FixedIPs != nil && len(*req.FixedIPs) > 1 {
			return nil, badRequest("BadRequest", "A port holds one fixed IP here, not %d.", len(*req.FixedIPs))
		}
		return p, nil
	}, func(caller httpapi.Who, req *model.PortRequest, o model.Object, t *store.Txn) error {
		p := o.(*model.Port)
		ne, err := s.lookup(networkRes, caller, p.NetworkID)
		if err != nil {
			return err
		}
		var want model.FixedIP
		if req.FixedIPs != nil && len(*req.FixedIPs) == 1 {
			want = (*req.FixedIPs)[0]
		}
		sn, err := s.portSubnet(caller, ne.Obj.(*model.Network), want.SubnetID)
		if err != nil {
			return err
		}
		a, err := ipam.AllocateServerPort(s.st, sn, want.IPAddress)
		if err != nil {
			return err
		}
		p.FixedIPs = []model.FixedIP{{SubnetID: sn.ID, IPAddress: a.String()}}
		t.Claim(ipClaim(sn.ID, a), p.ID)
		return nil
	})
}

// portSubnet is the subnet a new port takes its address from: the one
// named (it must be on the port's network), or the network's oldest.
func (s *Server) portSubnet(caller httpapi.Who, n *model.Network, subnetID string) (*model.Subnet, error) {
	if subnetID != "" {
		se, err := s.lookup(subnetRes, caller, subnetID)
		if err != nil {
			return nil, err
		}
		sn := se.Obj.(*model.Subnet)
		if sn.NetworkID != n.ID {
			return nil, badRequest("BadRequest", "Subnet %s is not on network %s.", subnetID, n.ID)
		}
		return sn, nil
	}
	subs := s.st.ByIndex(model.KindSubnet, store.IdxNetwork, n.ID)
	if len(subs) == 0 {
		return nil, badRequest("BadRequest", "Network %s has no subnet to allocate from.", n.ID)
	}
	sort.SliceStable(subs, func(i, j int) bool { return subs[i].Obj.Base().CreatedAt.Before(subs[j].Obj.Base().CreatedAt) })
	return subs[0].Obj.(*model.Subnet), nil
}

func (s *Server) updatePort() http.HandlerFunc {
	return handleUpdate(s, portRes, func(caller httpapi.Who, req *model.PortRequest, e store.Entry, t *store.Txn) (model.Object, error) {
		p := *e.Obj.(*model.Port)
		if err := applyPort(caller, &p, req); err != nil {
			return nil, err
		}
		return &p, nil
	})
}

// applyPort sets what a create or an update may change.
func applyPort(caller httpapi.Who, p *model.Port, req *model.PortRequest) error {
	if req.BindingHost != nil {
		if !policy.Allowed(caller.Caller, opPortBinding, p.TenantID) {
			return &model.ForbiddenError{Message: httpapi.PolicyRefusal(opPortBinding) + " Only an admin may set binding:host_id."}
		}
		if *req.BindingHost != "" && !model.ValidNodeName(*req.BindingHost) {
			return badRequest("InvalidInput", "Invalid input for binding:host_id. Reason: %q is not a node name (1-63 letters, digits, '-' or '_').", model.Clip(*req.BindingHost))
		}
		p.BindingHost = *req.BindingHost
	}
	if req.Name != nil {
		if err := model.ValidateText("name", *req.Name, 255); err != nil {
			return err
		}
		p.Name = *req.Name
	}
	if req.AdminStateUp != nil {
		p.AdminStateUp = *req.AdminStateUp
	}
	return nil
}

// deletePort deletes a tenant's port and frees its address; a port a load
// balancer or one of its VMs uses stays until they let it go.
func (s *Server) deletePort() http.HandlerFunc {
	return s.handleDelete(portRes, func(_ httpapi.Who, e store.Entry, t *store.Txn) error {
		p := e.Obj.(*model.Port)
		if p.DeviceID != "" {
			return conflict("PortInUse", "Port %s is in use by %s %s; delete that first.", p.ID, p.DeviceOwner, p.DeviceID)
		}
		for _, f := range p.FixedIPs {
			if a, err := netip.ParseAddr(f.IPAddress); err == nil {
				t.Release(ipClaim(f.SubnetID, a))
			}
		}
		ipam.UnmapFloatingIPs(s.st, t, p.ID, s.now())
		return nil
	})
}

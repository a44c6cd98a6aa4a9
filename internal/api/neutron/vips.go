package neutron

import (
	"net/http"
	"net/netip"

	"lbaas/internal/api/auth"
	"lbaas/internal/ipam"
	"lbaas/internal/model"
	"lbaas/internal/store"
)

// checkVIPPool checks that pool p can take VIP v: same protocol, no other
// VIP. It adds the compares that keep that true until commit.
func (s *Server) checkVIPPool(t *store.Txn, caller auth.Caller, v *model.VIP) error {
	pe, err := s.lookupOwned(poolRes, caller, v.PoolID)
	if err != nil {
		return err
	}
	p := pe.Obj.(*model.Pool)
	if p.Protocol != v.Protocol {
		return badRequest("ProtocolMismatch", "Protocol %s does not match pool protocol %s", v.Protocol, p.Protocol)
	}
	if other := s.vipOfPool(p.ID); other != "" && other != v.ID {
		return conflict("VipExists", "Another Vip already exists for pool %s", p.ID)
	}
	t.Require(model.KindPool, p.ID, pe.Rev)
	return nil
}

func (s *Server) checkCertificate(t *store.Txn, caller auth.Caller, ref string) error {
	if ref == "" {
		return nil
	}
	ce, err := s.lookupOwned(certRes, caller, ref)
	if err != nil {
		return err
	}
	t.Require(model.KindCertificate, ref, ce.Rev)
	return nil
}

func (s *Server) createVIP() http.HandlerFunc {
	return handleCreate(s, vipRes, func(caller auth.Caller, req *model.VIPRequest) (model.Object, error) {
		tenant, err := tenantFor(caller, req.TenantID)
		if err != nil {
			return nil, err
		}
		v := &model.VIP{Meta: s.newMeta(tenant), ConnectionLimit: -1, AdminStateUp: true}
		req.Apply(v)
		if err := model.ValidateVIP(v); err != nil {
			return nil, err
		}
		v.PortID = s.newMeta(tenant).ID
		return v, nil
	}, func(caller auth.Caller, req *model.VIPRequest, o model.Object, t *store.Txn) error {
		v := o.(*model.VIP)
		if err := s.checkVIPPool(t, caller, v); err != nil {
			return err
		}
		if err := s.checkCertificate(t, caller, v.TLSContainerRef); err != nil {
			return err
		}
		se, err := s.lookup(subnetRes, caller, v.SubnetID)
		if err != nil {
			return err
		}
		sn := se.Obj.(*model.Subnet)
		want := ""
		if req.Address != nil {
			want = *req.Address
		}
		addr, err := s.allocateIP(sn, want)
		if err != nil {
			return err
		}
		v.Address = addr.String()
		port := &model.Port{Meta: v.Meta, Name: "vip-" + v.ID, NetworkID: sn.NetworkID, DeviceOwner: model.DeviceOwnerLoadBalancer,
			DeviceID: v.ID, AdminStateUp: true, MACAddress: ipam.RandomMAC(), FixedIPs: []model.FixedIP{{SubnetID: sn.ID, IPAddress: v.Address}}}
		port.ID = v.PortID
		t.Require(model.KindSubnet, sn.ID, se.Rev).
			Claim(ipClaim(sn.ID, addr), port.ID).
			Claim(vipClaim(v.PoolID), v.ID).
			Create(model.KindPort, port)
		return nil
	})
}

func (s *Server) updateVIP() http.HandlerFunc {
	return handleUpdate(s, vipRes, func(caller auth.Caller, req *model.VIPRequest, e store.Entry, t *store.Txn) (model.Object, error) {
		old := e.Obj.(*model.VIP)
		v := *old
		req.Apply(&v)
		if err := model.ValidateVIP(&v); err != nil {
			return nil, err
		}
		if v.PoolID != old.PoolID {
			if err := s.checkVIPPool(t, caller, &v); err != nil {
				return nil, err
			}
			t.Release(vipClaim(old.PoolID)).Claim(vipClaim(v.PoolID), v.ID)
		}
		if v.TLSContainerRef != old.TLSContainerRef {
			if err := s.checkCertificate(t, caller, v.TLSContainerRef); err != nil {
				return nil, err
			}
		}
		return &v, nil
	})
}

// deleteVIP removes the VIP with its port and address, and unmaps the
// floating IPs that pointed at the port.
func (s *Server) deleteVIP() http.HandlerFunc {
	return s.handleDelete(vipRes, func(_ auth.Caller, e store.Entry, t *store.Txn) error {
		v := e.Obj.(*model.VIP)
		t.Release(vipClaim(v.PoolID))
		if pe, ok := s.st.Get(model.KindPort, v.PortID); ok {
			t.Delete(model.KindPort, v.PortID, pe.Rev)
			for _, f := range pe.Obj.(*model.Port).FixedIPs {
				t.Release(ipClaim(f.SubnetID, netip.MustParseAddr(f.IPAddress)))
			}
		}
		for _, fe := range s.st.ByIndex(model.KindFloatingIP, store.IdxPort, v.PortID) {
			f := *fe.Obj.(*model.FloatingIP)
			f.PortID, f.FixedIPAddress, f.UpdatedAt = "", "", s.now()
			t.Update(model.KindFloatingIP, &f, fe.Rev)
		}
		return nil
	})
}

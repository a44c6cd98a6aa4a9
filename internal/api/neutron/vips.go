package neutron

import (
	"context"
	"net/http"

	"lbaas/internal/api/httpapi"
	"lbaas/internal/ipam"
	"lbaas/internal/model"
	"lbaas/internal/store"
)

// A v1 VIP is not stored: it is a load balancer and its listener, both
// with the VIP's id, in front of the listener's default pool, which holds
// the session persistence (docs/010-load-balancer-model.md). The VIP
// resource lists listeners, since the listener's default-pool index
// answers v1's pool_id filter, and keeps those with their load balancer's
// id: exactly the v1-made ones.

// v1VIP is the projection of one VIP with the stored objects it comes
// from, whose revisions guard the writes of an update or a delete.
type v1VIP struct {
	model.VIP
	lb, listener store.Entry
	pool         *store.Entry // the listener's default pool; nil if none
}

// projectVIP is vipRes.project.
func projectVIP(s *Server, e store.Entry) (store.Entry, bool, error) {
	l := e.Obj.(*model.Listener)
	if l.ID != l.LoadBalancerID {
		return store.Entry{}, false, nil
	}
	// Fresh: a lookup may have read the listener from etcd ahead of this
	// server's cache; the load balancer was written in the same
	// transaction. In a list from the cache it is a cache hit.
	le, ok, err := s.st.GetFresh(context.Background(), model.KindLoadBalancer, l.LoadBalancerID)
	if err != nil || !ok {
		return store.Entry{}, false, err
	}
	x := &v1VIP{lb: le, listener: e}
	var p *model.Pool
	if pe, ok := s.st.Get(model.KindPool, l.DefaultPoolID); ok {
		x.pool, p = &pe, pe.Obj.(*model.Pool)
	}
	x.VIP = model.VIPOf(le.Obj.(*model.LoadBalancer), l, p)
	return store.Entry{Obj: x, Rev: e.Rev}, true, nil
}

// joinPool checks that the pool v names can take VIP v (same protocol, no
// other VIP) and adds to t the pool joined to v's load balancer, with v's
// session persistence. Writing the pool at the revision checked is what
// keeps two VIPs from taking one pool.
func (s *Server) joinPool(t *store.Txn, caller httpapi.Who, v *model.VIP) error {
	pe, err := s.lookupOwned(poolRes, caller, v.PoolID)
	if err != nil {
		return err
	}
	p := *pe.Obj.(*model.Pool)
	if p.Protocol != v.Protocol {
		return badRequest("ProtocolMismatch", "Protocol %s does not match pool protocol %s", v.Protocol, p.Protocol)
	}
	if p.LoadBalancerID != "" && p.LoadBalancerID != v.ID {
		return conflict("VipExists", "Another Vip already exists for pool %s", p.ID)
	}
	p.LoadBalancerID, p.SessionPersistence, p.UpdatedAt = v.ID, v.SessionPersistence, s.now()
	t.Update(model.KindPool, &p, pe.Rev)
	return nil
}

// leavePool adds to t the pool of pe without its load balancer. Its
// session persistence stays: it belongs to the pool now.
func (s *Server) leavePool(t *store.Txn, pe store.Entry) {
	p := *pe.Obj.(*model.Pool)
	p.LoadBalancerID, p.UpdatedAt = "", s.now()
	t.Update(model.KindPool, &p, pe.Rev)
}

func (s *Server) checkCertificate(t *store.Txn, caller httpapi.Who, ref string) error {
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

// createVIP stores the VIP as a load balancer with its port and address
// and a listener, and joins the pool to it, in one transaction.
func (s *Server) createVIP() http.HandlerFunc {
	return handleCreate(s, vipRes, func(caller httpapi.Who, req *model.VIPRequest) (model.Object, error) {
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
	}, func(caller httpapi.Who, req *model.VIPRequest, o model.Object, t *store.Txn) error {
		v := o.(*model.VIP)
		if err := s.joinPool(t, caller, v); err != nil {
			return err
		}
		if err := s.checkCertificate(t, caller, v.TLSContainerRef); err != nil {
			return err
		}
		se, err := s.lookup(subnetRes, caller, v.SubnetID)
		if err != nil {
			return err
		}
		want := ""
		if req.Address != nil {
			want = *req.Address
		}
		v.NetworkID = se.Obj.(*model.Subnet).NetworkID
		lb, l := v.Split()
		if _, err := ipam.AddVIPPort(s.st, t, se, lb, want); err != nil {
			return err
		}
		v.Address = lb.VIPAddress
		t.Create(model.KindLoadBalancer, lb).Create(model.KindListener, l)
		return nil
	})
}

// updateVIP applies the request to the VIP as v1 sees it and writes back
// what changed: the load balancer's and the listener's v1 attributes (the
// others, which only v2 sees, stay), and the pools when the VIP moves or
// its session persistence changes.
func (s *Server) updateVIP() http.HandlerFunc {
	return handleUpdate(s, vipRes, func(caller httpapi.Who, req *model.VIPRequest, e store.Entry, t *store.Txn) (model.Object, error) {
		x := e.Obj.(*v1VIP)
		v := x.VIP
		req.Apply(&v)
		if err := model.ValidateVIP(&v); err != nil {
			return nil, err
		}
		if v.TLSContainerRef != x.TLSContainerRef {
			if err := s.checkCertificate(t, caller, v.TLSContainerRef); err != nil {
				return nil, err
			}
		}
		switch {
		case v.PoolID != x.PoolID:
			if err := s.joinPool(t, caller, &v); err != nil {
				return nil, err
			}
			if x.pool != nil && x.pool.Obj.(*model.Pool).LoadBalancerID == v.ID {
				s.leavePool(t, *x.pool)
			}
		case x.pool != nil && !samePersistence(v.SessionPersistence, x.SessionPersistence):
			p := *x.pool.Obj.(*model.Pool)
			p.SessionPersistence, p.UpdatedAt = v.SessionPersistence, s.now()
			t.Update(model.KindPool, &p, x.pool.Rev)
		}
		lb := *x.lb.Obj.(*model.LoadBalancer)
		lb.Name, lb.Description, lb.UpdatedAt = v.Name, v.Description, s.now()
		t.Update(model.KindLoadBalancer, &lb, x.lb.Rev)
		l := *x.listener.Obj.(*model.Listener)
		l.Name, l.Description, l.AdminStateUp, l.ConnectionLimit = v.Name, v.Description, v.AdminStateUp, v.ConnectionLimit
		l.DefaultPoolID, l.TLSContainerRef = v.PoolID, v.TLSContainerRef
		return &l, nil
	})
}

func samePersistence(a, b *model.SessionPersistence) bool {
	return a == b || a != nil && b != nil && *a == *b
}

// deleteVIP deletes the listener (handleDelete) and the load balancer
// with its port and address, leaves its pools on their own, and unmaps
// the floating IPs that pointed at the port.
func (s *Server) deleteVIP() http.HandlerFunc {
	return s.handleDelete(vipRes, func(_ httpapi.Who, e store.Entry, t *store.Txn) error {
		x := e.Obj.(*v1VIP)
		for _, le := range s.st.ByIndex(model.KindListener, store.IdxLB, x.ID) {
			if id := le.Obj.Base().ID; id != x.ID {
				// Deleting the load balancer would strand them.
				return conflict("VipInUse", "Vip %s's load balancer has listener %s besides the VIP's; delete it first", x.ID, id)
			}
		}
		t.Delete(model.KindLoadBalancer, x.ID, x.lb.Rev)
		for _, pe := range s.st.ByIndex(model.KindPool, store.IdxLB, x.ID) {
			s.leavePool(t, pe)
		}
		ipam.ReleaseVIPPort(s.st, t, x.PortID, s.now())
		return nil
	})
}

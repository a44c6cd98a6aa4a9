package neutron

import (
	"net/http"

	"lbaas/internal/api/httpapi"
	"lbaas/internal/controller"
	"lbaas/internal/model"
	"lbaas/internal/store"
)

var (
	poolRes    = &resource{policy: "lb_v1", kind: model.KindPool, singular: "pool", plural: "pools", what: "Pool", notFound: "PoolNotFound", view: viewPool}
	memberRes  = &resource{policy: "lb_v1", kind: model.KindMember, singular: "member", plural: "members", what: "Member", notFound: "MemberNotFound", view: viewMember}
	vipRes     = &resource{policy: "lb_v1", kind: model.KindListener, singular: "vip", plural: "vips", what: "Vip", notFound: "VipNotFound", view: viewVIP, project: projectVIP}
	monitorRes = &resource{policy: "lb_v1", kind: model.KindHealthMonitor, singular: "health_monitor", plural: "health_monitors", what: "Health_monitor", notFound: "HealthMonitorNotFound", view: viewMonitor}
)

// Statuses come from what the agents report (see controller/status.go);
// until they report, objects are PENDING_CREATE and the description says
// what they wait for, so a status is never invented.

// observed returns what the data plane last reported for an object that is
// not part of a service instance (a floating IP).
func (s *Server) observed(id string) (string, string) {
	if e, ok := s.st.Get(model.KindObserved, id); ok {
		o := e.Obj.(*model.Observed)
		return o.Status, o.StatusDescription
	}
	return "", ""
}

func viewPool(s *Server, e store.Entry) map[string]any {
	p := e.Obj.(*model.Pool)
	v := commonView(&p.Meta)
	v["name"] = p.Name
	v["description"] = p.Description
	v["subnet_id"] = p.SubnetID
	v["protocol"] = p.Protocol
	v["lb_method"] = p.LBMethod
	v["provider"] = p.Provider
	v["admin_state_up"] = p.AdminStateUp
	v["health_monitors"] = nonNil(p.HealthMonitors)
	deployed := controller.PoolStatus(s.st, p.ID)
	hs := make([]map[string]any, 0, len(p.HealthMonitors))
	for _, hm := range p.HealthMonitors {
		hs = append(hs, map[string]any{"monitor_id": hm, "status": deployed.Status, "status_description": deployed.Description})
	}
	v["health_monitors_status"] = hs
	v["members"] = ids(s.st.ByIndex(model.KindMember, store.IdxPool, p.ID))
	v["vip_id"] = nullable(s.vipOfPool(p))
	v["status"], v["status_description"] = deployed.Status, deployed.Description
	return v
}

func nonNil(ids []string) []string {
	if ids == nil {
		return []string{}
	}
	return ids
}

// vipOfPool returns the id of the pool's VIP, or "": its load balancer
// when that is a VIP (has a listener with its id).
func (s *Server) vipOfPool(p *model.Pool) string {
	if l, ok := s.st.Get(model.KindListener, p.LoadBalancerID); ok && l.Obj.(*model.Listener).LoadBalancerID == p.LoadBalancerID {
		return p.LoadBalancerID
	}
	return ""
}

func viewMember(s *Server, e store.Entry) map[string]any {
	m := e.Obj.(*model.Member)
	v := commonView(&m.Meta)
	v["pool_id"] = m.PoolID
	v["address"] = m.Address
	v["protocol_port"] = m.ProtocolPort
	v["weight"] = m.Weight
	v["admin_state_up"] = m.AdminStateUp
	ms := controller.MemberStatus(s.st, m)
	v["status"], v["status_description"] = ms.Status, ms.Description
	return v
}

func viewVIP(s *Server, e store.Entry) map[string]any {
	x := e.Obj.(*v1VIP)
	v := commonView(&x.Meta)
	v["name"] = x.Name
	v["description"] = x.Description
	v["subnet_id"] = x.SubnetID
	v["address"] = x.Address
	v["port_id"] = x.PortID
	v["protocol_port"] = x.ProtocolPort
	v["protocol"] = x.Protocol
	v["pool_id"] = x.PoolID
	if x.SessionPersistence != nil {
		v["session_persistence"] = x.SessionPersistence
	} else {
		v["session_persistence"] = nil
	}
	v["connection_limit"] = x.ConnectionLimit
	v["admin_state_up"] = x.AdminStateUp
	v["default_tls_container_ref"] = nullable(x.TLSContainerRef)
	vs := controller.InstanceStatus(s.st, x.ID)
	v["status"], v["status_description"] = vs.Status, vs.Description
	return v
}

func viewMonitor(s *Server, e store.Entry) map[string]any {
	h := e.Obj.(*model.HealthMonitor)
	v := commonView(&h.Meta)
	v["type"] = h.Type
	v["delay"] = h.Delay
	v["timeout"] = h.Timeout
	v["max_retries"] = h.MaxRetries
	v["http_method"] = h.HTTPMethod
	v["url_path"] = h.URLPath
	v["expected_codes"] = h.ExpectedCodes
	v["admin_state_up"] = h.AdminStateUp
	pools := []map[string]any{}
	status, desc := model.StatusInactive, "not associated with any pool"
	for _, pid := range ids(s.st.ByIndex(model.KindPool, store.IdxMonitor, h.ID)) {
		ps := controller.PoolStatus(s.st, pid)
		st, d := ps.Status, ps.Description
		pools = append(pools, map[string]any{"pool_id": pid, "status": st, "status_description": d})
		// The monitor is as healthy as its least healthy association.
		if status == model.StatusInactive || st != model.StatusActive {
			status, desc = st, d
		}
	}
	v["pools"] = pools
	v["status"], v["status_description"] = status, desc
	return v
}

func (s *Server) createPool() http.HandlerFunc {
	return handleCreate(s, poolRes, func(caller httpapi.Who, req *model.PoolRequest) (model.Object, error) {
		tenant, err := tenantFor(caller, req.TenantID)
		if err != nil {
			return nil, err
		}
		p := &model.Pool{Meta: s.newMeta(tenant), AdminStateUp: true, Provider: "lbaas", HealthMonitors: []string{}}
		req.Apply(p)
		if err := model.ValidatePool(p); err != nil {
			return nil, err
		}
		if p.Provider != "lbaas" && p.Provider != "haproxy" {
			return nil, badRequest("ServiceProviderNotFound", "Service provider '%s' could not be found; the provider is 'lbaas'", p.Provider)
		}
		return p, nil
	}, func(caller httpapi.Who, _ *model.PoolRequest, o model.Object, t *store.Txn) error {
		p := o.(*model.Pool)
		se, err := s.lookup(subnetRes, caller, p.SubnetID)
		if err != nil {
			return err
		}
		t.Require(model.KindSubnet, p.SubnetID, se.Rev)
		return s.requireMonitors(t, caller, p.HealthMonitors)
	})
}

func (s *Server) requireMonitors(t *store.Txn, caller httpapi.Who, ids []string) error {
	for _, id := range ids {
		he, err := s.lookupOwned(monitorRes, caller, id)
		if err != nil {
			return err
		}
		t.Require(model.KindHealthMonitor, id, he.Rev)
	}
	return nil
}

func (s *Server) updatePool() http.HandlerFunc {
	return handleUpdate(s, poolRes, func(caller httpapi.Who, req *model.PoolRequest, e store.Entry, t *store.Txn) (model.Object, error) {
		p := *e.Obj.(*model.Pool)
		req.Apply(&p)
		if err := model.ValidatePool(&p); err != nil {
			return nil, err
		}
		if req.HealthMonitors != nil {
			if err := s.requireMonitors(t, caller, p.HealthMonitors); err != nil {
				return nil, err
			}
		}
		return &p, nil
	})
}

// deletePool cascades to the pool's members, as neutron v1 did (the seed
// deletes a pool that still has one), and refuses while a listener (a
// VIP's) sends traffic to it. A VIP takes a pool by writing it, so the
// delete, at the pool's revision, cannot miss one.
func (s *Server) deletePool() http.HandlerFunc {
	return s.handleDelete(poolRes, func(_ httpapi.Who, e store.Entry, t *store.Txn) error {
		id := e.Obj.Base().ID
		if len(s.st.ByIndex(model.KindListener, store.IdxPool, id)) > 0 {
			return conflict("PoolInUse", "Pool %s is still in use", id)
		}
		for _, me := range s.st.ByIndex(model.KindMember, store.IdxPool, id) {
			m := me.Obj.(*model.Member)
			t.Delete(model.KindMember, m.ID, me.Rev).Release(memberClaim(m))
		}
		return nil
	})
}

func memberClaim(m *model.Member) string { return model.MemberClaim(m) }

func (s *Server) checkMemberUnique(m *model.Member) error {
	for _, oe := range s.st.ByIndex(model.KindMember, store.IdxPool, m.PoolID) {
		o := oe.Obj.(*model.Member)
		if o.ID != m.ID && o.Address == m.Address && o.ProtocolPort == m.ProtocolPort {
			return conflict("MemberExists", "Member with address %s and port %d already present in pool %s", m.Address, m.ProtocolPort, m.PoolID)
		}
	}
	return nil
}

// checkNotLBAddress refuses a member at an address a load balancer's own
// ports (VIPs, VMs) hold on the pool's subnet: traffic to it would loop
// into HAProxy. A server's port is what a member normally is.
func (s *Server) checkNotLBAddress(subnetID, addr string) error {
	for _, pe := range s.st.ByIndex(model.KindPort, store.IdxSubnet, subnetID) {
		if o := pe.Obj.(*model.Port).DeviceOwner; o != model.DeviceOwnerLoadBalancer && o != controller.DeviceOwnerVM {
			continue
		}
		for _, f := range pe.Obj.(*model.Port).FixedIPs {
			if f.IPAddress == addr {
				return conflict("IpAddressInUse", "Address %s is held by port %s (%s) on subnet %s; a member cannot use it", addr, pe.Obj.Base().ID, pe.Obj.(*model.Port).DeviceOwner, subnetID)
			}
		}
	}
	return nil
}

func (s *Server) createMember() http.HandlerFunc {
	return handleCreate(s, memberRes, func(caller httpapi.Who, req *model.MemberRequest) (model.Object, error) {
		tenant, err := tenantFor(caller, req.TenantID)
		if err != nil {
			return nil, err
		}
		m := &model.Member{Meta: s.newMeta(tenant), Weight: 1, AdminStateUp: true}
		req.Apply(m)
		return m, model.ValidateMember(m)
	}, func(caller httpapi.Who, _ *model.MemberRequest, o model.Object, t *store.Txn) error {
		m := o.(*model.Member)
		pe, err := s.lookupOwned(poolRes, caller, m.PoolID)
		if err != nil {
			return err
		}
		if err := s.checkMemberUnique(m); err != nil {
			return err
		}
		if err := s.checkNotLBAddress(pe.Obj.(*model.Pool).SubnetID, m.Address); err != nil {
			return err
		}
		t.Require(model.KindPool, m.PoolID, pe.Rev).Claim(memberClaim(m), m.ID)
		return nil
	})
}

func (s *Server) updateMember() http.HandlerFunc {
	return handleUpdate(s, memberRes, func(caller httpapi.Who, req *model.MemberRequest, e store.Entry, t *store.Txn) (model.Object, error) {
		old := e.Obj.(*model.Member)
		m := *old
		req.Apply(&m)
		if err := model.ValidateMember(&m); err != nil {
			return nil, err
		}
		if m.PoolID != old.PoolID {
			pe, err := s.lookupOwned(poolRes, caller, m.PoolID)
			if err != nil {
				return nil, err
			}
			if err := s.checkMemberUnique(&m); err != nil {
				return nil, err
			}
			t.Require(model.KindPool, m.PoolID, pe.Rev).Release(memberClaim(old)).Claim(memberClaim(&m), m.ID)
		}
		return &m, nil
	})
}

func (s *Server) deleteMember() http.HandlerFunc {
	return s.handleDelete(memberRes, func(_ httpapi.Who, e store.Entry, t *store.Txn) error {
		t.Release(memberClaim(e.Obj.(*model.Member)))
		return nil
	})
}

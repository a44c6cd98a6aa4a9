package octavia

import (
	"net/http"

	"lbaas/internal/api/httpapi"
	"lbaas/internal/model"
	"lbaas/internal/store"
)

var poolRes = &resource{kind: model.KindPool, singular: "pool", plural: "pools", what: "Pool", view: viewPool,
	extra: func(o model.Object) map[string]any {
		return map[string]any{"loadbalancer_id": o.(*model.Pool).LoadBalancerID}
	}}

// poolRequest is the body of POST/PUT .../pools.
type poolRequest struct {
	ProjectID          *string                   `json:"project_id" lbaas:"create"`
	TenantID           *string                   `json:"tenant_id" lbaas:"create"`
	Name               *string                   `json:"name" lbaas:"create,update,nullable"`
	Description        *string                   `json:"description" lbaas:"create,update,nullable"`
	AdminStateUp       *bool                     `json:"admin_state_up" lbaas:"create,update"`
	LoadBalancerID     *string                   `json:"loadbalancer_id" lbaas:"create"`
	ListenerID         *string                   `json:"listener_id" lbaas:"create"`
	Protocol           *string                   `json:"protocol" lbaas:"create,required"`
	LBAlgorithm        *string                   `json:"lb_algorithm" lbaas:"create,update,required"`
	SessionPersistence *model.SessionPersistence `json:"session_persistence" lbaas:"create,update,nullable"`
	Tags               *[]string                 `json:"tags" lbaas:"create,update,nullable"`
	TLSEnabled         *bool                     `json:"tls_enabled" lbaas:"create,update"`
	TLSContainerRef    *string                   `json:"tls_container_ref" lbaas:"create,update,nullable"`
	CATLSContainerRef  *string                   `json:"ca_tls_container_ref" lbaas:"create,update,nullable"`
	CRLContainerRef    *string                   `json:"crl_container_ref" lbaas:"create,update,nullable"`
	TLSCiphers         *string                   `json:"tls_ciphers" lbaas:"create,update,nullable"`
	TLSVersions        *[]string                 `json:"tls_versions" lbaas:"create,update,nullable"`
	ALPNProtocols      *[]string                 `json:"alpn_protocols" lbaas:"create,update,nullable"`
}

func (req *poolRequest) unsupportedOptions() error { return nil }

// certRefs are the certificates a pool names, for checkCertRefs.
func poolCertRefs(p *model.Pool) []certRef {
	return []certRef{{"tls_container_ref", p.TLSContainerRef, needKey}, {"ca_tls_container_ref", p.CATLSContainerRef, needCA},
		{"crl_container_ref", p.CRLContainerRef, needCRL}}
}

func viewPool(s *Server, c *statuses, e store.Entry) map[string]any {
	p := e.Obj.(*model.Pool)
	st := c.of(p.LoadBalancerID)
	v := common(&p.Meta)
	v["name"] = p.Name
	v["description"] = p.Description
	v["admin_state_up"] = p.AdminStateUp
	v["provisioning_status"] = st.prov.Status
	v["operating_status"] = operating(st.op.Pools, p.ID)
	v["protocol"] = p.Protocol
	v["lb_algorithm"] = p.LBMethod
	if p.SessionPersistence != nil {
		sp := map[string]any{"type": p.SessionPersistence.Type}
		if p.SessionPersistence.CookieName != "" {
			sp["cookie_name"] = p.SessionPersistence.CookieName
		}
		v["session_persistence"] = sp
	} else {
		v["session_persistence"] = nil
	}
	v["loadbalancers"] = refs(p.LoadBalancerID)
	v["listeners"] = refs(entryIDs(s.st.ByIndex(model.KindListener, store.IdxPool, p.ID))...)
	v["members"] = refs(entryIDs(s.st.ByIndex(model.KindMember, store.IdxPool, p.ID))...)
	v["healthmonitor_id"] = nil
	if len(p.HealthMonitors) > 0 {
		v["healthmonitor_id"] = p.HealthMonitors[0]
	}
	v["tls_enabled"] = p.TLSEnabled
	v["tls_container_ref"] = nullable(p.TLSContainerRef)
	v["ca_tls_container_ref"] = nullable(p.CATLSContainerRef)
	v["crl_container_ref"] = nullable(p.CRLContainerRef)
	v["tls_ciphers"] = nullable(p.TLSCiphers)
	v["tls_versions"] = nullList(p.TLSVersions)
	v["alpn_protocols"] = nullList(p.ALPNProtocols)
	v["tags"] = tags(p.Tags)
	return v
}

func applyPool(p *model.Pool, req *poolRequest) {
	if req.Name != nil {
		p.Name = *req.Name
	}
	if req.Description != nil {
		p.Description = *req.Description
	}
	if req.AdminStateUp != nil {
		p.AdminStateUp = *req.AdminStateUp
	}
	if req.LBAlgorithm != nil {
		p.LBMethod = *req.LBAlgorithm
	}
	if req.SessionPersistence != nil {
		if req.SessionPersistence.Type == "" {
			p.SessionPersistence = nil // null or {} clears it
		} else {
			sp := *req.SessionPersistence
			p.SessionPersistence = &sp
		}
	}
	if req.Tags != nil {
		p.Tags = append([]string{}, (*req.Tags)...)
	}
	if req.TLSEnabled != nil {
		p.TLSEnabled = *req.TLSEnabled
	}
	for _, r := range []struct{ dst, src *string }{{&p.TLSContainerRef, req.TLSContainerRef}, {&p.CATLSContainerRef, req.CATLSContainerRef}, {&p.CRLContainerRef, req.CRLContainerRef}} {
		if r.src != nil {
			*r.dst = refID(*r.src)
		}
	}
	if req.TLSCiphers != nil {
		p.TLSCiphers = *req.TLSCiphers
	}
	if req.TLSVersions != nil {
		p.TLSVersions = nonEmpty(*req.TLSVersions)
	}
	if req.ALPNProtocols != nil {
		p.ALPNProtocols = nonEmpty(*req.ALPNProtocols)
	}
}

// nonEmpty copies a list, nil when it is empty.
func nonEmpty(xs []string) []string {
	if len(xs) == 0 {
		return nil
	}
	return append([]string{}, xs...)
}

func (s *Server) createPool(w http.ResponseWriter, r *http.Request) {
	caller := httpapi.WhoFrom(r.Context())
	var req poolRequest
	if err := readBody(r, "pool", model.OpCreate, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.preparePool(caller, &req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.mutateAndShow(w, r, poolRes, http.StatusCreated, p.ID, func() (*store.Txn, error) {
		t := new(store.Txn)
		if err := s.guardQuota(t, p.TenantID, model.KindPool, 1); err != nil {
			return nil, err
		}
		if err := s.addPool(t, caller, p, str(req.ListenerID)); err != nil {
			return nil, err
		}
		return t, nil
	})
}

func (s *Server) preparePool(caller httpapi.Who, req *poolRequest) (*model.Pool, error) {
	tenant, err := tenantFor(caller, req.ProjectID, req.TenantID)
	if err != nil {
		return nil, err
	}
	if err := req.unsupportedOptions(); err != nil {
		return nil, err
	}
	if err := checkProtocol("protocol", *req.Protocol); err != nil {
		return nil, err
	}
	lbID, listenerID := str(req.LoadBalancerID), str(req.ListenerID)
	if lbID == "" && listenerID == "" {
		return nil, validation("Pool must contain one of: listener_id, loadbalancer_id.")
	}
	if listenerID != "" {
		if err := model.ValidateUUID("listener_id", listenerID); err != nil {
			return nil, err
		}
	}
	p := &model.Pool{Meta: s.newMeta(tenant), LoadBalancerID: lbID, Protocol: *req.Protocol, AdminStateUp: true,
		Provider: model.ProviderName, HealthMonitors: []string{}}
	applyPool(p, req)
	if err := model.ValidatePool(p); err != nil {
		return nil, err
	}
	return p, nil
}

// addPool adds to t a new pool on its load balancer, or on the load
// balancer of listenerID, whose default pool it then becomes.
func (s *Server) addPool(t *store.Txn, caller httpapi.Who, p *model.Pool, listenerID string) error {
	if listenerID != "" {
		le, err := s.get(caller, model.KindListener, listenerRes.what, listenerID)
		if err != nil {
			return err
		}
		l := *le.Obj.(*model.Listener)
		if p.LoadBalancerID != "" && p.LoadBalancerID != l.LoadBalancerID {
			return validation("Listener %s is not on Load Balancer %s.", l.ID, p.LoadBalancerID)
		}
		if l.DefaultPoolID != "" {
			return conflict("This listener already has a default pool")
		}
		if err := model.ValidateListenerPool(l.Protocol, p.Protocol); err != nil {
			return err
		}
		p.LoadBalancerID = l.LoadBalancerID
		l.DefaultPoolID, l.UpdatedAt = p.ID, s.now()
		t.Update(model.KindListener, &l, le.Rev)
	}
	lbe, err := s.get(caller, model.KindLoadBalancer, lbRes.what, p.LoadBalancerID)
	if err != nil {
		return err
	}
	if err := s.checkCertRefs(t, caller, poolCertRefs(p)...); err != nil {
		return err
	}
	t.Require(model.KindLoadBalancer, p.LoadBalancerID, lbe.Rev).Create(model.KindPool, p)
	return nil
}

func (s *Server) updatePool(w http.ResponseWriter, r *http.Request) {
	caller := httpapi.WhoFrom(r.Context())
	var req poolRequest
	if err := readBody(r, "pool", model.OpUpdate, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := req.unsupportedOptions(); err != nil {
		s.fail(w, r, err)
		return
	}
	id := r.PathValue("id")
	s.mutateAndShow(w, r, poolRes, http.StatusOK, id, func() (*store.Txn, error) {
		e, err := s.get(caller, model.KindPool, poolRes.what, id)
		if err != nil {
			return nil, err
		}
		old := e.Obj.(*model.Pool)
		p := *old
		applyPool(&p, &req)
		if err := model.ValidatePool(&p); err != nil {
			return nil, err
		}
		t := new(store.Txn)
		var changed []certRef
		for i, r := range poolCertRefs(&p) {
			if r.id != poolCertRefs(old)[i].id {
				changed = append(changed, r)
			}
		}
		if err := s.checkCertRefs(t, caller, changed...); err != nil {
			return nil, err
		}
		p.UpdatedAt = s.now()
		return t.Update(model.KindPool, &p, e.Rev), nil
	})
}

// deletePool deletes the pool with its members and its monitor, and
// clears the default pool of the listeners that sent traffic to it.
func (s *Server) deletePool(w http.ResponseWriter, r *http.Request) {
	caller := httpapi.WhoFrom(r.Context())
	id := r.PathValue("id")
	_, err := s.st.Mutate(r.Context(), func() (*store.Txn, error) {
		e, err := s.get(caller, model.KindPool, poolRes.what, id)
		if err != nil {
			return nil, err
		}
		if users := s.st.ByIndex(model.KindL7Policy, store.IdxPool, id); len(users) > 0 {
			return nil, conflict("Pool %s is the redirect pool of L7 Policy %s; delete the policy or change its action first.", id, users[0].Obj.Base().ID)
		}
		t := new(store.Txn)
		s.removePool(t, e, false)
		return t, nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// removePool adds to t the deletion of a pool, its members (with their
// claims) and the monitors no other pool uses; unless withListeners (a
// cascade that deletes them anyway), the listeners' default pool is
// cleared.
func (s *Server) removePool(t *store.Txn, pe store.Entry, withListeners bool) {
	p := pe.Obj.(*model.Pool)
	t.Delete(model.KindPool, p.ID, pe.Rev)
	for _, me := range s.st.ByIndex(model.KindMember, store.IdxPool, p.ID) {
		m := me.Obj.(*model.Member)
		t.Delete(model.KindMember, m.ID, me.Rev).Release(model.MemberClaim(m))
	}
	for _, hm := range p.HealthMonitors {
		users := s.st.ByIndex(model.KindPool, store.IdxMonitor, hm)
		if len(users) == 1 && users[0].Obj.Base().ID == p.ID {
			if he, ok := s.st.Get(model.KindHealthMonitor, hm); ok {
				t.Delete(model.KindHealthMonitor, hm, he.Rev)
			}
		}
	}
	if withListeners {
		return
	}
	for _, le := range s.st.ByIndex(model.KindListener, store.IdxPool, p.ID) {
		l := *le.Obj.(*model.Listener)
		l.DefaultPoolID, l.UpdatedAt = "", s.now()
		t.Update(model.KindListener, &l, le.Rev)
	}
}

package neutron

import (
	"net/http"

	"lbaas/internal/api/httpapi"
	"lbaas/internal/controller"
	"lbaas/internal/model"
	"lbaas/internal/store"
)

func (s *Server) createMonitor() http.HandlerFunc {
	return handleCreate(s, monitorRes, func(caller httpapi.Who, req *model.HealthMonitorRequest) (model.Object, error) {
		tenant, err := tenantFor(caller, req.TenantID)
		if err != nil {
			return nil, err
		}
		h := &model.HealthMonitor{Meta: s.newMeta(tenant), HTTPMethod: "GET", URLPath: "/", ExpectedCodes: "200", AdminStateUp: true}
		req.Apply(h)
		v1RiseFall(h)
		if h.Type == model.MonitorTLSHello { // Octavia's; v1 has the other four
			return nil, badRequest("HTTPBadRequest", "Invalid input for type. Reason: '%s' is not in [PING, TCP, HTTP, HTTPS].", h.Type)
		}
		return h, model.ValidateHealthMonitor(h)
	}, nil)
}

// v1RiseFall sets what the data plane uses from v1's max_retries, the
// failures before a member is down; it is up again after 2 successes, as
// the HAProxy configuration had it before the model stored rise and fall.
func v1RiseFall(h *model.HealthMonitor) {
	h.Rise, h.Fall = 2, h.MaxRetries
}

func (s *Server) updateMonitor() http.HandlerFunc {
	return handleUpdate(s, monitorRes, func(_ httpapi.Who, req *model.HealthMonitorRequest, e store.Entry, _ *store.Txn) (model.Object, error) {
		h := *e.Obj.(*model.HealthMonitor)
		req.Apply(&h)
		v1RiseFall(&h)
		return &h, model.ValidateHealthMonitor(&h)
	})
}

// deleteMonitor also removes the monitor from every pool it was on.
func (s *Server) deleteMonitor() http.HandlerFunc {
	return s.handleDelete(monitorRes, func(_ httpapi.Who, e store.Entry, t *store.Txn) error {
		id := e.Obj.Base().ID
		for _, pe := range s.st.ByIndex(model.KindPool, store.IdxMonitor, id) {
			p := *pe.Obj.(*model.Pool)
			p.HealthMonitors = without(p.HealthMonitors, id)
			p.UpdatedAt = s.now()
			t.Update(model.KindPool, &p, pe.Rev)
		}
		return nil
	})
}

func without(ids []string, id string) []string {
	out := make([]string, 0, len(ids))
	for _, x := range ids {
		if x != id {
			out = append(out, x)
		}
	}
	return out
}

func (s *Server) associateMonitor(w http.ResponseWriter, r *http.Request) {
	caller := httpapi.WhoFrom(r.Context())
	var req model.MonitorAssociation
	if err := readBody(r, "health_monitor", model.OpCreate, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	poolID, hmID := r.PathValue("id"), *req.ID
	if err := model.ValidateUUID("id", hmID); err != nil {
		s.fail(w, r, err)
		return
	}
	var tenant string
	_, err := s.st.Mutate(r.Context(), func() (*store.Txn, error) {
		pe, err := s.lookupOwned(poolRes, caller, poolID)
		if err != nil {
			return nil, err
		}
		he, err := s.lookupOwned(monitorRes, caller, hmID)
		if err != nil {
			return nil, err
		}
		tenant = he.Obj.Base().TenantID
		p := *pe.Obj.(*model.Pool)
		for _, x := range p.HealthMonitors {
			if x == hmID {
				return nil, conflict("PoolMonitorAssociationExists", "health_monitor %s is already associated with pool %s", hmID, poolID)
			}
		}
		p.HealthMonitors = append(append([]string{}, p.HealthMonitors...), hmID)
		p.UpdatedAt = s.now()
		return new(store.Txn).Require(model.KindHealthMonitor, hmID, he.Rev).Update(model.KindPool, &p, pe.Rev), nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"health_monitor": map[string]any{"id": hmID, "tenant_id": tenant}})
}

func (s *Server) disassociateMonitor(w http.ResponseWriter, r *http.Request) {
	caller := httpapi.WhoFrom(r.Context())
	poolID, hmID := r.PathValue("id"), r.PathValue("hm")
	_, err := s.st.Mutate(r.Context(), func() (*store.Txn, error) {
		pe, err := s.lookupOwned(poolRes, caller, poolID)
		if err != nil {
			return nil, err
		}
		p := *pe.Obj.(*model.Pool)
		rest := without(p.HealthMonitors, hmID)
		if len(rest) == len(p.HealthMonitors) {
			return nil, &model.NotFoundError{Type: "PoolMonitorAssociationNotFound", Message: "Monitor " + hmID + " is not associated with Pool " + poolID}
		}
		p.HealthMonitors = rest
		p.UpdatedAt = s.now()
		return new(store.Txn).Update(model.KindPool, &p, pe.Rev), nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// poolStats sums the counters the agents last reported for the pool.
func (s *Server) poolStats(w http.ResponseWriter, r *http.Request) {
	e, err := s.lookup(poolRes, httpapi.WhoFrom(r.Context()), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// The v1 API's five counters only: the others are in /metrics.
	ps := controller.PoolStats(s.st, e.Obj.Base().ID)
	writeJSON(w, http.StatusOK, map[string]any{"stats": map[string]int64{"bytes_in": ps.BytesIn, "bytes_out": ps.BytesOut,
		"active_connections": ps.ActiveConnections, "total_connections": ps.TotalConnections, "request_errors": ps.RequestErrors}})
}

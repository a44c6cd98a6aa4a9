package octavia

import (
	"encoding/json"
	"net/http"

	"lbaas/internal/api/httpapi"
	"lbaas/internal/controller"
	"lbaas/internal/model"
	"lbaas/internal/store"
)

var monitorRes = &resource{kind: model.KindHealthMonitor, singular: "healthmonitor", plural: "healthmonitors", what: "Health Monitor", view: viewMonitor}

// monitorRequest is the body of POST/PUT .../healthmonitors.
type monitorRequest struct {
	ProjectID      *string          `json:"project_id" lbaas:"create"`
	TenantID       *string          `json:"tenant_id" lbaas:"create"`
	Name           *string          `json:"name" lbaas:"create,update,nullable"`
	PoolID         *string          `json:"pool_id" lbaas:"create,required"`
	Type           *string          `json:"type" lbaas:"create,required"`
	Delay          *int             `json:"delay" lbaas:"create,update,required"`
	Timeout        *int             `json:"timeout" lbaas:"create,update,required"`
	MaxRetries     *int             `json:"max_retries" lbaas:"create,update,required"`
	MaxRetriesDown *int             `json:"max_retries_down" lbaas:"create,update"`
	HTTPMethod     *string          `json:"http_method" lbaas:"create,update,nullable"`
	HTTPVersion    *json.RawMessage `json:"http_version" lbaas:"create,update,nullable"`
	DomainName     *string          `json:"domain_name" lbaas:"create,update,nullable"`
	URLPath        *string          `json:"url_path" lbaas:"create,update,nullable"`
	ExpectedCodes  *string          `json:"expected_codes" lbaas:"create,update,nullable"`
	AdminStateUp   *bool            `json:"admin_state_up" lbaas:"create,update"`
	Tags           *[]string        `json:"tags" lbaas:"create,update,nullable"`
}

func httpType(t string) bool { return t == model.MonitorHTTP || t == model.MonitorHTTPS }

// monitorPool returns the pool a monitor checks (v1 monitors may have
// several or none; v2 ones have one).
func (s *Server) monitorPools(id string) []store.Entry {
	return s.st.ByIndex(model.KindPool, store.IdxMonitor, id)
}

func viewMonitor(s *Server, c *statuses, e store.Entry) map[string]any {
	h := e.Obj.(*model.HealthMonitor)
	pools := s.monitorPools(h.ID)
	prov := controller.Status{Status: model.StatusActive}
	op := controller.OperatingOffline
	if len(pools) > 0 {
		st := c.of(pools[0].Obj.(*model.Pool).LoadBalancerID)
		prov = st.prov
		if h.AdminStateUp && st.op.LoadBalancer != controller.OperatingOffline {
			op = controller.OperatingOnline
		}
	}
	v := common(&h.Meta)
	v["name"] = h.Name
	v["admin_state_up"] = h.AdminStateUp
	v["provisioning_status"] = prov.Status
	v["operating_status"] = op
	v["type"] = h.Type
	v["delay"] = h.Delay
	v["timeout"] = h.Timeout
	v["max_retries"] = h.Rise
	v["max_retries_down"] = h.Fall
	v["http_method"], v["url_path"], v["expected_codes"], v["http_version"], v["domain_name"] = nil, nil, nil, nil, nil
	if httpType(h.Type) {
		v["http_method"], v["url_path"], v["expected_codes"] = h.HTTPMethod, h.URLPath, h.ExpectedCodes
		if h.HTTPVersion != "" {
			v["http_version"] = json.Number(h.HTTPVersion)
		}
		v["domain_name"] = nullable(h.DomainName)
	}
	v["pools"] = refs(entryIDs(pools)...)
	v["tags"] = tags(h.Tags)
	return v
}

// applyMonitor copies the sent attributes; null HTTP fields go back to
// their defaults.
func applyMonitor(h *model.HealthMonitor, req *monitorRequest) error {
	str := func(dst *string, src *string, d string) {
		if src != nil {
			*dst = *src
			if *src == "" {
				*dst = d
			}
		}
	}
	str(&h.Name, req.Name, "")
	str(&h.HTTPMethod, req.HTTPMethod, "GET")
	str(&h.URLPath, req.URLPath, "/")
	str(&h.ExpectedCodes, req.ExpectedCodes, "200")
	str(&h.DomainName, req.DomainName, "")
	if req.HTTPVersion != nil {
		h.HTTPVersion = ""
		if string(*req.HTTPVersion) != "null" {
			v, ok := rawString(*req.HTTPVersion)
			if !ok {
				return &model.InputError{Type: "ValidationException", Message: "Invalid input for http_version. Reason: it must be 1.0 or 1.1."}
			}
			h.HTTPVersion = v
		}
	}
	if req.Delay != nil {
		h.Delay = *req.Delay
	}
	if req.Timeout != nil {
		h.Timeout = *req.Timeout
	}
	if req.MaxRetries != nil {
		h.MaxRetries, h.Rise = *req.MaxRetries, *req.MaxRetries
	}
	if req.MaxRetriesDown != nil {
		h.MaxRetriesDown, h.Fall = *req.MaxRetriesDown, *req.MaxRetriesDown
	}
	if req.AdminStateUp != nil {
		h.AdminStateUp = *req.AdminStateUp
	}
	if req.Tags != nil {
		h.Tags = append([]string{}, (*req.Tags)...)
	}
	return nil
}

// checkMonitor applies Octavia's rules that depend on the type.
func checkMonitor(h *model.HealthMonitor, req *monitorRequest) error {
	switch h.Type {
	case "UDP-CONNECT", "SCTP":
		return &model.InputError{Type: "ValidationException", Message: "Invalid input for type. Reason: " + h.Type + " is not supported by this provider."}
	}
	if !httpType(h.Type) {
		for field, sent := range map[string]bool{
			"http_method": req.HTTPMethod != nil && *req.HTTPMethod != "", "url_path": req.URLPath != nil && *req.URLPath != "",
			"expected_codes": req.ExpectedCodes != nil && *req.ExpectedCodes != "", "domain_name": req.DomainName != nil && *req.DomainName != "",
			"http_version": req.HTTPVersion != nil && string(*req.HTTPVersion) != "null",
		} {
			if sent {
				return validation("%s is only used by HTTP and HTTPS health monitors, not %s.", field, h.Type)
			}
		}
	}
	if h.Fall < 1 || h.Fall > 10 { // v2 always has a fall
		return &model.InputError{Type: "ValidationException", Message: "Invalid input for max_retries_down. Reason: it must be 1 through 10."}
	}
	return model.ValidateHealthMonitor(h)
}

func (s *Server) createMonitor(w http.ResponseWriter, r *http.Request) {
	caller := httpapi.WhoFrom(r.Context())
	var req monitorRequest
	if err := readBody(r, "healthmonitor", model.OpCreate, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	h, err := s.prepareMonitor(caller, &req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.mutateAndShow(w, r, monitorRes, http.StatusCreated, h.ID, func() (*store.Txn, error) {
		t := new(store.Txn)
		if err := s.guardQuota(t, h.TenantID, model.KindHealthMonitor, 1); err != nil {
			return nil, err
		}
		return t, s.addMonitor(t, caller, h, *req.PoolID)
	})
}

// prepareMonitor checks a create request and builds the monitor.
func (s *Server) prepareMonitor(caller httpapi.Who, req *monitorRequest) (*model.HealthMonitor, error) {
	tenant, err := tenantFor(caller, req.ProjectID, req.TenantID)
	if err != nil {
		return nil, err
	}
	h := &model.HealthMonitor{Meta: s.newMeta(tenant), Type: *req.Type, HTTPMethod: "GET", URLPath: "/", ExpectedCodes: "200",
		AdminStateUp: true, MaxRetriesDown: 3, Fall: 3}
	if err := applyMonitor(h, req); err != nil {
		return nil, err
	}
	if err := checkMonitor(h, req); err != nil {
		return nil, err
	}
	if err := model.ValidateUUID("pool_id", *req.PoolID); err != nil {
		return nil, err
	}
	return h, nil
}

// addMonitor adds to t a monitor and its pool, which lists it.
func (s *Server) addMonitor(t *store.Txn, caller httpapi.Who, h *model.HealthMonitor, poolID string) error {
	pe, err := s.get(caller, model.KindPool, poolRes.what, poolID)
	if err != nil {
		return err
	}
	p := *pe.Obj.(*model.Pool)
	if len(p.HealthMonitors) > 0 {
		return conflict("This pool already has a health monitor")
	}
	p.HealthMonitors = []string{h.ID}
	p.UpdatedAt = s.now()
	t.Update(model.KindPool, &p, pe.Rev).Create(model.KindHealthMonitor, h)
	return nil
}

func (s *Server) updateMonitor(w http.ResponseWriter, r *http.Request) {
	caller := httpapi.WhoFrom(r.Context())
	var req monitorRequest
	if err := readBody(r, "healthmonitor", model.OpUpdate, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	id := r.PathValue("id")
	s.mutateAndShow(w, r, monitorRes, http.StatusOK, id, func() (*store.Txn, error) {
		e, err := s.get(caller, model.KindHealthMonitor, monitorRes.what, id)
		if err != nil {
			return nil, err
		}
		h := *e.Obj.(*model.HealthMonitor)
		if err := applyMonitor(&h, &req); err != nil {
			return nil, err
		}
		if err := checkMonitor(&h, &req); err != nil {
			return nil, err
		}
		h.UpdatedAt = s.now()
		return new(store.Txn).Update(model.KindHealthMonitor, &h, e.Rev), nil
	})
}

// deleteMonitor deletes the monitor and takes it off its pools.
func (s *Server) deleteMonitor(w http.ResponseWriter, r *http.Request) {
	caller := httpapi.WhoFrom(r.Context())
	id := r.PathValue("id")
	_, err := s.st.Mutate(r.Context(), func() (*store.Txn, error) {
		e, err := s.get(caller, model.KindHealthMonitor, monitorRes.what, id)
		if err != nil {
			return nil, err
		}
		t := new(store.Txn).Delete(model.KindHealthMonitor, id, e.Rev)
		for _, pe := range s.monitorPools(id) {
			p := *pe.Obj.(*model.Pool)
			rest := make([]string, 0, len(p.HealthMonitors))
			for _, x := range p.HealthMonitors {
				if x != id {
					rest = append(rest, x)
				}
			}
			p.HealthMonitors, p.UpdatedAt = rest, s.now()
			t.Update(model.KindPool, &p, pe.Rev)
		}
		return t, nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

package octavia

import (
	"encoding/json"
	"net/http"
	"sort"

	"lbaas/internal/api/httpapi"
	"lbaas/internal/model"
	"lbaas/internal/quota"
	"lbaas/internal/store"
)

// quotaView renders limits as Octavia's quota show does. withProject adds
// what its list adds: the project, and the older spellings of two keys
// (loadbalancer, healthmonitor) that clients still read.
func quotaView(l model.Limits, project string) map[string]any {
	v := map[string]any{}
	for _, c := range model.CountedKinds {
		n := model.QuotaUnlimited
		if p := *c.Field(&l); p != nil {
			n = *p
		}
		v[c.Key] = n
	}
	if project != "" {
		v["project_id"] = project
		v["loadbalancer"] = v["load_balancer"]
		v["healthmonitor"] = v["health_monitor"]
	}
	return v
}

// listQuotas lists the projects that have limits of their own (a caller
// granted every project sees all, or those of ?project_id=; others their
// own).
func (s *Server) listQuotas(w http.ResponseWriter, r *http.Request) {
	c := httpapi.WhoFrom(r.Context())
	want := r.URL.Query().Get("project_id")
	if !c.All() {
		if want != "" && want != c.Project {
			httpapi.WriteJSON(w, http.StatusOK, map[string]any{"quotas": []any{}, "quotas_links": []any{}})
			return
		}
		want = c.Project
	}
	var entries []store.Entry
	if want != "" {
		if e, ok := s.st.Get(model.KindQuota, want); ok {
			entries = append(entries, e)
		}
	} else {
		entries = s.st.List(model.KindQuota)
	}
	out := make([]any, 0, len(entries))
	for _, e := range entries {
		q := e.Obj.(*model.Quota)
		if q.Limits.IsEmpty() {
			continue // only counted, never limited: a default quota
		}
		out = append(out, quotaView(q.Limits.Over(s.cfg.Quotas), q.ID))
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].(map[string]any)["project_id"].(string) < out[j].(map[string]any)["project_id"].(string)
	})
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"quotas": out, "quotas_links": []any{}})
}

func (s *Server) quotaDefaults(w http.ResponseWriter, r *http.Request) {
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"quota": quotaView(s.cfg.Quotas, "")})
}

// quotaProject returns the project of a quota path if the caller's grant
// covers it.
func (s *Server) quotaProject(r *http.Request) (string, error) {
	c, p := httpapi.WhoFrom(r.Context()), r.PathValue("project")
	if err := model.ValidateTenantID(p); err != nil {
		return "", err
	}
	if !c.Covers(p) {
		return "", forbidden()
	}
	return p, nil
}

func (s *Server) showQuota(w http.ResponseWriter, r *http.Request) {
	p, err := s.quotaProject(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"quota": quotaView(quota.Limits(s.st, s.cfg.Quotas, p), "")})
}

func (s *Server) showProjectDefaults(w http.ResponseWriter, r *http.Request) {
	if _, err := s.quotaProject(r); err != nil {
		s.fail(w, r, err)
		return
	}
	s.quotaDefaults(w, r)
}

// setQuota (admin) replaces the limits sent; a limit sent as null goes
// back to the default. It answers 202 with the project's limits, as
// Octavia does.
func (s *Server) setQuota(w http.ResponseWriter, r *http.Request) {
	p, err := s.quotaProject(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	set, clear, err := readLimits(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if _, err := s.st.Mutate(r.Context(), func() (*store.Txn, error) {
		t := new(store.Txn)
		quota.Set(s.st, t, p, set, clear, s.now())
		return t, nil
	}); err != nil {
		s.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusAccepted, map[string]any{"quota": quotaView(quota.Limits(s.st, s.cfg.Quotas, p), "")})
}

// resetQuota (admin) returns every limit of the project to the default.
func (s *Server) resetQuota(w http.ResponseWriter, r *http.Request) {
	p, err := s.quotaProject(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if _, err := s.st.Mutate(r.Context(), func() (*store.Txn, error) {
		t := new(store.Txn)
		quota.Reset(s.st, t, p, s.now())
		return t, nil
	}); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// readLimits decodes {"quota": {...}}: each key one of Octavia's names
// (both spellings of load_balancer and health_monitor), each value an
// integer from -1 to model.MaxQuota, or null for the default.
func readLimits(r *http.Request) (model.Limits, []model.Kind, error) {
	var set model.Limits
	var clear []model.Kind
	body, err := httpapi.ReadBody(r)
	if err != nil {
		return set, nil, err
	}
	var outer map[string]json.RawMessage
	if json.Unmarshal(body, &outer) != nil || len(outer) != 1 || outer["quota"] == nil {
		return set, nil, &model.InputError{Type: "HTTPBadRequest", Message: "Invalid input: the body must be {\"quota\": {...}}"}
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(outer["quota"], &fields) != nil || fields == nil {
		return set, nil, &model.InputError{Type: "HTTPBadRequest", Message: "Invalid input: quota must be a JSON object"}
	}
	alias := map[string]string{"loadbalancer": "load_balancer", "healthmonitor": "health_monitor"}
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		key := name
		if a, ok := alias[name]; ok {
			key = a
		}
		var c *model.Counted
		for i := range model.CountedKinds {
			if model.CountedKinds[i].Key == key {
				c = &model.CountedKinds[i]
			}
		}
		if c == nil {
			return set, nil, validation("Unknown quota '%s'.", model.Clip(name))
		}
		raw := fields[name]
		if string(raw) == "null" {
			clear = append(clear, c.Kind)
			continue
		}
		var n int
		if err := json.Unmarshal(raw, &n); err != nil {
			return set, nil, &model.InputError{Type: "ValidationException", Message: "Invalid input for field/attribute " + name + ". Value: " + model.Clip(string(raw)) + ". Reason: it must be an integer."}
		}
		if err := model.ValidateLimit(name, n); err != nil {
			return set, nil, err
		}
		*c.Field(&set) = &n
	}
	return set, clear, nil
}

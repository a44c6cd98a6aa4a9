package octavia

import (
	"net/http"

	"lbaas/internal/api/httpapi"
	"lbaas/internal/model"
)

// providers lists the one provider this service has.
func (s *Server) providers(w http.ResponseWriter, r *http.Request) {
	all := []map[string]any{{"name": model.ProviderName, "description": "HAProxy active/standby pairs in network namespaces (default)"}}
	out := make([]map[string]any, 0, 1)
	fields := r.URL.Query()["fields"]
	for _, p := range all {
		out = append(out, httpapi.Project(p, fields))
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"providers": out})
}

// Quotas are not enforced yet: every project has Octavia's "unlimited"
// (-1) for every resource, and PUT/DELETE are not served.
// TODO: store and enforce quotas.
func quota(project string) map[string]any {
	q := map[string]any{"load_balancer": -1, "listener": -1, "pool": -1, "member": -1, "health_monitor": -1, "l7policy": -1, "l7rule": -1}
	if project != "" {
		q["project_id"] = project
	}
	return q
}

func (s *Server) listQuotas(w http.ResponseWriter, r *http.Request) {
	c := httpapi.CallerFrom(r.Context())
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"quotas": []any{quota(c.Project)}, "quotas_links": []any{}})
}

func (s *Server) quotaDefaults(w http.ResponseWriter, r *http.Request) {
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"quota": quota("")})
}

func (s *Server) showQuota(w http.ResponseWriter, r *http.Request) {
	c, p := httpapi.CallerFrom(r.Context()), r.PathValue("project")
	if !c.IsAdmin() && p != c.Project {
		s.fail(w, r, forbidden())
		return
	}
	q := quota("")
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"quota": q})
}

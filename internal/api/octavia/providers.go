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

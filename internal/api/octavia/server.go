// Package octavia serves the OpenStack Octavia v2 API (/v2/lbaas/... and
// /v2.0/lbaas/...) on the load-balancer model: load balancers, listeners,
// pools, members, health monitors, their status tree and statistics,
// providers and quotas. It validates every request, writes desired state
// in one store transaction per request and never touches the data plane;
// statuses are derived by the controller package from what the agents
// report.
package octavia

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"lbaas/internal/api/httpapi"
	"lbaas/internal/controller"
	"lbaas/internal/model"
	"lbaas/internal/quota"
	"lbaas/internal/store"
)

// Config tunes the server (see httpapi.Config).
type Config = httpapi.Config

// Server is the HTTP handler of the Octavia v2 API.
type Server struct {
	cfg Config
	st  *store.Store
	log *slog.Logger
	mux *http.ServeMux
	now func() time.Time
}

// New builds the handler.
func New(st *store.Store, cfg Config) *Server {
	cfg = cfg.WithDefaults()
	s := &Server{cfg: cfg, st: st, log: cfg.Logger, now: cfg.Now, mux: http.NewServeMux()}
	s.routes()
	return s
}

// ServeHTTP authenticates, bounds the body, recovers from panics and
// dispatches. A node credential opens nothing here.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && (r.URL.Path == "/" || r.URL.Path == "") {
		// Version discovery needs no token, as in Octavia.
		s.versions(w, r)
		return
	}
	h := httpapi.Handler{NoAuth: s.cfg.NoAuth, Auth: s.cfg.Auth, Errors: errorWriter{}, Log: s.log, Next: s.mux}
	h.ServeHTTP(w, r)
}

// errorWriter writes Octavia's (WSME's) error body.
type errorWriter struct{}

func (errorWriter) WriteError(w http.ResponseWriter, code int, _, msg string) {
	fault := "Client"
	if code >= 500 {
		fault = "Server"
	}
	httpapi.WriteJSON(w, code, map[string]any{"faultcode": fault, "faultstring": msg, "debuginfo": nil})
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpapi.Fail(errorWriter{}, s.log, w, r, err)
}

// prefixes are both spellings of the API's root: clients use /v2.0,
// Octavia's documentation /v2.
var prefixes = []string{"/v2", "/v2.0"}

func (s *Server) routes() {
	// Octavia serves every collection both under /lbaas and straight
	// under the version (/v2/lbaas/quotas and /v2/quotas); gophercloud's
	// quotas package uses the latter.
	var bases []string
	for _, p := range prefixes {
		bases = append(bases, p+"/lbaas", p)
	}
	for _, b := range bases {
		s.handle("GET "+b+"/loadbalancers", "loadbalancer:get_all", s.list(lbRes))
		s.handle("POST "+b+"/loadbalancers", "loadbalancer:post", s.createLoadBalancer)
		s.handle("GET "+b+"/loadbalancers/{id}", "loadbalancer:get_one", s.show(lbRes))
		s.handle("PUT "+b+"/loadbalancers/{id}", "loadbalancer:put", s.updateLoadBalancer)
		s.handle("DELETE "+b+"/loadbalancers/{id}", "loadbalancer:delete", s.deleteLoadBalancer)
		s.handle("GET "+b+"/loadbalancers/{id}/status", "loadbalancer:get_status", s.statusTree)
		s.handle("GET "+b+"/loadbalancers/{id}/statuses", "loadbalancer:get_status", s.statusTree)
		s.handle("GET "+b+"/loadbalancers/{id}/stats", "loadbalancer:get_stats", s.loadBalancerStats)
		s.handle("PUT "+b+"/loadbalancers/{id}/failover", "loadbalancer:put_failover", s.failover)

		s.handle("GET "+b+"/listeners", "listener:get_all", s.list(listenerRes))
		s.handle("POST "+b+"/listeners", "listener:post", s.createListener)
		s.handle("GET "+b+"/listeners/{id}", "listener:get_one", s.show(listenerRes))
		s.handle("PUT "+b+"/listeners/{id}", "listener:put", s.updateListener)
		s.handle("DELETE "+b+"/listeners/{id}", "listener:delete", s.deleteListener)
		s.handle("GET "+b+"/listeners/{id}/stats", "listener:get_stats", s.listenerStats)

		s.handle("GET "+b+"/pools", "pool:get_all", s.list(poolRes))
		s.handle("POST "+b+"/pools", "pool:post", s.createPool)
		s.handle("GET "+b+"/pools/{id}", "pool:get_one", s.show(poolRes))
		s.handle("PUT "+b+"/pools/{id}", "pool:put", s.updatePool)
		s.handle("DELETE "+b+"/pools/{id}", "pool:delete", s.deletePool)

		s.handle("GET "+b+"/pools/{pool}/members", "member:get_all", s.listMembers)
		s.handle("POST "+b+"/pools/{pool}/members", "member:post", s.createMember)
		s.handle("PUT "+b+"/pools/{pool}/members", "member:put_all", s.batchMembers)
		s.handle("GET "+b+"/pools/{pool}/members/{id}", "member:get_one", s.showMember)
		s.handle("PUT "+b+"/pools/{pool}/members/{id}", "member:put", s.updateMember)
		s.handle("DELETE "+b+"/pools/{pool}/members/{id}", "member:delete", s.deleteMember)

		s.handle("GET "+b+"/healthmonitors", "healthmonitor:get_all", s.list(monitorRes))
		s.handle("POST "+b+"/healthmonitors", "healthmonitor:post", s.createMonitor)
		s.handle("GET "+b+"/healthmonitors/{id}", "healthmonitor:get_one", s.show(monitorRes))
		s.handle("PUT "+b+"/healthmonitors/{id}", "healthmonitor:put", s.updateMonitor)
		s.handle("DELETE "+b+"/healthmonitors/{id}", "healthmonitor:delete", s.deleteMonitor)

		s.handle("GET "+b+"/l7policies", "l7policy:get_all", s.list(l7policyRes))
		s.handle("POST "+b+"/l7policies", "l7policy:post", s.createL7Policy)
		s.handle("GET "+b+"/l7policies/{id}", "l7policy:get_one", s.show(l7policyRes))
		s.handle("PUT "+b+"/l7policies/{id}", "l7policy:put", s.updateL7Policy)
		s.handle("DELETE "+b+"/l7policies/{id}", "l7policy:delete", s.deleteL7Policy)
		s.handle("GET "+b+"/l7policies/{policy}/rules", "l7rule:get_all", s.listL7Rules)
		s.handle("POST "+b+"/l7policies/{policy}/rules", "l7rule:post", s.createL7Rule)
		s.handle("GET "+b+"/l7policies/{policy}/rules/{id}", "l7rule:get_one", s.showL7Rule)
		s.handle("PUT "+b+"/l7policies/{policy}/rules/{id}", "l7rule:put", s.updateL7Rule)
		s.handle("DELETE "+b+"/l7policies/{policy}/rules/{id}", "l7rule:delete", s.deleteL7Rule)

		s.handle("GET "+b+"/providers", "provider:get_all", s.providers)
		s.catalogRoutes(b)
		s.handle("GET "+b+"/quotas", "quota:get_all", s.listQuotas)
		s.handle("GET "+b+"/quotas/defaults", "quota:get_defaults", s.quotaDefaults)
		s.handle("GET "+b+"/quotas/{project}", "quota:get_one", s.showQuota)
		s.handle("GET "+b+"/quotas/{project}/default", "quota:get_defaults", s.showProjectDefaults)
		s.handle("PUT "+b+"/quotas/{project}", "quota:put", s.setQuota)
		s.handle("DELETE "+b+"/quotas/{project}", "quota:delete", s.resetQuota)
	}
	for _, p := range prefixes {
		b := p + "/octavia"
		s.handle("GET "+b+"/amphorae", "amphora:get_all", s.listAmphorae)
		s.handle("GET "+b+"/amphorae/{id}", "amphora:get_one", s.showAmphora)
		s.handle("GET "+b+"/amphorae/{id}/stats", "amphora:get_stats", s.amphoraStats)
		s.handle("PUT "+b+"/amphorae/{id}/failover", "amphora:put_failover", s.failoverAmphora)
		s.handle("PUT "+b+"/amphorae/{id}/config", "amphora:put_config", s.configureAmphora)
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		errorWriter{}.WriteError(w, http.StatusNotFound, "HTTPNotFound", "The resource could not be found.")
	})
}

// handle registers the handler of one operation of the policy table.
func (s *Server) handle(pattern, op string, h http.HandlerFunc) {
	s.mux.HandleFunc(pattern, httpapi.Authorize(errorWriter{}, op, h))
}

// versions is Octavia's version document.
func (s *Server) versions(w http.ResponseWriter, r *http.Request) {
	host := "http://" + r.Host
	v := func(id, status string) map[string]any {
		return map[string]any{"id": id, "status": status, "updated": "2023-01-01T00:00:00Z",
			"links": []map[string]string{{"href": host + "/v2", "rel": "self"}}}
	}
	w.Header().Set("X-Openstack-Request-Id", "req-"+uuid.NewString())
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"versions": []any{v("v2.0", "SUPPORTED"), v("v2.27", "CURRENT")}})
}

// timeFormat is how Octavia writes timestamps (UTC, no zone suffix).
const timeFormat = "2006-01-02T15:04:05"

func (s *Server) newMeta(tenant string) model.Meta {
	now := s.now()
	return model.Meta{ID: uuid.NewString(), TenantID: tenant, CreatedAt: now, UpdatedAt: now}
}

// guardQuota adds to t what keeps project within its limit of kind when t
// creates n more of them (see package quota).
func (s *Server) guardQuota(t *store.Txn, project string, kind model.Kind, n int) error {
	return s.guardQuotas(t, project, map[model.Kind]int{kind: n})
}

// guardQuotas is guardQuota for a transaction creating several kinds; a
// transaction calls it once per project.
func (s *Server) guardQuotas(t *store.Txn, project string, add map[model.Kind]int) error {
	return quota.Guard(s.st, t, s.cfg.Quotas, project, add, s.now())
}

// Errors in Octavia's words.

func notFound(what, id string) error {
	return &model.NotFoundError{Type: "NotFound", Message: fmt.Sprintf("%s %s not found.", what, id)}
}

func forbidden() error {
	return &model.ForbiddenError{Message: "Policy does not allow this request to be performed."}
}

func conflict(format string, args ...any) error {
	return &model.ConflictError{Type: "Conflict", Message: fmt.Sprintf(format, args...)}
}

func validation(format string, args ...any) error {
	return &model.InputError{Type: "ValidationException", Message: "Validation failure: " + fmt.Sprintf(format, args...)}
}

func unsupported(option string) error {
	return &model.InputError{Type: "ProviderUnsupportedOptionError",
		Message: fmt.Sprintf("Provider '%s' does not support a requested option: %s is not supported by this provider.", model.ProviderName, option)}
}

// get reads one object fresh (see store.GetFresh): the caller's, any for
// an admin; another project's is 403, a missing one 404.
func (s *Server) get(caller httpapi.Who, k model.Kind, what, id string) (store.Entry, error) {
	e, ok, err := s.st.GetFresh(context.Background(), k, id)
	if err != nil {
		return store.Entry{}, err
	}
	if !ok {
		return store.Entry{}, notFound(what, id)
	}
	if !caller.Covers(e.Obj.Base().TenantID) {
		return store.Entry{}, forbidden()
	}
	return e, nil
}

// tenantFor decides the owner of a new object: the caller's project, or
// the one an admin names (project_id or tenant_id).
func tenantFor(caller httpapi.Who, requested ...*string) (string, error) {
	var first *string
	for _, r := range requested {
		if r == nil {
			continue
		}
		if first != nil && *r != *first {
			return "", validation("project_id '%s' and tenant_id '%s' differ; send one of them", *first, *r)
		}
		first = r
	}
	if first == nil {
		return caller.Project, nil
	}
	if err := model.ValidateTenantID(*first); err != nil {
		return "", err
	}
	if !caller.Covers(*first) {
		return "", forbidden()
	}
	return *first, nil
}

// readBody decodes {"<envelope>": {...}} into dst.
func readBody(r *http.Request, envelope string, op model.Op, dst any) error {
	body, err := httpapi.ReadBody(r)
	if err != nil {
		return err
	}
	return model.DecodeBody(body, envelope, op, dst)
}

// statuses caches the status of each load balancer a request renders, so
// that a list of a thousand members derives its tree once.
type statuses struct {
	st  *store.Store
	lbs map[string]*lbStatus
}

type lbStatus struct {
	prov controller.Status
	op   controller.Operating
}

func newStatuses(st *store.Store) *statuses {
	return &statuses{st: st, lbs: map[string]*lbStatus{}}
}

func (c *statuses) of(lbID string) *lbStatus {
	if x, ok := c.lbs[lbID]; ok {
		return x
	}
	x := &lbStatus{op: controller.Operating{LoadBalancer: controller.OperatingOffline}}
	if lbID == "" {
		x.prov = controller.Status{Status: model.StatusPendingCreate, Description: "not deployed: the pool has no load balancer"}
	} else {
		x.prov = controller.InstanceStatus(c.st, lbID)
		x.op = controller.OperatingOf(c.st, lbID)
	}
	c.lbs[lbID] = x
	return x
}

// operating picks one object's status out of a map, OFFLINE when absent.
func operating(m map[string]string, id string) string {
	if s, ok := m[id]; ok {
		return s
	}
	return controller.OperatingOffline
}

// refs renders related objects as Octavia does: a list of {"id": ...}.
func refs(ids ...string) []map[string]string {
	out := make([]map[string]string, 0, len(ids))
	for _, id := range ids {
		if id != "" {
			out = append(out, map[string]string{"id": id})
		}
	}
	return out
}

func entryIDs(es []store.Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Obj.Base().ID
	}
	return out
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func tags(t []string) []string {
	if t == nil {
		return []string{}
	}
	return t
}

// common renders what every Octavia object has.
func common(m *model.Meta) map[string]any {
	return map[string]any{
		"id": m.ID, "project_id": m.TenantID, "tenant_id": m.TenantID,
		"created_at": m.CreatedAt.UTC().Format(timeFormat), "updated_at": m.UpdatedAt.UTC().Format(timeFormat),
	}
}

// refID accepts a reference given as an id or as a URL ending in the id
// (a certificate's href).
func refID(ref string) string {
	ref = strings.TrimRight(ref, "/")
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		return ref[i+1:]
	}
	return ref
}

// rawString reads a JSON string or number as text (http_version is a
// number in Octavia's answers, a string in some clients' requests).
func rawString(raw json.RawMessage) (string, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	var f json.Number
	if json.Unmarshal(raw, &f) == nil {
		return f.String(), true
	}
	return "", false
}

// httpapiCtx is the context of the store's fresh reads inside Mutate's
// build, which has none: they are bounded by the store's write bound.
func httpapiCtx() context.Context { return context.Background() }

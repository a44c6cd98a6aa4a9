// Package neutron serves the OpenStack Neutron API subset that LBaaS v1
// clients use: networks, subnets, ports, floating IPs and /v2.0/lb/...
// It validates every request, persists desired state in the store and
// never touches the data plane.
package neutron

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"lbaas/internal/api/httpapi"
	"lbaas/internal/model"
	"lbaas/internal/secrets"
	"lbaas/internal/segment"
	"lbaas/internal/store"
)

// Config tunes the server (see httpapi.Config).
type Config = httpapi.Config

// Server is the HTTP handler of the Neutron API.
type Server struct {
	cfg Config
	st  *store.Store
	log *slog.Logger
	mux *http.ServeMux
	now func() time.Time
	// segments say how new networks are carried between hosts.
	segments segment.Config
}

// New builds the handler.
func New(st *store.Store, cfg Config) *Server {
	cfg = cfg.WithDefaults()
	s := &Server{cfg: cfg, st: st, log: cfg.Logger, now: cfg.Now, mux: http.NewServeMux(),
		segments: segment.Config{PhysicalNetworks: []string{DefaultPublicPhysnet}}.WithDefaults()}
	s.routes()
	return s
}

// SetSegments sets the VNI range, the physical networks and the underlay
// MTU (the default: VNIs 1:65535, the physical network "public", 1500).
func (s *Server) SetSegments(c segment.Config) { s.segments = c.WithDefaults() }

// Mux lets other API packages (the agent endpoints, analytics) add routes
// that share authentication and error handling.
func (s *Server) Mux() *http.ServeMux { return s.mux }

// Logger is the API's logger.
func (s *Server) Logger() *slog.Logger { return s.log }

// Secrets is the keyring private keys are sealed with; the agent API
// opens them for the agents that terminate TLS with them.
func (s *Server) Secrets() *secrets.Keyring { return s.cfg.Secrets }

// ServeHTTP authenticates, bounds the body, recovers from panics and
// dispatches (httpapi.Handler); a node credential opens only the agent
// endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && (r.URL.Path == "/" || r.URL.Path == "") {
		// Version discovery needs no token, as in Neutron: clients that
		// found the endpoint in a catalog (gophercloud, openstacksdk) ask
		// it which versions the endpoint serves.
		writeJSON(w, http.StatusOK, map[string]any{"versions": []any{map[string]any{"id": "v2.0", "status": "CURRENT",
			"links": []map[string]string{{"rel": "self", "href": "http://" + r.Host + "/v2.0/"}}}}})
		return
	}
	h := httpapi.Handler{NoAuth: s.cfg.NoAuth, Auth: s.cfg.Auth, NodePrefix: "/agent/", Errors: errorWriter{}, Log: s.log, Next: s.mux}
	h.ServeHTTP(w, r)
}

// neutronError is the error body neutronclient understands: all three keys
// must be present or the CLI prints the raw body.
type neutronError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	Detail  string `json:"detail"`
}

func writeError(w http.ResponseWriter, code int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]neutronError{"NeutronError": {Type: typ, Message: msg}})
}

// errorWriter writes NeutronErrors for httpapi.
type errorWriter struct{}

func (errorWriter) WriteError(w http.ResponseWriter, code int, typ, msg string) {
	writeError(w, code, typ, msg)
}

// fail maps an error of any layer to its HTTP answer.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpapi.Fail(errorWriter{}, s.log, w, r, err)
}

// writeUnavailable answers 503 in Neutron's error format with Retry-After,
// which clients (and neutronclient's retries) honour.
func writeUnavailable(w http.ResponseWriter, msg string) {
	httpapi.WriteUnavailable(errorWriter{}, w, msg)
}

func writeJSON(w http.ResponseWriter, code int, v any) { httpapi.WriteJSON(w, code, v) }

// readBody decodes a request envelope into dst.
func readBody(r *http.Request, envelope string, op model.Op, dst any) error {
	body, err := httpapi.ReadBody(r)
	if err != nil {
		return err
	}
	return model.DecodeBody(body, envelope, op, dst)
}

func notFound(typ, what, id string) error {
	return &model.NotFoundError{Type: typ, Message: fmt.Sprintf("%s %s could not be found", what, id)}
}

func conflict(typ, format string, args ...any) error {
	return &model.ConflictError{Type: typ, Message: fmt.Sprintf(format, args...)}
}

func badRequest(typ, format string, args ...any) error {
	return &model.InputError{Type: typ, Message: fmt.Sprintf(format, args...)}
}

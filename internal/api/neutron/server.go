// Package neutron serves the OpenStack Neutron API subset that LBaaS v1
// clients use: networks, subnets, ports, floating IPs and /v2.0/lb/...
// It validates every request, persists desired state in the store and
// never touches the data plane.
package neutron

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/google/uuid"

	"lbaas/internal/api/auth"
	"lbaas/internal/model"
	"lbaas/internal/store"
)

// Config tunes the server.
type Config struct {
	// NoAuth accepts every request as the admin of project "admin"
	// (local experiments only).
	NoAuth bool
	// Auth maps tokens to callers; required unless NoAuth.
	Auth *auth.Authenticator
	// Logger receives one line per failed request; never request bodies.
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Server is the HTTP handler of the Neutron API.
type Server struct {
	cfg Config
	st  *store.Store
	log *slog.Logger
	mux *http.ServeMux
	now func() time.Time
}

// New builds the handler.
func New(st *store.Store, cfg Config) *Server {
	s := &Server{cfg: cfg, st: st, log: cfg.Logger, now: cfg.Now, mux: http.NewServeMux()}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = func() time.Time { return time.Now().UTC() }
	}
	s.routes()
	return s
}

// Mux lets other API packages (the agent endpoints, analytics) add routes
// that share authentication and error handling.
func (s *Server) Mux() *http.ServeMux { return s.mux }

type ctxKey struct{}

// CallerFrom returns the authenticated caller of a request.
func CallerFrom(ctx context.Context) auth.Caller {
	c, _ := ctx.Value(ctxKey{}).(auth.Caller)
	return c
}

// ServeHTTP authenticates, bounds the body, recovers from panics and
// dispatches.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Openstack-Request-Id", "req-"+uuid.NewString())
	w.Header().Set("Content-Type", "application/json")
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic in handler", "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
			writeError(w, http.StatusInternalServerError, "HTTPInternalServerError", "Request Failed: internal server error while processing your request.")
		}
	}()
	var caller auth.Caller
	if s.cfg.NoAuth {
		caller = auth.Caller{Project: "admin", Role: auth.RoleAdmin}
	} else {
		c, err := s.cfg.Auth.Authenticate(r.Header.Get("X-Auth-Token"))
		if err != nil {
			writeError(w, http.StatusUnauthorized, "HTTPUnauthorized", auth.ErrUnauthorized.Error())
			return
		}
		caller = c
	}
	// A node credential opens only the agent endpoints.
	if caller.Role == auth.RoleNode && !strings.HasPrefix(r.URL.Path, "/agent/") {
		writeError(w, http.StatusForbidden, "HTTPForbidden", "A node credential may use only the agent API.")
		return
	}
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, model.MaxBodyBytes+1)
	}
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, caller))
	s.mux.ServeHTTP(w, r)
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

// fail maps an error of any layer to its HTTP answer.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var in *model.InputError
	var nf *model.NotFoundError
	var cf *model.ConflictError
	var mbe *http.MaxBytesError
	var un *store.UnavailableError
	switch {
	case errors.As(err, &in) && in.Type == "HTTPForbidden":
		writeError(w, http.StatusForbidden, in.Type, in.Message)
	case errors.As(err, &in):
		writeError(w, http.StatusBadRequest, in.Type, in.Message)
	case errors.As(err, &nf):
		writeError(w, http.StatusNotFound, nf.Type, nf.Message)
	case errors.As(err, &cf):
		writeError(w, http.StatusConflict, cf.Type, cf.Message)
	case errors.As(err, &mbe):
		writeError(w, http.StatusBadRequest, "HTTPBadRequest", fmt.Sprintf("Request body is larger than %d bytes", model.MaxBodyBytes))
	case errors.Is(err, store.ErrConflict):
		writeError(w, http.StatusConflict, "Conflict", "The object was changed by a concurrent request; retry.")
	case errors.As(err, &un) && un.MaybeApplied:
		s.log.Warn("store unavailable; the write may have been applied", "method", r.Method, "path", r.URL.Path, "err", err)
		writeUnavailable(w, "The store did not answer in time; the request may have been applied: read before you retry it.")
	case errors.As(err, &un):
		s.log.Warn("store unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		writeUnavailable(w, "The store is unavailable; nothing was changed: retry.")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		writeUnavailable(w, "The store did not answer in time; retry.")
	default:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "HTTPInternalServerError", "Request Failed: internal server error while processing your request.")
	}
}

// retryAfter is the Retry-After of a 503: about the time etcd takes to
// elect a new leader.
const retryAfter = "1"

// writeUnavailable answers 503 in Neutron's error format with Retry-After,
// which clients (and neutronclient's retries) honour.
func writeUnavailable(w http.ResponseWriter, msg string) {
	w.Header().Set("Retry-After", retryAfter)
	writeError(w, http.StatusServiceUnavailable, "HTTPServiceUnavailable", msg)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// readBody decodes a request envelope into dst.
func readBody(r *http.Request, envelope string, op model.Op, dst any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return &model.InputError{Type: "HTTPBadRequest", Message: "Could not read the request body"}
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

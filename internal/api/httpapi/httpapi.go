// Package httpapi is the HTTP plumbing every API of the server shares:
// authentication of a request to an auth.Caller, the body size bound, panic
// recovery, JSON answers, the mapping of errors of any layer to a status
// code, and list queries (filters, fields, sorting, pagination). Each API
// writes its errors in its own envelope through an ErrorWriter.
package httpapi

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
	"lbaas/internal/api/policy"
	"lbaas/internal/model"
	"lbaas/internal/secrets"
	"lbaas/internal/store"
)

// ErrorWriter writes an error answer in one API's envelope. typ is a short
// machine name of the error (Neutron's "type"); msg is for people.
type ErrorWriter interface {
	WriteError(w http.ResponseWriter, code int, typ, msg string)
}

// Handler wraps an API's mux: every request gets a request id, a JSON
// content type, a bounded body, panic recovery and an authenticated caller
// in its context.
type Handler struct {
	// NoAuth accepts every request as the admin of project "admin".
	NoAuth bool
	// Auth maps tokens to callers; required unless NoAuth.
	Auth auth.Authenticator
	// NodePrefix is the only path prefix a node credential may use; empty:
	// none.
	NodePrefix string
	Errors     ErrorWriter
	Log        *slog.Logger
	Next       http.Handler
}

type ctxKey struct{}

type grantKey struct{}

// NoAuthCaller is everyone's identity when authentication is off.
var NoAuthCaller = auth.Caller{UserID: "admin", UserName: "admin", Project: "admin", ProjectName: "admin",
	Roles: auth.ImpliedRoles([]string{auth.RoleAdmin})}

// CallerFrom returns the authenticated caller of a request.
func CallerFrom(ctx context.Context) auth.Caller {
	c, _ := ctx.Value(ctxKey{}).(auth.Caller)
	return c
}

// WithCaller returns ctx carrying c (for handlers called outside Handler).
func WithCaller(ctx context.Context, c auth.Caller) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
}

// GrantFrom returns the grant Authorize decided for a request's operation.
func GrantFrom(ctx context.Context) policy.Grant {
	g, _ := ctx.Value(grantKey{}).(policy.Grant)
	return g
}

// Authorize wraps the handler of one operation of the policy table: a
// caller whom the table grants nothing for op is refused with 403 in ew's
// envelope before the request is read; the others reach next with their
// grant in the context (GrantFrom), which decides per object.
func Authorize(ew ErrorWriter, op string, next http.HandlerFunc) http.HandlerFunc {
	return authorize(ew, op, true, next)
}

// AuthorizeFiltered is Authorize for reads in Neutron's convention: a
// caller granted nothing is not refused; it finds only what is public to
// it (an empty list, 404 for any id).
func AuthorizeFiltered(op string, next http.HandlerFunc) http.HandlerFunc {
	return authorize(nil, op, false, next)
}

func authorize(ew ErrorWriter, op string, refuse bool, next http.HandlerFunc) http.HandlerFunc {
	if !policy.Known(op) {
		panic("httpapi: operation " + op + " is not in the policy table")
	}
	return func(w http.ResponseWriter, r *http.Request) {
		g := policy.Of(CallerFrom(r.Context()), op)
		if refuse && !g.Any() {
			ew.WriteError(w, http.StatusForbidden, "PolicyNotAuthorized", PolicyRefusal(op))
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), grantKey{}, g)))
	}
}

// PolicyRefusal is the message of a 403 for op: the operation's name, as
// oslo.policy says it, and nothing about which role was missing.
func PolicyRefusal(op string) string {
	return "Policy does not allow this request to be performed: (rule:" + op + ")."
}

// InternalErrorMessage is what a 500 says: nothing about the cause.
const InternalErrorMessage = "Request Failed: internal server error while processing your request."

// ServeHTTP authenticates, bounds the body, recovers from panics and
// dispatches to Next.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Openstack-Request-Id", "req-"+uuid.NewString())
	w.Header().Set("Content-Type", "application/json")
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			h.log().Error("panic in handler", "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
			h.Errors.WriteError(w, http.StatusInternalServerError, "HTTPInternalServerError", InternalErrorMessage)
		}
	}()
	var caller auth.Caller
	if h.NoAuth {
		caller = NoAuthCaller
	} else {
		c, err := h.Auth.Authenticate(r.Context(), r.Header.Get("X-Auth-Token"))
		if errors.Is(err, auth.ErrUnavailable) {
			h.log().Warn("identity service unavailable", "err", err)
			WriteUnavailable(h.Errors, w, auth.ErrUnavailable.Error())
			return
		}
		if err != nil {
			h.Errors.WriteError(w, http.StatusUnauthorized, "HTTPUnauthorized", auth.ErrUnauthorized.Error())
			return
		}
		caller = c
	}
	if caller.Node != "" && (h.NodePrefix == "" || !strings.HasPrefix(r.URL.Path, h.NodePrefix)) {
		h.Errors.WriteError(w, http.StatusForbidden, "HTTPForbidden", "A node credential may use only the agent API.")
		return
	}
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, model.MaxBodyBytes+1)
	}
	h.Next.ServeHTTP(w, r.WithContext(WithCaller(r.Context(), caller)))
}

func (h *Handler) log() *slog.Logger {
	if h.Log == nil {
		return slog.Default()
	}
	return h.Log
}

// WriteJSON answers code with v encoded.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// ReadBody reads a request body (bounded by Handler) for model.DecodeBody.
func ReadBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, &model.InputError{Type: "HTTPBadRequest", Message: "Could not read the request body"}
	}
	return body, nil
}

// RetryAfter is the Retry-After of a 503: about the time etcd takes to
// elect a new leader.
const RetryAfter = "1"

// WriteUnavailable answers 503 with Retry-After, which clients honour.
func WriteUnavailable(ew ErrorWriter, w http.ResponseWriter, msg string) {
	w.Header().Set("Retry-After", RetryAfter)
	ew.WriteError(w, http.StatusServiceUnavailable, "HTTPServiceUnavailable", msg)
}

// Fail maps an error of any layer to its HTTP answer in ew's envelope:
// input errors 400, forbidden 403, not found 404, conflicts 409, a store
// that does not answer 503, anything else 500 (logged, never described).
func Fail(ew ErrorWriter, log *slog.Logger, w http.ResponseWriter, r *http.Request, err error) {
	if log == nil {
		log = slog.Default()
	}
	var in *model.InputError
	var fb *model.ForbiddenError
	var nf *model.NotFoundError
	var cf *model.ConflictError
	var mbe *http.MaxBytesError
	var un *store.UnavailableError
	var qe *model.QuotaError
	switch {
	case errors.As(err, &qe):
		ew.WriteError(w, http.StatusForbidden, "QuotaException", qe.Error())
	case errors.As(err, &fb):
		ew.WriteError(w, http.StatusForbidden, "HTTPForbidden", fb.Message)
	case errors.As(err, &in) && in.Type == "HTTPForbidden":
		ew.WriteError(w, http.StatusForbidden, in.Type, in.Message)
	case errors.As(err, &in):
		ew.WriteError(w, http.StatusBadRequest, in.Type, in.Message)
	case errors.As(err, &nf):
		ew.WriteError(w, http.StatusNotFound, nf.Type, nf.Message)
	case errors.As(err, &cf):
		ew.WriteError(w, http.StatusConflict, cf.Type, cf.Message)
	case errors.As(err, &mbe):
		ew.WriteError(w, http.StatusBadRequest, "HTTPBadRequest", fmt.Sprintf("Request body is larger than %d bytes", model.MaxBodyBytes))
	case errors.Is(err, store.ErrConflict):
		ew.WriteError(w, http.StatusConflict, "Conflict", "The object was changed by a concurrent request; retry.")
	case errors.As(err, &un) && un.MaybeApplied:
		log.Warn("store unavailable; the write may have been applied", "method", r.Method, "path", r.URL.Path, "err", err)
		WriteUnavailable(ew, w, "The store did not answer in time; the request may have been applied: read before you retry it.")
	case errors.As(err, &un):
		log.Warn("store unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		WriteUnavailable(ew, w, "The store is unavailable; nothing was changed: retry.")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		WriteUnavailable(ew, w, "The store did not answer in time; retry.")
	default:
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		ew.WriteError(w, http.StatusInternalServerError, "HTTPInternalServerError", InternalErrorMessage)
	}
}

// Config tunes an API server; every API takes the same.
type Config struct {
	// NoAuth accepts every request as the admin of project "admin"
	// (local experiments only).
	NoAuth bool
	// Auth maps tokens to callers; required unless NoAuth.
	Auth auth.Authenticator
	// Logger receives one line per failed request; never request bodies.
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Quotas are the limits of a project that has none of its own; a nil
	// limit is unlimited.
	Quotas model.Limits
	// Secrets seals private keys before they reach the store (see package
	// secrets). The server passes its key file's; when nil (a test of one
	// package), a key that lives as long as the process is made.
	Secrets *secrets.Keyring
}

// WithDefaults fills the logger and the clock when they are unset.
func (c Config) WithDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = func() time.Time { return time.Now().UTC() }
	}
	if c.Secrets == nil {
		line, err := secrets.NewKeyLine(time.Now())
		if err != nil {
			panic("no randomness for a secrets key: " + err.Error())
		}
		c.Secrets, _ = secrets.Parse([]byte(line))
	}
	return c
}

// Who is a request's caller with its grant for the request's operation:
// handlers ask Covers(project) of each object they touch.
type Who struct {
	auth.Caller
	policy.Grant
}

// WhoFrom returns the caller and grant of a request.
func WhoFrom(ctx context.Context) Who {
	return Who{Caller: CallerFrom(ctx), Grant: GrantFrom(ctx)}
}

package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"lbaas/internal/api/auth"
	"lbaas/internal/api/httpapi"
	"lbaas/internal/api/policy"
)

// cookieName holds the caller's token: HttpOnly (no script reads it),
// SameSite=Strict (no other site's page sends it), path /ui/.
const cookieName = "lbaas_ui_token"

// sessionFor is how long the browser keeps the cookie; the token's own
// expiry still applies (the built-in service's tokens last hours).
const sessionFor = 12 * time.Hour

type ctxKey struct{}

func callerOf(ctx context.Context) auth.Caller { c, _ := ctx.Value(ctxKey{}).(auth.Caller); return c }

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// authenticate resolves a token as the APIs do.
func (s *server) authenticate(ctx context.Context, token string) (auth.Caller, error) {
	if s.c.NoAuth {
		return httpapi.NoAuthCaller, nil
	}
	if token == "" || s.c.Auth == nil {
		return auth.Caller{}, auth.ErrUnauthorized
	}
	c, err := s.c.Auth.Authenticate(ctx, token)
	if err == nil && c.Node != "" {
		return auth.Caller{}, auth.ErrUnauthorized // a node's credential is nobody's login
	}
	return c, err
}

// cookieCaller is the caller whose token the session cookie holds.
func (s *server) cookieCaller(r *http.Request) (auth.Caller, error) {
	token := ""
	if c, err := r.Cookie(cookieName); err == nil {
		token = c.Value
	}
	return s.authenticate(r.Context(), token)
}

// authed lets a request through with its caller, or answers 401 (503
// when the identity service cannot be asked).
func (s *server) authed(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		caller, err := s.cookieCaller(r)
		switch {
		case errors.Is(err, auth.ErrUnavailable):
			writeErr(w, http.StatusServiceUnavailable, err.Error())
			return
		case err != nil:
			writeErr(w, http.StatusUnauthorized, "log in with a token or a user name and password")
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, caller)))
	}
}

type loginRequest struct {
	Token    string `json:"token"`
	Username string `json:"username"`
	Password string `json:"password"`
	Project  string `json:"project"`
	Domain   string `json:"domain"`
}

// login checks a token, or gets one for a user name and password from the
// identity endpoint, and keeps it in the cookie.
func (s *server) login(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<10)).Decode(&req); err != nil {
		writeErr(w, http.StatusBadRequest, "send JSON: {\"token\": ...} or {\"username\", \"password\", \"project\"}")
		return
	}
	token := strings.TrimSpace(req.Token)
	if token == "" && req.Username != "" {
		if s.c.IdentityURL == "" {
			writeErr(w, http.StatusBadRequest, "this server has no identity endpoint: log in with a token")
			return
		}
		t, err := s.passwordToken(r.Context(), req)
		if err != nil {
			writeErr(w, http.StatusUnauthorized, err.Error())
			return
		}
		token = t
	}
	caller, err := s.authenticate(r.Context(), token)
	switch {
	case errors.Is(err, auth.ErrUnavailable):
		writeErr(w, http.StatusServiceUnavailable, err.Error())
		return
	case err != nil:
		writeErr(w, http.StatusUnauthorized, "the token is not valid (a node's credential is not one)")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: token, Path: "/ui/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil, MaxAge: int(sessionFor / time.Second)})
	writeJSON(w, http.StatusOK, whoView(caller))
}

// session says whether the cookie holds a valid token (200 either way:
// the page asks before it knows, and a browser logs every 401 as an error).
func (s *server) session(w http.ResponseWriter, r *http.Request) {
	caller, err := s.cookieCaller(r)
	switch {
	case errors.Is(err, auth.ErrUnavailable):
		writeErr(w, http.StatusServiceUnavailable, err.Error())
	case err != nil:
		writeJSON(w, http.StatusOK, map[string]any{"logged_in": false, "password_login": s.c.IdentityURL != ""})
	default:
		writeJSON(w, http.StatusOK, map[string]any{"logged_in": true, "who": whoView(caller), "password_login": s.c.IdentityURL != ""})
	}
}

func (s *server) logout(w http.ResponseWriter, _ *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/ui/", HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	w.WriteHeader(http.StatusNoContent)
}

func whoView(c auth.Caller) map[string]any {
	return map[string]any{"user": c.UserName, "project": c.Project, "project_name": c.ProjectName, "roles": c.Roles,
		"admin": policy.Allowed(c, "agent:get", "")}
}

// passwordToken asks the identity endpoint (Keystone v3's password
// method, scoped to the project by name) for a token.
func (s *server) passwordToken(ctx context.Context, req loginRequest) (string, error) {
	domain := req.Domain
	if domain == "" {
		domain = "Default"
	}
	body := map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{
			"user": map[string]any{"name": req.Username, "password": req.Password, "domain": map[string]string{"name": domain}}}},
		"scope": map[string]any{"project": map[string]any{"name": req.Project, "domain": map[string]string{"name": domain}}},
	}}
	b, _ := json.Marshal(body)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, "POST", strings.TrimRight(s.c.IdentityURL, "/")+"/auth/tokens", bytes.NewReader(b))
	if err != nil {
		return "", err
	}
	hr.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		return "", errors.New("the identity service cannot be reached; retry")
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusCreated {
		return "", errors.New("the user name, password or project is wrong")
	}
	t := resp.Header.Get("X-Subject-Token")
	if t == "" {
		return "", errors.New("the identity service answered without a token")
	}
	return t, nil
}

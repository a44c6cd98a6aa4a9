package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"lbaas/internal/api/auth"
	"lbaas/internal/api/policy"
	"lbaas/internal/model"
	"lbaas/internal/store"
)

// The Keystone v3 API, as far as the clients need it. Errors are in
// Keystone's envelope: {"error": {"code", "title", "message"}}.

const maxBody = 64 << 10

// Handler serves /v3 (and the version document at /).
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.versions)
	mux.HandleFunc("GET /v3", s.version)
	mux.HandleFunc("GET /v3/{$}", s.version)
	mux.HandleFunc("POST /v3/auth/tokens", s.createToken)
	mux.HandleFunc("GET /v3/auth/tokens", s.withToken(s.checkToken))
	mux.HandleFunc("HEAD /v3/auth/tokens", s.withToken(s.checkToken))
	mux.HandleFunc("DELETE /v3/auth/tokens", s.withToken(s.revokeToken))
	mux.HandleFunc("GET /v3/auth/catalog", s.withToken(s.authCatalog))
	mux.HandleFunc("GET /v3/auth/projects", s.withToken(s.authProjects))

	mux.HandleFunc("GET /v3/domains", s.withToken(s.listDomains))
	mux.HandleFunc("GET /v3/domains/{id}", s.withToken(s.showDomain))

	mux.HandleFunc("GET /v3/projects", s.admin(s.listNamed(model.KindProject, "projects", func(r *http.Request, o model.Object) map[string]any { return projectView(r, o.(*model.Project)) })))
	mux.HandleFunc("POST /v3/projects", s.admin(s.createProjectH))
	mux.HandleFunc("GET /v3/projects/{id}", s.withToken(s.showProject))
	mux.HandleFunc("DELETE /v3/projects/{id}", s.admin(s.deleteBy(s.DeleteProject)))
	mux.HandleFunc("GET /v3/users", s.admin(s.listNamed(model.KindUser, "users", func(r *http.Request, o model.Object) map[string]any { return userView(r, o.(*model.User)) })))
	mux.HandleFunc("POST /v3/users", s.admin(s.createUserH))
	mux.HandleFunc("GET /v3/users/{id}", s.withToken(s.showUser))
	mux.HandleFunc("PATCH /v3/users/{id}", s.admin(s.updateUser))
	mux.HandleFunc("DELETE /v3/users/{id}", s.admin(s.deleteBy(s.DeleteUser)))
	mux.HandleFunc("GET /v3/roles", s.withToken(s.listNamed(model.KindRole, "roles", func(r *http.Request, o model.Object) map[string]any { return roleView(r, o.(*model.Role)) })))
	mux.HandleFunc("POST /v3/roles", s.admin(s.createRoleH))
	mux.HandleFunc("GET /v3/projects/{p}/users/{u}/roles", s.admin(s.listUserRoles))
	mux.HandleFunc("PUT /v3/projects/{p}/users/{u}/roles/{r}", s.admin(s.assign))
	mux.HandleFunc("HEAD /v3/projects/{p}/users/{u}/roles/{r}", s.admin(s.checkAssignment))
	mux.HandleFunc("DELETE /v3/projects/{p}/users/{u}/roles/{r}", s.admin(s.unassign))
	mux.HandleFunc("GET /v3/role_assignments", s.admin(s.listAssignments))

	mux.HandleFunc("GET /v3/users/{id}/application_credentials", s.withToken(s.self(s.listAppCreds)))
	mux.HandleFunc("POST /v3/users/{id}/application_credentials", s.withToken(s.self(s.createAppCred)))
	mux.HandleFunc("GET /v3/users/{id}/application_credentials/{cred}", s.withToken(s.self(s.showAppCred)))
	mux.HandleFunc("DELETE /v3/users/{id}/application_credentials/{cred}", s.withToken(s.self(s.deleteAppCred)))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "The resource could not be found.")
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Openstack-Request-Id", "req-"+uuid.NewString())
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		}
		mux.ServeHTTP(w, r)
	})
}

var titles = map[int]string{400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict",
	413: "Request Entity Too Large", 429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]any{"error": map[string]any{"code": code, "title": titles[code], "message": msg}})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

const unauthorized = "The request you have made requires authentication."

// fail answers an error of any layer in Keystone's envelope.
func (s *Service) fail(w http.ResponseWriter, r *http.Request, err error) {
	var in *model.InputError
	var nf *model.NotFoundError
	var cf *model.ConflictError
	var fb *model.ForbiddenError
	var mbe *http.MaxBytesError
	var un *store.UnavailableError
	switch {
	case errors.As(err, &mbe):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("Request body is larger than %d bytes.", maxBody))
	case errors.As(err, &in):
		writeError(w, http.StatusBadRequest, in.Message)
	case errors.As(err, &nf):
		writeError(w, http.StatusNotFound, nf.Message)
	case errors.As(err, &cf):
		writeError(w, http.StatusConflict, cf.Message)
	case errors.As(err, &fb):
		writeError(w, http.StatusForbidden, fb.Message)
	case errors.Is(err, errRateLimited):
		w.Header().Set("Retry-After", "6")
		writeError(w, http.StatusTooManyRequests, "Too many login attempts; wait before you try again.")
	case errors.Is(err, errBadCredentials), errors.Is(err, errNoAccess), errors.Is(err, auth.ErrUnauthorized):
		writeError(w, http.StatusUnauthorized, unauthorized)
	case errors.As(err, &un), errors.Is(err, auth.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "The identity store is unavailable; retry.")
	default:
		s.log.Error("identity request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "An unexpected error prevented the server from fulfilling your request.")
	}
}

func readJSON(r *http.Request, dst any) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return &model.InputError{Message: "Could not read the request body."}
	}
	if err := json.Unmarshal(b, dst); err != nil {
		return &model.InputError{Message: "Expecting to find valid JSON in the request body: " + model.Clip(err.Error())}
	}
	return nil
}

// base is the URL prefix of this service as the client reached it.
func base(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Service) versionDoc(r *http.Request) map[string]any {
	return map[string]any{"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
		"links":       []map[string]string{{"rel": "self", "href": base(r) + "/v3/"}},
		"media-types": []map[string]string{{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}}}
}

func (s *Service) versions(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusMultipleChoices, map[string]any{"versions": map[string]any{"values": []any{s.versionDoc(r)}}})
}

func (s *Service) version(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"version": s.versionDoc(r)})
}

// --- views

var defaultDomain = map[string]any{"id": model.DefaultDomainID, "name": "Default"}

// links is an entity's links member, which the openstack CLI reads.
func links(r *http.Request, path string) map[string]any {
	return map[string]any{"self": base(r) + "/v3/" + path}
}

// listLinks is a collection's links member (no pages here).
func listLinks(r *http.Request) map[string]any {
	return map[string]any{"self": base(r) + r.URL.Path, "previous": nil, "next": nil}
}

func projectView(r *http.Request, p *model.Project) map[string]any {
	return map[string]any{"links": links(r, "projects/"+p.ID), "id": p.ID, "name": p.Name, "description": p.Description, "enabled": p.Enabled,
		"domain_id": model.DefaultDomainID, "parent_id": model.DefaultDomainID, "is_domain": false, "tags": []string{}}
}

func userView(r *http.Request, u *model.User) map[string]any {
	v := map[string]any{"links": links(r, "users/"+u.ID), "id": u.ID, "name": u.Name, "enabled": u.Enabled, "domain_id": model.DefaultDomainID, "password_expires_at": nil}
	if u.DefaultProjectID != "" {
		v["default_project_id"] = u.DefaultProjectID
	}
	return v
}

func roleView(r *http.Request, role *model.Role) map[string]any {
	return map[string]any{"links": links(r, "roles/"+role.ID), "id": role.ID, "name": role.Name, "domain_id": nil, "description": ""}
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

func (s *Service) catalog() []any {
	out := []any{}
	for _, e := range s.cfg.Catalog {
		id := hashToken(e.Type + e.URL)[:32]
		var eps []any
		for _, iface := range []string{"public", "internal", "admin"} {
			eps = append(eps, map[string]any{"id": hashToken(iface + e.URL)[:32], "interface": iface, "region": s.cfg.Region, "region_id": s.cfg.Region, "url": e.URL})
		}
		out = append(out, map[string]any{"id": id, "type": e.Type, "name": e.Name, "endpoints": eps})
	}
	return out
}

// tokenView is a token's body, as Keystone answers a create or a
// validation.
func (s *Service) tokenView(rec *model.Token, withCatalog bool) map[string]any {
	user := map[string]any{"id": rec.UserID, "domain": defaultDomain, "password_expires_at": nil}
	if ue, ok := s.st.Get(model.KindUser, rec.UserID); ok {
		user["name"] = ue.Obj.(*model.User).Name
	}
	v := map[string]any{"methods": rec.Methods, "user": user, "audit_ids": []string{rec.AuditID},
		"issued_at": stamp(rec.CreatedAt), "expires_at": stamp(rec.ExpiresAt)}
	if rec.ProjectID != "" {
		p := map[string]any{"id": rec.ProjectID, "domain": defaultDomain}
		if pe, ok := s.st.Get(model.KindProject, rec.ProjectID); ok {
			p["name"] = pe.Obj.(*model.Project).Name
		}
		v["project"], v["is_domain"] = p, false
		roles := []any{}
		for _, name := range rec.Roles {
			id := ""
			if re, ok := s.byName(model.KindRole, name); ok {
				id = re.Obj.Base().ID
			}
			roles = append(roles, map[string]any{"id": id, "name": name})
		}
		v["roles"] = roles
		if withCatalog {
			v["catalog"] = s.catalog()
		}
	}
	if rec.AppCredID != "" {
		v["application_credential"] = map[string]any{"id": rec.AppCredID, "restricted": true}
	}
	return map[string]any{"token": v}
}

// --- authentication

type domainRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// ok reports whether a domain reference names the one domain (or none).
func (d *domainRef) ok() bool {
	return d == nil || (d.ID == "" || d.ID == model.DefaultDomainID) && (d.Name == "" || d.Name == "Default")
}

type userRef struct {
	ID       string     `json:"id"`
	Name     string     `json:"name"`
	Domain   *domainRef `json:"domain"`
	Password string     `json:"password"`
}

type authRequest struct {
	Auth struct {
		Identity struct {
			Methods  []string `json:"methods"`
			Password *struct {
				User userRef `json:"user"`
			} `json:"password"`
			AppCred *struct {
				ID     string   `json:"id"`
				Name   string   `json:"name"`
				User   *userRef `json:"user"`
				Secret string   `json:"secret"`
			} `json:"application_credential"`
			Token *struct {
				ID string `json:"id"`
			} `json:"token"`
		} `json:"identity"`
		Scope json.RawMessage `json:"scope"`
	} `json:"auth"`
}

func remoteAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// findUser resolves a user reference; nil when there is none (the caller
// then spends the same time on a dummy hash).
func (s *Service) findUser(ref userRef) *model.User {
	if !ref.Domain.ok() && ref.ID == "" {
		return nil
	}
	if ref.ID != "" {
		if e, ok := s.st.Get(model.KindUser, ref.ID); ok {
			return e.Obj.(*model.User)
		}
		return nil
	}
	if e, ok := s.byName(model.KindUser, ref.Name); ok {
		return e.Obj.(*model.User)
	}
	return nil
}

// parseScope returns the project a request scopes to; "" for unscoped.
func (s *Service) parseScope(raw json.RawMessage, u *model.User, explicitUnscoped *bool) (scope, error) {
	if len(raw) == 0 || string(raw) == "null" {
		// Keystone scopes a request without scope to the user's default
		// project, where there is one.
		if u != nil && u.DefaultProjectID != "" {
			return scope{projectID: u.DefaultProjectID}, nil
		}
		return scope{}, nil
	}
	if string(raw) == `"unscoped"` {
		*explicitUnscoped = true
		return scope{}, nil
	}
	var sc struct {
		Project *struct {
			ID     string     `json:"id"`
			Name   string     `json:"name"`
			Domain *domainRef `json:"domain"`
		} `json:"project"`
		Domain json.RawMessage `json:"domain"`
		System json.RawMessage `json:"system"`
	}
	if err := json.Unmarshal(raw, &sc); err != nil {
		return scope{}, &model.InputError{Message: "Invalid scope in the request body."}
	}
	if sc.Project == nil {
		// Domain and system scopes: there is one domain and no system
		// role here; a token of those scopes would be refused by every
		// API anyway.
		return scope{}, errNoAccess
	}
	if sc.Project.ID != "" {
		return scope{projectID: sc.Project.ID}, nil
	}
	if !sc.Project.Domain.ok() {
		return scope{}, errNoAccess
	}
	if e, ok := s.byName(model.KindProject, sc.Project.Name); ok {
		return scope{projectID: e.Obj.Base().ID}, nil
	}
	return scope{}, errNoAccess
}

func (s *Service) createToken(w http.ResponseWriter, r *http.Request) {
	var req authRequest
	if err := readJSON(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	id := req.Auth.Identity
	var (
		u       *model.User
		ac      *model.AppCred
		methods []string
		err     error
	)
	remote := remoteAddr(r)
	switch {
	case slices.Contains(id.Methods, "password") && id.Password != nil:
		methods = []string{"password"}
		ref := id.Password.User
		u = s.findUser(ref)
		key := ref.ID
		if key == "" {
			key = ref.Name
		}
		err = s.checkPasswordOf(u, key, remote, ref.Password)
	case slices.Contains(id.Methods, "application_credential") && id.AppCred != nil:
		methods = []string{"application_credential"}
		ac = s.findAppCred(id.AppCred.ID, id.AppCred.Name, id.AppCred.User)
		key := id.AppCred.ID + "/" + id.AppCred.Name
		err = s.checkSecret(ac, key, remote, id.AppCred.Secret)
		if err == nil {
			if ue, ok := s.st.Get(model.KindUser, ac.UserID); ok && ue.Obj.(*model.User).Enabled {
				u = ue.Obj.(*model.User)
			} else {
				err = errBadCredentials
			}
		}
	case slices.Contains(id.Methods, "token") && id.Token != nil:
		// Rescoping: a valid token buys a token of another scope for its
		// user, never beyond the first one's life.
		methods = []string{"token"}
		rec, verr := s.validate(r.Context(), id.Token.ID)
		err = verr
		if err == nil && rec.AppCredID != "" {
			err = &model.ForbiddenError{Message: "A token of an application credential cannot be rescoped."}
		}
		if err == nil {
			ue, _ := s.st.Get(model.KindUser, rec.UserID)
			u = ue.Obj.(*model.User)
		}
	default:
		err = &model.InputError{Message: "auth.identity.methods names no method this server supports (password, application_credential, token), or its section is missing."}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var unscoped bool
	sc, err := s.parseScope(req.Auth.Scope, u, &unscoped)
	if ac != nil {
		if sc.projectID != "" && sc.projectID != ac.ProjectID || unscoped {
			err = errNoAccess
		}
		sc = scope{projectID: ac.ProjectID}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	iss, err := s.issue(r.Context(), u, sc, methods, ac)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("X-Subject-Token", iss.Token)
	_, noCatalog := r.URL.Query()["nocatalog"]
	writeJSON(w, http.StatusCreated, s.tokenView(iss.Record, !noCatalog))
}

// who is the holder of a request's token.
type who struct {
	token *model.Token
	// caller is set for a project-scoped token.
	caller auth.Caller
}

func (s *Service) withToken(next func(http.ResponseWriter, *http.Request, who)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := r.Header.Get("X-Auth-Token")
		rec, err := s.validate(r.Context(), tok)
		if errors.Is(err, auth.ErrUnauthorized) && s.cfg.Others != nil {
			var c auth.Caller
			if c, err = s.cfg.Others.Authenticate(r.Context(), tok); err == nil {
				// A tokens-file caller: a token record in its image, with no
				// id (it is no token of this service to validate or revoke).
				rec = &model.Token{UserID: c.UserID, ProjectID: c.Project, Roles: c.Roles}
			}
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		wh := who{token: rec}
		if rec.ProjectID != "" {
			wh.caller = auth.Caller{UserID: rec.UserID, Project: rec.ProjectID, Roles: rec.Roles}
		}
		next(w, r, wh)
	}
}

// admin admits a caller the policy table grants identity:manage.
func (s *Service) admin(next func(http.ResponseWriter, *http.Request, who)) http.HandlerFunc {
	return s.withToken(func(w http.ResponseWriter, r *http.Request, wh who) {
		if !policy.Of(wh.caller, "identity:manage").All() {
			writeError(w, http.StatusForbidden, "You are not authorized to perform the requested action: identity:manage.")
			return
		}
		next(w, r, wh)
	})
}

// self admits the user of the path itself, or an admin.
func (s *Service) self(next func(http.ResponseWriter, *http.Request, who)) func(http.ResponseWriter, *http.Request, who) {
	return func(w http.ResponseWriter, r *http.Request, wh who) {
		if wh.token.UserID != r.PathValue("id") && !policy.Of(wh.caller, "identity:manage").All() {
			writeError(w, http.StatusForbidden, "You are not authorized to perform the requested action.")
			return
		}
		next(w, r, wh)
	}
}

func (s *Service) subject(w http.ResponseWriter, r *http.Request, wh who) (*model.Token, string, bool) {
	subj := r.Header.Get("X-Subject-Token")
	rec, err := s.validate(r.Context(), subj)
	if errors.Is(err, auth.ErrUnauthorized) {
		// Keystone's answer for a token that is not (or no longer) valid.
		writeError(w, http.StatusNotFound, "Could not find token.")
		return nil, "", false
	}
	if err != nil {
		s.fail(w, r, err)
		return nil, "", false
	}
	if (wh.token.ID == "" || rec.ID != wh.token.ID) && !policy.Of(wh.caller, "identity:manage").All() {
		writeError(w, http.StatusForbidden, "You are not authorized to perform the requested action: identity:validate_token.")
		return nil, "", false
	}
	return rec, subj, true
}

func (s *Service) checkToken(w http.ResponseWriter, r *http.Request, wh who) {
	rec, _, ok := s.subject(w, r, wh)
	if !ok {
		return
	}
	w.Header().Set("X-Subject-Token", r.Header.Get("X-Subject-Token"))
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	_, noCatalog := r.URL.Query()["nocatalog"]
	writeJSON(w, http.StatusOK, s.tokenView(rec, !noCatalog))
}

func (s *Service) revokeToken(w http.ResponseWriter, r *http.Request, wh who) {
	_, subj, ok := s.subject(w, r, wh)
	if !ok {
		return
	}
	if err := s.Revoke(r.Context(), subj); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) authCatalog(w http.ResponseWriter, r *http.Request, _ who) {
	writeJSON(w, http.StatusOK, map[string]any{"catalog": s.catalog()})
}

func (s *Service) authProjects(w http.ResponseWriter, r *http.Request, wh who) {
	out := []any{}
	seen := map[string]bool{}
	for _, e := range s.st.List(model.KindAssignment) {
		a := e.Obj.(*model.Assignment)
		if a.UserID != wh.token.UserID || seen[a.ProjectID] {
			continue
		}
		seen[a.ProjectID] = true
		if pe, ok := s.st.Get(model.KindProject, a.ProjectID); ok {
			out = append(out, projectView(r, pe.Obj.(*model.Project)))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"projects": out, "links": listLinks(r)})
}

func (s *Service) listDomains(w http.ResponseWriter, r *http.Request, _ who) {
	out := []any{}
	if n := r.URL.Query().Get("name"); n == "" || n == "Default" {
		out = append(out, map[string]any{"id": model.DefaultDomainID, "name": "Default", "enabled": true, "description": "The only domain"})
	}
	writeJSON(w, http.StatusOK, map[string]any{"domains": out, "links": listLinks(r)})
}

func (s *Service) showDomain(w http.ResponseWriter, r *http.Request, _ who) {
	if id := r.PathValue("id"); id != model.DefaultDomainID && id != "Default" {
		s.fail(w, r, notFound("domain", id))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"domain": map[string]any{"id": model.DefaultDomainID, "name": "Default", "enabled": true, "description": "The only domain"}})
}

// --- projects, users, roles

// listNamed answers a collection of kind, filtered by ?name=.
func (s *Service) listNamed(kind model.Kind, plural string, view func(*http.Request, model.Object) map[string]any) func(http.ResponseWriter, *http.Request, who) {
	return func(w http.ResponseWriter, r *http.Request, _ who) {
		out := []any{}
		for _, e := range s.st.List(kind) {
			if named(r, e.Obj) {
				out = append(out, view(r, e.Obj))
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{plural: out, "links": listLinks(r)})
	}
}

// deleteBy answers a DELETE of the path's id with del.
func (s *Service) deleteBy(del func(context.Context, string) error) func(http.ResponseWriter, *http.Request, who) {
	return func(w http.ResponseWriter, r *http.Request, _ who) {
		if err := del(r.Context(), r.PathValue("id")); err != nil {
			s.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func named(r *http.Request, o model.Object) bool {
	n := r.URL.Query().Get("name")
	return n == "" || nameOf(o) == n
}

func (s *Service) showProject(w http.ResponseWriter, r *http.Request, wh who) {
	id := r.PathValue("id")
	e, ok := s.st.Get(model.KindProject, id)
	if !ok {
		if e2, ok2 := s.byName(model.KindProject, id); ok2 {
			e, ok = e2, true
		}
	}
	if !ok || (!policy.Of(wh.caller, "identity:manage").All() && len(s.rolesOf(wh.token.UserID, e.Obj.Base().ID)) == 0) {
		s.fail(w, r, notFound("project", id))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"project": projectView(r, e.Obj.(*model.Project))})
}

func (s *Service) createProjectH(w http.ResponseWriter, r *http.Request, _ who) {
	var req struct {
		Project struct {
			Name        string `json:"name"`
			Description string `json:"description"`
			DomainID    string `json:"domain_id"`
		} `json:"project"`
	}
	if err := readJSON(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if d := req.Project.DomainID; d != "" && d != model.DefaultDomainID {
		s.fail(w, r, notFound("domain", d))
		return
	}
	p, err := s.CreateProject(r.Context(), req.Project.Name, req.Project.Description)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"project": projectView(r, p)})
}

func (s *Service) showUser(w http.ResponseWriter, r *http.Request, wh who) {
	id := r.PathValue("id")
	e, ok := s.st.Get(model.KindUser, id)
	if !ok || (id != wh.token.UserID && !policy.Of(wh.caller, "identity:manage").All()) {
		s.fail(w, r, notFound("user", id))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": userView(r, e.Obj.(*model.User))})
}

type userRequest struct {
	User struct {
		Name             string  `json:"name"`
		Password         *string `json:"password"`
		DefaultProjectID string  `json:"default_project_id"`
		DomainID         string  `json:"domain_id"`
		Enabled          *bool   `json:"enabled"`
	} `json:"user"`
}

func (s *Service) createUserH(w http.ResponseWriter, r *http.Request, _ who) {
	var req userRequest
	if err := readJSON(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if d := req.User.DomainID; d != "" && d != model.DefaultDomainID {
		s.fail(w, r, notFound("domain", d))
		return
	}
	if req.User.Password == nil {
		s.fail(w, r, &model.InputError{Message: "A user needs a password here (this service has no other way to log in)."})
		return
	}
	u, err := s.CreateUser(r.Context(), req.User.Name, *req.User.Password, req.User.DefaultProjectID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"user": userView(r, u)})
}

func (s *Service) updateUser(w http.ResponseWriter, r *http.Request, _ who) {
	var req userRequest
	if err := readJSON(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	id := r.PathValue("id")
	if req.User.Password != nil {
		if err := s.SetPassword(r.Context(), id, *req.User.Password); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if req.User.Enabled != nil {
		_, err := s.st.Mutate(r.Context(), func() (*store.Txn, error) {
			e, ok := s.st.Get(model.KindUser, id)
			if !ok {
				return nil, notFound("user", id)
			}
			u := *e.Obj.(*model.User)
			u.Enabled, u.UpdatedAt = *req.User.Enabled, s.cfg.Now().UTC()
			return new(store.Txn).Update(model.KindUser, &u, e.Rev), nil
		})
		if err != nil {
			s.fail(w, r, err)
			return
		}
	}
	e, ok := s.st.Get(model.KindUser, id)
	if !ok {
		s.fail(w, r, notFound("user", id))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": userView(r, e.Obj.(*model.User))})
}

func (s *Service) createRoleH(w http.ResponseWriter, r *http.Request, _ who) {
	var req struct {
		Role struct {
			Name string `json:"name"`
		} `json:"role"`
	}
	if err := readJSON(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	role, err := s.CreateRole(r.Context(), req.Role.Name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"role": roleView(r, role)})
}

func (s *Service) listUserRoles(w http.ResponseWriter, r *http.Request, _ who) {
	out := []any{}
	for _, e := range s.st.List(model.KindAssignment) {
		a := e.Obj.(*model.Assignment)
		if a.UserID == r.PathValue("u") && a.ProjectID == r.PathValue("p") {
			if re, ok := s.st.Get(model.KindRole, a.RoleID); ok {
				out = append(out, roleView(r, re.Obj.(*model.Role)))
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"roles": out, "links": listLinks(r)})
}

func (s *Service) assign(w http.ResponseWriter, r *http.Request, _ who) {
	if err := s.Assign(r.Context(), r.PathValue("u"), r.PathValue("p"), r.PathValue("r")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) checkAssignment(w http.ResponseWriter, r *http.Request, _ who) {
	if _, ok := s.st.Get(model.KindAssignment, model.AssignmentID(r.PathValue("u"), r.PathValue("p"), r.PathValue("r"))); !ok {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) unassign(w http.ResponseWriter, r *http.Request, _ who) {
	if err := s.Unassign(r.Context(), r.PathValue("u"), r.PathValue("p"), r.PathValue("r")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) listAssignments(w http.ResponseWriter, r *http.Request, _ who) {
	q := r.URL.Query()
	_, names := q["include_names"]
	out := []any{}
	for _, e := range s.st.List(model.KindAssignment) {
		a := e.Obj.(*model.Assignment)
		if u := q.Get("user.id"); u != "" && u != a.UserID {
			continue
		}
		if p := q.Get("scope.project.id"); p != "" && p != a.ProjectID {
			continue
		}
		if ro := q.Get("role.id"); ro != "" && ro != a.RoleID {
			continue
		}
		role, user, project := map[string]any{"id": a.RoleID}, map[string]any{"id": a.UserID}, map[string]any{"id": a.ProjectID}
		if names {
			if re, ok := s.st.Get(model.KindRole, a.RoleID); ok {
				role["name"] = re.Obj.(*model.Role).Name
			}
			if ue, ok := s.st.Get(model.KindUser, a.UserID); ok {
				user["name"], user["domain"] = ue.Obj.(*model.User).Name, defaultDomain
			}
			if pe, ok := s.st.Get(model.KindProject, a.ProjectID); ok {
				project["name"], project["domain"] = pe.Obj.(*model.Project).Name, defaultDomain
			}
		}
		out = append(out, map[string]any{"role": role, "user": user, "scope": map[string]any{"project": project},
			"links": map[string]any{"assignment": base(r) + "/v3/projects/" + a.ProjectID + "/users/" + a.UserID + "/roles/" + a.RoleID}})
	}
	writeJSON(w, http.StatusOK, map[string]any{"role_assignments": out, "links": listLinks(r)})
}

// --- application credentials

func (s *Service) findAppCred(id, name string, user *userRef) *model.AppCred {
	if id != "" {
		if e, ok := s.st.Get(model.KindAppCred, id); ok {
			return e.Obj.(*model.AppCred)
		}
		return nil
	}
	if user == nil {
		return nil
	}
	u := s.findUser(*user)
	if u == nil {
		return nil
	}
	for _, e := range s.st.List(model.KindAppCred) {
		if ac := e.Obj.(*model.AppCred); ac.UserID == u.ID && ac.Name == name {
			return ac
		}
	}
	return nil
}

func (s *Service) appCredView(ac *model.AppCred) map[string]any {
	roles := []any{}
	for _, id := range ac.RoleIDs {
		if re, ok := s.st.Get(model.KindRole, id); ok {
			roles = append(roles, map[string]any{"id": id, "name": re.Obj.(*model.Role).Name, "domain_id": nil})
		}
	}
	v := map[string]any{"id": ac.ID, "name": ac.Name, "description": ac.Description, "project_id": ac.ProjectID,
		"user_id": ac.UserID, "roles": roles, "unrestricted": false, "access_rules": []any{}, "expires_at": nil}
	if ac.ExpiresAt != nil {
		v["expires_at"] = stamp(*ac.ExpiresAt)
	}
	return v
}

func (s *Service) createAppCred(w http.ResponseWriter, r *http.Request, wh who) {
	var req struct {
		AppCred struct {
			Name         string  `json:"name"`
			Description  string  `json:"description"`
			Secret       string  `json:"secret"`
			ExpiresAt    *string `json:"expires_at"`
			Unrestricted bool    `json:"unrestricted"`
			Roles        []struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"roles"`
		} `json:"application_credential"`
	}
	if err := readJSON(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	in := req.AppCred
	// A credential is for the project and roles of the token that makes
	// it, and only for its own user: it can never hold more than they.
	if wh.token.ProjectID == "" || wh.token.UserID != r.PathValue("id") {
		s.fail(w, r, &model.ForbiddenError{Message: "An application credential is made with a project-scoped token of its own user."})
		return
	}
	if err := checkName("application credential", in.Name); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := model.ValidateText("description", in.Description, 255); err != nil {
		s.fail(w, r, err)
		return
	}
	if in.Unrestricted {
		s.fail(w, r, &model.InputError{Message: "Unrestricted application credentials are not offered."})
		return
	}
	secret := in.Secret
	if secret == "" {
		secret = NewSecret()
	} else if err := checkPassword(secret); err != nil {
		s.fail(w, r, err)
		return
	}
	var roleIDs []string
	held := wh.token.Roles
	for _, ref := range in.Roles {
		var e store.Entry
		var ok bool
		if ref.ID != "" {
			e, ok = s.st.Get(model.KindRole, ref.ID)
		} else {
			e, ok = s.byName(model.KindRole, ref.Name)
		}
		if !ok || !slices.Contains(held, e.Obj.(*model.Role).Name) {
			s.fail(w, r, &model.ForbiddenError{Message: "An application credential may hold only roles its token holds."})
			return
		}
		roleIDs = append(roleIDs, e.Obj.Base().ID)
	}
	if len(in.Roles) == 0 {
		for _, name := range s.rolesOf(wh.token.UserID, wh.token.ProjectID) {
			if e, ok := s.byName(model.KindRole, name); ok && s.assigned(wh.token.UserID, wh.token.ProjectID, e.Obj.Base().ID) {
				roleIDs = append(roleIDs, e.Obj.Base().ID)
			}
		}
	}
	var exp *time.Time
	if in.ExpiresAt != nil {
		t, err := time.Parse(time.RFC3339, *in.ExpiresAt)
		if err != nil {
			t, err = time.Parse("2006-01-02T15:04:05", *in.ExpiresAt)
		}
		if err != nil {
			s.fail(w, r, &model.InputError{Message: "expires_at is not a time (RFC 3339)."})
			return
		}
		exp = &t
	}
	h, err := bcrypt.GenerateFromPassword([]byte(secret), s.cfg.BcryptCost)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ac := &model.AppCred{Meta: s.meta(newID()), Name: in.Name, Description: in.Description, UserID: wh.token.UserID,
		ProjectID: wh.token.ProjectID, RoleIDs: roleIDs, SecretHash: string(h), ExpiresAt: exp}
	if _, err := s.st.Commit(r.Context(), new(store.Txn).Claim("identity-appcred/"+ac.UserID+"/"+ac.Name, ac.ID).Create(model.KindAppCred, ac)); err != nil {
		if errors.Is(err, store.ErrConflict) {
			err = &model.ConflictError{Message: fmt.Sprintf("An application credential named %q exists for this user.", in.Name)}
		}
		s.fail(w, r, err)
		return
	}
	v := s.appCredView(ac)
	v["secret"] = secret // shown once, never again
	writeJSON(w, http.StatusCreated, map[string]any{"application_credential": v})
}

func (s *Service) assigned(userID, projectID, roleID string) bool {
	_, ok := s.st.Get(model.KindAssignment, model.AssignmentID(userID, projectID, roleID))
	return ok
}

func (s *Service) listAppCreds(w http.ResponseWriter, r *http.Request, _ who) {
	out := []any{}
	for _, e := range s.st.List(model.KindAppCred) {
		if ac := e.Obj.(*model.AppCred); ac.UserID == r.PathValue("id") && named(r, ac) {
			out = append(out, s.appCredView(ac))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"application_credentials": out, "links": listLinks(r)})
}

func (s *Service) ownAppCred(r *http.Request) (*model.AppCred, error) {
	id := r.PathValue("cred")
	e, ok := s.st.Get(model.KindAppCred, id)
	if !ok || e.Obj.(*model.AppCred).UserID != r.PathValue("id") {
		return nil, notFound("application credential", id)
	}
	return e.Obj.(*model.AppCred), nil
}

func (s *Service) showAppCred(w http.ResponseWriter, r *http.Request, _ who) {
	ac, err := s.ownAppCred(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"application_credential": s.appCredView(ac)})
}

func (s *Service) deleteAppCred(w http.ResponseWriter, r *http.Request, _ who) {
	ac, err := s.ownAppCred(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	t := new(store.Txn).DeleteIfExists(model.KindAppCred, ac.ID).Release("identity-appcred/" + ac.UserID + "/" + ac.Name)
	t = s.revokeWhere(t, func(tk *model.Token) bool { return tk.AppCredID == ac.ID })
	if _, err := s.st.Commit(r.Context(), t); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

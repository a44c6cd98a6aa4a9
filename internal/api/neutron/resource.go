package neutron

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"lbaas/internal/api/auth"
	"lbaas/internal/model"
	"lbaas/internal/store"
)

// resource describes one collection so that list, show and the lookups
// that every handler needs are written once.
type resource struct {
	kind     model.Kind
	singular string // envelope of one object
	plural   string // envelope of a list
	what     string // "Pool", for messages
	notFound string // "PoolNotFound"
	// view renders an object as the client sees it.
	view func(s *Server, e store.Entry) map[string]any
	// public reports objects every project may read (shared networks).
	public func(s *Server, o model.Object) bool
}

// visible reports whether caller may read o.
func (s *Server) visible(res *resource, caller auth.Caller, o model.Object) bool {
	if caller.IsAdmin() || o.Base().TenantID == caller.Project {
		return true
	}
	return res.public != nil && res.public(s, o)
}

// owned reports whether caller may change o.
func owned(caller auth.Caller, o model.Object) bool {
	return caller.IsAdmin() || o.Base().TenantID == caller.Project
}

// lookup returns an object the caller may read; others' objects are as
// absent as missing ones (404), so ids of other projects leak nothing.
func (s *Server) lookup(res *resource, caller auth.Caller, id string) (store.Entry, error) {
	e, ok := s.st.Get(res.kind, id)
	if !ok || !s.visible(res, caller, e.Obj) {
		return store.Entry{}, notFound(res.notFound, res.what, id)
	}
	return e, nil
}

// lookupOwned is lookup for writes.
func (s *Server) lookupOwned(res *resource, caller auth.Caller, id string) (store.Entry, error) {
	e, err := s.lookup(res, caller, id)
	if err != nil {
		return e, err
	}
	if !owned(caller, e.Obj) {
		return store.Entry{}, &model.NotFoundError{Type: res.notFound, Message: fmt.Sprintf("%s %s could not be found", res.what, id)}
	}
	return e, nil
}

// reserved query parameters that are not attribute filters.
var reservedParams = map[string]bool{
	"fields": true, "limit": true, "marker": true, "sort_key": true,
	"sort_dir": true, "page_reverse": true, "verbose": true,
}

func (s *Server) handleList(res *resource) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		caller := CallerFrom(r.Context())
		q := r.URL.Query()
		filters := map[string]map[string]bool{}
		for k, vs := range q {
			if reservedParams[k] {
				continue
			}
			set := map[string]bool{}
			for _, v := range vs {
				set[v] = true
			}
			filters[k] = set
		}
		limit, marker, err := paging(q)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		entries := s.st.List(res.kind)
		out := make([]map[string]any, 0, len(entries))
		more := false
		for _, e := range entries {
			if marker != "" && e.Obj.Base().ID <= marker {
				continue
			}
			if !s.visible(res, caller, e.Obj) {
				continue
			}
			if !quickMatch(e.Obj, filters) {
				continue
			}
			v := res.view(s, e)
			if !matches(v, filters) {
				continue
			}
			if limit > 0 && len(out) == limit {
				more = true
				break
			}
			out = append(out, project(v, q["fields"]))
		}
		body := map[string]any{res.plural: out}
		if more {
			next := url.Values{}
			for k, vs := range q {
				if k != "marker" {
					next[k] = vs
				}
			}
			next.Set("marker", out[len(out)-1]["id"].(string))
			body[res.plural+"_links"] = []map[string]string{{"rel": "next", "href": r.URL.Path + "?" + next.Encode()}}
		}
		writeJSON(w, http.StatusOK, body)
	}
}

func paging(q url.Values) (int, string, error) {
	limit := 0
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			return 0, "", badRequest("HTTPBadRequest", "Bad limit request: limit must be a non-negative integer, not '%s'", l)
		}
		limit = n
	}
	marker := q.Get("marker")
	if marker != "" && !model.IsUUID(marker) {
		return 0, "", badRequest("HTTPBadRequest", "marker '%s' is not a valid UUID", marker)
	}
	return limit, marker, nil
}

// quickMatch rejects objects on id and tenant_id without rendering them,
// which keeps name-or-id lookups cheap on large collections.
func quickMatch(o model.Object, filters map[string]map[string]bool) bool {
	if set, ok := filters["id"]; ok && !set[o.Base().ID] {
		return false
	}
	if set, ok := filters["tenant_id"]; ok && !set[o.Base().TenantID] {
		return false
	}
	return true
}

// matches applies equality filters; repeated values of one key are ORed.
// An attribute the object does not have matches nothing.
func matches(v map[string]any, filters map[string]map[string]bool) bool {
	for k, set := range filters {
		val, ok := v[k]
		if !ok {
			return false
		}
		if !set[filterString(val)] && !matchesFold(set, val) {
			return false
		}
	}
	return true
}

func matchesFold(set map[string]bool, val any) bool {
	b, ok := val.(bool)
	if !ok {
		return false
	}
	for s := range set {
		if pb, err := strconv.ParseBool(strings.ToLower(s)); err == nil && pb == b {
			return true
		}
	}
	return false
}

func filterString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	}
	return fmt.Sprint(v)
}

// project keeps only the requested fields (all when none are asked for).
func project(v map[string]any, fields []string) map[string]any {
	if len(fields) == 0 {
		return v
	}
	out := make(map[string]any, len(fields))
	for _, f := range fields {
		if val, ok := v[f]; ok {
			out[f] = val
		}
	}
	return out
}

func (s *Server) handleShow(res *resource) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		e, err := s.lookup(res, CallerFrom(r.Context()), r.PathValue("id"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{res.singular: project(res.view(s, e), r.URL.Query()["fields"])})
	}
}

// writeOne answers a create or update with the object as stored.
func (s *Server) writeOne(w http.ResponseWriter, res *resource, code int, id string) {
	e, ok := s.st.Get(res.kind, id)
	if !ok {
		// Deleted concurrently between commit and read: say so plainly.
		writeError(w, http.StatusNotFound, res.notFound, fmt.Sprintf("%s %s could not be found", res.what, id))
		return
	}
	writeJSON(w, code, map[string]any{res.singular: res.view(s, e)})
}

// tenantFor decides the owner of a new object: the caller's project, or
// the one an admin names.
func tenantFor(caller auth.Caller, requested ...*string) (string, error) {
	var first *string
	for _, r := range requested {
		if r != nil && first != nil && *r != *first {
			return "", badRequest("HTTPBadRequest", "tenant_id '%s' and project_id '%s' differ; send one of them", *first, *r)
		}
		if r != nil && first == nil {
			first = r
		}
	}
	for _, r := range requested {
		if r == nil {
			continue
		}
		if err := model.ValidateTenantID(*r); err != nil {
			return "", err
		}
		if *r != caller.Project && !caller.IsAdmin() {
			return "", badRequest("HTTPBadRequest", "Only an admin may create objects for another project")
		}
		return *r, nil
	}
	return caller.Project, nil
}

// commonView renders the fields every object has.
func commonView(m *model.Meta) map[string]any {
	return map[string]any{
		"id":         m.ID,
		"tenant_id":  m.TenantID,
		"project_id": m.TenantID,
		"created_at": m.CreatedAt.Format("2006-01-02T15:04:05Z"),
		"updated_at": m.UpdatedAt.Format("2006-01-02T15:04:05Z"),
	}
}

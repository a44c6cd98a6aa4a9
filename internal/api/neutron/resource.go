package neutron

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"

	"lbaas/internal/api/httpapi"
	"lbaas/internal/api/policy"
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
	// adminOnly are attributes only admins see (Neutron's policy hides
	// them from others): left out of views, and filters on them match
	// nothing for other callers.
	adminOnly map[string]bool
	// policy is the prefix of the resource's operations in the policy
	// table (policy + ":get", ":create", ...).
	policy string
	// adminOp is the policy operation that shows adminOnly.
	adminOp string
	// public reports objects every project may read (shared networks).
	public func(s *Server, o model.Object) bool
	// attrs are attributes readable without rendering the object: filters
	// on them, and `fields` made only of them, skip the view entirely.
	attrs map[string]func(model.Object) any
	// indexed maps a filter attribute to the store index that answers it.
	indexed map[string]string
	// typed renders the object as a struct (faster to encode than the
	// view's map) for unprojected lists; nil means use view.
	typed func(s *Server, e store.Entry) any
	// project, when set, turns a stored object of kind into the object the
	// client sees (a v1 VIP from its listener), once per object: attrs,
	// view and visibility see the projection, whose Rev stays the stored
	// object's. false leaves the object out, as if it did not exist.
	project func(s *Server, e store.Entry) (store.Entry, bool, error)
}

// cheap reports whether name is readable without rendering.
func (res *resource) cheap(name string) bool {
	_, ok := res.attrs[name]
	return ok || name == "id" || name == "tenant_id" || name == "project_id"
}

// attr returns a cheap attribute of o: id, tenant_id, or one of res.attrs.
func (res *resource) attr(o model.Object, name string) (any, bool) {
	switch name {
	case "id":
		return o.Base().ID, true
	case "tenant_id", "project_id":
		return o.Base().TenantID, true
	}
	if f, ok := res.attrs[name]; ok {
		return f(o), true
	}
	return nil, false
}

// visible reports whether caller may read o.
func (s *Server) visible(res *resource, caller httpapi.Who, o model.Object) bool {
	if policy.Allowed(caller.Caller, res.policy+":get", o.Base().TenantID) {
		return true
	}
	return res.public != nil && res.public(s, o)
}

// owned reports whether caller may change o.
func owned(caller httpapi.Who, o model.Object) bool {
	return caller.Covers(o.Base().TenantID)
}

// lookup returns an object the caller may read; others' objects are as
// absent as missing ones (404), so ids of other projects leak nothing.
//
// A miss in this server's cache is confirmed by etcd before it is a 404:
// the object may have been created through another server a moment ago,
// and a client that was told 201 there must find it here. The check is
// bounded by the store's write bound, not by the request (handlers look
// objects up inside Mutate's build, which has no context), and a store
// that cannot answer makes it a 503, not a 404.
func (s *Server) lookup(res *resource, caller httpapi.Who, id string) (store.Entry, error) {
	e, ok, err := s.get(res, id)
	if err != nil {
		return store.Entry{}, err
	}
	if !ok || !s.visible(res, caller, e.Obj) {
		return store.Entry{}, notFound(res.notFound, res.what, id)
	}
	return e, nil
}

// get reads one object of res, fresh (see lookup) and projected.
func (s *Server) get(res *resource, id string) (store.Entry, bool, error) {
	e, ok, err := s.st.GetFresh(context.Background(), res.kind, id)
	if err != nil || !ok || res.project == nil {
		return e, ok, err
	}
	return res.project(s, e)
}

// lookupOwned is lookup for writes.
func (s *Server) lookupOwned(res *resource, caller httpapi.Who, id string) (store.Entry, error) {
	e, err := s.lookup(res, caller, id)
	if err != nil {
		return e, err
	}
	if !owned(caller, e.Obj) {
		if policy.Allowed(caller.Caller, res.policy+":get", e.Obj.Base().TenantID) {
			// An object its roles let it read but not change: Neutron
			// says 403 for what the caller can see.
			return store.Entry{}, &model.ForbiddenError{Message: httpapi.PolicyRefusal(res.policy + ":update")}
		}
		return store.Entry{}, &model.NotFoundError{Type: res.notFound, Message: fmt.Sprintf("%s %s could not be found", res.what, id)}
	}
	return e, nil
}

func (s *Server) handleList(res *resource) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		caller := httpapi.WhoFrom(r.Context())
		q := r.URL.Query()
		lq, err := httpapi.ParseListQuery(q)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		// Neutron lists in id order: sort keys are accepted and ignored.
		filters, limit, marker, fields := lq.Filters, lq.Limit, lq.Marker, lq.Fields
		cheapFields := len(fields) > 0
		for _, f := range fields {
			if !res.cheap(f) {
				cheapFields = false
			}
		}
		slow := false // a filter that needs the rendered view
		for k := range filters {
			if !res.cheap(k) {
				slow = true
			}
		}
		out := make([]any, 0, 16)
		lastID := ""
		more := false
		for _, e := range s.candidates(res, filters) {
			if marker != "" && e.Obj.Base().ID <= marker {
				continue
			}
			if res.project != nil {
				pe, ok, err := res.project(s, e)
				if err != nil {
					s.fail(w, r, err)
					return
				}
				if !ok {
					continue
				}
				e = pe
			}
			o := e.Obj
			if !s.visible(res, caller, o) || !res.quickMatch(o, filters) {
				continue
			}
			var item any
			switch {
			case slow:
				v := s.render(res, caller, e)
				if !matches(v, filters) {
					continue
				}
				item = project(v, fields)
			case cheapFields:
				m := make(map[string]any, len(fields))
				for _, f := range fields {
					m[f], _ = res.attr(o, f)
				}
				item = m
			case len(fields) == 0 && res.typed != nil:
				item = res.typed(s, e)
			default:
				item = project(s.render(res, caller, e), fields)
			}
			if limit > 0 && len(out) == limit {
				more = true
				break
			}
			out = append(out, item)
			lastID = o.Base().ID
		}
		body := map[string]any{res.plural: out}
		if more {
			next := url.Values{}
			for k, vs := range q {
				if k != "marker" {
					next[k] = vs
				}
			}
			next.Set("marker", lastID)
			body[res.plural+"_links"] = []map[string]string{{"rel": "next", "href": r.URL.Path + "?" + next.Encode()}}
		}
		writeJSON(w, http.StatusOK, body)
	}
}

// candidates narrows a list through a store index when a filter allows it.
func (s *Server) candidates(res *resource, filters map[string]map[string]bool) []store.Entry {
	for attr, idx := range res.indexed {
		set, ok := filters[attr]
		if !ok {
			continue
		}
		var out []store.Entry
		for v := range set {
			out = append(out, s.st.ByIndex(res.kind, idx, v)...)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Obj.Base().ID < out[j].Obj.Base().ID })
		return out
	}
	if set, ok := filters["id"]; ok && len(set) <= 64 {
		var out []store.Entry
		for id := range set {
			if e, ok := s.st.Get(res.kind, id); ok {
				out = append(out, e)
			}
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Obj.Base().ID < out[j].Obj.Base().ID })
		return out
	}
	return s.st.List(res.kind)
}

// quickMatch applies the filters on cheap attributes, before any
// rendering; the others are left to matches.
func (res *resource) quickMatch(o model.Object, filters map[string]map[string]bool) bool {
	for k, set := range filters {
		v, ok := res.attr(o, k)
		if !ok {
			continue
		}
		if !set[filterString(v)] && !matchesFold(set, v) {
			return false
		}
	}
	return true
}

var (
	matches      = httpapi.Matches
	matchesFold  = httpapi.MatchesFold
	filterString = httpapi.FilterString
	project      = httpapi.Project
)

func (s *Server) handleShow(res *resource) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		e, err := s.lookup(res, httpapi.WhoFrom(r.Context()), r.PathValue("id"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{res.singular: project(s.render(res, httpapi.WhoFrom(r.Context()), e), r.URL.Query()["fields"])})
	}
}

// writeOne answers a create or update with the object as stored.
// render is the view of an object as this caller may see it.
func (s *Server) render(res *resource, caller httpapi.Who, e store.Entry) map[string]any {
	v := res.view(s, e)
	if res.adminOp == "" || !policy.Of(caller.Caller, res.adminOp).All() {
		for k := range res.adminOnly {
			delete(v, k)
		}
	}
	return v
}

func (s *Server) writeOne(w http.ResponseWriter, r *http.Request, res *resource, code int, id string) {
	// Fresh: the cache may lag a write that committed while the watch was
	// re-connecting (store.Commit does not fail such a write).
	e, ok, err := s.get(res, id)
	if err != nil {
		writeUnavailable(w, "The request was applied, but the store cannot show the result now; read it again.")
		return
	}
	if !ok {
		// Deleted concurrently between commit and read: say so plainly.
		writeError(w, http.StatusNotFound, res.notFound, fmt.Sprintf("%s %s could not be found", res.what, id))
		return
	}
	writeJSON(w, code, map[string]any{res.singular: s.render(res, httpapi.WhoFrom(r.Context()), e)})
}

// tenantFor decides the owner of a new object: the caller's project, or
// the one an admin names.
func tenantFor(caller httpapi.Who, requested ...*string) (string, error) {
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
		if !caller.Covers(*r) {
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
		"created_at": m.CreatedAt.Format(timeFormat),
		"updated_at": m.UpdatedAt.Format(timeFormat),
	}
}

// timeFormat is how Neutron writes timestamps.
const timeFormat = "2006-01-02T15:04:05Z"

package octavia

import (
	"context"
	"net/http"

	"lbaas/internal/api/httpapi"
	"lbaas/internal/model"
	"lbaas/internal/store"
)

// resource describes one collection so that list and show are written
// once.
type resource struct {
	kind     model.Kind
	singular string // envelope of one object
	plural   string // envelope of a list
	what     string // "Load Balancer", for messages
	view     func(s *Server, c *statuses, e store.Entry) map[string]any
	// extra returns attributes that filter and sort but are not shown
	// (a listener's loadbalancer_id).
	extra func(o model.Object) map[string]any
	// global objects belong to no project (flavors, zones): whoever may
	// read the collection reads all of it.
	global bool
}

// list answers a collection: the caller's objects (every project's for an
// admin), filtered, sorted and paged as asked.
func (s *Server) list(res *resource) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.listEntries(w, r, res, s.st.List(res.kind))
	}
}

func (s *Server) listEntries(w http.ResponseWriter, r *http.Request, res *resource, entries []store.Entry) {
	caller := httpapi.WhoFrom(r.Context())
	q := r.URL.Query()
	lq, err := httpapi.ParseListQuery(q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	c := newStatuses(s.st)
	items := make([]httpapi.Item, 0, len(entries))
	for _, e := range entries {
		if !res.global && !caller.Covers(e.Obj.Base().TenantID) {
			continue
		}
		it := httpapi.Item{View: res.view(s, c, e)}
		if res.extra != nil {
			it.Extra = res.extra(e.Obj)
		}
		items = append(items, it)
	}
	s.writePage(w, r, lq, items, res.plural)
}

// writePage answers one page of items, filtered, sorted and paged as the
// query asks, under plural and plural_links.
func (s *Server) writePage(w http.ResponseWriter, r *http.Request, lq httpapi.ListQuery, items []httpapi.Item, plural string) {
	page, links, err := lq.Page(items, r.URL.Path, r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if links == nil {
		links = []httpapi.Link{}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{plural: page, plural + "_links": links})
}

// show answers one object.
func (s *Server) show(res *resource) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		e, err := s.getOf(httpapi.WhoFrom(r.Context()), res, r.PathValue("id"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.writeView(w, res, http.StatusOK, e, r.URL.Query()["fields"])
	}
}

// getOf reads one object of res: a global one whoever asks, a project's
// as get does.
func (s *Server) getOf(caller httpapi.Who, res *resource, id string) (store.Entry, error) {
	if !res.global {
		return s.get(caller, res.kind, res.what, id)
	}
	e, ok, err := s.st.GetFresh(context.Background(), res.kind, id)
	if err != nil {
		return store.Entry{}, err
	}
	if !ok {
		return store.Entry{}, notFound(res.what, id)
	}
	return e, nil
}

func (s *Server) writeView(w http.ResponseWriter, res *resource, code int, e store.Entry, fields []string) {
	httpapi.WriteJSON(w, code, map[string]any{res.singular: httpapi.Project(res.view(s, newStatuses(s.st), e), fields)})
}

// writeOne answers a create or update with the object as stored.
// mutateAndShow commits what build returns (store.Mutate: rebuilt on a
// conflict) and answers the object id as it is now, or the error: the
// shape of every create and update.
func (s *Server) mutateAndShow(w http.ResponseWriter, r *http.Request, res *resource, code int, id string, build func() (*store.Txn, error)) {
	if _, err := s.st.Mutate(r.Context(), build); err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeOne(w, r, res, code, id)
}

func (s *Server) writeOne(w http.ResponseWriter, r *http.Request, res *resource, code int, id string) {
	e, ok, err := s.st.GetFresh(r.Context(), res.kind, id)
	if err != nil {
		httpapi.WriteUnavailable(errorWriter{}, w, "The request was applied, but the store cannot show the result now; read it again.")
		return
	}
	if !ok {
		s.fail(w, r, notFound(res.what, id))
		return
	}
	s.writeView(w, res, code, e, nil)
}

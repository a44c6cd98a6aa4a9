package neutron

import (
	"net/http"

	"lbaas/internal/api/httpapi"
	"lbaas/internal/model"
	"lbaas/internal/store"
)

// handleUpdate is the shape of every PUT: decode the envelope into an R,
// then (again on each conflict) look up the caller's object and let change
// build its new version and any compares the write depends on; answer with
// the object as stored.
func handleUpdate[R any](s *Server, res *resource, change func(c httpapi.Who, req *R, e store.Entry, t *store.Txn) (model.Object, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		caller := httpapi.WhoFrom(r.Context())
		var req R
		if err := readBody(r, res.singular, model.OpUpdate, &req); err != nil {
			s.fail(w, r, err)
			return
		}
		id := r.PathValue("id")
		_, err := s.st.Mutate(r.Context(), func() (*store.Txn, error) {
			e, err := s.lookupOwned(res, caller, id)
			if err != nil {
				return nil, err
			}
			t := new(store.Txn)
			o, err := change(caller, &req, e, t)
			if err != nil {
				return nil, err
			}
			o.Base().UpdatedAt = s.now()
			return t.Update(res.kind, o, e.Rev), nil
		})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.writeOne(w, r, res, http.StatusOK, id)
	}
}

// handleDelete is the shape of every DELETE: look up the caller's object,
// let remove add what goes with it (claims, children, references), delete.
func (s *Server) handleDelete(res *resource, remove func(c httpapi.Who, e store.Entry, t *store.Txn) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		caller := httpapi.WhoFrom(r.Context())
		id := r.PathValue("id")
		_, err := s.st.Mutate(r.Context(), func() (*store.Txn, error) {
			e, err := s.lookupOwned(res, caller, id)
			if err != nil {
				return nil, err
			}
			t := new(store.Txn).Delete(res.kind, id, e.Rev)
			if remove != nil {
				if err := remove(caller, e, t); err != nil {
					return nil, err
				}
			}
			return t, nil
		})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// handleCreate is the shape of every POST: decode the envelope into an R;
// prepare checks it and builds the new object (with its owner and id);
// then (again on each conflict) depend adds the compares and claims the
// object needs, and the object is created. Answers 201 with it.
func handleCreate[R any](s *Server, res *resource, prepare func(c httpapi.Who, req *R) (model.Object, error), depend func(c httpapi.Who, req *R, o model.Object, t *store.Txn) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		caller := httpapi.WhoFrom(r.Context())
		var req R
		if err := readBody(r, res.singular, model.OpCreate, &req); err != nil {
			s.fail(w, r, err)
			return
		}
		o, err := prepare(caller, &req)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		_, err = s.st.Mutate(r.Context(), func() (*store.Txn, error) {
			t := new(store.Txn)
			if depend != nil {
				if err := depend(caller, &req, o, t); err != nil {
					return nil, err
				}
			}
			if res.project != nil {
				// Stored as other objects (a v1 VIP as a load balancer
				// and a listener), which depend wrote.
				return t, nil
			}
			return t.Create(res.kind, o), nil
		})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.writeOne(w, r, res, http.StatusCreated, o.Base().ID)
	}
}

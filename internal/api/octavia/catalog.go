package octavia

import (
	"net/http"
	"sort"

	"lbaas/internal/api/httpapi"
	"lbaas/internal/model"
	"lbaas/internal/store"
)

// Flavors and availability zones: an admin writes a profile (provider
// settings) and publishes it under a name; tenants list the names and
// give one when they create a load balancer. None belongs to a project.

var (
	flavorProfileRes = &resource{kind: model.KindFlavorProfile, singular: "flavorprofile", plural: "flavorprofiles", what: "Flavor profile", global: true,
		view: func(_ *Server, _ *statuses, e store.Entry) map[string]any {
			p := e.Obj.(*model.FlavorProfile)
			return map[string]any{"id": p.ID, "name": p.Name, "provider_name": p.ProviderName, "flavor_data": p.FlavorData}
		}}
	flavorRes = &resource{kind: model.KindFlavor, singular: "flavor", plural: "flavors", what: "Flavor", global: true,
		view: func(_ *Server, _ *statuses, e store.Entry) map[string]any {
			f := e.Obj.(*model.Flavor)
			return map[string]any{"id": f.ID, "name": f.Name, "description": f.Description, "flavor_profile_id": f.FlavorProfileID, "enabled": f.Enabled}
		}}
	azProfileRes = &resource{kind: model.KindAZProfile, singular: "availability_zone_profile", plural: "availability_zone_profiles", what: "Availability zone profile", global: true,
		view: func(_ *Server, _ *statuses, e store.Entry) map[string]any {
			p := e.Obj.(*model.AZProfile)
			return map[string]any{"id": p.ID, "name": p.Name, "provider_name": p.ProviderName, "availability_zone_data": p.Data}
		}}
	azRes = &resource{kind: model.KindAZ, singular: "availability_zone", plural: "availability_zones", what: "Availability zone", global: true,
		view: func(_ *Server, _ *statuses, e store.Entry) map[string]any {
			z := e.Obj.(*model.AvailabilityZone)
			return map[string]any{"name": z.Name, "description": z.Description, "availability_zone_profile_id": z.ProfileID, "enabled": z.Enabled}
		}}
)

type profileRequest struct {
	Name         *string `json:"name" lbaas:"create,update,required"`
	ProviderName *string `json:"provider_name" lbaas:"create,update,required"`
	FlavorData   *string `json:"flavor_data" lbaas:"create,update"`
	AZData       *string `json:"availability_zone_data" lbaas:"create,update"`
}

type publishedRequest struct {
	Name        *string `json:"name" lbaas:"create,update,required"`
	Description *string `json:"description" lbaas:"create,update,nullable"`
	FlavorProf  *string `json:"flavor_profile_id" lbaas:"create"`
	AZProf      *string `json:"availability_zone_profile_id" lbaas:"create"`
	Enabled     *bool   `json:"enabled" lbaas:"create,update"`
}

func (s *Server) catalogRoutes(b string) {
	for _, c := range []struct {
		res    *resource
		op     string
		create http.HandlerFunc
		update http.HandlerFunc
		del    http.HandlerFunc
	}{
		{flavorProfileRes, "flavor-profile", s.writeProfile(flavorProfileRes, true), s.writeProfile(flavorProfileRes, false), s.deleteCatalog(flavorProfileRes)},
		{flavorRes, "flavor", s.writePublished(flavorRes, true), s.writePublished(flavorRes, false), s.deleteCatalog(flavorRes)},
		{azProfileRes, "availability-zone-profile", s.writeProfile(azProfileRes, true), s.writeProfile(azProfileRes, false), s.deleteCatalog(azProfileRes)},
		{azRes, "availability-zone", s.writePublished(azRes, true), s.writePublished(azRes, false), s.deleteCatalog(azRes)},
	} {
		path := map[*resource]string{flavorProfileRes: "/flavorprofiles", flavorRes: "/flavors", azProfileRes: "/availabilityzoneprofiles", azRes: "/availabilityzones"}[c.res]
		s.handle("GET "+b+path, c.op+":get_all", s.list(c.res))
		s.handle("POST "+b+path, c.op+":post", c.create)
		s.handle("GET "+b+path+"/{id}", c.op+":get_one", s.show(c.res))
		s.handle("PUT "+b+path+"/{id}", c.op+":put", c.update)
		s.handle("DELETE "+b+path+"/{id}", c.op+":delete", c.del)
	}
	s.handle("GET "+b+"/providers/{provider}/flavor_capabilities", "provider-flavor:get_all", s.capabilities("flavor_capabilities", model.FlavorCapabilities))
	s.handle("GET "+b+"/providers/{provider}/availability_zone_capabilities", "provider-availability-zone:get_all", s.capabilities("availability_zone_capabilities", model.AZCapabilities))
}

func (s *Server) capabilities(key string, caps map[string]string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if p := r.PathValue("provider"); p != model.ProviderName {
			s.fail(w, r, notFound("Provider", p))
			return
		}
		names := make([]string, 0, len(caps))
		for n := range caps {
			names = append(names, n)
		}
		sort.Strings(names)
		out := []map[string]string{}
		for _, n := range names {
			out = append(out, map[string]string{"name": n, "description": caps[n]})
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{key: out})
	}
}

// writeProfile creates or updates a flavor or availability zone profile:
// the provider must be ours and the data a JSON object of capabilities
// this provider honours.
func (s *Server) writeProfile(res *resource, create bool) http.HandlerFunc {
	flavor := res == flavorProfileRes
	return func(w http.ResponseWriter, r *http.Request) {
		var req profileRequest
		if err := readBody(r, res.singular, opOf(create), &req); err != nil {
			s.fail(w, r, err)
			return
		}
		dataField, data, caps := "availability_zone_data", req.AZData, model.AZCapabilities
		other := req.FlavorData
		if flavor {
			dataField, data, caps, other = "flavor_data", req.FlavorData, model.FlavorCapabilities, req.AZData
		}
		if other != nil {
			s.fail(w, r, validation("A %s takes %s, not the other profile's data.", res.what, dataField))
			return
		}
		if create && data == nil {
			s.fail(w, r, validation("Missing %s.", dataField))
			return
		}
		if data != nil {
			if _, err := model.ParseProfileData(dataField, *data, caps); err != nil {
				s.fail(w, r, err)
				return
			}
		}
		if req.ProviderName != nil && *req.ProviderName != model.ProviderName {
			s.fail(w, r, validation("Provider '%s' is not this service's (%s).", model.Clip(*req.ProviderName), model.ProviderName))
			return
		}
		if req.Name != nil {
			if err := model.ValidateText("name", *req.Name, model.MaxNameLen); err != nil {
				s.fail(w, r, err)
				return
			}
		}
		id := r.PathValue("id")
		var meta model.Meta
		if create {
			meta = s.newMeta("")
			id = meta.ID
		}
		code := map[bool]int{true: http.StatusCreated, false: http.StatusOK}[create]
		s.mutateAndShow(w, r, res, code, id, func() (*store.Txn, error) {
			var obj model.Object
			rev := int64(0)
			if create {
				if flavor {
					obj = &model.FlavorProfile{Meta: meta}
				} else {
					obj = &model.AZProfile{Meta: meta}
				}
			} else {
				e, err := s.getOf(httpapi.Who{}, res, id)
				if err != nil {
					return nil, err
				}
				obj, rev = e.Obj, e.Rev
				if flavor {
					c := *obj.(*model.FlavorProfile)
					obj = &c
				} else {
					c := *obj.(*model.AZProfile)
					obj = &c
				}
			}
			switch p := obj.(type) {
			case *model.FlavorProfile:
				setP(&p.Name, req.Name)
				setP(&p.ProviderName, req.ProviderName)
				setP(&p.FlavorData, req.FlavorData)
				p.UpdatedAt = s.now()
			case *model.AZProfile:
				setP(&p.Name, req.Name)
				setP(&p.ProviderName, req.ProviderName)
				setP(&p.Data, req.AZData)
				p.UpdatedAt = s.now()
			}
			if create {
				return new(store.Txn).Create(res.kind, obj), nil
			}
			return new(store.Txn).Update(res.kind, obj, rev), nil
		})
	}
}

func setP(dst, src *string) {
	if src != nil {
		*dst = *src
	}
}

// writePublished creates or updates a flavor or an availability zone (an
// availability zone's id is its name).
func (s *Server) writePublished(res *resource, create bool) http.HandlerFunc {
	flavor := res == flavorRes
	return func(w http.ResponseWriter, r *http.Request) {
		var req publishedRequest
		if err := readBody(r, res.singular, opOf(create), &req); err != nil {
			s.fail(w, r, err)
			return
		}
		profField, prof, profRes := "availability_zone_profile_id", req.AZProf, azProfileRes
		if flavor {
			profField, prof, profRes = "flavor_profile_id", req.FlavorProf, flavorProfileRes
		}
		if create && prof == nil {
			s.fail(w, r, validation("Missing %s.", profField))
			return
		}
		if req.Name != nil {
			if err := model.ValidateText("name", *req.Name, model.MaxNameLen); err != nil {
				s.fail(w, r, err)
				return
			}
			if !flavor && !model.ValidNodeName(*req.Name) {
				s.fail(w, r, validation("An availability zone's name is its id: 1 to 63 letters, digits, '_' or '-', not '%s'.", model.Clip(*req.Name)))
				return
			}
		}
		if !flavor && !create && req.Name != nil && *req.Name != r.PathValue("id") {
			s.fail(w, r, validation("An availability zone's name is its id and cannot change."))
			return
		}
		if req.Description != nil {
			if err := model.ValidateText("description", *req.Description, model.MaxDescriptionLen); err != nil {
				s.fail(w, r, err)
				return
			}
		}
		id := r.PathValue("id")
		meta := s.newMeta("")
		if create {
			id = meta.ID
			if !flavor {
				id, meta.ID = *req.Name, *req.Name
			}
		}
		code := map[bool]int{true: http.StatusCreated, false: http.StatusOK}[create]
		s.mutateAndShow(w, r, res, code, id, func() (*store.Txn, error) {
			t := new(store.Txn)
			var obj model.Object
			rev := int64(0)
			if create {
				pe, err := s.getOf(httpapi.Who{}, profRes, *prof)
				if err != nil {
					return nil, validation("%s %s: %v", profField, *prof, err)
				}
				t.Require(profRes.kind, *prof, pe.Rev)
				if flavor {
					obj = &model.Flavor{Meta: meta, FlavorProfileID: *prof, Enabled: true}
				} else {
					if _, taken := s.st.Get(model.KindAZ, id); taken {
						return nil, conflict("Availability zone %s already exists.", id)
					}
					obj = &model.AvailabilityZone{Meta: meta, ProfileID: *prof, Enabled: true}
				}
			} else {
				e, err := s.getOf(httpapi.Who{}, res, id)
				if err != nil {
					return nil, err
				}
				rev = e.Rev
				if flavor {
					c := *e.Obj.(*model.Flavor)
					obj = &c
				} else {
					c := *e.Obj.(*model.AvailabilityZone)
					obj = &c
				}
			}
			switch o := obj.(type) {
			case *model.Flavor:
				setP(&o.Name, req.Name)
				setP(&o.Description, req.Description)
				if req.Enabled != nil {
					o.Enabled = *req.Enabled
				}
				o.UpdatedAt = s.now()
			case *model.AvailabilityZone:
				setP(&o.Name, req.Name)
				setP(&o.Description, req.Description)
				if req.Enabled != nil {
					o.Enabled = *req.Enabled
				}
				o.UpdatedAt = s.now()
			}
			if create {
				return t.Create(res.kind, obj), nil
			}
			return t.Update(res.kind, obj, rev), nil
		})
	}
}

// deleteCatalog deletes a profile no flavor or zone uses, or a flavor or
// zone no load balancer uses (409 otherwise, naming one user).
func (s *Server) deleteCatalog(res *resource) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		_, err := s.st.Mutate(r.Context(), func() (*store.Txn, error) {
			e, err := s.getOf(httpapi.Who{}, res, id)
			if err != nil {
				return nil, err
			}
			var users []store.Entry
			switch res {
			case flavorProfileRes:
				users = s.st.ByIndex(model.KindFlavor, store.IdxProfile, id)
			case azProfileRes:
				users = s.st.ByIndex(model.KindAZ, store.IdxProfile, id)
			case flavorRes:
				users = s.st.ByIndex(model.KindLoadBalancer, store.IdxFlavor, id)
			case azRes:
				users = s.st.ByIndex(model.KindLoadBalancer, store.IdxAZ, id)
			}
			if len(users) > 0 {
				return nil, conflict("%s %s is in use by %s.", res.what, id, users[0].Obj.Base().ID)
			}
			return new(store.Txn).Delete(res.kind, id, e.Rev), nil
		})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// lbPlacement checks a load balancer's flavor_id and availability_zone:
// each must exist and be enabled; t depends on them.
func (s *Server) lbPlacement(t *store.Txn, flavorID, zone string) error {
	if flavorID != "" {
		e, err := s.getOf(httpapi.Who{}, flavorRes, flavorID)
		if err != nil {
			return validation("Flavor %s: %v", flavorID, err)
		}
		if !e.Obj.(*model.Flavor).Enabled {
			return validation("Flavor %s is disabled.", flavorID)
		}
		t.Require(model.KindFlavor, flavorID, e.Rev)
	}
	if zone != "" {
		e, err := s.getOf(httpapi.Who{}, azRes, zone)
		if err != nil {
			return validation("Availability zone %s: %v", zone, err)
		}
		if !e.Obj.(*model.AvailabilityZone).Enabled {
			return validation("Availability zone %s is disabled.", zone)
		}
		t.Require(model.KindAZ, zone, e.Rev)
	}
	return nil
}

// opOf is the decoding operation of a create or an update.
func opOf(create bool) model.Op {
	if create {
		return model.OpCreate
	}
	return model.OpUpdate
}

package octavia

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"lbaas/internal/api/httpapi"
	"lbaas/internal/model"
	"lbaas/internal/store"
)

// A fully populated create: POST /loadbalancers with "listeners" (each
// with an optional "default_pool") and "pools" (each with "members" and an
// optional "healthmonitor"), stored in the one transaction that creates
// the load balancer, so that the data plane builds it all at once and a
// refused part leaves nothing behind.
//
// As in Octavia, a listener's default_pool is either a whole pool or
// {"name": ...}, a reference to a pool of the top-level list; names are
// how the parts refer to each other, since nothing has an id yet. Unlike
// Octavia, a whole default pool needs no name.

type graph struct {
	pools     []*graphPool
	listeners []*graphListener
}

type graphPool struct {
	pool    *model.Pool
	members []*model.Member
	monitor *model.HealthMonitor
}

type graphListener struct {
	listener *model.Listener
	pool     *graphPool // its default pool, or nil
}

// counts are the objects the graph creates, for the quota.
func (g *graph) counts() map[model.Kind]int {
	c := map[model.Kind]int{model.KindLoadBalancer: 1, model.KindListener: len(g.listeners), model.KindPool: len(g.pools)}
	for _, p := range g.pools {
		c[model.KindMember] += len(p.members)
		if p.monitor != nil {
			c[model.KindHealthMonitor]++
		}
	}
	return c
}

// prepareGraph decodes and checks the listeners and pools of a create
// request (nil when it has none). Everything that needs no store is
// checked here, before the transaction.
func (s *Server) prepareGraph(caller httpapi.Who, lb *model.LoadBalancer, req *lbRequest) (*graph, error) {
	if (req.Listeners == nil || len(*req.Listeners) == 0) && (req.Pools == nil || len(*req.Pools) == 0) {
		return nil, nil
	}
	g := &graph{}
	byName := map[string]*graphPool{}
	if req.Pools != nil {
		for i, raw := range *req.Pools {
			gp, err := s.graphPool(caller, lb, raw, fmt.Sprintf("pools[%d]", i))
			if err != nil {
				return nil, err
			}
			if gp.pool.Name != "" {
				if byName[gp.pool.Name] != nil {
					return nil, validation("Pool names must be unique when creating a fully populated load balancer: '%s' is used twice.", model.Clip(gp.pool.Name))
				}
				byName[gp.pool.Name] = gp
			}
			g.pools = append(g.pools, gp)
		}
	}
	ports := map[int]bool{}
	if req.Listeners != nil {
		for i, raw := range *req.Listeners {
			what := fmt.Sprintf("listeners[%d]", i)
			fields, err := model.ObjectFields(raw, "listeners")
			if err != nil {
				return nil, err
			}
			dp, hasPool := fields["default_pool"]
			delete(fields, "default_pool")
			if err := notInGraph(what, fields, "loadbalancer_id", "default_pool_id"); err != nil {
				return nil, err
			}
			fields["loadbalancer_id"] = quoted(lb.ID)
			var lreq listenerRequest
			if err := model.DecodeFields(fields, model.OpCreate, &lreq); err != nil {
				return nil, within(what, err)
			}
			lreq.noteNulls(fields)
			l, err := s.prepareListener(caller, &lreq)
			if err != nil {
				return nil, within(what, err)
			}
			if err := sameProject(what, lb, &l.Meta); err != nil {
				return nil, err
			}
			if ports[l.ProtocolPort] {
				return nil, conflict("%s: another listener of this load balancer already uses protocol_port %d", what, l.ProtocolPort)
			}
			ports[l.ProtocolPort] = true
			gl := &graphListener{listener: l}
			if hasPool && string(dp) != "null" {
				if gl.pool, err = s.graphDefaultPool(caller, lb, dp, what, byName, g); err != nil {
					return nil, err
				}
				if err := model.ValidateListenerPool(l.Protocol, gl.pool.pool.Protocol); err != nil {
					return nil, within(what, err)
				}
				l.DefaultPoolID = gl.pool.pool.ID
			}
			g.listeners = append(g.listeners, gl)
		}
	}
	return g, nil
}

// graphDefaultPool reads a listener's default_pool: a reference by name to
// a top-level pool, or a whole pool, which joins the graph's pools.
func (s *Server) graphDefaultPool(caller httpapi.Who, lb *model.LoadBalancer, raw json.RawMessage, what string, byName map[string]*graphPool, g *graph) (*graphPool, error) {
	fields, err := model.ObjectFields(raw, what+".default_pool")
	if err != nil {
		return nil, err
	}
	if name, ok := fields["name"]; ok && len(fields) == 1 {
		var n string
		if json.Unmarshal(name, &n) != nil || byName[n] == nil {
			return nil, validation("%s.default_pool names pool %s, which is not in the request's pools.", what, model.Clip(string(name)))
		}
		return byName[n], nil
	}
	gp, err := s.graphPool(caller, lb, raw, what+".default_pool")
	if err != nil {
		return nil, err
	}
	g.pools = append(g.pools, gp)
	return gp, nil
}

// graphPool reads one whole pool with its members and monitor.
func (s *Server) graphPool(caller httpapi.Who, lb *model.LoadBalancer, raw json.RawMessage, what string) (*graphPool, error) {
	fields, err := model.ObjectFields(raw, what)
	if err != nil {
		return nil, err
	}
	rawMembers, hasMembers := fields["members"]
	rawMonitor, hasMonitor := fields["healthmonitor"]
	delete(fields, "members")
	delete(fields, "healthmonitor")
	if err := notInGraph(what, fields, "loadbalancer_id", "listener_id"); err != nil {
		return nil, err
	}
	fields["loadbalancer_id"] = quoted(lb.ID)
	var preq poolRequest
	if err := model.DecodeFields(fields, model.OpCreate, &preq); err != nil {
		return nil, within(what, err)
	}
	p, err := s.preparePool(caller, &preq)
	if err != nil {
		return nil, within(what, err)
	}
	if err := sameProject(what, lb, &p.Meta); err != nil {
		return nil, err
	}
	gp := &graphPool{pool: p}
	if hasMembers && string(rawMembers) != "null" {
		var items []json.RawMessage
		if json.Unmarshal(rawMembers, &items) != nil {
			return nil, validation("%s.members must be a list of members.", what)
		}
		if len(items) > MaxBatchMembers {
			return nil, validation("%s.members holds at most %d members, not %d.", what, MaxBatchMembers, len(items))
		}
		seen := map[string]bool{}
		for i, item := range items {
			mwhat := fmt.Sprintf("%s.members[%d]", what, i)
			var mreq memberRequest
			if err := model.DecodeObject(item, "members", model.OpCreate, &mreq); err != nil {
				return nil, within(mwhat, err)
			}
			if mreq.ID != nil {
				return nil, validation("%s: id is not allowed in a create.", mwhat)
			}
			m, err := s.newMember(caller, p.ID, &mreq)
			if err != nil {
				return nil, within(mwhat, err)
			}
			if err := sameProject(mwhat, lb, &m.Meta); err != nil {
				return nil, err
			}
			key := m.Address + ":" + strconv.Itoa(m.ProtocolPort)
			if seen[key] {
				return nil, conflict("%s: another member of this pool already uses ip %s on protocol_port %d", mwhat, m.Address, m.ProtocolPort)
			}
			seen[key] = true
			gp.members = append(gp.members, m)
		}
	}
	if hasMonitor && string(rawMonitor) != "null" {
		hwhat := what + ".healthmonitor"
		hf, err := model.ObjectFields(rawMonitor, hwhat)
		if err != nil {
			return nil, err
		}
		if err := notInGraph(hwhat, hf, "pool_id"); err != nil {
			return nil, err
		}
		hf["pool_id"] = quoted(p.ID)
		var hreq monitorRequest
		if err := model.DecodeFields(hf, model.OpCreate, &hreq); err != nil {
			return nil, within(hwhat, err)
		}
		h, err := s.prepareMonitor(caller, &hreq)
		if err != nil {
			return nil, within(hwhat, err)
		}
		if err := sameProject(hwhat, lb, &h.Meta); err != nil {
			return nil, err
		}
		gp.monitor = h
		p.HealthMonitors = []string{h.ID}
	}
	return gp, nil
}

// addGraph adds to t the graph's pools, members, monitors and listeners on
// lb, whose VIP t already allocated, checking what the store knows:
// certificates, member subnets, the VIP's own address.
func (s *Server) addGraph(t *store.Txn, caller httpapi.Who, lb *model.LoadBalancer, g *graph) error {
	for _, gp := range g.pools {
		t.Create(model.KindPool, gp.pool)
		for _, m := range gp.members {
			if err := s.checkMemberTargetOn(caller, lb.VIPAddress, m); err != nil {
				return err
			}
			t.Claim(model.MemberClaim(m), m.ID).Create(model.KindMember, m)
		}
		if gp.monitor != nil {
			t.Create(model.KindHealthMonitor, gp.monitor)
		}
	}
	for _, gl := range g.listeners {
		check := *gl.listener
		check.DefaultPoolID = "" // created here, checked in prepareGraph
		if err := s.checkListenerRefs(t, caller, &check); err != nil {
			return err
		}
		t.Claim(listenerClaim(gl.listener), gl.listener.ID).Create(model.KindListener, gl.listener)
	}
	return nil
}

// createGraph stores a load balancer with its graph in one transaction and
// answers it with its listeners and pools in full, as Octavia does.
func (s *Server) createGraph(w http.ResponseWriter, r *http.Request, caller httpapi.Who, req *lbRequest, lb *model.LoadBalancer, g *graph) {
	_, err := s.st.Mutate(r.Context(), func() (*store.Txn, error) {
		t := new(store.Txn)
		if err := s.guardQuotas(t, lb.TenantID, g.counts()); err != nil {
			return nil, err
		}
		built := *lb
		if err := s.addLoadBalancer(t, caller, req, &built); err != nil {
			return nil, err
		}
		return t, s.addGraph(t, caller, &built, g)
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	e, ok, err := s.st.GetFresh(r.Context(), model.KindLoadBalancer, lb.ID)
	if err != nil || !ok {
		httpapi.WriteUnavailable(errorWriter{}, w, "The request was applied, but the store cannot show the result now; read it again.")
		return
	}
	c := newStatuses(s.st)
	v := viewLoadBalancer(s, c, e)
	listeners := []map[string]any{}
	for _, le := range s.st.ByIndex(model.KindListener, store.IdxLB, lb.ID) {
		listeners = append(listeners, viewListener(s, c, le))
	}
	pools := []map[string]any{}
	for _, pe := range s.st.ByIndex(model.KindPool, store.IdxLB, lb.ID) {
		pv := viewPool(s, c, pe)
		members := []map[string]any{}
		for _, me := range s.st.ByIndex(model.KindMember, store.IdxPool, pe.Obj.Base().ID) {
			members = append(members, viewMember(s, c, me))
		}
		pv["members"] = members
		pv["healthmonitor"] = nil
		if hs := pe.Obj.(*model.Pool).HealthMonitors; len(hs) > 0 {
			if he, ok := s.st.Get(model.KindHealthMonitor, hs[0]); ok {
				pv["healthmonitor"] = viewMonitor(s, c, he)
			}
		}
		pools = append(pools, pv)
	}
	v["listeners"], v["pools"] = listeners, pools
	httpapi.WriteJSON(w, http.StatusCreated, map[string]any{"loadbalancer": v})
}

// notInGraph refuses attributes that name a parent: in a fully populated
// create the parent is the object the part is nested in.
func notInGraph(what string, fields map[string]json.RawMessage, names ...string) error {
	for _, n := range names {
		if _, ok := fields[n]; ok {
			return validation("%s: %s is not allowed in a fully populated create; the part belongs to what it is nested in.", what, n)
		}
	}
	return nil
}

// sameProject keeps every part of a graph in its load balancer's project.
func sameProject(what string, lb *model.LoadBalancer, m *model.Meta) error {
	if m.TenantID != lb.TenantID {
		return validation("%s: project_id must be the load balancer's (%s).", what, lb.TenantID)
	}
	return nil
}

// within prefixes an input error with the part of the graph it is about.
func within(what string, err error) error {
	switch e := err.(type) {
	case *model.InputError:
		return &model.InputError{Type: e.Type, Message: what + ": " + e.Message}
	case *model.ConflictError:
		return &model.ConflictError{Type: e.Type, Message: what + ": " + e.Message}
	}
	return err
}

func quoted(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

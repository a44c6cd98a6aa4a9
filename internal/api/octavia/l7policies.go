package octavia

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"

	"lbaas/internal/api/httpapi"
	"lbaas/internal/controller"
	"lbaas/internal/model"
	"lbaas/internal/store"
)

var l7policyRes = &resource{kind: model.KindL7Policy, singular: "l7policy", plural: "l7policies", what: "L7 Policy", view: viewL7Policy}

var l7ruleRes = &resource{kind: model.KindL7Rule, singular: "rule", plural: "rules", what: "L7 Rule", view: viewL7Rule}

// l7policyRequest is the body of POST/PUT .../l7policies.
type l7policyRequest struct {
	ProjectID        *string            `json:"project_id" lbaas:"create"`
	TenantID         *string            `json:"tenant_id" lbaas:"create"`
	Name             *string            `json:"name" lbaas:"create,update,nullable"`
	Description      *string            `json:"description" lbaas:"create,update,nullable"`
	AdminStateUp     *bool              `json:"admin_state_up" lbaas:"create,update"`
	ListenerID       *string            `json:"listener_id" lbaas:"create,required"`
	Action           *string            `json:"action" lbaas:"create,update"`
	Position         *int               `json:"position" lbaas:"create,update"`
	RedirectPoolID   *string            `json:"redirect_pool_id" lbaas:"create,update,nullable"`
	RedirectURL      *string            `json:"redirect_url" lbaas:"create,update,nullable"`
	RedirectPrefix   *string            `json:"redirect_prefix" lbaas:"create,update,nullable"`
	RedirectHTTPCode *int               `json:"redirect_http_code" lbaas:"create,update,nullable"`
	Tags             *[]string          `json:"tags" lbaas:"create,update,nullable"`
	Rules            *[]json.RawMessage `json:"rules" lbaas:"create,nullable"`
}

// l7ruleRequest is the body of POST/PUT .../l7policies/{id}/rules, and an
// item of a policy's rules.
type l7ruleRequest struct {
	ProjectID    *string   `json:"project_id" lbaas:"create"`
	TenantID     *string   `json:"tenant_id" lbaas:"create"`
	Type         *string   `json:"type" lbaas:"create,update,required"`
	CompareType  *string   `json:"compare_type" lbaas:"create,update,required"`
	Key          *string   `json:"key" lbaas:"create,update,nullable"`
	Value        *string   `json:"value" lbaas:"create,update,required"`
	Invert       *bool     `json:"invert" lbaas:"create,update"`
	AdminStateUp *bool     `json:"admin_state_up" lbaas:"create,update"`
	Tags         *[]string `json:"tags" lbaas:"create,update,nullable"`
}

// MaxRulesPerPolicy bounds a policy's rules: each is an ACL HAProxy
// evaluates for every request of the listener.
const MaxRulesPerPolicy = 50

func viewL7Policy(s *Server, c *statuses, e store.Entry) map[string]any {
	p := e.Obj.(*model.L7Policy)
	st := c.of(p.LoadBalancerID)
	v := common(&p.Meta)
	v["name"] = p.Name
	v["description"] = p.Description
	v["admin_state_up"] = p.AdminStateUp
	v["listener_id"] = p.ListenerID
	v["action"] = p.Action
	v["position"] = p.Position
	v["redirect_pool_id"] = nullable(p.RedirectPoolID)
	v["redirect_url"] = nullable(p.RedirectURL)
	v["redirect_prefix"] = nullable(p.RedirectPrefix)
	if p.RedirectHTTPCode != 0 {
		v["redirect_http_code"] = p.RedirectHTTPCode
	} else {
		v["redirect_http_code"] = nil
	}
	v["rules"] = refs(entryIDs(s.rulesOf(p.ID))...)
	v["provisioning_status"] = st.prov.Status
	v["operating_status"] = l7Operating(p.AdminStateUp, st)
	v["tags"] = tags(p.Tags)
	return v
}

func viewL7Rule(_ *Server, c *statuses, e store.Entry) map[string]any {
	r := e.Obj.(*model.L7Rule)
	st := c.of(r.LoadBalancerID)
	v := common(&r.Meta)
	v["type"] = r.Type
	v["compare_type"] = r.CompareType
	v["key"] = nullable(r.Key)
	v["value"] = r.Value
	v["invert"] = r.Invert
	v["admin_state_up"] = r.AdminStateUp
	v["provisioning_status"] = st.prov.Status
	v["operating_status"] = l7Operating(r.AdminStateUp, st)
	v["tags"] = tags(r.Tags)
	return v
}

// l7Operating is ONLINE for an enabled policy or rule of a load balancer
// that serves, OFFLINE otherwise: HAProxy reports nothing of its own
// about ACLs.
func l7Operating(up bool, st *lbStatus) string {
	if up && st.op.LoadBalancer != controller.OperatingOffline {
		return controller.OperatingOnline
	}
	return controller.OperatingOffline
}

// rulesOf returns a policy's rules sorted by creation, then id.
func (s *Server) rulesOf(policyID string) []store.Entry {
	es := s.st.ByIndex(model.KindL7Rule, store.IdxL7Policy, policyID)
	sort.Slice(es, func(i, j int) bool {
		a, b := es[i].Obj.Base(), es[j].Obj.Base()
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.Before(b.CreatedAt)
		}
		return a.ID < b.ID
	})
	return es
}

// policiesOf returns a listener's policies in position order.
func (s *Server) policiesOf(listenerID string) []store.Entry {
	es := s.st.ByIndex(model.KindL7Policy, store.IdxListener, listenerID)
	sort.Slice(es, func(i, j int) bool {
		a, b := es[i].Obj.(*model.L7Policy), es[j].Obj.(*model.L7Policy)
		if a.Position != b.Position {
			return a.Position < b.Position
		}
		return a.ID < b.ID
	})
	return es
}

// applyL7Policy applies a request. As in Octavia, naming a redirect
// target without an action implies the action that uses it, and
// NormalizeL7Policy then clears what the action does not use.
func applyL7Policy(p *model.L7Policy, req *l7policyRequest) error {
	setP(&p.Name, req.Name)
	setP(&p.Description, req.Description)
	if req.AdminStateUp != nil {
		p.AdminStateUp = *req.AdminStateUp
	}
	targets := 0
	for _, t := range []struct {
		v      *string
		action string
	}{{req.RedirectPoolID, model.L7RedirectToPool}, {req.RedirectURL, model.L7RedirectToURL}, {req.RedirectPrefix, model.L7RedirectPrefix}} {
		if str(t.v) != "" {
			targets++
			if req.Action == nil {
				p.Action = t.action
			}
		}
	}
	if targets > 1 {
		return validation("Send one of redirect_pool_id, redirect_url and redirect_prefix.")
	}
	setP(&p.Action, req.Action)
	setP(&p.RedirectPoolID, req.RedirectPoolID)
	setP(&p.RedirectURL, req.RedirectURL)
	setP(&p.RedirectPrefix, req.RedirectPrefix)
	if req.RedirectHTTPCode != nil {
		p.RedirectHTTPCode = *req.RedirectHTTPCode
	}
	if req.Tags != nil {
		p.Tags = append([]string{}, (*req.Tags)...)
	}
	model.NormalizeL7Policy(p)
	return nil
}

func applyL7Rule(r *model.L7Rule, req *l7ruleRequest) {
	setP(&r.Type, req.Type)
	setP(&r.CompareType, req.CompareType)
	setP(&r.Key, req.Key)
	setP(&r.Value, req.Value)
	if req.Invert != nil {
		r.Invert = *req.Invert
	}
	if req.AdminStateUp != nil {
		r.AdminStateUp = *req.AdminStateUp
	}
	if req.Tags != nil {
		r.Tags = append([]string{}, (*req.Tags)...)
	}
}

// newL7Rule builds a rule of a policy (not yet known when the rules come
// inside the policy's create) from a create request.
func (s *Server) newL7Rule(caller httpapi.Who, tenant string, req *l7ruleRequest) (*model.L7Rule, error) {
	if req.ProjectID != nil || req.TenantID != nil {
		t, err := tenantFor(caller, req.ProjectID, req.TenantID)
		if err != nil {
			return nil, err
		}
		if tenant != "" && t != tenant {
			return nil, validation("A rule belongs to its policy's project %s, not %s.", tenant, t)
		}
		tenant = t
	}
	r := &model.L7Rule{Meta: s.newMeta(tenant), AdminStateUp: true}
	applyL7Rule(r, req)
	if err := model.ValidateL7Rule(r); err != nil {
		return nil, err
	}
	return r, nil
}

// checkL7Target checks the policy's listener (HTTP or terminated HTTPS)
// and redirect pool (the listener's load balancer, a protocol the
// listener can send to), and makes t depend on the pool.
func (s *Server) checkL7Target(t *store.Txn, caller httpapi.Who, l *model.Listener, p *model.L7Policy) error {
	if l.Protocol != model.ProtocolHTTP && l.Protocol != model.ProtocolTerminatedHTTPS {
		return validation("L7 policies need an HTTP or TERMINATED_HTTPS listener; listener %s is %s.", l.ID, l.Protocol)
	}
	if p.Action != model.L7RedirectToPool {
		return nil
	}
	pe, err := s.get(caller, model.KindPool, poolRes.what, p.RedirectPoolID)
	if err != nil {
		return validation("Pool %s could not be used as the redirect pool: %v", p.RedirectPoolID, err)
	}
	pool := pe.Obj.(*model.Pool)
	if pool.LoadBalancerID != l.LoadBalancerID {
		return validation("Pool %s is not on Load Balancer %s.", pool.ID, l.LoadBalancerID)
	}
	if err := model.ValidateListenerPool(l.Protocol, pool.Protocol); err != nil {
		return err
	}
	t.Require(model.KindPool, pool.ID, pe.Rev)
	return nil
}

// placePolicy adds to t the position changes that put policy id at pos
// among the listener's policies (pos past the end: last; remove: taken
// out), renumbering the others 1, 2, ... as Octavia does. moved is the
// policy itself with its new position, or nil when it is removed. The
// listener is touched in t: two concurrent changes of one listener's
// order cannot both commit on the same numbering.
func (s *Server) placePolicy(t *store.Txn, le store.Entry, moved *model.L7Policy, id string, pos int) {
	var order []store.Entry
	for _, e := range s.policiesOf(le.Obj.Base().ID) {
		if e.Obj.Base().ID != id {
			order = append(order, e)
		}
	}
	if moved != nil {
		pos = max(1, min(pos, len(order)+1))
		moved.Position = pos
	}
	n := 0
	for _, e := range order {
		n++
		if moved != nil && n == pos {
			n++ // the moved policy's place
		}
		p := e.Obj.(*model.L7Policy)
		if p.Position != n {
			q := *p
			q.Position, q.UpdatedAt = n, s.now()
			t.Update(model.KindL7Policy, &q, e.Rev)
		}
	}
	l := *le.Obj.(*model.Listener)
	l.UpdatedAt = s.now()
	t.Update(model.KindListener, &l, le.Rev)
}

func (s *Server) createL7Policy(w http.ResponseWriter, r *http.Request) {
	caller := httpapi.WhoFrom(r.Context())
	var req l7policyRequest
	if err := readBody(r, "l7policy", model.OpCreate, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	p, rules, err := s.prepareL7Policy(caller, &req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pos := model.MaxL7Position
	if req.Position != nil {
		pos = *req.Position
	}
	s.mutateAndShow(w, r, l7policyRes, http.StatusCreated, p.ID, func() (*store.Txn, error) {
		le, err := s.get(caller, model.KindListener, listenerRes.what, p.ListenerID)
		if err != nil {
			return nil, err
		}
		l := le.Obj.(*model.Listener)
		q := *p
		q.LoadBalancerID = l.LoadBalancerID
		t := new(store.Txn)
		if err := s.guardQuotas(t, q.TenantID, map[model.Kind]int{model.KindL7Policy: 1, model.KindL7Rule: len(rules)}); err != nil {
			return nil, err
		}
		if err := s.checkL7Target(t, caller, l, &q); err != nil {
			return nil, err
		}
		s.placePolicy(t, le, &q, q.ID, pos)
		t.Create(model.KindL7Policy, &q)
		for _, rr := range rules {
			x := *rr
			x.PolicyID, x.LoadBalancerID = q.ID, q.LoadBalancerID
			t.Create(model.KindL7Rule, &x)
		}
		return t, nil
	})
}

// prepareL7Policy decodes and checks a create, with its rules, before
// anything is read from the store.
func (s *Server) prepareL7Policy(caller httpapi.Who, req *l7policyRequest) (*model.L7Policy, []*model.L7Rule, error) {
	tenant, err := tenantFor(caller, req.ProjectID, req.TenantID)
	if err != nil {
		return nil, nil, err
	}
	if req.Action == nil && str(req.RedirectPoolID) == "" && str(req.RedirectURL) == "" && str(req.RedirectPrefix) == "" {
		return nil, nil, validation("Invalid input for action: an action is required (one of REDIRECT_TO_POOL, REDIRECT_TO_URL, REDIRECT_PREFIX, REJECT).")
	}
	p := &model.L7Policy{Meta: s.newMeta(tenant), ListenerID: *req.ListenerID, AdminStateUp: true, Position: 1}
	if err := applyL7Policy(p, req); err != nil {
		return nil, nil, err
	}
	if req.Position != nil {
		p.Position = *req.Position
	}
	if err := model.ValidateL7Policy(p); err != nil {
		return nil, nil, err
	}
	var rules []*model.L7Rule
	if req.Rules != nil {
		if len(*req.Rules) > MaxRulesPerPolicy {
			return nil, nil, validation("A policy holds at most %d rules, not %d.", MaxRulesPerPolicy, len(*req.Rules))
		}
		for i, raw := range *req.Rules {
			var rr l7ruleRequest
			if err := model.DecodeObject(raw, "rules", model.OpCreate, &rr); err != nil {
				return nil, nil, within(fmt.Sprintf("rules[%d]", i), err)
			}
			x, err := s.newL7Rule(caller, tenant, &rr)
			if err != nil {
				return nil, nil, within(fmt.Sprintf("rules[%d]", i), err)
			}
			rules = append(rules, x)
		}
	}
	return p, rules, nil
}

func (s *Server) updateL7Policy(w http.ResponseWriter, r *http.Request) {
	caller := httpapi.WhoFrom(r.Context())
	var req l7policyRequest
	if err := readBody(r, "l7policy", model.OpUpdate, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	id := r.PathValue("id")
	s.mutateAndShow(w, r, l7policyRes, http.StatusOK, id, func() (*store.Txn, error) {
		e, err := s.get(caller, model.KindL7Policy, l7policyRes.what, id)
		if err != nil {
			return nil, err
		}
		old := e.Obj.(*model.L7Policy)
		p := *old
		if err := applyL7Policy(&p, &req); err != nil {
			return nil, err
		}
		if req.Position != nil {
			p.Position = *req.Position
		}
		if err := model.ValidateL7Policy(&p); err != nil {
			return nil, err
		}
		t := new(store.Txn)
		le, err := s.get(caller, model.KindListener, listenerRes.what, p.ListenerID)
		if err != nil {
			return nil, err
		}
		if p.Action != old.Action || p.RedirectPoolID != old.RedirectPoolID {
			if err := s.checkL7Target(t, caller, le.Obj.(*model.Listener), &p); err != nil {
				return nil, err
			}
		}
		if req.Position != nil && *req.Position != old.Position {
			s.placePolicy(t, le, &p, p.ID, *req.Position)
		}
		p.UpdatedAt = s.now()
		return t.Update(model.KindL7Policy, &p, e.Rev), nil
	})
}

func (s *Server) deleteL7Policy(w http.ResponseWriter, r *http.Request) {
	caller := httpapi.WhoFrom(r.Context())
	id := r.PathValue("id")
	_, err := s.st.Mutate(r.Context(), func() (*store.Txn, error) {
		e, err := s.get(caller, model.KindL7Policy, l7policyRes.what, id)
		if err != nil {
			return nil, err
		}
		p := e.Obj.(*model.L7Policy)
		t := new(store.Txn)
		if le, ok := s.st.Get(model.KindListener, p.ListenerID); ok {
			s.placePolicy(t, le, nil, p.ID, 0)
		}
		s.removeL7Policy(t, e)
		return t, nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// removeL7Policy adds to t the deletion of a policy and its rules.
func (s *Server) removeL7Policy(t *store.Txn, pe store.Entry) {
	t.Delete(model.KindL7Policy, pe.Obj.Base().ID, pe.Rev)
	for _, re := range s.st.ByIndex(model.KindL7Rule, store.IdxL7Policy, pe.Obj.Base().ID) {
		t.Delete(model.KindL7Rule, re.Obj.Base().ID, re.Rev)
	}
}

// removeListenerPolicies adds to t the deletion of a listener's policies
// and their rules (deleting a listener deletes them, as in Octavia).
func (s *Server) removeListenerPolicies(t *store.Txn, listenerID string) {
	for _, pe := range s.st.ByIndex(model.KindL7Policy, store.IdxListener, listenerID) {
		s.removeL7Policy(t, pe)
	}
}

// policyOf returns the policy of a rules path, which the caller must own.
func (s *Server) policyOf(caller httpapi.Who, r *http.Request) (store.Entry, error) {
	return s.get(caller, model.KindL7Policy, l7policyRes.what, r.PathValue("policy"))
}

func (s *Server) listL7Rules(w http.ResponseWriter, r *http.Request) {
	pe, err := s.policyOf(httpapi.WhoFrom(r.Context()), r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.listEntries(w, r, l7ruleRes, s.rulesOf(pe.Obj.Base().ID))
}

// l7rule returns the rule of a path, which must be in the path's policy.
func (s *Server) l7rule(caller httpapi.Who, r *http.Request) (store.Entry, error) {
	if _, err := s.policyOf(caller, r); err != nil {
		return store.Entry{}, err
	}
	id := r.PathValue("id")
	e, err := s.get(caller, model.KindL7Rule, l7ruleRes.what, id)
	if err != nil {
		return e, err
	}
	if e.Obj.(*model.L7Rule).PolicyID != r.PathValue("policy") {
		return e, notFound(l7ruleRes.what, id)
	}
	return e, nil
}

func (s *Server) showL7Rule(w http.ResponseWriter, r *http.Request) {
	e, err := s.l7rule(httpapi.WhoFrom(r.Context()), r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeView(w, l7ruleRes, http.StatusOK, e, r.URL.Query()["fields"])
}

func (s *Server) createL7Rule(w http.ResponseWriter, r *http.Request) {
	caller := httpapi.WhoFrom(r.Context())
	var req l7ruleRequest
	if err := readBody(r, "rule", model.OpCreate, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	rule, err := s.newL7Rule(caller, "", &req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.mutateAndShow(w, r, l7ruleRes, http.StatusCreated, rule.ID, func() (*store.Txn, error) {
		pe, err := s.policyOf(caller, r)
		if err != nil {
			return nil, err
		}
		p := pe.Obj.(*model.L7Policy)
		x := *rule
		x.PolicyID, x.LoadBalancerID = p.ID, p.LoadBalancerID
		if x.TenantID != p.TenantID {
			if req.ProjectID != nil || req.TenantID != nil {
				return nil, validation("A rule belongs to its policy's project %s, not %s.", p.TenantID, x.TenantID)
			}
			x.TenantID = p.TenantID // an admin adding a rule to a tenant's policy
		}
		if n := len(s.st.ByIndex(model.KindL7Rule, store.IdxL7Policy, p.ID)); n >= MaxRulesPerPolicy {
			return nil, validation("L7 Policy %s already has %d rules, the most a policy holds.", p.ID, n)
		}
		t := new(store.Txn)
		if err := s.guardQuota(t, x.TenantID, model.KindL7Rule, 1); err != nil {
			return nil, err
		}
		return t.Require(model.KindL7Policy, p.ID, pe.Rev).Create(model.KindL7Rule, &x), nil
	})
}

func (s *Server) updateL7Rule(w http.ResponseWriter, r *http.Request) {
	caller := httpapi.WhoFrom(r.Context())
	var req l7ruleRequest
	if err := readBody(r, "rule", model.OpUpdate, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	s.mutateAndShow(w, r, l7ruleRes, http.StatusOK, r.PathValue("id"), func() (*store.Txn, error) {
		e, err := s.l7rule(caller, r)
		if err != nil {
			return nil, err
		}
		x := *e.Obj.(*model.L7Rule)
		applyL7Rule(&x, &req)
		if err := model.ValidateL7Rule(&x); err != nil {
			return nil, err
		}
		x.UpdatedAt = s.now()
		return new(store.Txn).Update(model.KindL7Rule, &x, e.Rev), nil
	})
}

func (s *Server) deleteL7Rule(w http.ResponseWriter, r *http.Request) {
	caller := httpapi.WhoFrom(r.Context())
	_, err := s.st.Mutate(r.Context(), func() (*store.Txn, error) {
		e, err := s.l7rule(caller, r)
		if err != nil {
			return nil, err
		}
		return new(store.Txn).Delete(model.KindL7Rule, e.Obj.Base().ID, e.Rev), nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

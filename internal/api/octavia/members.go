package octavia

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"lbaas/internal/api/httpapi"
	"lbaas/internal/model"
	"lbaas/internal/store"
)

var memberRes = &resource{kind: model.KindMember, singular: "member", plural: "members", what: "Member", view: viewMember,
	extra: func(o model.Object) map[string]any { return map[string]any{"pool_id": o.(*model.Member).PoolID} }}

// memberRequest is the body of POST/PUT .../pools/{id}/members[/{id}] and
// an item of a batch.
type memberRequest struct {
	ProjectID      *string   `json:"project_id" lbaas:"create"`
	TenantID       *string   `json:"tenant_id" lbaas:"create"`
	Name           *string   `json:"name" lbaas:"create,update,nullable"`
	Address        *string   `json:"address" lbaas:"create,required"`
	ProtocolPort   *int      `json:"protocol_port" lbaas:"create,required"`
	Weight         *int      `json:"weight" lbaas:"create,update"`
	Backup         *bool     `json:"backup" lbaas:"create,update"`
	AdminStateUp   *bool     `json:"admin_state_up" lbaas:"create,update"`
	SubnetID       *string   `json:"subnet_id" lbaas:"create,nullable"`
	MonitorAddress *string   `json:"monitor_address" lbaas:"create,update,nullable"`
	MonitorPort    *int      `json:"monitor_port" lbaas:"create,update,nullable"`
	Tags           *[]string `json:"tags" lbaas:"create,update,nullable"`
	VNICType       *string   `json:"vnic_type" lbaas:"create,nullable"`
	// ID lets a batch item name the member it keeps (Octavia ignores it
	// and matches by address and port, as this server does).
	ID *string `json:"id" lbaas:"create,nullable"`
}

func viewMember(_ *Server, c *statuses, e store.Entry) map[string]any {
	m := e.Obj.(*model.Member)
	lbID := ""
	if pe, ok := c.st.Get(model.KindPool, m.PoolID); ok {
		lbID = pe.Obj.(*model.Pool).LoadBalancerID
	}
	st := c.of(lbID)
	v := common(&m.Meta)
	v["name"] = m.Name
	v["admin_state_up"] = m.AdminStateUp
	v["provisioning_status"] = st.prov.Status
	v["operating_status"] = operating(st.op.Members, m.ID)
	v["address"] = m.Address
	v["protocol_port"] = m.ProtocolPort
	v["weight"] = m.Weight
	v["backup"] = m.Backup
	v["subnet_id"] = nullable(m.SubnetID)
	v["monitor_address"] = nullable(m.MonitorAddress)
	if m.MonitorPort != 0 {
		v["monitor_port"] = m.MonitorPort
	} else {
		v["monitor_port"] = nil
	}
	v["vnic_type"] = "normal"
	v["tags"] = tags(m.Tags)
	return v
}

func applyMember(m *model.Member, req *memberRequest) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&m.Name, req.Name)
	set(&m.Address, req.Address)
	set(&m.SubnetID, req.SubnetID)
	set(&m.MonitorAddress, req.MonitorAddress)
	if req.ProtocolPort != nil {
		m.ProtocolPort = *req.ProtocolPort
	}
	if req.Weight != nil {
		m.Weight = *req.Weight
	}
	if req.Backup != nil {
		m.Backup = *req.Backup
	}
	if req.AdminStateUp != nil {
		m.AdminStateUp = *req.AdminStateUp
	}
	if req.MonitorPort != nil {
		m.MonitorPort = *req.MonitorPort
	}
	if req.Tags != nil {
		m.Tags = append([]string{}, (*req.Tags)...)
	}
}

// newMember builds a member of pool from a create request.
func (s *Server) newMember(caller httpapi.Who, poolID string, req *memberRequest) (*model.Member, error) {
	tenant, err := tenantFor(caller, req.ProjectID, req.TenantID)
	if err != nil {
		return nil, err
	}
	if v := str(req.VNICType); v != "" && v != "normal" {
		return nil, unsupported("vnic_type")
	}
	m := &model.Member{Meta: s.newMeta(tenant), PoolID: poolID, Weight: 1, AdminStateUp: true}
	applyMember(m, req)
	if err := model.ValidateMember(m); err != nil {
		return nil, err
	}
	return m, nil
}

// pool returns the pool of a members path, which the caller must own.
func (s *Server) pool(caller httpapi.Who, r *http.Request) (store.Entry, error) {
	return s.get(caller, model.KindPool, poolRes.what, r.PathValue("pool"))
}

func (s *Server) listMembers(w http.ResponseWriter, r *http.Request) {
	pe, err := s.pool(httpapi.WhoFrom(r.Context()), r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.listEntries(w, r, memberRes, s.st.ByIndex(model.KindMember, store.IdxPool, pe.Obj.Base().ID))
}

// member returns the member of a path, which must be in the path's pool.
func (s *Server) member(caller httpapi.Who, r *http.Request) (store.Entry, error) {
	if _, err := s.pool(caller, r); err != nil {
		return store.Entry{}, err
	}
	id := r.PathValue("id")
	e, err := s.get(caller, model.KindMember, memberRes.what, id)
	if err != nil {
		return e, err
	}
	if e.Obj.(*model.Member).PoolID != r.PathValue("pool") {
		return e, notFound(memberRes.what, id)
	}
	return e, nil
}

func (s *Server) showMember(w http.ResponseWriter, r *http.Request) {
	e, err := s.member(httpapi.WhoFrom(r.Context()), r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeView(w, memberRes, http.StatusOK, e, r.URL.Query()["fields"])
}

func memberExists(m *model.Member) error {
	return conflict("Another member on this pool is already using ip %s on protocol_port %d", m.Address, m.ProtocolPort)
}

// checkMemberTarget refuses a member on the load balancer's own address
// (its traffic would loop into HAProxy) and a subnet the caller cannot
// see.
func (s *Server) checkMemberTarget(caller httpapi.Who, pool *model.Pool, m *model.Member) error {
	vip := ""
	if le, ok := s.st.Get(model.KindLoadBalancer, pool.LoadBalancerID); ok {
		vip = le.Obj.(*model.LoadBalancer).VIPAddress
	}
	return s.checkMemberTargetOn(caller, vip, m)
}

// checkMemberTargetOn is checkMemberTarget for a load balancer whose VIP
// address is vip.
func (s *Server) checkMemberTargetOn(caller httpapi.Who, vip string, m *model.Member) error {
	if vip != "" && vip == m.Address {
		return validation("Member address %s is the load balancer's VIP address.", m.Address)
	}
	if m.SubnetID != "" {
		if _, err := s.visibleSubnet(caller, m.SubnetID); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) createMember(w http.ResponseWriter, r *http.Request) {
	caller := httpapi.WhoFrom(r.Context())
	var req memberRequest
	if err := readBody(r, "member", model.OpCreate, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	poolID := r.PathValue("pool")
	m, err := s.newMember(caller, poolID, &req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.mutateAndShow(w, r, memberRes, http.StatusCreated, m.ID, func() (*store.Txn, error) {
		pe, err := s.pool(caller, r)
		if err != nil {
			return nil, err
		}
		if err := s.checkMemberTarget(caller, pe.Obj.(*model.Pool), m); err != nil {
			return nil, err
		}
		for _, oe := range s.st.ByIndex(model.KindMember, store.IdxPool, poolID) {
			if o := oe.Obj.(*model.Member); o.Address == m.Address && o.ProtocolPort == m.ProtocolPort {
				return nil, memberExists(m)
			}
		}
		t := new(store.Txn)
		if err := s.guardQuota(t, m.TenantID, model.KindMember, 1); err != nil {
			return nil, err
		}
		return t.Require(model.KindPool, poolID, pe.Rev).Claim(model.MemberClaim(m), m.ID).Create(model.KindMember, m), nil
	})
}

func (s *Server) updateMember(w http.ResponseWriter, r *http.Request) {
	caller := httpapi.WhoFrom(r.Context())
	var req memberRequest
	if err := readBody(r, "member", model.OpUpdate, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	s.mutateAndShow(w, r, memberRes, http.StatusOK, r.PathValue("id"), func() (*store.Txn, error) {
		e, err := s.member(caller, r)
		if err != nil {
			return nil, err
		}
		m := *e.Obj.(*model.Member)
		applyMember(&m, &req)
		if err := model.ValidateMember(&m); err != nil {
			return nil, err
		}
		m.UpdatedAt = s.now()
		return new(store.Txn).Update(model.KindMember, &m, e.Rev), nil
	})
}

func (s *Server) deleteMember(w http.ResponseWriter, r *http.Request) {
	caller := httpapi.WhoFrom(r.Context())
	_, err := s.st.Mutate(r.Context(), func() (*store.Txn, error) {
		e, err := s.member(caller, r)
		if err != nil {
			return nil, err
		}
		m := e.Obj.(*model.Member)
		return new(store.Txn).Delete(model.KindMember, m.ID, e.Rev).Release(model.MemberClaim(m)), nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// MaxBatchMembers bounds one batch update.
const MaxBatchMembers = 2000

// batchMembers replaces the pool's members with the ones sent, in one
// transaction: members matched by address and port keep their ids and
// take the sent attributes, new ones are created, and (unless
// ?additive_only=true) the others are deleted. Answers 202.
func (s *Server) batchMembers(w http.ResponseWriter, r *http.Request) {
	caller := httpapi.WhoFrom(r.Context())
	additive, _ := strconv.ParseBool(strings.ToLower(r.URL.Query().Get("additive_only")))
	body, err := httpapi.ReadBody(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var outer struct {
		Members *[]json.RawMessage `json:"members"`
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&outer); err != nil || outer.Members == nil {
		s.fail(w, r, &model.InputError{Type: "HTTPBadRequest", Message: "Invalid input for members: the body must be {\"members\": [...]}"})
		return
	}
	if len(*outer.Members) > MaxBatchMembers {
		s.fail(w, r, validation("A batch holds at most %d members, not %d.", MaxBatchMembers, len(*outer.Members)))
		return
	}
	poolID := r.PathValue("pool")
	want := make([]*model.Member, 0, len(*outer.Members))
	seen := map[string]bool{}
	for i, raw := range *outer.Members {
		var req memberRequest
		if err := model.DecodeObject(raw, "members", model.OpCreate, &req); err != nil {
			s.fail(w, r, itemError(i, err))
			return
		}
		m, err := s.newMember(caller, poolID, &req)
		if err != nil {
			s.fail(w, r, itemError(i, err))
			return
		}
		key := m.Address + ":" + strconv.Itoa(m.ProtocolPort)
		if seen[key] {
			s.fail(w, r, validation("Member %s on protocol_port %d is listed twice.", m.Address, m.ProtocolPort))
			return
		}
		seen[key] = true
		want = append(want, m)
	}
	_, err = s.st.Mutate(r.Context(), func() (*store.Txn, error) {
		pe, err := s.pool(caller, r)
		if err != nil {
			return nil, err
		}
		pool := pe.Obj.(*model.Pool)
		t := new(store.Txn).Require(model.KindPool, poolID, pe.Rev)
		have := map[string]store.Entry{}
		for _, me := range s.st.ByIndex(model.KindMember, store.IdxPool, poolID) {
			m := me.Obj.(*model.Member)
			have[m.Address+":"+strconv.Itoa(m.ProtocolPort)] = me
		}
		kept := map[string]bool{}
		net := map[string]int{} // members added less removed, per project
		for _, nm := range want {
			key := nm.Address + ":" + strconv.Itoa(nm.ProtocolPort)
			if err := s.checkMemberTarget(caller, pool, nm); err != nil {
				return nil, err
			}
			old, ok := have[key]
			if !ok {
				m := *nm
				t.Claim(model.MemberClaim(&m), m.ID).Create(model.KindMember, &m)
				net[m.TenantID]++
				continue
			}
			kept[key] = true
			om := old.Obj.(*model.Member)
			m := *nm
			m.Meta = om.Meta
			if reflect.DeepEqual(&m, om) {
				continue // unchanged: not rewritten
			}
			m.UpdatedAt = s.now()
			t.Update(model.KindMember, &m, old.Rev)
		}
		if !additive {
			for key, me := range have {
				if !kept[key] {
					m := me.Obj.(*model.Member)
					t.Delete(model.KindMember, m.ID, me.Rev).Release(model.MemberClaim(m))
					net[m.TenantID]--
				}
			}
		}
		for project, n := range net {
			if err := s.guardQuota(t, project, model.KindMember, n); err != nil {
				return nil, err
			}
		}
		return t, nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// itemError says which item of a batch is wrong.
func itemError(i int, err error) error {
	return within(fmt.Sprintf("members[%d]", i), err)
}

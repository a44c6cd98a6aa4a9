package octavia

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"lbaas/internal/api/httpapi"
	"lbaas/internal/controller"
	"lbaas/internal/ipam"
	"lbaas/internal/model"
	"lbaas/internal/store"
)

var lbRes = &resource{kind: model.KindLoadBalancer, singular: "loadbalancer", plural: "loadbalancers", what: "Load Balancer", view: viewLoadBalancer}

// lbRequest is the body of POST/PUT .../loadbalancers.
type lbRequest struct {
	ProjectID        *string            `json:"project_id" lbaas:"create"`
	TenantID         *string            `json:"tenant_id" lbaas:"create"`
	Name             *string            `json:"name" lbaas:"create,update,nullable"`
	Description      *string            `json:"description" lbaas:"create,update,nullable"`
	AdminStateUp     *bool              `json:"admin_state_up" lbaas:"create,update"`
	VIPSubnetID      *string            `json:"vip_subnet_id" lbaas:"create,nullable"`
	VIPNetworkID     *string            `json:"vip_network_id" lbaas:"create,nullable"`
	VIPPortID        *string            `json:"vip_port_id" lbaas:"create,nullable"`
	VIPAddress       *string            `json:"vip_address" lbaas:"create,nullable"`
	VIPQosPolicyID   *string            `json:"vip_qos_policy_id" lbaas:"create,update,nullable"`
	Provider         *string            `json:"provider" lbaas:"create,nullable"`
	FlavorID         *string            `json:"flavor_id" lbaas:"create,nullable"`
	AvailabilityZone *string            `json:"availability_zone" lbaas:"create,nullable"`
	Tags             *[]string          `json:"tags" lbaas:"create,update,nullable"`
	AdditionalVIPs   *[]json.RawMessage `json:"additional_vips" lbaas:"create,nullable"`
	Listeners        *[]json.RawMessage `json:"listeners" lbaas:"create,nullable"`
	Pools            *[]json.RawMessage `json:"pools" lbaas:"create,nullable"`
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func viewLoadBalancer(s *Server, c *statuses, e store.Entry) map[string]any {
	lb := e.Obj.(*model.LoadBalancer)
	st := c.of(lb.ID)
	v := common(&lb.Meta)
	v["name"] = lb.Name
	v["description"] = lb.Description
	v["admin_state_up"] = lb.AdminStateUp
	v["provisioning_status"] = st.prov.Status
	v["operating_status"] = st.op.LoadBalancer
	v["vip_address"] = lb.VIPAddress
	v["vip_port_id"] = lb.VIPPortID
	v["vip_subnet_id"] = lb.VIPSubnetID
	v["vip_network_id"] = lb.VIPNetworkID
	v["vip_qos_policy_id"] = nil
	v["provider"] = model.ProviderName
	v["flavor_id"] = nullable(lb.FlavorID)
	v["availability_zone"] = nullable(lb.AvailabilityZone)
	v["listeners"] = refs(entryIDs(s.st.ByIndex(model.KindListener, store.IdxLB, lb.ID))...)
	v["pools"] = refs(entryIDs(s.st.ByIndex(model.KindPool, store.IdxLB, lb.ID))...)
	v["tags"] = tags(lb.Tags)
	v["additional_vips"] = []any{}
	return v
}

// visibleSubnet returns a subnet the caller may put a VIP on: its own, or
// one of a shared or external network (as the Neutron API shows them).
func (s *Server) visibleSubnet(caller httpapi.Who, id string) (store.Entry, error) {
	e, ok, err := s.st.GetFresh(httpapiCtx(), model.KindSubnet, id)
	if err != nil {
		return e, err
	}
	if !ok || !s.networkVisible(caller, e.Obj.(*model.Subnet).NetworkID, e.Obj.Base().TenantID) {
		return e, validation("Subnet %s not found.", id)
	}
	return e, nil
}

func (s *Server) networkVisible(caller httpapi.Who, networkID, owner string) bool {
	if caller.Covers(owner) {
		return true
	}
	ne, ok := s.st.Get(model.KindNetwork, networkID)
	if !ok {
		return false
	}
	n := ne.Obj.(*model.Network)
	return n.TenantID == caller.Project || n.Shared || n.RouterExternal
}

// vipSubnet resolves where the VIP goes: the subnet named, or the first
// subnet (oldest) of the network named.
func (s *Server) vipSubnet(caller httpapi.Who, req *lbRequest) (store.Entry, error) {
	subnetID, networkID := str(req.VIPSubnetID), str(req.VIPNetworkID)
	if subnetID != "" {
		se, err := s.visibleSubnet(caller, subnetID)
		if err != nil {
			return se, err
		}
		if networkID != "" && se.Obj.(*model.Subnet).NetworkID != networkID {
			return se, validation("Subnet %s is not on network %s.", subnetID, networkID)
		}
		return se, nil
	}
	ne, ok, err := s.st.GetFresh(httpapiCtx(), model.KindNetwork, networkID)
	if err != nil {
		return store.Entry{}, err
	}
	if !ok || !s.networkVisible(caller, networkID, ne.Obj.Base().TenantID) {
		return store.Entry{}, validation("Network %s not found.", networkID)
	}
	subs := s.st.ByIndex(model.KindSubnet, store.IdxNetwork, networkID)
	if len(subs) == 0 {
		return store.Entry{}, validation("Supplied network does not contain a subnet.")
	}
	sort.SliceStable(subs, func(i, j int) bool { return subs[i].Obj.Base().CreatedAt.Before(subs[j].Obj.Base().CreatedAt) })
	return subs[0], nil
}

func (s *Server) createLoadBalancer(w http.ResponseWriter, r *http.Request) {
	caller := httpapi.WhoFrom(r.Context())
	var req lbRequest
	if err := readBody(r, "loadbalancer", model.OpCreate, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	lb, err := s.prepareLoadBalancer(caller, &req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	g, err := s.prepareGraph(caller, lb, &req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if g != nil {
		s.createGraph(w, r, caller, &req, lb, g)
		return
	}
	s.mutateAndShow(w, r, lbRes, http.StatusCreated, lb.ID, func() (*store.Txn, error) {
		t := new(store.Txn)
		if err := s.guardQuota(t, lb.TenantID, model.KindLoadBalancer, 1); err != nil {
			return nil, err
		}
		built := *lb // a retried build starts again from the request
		return t, s.addLoadBalancer(t, caller, &req, &built)
	})
}

// prepareLoadBalancer checks a create request and builds the load balancer
// (without its VIP, which addLoadBalancer allocates).
func (s *Server) prepareLoadBalancer(caller httpapi.Who, req *lbRequest) (*model.LoadBalancer, error) {
	tenant, err := tenantFor(caller, req.ProjectID, req.TenantID)
	if err != nil {
		return nil, err
	}
	if p := str(req.Provider); p != "" && p != model.ProviderName {
		return nil, validation("Provider '%s' is not enabled.", p)
	}
	if p := str(req.VIPPortID); p != "" {
		if err := model.ValidateUUID("vip_port_id", p); err != nil {
			return nil, err
		}
	}
	switch {
	case str(req.VIPQosPolicyID) != "":
		return nil, unsupported("vip_qos_policy_id")
	case req.AdditionalVIPs != nil && len(*req.AdditionalVIPs) > 0:
		return nil, unsupported("additional_vips")
	case str(req.VIPSubnetID) == "" && str(req.VIPNetworkID) == "" && str(req.VIPPortID) == "":
		return nil, validation("VIP must contain one of: vip_port_id, vip_network_id, vip_subnet_id.")
	}
	lb := &model.LoadBalancer{Meta: s.newMeta(tenant), AdminStateUp: true, Provider: model.ProviderName,
		VIPSubnetID: str(req.VIPSubnetID), VIPNetworkID: str(req.VIPNetworkID), VIPAddress: str(req.VIPAddress)}
	lb.VIPPortID = s.newMeta(tenant).ID
	lb.FlavorID, lb.AvailabilityZone = str(req.FlavorID), str(req.AvailabilityZone)
	if lb.FlavorID != "" {
		if err := model.ValidateUUID("flavor_id", lb.FlavorID); err != nil {
			return nil, err
		}
	}
	applyLB(lb, req)
	if err := model.ValidateLoadBalancer(lb); err != nil {
		return nil, err
	}
	return lb, nil
}

func applyLB(lb *model.LoadBalancer, req *lbRequest) {
	if req.Name != nil {
		lb.Name = *req.Name
	}
	if req.Description != nil {
		lb.Description = *req.Description
	}
	if req.AdminStateUp != nil {
		lb.AdminStateUp = *req.AdminStateUp
	}
	if req.Tags != nil {
		lb.Tags = append([]string{}, (*req.Tags)...)
	}
}

// addLoadBalancer adds to t the load balancer with its VIP port and
// address (allocated as a v1 VIP's are).
func (s *Server) addLoadBalancer(t *store.Txn, caller httpapi.Who, req *lbRequest, lb *model.LoadBalancer) error {
	if err := s.lbPlacement(t, lb.FlavorID, lb.AvailabilityZone); err != nil {
		return err
	}
	if id := str(req.VIPPortID); id != "" {
		if err := s.takeVIPPort(t, caller, req, lb, id); err != nil {
			return err
		}
		t.Create(model.KindLoadBalancer, lb)
		return nil
	}
	se, err := s.vipSubnet(caller, req)
	if err != nil {
		return err
	}
	if _, err := ipam.AddVIPPort(s.st, t, se, lb, str(req.VIPAddress)); err != nil {
		return err
	}
	t.Create(model.KindLoadBalancer, lb)
	return nil
}

// takeVIPPort makes the caller's port id lb's VIP port; the VIP fields
// sent beside it must agree with the port.
func (s *Server) takeVIPPort(t *store.Txn, caller httpapi.Who, req *lbRequest, lb *model.LoadBalancer, id string) error {
	pe, ok, err := s.st.GetFresh(httpapiCtx(), model.KindPort, id)
	if err != nil {
		return err
	}
	if !ok || !caller.Covers(pe.Obj.Base().TenantID) {
		return validation("Port %s given as vip_port_id not found.", id)
	}
	if err := ipam.TakeVIPPort(t, pe, lb, s.now()); err != nil {
		return err
	}
	for field, want := range map[string]string{"vip_address": lb.VIPAddress, "vip_subnet_id": lb.VIPSubnetID, "vip_network_id": lb.VIPNetworkID} {
		sent := map[string]string{"vip_address": str(req.VIPAddress), "vip_subnet_id": str(req.VIPSubnetID), "vip_network_id": str(req.VIPNetworkID)}[field]
		if sent != "" && sent != want {
			return validation("%s %s does not match port %s, whose is %s.", field, sent, id, want)
		}
	}
	return nil
}

func (s *Server) updateLoadBalancer(w http.ResponseWriter, r *http.Request) {
	caller := httpapi.WhoFrom(r.Context())
	var req lbRequest
	if err := readBody(r, "loadbalancer", model.OpUpdate, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if str(req.VIPQosPolicyID) != "" {
		s.fail(w, r, unsupported("vip_qos_policy_id"))
		return
	}
	id := r.PathValue("id")
	s.mutateAndShow(w, r, lbRes, http.StatusOK, id, func() (*store.Txn, error) {
		e, err := s.get(caller, model.KindLoadBalancer, lbRes.what, id)
		if err != nil {
			return nil, err
		}
		lb := *e.Obj.(*model.LoadBalancer)
		applyLB(&lb, &req)
		if err := model.ValidateLoadBalancer(&lb); err != nil {
			return nil, err
		}
		lb.UpdatedAt = s.now()
		return new(store.Txn).Update(model.KindLoadBalancer, &lb, e.Rev), nil
	})
}

// deleteLoadBalancer deletes a load balancer without children, or with
// ?cascade=true every listener, pool, member and monitor under it, with
// its VIP port and every claim, in one transaction.
func (s *Server) deleteLoadBalancer(w http.ResponseWriter, r *http.Request) {
	caller := httpapi.WhoFrom(r.Context())
	cascade, _ := strconv.ParseBool(strings.ToLower(r.URL.Query().Get("cascade")))
	id := r.PathValue("id")
	_, err := s.st.Mutate(r.Context(), func() (*store.Txn, error) {
		e, err := s.get(caller, model.KindLoadBalancer, lbRes.what, id)
		if err != nil {
			return nil, err
		}
		lb := e.Obj.(*model.LoadBalancer)
		listeners := s.st.ByIndex(model.KindListener, store.IdxLB, id)
		pools := s.st.ByIndex(model.KindPool, store.IdxLB, id)
		if !cascade && len(listeners)+len(pools) > 0 {
			return nil, validation("Cannot delete Load Balancer %s - it has children", id)
		}
		t := new(store.Txn).Delete(model.KindLoadBalancer, id, e.Rev)
		for _, le := range listeners {
			l := le.Obj.(*model.Listener)
			t.Delete(model.KindListener, l.ID, le.Rev).Release(listenerClaim(l))
			s.removeListenerPolicies(t, l.ID)
		}
		for _, pe := range pools {
			s.removePool(t, pe, true)
		}
		if lb.VIPPortGiven {
			ipam.GiveBackVIPPort(s.st, t, lb.VIPPortID, s.now())
		} else {
			ipam.ReleaseVIPPort(s.st, t, lb.VIPPortID, s.now())
		}
		return t, nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// failover asks the controller to rebuild both VMs of the load balancer,
// the standby first, so that clients see at most the one switch to the
// rebuilt standby when the active is replaced. It answers at once (202);
// the load balancer reads PENDING_UPDATE until both new VMs serve.
func (s *Server) failover(w http.ResponseWriter, r *http.Request) {
	caller := httpapi.WhoFrom(r.Context())
	id := r.PathValue("id")
	_, err := s.st.Mutate(r.Context(), func() (*store.Txn, error) {
		e, err := s.get(caller, model.KindLoadBalancer, lbRes.what, id)
		if err != nil {
			return nil, err
		}
		lb := *e.Obj.(*model.LoadBalancer)
		lb.Failovers++
		lb.UpdatedAt = s.now()
		return new(store.Txn).Update(model.KindLoadBalancer, &lb, e.Rev), nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (s *Server) loadBalancerStats(w http.ResponseWriter, r *http.Request) {
	e, err := s.get(httpapi.WhoFrom(r.Context()), model.KindLoadBalancer, lbRes.what, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"stats": statsView(controller.LoadBalancerStats(s.st, e.Obj.Base().ID))})
}

func statsView(st model.Stats) map[string]int64 {
	return map[string]int64{"active_connections": st.ActiveConnections, "bytes_in": st.BytesIn, "bytes_out": st.BytesOut,
		"request_errors": st.RequestErrors, "total_connections": st.TotalConnections}
}

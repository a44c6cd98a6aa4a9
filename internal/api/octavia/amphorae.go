package octavia

import (
	"net/http"
	"sort"
	"strings"

	"lbaas/internal/api/httpapi"
	"lbaas/internal/controller"
	"lbaas/internal/model"
	"lbaas/internal/store"
)

// An amphora, in Octavia's admin API (/v2/octavia/amphorae), is one of
// our VMs: the HAProxy (and keepalived) of a load balancer in a network
// namespace of a node. Its id is the VM's; its role is what VRRP says
// (MASTER or BACKUP) once the VM has reported, the schedule's until then.

// amphoraView is one amphora as Octavia shows it, with the node it runs
// on (ours).
func (s *Server) amphoraView(si *model.ServiceInstance, vm controller.VMView, single bool) map[string]any {
	role := "BACKUP"
	switch {
	case single:
		role = "STANDALONE" // a SINGLE flavor's one VM
	case vm.Role == model.RoleActive:
		role = "MASTER"
	}
	status := "BOOTING"
	switch {
	case strings.HasPrefix(vm.State, model.VMServing):
		status = "ALLOCATED"
	case strings.HasPrefix(vm.State, model.VMError):
		status = "ERROR"
	}
	v := map[string]any{
		"id": vm.ID, "loadbalancer_id": si.LoadBalancerID, "compute_id": vm.Namespace, "node": vm.Node,
		"role": role, "status": status, "vrrp_priority": vm.Priority, "vrrp_interface": "vip0",
		"lb_network_ip": nil, "vrrp_ip": nil, "ha_ip": nil, "vrrp_port_id": nil, "ha_port_id": nil, "vrrp_id": nil,
		"cert_expiration": nil, "cert_busy": false, "cached_zone": nil, "image_id": nil, "compute_flavor": nil,
		"created_at": si.CreatedAt.UTC().Format(timeFormat), "updated_at": si.UpdatedAt.UTC().Format(timeFormat),
	}
	if le, ok := s.st.Get(model.KindLoadBalancer, si.LoadBalancerID); ok {
		lb := le.Obj.(*model.LoadBalancer)
		v["ha_ip"], v["ha_port_id"] = lb.VIPAddress, lb.VIPPortID
		for _, pe := range s.st.ByIndex(model.KindPort, store.IdxDevice, vm.ID) {
			p := pe.Obj.(*model.Port)
			for _, f := range p.FixedIPs {
				if f.SubnetID == lb.VIPSubnetID {
					v["vrrp_ip"], v["vrrp_port_id"] = f.IPAddress, p.ID
				} else {
					v["lb_network_ip"] = f.IPAddress
				}
			}
		}
		if v["lb_network_ip"] == nil {
			v["lb_network_ip"] = v["vrrp_ip"] // members on the VIP network: one port
		}
	}
	return v
}

// amphorae lists every VM with its service instance, sorted by load
// balancer, then role (MASTER first).
func (s *Server) amphorae() []map[string]any {
	var out []map[string]any
	for _, e := range s.st.List(model.KindServiceInstance) {
		si := e.Obj.(*model.ServiceInstance)
		single := false
		if le, ok := s.st.Get(model.KindLoadBalancer, si.LoadBalancerID); ok {
			single = controller.PlacementOf(s.st, le.Obj.(*model.LoadBalancer)).VMs == 1
		}
		for _, vm := range controller.ViewInstance(s.st, si).VMs {
			out = append(out, s.amphoraView(si, vm, single))
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		return out[i]["loadbalancer_id"].(string) < out[j]["loadbalancer_id"].(string)
	})
	return out
}

func (s *Server) listAmphorae(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	lq, err := httpapi.ParseListQuery(q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var items []httpapi.Item
	for _, a := range s.amphorae() {
		items = append(items, httpapi.Item{View: a})
	}
	s.writePage(w, r, lq, items, "amphorae")
}

// amphora finds one amphora by id, with its service instance.
func (s *Server) amphora(id string) (map[string]any, *model.ServiceInstance, error) {
	for _, a := range s.amphorae() {
		if a["id"] == id {
			e, _ := s.st.Get(model.KindServiceInstance, a["loadbalancer_id"].(string))
			return a, e.Obj.(*model.ServiceInstance), nil
		}
	}
	return nil, nil, notFound("Amphora", id)
}

func (s *Server) showAmphora(w http.ResponseWriter, r *http.Request) {
	a, _, err := s.amphora(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"amphora": httpapi.Project(a, r.URL.Query()["fields"])})
}

// amphoraStats answers the VM's own counters, per listener, as its agent
// last reported them.
func (s *Server) amphoraStats(w http.ResponseWriter, r *http.Request) {
	a, si, err := s.amphora(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	stats := []map[string]any{}
	if e, ok := s.st.Get(model.KindVMReport, a["id"].(string)); ok {
		rep := e.Obj.(*model.VMReport)
		ids := make([]string, 0, len(rep.Listeners))
		for id := range rep.Listeners {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			v := map[string]any{"id": a["id"], "loadbalancer_id": si.LoadBalancerID, "listener_id": id}
			for k, n := range statsView(rep.Listeners[id]) {
				v[k] = n
			}
			stats = append(stats, v)
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"amphora_stats": stats})
}

// failoverAmphora asks the controller to rebuild this VM alone on its
// node (see controller.rebuildOne): 202, as Octavia.
func (s *Server) failoverAmphora(w http.ResponseWriter, r *http.Request) {
	s.amphoraRequest(w, r, func(lb *model.LoadBalancer, vmID string) {
		lb.AmphoraFailovers++
		lb.FailoverAmphora = vmID
	})
}

// configureAmphora sends the load balancer's desired state to its agents
// again: each checks and repairs what differs (files, namespace,
// processes) and reloads HAProxy only if its configuration changed.
func (s *Server) configureAmphora(w http.ResponseWriter, r *http.Request) {
	s.amphoraRequest(w, r, func(lb *model.LoadBalancer, _ string) { lb.ConfigPushes++ })
}

func (s *Server) amphoraRequest(w http.ResponseWriter, r *http.Request, change func(lb *model.LoadBalancer, vmID string)) {
	id := r.PathValue("id")
	_, err := s.st.Mutate(r.Context(), func() (*store.Txn, error) {
		_, si, err := s.amphora(id)
		if err != nil {
			return nil, err
		}
		e, ok := s.st.Get(model.KindLoadBalancer, si.LoadBalancerID)
		if !ok {
			return nil, notFound("Amphora", id)
		}
		lb := *e.Obj.(*model.LoadBalancer)
		change(&lb, id)
		lb.UpdatedAt = s.now()
		return new(store.Txn).Update(model.KindLoadBalancer, &lb, e.Rev), nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

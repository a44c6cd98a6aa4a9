package octavia

import (
	"net/http"

	"lbaas/internal/api/httpapi"
	"lbaas/internal/controller"
	"lbaas/internal/model"
	"lbaas/internal/store"
)

// statusTree answers GET .../loadbalancers/{id}/status: the load balancer
// with its listeners, each listener's default pool, the pool's monitor and
// members, each with its provisioning and operating status, and its L7
// policies with their rules (and the pools they redirect to). Pools no
// listener reaches are not shown, as in Octavia.
func (s *Server) statusTree(w http.ResponseWriter, r *http.Request) {
	e, err := s.get(httpapi.WhoFrom(r.Context()), model.KindLoadBalancer, lbRes.what, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	lb := e.Obj.(*model.LoadBalancer)
	st := newStatuses(s.st).of(lb.ID)
	prov := st.prov.Status
	listeners := []any{}
	for _, l := range controller.Listeners(s.st, lb.ID) {
		pools := []any{}
		if pe, ok := s.st.Get(model.KindPool, l.DefaultPoolID); ok {
			pools = append(pools, s.poolStatus(pe, st))
		}
		policies := []any{}
		for _, pe := range s.policiesOf(l.ID) {
			p := pe.Obj.(*model.L7Policy)
			rules := []any{}
			for _, re := range s.rulesOf(p.ID) {
				x := re.Obj.(*model.L7Rule)
				rules = append(rules, map[string]any{"id": x.ID, "type": x.Type, "provisioning_status": prov, "operating_status": l7Operating(x.AdminStateUp, st)})
			}
			policies = append(policies, map[string]any{"id": p.ID, "name": p.Name, "action": p.Action, "provisioning_status": prov,
				"operating_status": l7Operating(p.AdminStateUp, st), "rules": rules})
			if p.Action == model.L7RedirectToPool && p.RedirectPoolID != l.DefaultPoolID {
				if pe, ok := s.st.Get(model.KindPool, p.RedirectPoolID); ok && !listed(pools, p.RedirectPoolID) {
					pools = append(pools, s.poolStatus(pe, st))
				}
			}
		}
		listeners = append(listeners, map[string]any{"id": l.ID, "name": l.Name, "provisioning_status": prov,
			"operating_status": operating(st.op.Listeners, l.ID), "pools": pools, "l7policies": policies})
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"statuses": map[string]any{"loadbalancer": map[string]any{
		"id": lb.ID, "name": lb.Name, "provisioning_status": prov, "operating_status": st.op.LoadBalancer, "listeners": listeners,
	}}})
}

// listed reports whether a pool is already in a status tree's list.
func listed(pools []any, id string) bool {
	for _, p := range pools {
		if p.(map[string]any)["id"] == id {
			return true
		}
	}
	return false
}

func (s *Server) poolStatus(pe store.Entry, st *lbStatus) map[string]any {
	p := pe.Obj.(*model.Pool)
	prov := st.prov.Status
	members := []any{}
	for _, m := range controller.Members(s.st, p.ID) {
		members = append(members, map[string]any{"id": m.ID, "name": m.Name, "address": m.Address, "protocol_port": m.ProtocolPort,
			"provisioning_status": prov, "operating_status": operating(st.op.Members, m.ID)})
	}
	v := map[string]any{"id": p.ID, "name": p.Name, "provisioning_status": prov, "operating_status": operating(st.op.Pools, p.ID), "members": members}
	if len(p.HealthMonitors) > 0 {
		if he, ok := s.st.Get(model.KindHealthMonitor, p.HealthMonitors[0]); ok {
			h := he.Obj.(*model.HealthMonitor)
			op := controller.OperatingOffline
			if h.AdminStateUp && st.op.LoadBalancer != controller.OperatingOffline {
				op = controller.OperatingOnline
			}
			hm := map[string]any{"id": h.ID, "name": h.Name, "type": h.Type, "provisioning_status": prov, "operating_status": op}
			// Octavia names it health_monitor; gophercloud reads healthmonitor.
			v["health_monitor"], v["healthmonitor"] = hm, hm
		}
	}
	return v
}

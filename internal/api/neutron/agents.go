package neutron

import (
	"net/http"
	"strings"

	"lbaas/internal/api/httpapi"
	"lbaas/internal/model"
	"lbaas/internal/store"
)

// agentRes lists the nodes whose agents are alive, as Neutron's agent
// extension lists its agents (`neutron agent-list`). A node's record lives
// as long as its heartbeat lease, so every listed agent is alive. Nodes
// belong to the admin project: other projects see none.
var agentRes = &resource{policy: "agent", kind: model.KindNode, singular: "agent", plural: "agents",
	what: "Agent", notFound: "AgentNotFound", view: viewAgent}

// agentType is what Neutron calls an LBaaS agent.
const agentType = "Loadbalancer agent"

func init() {
	agentRes.attrs = attrFuncs{
		"host":       func(o model.Object) any { return o.(*model.Node).Name },
		"agent_type": func(model.Object) any { return agentType },
		"alive":      func(o model.Object) any { return o.(*model.Node).Alive },
	}
	// admin_state_up is read from the store in the view: a filter on it
	// takes the rendering path (there are few agents).
}

// agentAdminUp reads a node's admin state: true unless an admin drained
// it.
func agentAdminUp(st *store.Store, node string) bool {
	e, ok := st.Get(model.KindNodeAdmin, node)
	return !ok || e.Obj.(*model.NodeAdmin).AdminStateUp
}

// updateAgent sets a node's admin state: false drains it (no new VMs,
// its VMs move off one load balancer at a time), true takes it back.
// The decision is stored apart from the node's liveness record, so it
// holds while the node is down or restarts.
func (s *Server) updateAgent() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		caller := httpapi.WhoFrom(r.Context())
		var req model.AgentRequest
		if err := readBody(r, agentRes.singular, model.OpUpdate, &req); err != nil {
			s.fail(w, r, err)
			return
		}
		id := r.PathValue("id")
		_, err := s.st.Mutate(r.Context(), func() (*store.Txn, error) {
			if _, err := s.lookup(agentRes, caller, id); err != nil {
				return nil, err
			}
			if req.AdminStateUp == nil {
				return nil, nil
			}
			now := s.now()
			na := &model.NodeAdmin{Meta: model.Meta{ID: id, TenantID: "admin", CreatedAt: now, UpdatedAt: now}, AdminStateUp: *req.AdminStateUp}
			if e, ok := s.st.Get(model.KindNodeAdmin, id); ok {
				na.CreatedAt = e.Obj.Base().CreatedAt
				return new(store.Txn).Update(model.KindNodeAdmin, na, e.Rev), nil
			}
			return new(store.Txn).Create(model.KindNodeAdmin, na), nil
		})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.writeOne(w, r, agentRes, http.StatusOK, id)
	}
}

func viewAgent(s *Server, e store.Entry) map[string]any {
	n := e.Obj.(*model.Node)
	v := commonView(&n.Meta)
	v["host"] = n.Name
	v["agent_type"] = agentType
	v["binary"] = "lbaas-agent"
	v["topic"] = "n/a"
	v["alive"] = n.Alive
	v["admin_state_up"] = agentAdminUp(s.st, n.Name)
	v["availability_zone"] = nullable(n.Zone)
	v["heartbeat_timestamp"] = n.LastSeen.UTC().Format("2006-01-02 15:04:05")
	v["started_at"] = n.Registered.UTC().Format("2006-01-02 15:04:05")
	conf := map[string]any{"roles": strings.Join(n.Roles, ","), "version": n.Version,
		"physical_networks": n.Physnets, "errors": n.Errors}
	if n.Physnets == nil {
		conf["physical_networks"] = []string{}
	}
	if n.Errors == nil {
		conf["errors"] = []string{}
	}
	if n.RouterState != "" {
		conf["ha_state"] = n.RouterState
	}
	if n.TunnelIP != "" {
		conf["tunneling_ip"] = n.TunnelIP
		conf["tunnel_types"] = []string{"vxlan"}
	}
	v["configurations"] = conf
	return v
}

package neutron

import (
	"strings"

	"lbaas/internal/model"
	"lbaas/internal/store"
)

// agentRes lists the nodes whose agents are alive, as Neutron's agent
// extension lists its agents (`neutron agent-list`). A node's record lives
// as long as its heartbeat lease, so every listed agent is alive. Nodes
// belong to the admin project: other projects see none.
var agentRes = &resource{kind: model.KindNode, singular: "agent", plural: "agents",
	what: "Agent", notFound: "AgentNotFound", view: viewAgent}

// agentType is what Neutron calls an LBaaS agent.
const agentType = "Loadbalancer agent"

func init() {
	agentRes.attrs = attrFuncs{
		"host":           func(o model.Object) any { return o.(*model.Node).Name },
		"agent_type":     func(model.Object) any { return agentType },
		"alive":          func(o model.Object) any { return o.(*model.Node).Alive },
		"admin_state_up": func(model.Object) any { return true },
	}
}

func viewAgent(_ *Server, e store.Entry) map[string]any {
	n := e.Obj.(*model.Node)
	v := commonView(&n.Meta)
	v["host"] = n.Name
	v["agent_type"] = agentType
	v["binary"] = "lbaas-agent"
	v["topic"] = "n/a"
	v["alive"] = n.Alive
	v["admin_state_up"] = true
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
	if n.TunnelIP != "" {
		conf["tunneling_ip"] = n.TunnelIP
		conf["tunnel_types"] = []string{"vxlan"}
	}
	v["configurations"] = conf
	return v
}

package neutron_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"lbaas/internal/model"
)

func TestAgentsAreListedForAdminsOnly(t *testing.T) {
	name := unique("lbt-node")
	now := time.Now().UTC()
	putObject(t, model.KindNode, &model.Node{Meta: model.Meta{ID: name, TenantID: "admin", CreatedAt: now, UpdatedAt: now},
		Name: name, Alive: true, Registered: now, LastSeen: now, NodeInfo: model.NodeInfo{Version: "test", Roles: []string{"compute"},
			TunnelIP: "192.0.2.7", Physnets: []string{"physnet1"}, Errors: []string{"physnet2: no interface eth9"}, RouterState: "standby"}})

	var found obj
	for _, a := range list(t, adminToken, "/v2.0/agents", "agents") {
		if a["host"] == name {
			found = a
		}
	}
	if found == nil {
		t.Fatalf("the admin's agent list lacks %s", name)
	}
	if found["agent_type"] != "Loadbalancer agent" || found["alive"] != true || found["binary"] != "lbaas-agent" {
		t.Errorf("agent %v: want a live Loadbalancer agent", found)
	}
	got := show(t, adminToken, "/v2.0/agents/"+name, "agent")
	conf, _ := got["configurations"].(obj)
	if got["host"] != name || conf["tunneling_ip"] != "192.0.2.7" || fmt.Sprint(conf["physical_networks"]) != "[physnet1]" ||
		fmt.Sprint(conf["errors"]) != "[physnet2: no interface eth9]" || conf["ha_state"] != "standby" {
		t.Errorf("show agent: want its tunnel address, working physical networks, configuration errors and router state: %v", got)
	}
	if got := list(t, alphaToken, "/v2.0/agents", "agents"); len(got) != 0 {
		t.Errorf("a project member sees agents: %v", got)
	}
	expect(t, call(t, alphaToken, "GET", "/v2.0/agents/"+name, nil), http.StatusNotFound)
	expect(t, call(t, adminToken, "POST", "/v2.0/agents", map[string]any{"agent": map[string]any{"host": "x"}}), http.StatusNotFound)

	// An admin drains a node (neutron agent-update --admin-state-down);
	// a project member cannot even see it.
	expect(t, call(t, alphaToken, "PUT", "/v2.0/agents/"+name, obj{"agent": obj{"admin_state_up": false}}), http.StatusNotFound)
	if r := call(t, adminToken, "PUT", "/v2.0/agents/"+name, obj{"agent": obj{"admin_state_up": false}}); r.code != 200 || r.body["agent"].(obj)["admin_state_up"] != false {
		t.Fatalf("drain: %d %s", r.code, r.raw)
	}
	if got := list(t, adminToken, "/v2.0/agents?admin_state_up=false", "agents"); len(got) != 1 || got[0]["host"] != name {
		t.Fatalf("filter on admin_state_up: %v", got)
	}
	expectNeutronError(t, call(t, adminToken, "PUT", "/v2.0/agents/"+name, obj{"agent": obj{"admin_state_up": "maybe"}}), 400, "")
	expect(t, call(t, adminToken, "PUT", "/v2.0/agents/"+name, obj{"agent": obj{"admin_state_up": true}}), 200)
	if got := show(t, adminToken, "/v2.0/agents/"+name, "agent"); got["admin_state_up"] != true {
		t.Fatalf("enabled again: %v", got)
	}
}

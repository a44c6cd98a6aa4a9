package neutron_test

import (
	"net/http"
	"testing"
	"time"

	"lbaas/internal/model"
)

func TestAgentsAreListedForAdminsOnly(t *testing.T) {
	name := unique("lbt-node")
	now := time.Now().UTC()
	putObject(t, model.KindNode, &model.Node{Meta: model.Meta{ID: name, TenantID: "admin", CreatedAt: now, UpdatedAt: now},
		Name: name, Version: "test", Roles: []string{"compute"}, Alive: true, Registered: now, LastSeen: now})

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
	if got := show(t, adminToken, "/v2.0/agents/"+name, "agent"); got["host"] != name {
		t.Errorf("show agent: %v", got)
	}
	if got := list(t, alphaToken, "/v2.0/agents", "agents"); len(got) != 0 {
		t.Errorf("a project member sees agents: %v", got)
	}
	expect(t, call(t, alphaToken, "GET", "/v2.0/agents/"+name, nil), http.StatusNotFound)
	expect(t, call(t, adminToken, "POST", "/v2.0/agents", map[string]any{"agent": map[string]any{"host": "x"}}), http.StatusNotFound)
}

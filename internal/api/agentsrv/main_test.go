package agentsrv_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"lbaas/internal/agentapi"
	"lbaas/internal/api/agentsrv"
	"lbaas/internal/api/auth"
	"lbaas/internal/api/neutron"
	"lbaas/internal/controller"
	"lbaas/internal/model"
	"lbaas/internal/store"
	"lbaas/internal/store/storetest"
)

// Tokens of the callers the tests use.
const (
	adminToken  = "admin-token-0123456789"
	memberToken = "member-token-0123456789"
	nodeToken   = "node-token-compute-1-0123"
)

// env is the embedded etcd, store and API server (Neutron API with the
// agent routes) the package's tests share. Tests run one after another and
// start from an empty store (reset). Set by TestMain, never changed.
var env struct {
	st  *store.Store
	url string
}

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	e, err := storetest.Start("lbt-ag")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer e.Close()
	st := e.Store
	a, err := auth.New([]auth.Entry{
		{Token: adminToken, Project: "admin", Role: auth.RoleAdmin},
		{Token: memberToken, Project: "alpha", Role: auth.RoleMember},
		{TokenSHA256: auth.HashToken(nodeToken), Project: "admin", Role: auth.RoleNode, Node: "compute-1"},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "auth:", err)
		return 1
	}
	api := neutron.New(st, neutron.Config{Auth: a, Logger: quiet()})
	agentsrv.Register(api, st, controller.NewNodes(st, 0))
	srv := httptest.NewServer(api)
	defer srv.Close()
	env.st, env.url = st, srv.URL
	return m.Run()
}

func quiet() *slog.Logger { return storetest.Quiet() }

func testCtx(t *testing.T) context.Context { t.Helper(); return storetest.Ctx(t) }

// reset empties the store and kills every node.
func reset(t *testing.T) { t.Helper(); storetest.Reset(t, env.st) }

type obj = map[string]any

// do sends a request with a token and returns the status and body.
func do(t *testing.T, token, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(testCtx(t), method, env.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// create POSTs {envelope: fields} as admin and returns the object.
func create(t *testing.T, path, envelope string, fields obj) obj {
	t.Helper()
	code, b := do(t, adminToken, "POST", path, obj{envelope: fields})
	if code != http.StatusCreated {
		t.Fatalf("POST %s: %d %s", path, code, b)
	}
	var out map[string]obj
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out[envelope]
}

// agent is compute-1's agent client.
func agent() *agentapi.Client {
	return &agentapi.Client{BaseURL: env.url, Token: nodeToken, Node: "compute-1"}
}

// deployed makes compute-1 (and, as admin, compute-2) live and schedules
// one load balancer on them; it returns the pool id and its instance.
func deployed(t *testing.T) (string, *model.ServiceInstance) {
	t.Helper()
	reset(t)
	if _, err := agent().Heartbeat(testCtx(t), agentapi.Heartbeat{Version: "t", Roles: []string{"compute"}}); err != nil {
		t.Fatal(err)
	}
	if code, b := do(t, adminToken, "POST", "/agent/v1/nodes/compute-2/heartbeat", agentapi.Heartbeat{Version: "t", Roles: []string{"compute"}}); code != http.StatusOK {
		t.Fatalf("admin heartbeat for compute-2: %d %s", code, b)
	}
	n := create(t, "/v2.0/networks", "network", obj{"name": "lbt-net"})
	sn := create(t, "/v2.0/subnets", "subnet", obj{"network_id": n["id"], "ip_version": 4, "cidr": "10.30.0.0/24"})
	p := create(t, "/v2.0/lb/pools", "pool", obj{"subnet_id": sn["id"], "protocol": "TCP", "lb_method": "ROUND_ROBIN"})
	create(t, "/v2.0/lb/members", "member", obj{"pool_id": p["id"], "address": "10.30.0.10", "protocol_port": 80})
	v := create(t, "/v2.0/lb/vips", "vip", obj{"subnet_id": sn["id"], "pool_id": p["id"], "protocol": "TCP", "protocol_port": 80})
	if err := controller.New(env.st, quiet()).Reconcile(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	pool := p["id"].(string)
	// The instance is the load balancer's: a v1 VIP's id.
	e, ok := env.st.Get(model.KindServiceInstance, v["id"].(string))
	if !ok {
		t.Fatal("the controller made no instance")
	}
	return pool, e.Obj.(*model.ServiceInstance)
}

// vmOn returns the instance's VM on a node.
func vmOn(t *testing.T, si *model.ServiceInstance, node string) model.SIVM {
	t.Helper()
	for _, vm := range si.VMs {
		if vm.Node == node {
			return vm
		}
	}
	t.Fatalf("no VM on %s in %+v", node, si.VMs)
	return model.SIVM{}
}

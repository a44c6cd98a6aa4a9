package controller_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"lbaas/internal/api/neutron"
	"lbaas/internal/controller"
	"lbaas/internal/model"
	"lbaas/internal/store"
	"lbaas/internal/store/storetest"
)

// env is the embedded etcd, store and Neutron API the package's tests
// share. Scheduling depends on every live node and every VIP in the store,
// so tests do not run in parallel and each starts from an empty store
// (reset). Set by TestMain, never changed.
var env struct {
	st  *store.Store
	api http.Handler
}

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	return storetest.Main(m, "lbt-ctl", func(x *storetest.Env) {
		st := x.Store
		env.st = st
		env.api = neutron.New(st, neutron.Config{NoAuth: true, Logger: quiet()})
	})
}

func quiet() *slog.Logger { return storetest.Quiet() }

func testCtx(t *testing.T) context.Context { t.Helper(); return storetest.Ctx(t) }

// reset empties the store and kills every node, so that a test schedules
// onto exactly the nodes it registers.
func reset(t *testing.T) {
	t.Helper()
	storetest.Reset(t, env.st)
	for _, k := range []model.Kind{model.KindNode, model.KindLoadBalancer, model.KindListener, model.KindServiceInstance, model.KindPort} {
		if n := len(env.st.List(k)); n != 0 {
			t.Fatalf("reset left %d objects of kind %s", n, k)
		}
	}
}

type obj = map[string]any

// call sends a request to the Neutron API and decodes the answer.
func call(t *testing.T, method, path string, body any) (int, obj) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequestWithContext(testCtx(t), method, path, rd)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	env.api.ServeHTTP(rec, req)
	var out obj
	if rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
		}
	}
	return rec.Code, out
}

// create POSTs {envelope: fields}, asserts 201 and returns the object.
func create(t *testing.T, path, envelope string, fields obj) obj {
	t.Helper()
	code, out := call(t, "POST", path, obj{envelope: fields})
	if code != http.StatusCreated {
		t.Fatalf("POST %s: %d %v", path, code, out)
	}
	return out[envelope].(obj)
}

// nets are the two networks a test's load balancers use: VIPs on one,
// members on the other (the usual two-armed setup).
type nets struct {
	vipNet, vipSubnet   string
	poolNet, poolSubnet string
}

func newNets(t *testing.T) nets {
	t.Helper()
	vn := create(t, "/v2.0/networks", "network", obj{"name": "lbt-vip-net"})
	vs := create(t, "/v2.0/subnets", "subnet", obj{"network_id": vn["id"], "ip_version": 4, "cidr": "10.10.0.0/24"})
	pn := create(t, "/v2.0/networks", "network", obj{"name": "lbt-pool-net"})
	ps := create(t, "/v2.0/subnets", "subnet", obj{"network_id": pn["id"], "ip_version": 4, "cidr": "10.20.0.0/24"})
	return nets{vipNet: vn["id"].(string), vipSubnet: vs["id"].(string), poolNet: pn["id"].(string), poolSubnet: ps["id"].(string)}
}

// lb is a pool with members and a VIP, made through the API; the VIP's id
// is its load balancer's, and its instance's.
type lb struct {
	pool, vip, vipPort, vipAddr string
}

// newLB creates a pool on the pool subnet with a member at each address
// and a VIP on the VIP subnet.
func newLB(t *testing.T, n nets, members ...string) lb {
	t.Helper()
	p := create(t, "/v2.0/lb/pools", "pool", obj{"name": "lbt-pool", "subnet_id": n.poolSubnet, "protocol": "HTTP", "lb_method": "ROUND_ROBIN"})
	for _, a := range members {
		addMember(t, p["id"].(string), a)
	}
	v := create(t, "/v2.0/lb/vips", "vip", obj{"name": "lbt-vip", "subnet_id": n.vipSubnet, "pool_id": p["id"], "protocol": "HTTP", "protocol_port": 80})
	return lb{pool: p["id"].(string), vip: v["id"].(string), vipPort: v["port_id"].(string), vipAddr: v["address"].(string)}
}

func addMember(t *testing.T, pool, addr string) string {
	t.Helper()
	m := create(t, "/v2.0/lb/members", "member", obj{"pool_id": pool, "address": addr, "protocol_port": 8080})
	return m["id"].(string)
}

// beat registers live nodes with the given roles.
func beat(t *testing.T, nodes *controller.Nodes, roles []string, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := nodes.Beat(testCtx(t), n, model.NodeInfo{Version: "test", Roles: roles}); err != nil {
			t.Fatalf("beat %s: %v", n, err)
		}
	}
}

var compute = []string{controller.RoleCompute}

// kill revokes a node's lease, as if it stopped beating, and waits until
// the store has dropped it.
func kill(t *testing.T, nodes *controller.Nodes, name string) {
	t.Helper()
	ctx := testCtx(t)
	if _, err := env.st.Client().Revoke(ctx, nodes.LeaseOf(name)); err != nil {
		t.Fatalf("revoke %s: %v", name, err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, ok := env.st.Get(model.KindNode, name); !ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s is still in the store 5s after its lease was revoked", name)
		}
	}
}

func reconcile(t *testing.T) {
	t.Helper()
	if err := controller.New(env.st, quiet()).Reconcile(testCtx(t)); err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
}

func instance(t *testing.T, lbID string) *model.ServiceInstance {
	t.Helper()
	e, ok := env.st.Get(model.KindServiceInstance, lbID)
	if !ok {
		t.Fatalf("load balancer %s has no service instance (its id must be the load balancer's)", lbID)
	}
	return e.Obj.(*model.ServiceInstance)
}

// portsOf returns a VM's ports by subnet.
func portsOf(vmID string) map[string]*model.Port {
	out := map[string]*model.Port{}
	for _, e := range env.st.ByIndex(model.KindPort, store.IdxDevice, vmID) {
		p := e.Obj.(*model.Port)
		for _, f := range p.FixedIPs {
			out[f.SubnetID] = p
		}
	}
	return out
}

func addrOn(p *model.Port, subnet string) string {
	for _, f := range p.FixedIPs {
		if f.SubnetID == subnet {
			return f.IPAddress
		}
	}
	return ""
}

// report stores what an agent would report about a VM.
func report(t *testing.T, si *model.ServiceInstance, vm model.SIVM, state, hash, ha string) {
	t.Helper()
	r := &model.VMReport{Meta: model.Meta{ID: vm.ID, TenantID: si.TenantID}, Node: vm.Node, SIID: si.ID, LoadBalancerID: si.LoadBalancerID,
		State: state, AppliedHash: hash, HAState: ha, ReportedAt: time.Now().UTC()}
	if state == model.VMError {
		r.Error = "haproxy -c rejected the configuration"
	}
	if _, err := env.st.Commit(testCtx(t), new(store.Txn).Put(model.KindVMReport, r)); err != nil {
		t.Fatal(err)
	}
}

// hashOf is the hash a VM's agent reports once it applied the current
// desired state.
func hashOf(t *testing.T, si *model.ServiceInstance, vm model.SIVM) string {
	t.Helper()
	in, err := controller.BuildInstance(env.st, si, vm)
	if err != nil {
		t.Fatalf("BuildInstance(%s): %v", vm.ID, err)
	}
	return in.Hash
}

func putObject(t *testing.T, kind model.Kind, o model.Object) {
	t.Helper()
	if _, err := env.st.Commit(testCtx(t), new(store.Txn).Put(kind, o)); err != nil {
		t.Fatal(err)
	}
}

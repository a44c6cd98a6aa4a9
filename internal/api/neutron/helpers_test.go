package neutron_test

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
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"lbaas/internal/api/auth"
	"lbaas/internal/api/neutron"
	"lbaas/internal/model"
	"lbaas/internal/segment"
	"lbaas/internal/store"
)

// Tokens of the callers every test uses.
const (
	adminToken = "admin-token-0123456789"
	alphaToken = "alpha-token-0123456789"
	betaToken  = "beta-token-01234567890"
)

// testEnv is one etcd, store and API server shared by the package's tests;
// starting etcd costs seconds, so tests share it and keep apart by using
// their own networks, names and objects.
type testEnv struct {
	st  *store.Store
	url string
}

// env is set once by TestMain before any test runs and never changed.
var env *testEnv

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "lbt-neutron-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	etcd, err := store.StartEmbedded(ctx, dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "embedded etcd:", err)
		return 1
	}
	defer etcd.Close()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(ctx, etcd.Client, quiet)
	if err != nil {
		fmt.Fprintln(os.Stderr, "store:", err)
		return 1
	}
	defer st.Close()
	a, err := auth.New([]auth.Entry{
		{Token: adminToken, Project: "admin", Role: auth.RoleAdmin},
		{Token: alphaToken, Project: "alpha", Role: auth.RoleMember},
		{Token: betaToken, Project: "beta", Role: auth.RoleMember},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "auth:", err)
		return 1
	}
	api := neutron.New(st, neutron.Config{Auth: a, Logger: quiet})
	api.SetSegments(segment.Config{PhysicalNetworks: []string{"public", "physnet1", "physnet2"}, VNIs: segment.Range{Min: 100, Max: 100000}})
	srv := httptest.NewServer(api)
	defer srv.Close()
	env = &testEnv{st: st, url: srv.URL}
	return m.Run()
}

// resp is a decoded answer.
type resp struct {
	code   int
	header http.Header
	raw    []byte
	body   map[string]any
}

// call sends body (a string is sent verbatim, anything else as JSON) with
// token and decodes the answer.
func call(t *testing.T, token, method, path string, body any) resp {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, env.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	req.Header.Set("Content-Type", "application/json")
	hr, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer hr.Body.Close()
	raw, err := io.ReadAll(hr.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := resp{code: hr.StatusCode, header: hr.Header, raw: raw}
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			t.Fatalf("%s %s: answer %d is not a JSON object: %v: %.300s", method, path, hr.StatusCode, err, raw)
		}
	}
	return r
}

// obj is a JSON object of an answer.
type obj = map[string]any

// expect asserts the status code of r.
func expect(t *testing.T, r resp, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d: %.500s", r.code, code, r.raw)
	}
}

// create POSTs {env: fields} and returns the created object.
func create(t *testing.T, token, path, envelope string, fields obj) obj {
	t.Helper()
	r := call(t, token, "POST", path, obj{envelope: fields})
	expect(t, r, http.StatusCreated)
	o, ok := r.body[envelope].(obj)
	if !ok {
		t.Fatalf("create answer has no %q object: %s", envelope, r.raw)
	}
	return o
}

// show GETs one object and returns it (asserting 200).
func show(t *testing.T, token, path, envelope string) obj {
	t.Helper()
	r := call(t, token, "GET", path, nil)
	expect(t, r, http.StatusOK)
	o, ok := r.body[envelope].(obj)
	if !ok {
		t.Fatalf("show answer has no %q object: %s", envelope, r.raw)
	}
	return o
}

// list GETs a collection and returns its objects.
func list(t *testing.T, token, path, plural string) []obj {
	t.Helper()
	r := call(t, token, "GET", path, nil)
	expect(t, r, http.StatusOK)
	items, ok := r.body[plural].([]any)
	if !ok {
		t.Fatalf("list answer has no %q list: %s", plural, r.raw)
	}
	out := make([]obj, 0, len(items))
	for _, it := range items {
		out = append(out, it.(obj))
	}
	return out
}

func ids(objs []obj) map[string]bool {
	out := map[string]bool{}
	for _, o := range objs {
		out[o["id"].(string)] = true
	}
	return out
}

// expectNeutronError asserts r is a NeutronError with all three keys,
// status code, type (when typ != "") and a message containing each of
// want.
func expectNeutronError(t *testing.T, r resp, code int, typ string, want ...string) string {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d: %.500s", r.code, code, r.raw)
	}
	if len(r.body) != 1 {
		t.Fatalf("error body must have exactly the NeutronError key: %s", r.raw)
	}
	ne, ok := r.body["NeutronError"].(obj)
	if !ok {
		t.Fatalf("error body is not a NeutronError: %s", r.raw)
	}
	for _, k := range []string{"type", "message", "detail"} {
		if _, ok := ne[k].(string); !ok {
			t.Fatalf("NeutronError lacks string %q: %s", k, r.raw)
		}
	}
	msg := ne["message"].(string)
	if msg == "" || ne["type"].(string) == "" {
		t.Fatalf("NeutronError with empty type or message: %s", r.raw)
	}
	if typ != "" && ne["type"] != typ {
		t.Fatalf("NeutronError type %q, want %q: %s", ne["type"], typ, r.raw)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Fatalf("message %q does not mention %q", msg, w)
		}
	}
	if r.header.Get("X-Openstack-Request-Id") == "" {
		t.Fatal("error answer lacks X-Openstack-Request-Id")
	}
	return msg
}

var uniq atomic.Int64

// unique returns a name no other test uses.
func unique(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano(), uniq.Add(1))
}

// network creates a network with one subnet of cidr and returns both ids.
func network(t *testing.T, token, cidr string) (string, string) {
	t.Helper()
	n := create(t, token, "/v2.0/networks", "network", obj{"name": unique("net"), "admin_state_up": true})
	sn := create(t, token, "/v2.0/subnets", "subnet", obj{"network_id": n["id"], "ip_version": 4, "cidr": cidr, "name": unique("subnet")})
	return n["id"].(string), sn["id"].(string)
}

// pool creates a pool on subnet and returns its id.
func pool(t *testing.T, token, subnet, protocol string) string {
	t.Helper()
	p := create(t, token, "/v2.0/lb/pools", "pool", obj{
		"name": unique("pool"), "subnet_id": subnet, "protocol": protocol, "lb_method": "ROUND_ROBIN", "admin_state_up": true,
	})
	return p["id"].(string)
}

// vip creates a VIP for pool on subnet and returns it.
func vip(t *testing.T, token, subnet, poolID, protocol string, port int) obj {
	t.Helper()
	return create(t, token, "/v2.0/lb/vips", "vip", obj{
		"name": unique("vip"), "subnet_id": subnet, "pool_id": poolID, "protocol": protocol, "protocol_port": fmt.Sprint(port),
	})
}

// member creates a member and returns its id.
func member(t *testing.T, token, poolID, address string, port int) string {
	t.Helper()
	m := create(t, token, "/v2.0/lb/members", "member", obj{"pool_id": poolID, "address": address, "protocol_port": port})
	return m["id"].(string)
}

// monitor creates an HTTP health monitor and returns its id.
func monitor(t *testing.T, token string) string {
	t.Helper()
	h := create(t, token, "/v2.0/lb/health_monitors", "health_monitor", obj{"type": "HTTP", "delay": 20, "timeout": 10, "max_retries": 3})
	return h["id"].(string)
}

// scheduleInstance stores the service instance the controller would make
// of a VIP's load balancer (it has the VIP's id): an active and a standby
// VM.
func scheduleInstance(t *testing.T, vipID string) *model.ServiceInstance {
	t.Helper()
	si := &model.ServiceInstance{
		Meta:           model.Meta{ID: vipID, TenantID: "admin", CreatedAt: time.Now().UTC()},
		Name:           "default-domain:admin:" + vipID,
		LoadBalancerID: vipID,
		VMs: []model.SIVM{
			{ID: uuid.NewString(), Node: "lbt-node-a", Role: model.RoleActive, Priority: model.PriorityActive},
			{ID: uuid.NewString(), Node: "lbt-node-b", Role: model.RoleStandby, Priority: model.PriorityStandby},
		},
		Status: model.StatusPendingCreate,
	}
	putObject(t, model.KindServiceInstance, si)
	return si
}

// putReport stores what an agent would report about one VM.
func putReport(t *testing.T, r *model.VMReport) {
	t.Helper()
	r.ReportedAt = time.Now().UTC()
	putObject(t, model.KindVMReport, r)
}

func putObject(t *testing.T, kind model.Kind, o model.Object) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := env.st.Commit(ctx, new(store.Txn).Put(kind, o)); err != nil {
		t.Fatal(err)
	}
}

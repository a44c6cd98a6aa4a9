package octavia_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"lbaas/internal/api/auth"
	"lbaas/internal/api/octavia"
	"lbaas/internal/model"
	"lbaas/internal/store"
	"lbaas/internal/store/storetest"
)

const (
	adminToken = "admin-token-0123456789"
	alphaToken = "alpha-token-0123456789"
	betaToken  = "beta-token-01234567890"
	// gammaToken's project is the one quota tests limit.
	gammaToken = "gamma-token-0123456789"
)

var env struct {
	st   *store.Store
	url  string
	auth *auth.Static
}

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	return storetest.Main(m, "lbt-octavia-", func(e *storetest.Env) {
		a, err := auth.New([]auth.Entry{
			{Token: adminToken, Project: "admin", Role: auth.RoleAdmin},
			{Token: alphaToken, Project: "alpha", Role: auth.RoleMember},
			{Token: betaToken, Project: "beta", Role: auth.RoleMember},
			{Token: gammaToken, Project: "gamma", Role: auth.RoleMember},
		})
		if err != nil {
			panic(err)
		}
		// Closed with the process: the tests end with it.
		srv := httptest.NewServer(octavia.New(e.Store, octavia.Config{Auth: a, Logger: storetest.Quiet()}))
		env.st, env.url, env.auth = e.Store, srv.URL, a
	})
}

type obj = map[string]any

type resp struct {
	code int
	raw  []byte
	body obj
}

func call(t testing.TB, token, method, path string, body any) resp {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
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
	req.Header.Set("X-Auth-Token", token)
	req.Header.Set("Content-Type", "application/json")
	hr, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer hr.Body.Close()
	raw, _ := io.ReadAll(hr.Body)
	r := resp{code: hr.StatusCode, raw: raw}
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			t.Fatalf("%s %s: answer %d is not a JSON object: %.300s", method, path, hr.StatusCode, raw)
		}
	}
	return r
}

func expect(t testing.TB, r resp, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d: %.500s", r.code, code, r.raw)
	}
}

// expectFault asserts an Octavia error body with code and a faultstring
// holding each of want.
func expectFault(t testing.TB, r resp, code int, want ...string) {
	t.Helper()
	expect(t, r, code)
	fault := "Client"
	if code >= 500 {
		fault = "Server"
	}
	if r.body["faultcode"] != fault || r.body["debuginfo"] != nil {
		t.Fatalf("not an Octavia fault: %s", r.raw)
	}
	msg, _ := r.body["faultstring"].(string)
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Fatalf("faultstring %q does not mention %q", msg, w)
		}
	}
}

func create(t testing.TB, token, path, envelope string, fields obj) obj {
	t.Helper()
	r := call(t, token, "POST", path, obj{envelope: fields})
	expect(t, r, http.StatusCreated)
	return r.body[envelope].(obj)
}

func show(t testing.TB, token, path, envelope string) obj {
	t.Helper()
	r := call(t, token, "GET", path, nil)
	expect(t, r, http.StatusOK)
	return r.body[envelope].(obj)
}

func list(t testing.TB, token, path, plural string) []obj {
	t.Helper()
	r := call(t, token, "GET", path, nil)
	expect(t, r, http.StatusOK)
	var out []obj
	for _, it := range r.body[plural].([]any) {
		out = append(out, it.(obj))
	}
	return out
}

var uniq atomic.Int64

func unique(p string) string { return fmt.Sprintf("%s-%d", p, uniq.Add(1)) }

var netSeq atomic.Int64

// subnet stores a network of project with one /24 subnet and returns the
// network's and the subnet's ids.
func subnet(t testing.TB, project string) (string, string) {
	t.Helper()
	n := netSeq.Add(1)
	now := time.Now().UTC()
	nw := &model.Network{Meta: model.Meta{ID: uuid.NewString(), TenantID: project, CreatedAt: now, UpdatedAt: now}, Name: unique("net"), AdminStateUp: true}
	sn := &model.Subnet{Meta: model.Meta{ID: uuid.NewString(), TenantID: project, CreatedAt: now, UpdatedAt: now}, NetworkID: nw.ID,
		CIDR: fmt.Sprintf("10.%d.%d.0/24", 100+n/250, n%250), IPVersion: 4, GatewayIP: fmt.Sprintf("10.%d.%d.1", 100+n/250, n%250),
		AllocationPools: []model.AllocationPool{{Start: fmt.Sprintf("10.%d.%d.2", 100+n/250, n%250), End: fmt.Sprintf("10.%d.%d.254", 100+n/250, n%250)}}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := env.st.Commit(ctx, new(store.Txn).Create(model.KindNetwork, nw).Create(model.KindSubnet, sn)); err != nil {
		t.Fatal(err)
	}
	return nw.ID, sn.ID
}

const v2 = "/v2/lbaas"

// tree creates a load balancer of token's project with an HTTP listener
// on port 80, its default pool and n members, and returns their ids.
func tree(t testing.TB, token, project string, n int) (lb, listener, pool string, members []string) {
	t.Helper()
	_, sub := subnet(t, project)
	lb = create(t, token, v2+"/loadbalancers", "loadbalancer", obj{"name": unique("lb"), "vip_subnet_id": sub})["id"].(string)
	listener = create(t, token, v2+"/listeners", "listener", obj{"name": unique("l"), "loadbalancer_id": lb, "protocol": "HTTP", "protocol_port": 80})["id"].(string)
	pool = create(t, token, v2+"/pools", "pool", obj{"name": unique("p"), "listener_id": listener, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"})["id"].(string)
	for i := 0; i < n; i++ {
		m := create(t, token, v2+"/pools/"+pool+"/members", "member", obj{"address": fmt.Sprintf("192.168.7.%d", i+10), "protocol_port": 8080})
		members = append(members, m["id"].(string))
	}
	return
}

package identity_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/applicationcredentials"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/roles"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/users"
	"golang.org/x/crypto/bcrypt"

	"lbaas/internal/api/auth"
	"lbaas/internal/identity"
	"lbaas/internal/model"
	"lbaas/internal/store"
	"lbaas/internal/store/storetest"
)

var env struct {
	st *store.Store
}

func TestMain(m *testing.M) {
	os.Exit(storetest.Main(m, "lbt-identity-", func(e *storetest.Env) { env.st = e.Store }))
}

// clock is a settable clock for the service under test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	svc      *identity.Service
	url      string // the auth URL, .../v3
	adminPW  string
	clk      *clock
	catalogs []identity.Endpoint
}

// start resets the store and runs a service with a bootstrap admin. The
// bcrypt cost is the library's minimum: the tests check behaviour, not
// the hash's strength.
func start(t *testing.T) *fixture {
	t.Helper()
	storetest.Reset(t, env.st)
	clk := &clock{t: time.Now()}
	f := &fixture{clk: clk, catalogs: []identity.Endpoint{{Type: "network", Name: "neutron", URL: "http://127.0.0.1:9696"},
		{Type: "load-balancer", Name: "octavia", URL: "http://127.0.0.1:9876"}}}
	f.svc = identity.New(env.st, identity.Config{BcryptCost: bcrypt.MinCost, Logger: storetest.Quiet(), Now: clk.now})
	boot, err := f.svc.Bootstrap(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if boot.AdminPassword == "" {
		t.Fatal("the first bootstrap made no admin password")
	}
	f.adminPW = boot.AdminPassword
	srv := httptest.NewServer(f.svc.Handler())
	t.Cleanup(srv.Close)
	f.url = srv.URL + "/v3"
	f.svc.SetCatalog(append(f.catalogs, identity.Endpoint{Type: "identity", Name: "keystone", URL: f.url}))
	return f
}

func (f *fixture) login(t *testing.T, user, password, project string) (*gophercloud.ProviderClient, error) {
	t.Helper()
	return openstack.AuthenticatedClient(context.Background(), gophercloud.AuthOptions{
		IdentityEndpoint: f.url, Username: user, Password: password, DomainName: "Default", TenantName: project})
}

func (f *fixture) admin(t *testing.T) *gophercloud.ServiceClient {
	t.Helper()
	pc, err := f.login(t, "admin", f.adminPW, "admin")
	if err != nil {
		t.Fatalf("admin login: %v", err)
	}
	sc, err := openstack.NewIdentityV3(pc, gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// member makes a project and a user with roles on it, through the API as
// an admin, and returns the project's id.
func (f *fixture) member(t *testing.T, project, user, password string, roleNames ...string) (projectID, userID string) {
	t.Helper()
	ctx := context.Background()
	sc := f.admin(t)
	p, err := projects.Create(ctx, sc, projects.CreateOpts{Name: project, DomainID: "default"}).Extract()
	if err != nil {
		t.Fatal("create project:", err)
	}
	u, err := users.Create(ctx, sc, users.CreateOpts{Name: user, Password: password, DomainID: "default"}).Extract()
	if err != nil {
		t.Fatal("create user:", err)
	}
	for _, rn := range roleNames {
		pages, err := roles.List(sc, roles.ListOpts{Name: rn}).AllPages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rs, _ := roles.ExtractRoles(pages)
		if len(rs) != 1 {
			t.Fatalf("role %s: %d found", rn, len(rs))
		}
		if err := roles.Assign(ctx, sc, rs[0].ID, roles.AssignOpts{UserID: u.ID, ProjectID: p.ID}).ExtractErr(); err != nil {
			t.Fatal("assign:", err)
		}
	}
	return p.ID, u.ID
}

const pw = "a-long-enough-password"

func TestAUserLogsInWithGophercloudAndItsTokenCarriesItsProjectRolesAndCatalog(t *testing.T) {
	f := start(t)
	projectID, userID := f.member(t, "alpha", "alice", pw, "load-balancer_member", "member")
	pc, err := f.login(t, "alice", pw, "alpha")
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.svc.Authenticate(context.Background(), pc.TokenID)
	if err != nil {
		t.Fatal("a token just issued is not accepted:", err)
	}
	if c.Project != projectID || c.ProjectName != "alpha" || c.UserID != userID || c.UserName != "alice" {
		t.Errorf("caller %+v", c)
	}
	for _, r := range []string{"member", "load-balancer_member", "reader"} {
		if !c.HasRole(r) {
			t.Errorf("roles %v lack %s (reader is implied by member)", c.Roles, r)
		}
	}
	if c.HasRole("admin") {
		t.Errorf("alice is admin: %v", c.Roles)
	}
	// The catalog finds the APIs, as the clients look them up.
	for _, typ := range []string{"network", "load-balancer", "identity"} {
		url, err := pc.EndpointLocator(gophercloud.EndpointOpts{Type: typ, Availability: gophercloud.AvailabilityPublic})
		if err != nil || url == "" {
			t.Errorf("catalog lacks %s: %v", typ, err)
		}
	}
	// An unscoped token is good for the identity service only.
	tok := postToken(t, f.url, `{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"alice","domain":{"name":"Default"},"password":"`+pw+`"}}},"scope":"unscoped"}}`)
	if tok.code != 201 {
		t.Fatalf("unscoped login: %d %s", tok.code, tok.raw)
	}
	if _, err := f.svc.Authenticate(context.Background(), tok.subject); !errors.Is(err, auth.ErrUnauthorized) {
		t.Fatalf("an unscoped token is accepted by the APIs: %v", err)
	}
}

type answer struct {
	code    int
	raw     []byte
	subject string
	header  http.Header
}

func do(t *testing.T, method, url, token, body string) answer {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return answer{code: resp.StatusCode, raw: raw, subject: resp.Header.Get("X-Subject-Token"), header: resp.Header}
}

func postToken(t *testing.T, url, body string) answer {
	return do(t, "POST", url+"/auth/tokens", "", body)
}

func passwordBody(user, password, project string) string {
	b, _ := json.Marshal(map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{"user": map[string]any{"name": user, "domain": map[string]any{"id": "default"}, "password": password}}},
		"scope":    map[string]any{"project": map[string]any{"name": project, "domain": map[string]any{"id": "default"}}}}})
	return string(b)
}

func TestAWrongPasswordAndAnUnknownUserGetTheSameAnswerAndGuessingIsRateLimited(t *testing.T) {
	f := start(t)
	f.member(t, "alpha", "alice", pw, "member")
	wrong := postToken(t, f.url, passwordBody("alice", "not-the-password!", "alpha"))
	unknown := postToken(t, f.url, passwordBody("nobody", "not-the-password!", "alpha"))
	noRole := postToken(t, f.url, passwordBody("alice", pw, "admin"))
	for name, a := range map[string]answer{"wrong password": wrong, "unknown user": unknown, "project without a role": noRole} {
		if a.code != 401 || a.subject != "" {
			t.Errorf("%s: %d (token %q), want 401 and no token", name, a.code, a.subject)
		}
		if !bytes.Equal(a.raw, wrong.raw) {
			t.Errorf("%s answers %s, a wrong password %s: the answers tell them apart", name, a.raw, wrong.raw)
		}
	}
	// A client that logs in for every command is never limited: only
	// failures count.
	for i := range 30 {
		if a := postToken(t, f.url, passwordBody("alice", pw, "alpha")); a.code != 201 {
			t.Fatalf("successful login %d: %d %s", i+1, a.code, a.raw)
		}
	}
	// Guessing at one user: after a burst, refused at once, even with the
	// right password, until time passes.
	var limited bool
	for range 20 {
		if a := postToken(t, f.url, passwordBody("alice", "guess-guess-guess", "alpha")); a.code == 429 {
			limited = true
			if a.header.Get("Retry-After") == "" {
				t.Error("a 429 without Retry-After")
			}
			break
		}
	}
	if !limited {
		t.Fatal("20 wrong passwords for one user in an instant were never rate limited")
	}
	if a := postToken(t, f.url, passwordBody("alice", pw, "alpha")); a.code != 429 {
		t.Fatalf("the right password during the limit: %d, want 429 (a limit that yields to the right password tells it apart)", a.code)
	}
	f.clk.add(2 * time.Minute)
	if a := postToken(t, f.url, passwordBody("alice", pw, "alpha")); a.code != 201 {
		t.Fatalf("after the limit: %d %s", a.code, a.raw)
	}
}

func TestARevokedExpiredOrMadeUpTokenIsRefusedAndAnotherServerValidatesWhatOneIssued(t *testing.T) {
	f := start(t)
	f.member(t, "alpha", "alice", pw, "member")
	ctx := context.Background()
	issue := func() string {
		a := postToken(t, f.url, passwordBody("alice", pw, "alpha"))
		if a.code != 201 {
			t.Fatalf("login: %d %s", a.code, a.raw)
		}
		return a.subject
	}
	// A second server on the same store: it knows every token.
	other := identity.New(env.st, identity.Config{BcryptCost: bcrypt.MinCost, Logger: storetest.Quiet(), Now: f.clk.now})
	tok := issue()
	if _, err := other.Authenticate(ctx, tok); err != nil {
		t.Fatal("another server refuses a token issued a moment ago:", err)
	}
	// Validate and revoke through the API, as keystonemiddleware does.
	if a := do(t, "GET", f.url+"/auth/tokens", tok, ""); a.code != 400 && a.code != 404 {
		t.Fatalf("validation without a subject: %d", a.code)
	}
	req := func(method string) answer {
		r, _ := http.NewRequest(method, f.url+"/auth/tokens", nil)
		r.Header.Set("X-Auth-Token", tok)
		r.Header.Set("X-Subject-Token", tok)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return answer{code: resp.StatusCode, raw: raw}
	}
	if a := req("GET"); a.code != 200 || !bytes.Contains(a.raw, []byte(`"alpha"`)) {
		t.Fatalf("validate own token: %d %s", a.code, a.raw)
	}
	if a := req("DELETE"); a.code != 204 {
		t.Fatalf("revoke: %d %s", a.code, a.raw)
	}
	for _, s := range []*identity.Service{f.svc, other} {
		if _, err := s.Authenticate(ctx, tok); !errors.Is(err, auth.ErrUnauthorized) {
			t.Fatalf("a revoked token is accepted: %v", err)
		}
	}
	tok = issue()
	f.clk.add(time.Hour + time.Second)
	if _, err := f.svc.Authenticate(ctx, tok); !errors.Is(err, auth.ErrUnauthorized) {
		t.Fatalf("an expired token is accepted: %v", err)
	}
	if n, err := f.svc.Sweep(ctx, 100); err != nil || n == 0 {
		t.Fatalf("sweep removed %d expired tokens: %v", n, err)
	}
	for _, bad := range []string{"", "x", strings.Repeat("A", 43), strings.Repeat("y", 5000), "../../etc/passwd"} {
		if _, err := f.svc.Authenticate(ctx, bad); !errors.Is(err, auth.ErrUnauthorized) {
			t.Fatalf("made-up token %.20q: %v", bad, err)
		}
	}
}

func TestTakingARoleAwayOrDeletingTheUserRevokesItsTokensAtOnce(t *testing.T) {
	f := start(t)
	projectID, userID := f.member(t, "alpha", "alice", pw, "member")
	ctx := context.Background()
	tok := postToken(t, f.url, passwordBody("alice", pw, "alpha")).subject
	sc := f.admin(t)
	pages, _ := roles.List(sc, roles.ListOpts{Name: "member"}).AllPages(ctx)
	rs, _ := roles.ExtractRoles(pages)
	if err := roles.Unassign(ctx, sc, rs[0].ID, roles.UnassignOpts{UserID: userID, ProjectID: projectID}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(ctx, tok); !errors.Is(err, auth.ErrUnauthorized) {
		t.Fatalf("a token outlived the role it lists: %v", err)
	}
	if a := postToken(t, f.url, passwordBody("alice", pw, "alpha")); a.code != 401 {
		t.Fatalf("login to a project without a role: %d", a.code)
	}
	if err := users.Delete(ctx, sc, userID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if a := postToken(t, f.url, passwordBody("alice", pw, "alpha")); a.code != 401 {
		t.Fatalf("a deleted user logs in: %d", a.code)
	}
}

func TestAnApplicationCredentialLogsInOnItsProjectWithNoMoreThanItsRolesAndDiesWithItsDeletion(t *testing.T) {
	f := start(t)
	projectID, userID := f.member(t, "alpha", "alice", pw, "member", "load-balancer_member")
	ctx := context.Background()
	pc, err := f.login(t, "alice", pw, "alpha")
	if err != nil {
		t.Fatal(err)
	}
	sc, err := openstack.NewIdentityV3(pc, gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatal(err)
	}
	ac, err := applicationcredentials.Create(ctx, sc, userID, applicationcredentials.CreateOpts{Name: "ci",
		Roles: []applicationcredentials.Role{{Name: "load-balancer_member"}}}).Extract()
	if err != nil {
		t.Fatal("create application credential:", err)
	}
	if ac.Secret == "" {
		t.Fatal("the secret is not shown on create")
	}
	got, err := applicationcredentials.Get(ctx, sc, userID, ac.ID).Extract()
	if err != nil || got.Secret != "" {
		t.Fatalf("show: %v, secret %q (a secret is shown once)", err, got.Secret)
	}
	apc, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{IdentityEndpoint: f.url, ApplicationCredentialID: ac.ID, ApplicationCredentialSecret: ac.Secret})
	if err != nil {
		t.Fatal("application credential login:", err)
	}
	c, err := f.svc.Authenticate(ctx, apc.TokenID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Project != projectID || !c.HasRole("load-balancer_member") || c.HasRole("member") {
		t.Fatalf("an application credential's caller %+v: want alpha with load-balancer_member alone", c)
	}
	// More roles than its token holds: refused.
	if _, err := applicationcredentials.Create(ctx, sc, userID, applicationcredentials.CreateOpts{Name: "greedy",
		Roles: []applicationcredentials.Role{{Name: "admin"}}}).Extract(); !gophercloud.ResponseCodeIs(err, 403) {
		t.Fatalf("a credential with a role its user lacks: %v, want 403", err)
	}
	if _, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{IdentityEndpoint: f.url, ApplicationCredentialID: ac.ID, ApplicationCredentialSecret: "wrong-secret-wrong"}); err == nil {
		t.Fatal("a wrong secret logs in")
	}
	if err := applicationcredentials.Delete(ctx, sc, userID, ac.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(ctx, apc.TokenID); !errors.Is(err, auth.ErrUnauthorized) {
		t.Fatalf("a deleted credential's token is accepted: %v", err)
	}
}

func TestTheStoreHoldsNoTokenPasswordOrSecretInClear(t *testing.T) {
	f := start(t)
	f.member(t, "alpha", "alice", pw, "member")
	tok := postToken(t, f.url, passwordBody("alice", pw, "alpha")).subject
	for _, k := range []model.Kind{model.KindUser, model.KindToken, model.KindAppCred, model.KindProject, model.KindAssignment} {
		for _, e := range env.st.List(k) {
			b, _ := json.Marshal(e.Obj)
			for _, secret := range []string{tok, pw, f.adminPW} {
				if bytes.Contains(b, []byte(secret)) {
					t.Fatalf("%s %s holds a secret in clear", k, e.Obj.Base().ID)
				}
			}
		}
	}
}

func TestBadRequestsAreAnsweredInKeystonesEnvelopeAndOnlyAdminsManage(t *testing.T) {
	f := start(t)
	f.member(t, "alpha", "alice", pw, "member")
	tok := postToken(t, f.url, passwordBody("alice", pw, "alpha")).subject
	for _, tc := range []struct {
		name, method, path, token, body string
		code                            int
	}{
		{"malformed JSON", "POST", "/auth/tokens", "", `{"auth": `, 400},
		{"no method", "POST", "/auth/tokens", "", `{"auth": {"identity": {"methods": []}}}`, 400},
		{"oversized body", "POST", "/auth/tokens", "", `{"auth": "` + strings.Repeat("x", 70<<10) + `"}`, 413},
		{"no token", "GET", "/users", "", "", 401},
		{"a member lists users", "GET", "/users", tok, "", 403},
		{"a member creates a user", "POST", "/users", tok, `{"user": {"name": "mallory", "password": "a-long-enough-password"}}`, 403},
		{"a member makes itself admin", "PUT", "/projects/admin/users/x/roles/y", tok, "", 403},
		{"a create without a token", "POST", "/users", "", `{"user": {"name": "bob", "password": "short"}}`, 401},
	} {
		a := do(t, tc.method, f.url+tc.path, tc.token, tc.body)
		var env struct {
			Error struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if a.code != tc.code || json.Unmarshal(a.raw, &env) != nil || env.Error.Code != tc.code || env.Error.Message == "" {
			t.Errorf("%s: %d %s, want %d in Keystone's envelope", tc.name, a.code, a.raw, tc.code)
		}
	}
	// An admin's bad input is a 400 that says why.
	admin := f.admin(t)
	if _, err := users.Create(context.Background(), admin, users.CreateOpts{Name: "bob", Password: "short"}).Extract(); !gophercloud.ResponseCodeIs(err, 400) {
		t.Errorf("a short password: %v, want 400", err)
	}
	if _, err := users.Create(context.Background(), admin, users.CreateOpts{Name: "bad name!", Password: pw}).Extract(); !gophercloud.ResponseCodeIs(err, 400) {
		t.Errorf("a bad name: %v, want 400", err)
	}
	if _, err := users.Create(context.Background(), admin, users.CreateOpts{Name: "alice", Password: pw}).Extract(); !gophercloud.ResponseCodeIs(err, 409) {
		t.Errorf("a second alice: %v, want 409", err)
	}
}

func TestServersBootstrappingTogetherMakeOneAdmin(t *testing.T) {
	storetest.Reset(t, env.st)
	var wg sync.WaitGroup
	passwords := make(chan string, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := identity.New(env.st, identity.Config{BcryptCost: bcrypt.MinCost, Logger: storetest.Quiet()})
			b, err := s.Bootstrap(context.Background())
			if err != nil {
				t.Error(err)
			}
			if b.AdminPassword != "" {
				passwords <- b.AdminPassword
			}
		}()
	}
	wg.Wait()
	close(passwords)
	if n := len(passwords); n != 1 {
		t.Fatalf("%d servers made an admin, want 1", n)
	}
	var admins int
	for _, e := range env.st.List(model.KindUser) {
		if e.Obj.(*model.User).Name == "admin" {
			admins++
		}
	}
	roleNames := map[string]int{}
	for _, e := range env.st.List(model.KindRole) {
		roleNames[e.Obj.(*model.Role).Name]++
	}
	if admins != 1 {
		t.Fatalf("%d admin users", admins)
	}
	for _, r := range identity.DefaultRoles {
		if roleNames[r] != 1 {
			t.Errorf("role %s exists %d times", r, roleNames[r])
		}
	}
}

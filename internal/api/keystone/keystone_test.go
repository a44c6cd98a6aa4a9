package keystone_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"lbaas/internal/api/auth"
	"lbaas/internal/api/keystone"
)

const (
	svcUser     = "lbaas"
	svcPassword = "service-password-never-logged"
	// Keystone's own timestamp layout.
	ksTime = "2006-01-02T15:04:05.000000Z"
)

// clock is the tests' clock, shared by the Validator and the fake.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// subject is a client token the fake Keystone knows.
type subject struct {
	userID, userName       string
	projectID, projectName string
	// scope is "project" (the default), "domain", "system" or "unscoped".
	scope   string
	roles   []string
	expires time.Time
	// status, if set, is answered instead of the token (e.g. 401).
	status int
}

// fakeKeystone answers POST and GET /v3/auth/tokens as Keystone does.
type fakeKeystone struct {
	t     *testing.T
	clock *clock
	srv   *httptest.Server

	mu          sync.Mutex
	subjects    map[string]subject
	svcTokens   map[string]bool
	issued      int // service tokens issued
	validations int // GET /v3/auth/tokens received
	// status, if set, is answered to every request, with a body quoting
	// the subject token (as Keystone's debug messages do).
	status int
	// issueStatus, if set, is answered to service token requests.
	issueStatus int
	// svcLife is the life of the service tokens issued.
	svcLife time.Duration
	// gate, if set, holds each validation until it is closed.
	gate chan struct{}
	// delay holds each validation this long.
	delay time.Duration
	// onValidate, if set, is called as each validation starts and ends.
	onValidate func(enter bool)
}

func newFake(t *testing.T, c *clock) *fakeKeystone {
	f := &fakeKeystone{t: t, clock: c, subjects: map[string]subject{}, svcTokens: map[string]bool{}, svcLife: time.Hour}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeKeystone) add(token string, s subject) {
	if s.userID == "" {
		s.userID, s.userName = "u-"+s.projectName, "user-"+s.projectName
	}
	if s.expires.IsZero() {
		s.expires = f.clock.Now().Add(time.Hour)
	}
	f.mu.Lock()
	f.subjects[token] = s
	f.mu.Unlock()
}

func (f *fakeKeystone) revoke(token string) {
	f.mu.Lock()
	delete(f.subjects, token)
	f.mu.Unlock()
}

func (f *fakeKeystone) set(fn func(f *fakeKeystone)) {
	f.mu.Lock()
	fn(f)
	f.mu.Unlock()
}

func (f *fakeKeystone) counts() (issued, validations int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.issued, f.validations
}

func (f *fakeKeystone) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v3/auth/tokens" {
		http.NotFound(w, r)
		return
	}
	f.mu.Lock()
	status, gate, delay := f.status, f.gate, f.delay
	if r.Method == http.MethodGet {
		f.validations++
	}
	f.mu.Unlock()
	if status != 0 {
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error": {"message": "Could not find token: %s"}}`, r.Header.Get("X-Subject-Token"))
		return
	}
	switch r.Method {
	case http.MethodPost:
		f.issue(w, r)
	case http.MethodGet:
		if f.onValidate != nil {
			f.onValidate(true)
			defer f.onValidate(false)
		}
		if gate != nil {
			<-gate
		}
		time.Sleep(delay)
		f.validate(w, r)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

func (f *fakeKeystone) issue(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Auth struct {
			Identity struct {
				Methods  []string
				Password struct {
					User struct {
						Name     string
						Password string
						Domain   struct{ Name string }
					}
				}
			}
			Scope struct {
				Project struct {
					Name   string
					Domain struct{ Name string }
				}
			}
		}
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	a := body.Auth
	u := a.Identity.Password.User
	if !slices.Equal(a.Identity.Methods, []string{"password"}) || u.Name != svcUser || u.Password != svcPassword ||
		u.Domain.Name != "Default" || a.Scope.Project.Name != "service" || a.Scope.Project.Domain.Name != "Default" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	f.mu.Lock()
	if st := f.issueStatus; st != 0 {
		f.mu.Unlock()
		w.WriteHeader(st)
		return
	}
	f.issued++
	tok := fmt.Sprintf("svc-token-%d", f.issued)
	f.svcTokens[tok] = true
	life := f.svcLife
	f.mu.Unlock()
	now := f.clock.Now()
	w.Header().Set("X-Subject-Token", tok)
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{"token": map[string]any{
		"issued_at": now.UTC().Format(ksTime), "expires_at": now.Add(life).UTC().Format(ksTime),
		"user": map[string]any{"id": "svc-id", "name": svcUser},
	}})
}

func (f *fakeKeystone) validate(w http.ResponseWriter, r *http.Request) {
	if !r.URL.Query().Has("nocatalog") {
		f.t.Errorf("validation without nocatalog: %s", r.URL)
	}
	f.mu.Lock()
	okSvc := f.svcTokens[r.Header.Get("X-Auth-Token")]
	s, known := f.subjects[r.Header.Get("X-Subject-Token")]
	f.mu.Unlock()
	switch {
	case !okSvc:
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error": {"code": 401, "message": "The request you have made requires authentication."}}`)
		return
	case !known:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"error": {"code": 404, "message": "Could not find token: %s"}}`, r.Header.Get("X-Subject-Token"))
		return
	case s.status != 0:
		w.WriteHeader(s.status)
		return
	}
	tok := map[string]any{
		"methods":    []string{"password"},
		"user":       map[string]any{"id": s.userID, "name": s.userName, "domain": map[string]string{"id": "default", "name": "Default"}},
		"issued_at":  f.clock.Now().UTC().Format(ksTime),
		"expires_at": s.expires.UTC().Format(ksTime),
		"audit_ids":  []string{"audit"},
	}
	switch s.scope {
	case "", "project":
		tok["project"] = map[string]any{"id": s.projectID, "name": s.projectName, "domain": map[string]string{"id": "default", "name": "Default"}}
	case "domain":
		tok["domain"] = map[string]string{"id": "default", "name": "Default"}
	case "system":
		tok["system"] = map[string]bool{"all": true}
	}
	var roles []map[string]string
	for i, n := range s.roles {
		roles = append(roles, map[string]string{"id": fmt.Sprint("role-", i), "name": n})
	}
	if s.scope != "unscoped" {
		tok["roles"] = roles
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"token": tok})
}

// setup returns a fake Keystone and a Validator on it, with a test clock.
func setup(t *testing.T, edit func(*keystone.Config)) (*fakeKeystone, *keystone.Validator, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	f := newFake(t, c)
	cfg := keystone.Config{URL: f.srv.URL + "/v3", Username: svcUser, Password: svcPassword, ProjectName: "service",
		Now: c.Now, Timeout: 2 * time.Second,
		Logger: slog.New(slog.NewTextHandler(&testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if edit != nil {
		edit(&cfg)
	}
	v, err := keystone.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f, v, c
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func mustAuth(t *testing.T, v *keystone.Validator, token string) auth.Caller {
	t.Helper()
	c, err := v.Authenticate(context.Background(), token)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	return c
}

func wantErr(t *testing.T, v *keystone.Validator, token string, want error) error {
	t.Helper()
	_, err := v.Authenticate(context.Background(), token)
	if !errors.Is(err, want) {
		t.Fatalf("Authenticate: %v, want %v", err, want)
	}
	other := auth.ErrUnauthorized
	if want == auth.ErrUnauthorized {
		other = auth.ErrUnavailable
	}
	if errors.Is(err, other) {
		t.Fatalf("Authenticate: %v is both ErrUnauthorized and ErrUnavailable", err)
	}
	return err
}

func wantValidations(t *testing.T, f *fakeKeystone, want int) {
	t.Helper()
	if _, got := f.counts(); got != want {
		t.Fatalf("%d validations reached Keystone, want %d", got, want)
	}
}

func TestAValidTokenYieldsItsCallerAndIsNotRevalidatedWithinTheTTL(t *testing.T) {
	f, v, c := setup(t, nil)
	exp := c.Now().Add(time.Hour)
	f.add("alice-token", subject{userID: "a1", userName: "alice", projectID: "p1", projectName: "alpha",
		roles: []string{"member", "reader"}, expires: exp})

	got := mustAuth(t, v, "alice-token")
	want := auth.Caller{UserID: "a1", UserName: "alice", Project: "p1", ProjectName: "alpha",
		Roles: []string{"member", "reader"}, Expires: exp.Truncate(time.Microsecond)}
	if got.UserID != want.UserID || got.UserName != want.UserName || got.Project != want.Project ||
		got.ProjectName != want.ProjectName || !slices.Equal(got.Roles, want.Roles) || !got.Expires.Equal(want.Expires) || got.Node != "" {
		t.Fatalf("caller %+v, want %+v", got, want)
	}
	got.Roles[0] = "admin" // a caller's copy must not change the cache's

	c.Advance(45 * time.Second) // before the last sixth of the TTL, where it is refreshed ahead
	again := mustAuth(t, v, "alice-token")
	if !slices.Equal(again.Roles, want.Roles) {
		t.Fatalf("second answer's roles %v, want %v", again.Roles, want.Roles)
	}
	wantValidations(t, f, 1)
	if issued, _ := f.counts(); issued != 1 {
		t.Fatalf("%d service tokens issued, want 1", issued)
	}
	hits, misses, calls := v.Stats()
	if hits != 1 || misses != 1 || calls != 2 {
		t.Fatalf("Stats() = %d hits, %d misses, %d calls; want 1, 1, 2 (service token and one validation)", hits, misses, calls)
	}
	// The service token is reused for other tokens.
	f.add("bob-token", subject{projectID: "p2", projectName: "beta", roles: []string{"reader"}})
	mustAuth(t, v, "bob-token")
	if issued, _ := f.counts(); issued != 1 {
		t.Fatalf("%d service tokens issued, want 1", issued)
	}
}

func TestARevokedTokenIsRefusedAfterTheTTLAndNotBefore(t *testing.T) {
	f, v, c := setup(t, func(cfg *keystone.Config) { cfg.CacheTTL = 30 * time.Second })
	f.add("tok", subject{projectID: "p1", projectName: "alpha", roles: []string{"member"}})
	mustAuth(t, v, "tok")
	f.revoke("tok")

	c.Advance(24 * time.Second)
	mustAuth(t, v, "tok") // the cache answers: the revocation is not seen yet
	wantValidations(t, f, 1)

	c.Advance(7 * time.Second)
	wantErr(t, v, "tok", auth.ErrUnauthorized)
	wantValidations(t, f, 2)
}

func TestAnExpiredTokenIsRefusedEvenIfCached(t *testing.T) {
	f, v, c := setup(t, nil) // TTL 60s
	f.add("short", subject{projectID: "p1", projectName: "alpha", roles: []string{"member"}, expires: c.Now().Add(20 * time.Second)})
	mustAuth(t, v, "short")
	c.Advance(21 * time.Second)
	// The fake would still answer 200; the expiry alone refuses it.
	wantErr(t, v, "short", auth.ErrUnauthorized)
	wantValidations(t, f, 1)

	// A token Keystone validates although our clock says it has expired.
	f.add("stale", subject{projectID: "p1", projectName: "alpha", roles: []string{"member"}, expires: c.Now().Add(-time.Second)})
	wantErr(t, v, "stale", auth.ErrUnauthorized)
}

func TestOnlyProjectScopedTokensAreAccepted(t *testing.T) {
	f, v, _ := setup(t, nil)
	for _, scope := range []string{"unscoped", "domain", "system"} {
		f.add(scope+"-token", subject{scope: scope, userID: "u", userName: "u", roles: []string{"admin"}})
		wantErr(t, v, scope+"-token", auth.ErrUnauthorized)
	}
}

func TestARefusedTokenIsRememberedBriefly(t *testing.T) {
	f, v, c := setup(t, nil) // negative TTL 5s
	wantErr(t, v, "bad-token", auth.ErrUnauthorized)
	c.Advance(4 * time.Second)
	wantErr(t, v, "bad-token", auth.ErrUnauthorized)
	wantValidations(t, f, 1)

	// Once known to Keystone it is accepted after the negative TTL.
	f.add("bad-token", subject{projectID: "p1", projectName: "alpha", roles: []string{"reader"}})
	c.Advance(2 * time.Second)
	mustAuth(t, v, "bad-token")
	wantValidations(t, f, 2)
}

func TestWhatCannotBeATokenIsRefusedWithoutAskingKeystone(t *testing.T) {
	f, v, _ := setup(t, nil)
	for _, tok := range []string{"", "a\r\nX-Injected: 1", "with space", "caf\u00e9", strings.Repeat("x", 9000)} {
		wantErr(t, v, tok, auth.ErrUnauthorized)
	}
	wantValidations(t, f, 0)
}

func TestKeystoneUnavailableIsErrUnavailableNotUnauthorized(t *testing.T) {
	t.Run("5xx", func(t *testing.T) {
		f, v, _ := setup(t, nil)
		f.add("tok", subject{projectID: "p1", projectName: "alpha", roles: []string{"member"}})
		wantErr(t, v, "tok-warm", auth.ErrUnauthorized) // obtains the service token
		f.set(func(f *fakeKeystone) { f.status = http.StatusServiceUnavailable })
		wantErr(t, v, "tok", auth.ErrUnavailable)
		// Not cached: once Keystone is back the token is accepted.
		f.set(func(f *fakeKeystone) { f.status = 0 })
		mustAuth(t, v, "tok")
	})
	t.Run("unreachable", func(t *testing.T) {
		f, v, _ := setup(t, nil)
		f.srv.Close()
		wantErr(t, v, "tok", auth.ErrUnavailable)
	})
	t.Run("timeout", func(t *testing.T) {
		f, v, _ := setup(t, func(cfg *keystone.Config) { cfg.Timeout = 100 * time.Millisecond })
		f.add("tok", subject{projectID: "p1", projectName: "alpha", roles: []string{"member"}})
		f.set(func(f *fakeKeystone) { f.delay = time.Second })
		wantErr(t, v, "tok", auth.ErrUnavailable)
	})
	t.Run("service credentials refused", func(t *testing.T) {
		f, v, _ := setup(t, func(cfg *keystone.Config) { cfg.Password = "wrong" })
		f.add("tok", subject{projectID: "p1", projectName: "alpha", roles: []string{"member"}})
		wantErr(t, v, "tok", auth.ErrUnavailable)
	})
	t.Run("service user may not validate", func(t *testing.T) {
		f, v, _ := setup(t, nil)
		f.add("tok", subject{status: http.StatusForbidden})
		wantErr(t, v, "tok", auth.ErrUnavailable)
	})
	t.Run("garbled answer", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Subject-Token", "svc")
			if r.Method == http.MethodPost {
				w.WriteHeader(http.StatusCreated)
				fmt.Fprint(w, `{"token": {"expires_at": "2999-01-01T00:00:00.000000Z"}}`)
				return
			}
			fmt.Fprint(w, `{"token": {"user": `)
		}))
		defer srv.Close()
		v, err := keystone.New(keystone.Config{URL: srv.URL, Username: svcUser, Password: svcPassword, ProjectName: "service"})
		if err != nil {
			t.Fatal(err)
		}
		wantErr(t, v, "tok", auth.ErrUnavailable)
	})
}

func TestTheServiceTokenIsRenewedWhenKeystoneRefusesIt(t *testing.T) {
	f, v, _ := setup(t, nil)
	f.add("tok", subject{projectID: "p1", projectName: "alpha", roles: []string{"member"}})
	f.add("tok2", subject{projectID: "p1", projectName: "alpha", roles: []string{"member"}})
	mustAuth(t, v, "tok")
	// Keystone forgets the service token (revoked, keys rotated).
	f.set(func(f *fakeKeystone) { clear(f.svcTokens) })
	mustAuth(t, v, "tok2")
	if issued, validations := f.counts(); issued != 2 || validations != 3 {
		t.Fatalf("%d service tokens issued and %d validations, want 2 and 3 (refused, then retried)", issued, validations)
	}
}

func TestARefusedServiceTokenThatCannotBeRenewedMeansUnavailable(t *testing.T) {
	f, v, _ := setup(t, nil)
	f.add("tok", subject{projectID: "p1", projectName: "alpha", roles: []string{"member"}})
	f.add("tok2", subject{projectID: "p1", projectName: "alpha", roles: []string{"member"}})
	mustAuth(t, v, "tok")
	f.set(func(f *fakeKeystone) { clear(f.svcTokens); f.issueStatus = http.StatusServiceUnavailable })
	wantErr(t, v, "tok2", auth.ErrUnavailable)
	// Within forcedRenewInterval: the refused token is not reused, and the
	// next 401 is not taken for the client token's.
	wantErr(t, v, "tok2", auth.ErrUnavailable)
	f.set(func(f *fakeKeystone) { f.issueStatus = 0 })
	mustAuth(t, v, "tok2")
}

func TestTheServiceTokenIsRenewedBeforeItExpires(t *testing.T) {
	f, v, c := setup(t, nil)
	f.set(func(f *fakeKeystone) { f.svcLife = 10 * time.Minute })
	f.add("tok", subject{projectID: "p1", projectName: "alpha", roles: []string{"member"}, expires: c.Now().Add(time.Hour)})
	mustAuth(t, v, "tok")
	c.Advance(7 * time.Minute) // beyond the cache's TTL, 3 minutes before the service token's end
	mustAuth(t, v, "tok")
	if issued, _ := f.counts(); issued != 1 {
		t.Fatalf("%d service tokens issued, want 1", issued)
	}
	c.Advance(2 * time.Minute) // 1 minute before its end
	mustAuth(t, v, "tok")
	if issued, _ := f.counts(); issued != 2 {
		t.Fatalf("%d service tokens issued, want 2", issued)
	}
}

func TestA401ForTheClientTokenIsARefusalAndCostsAtMostOneRenewalPerSecond(t *testing.T) {
	f, v, c := setup(t, nil)
	for i := range 5 {
		f.add(fmt.Sprint("odd-", i), subject{status: http.StatusUnauthorized})
	}
	wantErr(t, v, "odd-0", auth.ErrUnauthorized) // renews once, retries, refused
	for i := 1; i < 5; i++ {
		wantErr(t, v, fmt.Sprint("odd-", i), auth.ErrUnauthorized)
	}
	if issued, _ := f.counts(); issued != 2 {
		t.Fatalf("%d service tokens issued, want 2 (one renewal in the second)", issued)
	}
	c.Advance(2 * time.Second)
	f.add("odd-5", subject{status: http.StatusUnauthorized})
	wantErr(t, v, "odd-5", auth.ErrUnauthorized)
	if issued, _ := f.counts(); issued != 3 {
		t.Fatalf("%d service tokens issued, want 3", issued)
	}
}

func TestConcurrentRequestsForANewTokenMakeOneValidation(t *testing.T) {
	f, v, _ := setup(t, nil)
	f.add("tok", subject{projectID: "p1", projectName: "alpha", roles: []string{"member", "reader"}})
	wantErr(t, v, "warm-up", auth.ErrUnauthorized) // obtains the service token
	gate := make(chan struct{})
	f.set(func(f *fakeKeystone) { f.gate = gate })

	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			c, err := v.Authenticate(context.Background(), "tok")
			if err == nil && c.Project != "p1" {
				err = fmt.Errorf("project %q", c.Project)
			}
			errs <- err
		})
	}
	// Hold Keystone's answer until every request has missed the cache.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, misses, _ := v.Stats(); misses == n+1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the requests did not all reach the cache")
		}
		time.Sleep(time.Millisecond)
	}
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	wantValidations(t, f, 2) // the warm-up's and one for the 100
}

func TestACallerWhoStopsWaitingGetsUnavailableWhileOthersGetTheAnswer(t *testing.T) {
	f, v, _ := setup(t, nil)
	f.add("tok", subject{projectID: "p1", projectName: "alpha", roles: []string{"member"}})
	gate := make(chan struct{})
	f.set(func(f *fakeKeystone) { f.gate = gate })

	patient := make(chan error, 1)
	go func() {
		_, err := v.Authenticate(context.Background(), "tok")
		patient <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := v.Authenticate(ctx, "tok")
	if !errors.Is(err, auth.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("impatient caller: %v, want ErrUnavailable and DeadlineExceeded", err)
	}
	close(gate)
	if err := <-patient; err != nil {
		t.Fatalf("patient caller: %v", err)
	}
	wantValidations(t, f, 1)
}

func TestTheCacheHoldsAtMostCacheSizeTokens(t *testing.T) {
	f, v, _ := setup(t, func(cfg *keystone.Config) { cfg.CacheSize = 2 })
	for _, tok := range []string{"a", "b", "c"} {
		f.add(tok, subject{projectID: "p-" + tok, projectName: tok, roles: []string{"reader"}})
		mustAuth(t, v, tok)
	}
	wantValidations(t, f, 3)
	mustAuth(t, v, "c")
	mustAuth(t, v, "b")
	wantValidations(t, f, 3)
	mustAuth(t, v, "a") // evicted as the least recently used
	wantValidations(t, f, 4)
	mustAuth(t, v, "b") // a evicted c, the least recently used then
	wantValidations(t, f, 4)

	// Refused tokens have their own bound, and do not evict valid ones.
	for _, tok := range []string{"x", "y", "z"} {
		wantErr(t, v, tok, auth.ErrUnauthorized)
	}
	wantValidations(t, f, 7)
	mustAuth(t, v, "a")
	mustAuth(t, v, "b")
	wantErr(t, v, "z", auth.ErrUnauthorized)
	wantValidations(t, f, 7)
	wantErr(t, v, "x", auth.ErrUnauthorized) // evicted
	wantValidations(t, f, 8)
}

func TestTokensAndPasswordsNeverAppearInLogsOrErrors(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	f, v, c := setup(t, func(cfg *keystone.Config) {
		cfg.Logger = slog.New(slog.NewJSONHandler(&lockedWriter{&mu, &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
		cfg.Timeout = 200 * time.Millisecond
	})
	secret := "client-secret-token-0123456789"
	var errs []error
	collect := func(tok string) {
		if _, err := v.Authenticate(context.Background(), tok); err != nil {
			errs = append(errs, err)
		}
	}
	f.add(secret, subject{projectID: "p1", projectName: "alpha", roles: []string{"member"}})
	collect(secret) // valid
	c.Advance(time.Hour)
	collect(secret)        // expired in the cache
	collect(secret + "-1") // 404, whose body quotes the token
	f.set(func(f *fakeKeystone) { clear(f.svcTokens) })
	f.add(secret+"-2", subject{status: http.StatusUnauthorized})
	collect(secret + "-2") // 401, renewal, 401
	f.add(secret+"-3", subject{status: http.StatusForbidden})
	collect(secret + "-3")
	f.set(func(f *fakeKeystone) { f.status = http.StatusInternalServerError })
	collect(secret + "-4") // 500, whose body quotes the token
	f.set(func(f *fakeKeystone) { f.status = 0; f.delay = time.Second })
	collect(secret + "-5") // timeout
	f.srv.Close()
	collect(secret + "-6") // unreachable

	mu.Lock()
	out := logs.String()
	mu.Unlock()
	if out == "" {
		t.Fatal("nothing was logged; the test checks nothing")
	}
	for _, e := range errs {
		out += "\n" + e.Error()
	}
	for _, s := range []string{secret, svcPassword, "svc-token-"} {
		if strings.Contains(out, s) {
			t.Fatalf("%q appears in the logs or errors:\n%s", s, out)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestNewChecksTheConfigAndNormalisesTheURL(t *testing.T) {
	good := keystone.Config{URL: "http://127.0.0.1:5000/v3", Username: "u", Password: "p", ProjectName: "service"}
	for name, edit := range map[string]func(*keystone.Config){
		"no URL":          func(c *keystone.Config) { c.URL = "" },
		"not http":        func(c *keystone.Config) { c.URL = "ftp://h/v3" },
		"no host":         func(c *keystone.Config) { c.URL = "http:///v3" },
		"v2.0":            func(c *keystone.Config) { c.URL = "http://h:5000/v2.0" },
		"credentials":     func(c *keystone.Config) { c.URL = "http://u:p@h:5000/v3" },
		"query":           func(c *keystone.Config) { c.URL = "http://h:5000/v3?x=1" },
		"no user":         func(c *keystone.Config) { c.Username = "" },
		"no password":     func(c *keystone.Config) { c.Password = "" },
		"no project":      func(c *keystone.Config) { c.ProjectName = "" },
		"negative TTL":    func(c *keystone.Config) { c.CacheTTL = -time.Second },
		"negative size":   func(c *keystone.Config) { c.CacheSize = -1 },
		"negative timout": func(c *keystone.Config) { c.Timeout = -time.Second },
	} {
		cfg := good
		edit(&cfg)
		if _, err := keystone.New(cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		} else if strings.Contains(err.Error(), "p@") {
			t.Errorf("%s: the error quotes the credentials: %v", name, err)
		}
	}

	// Each form reaches the same /v3/auth/tokens.
	for _, suffix := range []string{"", "/", "/v3", "/v3/"} {
		c := &clock{t: time.Now()}
		f := newFake(t, c)
		f.add("tok", subject{projectID: "p1", projectName: "alpha", roles: []string{"member"}})
		v, err := keystone.New(keystone.Config{URL: f.srv.URL + suffix, Username: svcUser, Password: svcPassword, ProjectName: "service"})
		if err != nil {
			t.Fatalf("URL %q: %v", suffix, err)
		}
		if _, err := v.Authenticate(context.Background(), "tok"); err != nil {
			t.Fatalf("URL %q: %v", suffix, err)
		}
	}
}

// waitValidations waits (bounded) for the fake to have received n
// validations, for those made in the background.
func waitValidations(t *testing.T, f *fakeKeystone, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, got := f.counts(); got >= n {
			return
		}
		if time.Now().After(deadline) {
			_, got := f.counts()
			t.Fatalf("%d validations after 10 s, want %d", got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestATokenInUseIsRevalidatedAheadSoItsRequestsNeverWaitForKeystone(t *testing.T) {
	f, v, c := setup(t, nil) // TTL 60s
	f.add("tok", subject{projectID: "p1", projectName: "alpha", roles: []string{"member"}})
	mustAuth(t, v, "tok")
	c.Advance(55 * time.Second) // the last sixth: answered from the cache, revalidated behind
	mustAuth(t, v, "tok")
	waitValidations(t, f, 2)
	_, misses, _ := v.Stats()
	c.Advance(30 * time.Second) // past the first entry's end: the refreshed one answers
	mustAuth(t, v, "tok")
	if _, m, _ := v.Stats(); m != misses {
		t.Fatalf("a request waited for Keystone (%d misses, then %d) although the token was revalidated ahead", misses, m)
	}
	// A revocation found by the revalidation ahead is seen at once.
	f.revoke("tok")
	c.Advance(25 * time.Second) // the last sixth of the refreshed entry
	mustAuth(t, v, "tok")       // still the cached answer, revalidated behind
	waitValidations(t, f, 3)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := v.Authenticate(context.Background(), "tok"); errors.Is(err, auth.ErrUnauthorized) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the revalidation ahead found the token revoked, yet it is still accepted")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestAtMostMaxConcurrentValidationsAreInFlightAndTheRestWaitTheirTurn(t *testing.T) {
	f, v, _ := setup(t, func(cfg *keystone.Config) { cfg.MaxConcurrent = 3; cfg.Timeout = time.Second })
	var inflight, most atomic.Int32
	f.set(func(f *fakeKeystone) { f.delay = 150 * time.Millisecond })
	f.onValidate = func(enter bool) {
		if enter {
			n := inflight.Add(1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
		} else {
			inflight.Add(-1)
		}
	}
	const tokens = 20
	for i := range tokens {
		f.add(fmt.Sprintf("tok-%d", i), subject{projectID: "p1", projectName: "alpha", roles: []string{"member"}})
	}
	var wg sync.WaitGroup
	errs := make(chan error, tokens)
	for i := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := v.Authenticate(context.Background(), fmt.Sprintf("tok-%d", i)); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		// 20 validations of 150 ms, 3 at a time, take a second: far past
		// the 1 s Timeout, which counts only Keystone's own time.
		t.Fatalf("a token waiting its turn failed: %v", err)
	}
	if m := most.Load(); m > 3 {
		t.Fatalf("%d validations in flight at once, want at most 3", m)
	}
	wantValidations(t, f, tokens)
}

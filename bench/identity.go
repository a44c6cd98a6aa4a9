package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"lbaas/internal/api/keystone"
	"lbaas/internal/identity"
	"lbaas/internal/keystonetest"
	"lbaas/internal/model"
	"lbaas/internal/server"
)

// Aims of issue 10, shown next to the numbers (reported, never asserted).
const (
	// AimIdentityHitRate: under steady load almost every request is
	// answered from the Keystone validator's cache.
	AimIdentityHitRate = 0.99
	// AimIdentityRate is the steady load's request rate.
	AimIdentityRate = 1000
)

// IdentityRequest is the cheap authenticated request every row times.
const IdentityRequest = "/v2.0/networks"

// The rows of the overhead table, in order.
const (
	AuthNone         = "none"
	AuthTokensFile   = "tokens file"
	AuthIdentity     = "built-in identity"
	AuthKeystoneWarm = "Keystone, warm cache"
	AuthKeystoneCold = "Keystone, cold cache"
)

// IdentityOptions configure RunIdentity. Zero values take the defaults
// documented on each field; Quick shrinks everything for a unit test.
type IdentityOptions struct {
	// Concurrency is the number of keep-alive clients of every overhead
	// row (4).
	Concurrency int
	// Requests is the number of timed requests of each row but the cold
	// one (20000; quick 200), ColdRequests of the cold one (200; quick 20),
	// Warmup the untimed requests before each warm row (1000; quick 20).
	Requests, ColdRequests, Warmup int
	// Rounds: the rows are timed in this many rounds, one row after the
	// other in each (10; quick 2).
	Rounds int
	// Networks is the number of networks each server holds: what the
	// request lists (5).
	Networks int
	// Rate is the Keystone loads' requests per second (1000), paced
	// open-loop over Tokens distinct Keystone tokens (100; quick 10) of
	// Users users (4; quick 2).
	Rate          int
	Tokens, Users int
	// Ramp is the steady load's first part, in which the tokens come into
	// use one after the other, evenly spread (the cache TTL, 60 s; quick
	// 1 s): in the measured window after it, each token's cache entry
	// expires at its own time, as in a long-running server.
	// SteadyDuration is that window (30 s; quick 3 s), and also the cold
	// start's length (every token new at once, on a fresh server).
	Ramp, SteadyDuration time.Duration
	// MaxInFlight bounds the Keystone loads' requests in flight, and
	// their connections (256).
	MaxInFlight int
	// SectionTimeout bounds each timed row (120 s).
	SectionTimeout time.Duration
	// TempDir holds the data directories and Keystone's (os.TempDir()).
	TempDir string
	Quick   bool
	// Progress, when set, receives one line per phase.
	Progress io.Writer
}

func (o IdentityOptions) withDefaults() IdentityOptions {
	def := func(v *int, full, quick int) {
		if *v <= 0 {
			*v = full
			if o.Quick {
				*v = quick
			}
		}
	}
	def(&o.Concurrency, 4, 4)
	def(&o.Requests, 20000, 200)
	def(&o.ColdRequests, 200, 20)
	def(&o.Warmup, 1000, 20)
	def(&o.Networks, 5, 5)
	def(&o.Rounds, 10, 2)
	def(&o.Rate, AimIdentityRate, AimIdentityRate)
	def(&o.Tokens, 100, 10)
	def(&o.Users, 4, 2)
	def(&o.MaxInFlight, 256, 256)
	if o.Ramp <= 0 {
		o.Ramp = keystone.DefaultCacheTTL
		if o.Quick {
			o.Ramp = time.Second
		}
	}
	if o.SteadyDuration <= 0 {
		o.SteadyDuration = 30 * time.Second
		if o.Quick {
			o.SteadyDuration = 3 * time.Second
		}
	}
	if o.SectionTimeout <= 0 {
		o.SectionTimeout = 120 * time.Second
	}
	if o.TempDir == "" {
		o.TempDir = os.TempDir()
	}
	return o
}

func (o IdentityOptions) progress(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, format+"\n", args...)
	}
}

// IdentityReport is the outcome of RunIdentity.
type IdentityReport struct {
	Machine     Machine
	Quick       bool
	Concurrency int
	Rounds      int
	Networks    int
	Rows        []AuthRow
	// KeystoneSkipped says why the Keystone rows and the steady load did
	// not run ("" when they did).
	KeystoneSkipped string
	// KeystoneVersion is the python3-keystone package's; KeystoneStart
	// how long starting it took, TokenIssue issuing the tokens.
	KeystoneVersion           string
	KeystoneStart, TokenIssue time.Duration
	TokensIssued              int
	// KeystoneAlone times what each cold request waits for: the same
	// validation sent straight to Keystone (nil without Keystone).
	KeystoneAlone *AuthRow
	Steady        *SteadyResult
	ColdStart     *ColdStartResult
	Elapsed       time.Duration
}

// AuthRow is one way of authenticating the same request.
type AuthRow struct {
	Name string
	// How says what the request carries and what answers for it.
	How     string
	Phase   Phase
	Bytes   int // of one answer
	Items   int // networks in one answer
	Skipped string
	// KeystoneCalls are the validator's calls to Keystone during the
	// timed requests (Keystone rows only).
	KeystoneCalls uint64
	Keystone      bool
}

// P50Ratio is this row's median over the baseline's (1 = no overhead).
func (r AuthRow) P50Ratio(base AuthRow) float64 {
	return ratio(float64(r.Phase.Latency.P50), float64(base.Phase.Latency.P50))
}

// P99Ratio is this row's 99th percentile over the baseline's.
func (r AuthRow) P99Ratio(base AuthRow) float64 {
	return ratio(float64(r.Phase.Latency.P99), float64(base.Phase.Latency.P99))
}

// RateRatio is this row's requests/s over the baseline's (1 = as fast).
func (r AuthRow) RateRatio(base AuthRow) float64 { return ratio(r.Phase.PerSec(), base.Phase.PerSec()) }

// RunIdentity measures what validating a token adds to a cheap API
// request, for every way our server authenticates, beside the same request
// without authentication, and how often a Keystone-backed server calls
// Keystone under a steady load of many tokens.
func RunIdentity(ctx context.Context, o IdentityOptions) (*IdentityReport, error) {
	o = o.withDefaults()
	start := time.Now()
	root, err := os.MkdirTemp(o.TempDir, "lbaas-bench-id-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(root)
	rep := &IdentityReport{Machine: describeMachine(root), Quick: o.Quick, Concurrency: o.Concurrency, Rounds: o.Rounds, Networks: o.Networks}
	b := &idBench{o: o, rep: rep, root: root}
	defer b.close()
	if err := b.run(ctx); err != nil {
		return nil, err
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// idBench is one run: the servers, Keystone and the tokens.
type idBench struct {
	o    IdentityOptions
	rep  *IdentityReport
	root string

	closers []func()

	ks       *keystonetest.Keystone
	ksTokens []string // tokens of the Keystone users, none validated yet
}

func (b *idBench) close() {
	for i := len(b.closers) - 1; i >= 0; i-- {
		b.closers[i]()
	}
}

// target is one server with the token its row sends.
type target struct {
	run   *server.Running
	token string
	// tokens, when set, give each client its own token (the cold row:
	// concurrent misses of one token would share one call to Keystone).
	tokens []string
}

// rowPlan is a row to time and where.
type rowPlan struct {
	row AuthRow
	tg  *target
}

func (b *idBench) run(ctx context.Context) error {
	o := b.o
	if err := b.startKeystone(ctx); err != nil {
		return err
	}

	noauth, err := b.server(ctx, "noauth", func(so *server.Options) { so.NoAuth = true })
	if err != nil {
		return err
	}
	withIdentity, err := b.server(ctx, "ident", func(so *server.Options) { so.IdentityListen = "127.0.0.1:0" })
	if err != nil {
		return err
	}
	idToken, err := identityToken(ctx, withIdentity)
	if err != nil {
		return err
	}
	rows := []rowPlan{
		{AuthRow{Name: AuthNone, How: "`--auth none` (NoAuth): no token, every request is the admin"}, &target{run: noauth}},
		{AuthRow{Name: AuthTokensFile, How: "the tokens file's admin token (SHA-256 looked up in memory)"}, &target{run: withIdentity, token: withIdentity.AdminToken}},
		{AuthRow{Name: AuthIdentity, How: "a token of the built-in identity service (password login first), admin role; the tokens file is asked first, then the identity service's store cache"}, &target{run: withIdentity, token: idToken}},
	}
	var warm, cold *server.Running
	if b.ks != nil {
		if warm, err = b.server(ctx, "ks", func(so *server.Options) { so.Keystone = b.keystoneConfig(0) }); err != nil {
			return err
		}
		// A TTL of 1ns: every validation asks Keystone again.
		if cold, err = b.server(ctx, "ksc", func(so *server.Options) { so.Keystone = b.keystoneConfig(time.Nanosecond) }); err != nil {
			return err
		}
		rows = append(rows,
			rowPlan{AuthRow{Name: AuthKeystoneWarm, Keystone: true, How: "a real Keystone's token (admin role), validated once before timing; default cache TTL (60 s): the tokens file, then the validator's cache"},
				&target{run: warm, token: b.takeTokens(1)[0]}},
			rowPlan{AuthRow{Name: AuthKeystoneCold, Keystone: true, How: fmt.Sprintf("a real Keystone's token, cache TTL 1 ns: every request asks Keystone (`GET /v3/auth/tokens`); one token per client (%d), so no two requests share a call", o.Concurrency)},
				&target{run: cold, tokens: b.takeTokens(o.Concurrency)}},
		)
	} else {
		for _, name := range []string{AuthKeystoneWarm, AuthKeystoneCold} {
			rows = append(rows, rowPlan{AuthRow{Name: name, Keystone: true, Skipped: b.rep.KeystoneSkipped}, nil})
		}
	}

	// Rows (a) to (d) alternate in rounds; so do (e) and Keystone alone.
	b.rep.Rows = make([]AuthRow, len(rows))
	var fast, slow []*timed
	for i, r := range rows {
		b.rep.Rows[i] = r.row
		if r.row.Skipped != "" {
			continue
		}
		t, err := b.prepareRow(ctx, &b.rep.Rows[i], r.tg)
		if err != nil {
			return err
		}
		if r.tg.tokens != nil {
			slow = append(slow, t)
		} else {
			fast = append(fast, t)
		}
	}
	o.progress("timing %d rows in %d rounds, %d requests each", len(fast), o.Rounds, o.Requests)
	b.alternate(ctx, fast)
	if b.ks != nil {
		b.rep.KeystoneAlone = &AuthRow{Name: "Keystone alone", Keystone: true,
			How: "no server of ours: the cold row's validation sent straight to Keystone (`GET /v3/auth/tokens?nocatalog`, the service user's token, one subject token per client), what each cold request waits for"}
		t, err := b.prepareAlone(ctx, b.rep.KeystoneAlone, rows[len(rows)-1].tg.tokens)
		if err != nil {
			return err
		}
		slow = append(slow, t)
		o.progress("timing the cold row beside Keystone alone in %d rounds, %d requests each", o.Rounds, o.ColdRequests)
		b.alternate(ctx, slow)

		toks := b.takeTokens(o.Tokens)
		if b.rep.Steady, err = b.steady(ctx, warm, toks); err != nil {
			return err
		}
		// The same tokens on a fresh server: its cache is empty, as after
		// a restart under load.
		restarted, err := b.server(ctx, "ksr", func(so *server.Options) { so.Keystone = b.keystoneConfig(0) })
		if err != nil {
			return err
		}
		if b.rep.ColdStart, err = b.coldStart(ctx, restarted, toks); err != nil {
			return err
		}
	}
	return nil
}

// startKeystone starts a real Keystone, makes its service user and the
// users whose tokens the Keystone rows send, and issues those tokens; when
// Keystone is not installed it records why and returns nil.
func (b *idBench) startKeystone(ctx context.Context) error {
	o := b.o
	if err := keystonetest.Available(); err != nil {
		b.rep.KeystoneSkipped = err.Error()
		o.progress("Keystone rows skipped: %v", err)
		return nil
	}
	b.rep.KeystoneVersion = debVersion("python3-keystone")
	dir := filepath.Join(b.root, "keystone")
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	o.progress("starting Keystone (python3-keystone %s, gunicorn)", orDash(b.rep.KeystoneVersion))
	t0 := time.Now()
	ks, stop, err := keystonetest.Run(dir, func(format string, args ...any) { o.progress(format, args...) })
	if err != nil {
		return fmt.Errorf("bench: starting Keystone: %w", err)
	}
	b.closers = append(b.closers, stop)
	b.ks = ks
	svc, err := ks.CreateProjectContext(ctx, "service")
	if err != nil {
		return err
	}
	if _, err := ks.CreateUserContext(ctx, "lbaas", keystoneServicePassword, svc, "service"); err != nil {
		return err
	}
	proj, err := ks.CreateProjectContext(ctx, "bench")
	if err != nil {
		return err
	}
	for u := range o.Users {
		if _, err := ks.CreateUserContext(ctx, fmt.Sprintf("bench-%d", u), keystoneUserPassword, proj, "admin"); err != nil {
			return err
		}
	}
	b.rep.KeystoneStart = time.Since(t0)
	o.progress("Keystone ready at %s with %d users in %v", ks.URL, o.Users, b.rep.KeystoneStart.Round(100*time.Millisecond))

	// The steady load's tokens, the warm row's and the cold row's, each
	// a fresh login spread over the users; none is validated before its
	// row.
	n := o.Tokens + 1 + o.Concurrency
	t0 = time.Now()
	toks, err := issueTokens(ctx, ks.URL, n, 4, func(i int) (string, string) {
		return fmt.Sprintf("bench-%d", i%o.Users), keystoneUserPassword
	}, "bench")
	if err != nil {
		return err
	}
	b.ksTokens = toks
	b.rep.TokenIssue, b.rep.TokensIssued = time.Since(t0), n
	o.progress("issued %d Keystone tokens in %v", n, b.rep.TokenIssue.Round(100*time.Millisecond))
	return nil
}

const (
	keystoneServicePassword = "lbaas-bench-service-password"
	keystoneUserPassword    = "lbaas-bench-user-password"
)

// takeTokens hands out n of the issued Keystone tokens, each once.
func (b *idBench) takeTokens(n int) []string {
	out := b.ksTokens[:n:n]
	b.ksTokens = b.ksTokens[n:]
	return out
}

// keystoneConfig points a server at the Keystone with the service user;
// ttl 0 is the default cache TTL.
func (b *idBench) keystoneConfig(ttl time.Duration) *keystone.Config {
	return &keystone.Config{URL: b.ks.URL, Username: "lbaas", Password: keystoneServicePassword, ProjectName: "service", CacheTTL: ttl}
}

// server starts a control plane on its own data directory and creates the
// networks the request lists.
func (b *idBench) server(ctx context.Context, name string, opt func(*server.Options)) (*server.Running, error) {
	so := server.Options{
		Listen:  "127.0.0.1:0",
		DataDir: filepath.Join(b.root, name),
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	opt(&so)
	run, err := server.Start(ctx, so)
	if err != nil {
		return nil, fmt.Errorf("start server %s: %w", name, err)
	}
	b.closers = append(b.closers, run.Close)
	c, err := newClient(run.Addr, run.AdminToken, 1)
	if err != nil {
		return nil, err
	}
	defer c.close()
	for i := range b.o.Networks {
		if _, err := c.create(ctx, "/v2.0/networks", "network", map[string]any{"name": fmt.Sprintf("bench-net-%d", i)}); err != nil {
			return nil, fmt.Errorf("server %s: %w", name, err)
		}
	}
	return run, nil
}

// identityToken makes an admin user in the built-in identity service and
// logs it in by password, as a client does.
func identityToken(ctx context.Context, run *server.Running) (string, error) {
	var roleID string
	for _, e := range run.Store.List(model.KindRole) {
		if r, ok := e.Obj.(*model.Role); ok && r.Name == "admin" {
			roleID = r.ID
		}
	}
	if roleID == "" {
		return "", errors.New("bench: the identity service has no admin role")
	}
	pw := identity.NewSecret()
	u, err := run.Identity.CreateUser(ctx, "bench", pw, identity.AdminProjectID)
	if err != nil {
		return "", err
	}
	if err := run.Identity.Assign(ctx, u.ID, identity.AdminProjectID, roleID); err != nil {
		return "", err
	}
	return passwordToken(ctx, "http://"+run.IdentityAddr+"/v3", "bench", pw, "admin")
}

// timed is a row being timed: its request and the samples of its rounds.
type timed struct {
	row *AuthRow
	op  func(ctx context.Context, w, i int) error
	// calls reads the validator's calls to Keystone (nil: not Keystone).
	calls func() uint64
	n     int // timed requests in all
	// samples are each client's latencies of successful requests.
	samples [][]time.Duration
	closers []func()
}

// record is op, keeping the latency of each success.
func (t *timed) record(ctx context.Context, w, i int) error {
	t0 := time.Now()
	err := t.op(ctx, w, i)
	if err == nil {
		t.samples[w] = append(t.samples[w], time.Since(t0))
	}
	return err
}

// prepareRow checks one answer of the row's server and warms the row up
// untimed: connections open, the service token fetched, the warm row's
// token validated. The cold row's every request is a miss anyway, so one
// per client is enough.
func (b *idBench) prepareRow(ctx context.Context, row *AuthRow, tg *target) (*timed, error) {
	o := b.o
	c := o.Concurrency
	clients := make([]*apiClient, c)
	base, err := newClient(tg.run.Addr, tg.token, c)
	if err != nil {
		return nil, err
	}
	for w := range clients {
		cl := *base
		if tg.tokens != nil {
			cl.token = tg.tokens[w]
		}
		clients[w] = &cl
	}
	bufs := make([]bytes.Buffer, c)
	t := &timed{row: row, n: o.Requests, samples: make([][]time.Duration, c), closers: []func(){base.close}}
	t.op = func(ctx context.Context, w, _ int) error {
		code, err := clients[w].do(ctx, http.MethodGet, IdentityRequest, nil, &bufs[w])
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("GET %s: %d %s", IdentityRequest, code, strings.TrimSpace(bufs[w].String()))
		}
		return nil
	}
	if stats := tg.run.KeystoneStats; stats != nil {
		t.calls = func() uint64 { _, _, c := stats(); return c }
	}
	if err := t.op(ctx, 0, 0); err != nil {
		return nil, fmt.Errorf("bench: %s: %w", row.Name, err)
	}
	var answer struct {
		Networks []json.RawMessage `json:"networks"`
	}
	if err := json.Unmarshal(bufs[0].Bytes(), &answer); err != nil {
		return nil, fmt.Errorf("bench: %s: %w", row.Name, err)
	}
	row.Bytes, row.Items = bufs[0].Len(), len(answer.Networks)
	warmup := o.Warmup
	if tg.tokens != nil {
		warmup, t.n = c, o.ColdRequests
	}
	if ph := runLoop(ctx, warmup, c, o.SectionTimeout, t.op); ph.Errors > 0 {
		return nil, fmt.Errorf("bench: %s: warm-up: %d errors, first: %s", row.Name, ph.Errors, ph.FirstError)
	}
	return t, nil
}

// alternate times the rows of a group in rounds, one row after the other
// in each round, so that a change in the machine's load falls on all of
// them alike; each row's phase sums its rounds.
func (b *idBench) alternate(ctx context.Context, group []*timed) {
	o := b.o
	rounds := o.Rounds
	limit := max(o.SectionTimeout/time.Duration(rounds), 5*time.Second)
	for r := range rounds {
		for _, t := range group {
			n := t.n / rounds
			if r == rounds-1 {
				n = t.n - n*(rounds-1)
			}
			var c0 uint64
			if t.calls != nil {
				c0 = t.calls()
			}
			ph := runLoop(ctx, n, o.Concurrency, limit, t.record)
			if t.calls != nil {
				t.row.KeystoneCalls += t.calls() - c0
			}
			p := &t.row.Phase
			p.Target += ph.Target
			p.Done += ph.Done
			p.Errors += ph.Errors
			p.Elapsed += ph.Elapsed
			p.TimedOut = p.TimedOut || ph.TimedOut
			if p.FirstError == "" {
				p.FirstError = ph.FirstError
			}
		}
	}
	for _, t := range group {
		var all []time.Duration
		for _, s := range t.samples {
			all = append(all, s...)
		}
		t.row.Phase.Latency = summarize(all)
		for _, f := range t.closers {
			f()
		}
		ph := t.row.Phase
		o.progress("%s: %d requests in %v (%.0f/s), p50 %s, p99 %s, %d errors", t.row.Name, ph.Done,
			ph.Elapsed.Round(time.Millisecond), ph.PerSec(), ms(ph.Latency.P50), ms(ph.Latency.P99), ph.Errors)
	}
}

// prepareAlone readies the cold row's validations sent straight to
// Keystone, as the validator sends them (GET /v3/auth/tokens?nocatalog
// with the service user's token), one subject token per client.
func (b *idBench) prepareAlone(ctx context.Context, row *AuthRow, tokens []string) (*timed, error) {
	o := b.o
	c := len(tokens)
	svc, err := passwordToken(ctx, b.ks.URL, "lbaas", keystoneServicePassword, "service")
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(b.ks.URL)
	if err != nil {
		return nil, err
	}
	cl, err := newClient(u.Host, svc, c)
	if err != nil {
		return nil, err
	}
	bufs := make([]bytes.Buffer, c)
	t := &timed{row: row, n: o.ColdRequests, samples: make([][]time.Duration, c), closers: []func(){cl.close}}
	t.op = func(ctx context.Context, w, _ int) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.ks.URL+"/auth/tokens?nocatalog", nil)
		if err != nil {
			return err
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("X-Auth-Token", svc)
		req.Header.Set("X-Subject-Token", tokens[w])
		resp, err := cl.hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		bufs[w].Reset()
		if _, err := bufs[w].ReadFrom(resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /v3/auth/tokens: %s", resp.Status)
		}
		return nil
	}
	if ph := runLoop(ctx, c, c, o.SectionTimeout, t.op); ph.Errors > 0 {
		return nil, fmt.Errorf("bench: %s: warm-up: %d errors, first: %s", row.Name, ph.Errors, ph.FirstError)
	}
	row.Bytes = bufs[0].Len()
	return t, nil
}

// debVersion is an installed Debian package's version, or "".
func debVersion(pkg string) string {
	out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", pkg).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

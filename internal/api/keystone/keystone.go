// Package keystone answers who holds an X-Auth-Token by asking a Keystone
// v3 identity service, as keystonemiddleware's auth_token does for the
// OpenStack services: the server holds a token of its own (the service
// token, from a service user's password) and validates each client token
// with GET /v3/auth/tokens.
//
// Answers are cached, keyed by the token's SHA-256 so that the cache holds
// no usable credential: a valid token for CacheTTL (the bound on how late a
// revocation is noticed) but never past its expiry, an invalid one for a few
// seconds so that a flood of bad tokens does not become a flood of calls to
// Keystone. Concurrent requests with one uncached token share one call.
//
// Tokens and passwords are never logged, nor are the bodies of Keystone's
// answers: Keystone's "token not found" message may quote the token.
package keystone

import (
	"bytes"
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"lbaas/internal/api/auth"
)

// Defaults of Config.
const (
	DefaultDomain      = "Default"
	DefaultCacheTTL    = 60 * time.Second
	DefaultNegativeTTL = 5 * time.Second
	DefaultCacheSize   = 10000
	DefaultTimeout     = 5 * time.Second
	// DefaultMaxConcurrent bounds the validations in flight to Keystone.
	DefaultMaxConcurrent = 8
	// maxQueue bounds how long a validation waits for its turn.
	maxQueue = time.Minute
)

const (
	// maxBody bounds what is read of a Keystone answer. A token without
	// its catalog is a few kilobytes even with many roles.
	maxBody = 1 << 20
	// maxToken bounds the client tokens sent to Keystone. Fernet tokens
	// are under 255 bytes (Keystone's max_token_size); JWS tokens are
	// longer but far below this. Anything longer is not a token.
	maxToken = 8192
	// serviceMargin is how long before its expiry the service token is
	// replaced, so that a validation never carries a token that expires in
	// flight (keystoneauth keeps a similar margin).
	serviceMargin = 2 * time.Minute
	// forcedRenewInterval bounds renewals of the service token caused by a
	// 401: if Keystone answered 401 for bad client tokens, each of them
	// would otherwise cost a password authentication, which Keystone makes
	// deliberately slow.
	forcedRenewInterval = time.Second
)

// Config configures a Validator.
type Config struct {
	// URL is Keystone's v3 base, e.g. http://127.0.0.1:5000/v3; with or
	// without the trailing /v3.
	URL string
	// Username, Password and ProjectName are the service user's, who needs
	// a role that Keystone's policy lets validate tokens (service or
	// admin) on ProjectName.
	Username, Password, ProjectName string
	// UserDomain and ProjectDomain are domain names; default "Default".
	UserDomain, ProjectDomain string
	// CacheTTL is how long a validated token is trusted without asking
	// Keystone again, hence how late a revocation may be noticed; never
	// beyond the token's expiry. Default 60s.
	CacheTTL time.Duration
	// NegativeTTL is how long a token Keystone refused is refused without
	// asking again. Default 5s.
	NegativeTTL time.Duration
	// CacheSize bounds the valid tokens cached (default 10000); the least
	// recently used goes first. Refused tokens have a cache of the same
	// bound of their own, so that a flood of bad tokens does not evict the
	// good ones.
	CacheSize int
	// Timeout bounds each call to Keystone, from when it is sent (not
	// while it waits for its turn). Default 5s.
	Timeout time.Duration
	// MaxConcurrent bounds the validations in flight to Keystone (default
	// 8). Keystone answers one at a time per worker thread: more calls at
	// once only queue inside it, past their timeout, and a validation
	// abandoned there is asked again: a server restarted under load with
	// many new tokens would bury Keystone in repeats and never catch up
	// (bench/REPORT-identity.md, "Cold start"). Here the others wait their
	// turn and each call Keystone gets is one it can answer in time.
	MaxConcurrent int
	// HTTPClient is used for the calls, with redirects disabled; default
	// a client of its own.
	HTTPClient *http.Client
	// Logger receives what an operator needs; default slog.Default().
	Logger *slog.Logger
	// Now is the clock of expiries; default time.Now.
	Now func() time.Time
}

// Validator is an auth.Authenticator backed by Keystone.
type Validator struct {
	base     string // normalised, ending in /v3
	cfg      Config
	client   *http.Client
	log      *slog.Logger
	now      func() time.Time
	authBody []byte // the password authentication request

	mu        sync.Mutex
	svc       serviceToken
	lastForce time.Time // the last renewal caused by a 401
	valid     *lru      // token hash -> Caller
	invalid   *lru      // token hash -> refused until

	validations flight[auth.Caller]
	renewals    flight[serviceToken]
	// turns holds one slot per validation in flight to Keystone.
	turns chan struct{}

	hits, misses, calls atomic.Uint64
}

type serviceToken struct {
	token   string
	renewAt time.Time // on our clock
}

var _ auth.Authenticator = (*Validator)(nil)

// New checks cfg and returns a Validator. It does not call Keystone: the
// server should start while Keystone is down, and answer ErrUnavailable
// until it is back.
func New(cfg Config) (*Validator, error) {
	base, err := normaliseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.Username == "":
		return nil, errors.New("keystone: the service user's name is empty")
	case cfg.Password == "":
		return nil, errors.New("keystone: the service user's password is empty")
	case cfg.ProjectName == "":
		return nil, errors.New("keystone: the service user's project name is empty")
	case cfg.CacheTTL < 0:
		return nil, fmt.Errorf("keystone: cache TTL %v is negative", cfg.CacheTTL)
	case cfg.NegativeTTL < 0:
		return nil, fmt.Errorf("keystone: negative cache TTL %v is negative", cfg.NegativeTTL)
	case cfg.CacheSize < 0:
		return nil, fmt.Errorf("keystone: cache size %d is negative", cfg.CacheSize)
	case cfg.Timeout < 0:
		return nil, fmt.Errorf("keystone: timeout %v is negative", cfg.Timeout)
	case cfg.MaxConcurrent < 0:
		return nil, fmt.Errorf("keystone: max concurrent validations %d is negative", cfg.MaxConcurrent)
	}
	if cfg.MaxConcurrent == 0 {
		cfg.MaxConcurrent = DefaultMaxConcurrent
	}
	if cfg.UserDomain == "" {
		cfg.UserDomain = DefaultDomain
	}
	if cfg.ProjectDomain == "" {
		cfg.ProjectDomain = DefaultDomain
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = DefaultCacheTTL
	}
	if cfg.NegativeTTL == 0 {
		cfg.NegativeTTL = DefaultNegativeTTL
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	v := &Validator{base: base, cfg: cfg, log: cfg.Logger, now: cfg.Now,
		valid: newLRU(cfg.CacheSize), invalid: newLRU(cfg.CacheSize), turns: make(chan struct{}, cfg.MaxConcurrent)}
	if v.log == nil {
		v.log = slog.Default()
	}
	if v.now == nil {
		v.now = time.Now
	}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		v.client = &c
	} else {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		// Validations run concurrently; the default of 2 idle
		// connections per host would close and reopen most of them.
		tr.MaxIdleConnsPerHost = 32
		v.client = &http.Client{Transport: tr}
	}
	// Go resends custom headers such as X-Auth-Token on a redirect, even to
	// another host; Keystone does not redirect these calls, so a redirect
	// is refused rather than followed with the service token.
	v.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	v.authBody, err = json.Marshal(passwordAuth(cfg))
	if err != nil {
		return nil, err
	}
	return v, nil
}

// normaliseURL accepts Keystone's root or its /v3 and returns the /v3.
func normaliseURL(s string) (string, error) {
	if s == "" {
		return "", errors.New("keystone: the URL is empty")
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("keystone: URL: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("keystone: URL %q is not http or https", s)
	case u.Host == "":
		return "", fmt.Errorf("keystone: URL %q has no host", s)
	case u.User != nil:
		// It would end up in error messages and logs.
		return "", errors.New("keystone: the URL holds credentials; give the service user's name and password apart")
	case u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("keystone: URL %q has a query or fragment", s)
	}
	p := strings.TrimRight(u.Path, "/")
	switch last := p[strings.LastIndex(p, "/")+1:]; {
	case last == "v3":
	case strings.HasPrefix(last, "v2") || strings.HasPrefix(last, "v1"):
		return "", fmt.Errorf("keystone: URL %q names identity API %s; only v3 is supported", s, last)
	default:
		// Keystone's root, possibly under a path prefix (devstack's
		// /identity).
		p += "/v3"
	}
	u.Path, u.RawPath = p, ""
	return u.String(), nil
}

// Stats reports how many Authenticate calls the cache answered (hits) and
// did not (misses; concurrent misses for one token share a call), and how
// many HTTP requests went to Keystone, service token requests included.
func (v *Validator) Stats() (hits, misses, keystoneCalls uint64) {
	return v.hits.Load(), v.misses.Load(), v.calls.Load()
}

// Authenticate implements auth.Authenticator.
func (v *Validator) Authenticate(ctx context.Context, token string) (auth.Caller, error) {
	if !plausible(token) {
		// A header Go's client refuses to send would otherwise be
		// reported as Keystone being unavailable.
		return auth.Caller{}, auth.ErrUnauthorized
	}
	key := sha256.Sum256([]byte(token))
	if c, ok, refresh, err := v.cached(key); ok {
		v.hits.Add(1)
		if refresh {
			// Near the end of its time in the cache: validate it again
			// in the background, so that its requests never stop to wait
			// for Keystone while it is in use. The entry still bounds how
			// late a revocation is seen.
			bg := context.WithoutCancel(ctx)
			go func() { _, _ = v.validations.do(bg, string(key[:]), v.validateAndRemember(bg, key, token)) }()
		}
		return c, err
	}
	v.misses.Add(1)
	if err := ctx.Err(); err != nil {
		return auth.Caller{}, fmt.Errorf("%w: %w", auth.ErrUnavailable, err)
	}
	// The call is shared, so it must not end when the first caller goes
	// away: it runs on a context without the caller's cancellation (each
	// request bounded by Timeout), and each caller waits on its own.
	bg := context.WithoutCancel(ctx)
	c, err := v.validations.do(ctx, string(key[:]), v.validateAndRemember(bg, key, token))
	if err != nil {
		if !errors.Is(err, auth.ErrUnauthorized) && !errors.Is(err, auth.ErrUnavailable) {
			// The caller's context ended before the answer came.
			err = fmt.Errorf("%w: %w", auth.ErrUnavailable, err)
		}
		return auth.Caller{}, err
	}
	c.Roles = slices.Clone(c.Roles) // the cache's copy stays the cache's
	return c, nil
}

func (v *Validator) validateAndRemember(ctx context.Context, key [32]byte, token string) func() (auth.Caller, error) {
	return func() (auth.Caller, error) {
		c, err := v.validate(ctx, token)
		v.remember(key, c, err)
		return c, err
	}
}

// plausible rejects what cannot be a Keystone token: empty, too long, or
// with bytes other than visible ASCII (Fernet and JWS tokens are base64url,
// UUID tokens hex).
func plausible(token string) bool {
	if token == "" || len(token) > maxToken {
		return false
	}
	for i := 0; i < len(token); i++ {
		if token[i] <= ' ' || token[i] > '~' {
			return false
		}
	}
	return true
}

// cached answers from the caches if they know the token; refresh says a
// valid entry is in the last sixth of its time and should be validated
// again now (once: the entry is marked).
func (v *Validator) cached(key [32]byte) (c auth.Caller, ok, refresh bool, err error) {
	now := v.now()
	v.mu.Lock()
	defer v.mu.Unlock()
	if e, ok := v.valid.get(key); ok {
		if now.Before(e.until) && now.Before(e.caller.Expires) {
			c = e.caller
			c.Roles = slices.Clone(c.Roles)
			if !e.refreshing && e.until.Sub(now) < v.cfg.CacheTTL/6 && e.until.Before(e.caller.Expires) {
				e.refreshing, refresh = true, true
				v.valid.put(key, e)
			}
			return c, true, refresh, nil
		}
		v.valid.remove(key)
		if !now.Before(e.caller.Expires) {
			// Expired: Keystone would refuse it too, so don't ask.
			return auth.Caller{}, true, false, auth.ErrUnauthorized
		}
	}
	if e, ok := v.invalid.get(key); ok {
		if now.Before(e.until) {
			return auth.Caller{}, true, false, auth.ErrUnauthorized
		}
		v.invalid.remove(key)
	}
	return auth.Caller{}, false, false, nil
}

// remember caches Keystone's answer. An ErrUnavailable is not cached: the
// next request should try again.
func (v *Validator) remember(key [32]byte, c auth.Caller, err error) {
	now := v.now()
	v.mu.Lock()
	defer v.mu.Unlock()
	switch {
	case err == nil:
		until := now.Add(v.cfg.CacheTTL)
		if c.Expires.Before(until) {
			until = c.Expires
		}
		v.invalid.remove(key)
		v.valid.put(key, entry{caller: c, until: until})
	case errors.Is(err, auth.ErrUnauthorized):
		v.valid.remove(key)
		v.invalid.put(key, entry{until: now.Add(v.cfg.NegativeTTL)})
	}
}

// validate asks Keystone about token.
func (v *Validator) validate(ctx context.Context, token string) (auth.Caller, error) {
	svc, err := v.serviceToken(ctx)
	if err != nil {
		return auth.Caller{}, err
	}
	status, body, err := v.check(ctx, svc.token, token)
	if err != nil {
		return auth.Caller{}, err
	}
	if status == http.StatusUnauthorized {
		// Keystone refuses the service token (revoked, Keystone's keys
		// rotated, its clock ahead of ours): renew it once and retry,
		// as keystonemiddleware does.
		fresh, renewed, err := v.renew(ctx, svc.token)
		if err != nil {
			return auth.Caller{}, err
		}
		if !renewed {
			// No new token to try: ours was issued or checked a moment
			// ago, so the refusal is of the client's token.
			return auth.Caller{}, auth.ErrUnauthorized
		}
		if status, body, err = v.check(ctx, fresh.token, token); err != nil {
			return auth.Caller{}, err
		}
		if status == http.StatusUnauthorized {
			// A 401 with a service token Keystone has just issued is
			// about the client's token. (keystonemiddleware answers 503
			// here; we follow the brief's rule that a 401 for the subject
			// refuses it.)
			v.log.Info("keystone: 401 to a token validation with a fresh service token; refusing the client token")
			return auth.Caller{}, auth.ErrUnauthorized
		}
	}
	switch {
	case status == http.StatusOK:
		return v.caller(body)
	case status == http.StatusNotFound:
		// Unknown, malformed, expired or revoked.
		return auth.Caller{}, auth.ErrUnauthorized
	case status == http.StatusForbidden:
		v.log.Error("keystone: the service user may not validate tokens; give it the service or admin role on its project",
			"user", v.cfg.Username, "project", v.cfg.ProjectName)
		return auth.Caller{}, fmt.Errorf("%w: keystone refused the service user the right to validate tokens (403)", auth.ErrUnavailable)
	default:
		v.log.Warn("keystone: unexpected answer to a token validation", "status", status)
		return auth.Caller{}, fmt.Errorf("%w: keystone answered %d to a token validation", auth.ErrUnavailable, status)
	}
}

// check makes one validation request and returns the status, and the body
// if the status is 200.
func (v *Validator) check(ctx context.Context, svcToken, token string) (int, []byte, error) {
	// Wait for a turn first: Timeout is Keystone's time to answer.
	wait := time.NewTimer(maxQueue)
	defer wait.Stop()
	select {
	case v.turns <- struct{}{}:
		defer func() { <-v.turns }()
	case <-wait.C:
		return 0, nil, fmt.Errorf("%w: %d validations in flight to keystone for %v", auth.ErrUnavailable, cap(v.turns), maxQueue)
	case <-ctx.Done():
		return 0, nil, fmt.Errorf("%w: %w", auth.ErrUnavailable, ctx.Err())
	}
	ctx, cancel := context.WithTimeout(ctx, v.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.base+"/auth/tokens?nocatalog", nil)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %w", auth.ErrUnavailable, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Auth-Token", svcToken)
	req.Header.Set("X-Subject-Token", token)
	status, _, body, err := v.do(req)
	if err != nil {
		v.log.Warn("keystone: token validation failed", "err", err)
		return 0, nil, fmt.Errorf("%w: validating a token: %w", auth.ErrUnavailable, err)
	}
	return status, body, nil
}

// do makes a request and reads a bounded body of a 2xx answer; other bodies
// are drained (so the connection is reused) but not kept.
func (v *Validator) do(req *http.Request) (int, http.Header, []byte, error) {
	v.calls.Add(1)
	resp, err := v.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return resp.StatusCode, resp.Header, nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return 0, nil, nil, err
	}
	if len(body) > maxBody {
		return 0, nil, nil, fmt.Errorf("answer of more than %d bytes", maxBody)
	}
	return resp.StatusCode, resp.Header, body, nil
}

// tokenBody is the part of Keystone's token representation we read.
type tokenBody struct {
	Token struct {
		ExpiresAt string `json:"expires_at"`
		IssuedAt  string `json:"issued_at"`
		User      struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"user"`
		Project *struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"project"`
		Roles []struct {
			Name string `json:"name"`
		} `json:"roles"`
	} `json:"token"`
}

// caller turns a validated token's body into a Caller.
func (v *Validator) caller(body []byte) (auth.Caller, error) {
	var tb tokenBody
	if err := json.Unmarshal(body, &tb); err != nil {
		return auth.Caller{}, fmt.Errorf("%w: keystone's token validation answer: %w", auth.ErrUnavailable, err)
	}
	t := tb.Token
	expires, err := time.Parse(time.RFC3339Nano, t.ExpiresAt)
	if err != nil || t.User.ID == "" {
		// Not a token Keystone would send: we cannot tell.
		return auth.Caller{}, fmt.Errorf("%w: keystone's token validation answer has no user or expiry", auth.ErrUnavailable)
	}
	if t.Project == nil || t.Project.ID == "" {
		// Unscoped, domain- or system-scoped: the API is per project.
		return auth.Caller{}, auth.ErrUnauthorized
	}
	if !v.now().Before(expires) {
		// Keystone does not validate expired tokens unless asked to, but
		// our clock may be ahead of its.
		return auth.Caller{}, auth.ErrUnauthorized
	}
	c := auth.Caller{UserID: t.User.ID, UserName: t.User.Name, Project: t.Project.ID,
		ProjectName: t.Project.Name, Expires: expires}
	// Keystone lists the implied roles in the token already (admin implies
	// member implies reader unless the operator changed the rules), so the
	// list is taken as it is.
	for _, r := range t.Roles {
		if r.Name != "" && !slices.Contains(c.Roles, r.Name) {
			c.Roles = append(c.Roles, r.Name)
		}
	}
	return c, nil
}

// serviceToken returns the service token, obtaining one if there is none or
// it is about to expire.
func (v *Validator) serviceToken(ctx context.Context) (serviceToken, error) {
	v.mu.Lock()
	t := v.svc
	v.mu.Unlock()
	if t.token != "" && v.now().Before(t.renewAt) {
		return t, nil
	}
	return v.renewals.do(ctx, "expiry", func() (serviceToken, error) {
		v.mu.Lock()
		cur := v.svc
		v.mu.Unlock()
		if cur.token != "" && v.now().Before(cur.renewAt) {
			return cur, nil // renewed while we waited for the lock
		}
		return v.issue(ctx)
	})
}

// renew replaces the service token stale that Keystone refused, and reports
// whether the token returned differs from stale.
func (v *Validator) renew(ctx context.Context, stale string) (serviceToken, bool, error) {
	t, err := v.renewals.do(ctx, "refused", func() (serviceToken, error) {
		now := v.now()
		v.mu.Lock()
		cur, last := v.svc, v.lastForce
		v.mu.Unlock()
		switch {
		case cur.token != "" && cur.token != stale:
			return cur, nil // another request renewed it already
		case cur.token != "" && !last.IsZero() && now.Sub(last) < forcedRenewInterval && now.Sub(last) >= 0:
			return cur, nil // renewed a moment ago: see forcedRenewInterval
		}
		v.mu.Lock()
		v.lastForce = now
		v.mu.Unlock()
		v.log.Info("keystone: the service token was refused; obtaining a new one")
		t, err := v.issue(ctx)
		if err != nil {
			// Forget the refused token, so that the next request tries
			// to obtain one (and reports Keystone unavailable if it
			// cannot) instead of calling the next 401 the client's.
			v.mu.Lock()
			if v.svc.token == stale {
				v.svc = serviceToken{}
			}
			v.mu.Unlock()
		}
		return t, err
	})
	if err != nil {
		return serviceToken{}, false, err
	}
	return t, t.token != stale, nil
}

// issue obtains a service token with the service user's password.
func (v *Validator) issue(ctx context.Context) (serviceToken, error) {
	ctx, cancel := context.WithTimeout(ctx, v.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.base+"/auth/tokens?nocatalog", bytes.NewReader(v.authBody))
	if err != nil {
		return serviceToken{}, fmt.Errorf("%w: %w", auth.ErrUnavailable, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	status, hdr, body, err := v.do(req)
	if err != nil {
		v.log.Warn("keystone: obtaining the service token failed", "err", err)
		return serviceToken{}, fmt.Errorf("%w: obtaining the service token: %w", auth.ErrUnavailable, err)
	}
	switch {
	case status == http.StatusUnauthorized:
		v.log.Error("keystone: the service user's credentials were refused",
			"user", v.cfg.Username, "user_domain", v.cfg.UserDomain,
			"project", v.cfg.ProjectName, "project_domain", v.cfg.ProjectDomain)
		return serviceToken{}, fmt.Errorf("%w: keystone refused the service user's credentials (401)", auth.ErrUnavailable)
	case status/100 != 2:
		v.log.Warn("keystone: unexpected answer to the service token request", "status", status)
		return serviceToken{}, fmt.Errorf("%w: keystone answered %d to the service token request", auth.ErrUnavailable, status)
	}
	var tb tokenBody
	if err := json.Unmarshal(body, &tb); err != nil {
		return serviceToken{}, fmt.Errorf("%w: keystone's service token answer: %w", auth.ErrUnavailable, err)
	}
	expires, err := time.Parse(time.RFC3339Nano, tb.Token.ExpiresAt)
	tok := hdr.Get("X-Subject-Token")
	if err != nil || tok == "" {
		return serviceToken{}, fmt.Errorf("%w: keystone's service token answer has no token or expiry", auth.ErrUnavailable)
	}
	now := v.now()
	// The token's life is measured on Keystone's clock (issued_at to
	// expires_at) and counted from now on ours, so that a skew between the
	// clocks neither makes us renew on every call nor use the token after
	// Keystone's expiry. Renewal comes serviceMargin before the end, or
	// half-way through a shorter life.
	life := expires.Sub(now)
	if issued, err := time.Parse(time.RFC3339Nano, tb.Token.IssuedAt); err == nil && issued.Before(expires) {
		life = expires.Sub(issued)
	}
	life = max(life, 0)
	t := serviceToken{token: tok, renewAt: now.Add(life - min(serviceMargin, life/2))}
	v.mu.Lock()
	v.svc = t
	v.mu.Unlock()
	v.log.Debug("keystone: obtained a service token", "expires", expires)
	return t, nil
}

// passwordAuth is the body of a password authentication scoped to the
// service user's project, user and project named within their domains.
func passwordAuth(cfg Config) any {
	type named struct {
		Name string `json:"name"`
	}
	type user struct {
		Name     string `json:"name"`
		Domain   named  `json:"domain"`
		Password string `json:"password"`
	}
	type project struct {
		Name   string `json:"name"`
		Domain named  `json:"domain"`
	}
	var b struct {
		Auth struct {
			Identity struct {
				Methods  []string `json:"methods"`
				Password struct {
					User user `json:"user"`
				} `json:"password"`
			} `json:"identity"`
			Scope struct {
				Project project `json:"project"`
			} `json:"scope"`
		} `json:"auth"`
	}
	b.Auth.Identity.Methods = []string{"password"}
	b.Auth.Identity.Password.User = user{Name: cfg.Username, Domain: named{cfg.UserDomain}, Password: cfg.Password}
	b.Auth.Scope.Project = project{Name: cfg.ProjectName, Domain: named{cfg.ProjectDomain}}
	return b
}

// flight shares one call among concurrent callers with the same key (as
// golang.org/x/sync/singleflight does), and lets each caller stop waiting
// when its context ends while the call goes on for the others.
type flight[T any] struct {
	mu    sync.Mutex
	calls map[string]*call[T]
}

type call[T any] struct {
	done chan struct{}
	val  T
	err  error
}

func (f *flight[T]) do(ctx context.Context, key string, fn func() (T, error)) (T, error) {
	f.mu.Lock()
	c, ok := f.calls[key]
	if !ok {
		c = &call[T]{done: make(chan struct{})}
		if f.calls == nil {
			f.calls = map[string]*call[T]{}
		}
		f.calls[key] = c
		go func() {
			c.val, c.err = fn()
			f.mu.Lock()
			delete(f.calls, key)
			f.mu.Unlock()
			close(c.done)
		}()
	}
	f.mu.Unlock()
	select {
	case <-c.done:
		return c.val, c.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// lru is a map bounded by evicting the least recently used entry. The
// Validator's mutex guards it.
type lru struct {
	max   int
	order *list.List // of *entry, most recent first
	m     map[[32]byte]*list.Element
}

type entry struct {
	key    [32]byte
	caller auth.Caller
	until  time.Time
	// refreshing: a validation ahead of until is under way.
	refreshing bool
}

func newLRU(max int) *lru {
	return &lru{max: max, order: list.New(), m: map[[32]byte]*list.Element{}}
}

func (l *lru) get(k [32]byte) (entry, bool) {
	el, ok := l.m[k]
	if !ok {
		return entry{}, false
	}
	l.order.MoveToFront(el)
	return *el.Value.(*entry), true
}

func (l *lru) put(k [32]byte, e entry) {
	e.key = k
	if el, ok := l.m[k]; ok {
		*el.Value.(*entry) = e
		l.order.MoveToFront(el)
		return
	}
	l.m[k] = l.order.PushFront(&e)
	for l.order.Len() > l.max {
		old := l.order.Back()
		l.order.Remove(old)
		delete(l.m, old.Value.(*entry).key)
	}
}

func (l *lru) remove(k [32]byte) {
	if el, ok := l.m[k]; ok {
		l.order.Remove(el)
		delete(l.m, k)
	}
}

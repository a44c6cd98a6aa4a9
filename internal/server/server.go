// Package server wires the control plane: the store (embedded or external
// etcd), the Neutron API, and (when present) the controller.
package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"lbaas/internal/api/agentsrv"
	"lbaas/internal/api/auth"
	"lbaas/internal/api/keystone"
	"lbaas/internal/api/neutron"
	"lbaas/internal/api/octavia"
	"lbaas/internal/controller"
	"lbaas/internal/identity"
	"lbaas/internal/metrics"
	"lbaas/internal/model"
	"lbaas/internal/secrets"
	"lbaas/internal/segment"
	"lbaas/internal/store"
	"lbaas/internal/ui"
)

// Options configure a control-plane process.
type Options struct {
	// Listen is the API address, 127.0.0.1:9696 by default.
	Listen string
	// AnalyticsListen serves the service-instance UVEs
	// (/analytics/uves/...); empty: not served.
	AnalyticsListen string
	// OctaviaListen serves the Octavia v2 API (/v2/lbaas/...,
	// /v2.0/lbaas/...); empty: not served.
	OctaviaListen string
	// MetricsListen serves /metrics in Prometheus' text format (package
	// metrics): every load balancer's traffic and the control plane's
	// own series, tenant-free, so keep it on loopback or behind a
	// firewall; empty: not served.
	MetricsListen string
	// DataDir holds the embedded etcd's data and the tokens file.
	DataDir string
	// EtcdEndpoints, when set, use an external etcd instead of the
	// embedded one.
	EtcdEndpoints []string
	// NoAuth accepts every request as admin (local experiments only).
	NoAuth bool
	// IdentityListen serves the built-in identity service (Keystone v3:
	// /v3/auth/tokens, users, projects, role assignments), whose tokens the
	// APIs then accept beside the tokens file's; empty: not served.
	IdentityListen string
	// Keystone, when set, validates users' tokens against a Keystone
	// (beside the tokens file's); the built-in identity service is then
	// not served.
	Keystone *keystone.Config
	// AdvertiseHost is the host the identity service's catalog names for
	// each API; the listen address's host when empty (this machine's name
	// when that is a wildcard).
	AdvertiseHost string
	// TokensFile maps tokens to projects; <DataDir>/tokens.json by default.
	TokensFile string
	// SecretsKeyFile holds the keys private keys are sealed with before
	// they reach the store (see package secrets); <DataDir>/secrets.key
	// by default, made with a random key on first start. Servers sharing
	// one etcd must share this file.
	SecretsKeyFile string
	// PublicNetwork and PublicCIDR describe the external network created on
	// first start; an empty PublicNetwork creates none.
	PublicNetwork string
	PublicCIDR    string
	// PublicPhysnet is the physical network the public network is flat on
	// (neutron.DefaultPublicPhysnet when empty).
	PublicPhysnet string
	// Segments are the VNI range, physical networks and underlay MTU of
	// new networks (see package segment).
	Segments segment.Config
	// StoreTimeout bounds how long a request waits for etcd before it is
	// answered 503 with Retry-After (store.DefaultWriteTimeout when 0).
	StoreTimeout time.Duration
	// Quotas are the limits of projects without their own (nil:
	// unlimited); see package quota.
	Quotas model.Limits
	Logger *slog.Logger
}

// Running is a started control plane.
type Running struct {
	Addr string
	// AnalyticsAddr is where the analytics API listens ("" if it does not).
	AnalyticsAddr string
	// OctaviaAddr is where the Octavia v2 API listens ("" if it does not).
	OctaviaAddr string
	// MetricsAddr is where /metrics is served ("" if it is not).
	MetricsAddr string
	Store       *store.Store
	API         *neutron.Server
	// AdminToken is set when this start created the tokens file.
	AdminToken string
	// IdentityAddr is where the identity service listens ("" if it does
	// not); Identity is the service.
	IdentityAddr string
	Identity     *identity.Service
	// CloudsFile is the clouds.yaml this start wrote for the bootstrap
	// admin ("" when the admin existed before).
	CloudsFile string
	// KeystoneStats, with Options.Keystone, reports the Keystone
	// validator's cache hits, misses and calls to Keystone (see
	// keystone.Validator.Stats); nil otherwise.
	KeystoneStats func() (hits, misses, calls uint64)

	srv        *http.Server
	cancelBase context.CancelFunc
	embedded   *store.Embedded
	cli        *clientv3.Client
	log        *slog.Logger
	stops      []func()
}

// Start opens the store, creates the public network if needed and starts
// serving. It returns once the API accepts connections.
func Start(ctx context.Context, o Options) (*Running, error) {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	if o.Listen == "" {
		o.Listen = "127.0.0.1:9696"
	}
	if o.DataDir == "" {
		return nil, errors.New("a data directory is required")
	}
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return nil, err
	}
	run := &Running{log: log}
	if len(o.EtcdEndpoints) > 0 {
		cli, err := store.Connect(o.EtcdEndpoints)
		if err != nil {
			return nil, fmt.Errorf("connect to etcd: %w", err)
		}
		run.cli = cli
	} else {
		e, err := store.StartEmbedded(ctx, o.DataDir)
		if err != nil {
			return nil, err
		}
		run.embedded, run.cli = e, e.Client
	}
	st, err := store.Open(ctx, run.cli, log, store.WithWriteTimeout(o.StoreTimeout))
	if err != nil {
		run.Close()
		return nil, err
	}
	run.Store = st
	keyFile := cmp.Or(o.SecretsKeyFile, filepath.Join(o.DataDir, "secrets.key"))
	keys, made, err := secrets.LoadOrCreate(keyFile)
	if err != nil {
		run.Close()
		return nil, fmt.Errorf("secrets key file: %w", err)
	}
	if made && len(o.EtcdEndpoints) > 0 {
		log.Warn("made a new secrets key file for a server of a shared etcd: every server of it needs the same file, or agents will not get the private keys other servers sealed", "path", keyFile)
	} else if made {
		log.Info("made a secrets key file: private keys are sealed with it", "path", keyFile)
	}
	cfg := neutron.Config{NoAuth: o.NoAuth, Logger: log, Secrets: keys}
	var identityLn net.Listener
	if !o.NoAuth {
		a, token, err := loadOrCreateTokens(o)
		if err != nil {
			run.Close()
			return nil, err
		}
		cfg.Auth, run.AdminToken = a, token
		if o.Keystone != nil {
			kc := *o.Keystone
			kc.Logger = log
			v, err := keystone.New(kc)
			if err != nil {
				run.Close()
				return nil, fmt.Errorf("keystone: %w", err)
			}
			cfg.Auth = auth.Chain{a, v}
			run.KeystoneStats = v.Stats
		} else if o.IdentityListen != "" {
			// Listen first: the catalog of the first tokens names it.
			if identityLn, err = net.Listen("tcp", o.IdentityListen); err != nil {
				run.Close()
				return nil, fmt.Errorf("identity listen on %s: %w", o.IdentityListen, err)
			}
			run.IdentityAddr = identityLn.Addr().String()
			run.Identity = identity.New(st, identity.Config{Logger: log, Others: a})
			boot, err := run.Identity.Bootstrap(ctx)
			if err != nil {
				_ = identityLn.Close()
				run.Close()
				return nil, err
			}
			if boot.AdminPassword != "" {
				if run.CloudsFile, err = writeClouds(o, "http://"+advertise(o, run.IdentityAddr)+"/v3", boot.AdminPassword); err != nil {
					_ = identityLn.Close()
					run.Close()
					return nil, err
				}
			}
			cfg.Auth = auth.Chain{a, run.Identity}
		}
	}
	seg := o.Segments
	if seg.PhysicalNetworks == nil {
		seg.PhysicalNetworks = []string{cmp.Or(o.PublicPhysnet, neutron.DefaultPublicPhysnet)}
	}
	if o.PublicNetwork != "" {
		pub := neutron.PublicNetwork{Name: o.PublicNetwork, CIDR: o.PublicCIDR, PhysicalNetwork: o.PublicPhysnet}
		if err := neutron.EnsurePublicNetwork(ctx, st, pub, seg); err != nil {
			run.Close()
			return nil, fmt.Errorf("create public network: %w", err)
		}
	}
	run.API = neutron.New(st, cfg)
	run.API.SetSegments(seg)
	agentsrv.Register(run.API, st, controller.NewNodes(st, 0))
	cctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Run campaigns again whenever its etcd session ends, for as long
		// as the server runs: it returns only when cctx ends.
		_ = controller.New(st, log).Run(cctx)
	}()
	run.OnClose(func() { cancel(); <-done })
	resealed := make(chan struct{})
	go func() {
		defer close(resealed)
		reseal(cctx, st, keys, log)
	}()
	// Stops run in reverse: this one ends the context itself.
	run.OnClose(func() { cancel(); <-resealed })
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		run.Close()
		return nil, fmt.Errorf("listen on %s: %w", o.Listen, err)
	}
	run.Addr = ln.Addr().String()
	// Requests run under a context that Close cancels: agents' long polls
	// end at once instead of holding the shutdown (and the agents) up.
	baseCtx, cancelBase := context.WithCancel(context.Background())
	run.cancelBase = cancelBase
	mx := metrics.New(st)
	identityURL := ""
	switch {
	case o.Keystone != nil:
		identityURL = o.Keystone.URL
	case run.IdentityAddr != "":
		identityURL = "http://" + run.IdentityAddr + "/v3"
	}
	// The dashboard shares the Neutron API's address: one place to open
	// in a browser, the same tokens.
	top := http.NewServeMux()
	dash := mx.Instrument("ui", ui.Handler(ui.Config{Store: st, Auth: cfg.Auth, NoAuth: cfg.NoAuth, IdentityURL: identityURL,
		Traffic: mx.LoadBalancerTraffic, Log: log}))
	top.Handle("/ui/", dash)
	top.Handle("/ui", dash)
	top.Handle("/", mx.Instrument("neutron", run.API))
	run.srv = &http.Server{Handler: top, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second,
		BaseContext: func(net.Listener) context.Context { return baseCtx }}
	go func() {
		if err := run.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("API server stopped", "err", err)
		}
	}()
	// The other addresses, each optional. A server that cannot listen
	// where it was told refuses to start.
	extra := []struct {
		what, addr string
		to         *string
		handler    func() http.Handler
	}{
		{"analytics", o.AnalyticsListen, &run.AnalyticsAddr, run.API.Analytics},
		{"octavia", o.OctaviaListen, &run.OctaviaAddr, func() http.Handler {
			return mx.Instrument("octavia", octavia.New(st, octavia.Config{NoAuth: cfg.NoAuth, Auth: cfg.Auth, Logger: log, Quotas: o.Quotas, Secrets: keys}))
		}},
		{"metrics", o.MetricsListen, &run.MetricsAddr, func() http.Handler {
			mux := http.NewServeMux()
			mux.Handle("GET /metrics", mx.Handler())
			return mux
		}},
	}
	for _, x := range extra {
		if x.addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", x.addr)
		if err != nil {
			run.Close()
			return nil, fmt.Errorf("%s listen on %s: %w", x.what, x.addr, err)
		}
		*x.to = ln.Addr().String()
		run.serve(x.what, ln, x.handler())
	}
	if identityLn != nil {
		cat := []identity.Endpoint{{Type: "identity", Name: "keystone", URL: "http://" + advertise(o, run.IdentityAddr) + "/v3"},
			{Type: "network", Name: "neutron", URL: "http://" + advertise(o, run.Addr)}}
		if run.OctaviaAddr != "" {
			cat = append(cat, identity.Endpoint{Type: "load-balancer", Name: "octavia", URL: "http://" + advertise(o, run.OctaviaAddr)})
		}
		run.Identity.SetCatalog(cat)
		run.serve("identity", identityLn, mx.Instrument("identity", run.Identity.Handler()))
		sctx, stopSweep := context.WithCancel(context.Background())
		go run.Identity.RunSweeper(sctx, time.Minute)
		run.OnClose(stopSweep)
	}
	return run, nil
}

// serve answers on ln with h until Close.
func (r *Running) serve(what string, ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			r.log.Error(what+" server stopped", "err", err)
		}
	}()
	r.OnClose(func() { _ = srv.Close() })
}

// advertise is addr as a client elsewhere reaches it: with AdvertiseHost,
// or this machine's name in place of a wildcard host.
func advertise(o Options, addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	switch {
	case o.AdvertiseHost != "":
		host = o.AdvertiseHost
	case host == "" || net.ParseIP(host) != nil && net.ParseIP(host).IsUnspecified():
		if h, err := os.Hostname(); err == nil {
			host = h
		}
	}
	return net.JoinHostPort(host, port)
}

// writeClouds writes a clouds.yaml (mode 0600) beside the tokens file for
// the bootstrap admin: `OS_CLIENT_CONFIG_FILE=<file> OS_CLOUD=lbaas
// openstack ...` then logs in with the password.
func writeClouds(o Options, authURL, password string) (string, error) {
	path := filepath.Join(o.DataDir, "clouds.yaml")
	content := fmt.Sprintf(`# Written by lbaas server on its first start: the bootstrap admin of the
# built-in identity service. Keep it private (mode 0600).
clouds:
  lbaas:
    auth:
      auth_url: %s
      username: admin
      password: %q
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    identity_api_version: 3
`, authURL, password)
	return path, os.WriteFile(path, []byte(content), 0o600)
}

// OnClose registers a function Close runs first (controllers, analytics).
func (r *Running) OnClose(f func()) { r.stops = append(r.stops, f) }

// Close stops serving and closes the store.
func (r *Running) Close() {
	for i := len(r.stops) - 1; i >= 0; i-- {
		r.stops[i]()
	}
	if r.srv != nil {
		r.cancelBase()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := r.srv.Shutdown(ctx); err != nil {
			_ = r.srv.Close()
		}
		cancel()
	}
	if r.Store != nil {
		r.Store.Close()
	}
	if r.embedded != nil {
		r.embedded.Close()
	} else if r.cli != nil {
		r.cli.Close()
	}
}

// loadOrCreateTokens reads the tokens file; on first start it creates one
// holding the hash of a fresh admin token, and writes the token itself to
// an openrc file beside it (mode 0600) so that the operator can use it.
func loadOrCreateTokens(o Options) (*auth.Static, string, error) {
	path := o.TokensFile
	if path == "" {
		path = filepath.Join(o.DataDir, "tokens.json")
	}
	// An existing file is only read: its directory may not be writable.
	if _, err := os.Stat(path); err == nil {
		a, err := auth.Load(path)
		return a, "", err
	}
	token := auth.NewToken()
	entries := []auth.Entry{{TokenSHA256: auth.HashToken(token), Project: "admin", Role: auth.RoleAdmin}}
	// Created only if absent, atomically: of servers started together on
	// one data directory, one creates it and the others read it.
	created, err := auth.CreateFile(path, entries)
	if err != nil {
		return nil, "", err
	}
	if !created {
		a, err := auth.Load(path)
		return a, "", err
	}
	rc := filepath.Join(filepath.Dir(path), "admin-openrc")
	content := fmt.Sprintf("export OS_AUTH_TYPE=admin_token\nexport OS_URL=http://%s\nexport OS_TOKEN=%s\n", o.Listen, token)
	if err := os.WriteFile(rc, []byte(content), 0o600); err != nil {
		return nil, "", err
	}
	a, err := auth.New(entries)
	return a, token, err
}

// resealEvery is how often a server looks for private keys under an older
// key of its key file (or in the clear), besides at start.
const resealEvery = 10 * time.Minute

// reseal seals again, with the key file's first key, what it finds under
// an older one, at start and then every resealEvery, until ctx ends. The
// log says when nothing is left under an older key: the moment an operator
// rotating keys may remove the old one from the file.
func reseal(ctx context.Context, st *store.Store, keys *secrets.Keyring, log *slog.Logger) {
	for {
		n, unknown, err := neutron.ResealCertificates(ctx, st, keys)
		switch {
		case err != nil:
			log.Error("resealing private keys", "err", err, "resealed", n)
		case n > 0:
			log.Info("resealed private keys with the key file's first key; none is left under an older one", "key", keys.Primary(), "certificates", n)
		}
		if unknown > 0 {
			log.Warn("private keys are sealed with a key this server's key file lacks: give every server the same key file", "certificates", unknown)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(resealEvery):
		}
	}
}

package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"lbaas/internal/api/keystone"
	"lbaas/internal/controller"
	"lbaas/internal/model"
	"lbaas/internal/segment"
	"lbaas/internal/server"
	"lbaas/internal/store"
)

func serverCommand() *cobra.Command {
	var o server.Options
	var authMode, logLevel, quotas, vnis string
	var ks keystone.Config
	var ksPasswordFile string
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Serve the Neutron LBaaS API (store: embedded etcd unless --etcd-endpoints)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch authMode {
			case "builtin":
			case "token":
				o.IdentityListen = ""
			case "keystone":
				o.IdentityListen = ""
				if ksPasswordFile == "" {
					return fmt.Errorf("--auth keystone needs --keystone-password-file (the service user's password; never on the command line)")
				}
				b, err := os.ReadFile(ksPasswordFile)
				if err != nil {
					return fmt.Errorf("--keystone-password-file: %w", err)
				}
				ks.Password = strings.TrimRight(string(b), "\r\n")
				o.Keystone = &ks
			case "none":
				o.NoAuth = true
			default:
				return fmt.Errorf("--auth must be builtin, keystone, token or none, not %q", authMode)
			}
			limits, err := model.ParseLimits(quotas)
			if err != nil {
				return fmt.Errorf("--quota-defaults: %w", err)
			}
			o.Quotas = limits
			if o.Segments.VNIs, err = segment.ParseRange(vnis); err != nil {
				return fmt.Errorf("--vni-ranges: %w", err)
			}
			o.Logger = newLogger(logLevel)
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			run, err := server.Start(ctx, o)
			if err != nil {
				return err
			}
			defer run.Close()
			o.Logger.Info("serving the Neutron API", "addr", run.Addr, "data_dir", o.DataDir)
			if run.OctaviaAddr != "" {
				o.Logger.Info("serving the Octavia v2 API", "addr", run.OctaviaAddr)
			}
			if run.IdentityAddr != "" {
				o.Logger.Info("serving the identity API (Keystone v3)", "addr", run.IdentityAddr)
			}
			if run.MetricsAddr != "" {
				o.Logger.Info("serving Prometheus metrics", "url", "http://"+run.MetricsAddr+"/metrics")
			}
			if run.AdminToken != "" {
				fmt.Fprintf(os.Stderr, "created an admin token; use it with: source %s/admin-openrc\n", o.DataDir)
			}
			if run.CloudsFile != "" {
				fmt.Fprintf(os.Stderr, "created the identity service's admin; log in with: export OS_CLIENT_CONFIG_FILE=%s OS_CLOUD=lbaas\n", run.CloudsFile)
			}
			<-ctx.Done()
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Listen, "listen", "127.0.0.1:9696", "address of the Neutron API")
	f.StringVar(&o.AnalyticsListen, "analytics-listen", "127.0.0.1:8081", "address of the analytics API (service-instance UVEs); empty: off")
	f.StringVar(&o.OctaviaListen, "octavia-listen", "127.0.0.1:9876", "address of the Octavia v2 API (/v2/lbaas, /v2.0/lbaas); empty: off")
	f.StringVar(&o.MetricsListen, "metrics-listen", "127.0.0.1:9797", "address of /metrics (Prometheus text format; tenant-free: keep it on loopback or firewalled); empty: off")
	f.StringVar(&o.DataDir, "data-dir", "/var/lib/lbaas", "directory of the embedded etcd and the tokens file")
	f.StringSliceVar(&o.EtcdEndpoints, "etcd-endpoints", nil, "use this external etcd cluster instead of the embedded one")
	f.StringVar(&authMode, "auth", "builtin", "who answers for tokens beside the tokens file: builtin (the built-in identity service on --identity-listen), keystone (a Keystone: --keystone-*), token (the tokens file alone), none (everyone is admin: local experiments only)")
	f.StringVar(&ks.URL, "keystone-url", "", "with --auth keystone: Keystone's identity endpoint, e.g. http://keystone:5000/v3")
	f.StringVar(&ks.Username, "keystone-user", "lbaas", "with --auth keystone: the service user that validates tokens (it needs the service or admin role on its project)")
	f.StringVar(&ksPasswordFile, "keystone-password-file", "", "with --auth keystone: a file holding the service user's password")
	f.StringVar(&ks.ProjectName, "keystone-project", "service", "with --auth keystone: the service user's project")
	f.StringVar(&ks.UserDomain, "keystone-user-domain", "Default", "with --auth keystone: the service user's domain name")
	f.StringVar(&ks.ProjectDomain, "keystone-project-domain", "Default", "with --auth keystone: the service project's domain name")
	f.DurationVar(&ks.CacheTTL, "keystone-cache-ttl", keystone.DefaultCacheTTL, "with --auth keystone: how long a validated token is trusted before Keystone is asked again (how late a revocation may be seen)")
	f.IntVar(&ks.MaxConcurrent, "keystone-max-concurrent", keystone.DefaultMaxConcurrent, "with --auth keystone: validations in flight to Keystone at once (the others wait their turn)")
	f.StringVar(&o.IdentityListen, "identity-listen", "127.0.0.1:5000", "address of the built-in identity service (Keystone v3 at /v3) with --auth builtin")
	f.StringVar(&o.AdvertiseHost, "advertise-host", "", "host name or address the identity catalog gives for the APIs (default: each listen address's host, this machine's name for a wildcard)")
	f.StringVar(&o.TokensFile, "tokens-file", "", "tokens file (default <data-dir>/tokens.json, created with an admin token if missing)")
	f.StringVar(&o.SecretsKeyFile, "secrets-key-file", "", "keys that seal private keys before they reach the store, \"<id> <base64 32 bytes>\" per line, newest first (default <data-dir>/secrets.key, made with a random key if missing; servers sharing an etcd need the same file)")
	f.StringVar(&o.PublicNetwork, "public-network", "Public", "name of the external network created on first start (empty: none)")
	f.StringVar(&o.PublicCIDR, "public-cidr", "172.24.4.0/24", "CIDR of the external network's subnet")
	f.StringVar(&o.PublicPhysnet, "public-physical-network", "public", "physical network the external network is flat on; network nodes map it with --physical-interface-mappings")
	f.StringSliceVar(&o.Segments.PhysicalNetworks, "physical-networks", []string{"public"}, "physical networks that flat and vlan networks may name (each agent maps them to an interface)")
	f.StringVar(&vnis, "vni-ranges", segment.DefaultVNIs.String(), "VXLAN ids handed to tenant networks, MIN:MAX")
	f.IntVar(&o.Segments.MTU, "global-physnet-mtu", 1500, "MTU of the underlay; a vxlan network's ports get 50 bytes less")
	f.DurationVar(&o.StoreTimeout, "store-timeout", store.DefaultWriteTimeout, "how long a request waits for etcd (a leader change, a lost quorum) before it is answered 503 with Retry-After")
	f.StringVar(&quotas, "quota-defaults", "", "limits of projects an admin set none for, e.g. load_balancer=10,member=500 (kinds: load_balancer, listener, pool, member, health_monitor, l7policy, l7rule; not named: unlimited)")
	f.DurationVar(&controller.PendingLimit, "pending-limit", controller.PendingLimit, "how long a load balancer may read PENDING_* before it reads ERROR with the reason (it turns ACTIVE by itself once its VMs catch up)")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

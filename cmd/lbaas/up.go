package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"lbaas/internal/up"
)

func upCommand() *cobra.Command {
	var o up.Options
	var logLevel string
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run everything on this machine (root): API server, 3 agents, fabric, demo web servers, the seed workflow",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.ServerLogLevel = logLevel
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			out := cmd.OutOrStdout()
			nets := "network-1"
			if o.NetworkNodes > 1 {
				nets = fmt.Sprintf("network-1..%d (the floating-IP router active/standby)", o.NetworkNodes)
			}
			fmt.Fprintf(out, "== Starting the API server on %s, agents compute-1..%d and %s (state in %s)\n", o.Listen, o.Nodes, nets, o.Dir)
			start := time.Now()
			c, err := up.Start(ctx, o)
			if err != nil {
				return err
			}
			defer func() {
				fmt.Fprintln(out, "\n== Cleaning up: deleting the load balancers, stopping the agents, removing namespaces")
				c.Close()
				fmt.Fprintln(out, "== Done")
			}()
			fmt.Fprintf(out, "== Up in %s\n", time.Since(start).Round(time.Millisecond))
			demo, err := c.RunDemo(ctx, out)
			if err != nil {
				return err
			}
			ns := demo.ClientNamespace
			fmt.Fprintf(out, `
== Both load balancers are ACTIVE: each runs as an active/standby pair of HAProxy instances.

  HTTP through its floating IP (round robin over 10.1.1.2 and 10.1.1.3), and at its VIP:
    ip netns exec %[1]s curl -s http://%[2]s/
    ip netns exec %[1]s curl -s http://%[10]s/

  HTTPS, terminated with the project's certificate, verified with the demo CA:
    ip netns exec %[1]s curl -s --cacert %[3]s --resolve %[4]s:443:%[5]s https://%[4]s/

  The API, with the real neutron client or ours:
    export OS_AUTH_TYPE=admin_token OS_URL=%[6]s OS_TOKEN=%[7]s
    neutron lb-pool-list        # or: %[8]s lb-pool-list

  The Octavia v2 API, with the real openstack client or ours:
    export OS_CLOUD=envvars OS_ENDPOINT=%[6]s OS_LOAD_BALANCER_ENDPOINT_OVERRIDE=%[11]s
    openstack loadbalancer list # or: %[8]s loadbalancer list
    %[8]s si-list
%[12]s
    curl -s -H "X-Auth-Token: $OS_TOKEN" http://%[9]s/analytics/uves/service-instances?flat
%[13]s
Ctrl-C stops everything and cleans up.
`, ns, demo.HTTPFloatingIP, demo.CAFile, up.DemoHost, demo.HTTPSFloatingIP, c.URL, c.AdminToken, os.Args[0], c.AnalyticsAddr, demo.HTTPVIP, c.OctaviaURL, identityHint(c), metricsHint(c))
			<-ctx.Done()
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Dir, "dir", "/run/lbaas-up", "where the all-in-one keeps its state (removed on exit)")
	f.StringVar(&o.Listen, "listen", "127.0.0.1:9696", "address of the API")
	f.StringVar(&o.AnalyticsListen, "analytics-listen", "127.0.0.1:8081", "address of the analytics API (service-instance UVEs)")
	f.StringVar(&o.OctaviaListen, "octavia-listen", "127.0.0.1:9876", "address of the Octavia v2 API; empty: off")
	f.StringVar(&o.IdentityListen, "identity-listen", "127.0.0.1:5000", "address of the built-in identity service (Keystone v3); empty: off")
	f.StringVar(&o.MetricsListen, "metrics-listen", "127.0.0.1:9797", "address of /metrics (Prometheus text format); empty: off")
	f.IntVar(&o.Nodes, "nodes", 3, "number of compute agents")
	f.IntVar(&o.NetworkNodes, "network-nodes", 1, "number of network agents; with two or more the floating-IP router runs active/standby")
	f.BoolVar(&o.Hosts, "hosts", false, "simulate one host per agent: a namespace each on a shared underlay, networks joined by VXLAN (as on separate machines), tenants' servers on a host of their own")
	f.StringVar(&logLevel, "log-level", "warn", "server log level")
	return cmd
}

// metricsHint points at the dashboard, the event history and /metrics.
func metricsHint(c *up.Cluster) string {
	out := fmt.Sprintf("\n  The dashboard, live (log in with the token above, OS_TOKEN): %s/ui/\n  The event history:\n    %s event-list --limit 20\n", c.URL, os.Args[0])
	if c.MetricsURL == "" {
		return out
	}
	return out + fmt.Sprintf("\n  Prometheus metrics (every load balancer's traffic, the control plane):\n    curl -s %s | grep '^lbaas_listener_requests_total'\n", c.MetricsURL)
}

// identityHint tells how to log in with a password through the built-in
// identity service, as clouds with Keystone do.
func identityHint(c *up.Cluster) string {
	if c.CloudsFile == "" {
		return ""
	}
	return fmt.Sprintf(`
  Or log in as a cloud user does (a password, the catalog from the identity service at %s):
    export OS_CLIENT_CONFIG_FILE=%s OS_CLOUD=lbaas
    openstack loadbalancer list
    openstack network list
`, c.IdentityURL, c.CloudsFile)
}

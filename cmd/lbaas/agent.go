package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"lbaas/internal/agent"
	"lbaas/internal/agentapi"
	"lbaas/internal/netns"
	"lbaas/internal/probe"
	"lbaas/internal/vrrp"
)

func agentCommand() *cobra.Command {
	var node, serverURL, tokenFile, stateDir, fabricNS, routerNS, logLevel, hostNS, localIP, zone string
	var roles, mappings []string
	var advert time.Duration
	var noVRRP bool
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run a node's agent (root): HAProxy instances in network namespaces",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if os.Geteuid() != 0 {
				return fmt.Errorf("the agent manages namespaces and processes and must run as root")
			}
			var err error
			token := ""
			if tokenFile != "" {
				b, err := os.ReadFile(tokenFile)
				if err != nil {
					return fmt.Errorf("node credential: %w", err)
				}
				token = strings.TrimSpace(string(b))
			}
			opts := netns.FabricOptions{Namespace: fabricNS, HostNamespace: hostNS}
			if localIP != "" {
				ip, err := netip.ParseAddr(localIP)
				if err != nil || !ip.Is4() {
					return fmt.Errorf("--local-ip %q is not an IPv4 address", localIP)
				}
				opts.LocalIP = ip
			}
			if opts.Mappings, err = netns.ParseMappings(mappings); err != nil {
				return fmt.Errorf("--physical-interface-mappings: %w", err)
			}
			fabric, err := netns.NewFabric(opts)
			if err != nil {
				return err
			}
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			if stateDir == "" {
				stateDir = "/var/lib/lbaas/agent/" + node
			}
			log := newLogger(logLevel).With("component", "agent")
			a, err := agent.New(agent.Options{
				Node:            node,
				Client:          &agentapi.Client{BaseURL: serverURL, Token: token, Node: node},
				StateDir:        stateDir,
				Roles:           roles,
				Fabric:          fabric,
				TunnelIP:        opts.LocalIP,
				Zone:            zone,
				RouterNamespace: routerNS,
				Executable:      exe,
				AdvertInterval:  advert,
				NoVRRP:          noVRRP,
				Logger:          log,
			})
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			log.Info("agent started", "node", node, "server", serverURL, "roles", roles, "state_dir", stateDir)
			_ = a.Run(ctx)
			log.Info("agent stopped; the load balancers it started keep running")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&node, "node", "", "this node's name (required)")
	f.StringVar(&serverURL, "server", "http://127.0.0.1:9696", "URL of the API server")
	f.StringVar(&tokenFile, "token-file", "", "file holding this node's credential")
	f.StringVar(&stateDir, "state-dir", "", "where instances keep their files (default /var/lib/lbaas/agent/<node>)")
	f.StringSliceVar(&roles, "roles", []string{"compute"}, "compute (runs load balancers), network (runs the floating-IP router), both, or host (only carries the networks of ports bound to it)")
	f.StringVar(&fabricNS, "fabric-namespace", netns.DefaultFabricNamespace, "namespace of this host's network fabric (one bridge per network)")
	f.StringVar(&hostNS, "host-namespace", "", "namespace that stands for this host: its tunnel address and mapped interfaces live there (default: the namespace the agent runs in; set it only to simulate several hosts on one machine)")
	f.StringVar(&zone, "availability-zone", "", "this node's failure domain (a rack, a room): a load balancer's two VMs go to different zones when live nodes allow, and an availability zone whose profile names this compute_zone places its load balancers here")
	f.StringVar(&localIP, "local-ip", "", "this host's VXLAN endpoint, an address of the host; empty: no overlay (every agent of the machine shares one fabric)")
	f.StringSliceVar(&mappings, "physical-interface-mappings", nil, "PHYSNET:INTERFACE,... the interfaces of this host that carry flat and vlan networks (e.g. public:eth1)")
	f.StringVar(&routerNS, "router-namespace", agent.DefaultRouterNamespace, "namespace of the floating-IP router (network role)")
	f.DurationVar(&advert, "advert-interval", 0, "VRRP advertisement interval between the two VMs of a load balancer (default "+vrrp.DefaultAdvertInterval.String()+")")
	f.BoolVar(&noVRRP, "no-vrrp", false, "do not run keepalived: the active VM holds the VIP and only the controller moves it")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	_ = cmd.MarkFlagRequired("node")
	return cmd
}

// pingCheckCommand is what HAProxy runs for a PING health monitor.
func pingCheckCommand() *cobra.Command {
	return &cobra.Command{
		Use:                "ping-check [-timeout D] <proxy_addr> <proxy_port> <server_addr> <server_port>",
		Short:              "HAProxy external check: one ICMP echo to the server (used by PING monitors)",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			os.Exit(probe.RunPingCheck(args, os.Environ()))
			return nil
		},
	}
}

package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"lbaas/bench"
)

// report is what every benchmark returns.
type report interface{ WriteReport(path string) error }

// benchVerb builds one `lbaas bench <name>` command: run it beside its
// baseline, write its report.
func benchVerb(name, short, out string, flags func(*pflag.FlagSet), run func(ctx context.Context, exe string, quick bool) (report, error)) *cobra.Command {
	var path string
	var quick bool
	cmd := &cobra.Command{
		Use:   name,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			rep, err := run(ctx, exe, quick)
			if err != nil {
				return err
			}
			if err := rep.WriteReport(path); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", path)
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "out", out, "report file")
	cmd.Flags().BoolVar(&quick, "quick", false, "a small run")
	if flags != nil {
		flags(cmd.Flags())
	}
	return cmd
}

func benchCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Run the benchmarks beside their baselines and write their reports",
	}
	var lbs int
	var scale bench.ScaleOptions
	var spurious time.Duration
	var alternatives []time.Duration
	var rerender string
	var octaviaDir string
	cmd.AddCommand(
		benchVerb("api", "API create and list throughput: 10,000 members in 100 pools, beside raw etcd and plain net/http",
			"bench/REPORT-api.md", nil,
			func(ctx context.Context, _ string, quick bool) (report, error) {
				return bench.RunAPI(ctx, bench.APIOptions{Progress: os.Stderr, Quick: quick})
			}),
		benchVerb("identity", "Identity: what validating a token adds to a cheap API request (tokens file, built-in identity, a real Keystone warm and cold) beside --auth none, and Keystone calls under a steady 1,000 req/s over 100 tokens",
			"bench/REPORT-identity.md", nil,
			func(ctx context.Context, _ string, quick bool) (report, error) {
				return bench.RunIdentity(ctx, bench.IdentityOptions{Progress: os.Stderr, Quick: quick})
			}),
		benchVerb("octavia", "Octavia v2 API (root): LB creates, lists of LBs and members, get, batch replace, beside the real Octavia API started from its baseline scripts",
			"bench/REPORT-octavia.md",
			func(f *pflag.FlagSet) {
				f.StringVar(&octaviaDir, "baseline", bench.DefaultOctaviaBaseline, "directory of the Octavia baseline's start.sh, activate.sh, stop.sh")
			},
			func(ctx context.Context, _ string, quick bool) (report, error) {
				return bench.RunOctavia(ctx, bench.OctaviaOptions{Baseline: octaviaDir, Quick: quick, Progress: os.Stderr})
			}),
		benchVerb("dataplane", "Data plane (root): req/s through the VIP beside hand-written HAProxy and direct, provisioning time, member changes under load, footprint",
			"bench/REPORT-dataplane.md",
			func(f *pflag.FlagSet) {
				f.IntVar(&lbs, "load-balancers", 50, "load balancers created for the footprint measure")
			},
			func(ctx context.Context, exe string, quick bool) (report, error) {
				return bench.RunDataplane(ctx, bench.DataplaneOptions{Binary: exe, Quick: quick, LoadBalancers: lbs, Progress: os.Stderr})
			}),
		benchVerb("hosts", "Hosts (root): req/s and p99 through a load balancer whose VMs, members and clients are on different simulated hosts (VXLAN) beside the same on one host",
			"bench/REPORT-hosts.md", nil,
			func(ctx context.Context, exe string, quick bool) (report, error) {
				return bench.RunHosts(ctx, bench.DataplaneOptions{Binary: exe, Quick: quick, Progress: os.Stderr})
			}),
		benchVerb("scale", "Scale: scheduling and repair of 10,000 load balancers on 1,000 simulated agents against the real server and store (no data plane), a tenth of the nodes killed at once",
			"bench/REPORT-scale.md",
			func(f *pflag.FlagSet) {
				f.IntVar(&scale.Nodes, "nodes", 1000, "simulated agents")
				f.IntVar(&scale.LoadBalancers, "load-balancers", 10000, "load balancers created")
				f.IntVar(&scale.Zones, "zones", 10, "failure domains the nodes are spread over")
				f.StringVar(&scale.ProfileDir, "profile-dir", "", "write CPU profiles of the creation and the repair here")
			},
			func(ctx context.Context, _ string, quick bool) (report, error) {
				o := scale
				o.Quick, o.Progress = quick, os.Stderr
				return bench.RunScale(ctx, o)
			}),
		benchVerb("metrics", "Metrics: GET /metrics with 10 and 1,000 load balancers in a real store, beside the one stats call per load balancer an Octavia exporter makes",
			"bench/REPORT-metrics.md", nil,
			func(ctx context.Context, _ string, quick bool) (report, error) {
				return bench.RunMetrics(ctx, bench.MetricsOptions{Quick: quick, Progress: os.Stderr})
			}),
		benchVerb("failover", "Failover (root): the outage of each trigger idle and saturated beside keepalived with a 1 s advert, the advert interval's trade-off, restarts, spurious failovers under load",
			"bench/REPORT-failover.md",
			func(f *pflag.FlagSet) {
				f.DurationVar(&spurious, "spurious-duration", time.Minute, "how long to watch for spurious failovers under saturating load, per advert interval watched (the goal asks for 10m)")
				f.DurationSliceVar(&alternatives, "alternatives", []time.Duration{10 * time.Millisecond, 20 * time.Millisecond},
					"advert intervals tried beside the shipped one (silent node death idle and saturated, spurious watch); 0 for none")
				f.StringVar(&rerender, "rerender", "", "write the report again from the data a run saved (its .json beside the report) instead of running")
			},
			func(ctx context.Context, exe string, quick bool) (report, error) {
				if rerender != "" {
					return bench.LoadFailoverReport(rerender)
				}
				return bench.RunFailover(ctx, bench.FailoverOptions{Binary: exe, Quick: quick, SpuriousDuration: spurious,
					Alternatives: alternatives, Progress: os.Stderr})
			}),
	)
	return cmd
}

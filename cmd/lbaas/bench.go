package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"lbaas/bench"
)

func benchCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Run the benchmarks beside their baselines and write their reports",
	}
	var out string
	var quick bool
	api := &cobra.Command{
		Use:   "api",
		Short: "API create and list throughput: 10,000 members in 100 pools, beside raw etcd and plain net/http",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			rep, err := bench.RunAPI(ctx, bench.APIOptions{Progress: os.Stderr, Quick: quick})
			if err != nil {
				return err
			}
			if err := rep.WriteReport(out); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", out)
			return nil
		},
	}
	api.Flags().StringVar(&out, "out", "bench/REPORT-api.md", "report file")
	api.Flags().BoolVar(&quick, "quick", false, "a small run (10 pools x 20 members)")
	var dpOut string
	var lbs int
	dp := &cobra.Command{
		Use:   "dataplane",
		Short: "Data plane (root): req/s through the VIP beside hand-written HAProxy and direct, provisioning time, member changes under load, footprint",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			rep, err := bench.RunDataplane(ctx, bench.DataplaneOptions{Binary: exe, Quick: quick, LoadBalancers: lbs, Progress: os.Stderr})
			if err != nil {
				return err
			}
			if err := rep.WriteReport(dpOut); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", dpOut)
			return nil
		},
	}
	dp.Flags().StringVar(&dpOut, "out", "bench/REPORT-dataplane.md", "report file")
	dp.Flags().BoolVar(&quick, "quick", false, "a small run")
	dp.Flags().IntVar(&lbs, "load-balancers", 50, "load balancers created for the footprint measure")
	var foOut string
	var spurious time.Duration
	fo := &cobra.Command{
		Use:   "failover",
		Short: "Failover (root): the outage of each trigger beside keepalived with a 1 s advert, restarts, spurious failovers under load",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			rep, err := bench.RunFailover(ctx, bench.FailoverOptions{Binary: exe, Quick: quick, SpuriousDuration: spurious, Progress: os.Stderr})
			if err != nil {
				return err
			}
			if err := rep.WriteReport(foOut); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", foOut)
			return nil
		},
	}
	fo.Flags().StringVar(&foOut, "out", "bench/REPORT-failover.md", "report file")
	fo.Flags().BoolVar(&quick, "quick", false, "a small run")
	fo.Flags().DurationVar(&spurious, "spurious-duration", time.Minute, "how long to watch for spurious failovers under saturating load (the goal asks for 10m)")
	cmd.AddCommand(api, dp, fo)
	return cmd
}

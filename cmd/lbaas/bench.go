package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

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
	cmd.AddCommand(api)
	return cmd
}

package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"lbaas/internal/arbiter"
	"lbaas/internal/realtime"
	"lbaas/internal/vrrp"
)

// arbiterCommand is the process a network node's agent starts in the
// router namespace (see internal/arbiter).
func arbiterCommand() *cobra.Command {
	var ns, config, pidFile string
	cmd := &cobra.Command{
		Use:    "vrrp-arbiter",
		Short:  "Pin each VIP's router entry to the VM that holds it (started by a network node's agent)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if pidFile != "" {
				if err := os.WriteFile(pidFile, []byte(fmt.Sprintf("%d\n", os.Getpid())), 0o600); err != nil {
					return err
				}
				defer os.Remove(pidFile)
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			log := newLogger("info").With("component", "arbiter")
			// The arbiter is on the advert path (it relays adverts and
			// moves the VIP's pin): it runs at keepalived's realtime
			// priority, or late adverts could be dropped as stale.
			if err := realtime.Enable(vrrp.RealtimePriority, vrrp.RealtimeCPULimit); err != nil {
				log.Warn("running without realtime scheduling: adverts may be relayed late on a busy host", "err", err)
			}
			return arbiter.Run(ctx, ns, config, log)
		},
	}
	f := cmd.Flags()
	f.StringVar(&ns, "namespace", "", "the router namespace")
	f.StringVar(&config, "config", "", "the arbiter's config file (written by the agent)")
	f.StringVar(&pidFile, "pid-file", "", "where to write this process's pid")
	return cmd
}

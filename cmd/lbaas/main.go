// Command lbaas is the whole service in one binary: the API server, the
// node agent, the all-in-one demo, and the neutron-style client verbs.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"lbaas/internal/cli"
)

func main() {
	root := &cobra.Command{
		Use:           "lbaas",
		Short:         "Load Balancer as a Service: Neutron LBaaS v1 API, HAProxy data plane",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(serverCommand(), agentCommand(), upCommand(), benchCommand(), pingCheckCommand(), arbiterCommand())
	cli.Register(root)
	if err := root.Execute(); err != nil {
		if !cli.Reported(err) {
			fmt.Fprintln(os.Stderr, "lbaas:", err)
		}
		os.Exit(cli.ExitCode(err))
	}
}

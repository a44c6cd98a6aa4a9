package cli

import (
	"fmt"
	"os"
	"testing"

	"github.com/spf13/cobra"
)

// TestMain lets the test binary double as the lbaas CLI: the seed-script
// test points NEUTRON at a wrapper that re-executes this binary with
// LBAAS_CLI_TEST_MAIN=1.
func TestMain(m *testing.M) {
	if os.Getenv("LBAAS_CLI_TEST_MAIN") == "1" {
		root := &cobra.Command{Use: "lbaas", SilenceErrors: true, SilenceUsage: true}
		Register(root)
		root.SetArgs(os.Args[1:])
		err := root.Execute()
		if err != nil && !Reported(err) {
			fmt.Fprintln(os.Stderr, err)
		}
		os.Exit(ExitCode(err))
	}
	code := m.Run()
	stopIdentity()
	stopV2()
	os.Exit(code)
}

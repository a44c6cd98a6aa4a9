package bench

import (
	"os"
	"os/exec"
	"testing"
)

// needRootAnd skips a benchmark test that builds namespaces unless it runs
// as root with every binary it starts.
func needRootAnd(t *testing.T, what string, bins ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip(what + " builds namespaces and needs root")
	}
	for _, bin := range bins {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s needs %s", what, bin)
		}
	}
}

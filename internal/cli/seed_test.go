package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// seedScript finds the acceptance script: the shared copy if present,
// else the one in testdata.
func seedScript(t *testing.T) string {
	for _, p := range []string{"/work/shared/api/seed-workflow.sh", "testdata/seed-workflow.sh"} {
		if _, err := os.Stat(p); err == nil {
			abs, _ := filepath.Abs(p)
			return abs
		}
	}
	t.Skip("seed-workflow.sh not found")
	return ""
}

func runSeed(t *testing.T, token string) string {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("needs bash")
	}
	script := seedScript(t)
	f := newFakeNeutron(t, "secret", "notused")
	wrapper := filepath.Join(t.TempDir(), "lbaas")
	if err := os.WriteFile(wrapper, []byte("#!/bin/sh\nLBAAS_CLI_TEST_MAIN=1 exec '"+os.Args[0]+"' \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bash, script)
	cmd.Env = append(os.Environ(),
		"LBAAS_URL="+f.srv.URL, "LBAAS_TOKEN="+token, "NEUTRON="+wrapper, "SEED_CREATE_PUBLIC=1")
	// Bound the run: kill only the script process we started.
	timer := time.AfterFunc(2*time.Minute, func() {
		if cmd.Process != nil {
			_ = cmd.Process.Kill()
		}
	})
	defer timer.Stop()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("seed workflow failed: %v\n%s", err, out)
	}
	return string(out)
}

func TestSeedWorkflowPassesWithTokenAuth(t *testing.T) {
	out := runSeed(t, "secret")
	if testing.Verbose() {
		t.Log(out)
	}
	if !strings.Contains(out, "SEED WORKFLOW PASSED") {
		t.Fatalf("no PASSED line:\n%s", out)
	}
}

func TestSeedWorkflowPassesWithNoAuthSendingNotused(t *testing.T) {
	// An empty LBAAS_TOKEN makes the script export OS_AUTH_TYPE=none and
	// OS_ENDPOINT; the fake only accepts "secret" or "notused".
	out := runSeed(t, "")
	if !strings.Contains(out, "SEED WORKFLOW PASSED") {
		t.Fatalf("no PASSED line:\n%s", out)
	}
}

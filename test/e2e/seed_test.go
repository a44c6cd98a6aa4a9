package e2e

import (
	"os/exec"
	"strings"
	"testing"
)

// runSeed runs the seed workflow script unchanged with the given client.
func runSeed(t *testing.T, client string) {
	script := sharedFile(t, "api/seed-workflow.sh")
	srv := startServer(t, "", "")
	cmd := exec.Command("bash", script)
	cmd.Env = append(withoutOS(), "LBAAS_URL="+srv.url(), "LBAAS_TOKEN="+srv.token, "NEUTRON="+client)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "SEED WORKFLOW PASSED") {
		t.Fatalf("seed workflow with %s failed: %v\n%s\nserver log:\n%s", client, err, out, srv.log.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	t.Log(lines[len(lines)-1])
}

func TestSeedWorkflowPassesWithTheRealNeutronClient(t *testing.T) {
	// A client workflow: it runs beside the others after the rest of the
	// package (see workflowsInParallel).
	t.Parallel()
	neutron, err := exec.LookPath("neutron")
	if err != nil {
		t.Skip("the neutron CLI (Debian python3-neutronclient) is not installed")
	}
	runSeed(t, neutron)
}

func TestSeedWorkflowPassesWithTheLbaasCLI(t *testing.T) {
	// A client workflow: it runs beside the others after the rest of the
	// package (see workflowsInParallel).
	t.Parallel()
	runSeed(t, lbaasBin)
}

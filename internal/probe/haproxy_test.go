package probe

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"lbaas/internal/netns"
)

// checkCommandName makes the test binary double as the external-check
// command: HAProxy clears the environment of external checks, so the name
// it is invoked under (argv[0], a symlink) is the only signal that survives.
const checkCommandName = "lbaas-ping-check"

func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == checkCommandName {
		os.Exit(RunPingCheck(os.Args[1:], os.Environ()))
	}
	os.Exit(m.Run())
}

func TestHAProxyExternalCheckMarksPingableServerUpAndSilentServerDown(t *testing.T) {
	requireRoot(t)
	haproxy, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("needs the haproxy binary")
	}
	ns := silentNamespace(t, "haproxy")
	dir := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	check := filepath.Join(dir, checkCommandName)
	if err := os.Symlink(self, check); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "admin.sock")
	cfg := fmt.Sprintf(`global
    maxconn 100
    external-check
    insecure-fork-wanted
    stats socket %[1]s mode 600 level admin

defaults
    mode tcp
    timeout connect %[4]s
    timeout client 5s
    timeout server 5s
    timeout check 3s
# HAProxy 2.6 kills an external check after min(inter, timeout connect), not
# after "timeout check": both must exceed the ping timeout of the check.

backend pool
    option external-check
    external-check command %[2]s
    server alive 10.99.7.1:80 check inter %[4]s fall 2 rise 2
    server silent %[3]s:80 check inter %[4]s fall 2 rise 2
`, sock, check, silentAddr, checkWindow)
	cfgPath := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	// A file, not a buffer: haproxy writes while the test may read it.
	logs, err := os.Create(filepath.Join(dir, "haproxy.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	cmd := exec.Command(haproxy, "-db", "-f", cfgPath)
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{} // stay in our session: the test owns it
	if err := netns.StartProcess(ns, cmd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM) // by PID, our own child only
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})

	deadline := time.Now().Add(20 * time.Second)
	var last map[string][2]string
	for time.Now().Before(deadline) {
		time.Sleep(300 * time.Millisecond)
		st, err := serverStates(sock)
		if err != nil {
			continue // socket not up yet
		}
		last = st
		if st["alive"] == [2]string{"UP", "PROCOK"} && st["silent"][0] == "DOWN" && st["silent"][1] == "PROCERR" {
			return
		}
	}
	out, _ := os.ReadFile(logs.Name())
	t.Fatalf("servers never reached alive=UP/PROCOK silent=DOWN/PROCERR; last %v\nhaproxy output:\n%s", last, out)
}

// serverStates returns status and check_status per server of backend pool
// from "show stat".
func serverStates(sock string) (map[string][2]string, error) {
	c, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("show stat\n")); err != nil {
		return nil, err
	}
	var b strings.Builder
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		b.WriteString(strings.TrimPrefix(sc.Text(), "# ") + "\n")
	}
	r := csv.NewReader(strings.NewReader(b.String()))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil || len(recs) < 2 {
		return nil, fmt.Errorf("bad show stat output: %v", err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	out := map[string][2]string{}
	for _, rec := range recs[1:] {
		if len(rec) > col["check_status"] && rec[col["pxname"]] == "pool" {
			out[rec[col["svname"]]] = [2]string{rec[col["status"]], rec[col["check_status"]]}
		}
	}
	return out, nil
}

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// lbaasBin is the binary built once for the whole package.
var lbaasBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lbaas-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	lbaasBin = filepath.Join(dir, "lbaas")
	build := exec.Command("go", "build", "-o", lbaasBin, "../../cmd/lbaas")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building lbaas:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// repoRoot is the repository's top directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	abs, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// sharedFile finds a file of ../shared beside the repository; CI has it,
// a bare clone may not.
func sharedFile(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join(repoRoot(t), "..", "shared", rel)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing; CI must run with shared/ beside the repository", p)
		}
		t.Skipf("%s is missing (shared/ is not beside the repository)", p)
	}
	return p
}

func freeAddr(t *testing.T) string {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 500 {
		port := portBandLow + rand.IntN(portBandHigh-portBandLow)
		if portsGiven[port] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		l.Close()
		portsGiven[port] = true
		return l.Addr().String()
	}
	t.Fatal("no free loopback port in this package's band")
	return ""
}

// Ports for our servers come from a band below the kernel's ephemeral range
// (32768 and up by default), of this package's own: a port the kernel
// picked for us could be taken, between our check and the server's bind,
// as the source port of any outgoing connection, or by a test package
// running beside this one (test/etcdfaults picks from 27000-32767). A CI
// run failed on exactly that ("address already in use").
const portBandLow, portBandHigh = 20000, 27000

var (
	portsMu    sync.Mutex
	portsGiven = map[int]bool{}
)

// serverProc is an `lbaas server` child process.
type serverProc struct {
	t       *testing.T
	addr    string
	dataDir string
	token   string
	cmd     *exec.Cmd
	log     *bytes.Buffer
}

// startServer runs `lbaas server` on a fresh or given data directory and
// waits until the API answers.
func startServer(t *testing.T, dataDir, addr string, extra ...string) *serverProc {
	t.Helper()
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	if addr == "" {
		addr = freeAddr(t)
	}
	args := append([]string{"server", "--listen", addr, "--analytics-listen", freeAddr(t), "--octavia-listen", freeAddr(t), "--identity-listen", "", "--metrics-listen", "", "--data-dir", dataDir, "--log-level", "warn"}, extra...)
	p := &serverProc{t: t, addr: addr, dataDir: dataDir, log: &bytes.Buffer{}}
	p.cmd = exec.Command(lbaasBin, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.stop)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/v2.0/networks")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not answer within 60s; log:\n%s", p.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.token = readToken(t, dataDir)
	return p
}

func readToken(t *testing.T, dataDir string) string {
	b, err := os.ReadFile(filepath.Join(dataDir, "admin-openrc"))
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "export OS_TOKEN="); ok {
			return v
		}
	}
	t.Fatal("admin-openrc has no OS_TOKEN")
	return ""
}

func (p *serverProc) url() string { return "http://" + p.addr }

// kill9 ends the server the hard way, as a crash would.
func (p *serverProc) kill9() {
	if p.cmd.Process != nil && p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		_ = p.cmd.Wait()
	}
}

func (p *serverProc) stop() {
	if p.cmd.Process != nil && p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			p.kill9()
		}
	}
}

// api sends one request and decodes the JSON answer.
func (p *serverProc) api(method, path string, body any) (int, map[string]any, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, p.url()+path, rd)
	req.Header.Set("X-Auth-Token", p.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if len(b) > 0 {
		_ = json.Unmarshal(b, &out)
	}
	return resp.StatusCode, out, nil
}

func (p *serverProc) mustAPI(method, path string, body any, want int) map[string]any {
	p.t.Helper()
	code, out, err := p.api(method, path, body)
	if err != nil || code != want {
		p.t.Fatalf("%s %s: got %d %v (err %v), want %d", method, path, code, out, err, want)
	}
	return out
}

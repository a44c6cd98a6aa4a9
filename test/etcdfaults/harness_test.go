// Package etcdfaults runs `lbaas server` processes on a real etcd cluster
// (Debian's etcd-server, /usr/bin/etcd) and breaks the cluster under them:
// a lost and regained quorum, a killed leader during a stream of writes, a
// paused single member, servers started together on a new cluster.
package etcdfaults

import (
	"bytes"
	"context"
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

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// etcdBin is Debian's etcd-server binary; tests skip without it.
const etcdBin = "/usr/bin/etcd"

// storeTimeout is the servers' --store-timeout: the bound every answer of
// a write must keep, plus slack for a loaded machine (slack).
const (
	storeTimeout = 2 * time.Second
	slack        = 1500 * time.Millisecond
)

// lbaasBin is the server binary, built once by TestMain from ./cmd/lbaas
// (or taken from $LBAAS_BIN, to measure another build).
var lbaasBin string

// noStoreTimeout and noMetricsFlag are set for a $LBAAS_BIN without
// --store-timeout or --metrics-listen.
var noStoreTimeout, noMetricsFlag bool

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	if _, err := os.Stat(etcdBin); err != nil {
		fmt.Printf("skipping the store-fault tests: %s is absent (Debian package etcd-server)\n", etcdBin)
		return m.Run() // each test skips with the same message
	}
	if lbaasBin = os.Getenv("LBAAS_BIN"); lbaasBin != "" {
		// An older build, to measure what these faults did to it, may
		// not bound its writes yet.
		help, _ := exec.Command(lbaasBin, "server", "--help").CombinedOutput()
		noStoreTimeout = !bytes.Contains(help, []byte("--store-timeout"))
		noMetricsFlag = !bytes.Contains(help, []byte("--metrics-listen"))
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "lbaas-etcdfaults-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	lbaasBin = filepath.Join(dir, "lbaas")
	out, err := exec.Command("go", "build", "-o", lbaasBin, "lbaas/cmd/lbaas").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build lbaas/cmd/lbaas: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

func needEtcd(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(etcdBin); err != nil {
		t.Skipf("%s is absent: install Debian's etcd-server to run the store-fault tests", etcdBin)
	}
}

// freePorts returns n distinct free loopback ports.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var out []int
	for tries := 0; len(out) < n; tries++ {
		if tries > 1000 {
			t.Fatal("no free loopback ports in this package's band")
		}
		// Below the kernel's ephemeral range (32768 and up by default), in
		// a band of this package's own (test/e2e picks from 20000-26999):
		// a port the kernel picked could be taken as the source port of an
		// outgoing connection, or by the other package, before our etcd or
		// server binds it.
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", 27000+rand.IntN(32768-27000)))
		if err != nil {
			continue
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out
}

// proc is a child process that the test stops by its PID at the end.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// start runs bin with args, output to a log file in dir; t.Cleanup kills
// it (SIGKILL of its PID, and SIGCONT first in case the test paused it).
func start(t *testing.T, name, dir, bin string, args ...string) *proc {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	t.Cleanup(func() { p.kill(t) })
	return p
}

func (p *proc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := syscall.Kill(p.cmd.Process.Pid, sig); err != nil {
		t.Fatalf("%s (pid %d): %v: %v", p.name, p.cmd.Process.Pid, sig, err)
	}
}

// kill stops the process at once and waits for it; a no-op once it ended.
func (p *proc) kill(t *testing.T) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(p.cmd.Process.Pid, syscall.SIGCONT)
	_ = syscall.Kill(p.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Errorf("%s (pid %d) did not end 10s after SIGKILL", p.name, p.cmd.Process.Pid)
	}
}

// tail returns the end of the process's log, for failure messages.
func (p *proc) tail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// logged reports whether the process's log holds s.
func (p *proc) logged(s string) bool { return p.count(s) > 0 }

// count returns how many times the process's log holds s.
func (p *proc) count(s string) int {
	b, _ := os.ReadFile(p.log)
	return bytes.Count(b, []byte(s))
}

// member is one etcd member of a test cluster.
type member struct {
	name       string
	dir        string
	client     string // http://127.0.0.1:port
	args       []string
	proc       *proc
	clientPort int
}

// cluster is an etcd cluster of child processes on loopback ports, with
// short election timeouts so that a fault resolves in about a second.
type cluster struct {
	t       *testing.T
	members []*member
	cli     *clientv3.Client
}

// newCluster starts n members at once and returns without waiting for a
// leader (a new cluster's first election is part of what tests race).
func newCluster(t *testing.T, n int) *cluster {
	t.Helper()
	needEtcd(t)
	ports := freePorts(t, 2*n)
	c := &cluster{t: t}
	var initial []string
	token := fmt.Sprintf("lbaas-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	for i := range n {
		m := &member{name: fmt.Sprintf("m%d", i), dir: t.TempDir(), clientPort: ports[2*i]}
		m.client = fmt.Sprintf("http://127.0.0.1:%d", ports[2*i])
		peer := fmt.Sprintf("http://127.0.0.1:%d", ports[2*i+1])
		initial = append(initial, m.name+"="+peer)
		m.args = []string{"--name", m.name, "--data-dir", filepath.Join(m.dir, "data"),
			"--listen-client-urls", m.client, "--advertise-client-urls", m.client,
			"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
			"--initial-cluster-token", token, "--initial-cluster-state", "new",
			"--heartbeat-interval", "50", "--election-timeout", "500",
			"--logger", "zap", "--log-level", "warn"}
		c.members = append(c.members, m)
	}
	for _, m := range c.members {
		m.args = append(m.args, "--initial-cluster", strings.Join(initial, ","))
		m.proc = start(t, "etcd-"+m.name, m.dir, etcdBin, m.args...)
	}
	// Quiet: its retries against members the tests stop are expected.
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.endpoints(), DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	c.cli = cli
	t.Cleanup(func() { cli.Close() })
	return c
}

func (c *cluster) endpoints() []string {
	var out []string
	for _, m := range c.members {
		out = append(out, m.client)
	}
	return out
}

// restart starts a member that was killed again, on its data.
func (c *cluster) restart(m *member) {
	c.t.Helper()
	m.proc = start(c.t, "etcd-"+m.name, m.dir, etcdBin, m.args...)
}

// leader returns the member that leads, waiting for one.
func (c *cluster) leader() *member {
	c.t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		for _, m := range c.members {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			st, err := c.cli.Status(ctx, m.client)
			cancel()
			if err == nil && st.Leader != 0 && st.Leader == st.Header.MemberId {
				return m
			}
		}
	}
	c.t.Fatal("the etcd cluster has no leader after 20s")
	return nil
}

// healthy waits until a write through the cluster succeeds.
func (c *cluster) healthy() {
	c.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := c.cli.Put(clientv3.WithRequireLeader(ctx), "/test/health", "ok")
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("the etcd cluster takes no write 30s on: %v", err)
		}
	}
}

// server is one `lbaas server` process.
type server struct {
	base string
	proc *proc
}

// startServer runs `lbaas server` on the cluster with --auth none; extra
// flags are appended. It does not wait for the API (see ready).
func startServer(t *testing.T, c *cluster, name, dataDir string, extra ...string) *server {
	t.Helper()
	port := freePorts(t, 1)[0]
	args := []string{"server", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--analytics-listen", "", "--octavia-listen", "",
		"--data-dir", dataDir, "--etcd-endpoints", strings.Join(c.endpoints(), ",")}
	if !noStoreTimeout {
		args = append(args, "--store-timeout", storeTimeout.String())
	}
	if !noMetricsFlag {
		// Several servers on one machine: none serves /metrics (its
		// default address would be taken by the first).
		args = append(args, "--metrics-listen", "")
	}
	if !hasFlag(extra, "--auth") {
		args = append(args, "--auth", "none")
	}
	args = append(args, extra...)
	return &server{base: fmt.Sprintf("http://127.0.0.1:%d", port), proc: start(t, name, t.TempDir(), lbaasBin, args...)}
}

func hasFlag(args []string, flag string) bool {
	for _, a := range args {
		if a == flag || strings.HasPrefix(a, flag+"=") {
			return true
		}
	}
	return false
}

// ready waits until the server answers its API.
func (s *server) ready(t *testing.T, token string) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		select {
		case <-s.proc.done:
			t.Fatalf("%s exited before it served:\n%s", s.proc.name, s.proc.tail())
		default:
		}
		// The API listens only once the store is open and the first-start
		// setup done: any answer means ready (401 too, without a token).
		if code, _, _ := s.call(t, token, "GET", "/v2.0/networks", nil); code != 0 && code != http.StatusServiceUnavailable {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not serve 60s after its start:\n%s", s.proc.name, s.proc.tail())
		}
	}
}

type obj = map[string]any

// answer is one API call's outcome.
type answer struct {
	code       int
	retryAfter string
	body       obj
	took       time.Duration
}

var httpc = &http.Client{Timeout: 30 * time.Second}

// do sends one request; a transport error is code 0.
func (s *server) do(token, method, path string, body any) answer {
	return s.doWithin(httpc.Timeout, token, method, path, body)
}

// doWithin is do with a bound on the whole exchange.
func (s *server) doWithin(limit time.Duration, token, method, path string, body any) answer {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(ctx, method, s.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	t0 := time.Now()
	resp, err := httpc.Do(req)
	if err != nil {
		return answer{took: time.Since(t0), body: obj{"transport": err.Error()}}
	}
	defer resp.Body.Close()
	var out obj
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return answer{code: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), body: out, took: time.Since(t0)}
}

func (s *server) call(t *testing.T, token, method, path string, body any) (int, obj, time.Duration) {
	t.Helper()
	a := s.do(token, method, path, body)
	return a.code, a.body, a.took
}

// must sends a request until it is answered want (503s and transport
// errors are retried for 30s: the store may be recovering) and returns the
// body.
func (s *server) must(t *testing.T, want int, method, path string, body any) obj {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		a := s.do("", method, path, body)
		if a.code == want {
			return a.body
		}
		if (a.code != http.StatusServiceUnavailable && a.code != 0) || time.Now().After(deadline) {
			t.Fatalf("%s %s on %s: %d %v, want %d", method, path, s.proc.name, a.code, a.body, want)
		}
	}
}

// create POSTs {envelope: fields} until it is created, and returns the id.
func (s *server) create(t *testing.T, path, envelope string, fields obj) string {
	t.Helper()
	return s.must(t, http.StatusCreated, "POST", path, obj{envelope: fields})[envelope].(obj)["id"].(string)
}

// list returns the objects of a collection (with a query).
func (s *server) list(t *testing.T, path, plural string) []obj {
	t.Helper()
	var out []obj
	for _, o := range s.must(t, http.StatusOK, "GET", path, nil)[plural].([]any) {
		out = append(out, o.(obj))
	}
	return out
}

// heartbeats keeps the named compute nodes alive through s's agent API
// until the test ends, as their agents would (failures are expected while
// the store is down, and ignored).
func heartbeats(t *testing.T, s *server, nodes ...string) {
	t.Helper()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(300 * time.Millisecond)
		defer tick.Stop()
		for {
			for _, n := range nodes {
				// Bounded as the agent bounds its beats.
				s.doWithin(2*time.Second, "", "POST", "/agent/v1/nodes/"+n+"/heartbeat", obj{"version": "test", "roles": []string{"compute"}})
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() { close(stop); wg.Wait() })
}

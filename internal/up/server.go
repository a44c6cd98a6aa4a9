package up

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// serverProc is the `lbaas server` child process. It runs apart from the
// process that drives the cluster so that it can die as a real server
// dies (SIGKILL, with its embedded etcd) or freeze (SIGSTOP) while the
// agents and the data plane go on.
type serverProc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// serverStartLimit bounds how long a server may take to answer after it
// starts (its embedded etcd replays its log first).
const serverStartLimit = 60 * time.Second

// fixPort replaces a zero port by a free one, so that a restarted server
// comes back on the address the agents know.
func fixPort(addr string) (string, error) {
	if addr == "" {
		return "", nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("listen address %q: %w", addr, err)
	}
	if port != "0" {
		return addr, nil
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func (c *Cluster) serverArgs() []string {
	args := []string{"server", "--listen", c.o.Listen, "--analytics-listen=" + c.o.AnalyticsListen, "--octavia-listen=" + c.o.OctaviaListen, "--identity-listen=" + c.o.IdentityListen, "--metrics-listen=" + c.o.MetricsListen,
		"--data-dir", filepath.Join(c.o.Dir, "server"), "--tokens-file", filepath.Join(c.o.Dir, "tokens.json"),
		"--public-network", "Public", "--public-cidr", c.o.PublicCIDR, "--log-level", c.o.ServerLogLevel}
	return append(args, c.o.ServerFlags...)
}

// StartServer starts the API server (again, on the same data and address)
// and waits until it answers.
func (c *Cluster) StartServer(ctx context.Context) error {
	c.mu.Lock()
	if c.server != nil && c.server.running() {
		c.mu.Unlock()
		return nil
	}
	logf, err := os.OpenFile(filepath.Join(c.o.Dir, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		c.mu.Unlock()
		return err
	}
	cmd := exec.Command(c.o.Binary, c.serverArgs()...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		c.mu.Unlock()
		return err
	}
	sp := &serverProc{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logf.Close(); close(sp.done) }()
	c.server = sp
	c.mu.Unlock()
	return c.waitServer(ctx, sp)
}

// waitServer waits until the server answers an authenticated request.
func (c *Cluster) waitServer(ctx context.Context, sp *serverProc) error {
	api := c.API()
	api.HTTP.Timeout = 2 * time.Second
	deadline := time.Now().Add(serverStartLimit)
	for {
		err := api.Call("GET", "/v2.0/networks?fields=id", nil, nil)
		if err == nil {
			return nil
		}
		if !sp.running() {
			return fmt.Errorf("the server exited at start: %s", tail(filepath.Join(c.o.Dir, "server.log"), 5))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the server did not answer within %v: %v", serverStartLimit, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// StopServer stops the API server and the controller (SIGTERM, then
// SIGKILL after 10 s); the store's data stays, and agents and the data
// plane keep running without them.
func (c *Cluster) StopServer() { c.stopServer(syscall.SIGTERM, 10*time.Second) }

// KillServer kills the API server, its controller and its embedded etcd
// at once (SIGKILL), as a crash or a power loss of its machine would.
func (c *Cluster) KillServer() { c.stopServer(syscall.SIGKILL, 0) }

func (c *Cluster) stopServer(sig syscall.Signal, grace time.Duration) {
	c.mu.Lock()
	sp := c.server
	c.server = nil
	c.mu.Unlock()
	if sp == nil {
		return
	}
	// A frozen server must be able to act on SIGTERM.
	_ = syscall.Kill(-sp.cmd.Process.Pid, syscall.SIGCONT)
	_ = syscall.Kill(-sp.cmd.Process.Pid, sig)
	select {
	case <-sp.done:
		return
	case <-time.After(grace):
	}
	_ = syscall.Kill(-sp.cmd.Process.Pid, syscall.SIGKILL)
	<-sp.done
}

// PauseServer freezes the server process (SIGSTOP): its API, its
// controller and its embedded etcd stop at once, their leases keep
// running out, and nothing tells the agents.
func (c *Cluster) PauseServer() error { return c.signalServer(syscall.SIGSTOP) }

// ResumeServer thaws a paused server (SIGCONT).
func (c *Cluster) ResumeServer() error { return c.signalServer(syscall.SIGCONT) }

func (c *Cluster) signalServer(sig syscall.Signal) error {
	c.mu.Lock()
	sp := c.server
	c.mu.Unlock()
	if sp == nil || !sp.running() {
		return errors.New("the server is not running")
	}
	return syscall.Kill(-sp.cmd.Process.Pid, sig)
}

// ServerPid returns the server process's pid (0 when it is not running).
func (c *Cluster) ServerPid() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.server == nil || !c.server.running() {
		return 0
	}
	return c.server.cmd.Process.Pid
}

func (sp *serverProc) running() bool {
	select {
	case <-sp.done:
		return false
	default:
		return true
	}
}

// tail returns the last n lines of a file, for an error message.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

package vrrp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"lbaas/internal/netns"

	"lbaas/internal/proc"
	"lbaas/internal/realtime"
)

// Options configure a Manager. Zero fields take defaults.
type Options struct {
	// Binary is the keepalived executable (default: "keepalived" from PATH).
	Binary string
	// Start starts a prepared command without waiting for it. The default
	// starts it in the caller's (host) network namespace in a new session
	// (Setsid) so that it outlives the agent.
	//
	// It must NOT start keepalived inside the load balancer's namespace (do
	// not pass netns.StartProcess): keepalived enters that namespace itself
	// (-s), after opening the kernel's process-events connector, which only
	// exists in the initial network namespace. Started inside, process
	// tracking fails and the instance stays in FAULT.
	Start func(*exec.Cmd) error
	// Timeout bounds start, validation and stop (default 15s).
	Timeout time.Duration
}

// Spec is one keepalived instance: which namespace it serves, where its
// files live and what it runs.
type Spec struct {
	// Namespace is the VM's network namespace (vrouter-<vm>:<si>), which must
	// exist under /run/netns (netns.Ensure puts it there).
	Namespace string
	// Paths locate the files; Config.NotifyScript and NotifyFIFO are set
	// from them.
	Paths Paths
	// Config is the VRRP instance.
	Config Config
}

// Manager supervises keepalived instances. It keeps no per-instance state:
// every call reads the pid files and /proc, so a fresh Manager (after an
// agent restart) adopts what is running. Calls for one instance must not run
// concurrently.
type Manager struct {
	opts Options
}

// NewManager returns a Manager with opts.
func NewManager(opts Options) *Manager {
	if opts.Binary == "" {
		opts.Binary = "keepalived"
		if p, err := exec.LookPath("keepalived"); err == nil {
			opts.Binary = p
		}
	}
	if opts.Start == nil {
		opts.Start = startInNewSession
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 15 * time.Second
	}
	return &Manager{opts: opts}
}

func startInNewSession(cmd *exec.Cmd) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	}
	return cmd.Start()
}

// Action says what Apply did.
type Action string

// Apply outcomes.
const (
	ActionNone     Action = "none"     // running with this configuration already
	ActionStarted  Action = "started"  // was not running; started
	ActionReloaded Action = "reloaded" // new configuration, SIGHUP sent
)

// Result reports what Apply did.
type Result struct {
	Action Action
	// PID is the keepalived parent process.
	PID int
}

// Apply makes the instance run spec: render, check with "keepalived -t",
// then start it, or install the new file and reload (SIGHUP), or do nothing
// when the running configuration is already the rendered one.
func (m *Manager) Apply(ctx context.Context, spec Spec) (Result, error) {
	if err := netns.ValidateName(spec.Namespace); err != nil {
		return Result{}, err
	}
	if err := spec.Paths.validate(); err != nil {
		return Result{}, err
	}
	cfg := spec.Config
	var err error
	if cfg.NotifyScript, err = ownPath("notify script", cfg.NotifyScript, spec.Paths.NotifyScript); err != nil {
		return Result{}, err
	}
	if cfg.NotifyFIFO, err = ownPath("notify FIFO", cfg.NotifyFIFO, spec.Paths.NotifyFIFO); err != nil {
		return Result{}, err
	}
	rendered, err := Render(cfg)
	if err != nil {
		return Result{}, err
	}
	script, err := renderNotifyScript(spec.Paths.StateFile)
	if err != nil {
		return Result{}, err
	}
	p := spec.Paths
	if err := os.MkdirAll(p.Dir, 0o700); err != nil {
		return Result{}, err
	}
	if old, _ := os.ReadFile(p.NotifyScript); !bytes.Equal(old, script) {
		if err := writeAtomic(p.NotifyScript, script, 0o755); err != nil {
			return Result{}, err
		}
	}
	pid, err := m.Adopt(p)
	running := err == nil
	onDisk, _ := os.ReadFile(p.Config)
	if running && bytes.Equal(onDisk, rendered) {
		return Result{Action: ActionNone, PID: pid}, nil
	}
	// A running keepalived must not be reloaded into a config it rejects.
	// A first start skips the check: the config is rendered from typed
	// values (every golden file passes "keepalived -t" in the tests) and
	// the check would only delay the new active's first advert.
	if running {
		if err := m.check(ctx, spec.Namespace, p.Config, rendered); err != nil {
			return Result{}, err
		}
	}
	if err := writeAtomic(p.Config, rendered, 0o600); err != nil {
		return Result{}, err
	}
	if running {
		if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
			return Result{}, fmt.Errorf("vrrp: reload keepalived %d: %w", pid, err)
		}
		return Result{Action: ActionReloaded, PID: pid}, nil
	}
	pid, err = m.start(ctx, spec.Namespace, p)
	if err != nil {
		return Result{}, err
	}
	return Result{Action: ActionStarted, PID: pid}, nil
}

// check runs "keepalived -t" on the candidate beside the live file, inside
// the namespace (-s) so that interface names are checked too.
func (m *Manager) check(ctx context.Context, ns, live string, cfg []byte) error {
	candidate := live + ".new"
	if err := os.WriteFile(candidate, cfg, 0o600); err != nil {
		return err
	}
	defer os.Remove(candidate)
	ctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, m.opts.Binary, "-t", "-s", ns, "-f", candidate).CombinedOutput()
	if err != nil {
		return fmt.Errorf("vrrp: keepalived rejected the configuration (the running one is kept): %w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Args returns keepalived's command line for an instance:
//
//	-n   stay in the foreground: the Start hook already detaches it (new
//	     session) and this way its log reaches our file; there is no syslog.
//	-P   VRRP only, no LVS checker.
//	-l -G -D  detailed log to the console (our file), no syslog.
//	-s   enter the namespace itself (see Options.Start).
//	-f -p -r -c  our own configuration and pid files, never the shared
//	     defaults under /run, so instances on one host never collide.
func (m *Manager) Args(ns string, p Paths) []string {
	return []string{m.opts.Binary, "-n", "-P", "-l", "-G", "-D", "-s", ns,
		"-f", p.Config, "-p", p.PidFile, "-r", p.VRRPPidFile, "-c", p.CheckersPidFile}
}

func (m *Manager) start(ctx context.Context, ns string, p Paths) (int, error) {
	if err := cleanStale(p, 5*time.Second); err != nil {
		return 0, err
	}
	_ = os.Remove(p.StateFile) // the new process records its own states
	_ = os.Rename(p.Log, p.Log+".1")
	logf, err := os.OpenFile(p.Log, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, err
	}
	defer logf.Close()
	args := m.Args(ns, p)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Realtime from the first instruction, for the parent and the VRRP
	// child it forks: adverts are sent and read on time on a saturated host.
	start := func() error { return m.opts.Start(cmd) }
	if err := realtime.Start(start, RealtimePriority, RealtimeCPULimit); err != nil {
		return 0, fmt.Errorf("vrrp: start keepalived: %w", err)
	}
	exited := make(chan error, 1)
	// Reaps keepalived whenever it exits while this agent lives; after an
	// agent restart the orphan belongs to init.
	go func() { exited <- cmd.Wait() }()
	ctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		parent, ok1 := livePid(p.PidFile, p)
		_, ok2 := livePid(p.VRRPPidFile, p)
		if ok1 && ok2 && parent == cmd.Process.Pid {
			return parent, nil
		}
		select {
		case err := <-exited:
			return 0, fmt.Errorf("vrrp: keepalived exited at start (%v): %s", err, tail(p.Log))
		case <-ctx.Done():
			_ = cmd.Process.Kill() // our direct child
			return 0, fmt.Errorf("vrrp: keepalived did not start in time: %s", tail(p.Log))
		case <-tick.C:
		}
	}
}

// Adopt returns the pid of the running keepalived of the instance, or
// ErrNotRunning.
func (m *Manager) Adopt(p Paths) (int, error) {
	if pid, ok := livePid(p.PidFile, p); ok {
		return pid, nil
	}
	return 0, ErrNotRunning
}

// Stop terminates the instance (SIGTERM to our parent pid only; keepalived
// then drops the VIP and sends a priority-0 advert, so the peer takes over at
// once) and waits for both processes. Stopping a stopped instance is not an
// error; an orphaned VRRP child is stopped too.
func (m *Manager) Stop(ctx context.Context, p Paths) error {
	if err := p.validate(); err != nil {
		return err
	}
	wait := m.opts.Timeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
		wait = time.Until(dl)
	}
	if pid, ok := livePid(p.PidFile, p); ok {
		child, hasChild := livePid(p.VRRPPidFile, p)
		scripts := notifyScripts(p, pid, child)
		if err := terminate(pid, p, wait); err != nil {
			return err
		}
		if hasChild && !waitGone(child, wait) {
			return fmt.Errorf("vrrp: VRRP child %d outlived its parent", child)
		}
		// The notify script ends when keepalived closes the FIFO; nothing
		// of the instance outlives Stop.
		for _, s := range scripts {
			if !waitGone(s, time.Second) && proc.Mentions(s, p.NotifyScript) {
				_ = syscall.Kill(s, syscall.SIGKILL)
			}
		}
	}
	if err := cleanStale(p, wait); err != nil {
		return err
	}
	if err := os.Remove(p.StateFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

func (p Paths) validate() error {
	for _, f := range []string{p.Dir, p.Config, p.PidFile, p.VRRPPidFile, p.CheckersPidFile, p.NotifyScript, p.NotifyFIFO, p.StateFile, p.Log} {
		if err := checkPath("instance", f); err != nil {
			return err
		}
	}
	return nil
}

func writeAtomic(path string, data []byte, perm os.FileMode) error {
	return proc.WriteFileAtomic(path, data, perm)
}

// Check reports, for the agent's every observation, whether the
// instance's keepalived runs and whether it is stuck: its parent or its VRRP
// process stopped (SIGSTOP, a debugger). A stuck MASTER has lost the VIP to
// its peer after the master-down interval; if it were resumed it would still
// believe itself MASTER, and its higher priority would take the VIP back: a
// second outage. Such an instance must be killed and started again (Kill,
// then Apply), and comes back as BACKUP. Each pid file is read once.
func (m *Manager) Check(p Paths) (running, stuck bool) {
	parent, ok := livePid(p.PidFile, p)
	if !ok {
		return false, false
	}
	child, ok := livePid(p.VRRPPidFile, p)
	return true, proc.Stopped(parent) || ok && proc.Stopped(child)
}

// Kill ends the instance's keepalived at once (SIGKILL to the parent and
// the VRRP process: a stopped process cannot act on SIGTERM) and removes
// its pid files. The VIP stays on the interface until the next start,
// whose first act is to remove it.
func (m *Manager) Kill(p Paths) error {
	if err := p.validate(); err != nil {
		return err
	}
	var pids []int
	for _, f := range p.pidFiles() {
		if pid, ok := livePid(f, p); ok {
			pids = append(pids, pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	for _, pid := range pids {
		if !waitGone(pid, 2*time.Second) {
			return fmt.Errorf("vrrp: keepalived pid %d survived SIGKILL", pid)
		}
	}
	return cleanStale(p, time.Second)
}

// notifyScripts returns the children of keepalived's processes that run
// the instance's notify script.
func notifyScripts(p Paths, pids ...int) []int {
	var out []int
	for _, pid := range pids {
		if pid <= 0 {
			continue
		}
		for _, c := range proc.Children(pid) {
			if proc.Mentions(c, p.NotifyScript) {
				out = append(out, c)
			}
		}
	}
	return out
}

// ownPath fills an empty path with the instance's own and refuses any other.
func ownPath(what, got, own string) (string, error) {
	if got != "" && got != own {
		return "", fmt.Errorf("vrrp: %s %q is not the instance's %q", what, got, own)
	}
	return own, nil
}

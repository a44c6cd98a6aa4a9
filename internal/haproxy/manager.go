package haproxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"lbaas/internal/proc"
)

// Options configure a Manager. Zero fields take defaults.
type Options struct {
	// Binary is the haproxy executable (default: "haproxy" from PATH).
	Binary string
	// Start starts a prepared command (default (*exec.Cmd).Start). The network
	// namespace code supplies one that starts it inside the instance's
	// namespace. It must start, not wait: Manager waits for the launcher, which
	// exits as soon as the daemonised master is forked.
	Start func(*exec.Cmd) error
	// Timeout bounds start, reload and stop (default 15s).
	Timeout time.Duration
}

// Manager supervises HAProxy instances. It keeps no per-instance state: every
// call reads the pid file, /proc and the sockets, so a fresh Manager (after an
// agent restart) adopts what is running. Calls for one instance must not run
// concurrently; different instances are independent.
type Manager struct {
	opts Options
}

// NewManager returns a Manager with opts.
func NewManager(opts Options) *Manager {
	if opts.Binary == "" {
		opts.Binary = "haproxy"
		if p, err := exec.LookPath("haproxy"); err == nil {
			opts.Binary = p
		}
	}
	if opts.Start == nil {
		opts.Start = (*exec.Cmd).Start
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 15 * time.Second
	}
	return &Manager{opts: opts}
}

// Action says how Apply brought the instance to the spec.
type Action string

// Apply outcomes.
const (
	ActionNone     Action = "none"     // already running this configuration
	ActionStarted  Action = "started"  // no process was running; started one
	ActionRuntime  Action = "runtime"  // runtime API commands only, no reload
	ActionReloaded Action = "reloaded" // hitless reload through the master
)

// Result reports what Apply did.
type Result struct {
	Action   Action
	Reason   string    // why a reload was needed
	Commands []Command // runtime commands sent (ActionRuntime)
	Process  Process
}

// Process identifies a running instance.
type Process struct {
	MasterPID int
	// Workers are the master's current workers, or all its children running
	// our configuration while its CLI is silent (see Adopt).
	Workers []int
}

func (m *Manager) client(sock string) Client { return Client{Socket: sock} }

// Apply makes the instance run spec: render, validate with "haproxy -c" next to
// the live file, then start, change through the runtime API, or reload. The
// live configuration is replaced only after validation and the previous one is
// kept at Paths.LastGoodConfig; if the reload fails the previous files are put
// back and the old workers keep serving.
func (m *Manager) Apply(ctx context.Context, spec Spec) (Result, error) {
	cfg, err := Render(spec)
	if err != nil {
		return Result{}, err
	}
	paths := spec.Paths
	if err := os.MkdirAll(filepath.Dir(paths.Config), 0o750); err != nil {
		return Result{}, err
	}
	for _, p := range []string{paths.Socket, paths.MasterSocket, paths.PidFile} {
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			return Result{}, err
		}
	}
	proc, err := m.Adopt(ctx, paths)
	running := err == nil
	if err != nil && !errors.Is(err, ErrNotRunning) {
		return Result{}, err
	}
	onDisk, _ := os.ReadFile(paths.Config)
	prevState, _ := os.ReadFile(paths.StateFile())
	prev, prevErr := LoadState(paths)
	state, err := marshalState(spec)
	if err != nil {
		return Result{}, err
	}

	if running && bytes.Equal(onDisk, cfg) {
		// The same configuration may name certificate files whose
		// contents changed: swap them in the running process.
		if prevErr == nil {
			if swaps := certSwaps(prev, spec); len(swaps) > 0 {
				if err := m.client(paths.Socket).Apply(ctx, swaps); err != nil {
					p, rerr := m.reload(ctx, paths)
					if rerr != nil {
						return Result{}, rerr
					}
					if err := writeAtomic(paths.StateFile(), state, 0o640); err != nil {
						return Result{}, err
					}
					return Result{Action: ActionReloaded, Reason: "certificate swap failed, reloading: " + err.Error(), Process: p}, nil
				}
				if err := writeAtomic(paths.StateFile(), state, 0o640); err != nil {
					return Result{}, err
				}
				return Result{Action: ActionRuntime, Commands: swaps, Process: proc}, nil
			}
		}
		if !bytes.Equal(prevState, state) {
			if err := writeAtomic(paths.StateFile(), state, 0o640); err != nil {
				return Result{}, err
			}
		}
		return Result{Action: ActionNone, Process: proc}, nil
	}
	// A change the runtime API can make (members, weights, admin states)
	// goes to the running process first, so traffic reflects it within a
	// millisecond, and then to the files. The new file differs from the
	// validated one only in typed server values, so it skips "haproxy -c".
	if running && prevErr == nil {
		if prevCfg, err := Render(prev); err == nil && bytes.Equal(prevCfg, onDisk) {
			if change, err := Plan(prev, spec); err == nil && !change.Reload {
				if err := m.client(paths.Socket).Apply(ctx, change.Commands); err == nil {
					if _, err := install(paths, cfg, onDisk, state, prevState); err != nil {
						return Result{}, err
					}
					return Result{Action: ActionRuntime, Commands: change.Commands, Process: proc}, nil
				}
				// Fall through: a reload brings the process to the file.
			}
		}
	}
	// Nothing runs: starting HAProxy checks the file itself (and reports
	// why it refuses), so "haproxy -c" would only delay the first start.
	if err := writeCrtLists(spec); err != nil {
		return Result{}, err
	}
	if running {
		if err := m.validate(ctx, paths.Config, cfg); err != nil {
			return Result{}, err
		}
	}
	undo, err := install(paths, cfg, onDisk, state, prevState)
	if err != nil {
		return Result{}, err
	}

	if !running {
		p, err := m.start(ctx, paths)
		if err != nil {
			return Result{}, err
		}
		return Result{Action: ActionStarted, Process: p}, nil
	}

	reason := "running configuration is not the recorded one"
	if prevErr == nil {
		if prevCfg, err := Render(prev); err == nil && bytes.Equal(prevCfg, onDisk) {
			change, err := Plan(prev, spec)
			if err != nil {
				undo()
				return Result{}, err
			}
			reason = change.Reason
			if !change.Reload {
				err := m.client(paths.Socket).Apply(ctx, change.Commands)
				if err == nil {
					return Result{Action: ActionRuntime, Commands: change.Commands, Process: proc}, nil
				}
				reason = "runtime update failed, reloading: " + err.Error()
			}
		}
	}
	// The running worker is described by prev only when the file it loaded
	// is the one prev renders to.
	var live *Spec
	if prevErr == nil {
		if prevCfg, err := Render(prev); err == nil && bytes.Equal(prevCfg, onDisk) {
			live = &prev
		}
	}
	m.saveServerState(ctx, paths, live, spec)
	p, err := m.reload(ctx, paths)
	if err != nil {
		undo()
		return Result{}, err
	}
	removeStaleCrtLists(spec, prev)
	return Result{Action: ActionReloaded, Reason: reason, Process: p}, nil
}

// install swaps the validated configuration and the state in; undo restores
// what was there before.
func install(paths Paths, cfg, oldCfg, state, oldState []byte) (undo func(), err error) {
	if oldCfg != nil {
		if err := writeAtomic(paths.LastGoodConfig(), oldCfg, 0o640); err != nil {
			return nil, err
		}
	}
	if err := writeAtomic(paths.Config, cfg, 0o640); err != nil {
		return nil, err
	}
	if err := writeAtomic(paths.StateFile(), state, 0o640); err != nil {
		return nil, err
	}
	return func() {
		if oldCfg != nil {
			_ = writeAtomic(paths.Config, oldCfg, 0o640)
		}
		if oldState != nil {
			_ = writeAtomic(paths.StateFile(), oldState, 0o640)
		} else {
			_ = os.Remove(paths.StateFile())
		}
	}, nil
}

// Validate checks cfg with "haproxy -c" without touching the live file.
func (m *Manager) Validate(ctx context.Context, spec Spec) error {
	cfg, err := Render(spec)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(spec.Paths.Config), 0o750); err != nil {
		return err
	}
	if err := writeCrtLists(spec); err != nil {
		return err
	}
	return m.validate(ctx, spec.Paths.Config, cfg)
}

// validate writes cfg beside the live file (same directory, so relative
// includes and permissions behave alike) and runs "haproxy -c" on it.
func (m *Manager) validate(ctx context.Context, live string, cfg []byte) error {
	candidate := live + ".new"
	if err := os.WriteFile(candidate, cfg, 0o640); err != nil {
		return err
	}
	defer os.Remove(candidate)
	ctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, m.opts.Binary, "-c", "-f", candidate).CombinedOutput()
	if err != nil {
		return fmt.Errorf("haproxy rejected the new configuration (the running one is kept): %w: %s",
			err, strings.TrimSpace(string(out)))
	}
	return nil
}

// logPath collects the launcher's and master's stdout/stderr.
func logPath(paths Paths) string { return filepath.Join(paths.Dir, "haproxy.log") }

// start launches "haproxy -W -D -p <pid> -S <master>,mode,600 -f <cfg>": a
// daemonised master-worker that outlives the agent.
func (m *Manager) start(ctx context.Context, paths Paths) (Process, error) {
	_ = os.Remove(paths.PidFile) // stale; must not be mistaken for the new master
	// Health found by an earlier process says nothing about this start.
	m.saveServerState(ctx, paths, nil, Spec{})
	logf, err := os.OpenFile(logPath(paths), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return Process{}, err
	}
	defer logf.Close()
	cmd := exec.Command(m.opts.Binary,
		"-W", "-D",
		"-p", paths.PidFile,
		"-S", paths.MasterSocket+",mode,600",
		"-f", paths.Config)
	// A file, not a pipe: the master keeps these descriptors, and a pipe would
	// make Wait block for the daemon's lifetime.
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := m.opts.Start(cmd); err != nil {
		return Process{}, fmt.Errorf("start haproxy: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return Process{}, fmt.Errorf("haproxy failed to start: %w: %s", err, tail(logPath(paths)))
		}
	case <-ctx.Done():
		_ = cmd.Process.Kill() // our direct child, the launcher
		<-done
		return Process{}, fmt.Errorf("haproxy launcher did not exit: %s", tail(logPath(paths)))
	}
	var lastErr error
	// The worker is usually up within tens of milliseconds of the
	// launcher's exit, and a new load balancer serves only once it is:
	// ask often at first (each ask is a pid file and a socket), then
	// back off.
	wait := 2 * time.Millisecond
	for {
		p, err := m.Adopt(ctx, paths)
		if err == nil {
			return p, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			return Process{}, fmt.Errorf("haproxy did not come up: %v: %s", lastErr, tail(logPath(paths)))
		}
		sleep(ctx, wait)
		wait = min(2*wait, 50*time.Millisecond)
	}
}

// Adopt finds the running instance for paths: the pid file names a live
// haproxy whose command line has our config and pid file, and the runtime
// socket answers (a worker runs). It returns ErrNotRunning when no such process
// exists, and another error when ours runs but does not answer.
//
// The master CLI is asked for the workers, but its silence is no failure: the
// master re-executes itself after the first start and on each reload, and its
// CLI is down for tens of milliseconds then, while the worker already serves.
// A new load balancer waiting for that would wait for nothing.
func (m *Manager) Adopt(ctx context.Context, paths Paths) (Process, error) {
	pid, err := ourMaster(paths)
	if err != nil {
		return Process{}, err
	}
	if err := m.client(paths.Socket).Ping(ctx); err != nil {
		return Process{}, fmt.Errorf("haproxy master %d: %w", pid, err)
	}
	info, err := m.client(paths.MasterSocket).ShowProc(ctx)
	if err != nil {
		// Re-executing: its children running our configuration are the
		// workers (old ones too, while a reload is under way).
		p := Process{MasterPID: pid}
		for _, c := range proc.Children(pid) {
			if isOurs(c, paths) {
				p.Workers = append(p.Workers, c)
			}
		}
		return p, nil
	}
	if info.MasterPID != pid {
		return Process{}, fmt.Errorf("haproxy master %d: its master CLI reports master %d", pid, info.MasterPID)
	}
	return Process{MasterPID: pid, Workers: info.Workers}, nil
}

// masterProc asks the master CLI for its processes, waiting while the master
// re-executes itself (just after a start or a reload).
func (m *Manager) masterProc(ctx context.Context, paths Paths) (ProcInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
	defer cancel()
	wait := 2 * time.Millisecond
	for {
		info, err := m.client(paths.MasterSocket).ShowProc(ctx)
		if err == nil || ctx.Err() != nil {
			return info, err
		}
		sleep(ctx, wait)
		wait = min(2*wait, 50*time.Millisecond)
	}
}

// Reload makes the running master re-read the live configuration (hitless: the
// listening sockets pass to the new worker, old workers drain until
// hard-stop-after).
func (m *Manager) Reload(ctx context.Context, paths Paths) (Process, error) {
	if spec, err := LoadState(paths); err == nil {
		m.saveServerState(ctx, paths, &spec, spec)
	} else {
		m.saveServerState(ctx, paths, nil, Spec{})
	}
	return m.reload(ctx, paths)
}

func (m *Manager) reload(ctx context.Context, paths Paths) (Process, error) {
	master := m.client(paths.MasterSocket)
	before, err := m.masterProc(ctx, paths)
	if err != nil {
		return Process{}, err
	}
	// The master re-executes itself and drops the connection: no reply to check.
	if _, err := master.Exec(ctx, "reload"); err != nil {
		return Process{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
	defer cancel()
	for {
		sleep(ctx, 50*time.Millisecond)
		if ctx.Err() != nil {
			return Process{}, fmt.Errorf("haproxy reload did not complete in %s: %s", m.opts.Timeout, tail(logPath(paths)))
		}
		after, err := master.ShowProc(ctx)
		if err != nil {
			continue // the master is re-executing
		}
		if after.FailedReloads > before.FailedReloads {
			return Process{}, fmt.Errorf("haproxy reload failed, old workers keep serving: %s", m.startupLogs(ctx, paths))
		}
		if after.Reloads <= before.Reloads || len(after.Workers) == 0 {
			continue
		}
		if slices.ContainsFunc(after.Workers, func(p int) bool { return slices.Contains(before.Workers, p) }) {
			continue
		}
		if err := m.client(paths.Socket).Ping(ctx); err != nil {
			continue
		}
		return Process{MasterPID: after.MasterPID, Workers: after.Workers}, nil
	}
}

// Stop terminates the instance (SIGTERM to the verified master, which stops its
// workers) and removes its pid file and sockets; configuration and state stay.
// Stopping an instance that does not run is not an error.
func (m *Manager) Stop(ctx context.Context, paths Paths) error {
	pid, err := ourMaster(paths)
	if errors.Is(err, ErrNotRunning) {
		cleanup(paths)
		return nil
	}
	if err != nil {
		return err
	}
	var workers []int
	if info, err := m.client(paths.MasterSocket).ShowProc(ctx); err == nil {
		workers = append(info.Workers, info.OldWorkers...)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal haproxy master %d: %w", pid, err)
	}
	ctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
	defer cancel()
	for {
		left := alive(pid)
		for _, w := range workers {
			// Only a worker still running our config counts; its pid may be reused.
			left = left || alive(w) && isOurs(w, paths)
		}
		if !left {
			break
		}
		if ctx.Err() != nil {
			return fmt.Errorf("haproxy master %d did not exit within %s", pid, m.opts.Timeout)
		}
		sleep(ctx, 50*time.Millisecond)
	}
	cleanup(paths)
	return nil
}

func cleanup(paths Paths) {
	for _, p := range []string{paths.PidFile, paths.Socket, paths.MasterSocket} {
		_ = os.Remove(p)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// startupLogs returns what the master logged while loading the last
// configuration ("show startup-logs"), falling back to the launcher's log.
func (m *Manager) startupLogs(ctx context.Context, paths Paths) string {
	out, err := m.client(paths.MasterSocket).Exec(ctx, "show startup-logs")
	if out = strings.TrimSpace(out); err != nil || out == "" || strings.HasPrefix(out, "Unknown command") {
		return tail(logPath(paths))
	}
	return out
}

// tail returns the end of a log file for error messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log)"
	}
	const n = 2000
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimSpace(string(b))
}

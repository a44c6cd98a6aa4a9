package vrrp

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"lbaas/internal/proc"
)

// ErrNotRunning means no keepalived of ours runs for an instance.
var ErrNotRunning = errors.New("vrrp: keepalived instance is not running")

func readPidFile(path string) (int, error) { return proc.ReadPidFile(path) }

func alive(pid int) bool { return proc.Alive(pid) }

// isOurs checks /proc/<pid>/cmdline: a keepalived started with our -f and -p.
// The VRRP child is forked without exec and has the same command line. This
// keeps a recycled pid from being signalled or mistaken for a live instance.
func isOurs(pid int, p Paths) bool {
	return proc.Runs(pid, "keepalived", [2]string{"-f", p.Config}, [2]string{"-p", p.PidFile})
}

// livePid returns the pid in path if it is a live keepalived of ours.
func livePid(path string, p Paths) (int, bool) {
	pid, err := readPidFile(path)
	if err != nil || !alive(pid) || !isOurs(pid, p) {
		return 0, false
	}
	return pid, true
}

// cleanStale prepares a start when the parent is not running. keepalived
// refuses to start while any of its pid files names a live process, whatever
// that process is, so after a kill -9 (or a pid reused by another program)
// it would never come back by itself. A pid file is removed unless it names
// a live keepalived of ours; such a process can only be an orphaned VRRP
// child of a killed parent, which is stopped first so that two VRRP
// processes never fight over one interface.
func cleanStale(p Paths, wait time.Duration) error {
	for _, f := range p.pidFiles() {
		if pid, ok := livePid(f, p); ok {
			if err := terminate(pid, p, wait); err != nil {
				return err
			}
		}
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// terminate sends SIGTERM to pid (ours, checked just before) and SIGKILL if it
// is still there after wait.
func terminate(pid int, p Paths, wait time.Duration) error {
	_ = syscall.Kill(pid, syscall.SIGTERM)
	if waitGone(pid, wait) {
		return nil
	}
	if alive(pid) && isOurs(pid, p) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	if !waitGone(pid, 2*time.Second) {
		return fmt.Errorf("vrrp: keepalived pid %d does not exit", pid)
	}
	return nil
}

func waitGone(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if !alive(pid) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// tail returns the end of a log file for error messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if len(b) > 1500 {
		b = b[len(b)-1500:]
	}
	return strings.TrimSpace(string(b))
}

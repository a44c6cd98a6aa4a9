// Package proc holds what every supervisor here needs to find its own
// processes again without keeping state: pid files, liveness, command
// lines checked before a signal (so a recycled pid is never hit), and
// atomic file replacement.
package proc

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ReadPidFile returns the pid recorded in path.
func ReadPidFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return 0, fmt.Errorf("pid file %s: bad content %q", path, b)
	}
	return pid, nil
}

// Alive reports whether pid exists and is not a zombie: a daemon
// reparented to a pid 1 that never reaps stays a zombie, and counts as
// gone.
func Alive(pid int) bool {
	st, ok := state(pid)
	return ok && st != 'Z' && st != 'X'
}

// state is the one-letter state of /proc/<pid>/stat (R, S, D, T, t, Z...).
func state(pid int) (byte, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The state follows the last ')': the command name may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0, false
	}
	return b[i+2], true
}

// Args returns a process's command line.
//
// A child that is in the middle of execve has a new address space but no
// argument area yet, so its command line reads empty for a moment after
// fork/exec returns to the parent (vfork resumes the parent at the address
// space switch). Such a process is ours a few hundred microseconds later,
// so an empty read is retried briefly rather than taken as "not ours".
func Args(pid int) ([]string, bool) {
	path := fmt.Sprintf("/proc/%d/cmdline", pid)
	for try := 0; ; try++ {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, false
		}
		if len(b) > 0 {
			return strings.Split(strings.TrimRight(string(b), "\x00"), "\x00"), true
		}
		// Kernel threads and zombies stay empty; give up after ~50 ms.
		if try >= 50 || !Alive(pid) {
			return nil, false
		}
		time.Sleep(time.Millisecond)
	}
}

// HasFlag reports whether args hold flag followed by value.
func HasFlag(args []string, flag, value string) bool {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == flag && args[i+1] == value {
			return true
		}
	}
	return false
}

// Runs reports whether pid is a live program whose name starts with
// program and whose command line holds every flag/value pair given.
func Runs(pid int, program string, flags ...[2]string) bool {
	if !Alive(pid) {
		return false
	}
	args, ok := Args(pid)
	if !ok || !strings.HasPrefix(filepath.Base(args[0]), program) {
		return false
	}
	for _, f := range flags {
		if !HasFlag(args, f[0], f[1]) {
			return false
		}
	}
	return true
}

// Mentions reports whether pid is alive and its command line contains s
// (a path of ours).
func Mentions(pid int, s string) bool {
	if !Alive(pid) {
		return false
	}
	args, ok := Args(pid)
	return ok && strings.Contains(strings.Join(args, "\x00"), s)
}

// Children returns the pids whose parent is pid.
func Children(pid int) []int {
	// The kernel's own list (CONFIG_PROC_CHILDREN) costs one read per thread
	// of pid; scanning every process's stat is the fallback.
	if lists, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid)); len(lists) > 0 {
		var out []int
		for _, l := range lists {
			b, _ := os.ReadFile(l)
			for _, f := range strings.Fields(string(b)) {
				if c, err := strconv.Atoi(f); err == nil {
					out = append(out, c)
				}
			}
		}
		return out
	}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []int
	for _, stat := range stats {
		b, err := os.ReadFile(stat)
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			if p, err := strconv.Atoi(filepath.Base(filepath.Dir(stat))); err == nil {
				out = append(out, p)
			}
		}
	}
	return out
}

// WriteFileAtomic replaces path with data so that readers see the old or
// the new content, never a mix, even after a crash.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Mentioning returns the live processes, other than this one, whose
// command line contains s (a directory of ours: every process started for
// a deployment names a file under its directory).
func Mentioning(s string) []int {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	self := os.Getpid()
	var out []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil || pid == self {
			continue
		}
		// Not Args: its wait for a command line still being written would
		// cost every kernel thread (whose command line is empty) 50 ms.
		b, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err == nil && bytes.Contains(b, []byte(s)) && Alive(pid) {
			out = append(out, pid)
		}
	}
	return out
}

// Sweep stops every process that Mentioning(s) finds: SIGTERM, then
// SIGKILL for those still alive after grace. It returns the pids it
// signalled. It is the last word of a harness whose processes may have
// outlived their own supervisors (a failed test, a killed agent).
func Sweep(s string, grace time.Duration) []int {
	pids := Mentioning(s)
	for _, p := range pids {
		_ = syscall.Kill(p, syscall.SIGTERM)
	}
	deadline := time.Now().Add(grace)
	for _, p := range pids {
		for Mentions(p, s) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if Mentions(p, s) {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
	}
	// SIGKILL takes effect at the process's next return to user space.
	for _, p := range pids {
		for end := time.Now().Add(time.Second); Alive(p) && time.Now().Before(end); {
			time.Sleep(5 * time.Millisecond)
		}
	}
	return pids
}

// Stopped reports whether pid is stopped by a signal (SIGSTOP, SIGTSTP) or
// held by a tracer: it runs no instruction until someone resumes it.
func Stopped(pid int) bool {
	st, ok := state(pid)
	return ok && (st == 'T' || st == 't')
}

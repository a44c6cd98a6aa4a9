package haproxy

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrNotRunning means no HAProxy of ours runs for an instance: no pid file, a
// dead pid, or a pid now used by another program.
var ErrNotRunning = errors.New("haproxy instance is not running")

// readPidFile returns the pid recorded in path.
func readPidFile(path string) (int, error) {
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

// alive reports whether pid exists and is not a zombie. The daemonised master
// is reparented to pid 1, which in a container may never reap it, so a zombie
// counts as gone.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the last ')' because the command name may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return false
	}
	state := b[i+2]
	return state != 'Z' && state != 'X'
}

// isOurs checks /proc/<pid>/cmdline: an haproxy binary started with our -f
// config and -p pid file. This is what keeps a recycled pid from being signalled.
func isOurs(pid int, paths Paths) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(b) == 0 {
		return false
	}
	args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	if !strings.HasPrefix(filepath.Base(args[0]), "haproxy") {
		return false
	}
	return hasFlag(args, "-f", paths.Config) && hasFlag(args, "-p", paths.PidFile)
}

func hasFlag(args []string, flag, value string) bool {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == flag && args[i+1] == value {
			return true
		}
	}
	return false
}

// ourMaster returns the master pid of the instance if it is alive and ours.
func ourMaster(paths Paths) (int, error) {
	pid, err := readPidFile(paths.PidFile)
	if errors.Is(err, os.ErrNotExist) {
		return 0, ErrNotRunning
	}
	if err != nil {
		return 0, err
	}
	if !alive(pid) || !isOurs(pid, paths) {
		return 0, ErrNotRunning
	}
	return pid, nil
}

package haproxy

import (
	"errors"
	"os"

	"lbaas/internal/proc"
)

// ErrNotRunning means no HAProxy of ours runs for an instance: no pid file, a
// dead pid, or a pid now used by another program.
var ErrNotRunning = errors.New("haproxy instance is not running")

func readPidFile(path string) (int, error) { return proc.ReadPidFile(path) }

func alive(pid int) bool { return proc.Alive(pid) }

// isOurs checks /proc/<pid>/cmdline: an haproxy binary started with our -f
// config and -p pid file. This is what keeps a recycled pid from being signalled.
func isOurs(pid int, paths Paths) bool {
	return proc.Runs(pid, "haproxy", [2]string{"-f", paths.Config}, [2]string{"-p", paths.PidFile})
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

package bench

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of utime and stime in /proc/<pid>/stat: USER_HZ,
// 100 on every Linux this runs on (the kernel's ABI fixes it for /proc).
const clockTick = 10 * time.Millisecond

// processCPU is the user plus system time pid has used, all its threads
// included; false when the process is gone.
func processCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The command name in parentheses may hold spaces: fields count from
	// the last ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(u+s) * clockTick, true
}

// cpuSample is the CPU time used by a set of processes, with the set, so
// that two samples are only compared when no process came or went (a
// reload between them would make the difference meaningless).
type cpuSample struct {
	pids []int
	used time.Duration
}

func sampleCPU(pids []int) (cpuSample, bool) {
	s := cpuSample{pids: slices.Sorted(slices.Values(pids))}
	if len(pids) == 0 {
		return s, false
	}
	for _, p := range pids {
		c, ok := processCPU(p)
		if !ok {
			return s, false
		}
		s.used += c
	}
	return s, true
}

// since returns the CPU used between s0 and s, and whether the two cover
// the same processes.
func (s cpuSample) since(s0 cpuSample) (time.Duration, bool) {
	if !slices.Equal(s.pids, s0.pids) {
		return 0, false
	}
	return s.used - s0.used, true
}

// haproxyProcesses returns an HAProxy master (from its pid file) and its
// workers.
func haproxyProcesses(pidFile string) []int {
	pid, err := readPid(pidFile)
	if err != nil || pid <= 1 {
		return nil
	}
	return append(childrenOf(pid), pid)
}

package realtime

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The checks run in a child process: switching the test binary itself to
// realtime scheduling would outlast the test.
const childEnv = "LBAAS_REALTIME_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(child())
	}
	os.Exit(m.Run())
}

// child enables realtime scheduling, then starts a new OS thread, and
// exits 0 only if every thread, the new one too, runs SCHED_RR at 7.
func child() int {
	if err := Enable(7, time.Second); err != nil {
		println(err.Error())
		return 2
	}
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread() // keeps this goroutine's thread busy, so the runtime starts others
		<-done
	}()
	time.Sleep(50 * time.Millisecond)
	tids, err := threads()
	if err != nil || len(tids) < 2 {
		println("threads:", len(tids), err)
		return 3
	}
	for _, tid := range tids {
		pol, prio, err := Policy(tid)
		if err == nil && (pol != unix.SCHED_RR || prio != 7) {
			println("thread", tid, "policy", pol, "priority", prio)
			return 4
		}
	}
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_RTTIME, &lim) != nil || lim.Max != 1e6 {
		println("RLIMIT_RTTIME", lim.Max)
		return 5
	}
	close(done)
	return 0
}

func TestEveryThreadRunsRealtimeWithABoundedCPUTime(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (SCHED_RR, mlockall)")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v (exit %s): %s", err, strconv.Itoa(cmd.ProcessState.ExitCode()), out)
	}
}

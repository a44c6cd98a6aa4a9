// Package realtime lifts the calling process above ordinary work: a
// realtime scheduling class for every thread, a bound on the CPU time it
// may take without blocking, and memory that is never paged out. It is for
// the processes that sit on the VRRP advert path (the arbiter), which must
// read and pass on an advert within a few milliseconds however busy the
// host is; keepalived's own VRRP process gets the same through its
// configuration (internal/vrrp).
package realtime

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// Enable switches every thread of this process to SCHED_RR at priority,
// sets RLIMIT_RTTIME to cpuLimit (the kernel kills a realtime process
// that runs that long without blocking, so a bug cannot take a core for
// ever) and locks the process's memory as it is touched.
//
// Threads the Go runtime starts later inherit the policy of the thread
// that creates them, and every thread has it once Enable returns.
func Enable(priority int, cpuLimit time.Duration) error {
	us := uint64(cpuLimit.Microseconds())
	if err := unix.Setrlimit(unix.RLIMIT_RTTIME, &unix.Rlimit{Cur: us, Max: us}); err != nil {
		return fmt.Errorf("realtime: RLIMIT_RTTIME: %w", err)
	}
	// MCL_ONFAULT: lock pages as they are first used instead of populating
	// every mapping at once (the Go runtime reserves large heap arenas).
	if err := unix.Mlockall(unix.MCL_CURRENT | unix.MCL_FUTURE | unix.MCL_ONFAULT); err != nil {
		return fmt.Errorf("realtime: mlockall: %w", err)
	}
	attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_RR, Priority: uint32(priority)}
	// A thread started by a thread not yet switched would stay ordinary:
	// repeat until a pass finds none left.
	for range 100 {
		tids, err := threads()
		if err != nil {
			return err
		}
		changed := 0
		for _, tid := range tids {
			cur, err := unix.SchedGetAttr(tid, 0)
			if err != nil {
				continue // the thread has exited
			}
			if cur.Policy == unix.SCHED_RR && cur.Priority == uint32(priority) {
				continue
			}
			if err := unix.SchedSetAttr(tid, &attr, 0); err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("realtime: SCHED_RR for thread %d: %w", tid, err)
			}
			changed++
		}
		if changed == 0 {
			return nil
		}
	}
	return errors.New("realtime: threads kept appearing with the ordinary policy")
}

func threads() ([]int, error) {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil, err
	}
	var tids []int
	for _, e := range ents {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids, nil
}

// Policy reports the scheduling policy and priority of thread tid (0: the
// calling thread), for checks.
func Policy(tid int) (policy, priority uint32, err error) {
	a, err := unix.SchedGetAttr(tid, 0)
	if err != nil {
		return 0, 0, err
	}
	return a.Policy, a.Priority, nil
}

// Start starts cmd (through start, which must fork from the calling
// thread, as exec.Cmd.Start does) so that it begins life with SCHED_RR at
// priority and RLIMIT_RTTIME at cpuLimit, inherited from the forking
// thread: its own children, forked before it could change anything, get
// the same. The calling thread returns to the ordinary policy before Start
// returns, whatever happens.
//
// This exists for keepalived: asked to switch itself to realtime
// (vrrp_rt_priority), it re-applies its RLIMIT_RTTIME on every reload,
// fails to, and the kernel kills its VRRP process a second later; the
// respawned process drops the VIP (docs/009-vrrp-under-load.md).
func Start(cmd func() error, priority int, cpuLimit time.Duration) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	prev, err := unix.SchedGetAttr(0, 0)
	if err != nil {
		return fmt.Errorf("realtime: %w", err)
	}
	us := uint64(cpuLimit.Microseconds())
	var oldLim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_RTTIME, &oldLim); err != nil {
		return fmt.Errorf("realtime: RLIMIT_RTTIME: %w", err)
	}
	// RLIMIT_RTTIME binds only realtime threads, and this process has
	// none but the one forking below, for a moment: the limit is set for
	// the child to inherit.
	if err := unix.Setrlimit(unix.RLIMIT_RTTIME, &unix.Rlimit{Cur: us, Max: us}); err != nil {
		return fmt.Errorf("realtime: RLIMIT_RTTIME: %w", err)
	}
	defer unix.Setrlimit(unix.RLIMIT_RTTIME, &oldLim)
	attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_RR, Priority: uint32(priority)}
	if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
		return fmt.Errorf("realtime: SCHED_RR: %w", err)
	}
	defer func() {
		if err := unix.SchedSetAttr(0, prev, 0); err != nil {
			// A thread stuck at realtime must not go back to the pool.
			panic(fmt.Sprintf("realtime: cannot restore the scheduling policy: %v", err))
		}
	}()
	return cmd()
}

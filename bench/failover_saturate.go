package bench

import (
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// saturation is a stress-ng process keeping every CPU busy: 2 hogs per
// CPU at ordinary priority, in a process group of its own so that a stop
// reaches its workers. Its own --timeout bounds it whatever happens here.
type saturation struct {
	cmd  *exec.Cmd
	done chan struct{}
	once sync.Once
}

// errNoStressNG is the error of every saturated measure on a machine
// without stress-ng: those measures are recorded as not run.
var errNoStressNG = errors.New("stress-ng is not installed: no saturated measure (apt-get install stress-ng)")

// saturate starts the hogs for at most limit (rounded up to a second).
func saturate(limit time.Duration) (*saturation, error) {
	if _, err := exec.LookPath("stress-ng"); err != nil {
		return nil, errNoStressNG
	}
	secs := int((limit + time.Second - 1) / time.Second)
	cmd := exec.Command("stress-ng", "--cpu", strconv.Itoa(2*runtime.NumCPU()), "--timeout", strconv.Itoa(secs)+"s", "--quiet")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("stress-ng: %w", err)
	}
	s := &saturation{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()
	time.Sleep(300 * time.Millisecond) // the hogs are up
	return s, nil
}

// stop ends the hogs (their process group, by the leader's pid) and waits
// for the leader; safe on nil and more than once.
func (s *saturation) stop() {
	if s == nil {
		return
	}
	s.once.Do(func() {
		pgid := s.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-s.done
		}
	})
}

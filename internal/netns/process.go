package netns

import (
	"errors"
	"fmt"
	"os/exec"
	"syscall"
)

// StartProcess starts cmd with the named namespace as its network namespace
// by forking from a thread that Do has switched into that namespace.
//
// The child must outlive the agent (HAProxy keeps serving while the agent
// restarts and adopts it), so when cmd.SysProcAttr is nil StartProcess puts
// the child in its own session (Setsid): a signal to the agent's process
// group or terminal does not reach it. Callers that want the child tied to
// their session pass their own cmd.SysProcAttr (Setsid false). Pdeathsig is
// refused: the kernel sends it when the forking *thread* exits, and threads
// used by Do may be discarded at any time.
//
// Use files (or nil) for cmd.Stdout/Stderr: a pipe would be closed when the
// agent exits and kill the child with SIGPIPE. The caller must still call
// cmd.Wait (or the process must be reaped) to avoid a zombie.
func StartProcess(name string, cmd *exec.Cmd) error {
	if cmd == nil {
		return errors.New("netns: StartProcess: nil command")
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	}
	if cmd.SysProcAttr.Pdeathsig != 0 {
		return errors.New("netns: StartProcess: Pdeathsig is tied to the forking thread and is not supported")
	}
	if err := Do(name, cmd.Start); err != nil {
		return fmt.Errorf("netns: start %s in %q: %w", cmd.Path, name, err)
	}
	return nil
}

package netns

import (
	"errors"
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// Do runs fn with the calling goroutine locked to its OS thread and that
// thread switched into the named network namespace, then switches back.
//
// Sockets created inside fn (net.Listen, net.Dial, raw sockets) stay in the
// namespace after Do returns. Goroutines started by fn do NOT run in the
// namespace: the namespace belongs to one thread, not to the process.
// fn must not call runtime.UnlockOSThread.
func Do(name string, fn func() error) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	fd, err := unix.Open(Path(name), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("netns: open namespace %q: %w", name, err)
	}
	defer unix.Close(fd)
	return doFd(fd, fn)
}

func doFd(target int, fn func() error) (err error) {
	runtime.LockOSThread()
	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netns: open current namespace: %w", err)
	}
	defer unix.Close(orig)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netns: enter namespace: %w", err)
	}
	// Deferred so that a panic in fn also switches back.
	defer func() {
		if rerr := unix.Setns(orig, unix.CLONE_NEWNET); rerr != nil {
			// The thread is stuck in the wrong namespace. Leaving it locked
			// means the runtime never hands it to another goroutine, and it
			// terminates the thread when this goroutine exits, so no
			// unrelated code can open a socket in the wrong namespace.
			err = errors.Join(err, fmt.Errorf("netns: switching back failed, thread abandoned: %w", rerr))
			return
		}
		runtime.UnlockOSThread()
	}()
	return fn()
}

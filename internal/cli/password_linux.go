//go:build linux

package cli

import (
	"io"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// canHideInput says that a terminal's echo can be turned off here.
const canHideInput = true

func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// readNoEcho reads a line from a terminal with its echo off (what
// golang.org/x/term's ReadPassword does), restoring the terminal even when
// the user interrupts. isTerm is false, and nothing is read, when r is no
// terminal.
func readNoEcho(r io.Reader) (line string, isTerm bool, err error) {
	f, ok := r.(*os.File)
	if !ok {
		return "", false, nil
	}
	fd := int(f.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return "", false, nil
	}
	quiet := *old
	quiet.Lflag &^= unix.ECHO
	quiet.Lflag |= unix.ICANON | unix.ISIG
	quiet.Iflag |= unix.ICRNL
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &quiet); err != nil {
		return "", true, err
	}
	sigs := make(chan os.Signal, 1)
	done := make(chan struct{})
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		select {
		case <-sigs:
			// Leave the terminal as it was, then die as the signal would
			// have killed us.
			_ = unix.IoctlSetTermios(fd, unix.TCSETS, old)
			os.Exit(130)
		case <-done:
		}
	}()
	defer func() {
		signal.Stop(sigs)
		close(done)
		_ = unix.IoctlSetTermios(fd, unix.TCSETS, old)
	}()
	line, err = readLine(f)
	return line, true, err
}

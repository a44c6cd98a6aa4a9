//go:build !linux

package cli

import "io"

// canHideInput says that a terminal's echo cannot be turned off here: the
// password is read as a visible line.
const canHideInput = false

func isTerminal(io.Reader) bool { return false }

func readNoEcho(io.Reader) (string, bool, error) { return "", false, nil }

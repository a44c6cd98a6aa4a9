package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"
)

// Passwords of `user create` and `user set` come from a prompt, standard
// input or a file, never from the command line, where the process list
// and the shell's history would show them; they are never printed.

const (
	flagPasswordPrompt = "password-prompt"
	flagPasswordStdin  = "password-stdin"
	flagPasswordFile   = "password-file"
	// flagPassword exists only to refuse the openstack CLI's --password
	// with a useful message.
	flagPassword = "password"
)

// maxPasswordLine bounds a password read from a pipe or a file.
const maxPasswordLine = 4096

func addPasswordFlags(fs *pflag.FlagSet) {
	fs.Bool(flagPasswordPrompt, false, "prompt for the password, twice, without echo on a terminal (from a pipe: read one line)")
	fs.Bool(flagPasswordStdin, false, "read the password from the first line of standard input")
	fs.String(flagPasswordFile, "", "read the password from the first line of `FILE`")
	fs.String(flagPassword, "", "refused: use --password-prompt, --password-stdin or --password-file")
	_ = fs.MarkHidden(flagPassword)
}

// password returns the password the flags ask for; given is false when no
// password flag was given.
func (e *env) password() (pw string, given bool, err error) {
	if e.set(flagPassword) {
		return "", false, usagef("argument --%s: a password on the command line is seen in the process list and the shell's history; use --%s, --%s or --%s",
			flagPassword, flagPasswordPrompt, flagPasswordStdin, flagPasswordFile)
	}
	var set []string
	for _, f := range []string{flagPasswordPrompt, flagPasswordStdin, flagPasswordFile} {
		if e.set(f) {
			set = append(set, f)
		}
	}
	switch {
	case len(set) == 0:
		return "", false, nil
	case len(set) > 1:
		return "", false, usagef("argument --%s: not allowed with argument --%s", set[1], set[0])
	}
	switch set[0] {
	case flagPasswordPrompt:
		pw, err = e.promptPassword()
	case flagPasswordStdin:
		pw, err = e.stdinPassword()
	default:
		path, _ := e.str(flagPasswordFile)
		pw, err = filePassword(path)
	}
	if err == nil && pw == "" {
		err = plainError("The password is empty.")
	}
	return pw, true, err
}

func (e *env) stdin() io.Reader {
	if e.in != nil {
		return e.in
	}
	return os.Stdin
}

// stdinPassword reads one line; without echo when standard input is a
// terminal.
func (e *env) stdinPassword() (string, error) {
	in := e.stdin()
	pw, isTerm, err := readNoEcho(in)
	if isTerm {
		fmt.Fprintln(e.errw)
		if err != nil {
			return "", plainError("Error reading password")
		}
		return pw, nil
	}
	pw, err = readLine(in)
	if errors.Is(err, io.EOF) {
		return "", plainError("No password on standard input.")
	}
	return pw, err
}

// promptPassword asks twice on a terminal, as the openstack CLI does; from
// a pipe it reads one line, like --password-stdin.
func (e *env) promptPassword() (string, error) {
	in := e.stdin()
	if !isTerminal(in) {
		if !canHideInput {
			fmt.Fprintln(e.errw, "warning: the password cannot be read without echo on this system")
		}
		return e.stdinPassword()
	}
	fmt.Fprint(e.errw, "User Password:")
	first, _, err := readNoEcho(in)
	fmt.Fprintln(e.errw)
	if err != nil {
		return "", plainError("Error reading password")
	}
	fmt.Fprint(e.errw, "Repeat User Password:")
	second, _, err := readNoEcho(in)
	fmt.Fprintln(e.errw)
	if err != nil {
		return "", plainError("Error reading password")
	}
	if first != second {
		return "", plainError("The passwords entered were not the same")
	}
	return first, nil
}

func filePassword(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", plainError(fmt.Sprintf("Cannot read the password file: %v", err))
	}
	defer f.Close()
	pw, err := readLine(f)
	if errors.Is(err, io.EOF) {
		return "", plainError(fmt.Sprintf("The password file %s is empty.", path))
	}
	if err != nil {
		return "", plainError(fmt.Sprintf("Cannot read the password file %s: %v", path, err))
	}
	return pw, nil
}

// readLine reads up to a newline, a byte at a time so that nothing after
// the line is consumed; the line ending is dropped. io.EOF means nothing
// was there to read.
func readLine(r io.Reader) (string, error) {
	var b strings.Builder
	buf := make([]byte, 1)
	for {
		n, err := r.Read(buf)
		if n == 1 {
			if buf[0] == '\n' {
				break
			}
			if b.Len() >= maxPasswordLine {
				return "", fmt.Errorf("the password line is longer than %d bytes", maxPasswordLine)
			}
			b.WriteByte(buf[0])
		}
		if errors.Is(err, io.EOF) {
			if b.Len() == 0 {
				return "", io.EOF
			}
			break
		}
		if err != nil {
			return "", err
		}
	}
	return strings.TrimSuffix(b.String(), "\r"), nil
}

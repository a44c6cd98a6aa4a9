package cli

import (
	"errors"
	"fmt"
	"strings"
)

// Exit codes returned by ExitCode. They follow the neutron CLI: runtime
// failures exit 1, command-line mistakes exit 2 (argparse's convention).
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// Error is returned by every verb's RunE. The verb has already written
// Message to its stderr, so callers only need the exit code.
type Error struct {
	Code    int
	Message string
}

func (e *Error) Error() string { return e.Message }

// ExitCode maps an error returned by a verb (or by cobra) to a process
// exit status: 0 for nil, the code carried by *Error, 1 otherwise.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ExitFailure
}

// Reported tells main whether err was already printed by the verb, so
// that it does not print it a second time.
func Reported(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

// usageError is a command-line mistake detected before any request is made.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error {
	return &usageError{msg: fmt.Sprintf(format, a...)}
}

// notFoundError is a client-side lookup failure; like neutronclient's
// NotFound it is treated the same as a server 404 by bulk delete.
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string { return e.msg }

// ambiguousError is raised when a name matches more than one object.
type ambiguousError struct{ msg string }

func (e *ambiguousError) Error() string { return e.msg }

// apiError is a response with status >= 400.
type apiError struct {
	Status    int
	Type      string
	Message   string
	Detail    string
	RequestID string
	Body      string
	octavia   bool
}

func (e *apiError) Error() string {
	if e.octavia {
		// octaviaclient's words: "<faultstring> (HTTP 409) (Request-ID: req-...)".
		msg := e.Message
		if msg == "" {
			msg = strings.TrimSpace(e.Body)
		}
		s := fmt.Sprintf("%s (HTTP %d)", msg, e.Status)
		if e.RequestID != "" {
			s += fmt.Sprintf(" (Request-ID: %s)", e.RequestID)
		}
		return s
	}
	var b strings.Builder
	if e.Message != "" {
		b.WriteString(e.Message)
		if e.Detail != "" {
			b.WriteString("\n" + e.Detail)
		}
	} else {
		// neutronclient shows a non-NeutronError body as "<status>-<body>".
		fmt.Fprintf(&b, "%d-%s", e.Status, strings.TrimSpace(e.Body))
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, "\nNeutron server returns request_ids: ['%s']", e.RequestID)
	}
	return b.String()
}

// connError wraps transport failures (refused, DNS, timeout).
type connError struct {
	URL string
	Err error
}

func (e *connError) Error() string {
	return fmt.Sprintf("Unable to establish connection to %s: %v", e.URL, e.Err)
}

func (e *connError) Unwrap() error { return e.Err }

func isNotFound(err error) bool {
	var nf *notFoundError
	if errors.As(err, &nf) {
		return true
	}
	var ae *apiError
	return errors.As(err, &ae) && ae.Status == 404
}

func isAmbiguous(err error) bool {
	var am *ambiguousError
	return errors.As(err, &am)
}

// finalize turns any error into a reported *Error with the right code.
func finalize(err error) *Error {
	var ue *usageError
	if errors.As(err, &ue) {
		return &Error{Code: ExitUsage, Message: ue.msg}
	}
	return &Error{Code: ExitFailure, Message: err.Error()}
}

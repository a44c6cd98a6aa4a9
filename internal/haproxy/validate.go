package haproxy

import (
	"fmt"
	"path/filepath"
	"strings"
)

// maxUnixPath is the longest unix socket path the kernel accepts (sun_path minus NUL).
const maxUnixPath = 107

// checkUUID accepts the canonical 8-4-4-4-12 hex form only: these strings become
// proxy names and JSON keys, so nothing else may pass.
func checkUUID(field, s string) error {
	if len(s) != 36 {
		return fmt.Errorf("%s %q is not a UUID", field, s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return fmt.Errorf("%s %q is not a UUID", field, s)
			}
		default:
			if !isHex(c) {
				return fmt.Errorf("%s %q is not a UUID", field, s)
			}
		}
	}
	return nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// breaksGrammar reports characters that would end a word, start a comment, a
// quoted string, an escape or an environment expansion in haproxy.cfg, or that
// are not plain printable ASCII.
func breaksGrammar(c byte) bool {
	if c <= ' ' || c >= 0x7f {
		return true
	}
	switch c {
	case '"', '\'', '\\', '#', '$':
		return true
	}
	return false
}

// checkWord rejects anything that is not a single safe config word.
func checkWord(field, s string) error {
	if s == "" {
		return fmt.Errorf("%s is empty", field)
	}
	for i := 0; i < len(s); i++ {
		if breaksGrammar(s[i]) {
			return fmt.Errorf("%s %q contains a forbidden character %q", field, s, s[i])
		}
	}
	return nil
}

// checkPath requires an absolute, clean path made of safe words; commas are also
// refused because the master socket path is passed as "-S <path>,mode,600".
func checkPath(field, p string) error {
	if err := checkWord(field, p); err != nil {
		return err
	}
	if !filepath.IsAbs(p) || filepath.Clean(p) != p {
		return fmt.Errorf("%s %q must be an absolute clean path", field, p)
	}
	if strings.ContainsRune(p, ',') {
		return fmt.Errorf("%s %q must not contain a comma", field, p)
	}
	return nil
}

func checkSocketPath(field, p string) error {
	if err := checkPath(field, p); err != nil {
		return err
	}
	if len(p) > maxUnixPath {
		return fmt.Errorf("%s %q is longer than %d bytes, too long for a unix socket", field, p, maxUnixPath)
	}
	return nil
}

// checkCookieName accepts an RFC 6265 token.
func checkCookieName(s string) error {
	if err := checkWord("cookie name", s); err != nil {
		return err
	}
	if strings.ContainsAny(s, "()<>@,;:/[]?={}") {
		return fmt.Errorf("cookie name %q is not an RFC 6265 token", s)
	}
	return nil
}

// checkHTTPMethod accepts an upper-case token such as GET or HEAD.
func checkHTTPMethod(s string) error {
	if s == "" || len(s) > 16 {
		return fmt.Errorf("http method %q is not valid", s)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return fmt.Errorf("http method %q is not valid", s)
		}
	}
	return nil
}

// checkURLPath accepts an origin-form request target made of safe characters.
func checkURLPath(s string) error {
	if err := checkWord("url path", s); err != nil {
		return err
	}
	if s[0] != '/' {
		return fmt.Errorf("url path %q must start with /", s)
	}
	return nil
}

func checkPort(field string, p int) error {
	if p < 1 || p > 65535 {
		return fmt.Errorf("%s %d is out of range 1..65535", field, p)
	}
	return nil
}

// checkHostName accepts a DNS host name: dot-separated labels of letters,
// digits and inner hyphens, at most 63 bytes each and 253 in all.
func checkHostName(field, s string) error {
	bad := func() error { return fmt.Errorf("%s %q is not a host name", field, s) }
	if s == "" || len(s) > 253 {
		return bad()
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return bad()
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return bad()
			}
		}
	}
	return nil
}

// Package l7 says which user strings an L7 rule or policy may carry: the
// regular expressions, header and cookie names, compared values and
// redirect targets that both the API (to answer 400) and the HAProxy
// renderer (to refuse a spec, whatever its origin) accept. One package so
// that the two can never disagree about what reaches haproxy.cfg.
package l7

import (
	"errors"
	"fmt"
	"net/url"
	"regexp/syntax"
	"strings"
)

// MaxValueLen bounds a compared value, a key, a redirect URL or prefix:
// with the rest of its line it stays far below HAProxy's 2048-byte line.
const MaxValueLen = 255

// CheckValue accepts a compared value: 1 to MaxValueLen printable ASCII
// characters. Spaces and quotes are fine (the renderer quotes); control
// characters and bytes above 0x7e are not, as HTTP fields are ASCII and a
// newline would end the configuration line.
func CheckValue(s string) error {
	if s == "" {
		return errors.New("must not be empty")
	}
	if len(s) > MaxValueLen {
		return fmt.Errorf("exceeds maximum length of %d", MaxValueLen)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e {
			return fmt.Errorf("contains the byte 0x%02x; only printable ASCII is allowed", c)
		}
	}
	return nil
}

// CheckToken accepts an HTTP header or cookie name: an RFC 9110 token
// less the characters HAProxy's sample-fetch argument parser treats as
// syntax (',', '(' and ')' are not token characters anyway; '\”, '"' and
// '\\' would be, so they are left out too).
func CheckToken(s string) error {
	if s == "" {
		return errors.New("must not be empty")
	}
	if len(s) > MaxValueLen {
		return fmt.Errorf("exceeds maximum length of %d", MaxValueLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&*+-.^_`|~", c) >= 0:
		default:
			return fmt.Errorf("'%c' is not allowed in a header or cookie name", c)
		}
	}
	return nil
}

// CheckRegex accepts a regular expression that both Go's RE2 syntax and
// HAProxy's PCRE2 (8-bit, without UTF mode) compile to the same meaning:
// what RE2 parses, restricted to ASCII. RE2 refuses what PCRE2 alone has
// (back-references, look-around), and the restriction keeps out what only
// RE2 reads as Unicode (\p classes, \x{...} above 0xff, non-ASCII text),
// which PCRE2 in 8-bit mode refuses or reads byte by byte.
func CheckRegex(s string) error {
	if err := CheckValue(s); err != nil {
		return err
	}
	if _, err := syntax.Parse(s, syntax.Perl); err != nil {
		var se *syntax.Error
		if errors.As(err, &se) {
			return fmt.Errorf("is not a valid regular expression: %s: %q", se.Code, se.Expr)
		}
		return fmt.Errorf("is not a valid regular expression: %v", err)
	}
	for i := 0; i+1 < len(s); i++ {
		if s[i] != '\\' {
			continue
		}
		switch s[i+1] {
		case 'p', 'P':
			return errors.New("uses a Unicode class (\\p), which HAProxy's regex engine does not read the same way")
		case 'x':
			if i+2 < len(s) && s[i+2] == '{' {
				end := strings.IndexByte(s[i+2:], '}')
				if end > 3 { // more than two hex digits
					return errors.New("uses \\x{...} beyond 0xff, which HAProxy's regex engine refuses")
				}
			}
		}
		i++ // the escaped character is not itself an escape
	}
	return nil
}

// CheckRedirectURL accepts an absolute http or https URL with a host, as
// the target of REDIRECT_TO_URL (wholly) or REDIRECT_PREFIX (prefixed to
// the request's path): printable ASCII without spaces, at most
// MaxValueLen long. A prefix may not carry a query or fragment, as the
// request's path and query follow it.
func CheckRedirectURL(s string, prefix bool) error {
	if err := CheckValue(s); err != nil {
		return err
	}
	if strings.ContainsAny(s, " \\\"'") {
		return errors.New("must not contain spaces, quotes or backslashes (percent-encode them)")
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("is not a valid URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("must be an http or https URL")
	}
	if u.Host == "" || u.Opaque != "" {
		return errors.New("must name a host (http://host/...)")
	}
	if prefix && (u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(s, "?") || strings.Contains(s, "#")) {
		return errors.New("must not have a query or fragment: the request's own path and query follow it")
	}
	return nil
}

// DNFields are the subject fields SSL_DN_FIELD rules may name (the
// OpenSSL short names HAProxy's ssl_c_s_dn accepts).
var DNFields = []string{"C", "ST", "L", "O", "OU", "CN", "emailAddress", "serialNumber", "DC", "UID", "GN", "SN", "title", "initials", "pseudonym"}

// CheckDNField accepts one of DNFields.
func CheckDNField(s string) error {
	for _, f := range DNFields {
		if s == f {
			return nil
		}
	}
	return fmt.Errorf("'%s' is not a subject field name (one of %s)", clip(s), strings.Join(DNFields, ", "))
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

package l7

import (
	"strings"
	"testing"
)

func TestRegexesHAProxyReadsTheSameWayAreAcceptedAndOthersRefused(t *testing.T) {
	for _, ok := range []string{`^/api/`, `\.(jpe?g|png)$`, `^[a-z0-9-]+\.example\.com$`, `(?i)^/Admin`, `\x41`, `\x{41}`, `\\x{100}`, `'q"#\$`, `a{2,5}`, `[[:alpha:]]+`} {
		if err := CheckRegex(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for re, why := range map[string]string{
		`(a`:                     "missing closing )",
		`(?=a)b`:                 "invalid or unsupported Perl syntax",
		`(a)\1`:                  "invalid escape sequence",
		`\p{Greek}`:              "Unicode class",
		`\PL`:                    "Unicode class",
		`\x{100}`:                "beyond 0xff",
		"é":                      "0xc3",
		"a\nb":                   "0x0a",
		"":                       "empty",
		"a{1001}":                "invalid repeat count",
		strings.Repeat("a", 256): "maximum length",
	} {
		err := CheckRegex(re)
		if err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("%q: %v, want an error saying %q", re, err, why)
		}
	}
}

func TestHeaderAndCookieNamesAreTokensWithoutParserCharacters(t *testing.T) {
	for _, ok := range []string{"X-Forwarded-For", "session_id", "a.b~c|d"} {
		if err := CheckToken(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a b", "a,b", "a(b", "a)b", "a'b", `a"b`, `a\b`, "a:b", "a\nb", "é"} {
		if CheckToken(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestRedirectTargetsAreAbsoluteHTTPURLsAndPrefixesHaveNoQuery(t *testing.T) {
	for _, ok := range []string{"https://example.com", "http://example.com:8080/a/b?c=d", "https://example.com/new%20home"} {
		if err := CheckRedirectURL(ok, false); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	if err := CheckRedirectURL("https://example.com/base", true); err != nil {
		t.Errorf("prefix refused: %v", err)
	}
	for url, why := range map[string]string{
		"/relative":                      "http or https",
		"ftp://example.com/":             "http or https",
		"https:///path":                  "name a host",
		"https://example.com/a b":        "spaces",
		"https://example.com/'x'":        "quotes",
		"https://example.com/%zz":        "not a valid URL",
		"https://example.com/\r\nX-A: b": "0x0d",
		"javascript:alert(1)":            "http or https",
	} {
		err := CheckRedirectURL(url, false)
		if err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("%q: %v, want an error saying %q", url, err, why)
		}
	}
	if err := CheckRedirectURL("https://example.com/?a=b", true); err == nil || !strings.Contains(err.Error(), "query") {
		t.Errorf("a prefix with a query: %v", err)
	}
}

package haproxy

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

func TestExpectedCodesBecomeStatusOrAnchoredRegex(t *testing.T) {
	cases := map[string]string{
		"":        "status 200",
		"200":     "status 200",
		"200,202": "rstatus ^(200|202)$",
		"200-204": "rstatus ^(20[0-4])$",
		"200-299": "rstatus ^(2[0-9][0-9])$",
		"198-311": "rstatus ^(19[8-9]|2[0-9][0-9]|30[0-9]|31[0-1])$",
		"404,200": "rstatus ^(200|404)$",
	}
	for in, want := range cases {
		got, err := expectRule(in)
		if err != nil || got != want {
			t.Errorf("expectRule(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestExpectedCodesRegexMatchesExactlyTheCodes(t *testing.T) {
	for _, in := range []string{"200-204", "150-420", "200,201,209,310", "100-599", "555-556"} {
		set, err := parseExpectedCodes(in)
		if err != nil {
			t.Fatal(err)
		}
		want := map[int]bool{}
		for _, c := range set {
			want[c] = true
		}
		re := regexp.MustCompile("^(" + codeRegex(set) + ")$")
		for c := 100; c <= 599; c++ {
			if re.MatchString(fmt.Sprint(c)) != want[c] {
				t.Errorf("%s: regex %s wrong for %d", in, re, c)
			}
		}
	}
}

func TestMalformedExpectedCodesAreRefused(t *testing.T) {
	for _, in := range []string{"20", "2000", "200 ,202", "200-", "-200", "204-200", "099", "600", "200-204,300", "abc", "200,,202"} {
		if _, err := expectRule(in); err == nil {
			t.Errorf("expectRule(%q) accepted", in)
		}
	}
	if _, err := expectRule(strings.Repeat("200,", 3) + "200"); err != nil {
		t.Errorf("repeated codes refused: %v", err)
	}
}

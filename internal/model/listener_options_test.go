package model

import (
	"strings"
	"testing"
)

func TestCipherListsMustNameKnownCiphersAndSelectSome(t *testing.T) {
	for _, ok := range []string{"ECDHE-RSA-AES128-GCM-SHA256", "HIGH:!aNULL:!MD5", "ECDHE+AESGCM:ECDHE+CHACHA20:@SECLEVEL=2", "DEFAULT:-RC4", "AES256-SHA:@STRENGTH"} {
		if why := checkCipherList(ok); why != "" {
			t.Errorf("%q refused: %s", ok, why)
		}
	}
	for list, want := range map[string]string{"-i": "not an OpenSSL cipher", "aaaa": "not an OpenSSL cipher", "!aNULL:!MD5": "selects no cipher",
		"ECDHE-RSA-AES128-GCM-SHA256:FOO": "'FOO'", "@SECLEVEL=9": "not an OpenSSL cipher", "eNULL": "selects no cipher"} {
		if why := checkCipherList(list); why == "" || !strings.Contains(why, want) {
			t.Errorf("%q: %q, want %q", list, why, want)
		}
	}
}

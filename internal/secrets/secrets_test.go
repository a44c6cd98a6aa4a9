package secrets

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func keyring(t *testing.T, lines ...string) *Keyring {
	t.Helper()
	k, err := Parse([]byte(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestASealedValueOpensOnlyForItsObjectAndHidesThePlaintext(t *testing.T) {
	line, _ := NewKeyLine(time.Now())
	k := keyring(t, line)
	s, err := k.Seal([]byte("-----BEGIN PRIVATE KEY-----\nsecret"), "cert-1")
	if err != nil {
		t.Fatal(err)
	}
	if !IsSealed(s) || strings.Contains(s, "PRIVATE KEY") || KeyID(s) != k.Primary() {
		t.Fatalf("sealed: %q", s)
	}
	if p, err := k.Open(s, "cert-1"); err != nil || string(p) != "-----BEGIN PRIVATE KEY-----\nsecret" {
		t.Fatalf("open: %q %v", p, err)
	}
	if _, err := k.Open(s, "cert-2"); err == nil {
		t.Fatal("a value opened for another object")
	}
	tampered := s[:len(s)-4] + "AAA="
	if _, err := k.Open(tampered, "cert-1"); err == nil {
		t.Fatal("an altered value opened")
	}
	other, _ := NewKeyLine(time.Now())
	if _, err := keyring(t, other).Open(s, "cert-1"); err == nil || !strings.Contains(err.Error(), "does not have") {
		t.Fatalf("another keyring: %v", err)
	}
}

func TestRotationSealsWithTheFirstKeyAndReopensWhatTheOlderOnesSealed(t *testing.T) {
	oldLine, _ := NewKeyLine(time.Now())
	newLine, _ := NewKeyLine(time.Now())
	old := keyring(t, oldLine)
	s, _ := old.Seal([]byte("key"), "c")
	// Step 1: the new key second everywhere: nothing changes.
	step1 := keyring(t, oldLine, newLine)
	if step1.Stale(s) {
		t.Fatal("a value under the primary is stale")
	}
	// Step 2: the new key first: the old value is stale and still opens.
	step2 := keyring(t, newLine, oldLine)
	if !step2.Stale(s) {
		t.Fatal("a value under an older key is not stale")
	}
	if p, err := step2.Open(s, "c"); err != nil || string(p) != "key" {
		t.Fatalf("open under the old key: %v", err)
	}
	resealed, _ := step2.Seal([]byte("key"), "c")
	if KeyID(resealed) == KeyID(s) || step2.Stale(resealed) {
		t.Fatal("resealing did not move the value to the new key")
	}
	// A server still on the old file leaves a newer key's value alone.
	if old.Stale(resealed) {
		t.Fatal("a server without the new key would reseal back")
	}
	if !old.Stale("-----BEGIN PRIVATE KEY-----") {
		t.Fatal("plaintext is not stale")
	}
}

func TestKeyFilesAreMadePrivateAndBadOnesAreRefused(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secrets.key")
	k, created, err := LoadOrCreate(path)
	if err != nil || !created {
		t.Fatal(created, err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %o", st.Mode().Perm())
	}
	again, created, err := LoadOrCreate(path)
	if err != nil || created || again.Primary() != k.Primary() {
		t.Fatalf("second load: %v %v", created, err)
	}
	os.Chmod(path, 0o644)
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "readable by others") {
		t.Fatalf("a world-readable key file: %v", err)
	}
	for _, bad := range []string{"", "k1", "k1 c2hvcnQ=", "k/1 " + strings.Repeat("A", 44), "k1 AAAA\nk1 AAAA"} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// Servers starting together on one directory: one makes the key file,
// every one reads the same whole key.
func TestServersStartingTogetherAllGetTheOneKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets.key")
	const n = 16
	keys := make(chan string, n)
	errs := make(chan error, n)
	made := make(chan bool, n)
	for i := 0; i < n; i++ {
		go func() {
			k, created, err := LoadOrCreate(path)
			if err != nil {
				errs <- err
				return
			}
			keys <- k.Primary()
			made <- created
		}()
	}
	seen, creators := map[string]bool{}, 0
	for i := 0; i < n; i++ {
		select {
		case err := <-errs:
			t.Fatal(err)
		case k := <-keys:
			seen[k] = true
			if <-made {
				creators++
			}
		}
	}
	if len(seen) != 1 || creators != 1 {
		t.Fatalf("%d keys, %d creators; want one of each", len(seen), creators)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".secrets-key-*")); len(left) > 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

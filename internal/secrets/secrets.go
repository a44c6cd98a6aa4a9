// Package secrets seals what must not sit in the store in the clear (a
// certificate's private key) with AES-256-GCM under a key that lives
// outside the store: a key file given to each server, as Kubernetes keeps
// the key of the Secrets it writes to etcd.
//
// The key file holds one key per line, "<id> <base64 of 32 bytes>", newest
// first; '#' starts a comment. The first key seals, every key opens. A
// sealed value is "sealed:v1:<id>:<base64 of nonce and ciphertext>", bound
// to the object it belongs to (the id is the additional data), so a value
// copied to another object does not open there.
//
// Rotation without downtime: give every server the new key on the second
// line and restart them; then move it to the first line and restart them
// again (each reseals what it finds under an older key, see Keyring.Stale);
// once the servers log that nothing is left under the old key, remove it.
package secrets

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

const prefix = "sealed:v1:"

// KeyLen is the length of a key: AES-256.
const KeyLen = 32

var idRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// Keyring is the keys of a key file.
type Keyring struct {
	ids  []string // newest first; ids[0] seals
	keys map[string]cipher.AEAD
}

// Parse reads a key file's text.
func Parse(text []byte) (*Keyring, error) {
	k := &Keyring{keys: map[string]cipher.AEAD{}}
	sc := bufio.NewScanner(bytes.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 || !idRE.MatchString(f[0]) {
			return nil, fmt.Errorf("line %d: want \"<id> <base64 key>\" with an id of letters, digits, '.', '_' or '-'", n)
		}
		raw, err := base64.StdEncoding.DecodeString(f[1])
		if err != nil || len(raw) != KeyLen {
			return nil, fmt.Errorf("line %d: key %s is not %d bytes of base64", n, f[0], KeyLen)
		}
		if _, dup := k.keys[f[0]]; dup {
			return nil, fmt.Errorf("line %d: key id %s appears twice", n, f[0])
		}
		block, _ := aes.NewCipher(raw)
		aead, _ := cipher.NewGCM(block)
		k.ids = append(k.ids, f[0])
		k.keys[f[0]] = aead
	}
	if len(k.ids) == 0 {
		return nil, errors.New("no key")
	}
	return k, nil
}

// Load reads a key file, which must not be readable by others.
func Load(path string) (*Keyring, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("key file %s is readable by others (mode %04o); chmod 600 it", path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return k, nil
}

// LoadOrCreate loads the key file, or writes one with a fresh random key
// when there is none (created reports it).
func LoadOrCreate(path string) (k *Keyring, created bool, err error) {
	k, err = Load(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, false, err
	}
	line, err := NewKeyLine(time.Now())
	if err != nil {
		return nil, false, err
	}
	text := "# lbaas secrets key file: \"<id> <base64 key>\" per line, newest first; the first seals.\n" + line + "\n"
	// Written whole beside, then linked in place: link fails if the file
	// exists, so of servers starting together on one directory exactly
	// one makes it, and none ever reads it half written.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".secrets-key-")
	if err != nil {
		return nil, false, err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, false, err
	}
	if _, err := tmp.WriteString(text); err != nil {
		tmp.Close()
		return nil, false, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, false, err
	}
	if err := tmp.Close(); err != nil {
		return nil, false, err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) { // another server made it first
			k, err = Load(path)
			return k, false, err
		}
		return nil, false, err
	}
	k, err = Parse([]byte(text))
	return k, true, err
}

// NewKeyLine returns a key file line with a fresh random key, its id
// made of the date and a random suffix.
func NewKeyLine(now time.Time) (string, error) {
	raw := make([]byte, KeyLen+3)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	id := fmt.Sprintf("k%s-%x", now.UTC().Format("20060102"), raw[KeyLen:])
	return id + " " + base64.StdEncoding.EncodeToString(raw[:KeyLen]), nil
}

// Primary is the id of the key that seals.
func (k *Keyring) Primary() string { return k.ids[0] }

// Seal encrypts plain for the object aad names.
func (k *Keyring) Seal(plain []byte, aad string) (string, error) {
	id := k.ids[0]
	aead := k.keys[id]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	ct := aead.Seal(nonce, nonce, plain, []byte(aad))
	return prefix + id + ":" + base64.StdEncoding.EncodeToString(ct), nil
}

// IsSealed reports whether s is a sealed value (not plaintext).
func IsSealed(s string) bool { return strings.HasPrefix(s, prefix) }

// KeyID returns the id of the key that sealed s ("" for plaintext).
func KeyID(s string) string {
	if !IsSealed(s) {
		return ""
	}
	id, _, _ := strings.Cut(strings.TrimPrefix(s, prefix), ":")
	return id
}

// ErrUnknownKey: the value was sealed with a key this keyring lacks.
var ErrUnknownKey = errors.New("sealed with a key this server's key file does not have")

// Open decrypts a sealed value of the object aad names. Plaintext (stored
// before sealing existed) is returned as it is.
func (k *Keyring) Open(s, aad string) ([]byte, error) {
	if !IsSealed(s) {
		return []byte(s), nil
	}
	id, b64, ok := strings.Cut(strings.TrimPrefix(s, prefix), ":")
	if !ok {
		return nil, errors.New("malformed sealed value")
	}
	aead, ok := k.keys[id]
	if !ok {
		return nil, fmt.Errorf("key %s: %w", id, ErrUnknownKey)
	}
	ct, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(ct) < aead.NonceSize() {
		return nil, errors.New("malformed sealed value")
	}
	plain, err := aead.Open(nil, ct[:aead.NonceSize()], ct[aead.NonceSize():], []byte(aad))
	if err != nil {
		return nil, fmt.Errorf("sealed value does not open with key %s (altered, or not this object's)", id)
	}
	return plain, nil
}

// Stale reports whether s should be sealed again with the primary key:
// it is plaintext, or sealed with a key listed after the primary (an
// older one). A value under a key this keyring does not know is left
// alone: another server may already have the newer file.
func (k *Keyring) Stale(s string) bool {
	id := KeyID(s)
	if id == "" {
		return s != ""
	}
	if id == k.ids[0] {
		return false
	}
	_, known := k.keys[id]
	return known
}

// Package auth maps X-Auth-Token values to a project and a role.
//
// Tokens live in a JSON file the operator owns. Each entry holds either the
// token's SHA-256 (preferred: the file then holds no secret) or the token
// itself. Roles: "admin" sees every project, "member" only its own, "node"
// is the credential of a compute node's agent and may use only the agent
// endpoints.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sync"
)

// Roles a token can carry.
const (
	RoleAdmin  = "admin"
	RoleMember = "member"
	RoleNode   = "node"
)

// Caller is who made a request.
type Caller struct {
	Project string
	Role    string
	// Node is the node name a node credential is bound to.
	Node string
}

// IsAdmin reports whether the caller may see every project.
func (c Caller) IsAdmin() bool { return c.Role == RoleAdmin }

// Entry is one token in the tokens file.
type Entry struct {
	// TokenSHA256 is the hex SHA-256 of the token.
	TokenSHA256 string `json:"token_sha256,omitempty"`
	// Token is the token in clear; accepted for hand-written files.
	Token   string `json:"token,omitempty"`
	Project string `json:"project"`
	Role    string `json:"role"`
	// Node binds a node credential to one node name.
	Node string `json:"node,omitempty"`
}

// File is the tokens file's layout.
type File struct {
	Tokens []Entry `json:"tokens"`
}

var projectRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// Authenticator answers who holds a token.
type Authenticator struct {
	mu     sync.RWMutex
	byHash map[[32]byte]Caller
}

// Load reads a tokens file.
func Load(path string) (*Authenticator, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokens file: %w", err)
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("tokens file %s: %w", path, err)
	}
	return New(f.Tokens)
}

// New builds an authenticator from entries, checking each.
func New(entries []Entry) (*Authenticator, error) {
	a := &Authenticator{byHash: map[[32]byte]Caller{}}
	for i, e := range entries {
		var h [32]byte
		switch {
		case e.TokenSHA256 != "":
			raw, err := hex.DecodeString(e.TokenSHA256)
			if err != nil || len(raw) != 32 {
				return nil, fmt.Errorf("token %d: token_sha256 is not 64 hex digits", i)
			}
			copy(h[:], raw)
		case len(e.Token) >= 16:
			h = sha256.Sum256([]byte(e.Token))
		default:
			return nil, fmt.Errorf("token %d: needs token_sha256 or a token of at least 16 characters", i)
		}
		switch e.Role {
		case RoleAdmin, RoleMember:
		case RoleNode:
			if e.Node == "" {
				return nil, fmt.Errorf("token %d: a node token names its node", i)
			}
		default:
			return nil, fmt.Errorf("token %d: role %q is not admin, member or node", i, e.Role)
		}
		if !projectRE.MatchString(e.Project) {
			return nil, fmt.Errorf("token %d: project %q must be 1-64 letters, digits, '_', '.' or '-'", i, e.Project)
		}
		a.byHash[h] = Caller{Project: e.Project, Role: e.Role, Node: e.Node}
	}
	return a, nil
}

// ErrUnauthorized is returned for a missing or unknown token.
var ErrUnauthorized = errors.New("The request you have made requires authentication.")

// Authenticate returns the caller holding token.
func (a *Authenticator) Authenticate(token string) (Caller, error) {
	if token == "" {
		return Caller{}, ErrUnauthorized
	}
	h := sha256.Sum256([]byte(token))
	a.mu.RLock()
	defer a.mu.RUnlock()
	// The map lookup is on a hash of the token, so timing reveals nothing
	// about the token itself; compare once more in constant time anyway.
	for k, c := range a.byHash {
		if subtle.ConstantTimeCompare(k[:], h[:]) == 1 {
			return c, nil
		}
	}
	return Caller{}, ErrUnauthorized
}

// NewToken returns a random token of 32 hex-encoded bytes.
func NewToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // the kernel's CSPRNG does not fail
	}
	return hex.EncodeToString(b)
}

// HashToken returns the hex SHA-256 of a token, as stored in the file.
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// WriteFile writes entries to path with mode 0600.
func WriteFile(path string, entries []Entry) error {
	tmp, err := writeTemp(path, entries)
	if err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// CreateFile writes entries to path with mode 0600 unless path exists, and
// reports whether it did. Of servers that start together on one data
// directory exactly one creates the file (a hard link fails if the name
// exists, where a check before a write would let both write), and nobody
// ever reads a half-written file.
func CreateFile(path string, entries []Entry) (bool, error) {
	tmp, err := writeTemp(path, entries)
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// writeTemp writes entries to a new file (mode 0600) beside path.
func writeTemp(path string, entries []Entry) (string, error) {
	b, err := json.MarshalIndent(File{Tokens: entries}, "", "  ")
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return "", err
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

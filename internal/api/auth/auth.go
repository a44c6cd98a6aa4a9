// Package auth answers who holds an X-Auth-Token: a Caller with a user, a
// project and the roles that the policy (package policy) decides on.
//
// Authenticators: a tokens file the operator owns (Static: machine
// credentials, and the admin token of a first start), the built-in
// identity service, and a Keystone (package keystone). Chain tries them in
// order.
//
// In the tokens file each entry holds either the token's SHA-256
// (preferred: the file then holds no secret) or the token itself, with a
// role: "admin" (roles admin, member, reader: Keystone's implied roles),
// "member" (member, reader), or "node", the credential of a compute node's
// agent, which may use only the agent endpoints. An entry may instead list
// its roles by name.
package auth

import (
	"context"
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
	"slices"
	"sync"
	"time"
)

// Roles of a tokens-file entry.
const (
	RoleAdmin  = "admin"
	RoleMember = "member"
	RoleReader = "reader"
	RoleNode   = "node"
)

// ImpliedRoles expands role names as Keystone's default inference rules do
// (admin implies member, member implies reader), so that a caller of any
// authenticator carries what a Keystone token would list.
func ImpliedRoles(roles []string) []string {
	out := slices.Clone(roles)
	add := func(r string) {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	if slices.Contains(out, RoleAdmin) {
		add(RoleMember)
	}
	if slices.Contains(out, RoleMember) {
		add(RoleReader)
	}
	return out
}

// Caller is who made a request.
type Caller struct {
	UserID   string
	UserName string
	// Project is the id of the project the token is scoped to.
	Project     string
	ProjectName string
	// Roles are the names of the caller's roles on Project, implied roles
	// included.
	Roles []string
	// Node is the node name a node credential is bound to; such a caller
	// has no roles and may use only the agent API.
	Node string
	// Expires is when the token stops being valid; zero for tokens-file
	// entries, which last until the file changes.
	Expires time.Time
}

// HasRole reports whether the caller holds role (by name).
func (c Caller) HasRole(role string) bool { return slices.Contains(c.Roles, role) }

// Authenticator answers who holds a token: ErrUnauthorized for a token it
// does not know; ErrUnavailable when it cannot tell now.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (Caller, error)
}

// ErrUnavailable is returned when the identity service cannot be asked.
var ErrUnavailable = errors.New("The identity service is unavailable; retry.")

// Chain tries each authenticator in turn: the first to know the token
// answers. An authenticator that cannot tell ends the search with
// ErrUnavailable, since a later one might not know the token and make a
// valid one look invalid.
type Chain []Authenticator

// Authenticate implements Authenticator.
func (ch Chain) Authenticate(ctx context.Context, token string) (Caller, error) {
	if token == "" {
		return Caller{}, ErrUnauthorized
	}
	for _, a := range ch {
		c, err := a.Authenticate(ctx, token)
		if errors.Is(err, ErrUnauthorized) {
			continue
		}
		return c, err
	}
	return Caller{}, ErrUnauthorized
}

// Entry is one token in the tokens file.
type Entry struct {
	// TokenSHA256 is the hex SHA-256 of the token.
	TokenSHA256 string `json:"token_sha256,omitempty"`
	// Token is the token in clear; accepted for hand-written files.
	Token   string `json:"token,omitempty"`
	Project string `json:"project"`
	// Role is admin, member or node; Roles instead lists role names.
	Role  string   `json:"role,omitempty"`
	Roles []string `json:"roles,omitempty"`
	// Node binds a node credential to one node name.
	Node string `json:"node,omitempty"`
}

// File is the tokens file's layout.
type File struct {
	Tokens []Entry `json:"tokens"`
}

var (
	projectRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	roleRE    = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
)

// Static answers for the tokens of a tokens file.
type Static struct {
	mu     sync.RWMutex
	byHash map[[32]byte]Caller
}

// Load reads a tokens file.
func Load(path string) (*Static, error) {
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
func New(entries []Entry) (*Static, error) {
	a := &Static{byHash: map[[32]byte]Caller{}}
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
		c := Caller{Project: e.Project, ProjectName: e.Project, UserName: "token-" + hex.EncodeToString(h[:4])}
		c.UserID = c.UserName
		switch {
		case e.Role != "" && len(e.Roles) > 0:
			return nil, fmt.Errorf("token %d: give role or roles, not both", i)
		case e.Role == RoleAdmin || e.Role == RoleMember:
			c.Roles = ImpliedRoles([]string{e.Role})
		case e.Role == RoleNode:
			if e.Node == "" {
				return nil, fmt.Errorf("token %d: a node token names its node", i)
			}
			c.Node = e.Node
		case e.Role != "":
			return nil, fmt.Errorf("token %d: role %q is not admin, member or node", i, e.Role)
		case len(e.Roles) == 0:
			return nil, fmt.Errorf("token %d: needs a role (admin, member or node) or roles", i)
		default:
			for _, r := range e.Roles {
				if !roleRE.MatchString(r) {
					return nil, fmt.Errorf("token %d: role name %q must be 1-64 letters, digits, '_', '.' or '-'", i, r)
				}
			}
			c.Roles = ImpliedRoles(e.Roles)
		}
		if !projectRE.MatchString(e.Project) {
			return nil, fmt.Errorf("token %d: project %q must be 1-64 letters, digits, '_', '.' or '-'", i, e.Project)
		}
		a.byHash[h] = c
	}
	return a, nil
}

// ErrUnauthorized is returned for a missing or unknown token.
var ErrUnauthorized = errors.New("The request you have made requires authentication.")

// Authenticate returns the caller holding token.
func (a *Static) Authenticate(_ context.Context, token string) (Caller, error) {
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

// Package identity is the built-in identity service of a standalone
// install: the part of Keystone v3 that OpenStack clients need to log in
// (password and application-credential methods, project-scoped tokens
// with a service catalog), token validation and revocation, and the
// user, project and role-assignment calls an admin manages them with.
//
// Everything lives in the store, so every server answers for a token any
// server issued. Passwords and application-credential secrets are bcrypt
// hashes; tokens are random and stored only as their SHA-256, and never
// logged. It is an auth.Authenticator for the APIs.
package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"lbaas/internal/api/auth"
	"lbaas/internal/model"
	"lbaas/internal/store"
)

// Roles every install has: Keystone's defaults and Octavia's.
var DefaultRoles = []string{"admin", "member", "reader", "load-balancer_admin", "load-balancer_member",
	"load-balancer_observer", "load-balancer_global_observer", "load-balancer_quota_admin"}

// AdminProjectID is the bootstrap admin's project. Its id is its name, the
// project the tokens file's admin token has always had, so that objects of
// either admin are in one project.
const AdminProjectID = "admin"

// Endpoint is one service of the catalog.
type Endpoint struct {
	Type, Name, URL string
}

// Config tunes the service.
type Config struct {
	// TokenTTL is a token's life; Keystone's default is an hour.
	TokenTTL time.Duration
	// Catalog lists the services a token's catalog names.
	Catalog []Endpoint
	// Region of every endpoint.
	Region string
	// BcryptCost of new password hashes (bcrypt.DefaultCost when 0).
	BcryptCost int
	// Others answers for tokens this service did not issue (the tokens
	// file's): its admin may manage users with the token a first start
	// wrote, before any password is known.
	Others auth.Authenticator
	Logger *slog.Logger
	Now    func() time.Time
}

// Service is the identity service of one server.
type Service struct {
	st  *store.Store
	cfg Config
	log *slog.Logger

	// dummyHash is compared against when a user is unknown, so that an
	// unknown user and a wrong password cost the same time.
	dummyHash []byte

	limiter *limiter

	// misses remembers token hashes that are in no store, for a few
	// seconds: a flood of made-up tokens costs one etcd read each only
	// once.
	mu     sync.Mutex
	misses map[string]time.Time
}

// New builds the service; Bootstrap creates what a first start needs.
func New(st *store.Store, cfg Config) *Service {
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = time.Hour
	}
	if cfg.Region == "" {
		cfg.Region = "RegionOne"
	}
	if cfg.BcryptCost == 0 {
		cfg.BcryptCost = bcrypt.DefaultCost
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	dummy, err := bcrypt.GenerateFromPassword([]byte(uuid.NewString()), cfg.BcryptCost)
	if err != nil {
		panic(err)
	}
	return &Service{st: st, cfg: cfg, log: cfg.Logger, dummyHash: dummy, limiter: newLimiter(cfg.Now), misses: map[string]time.Time{}}
}

// SetCatalog replaces the catalog (the server knows its addresses only
// once it listens).
func (s *Service) SetCatalog(c []Endpoint) { s.cfg.Catalog = c }

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_.@-]{1,64}$`)

func checkName(what, name string) error {
	if !nameRE.MatchString(name) {
		return &model.InputError{Type: "ValidationError", Message: fmt.Sprintf("Invalid %s name %q: 1 to 64 letters, digits, '_', '.', '@' or '-'.", what, model.Clip(name))}
	}
	return nil
}

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 12

func checkPassword(p string) error {
	if len(p) < MinPasswordLength || len(p) > 72 {
		// bcrypt reads at most 72 bytes: a longer password would be
		// silently cut.
		return &model.InputError{Type: "ValidationError", Message: fmt.Sprintf("A password has %d to 72 bytes.", MinPasswordLength)}
	}
	return nil
}

func claimName(kind model.Kind, name string) string {
	return "identity-name/" + string(kind) + "/" + name
}

func newID() string { return strings.ReplaceAll(uuid.NewString(), "-", "") }

// NewSecret returns a random secret for a password or an application
// credential: 32 bytes, URL-safe base64.
func NewSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Service) meta(id string) model.Meta {
	now := s.cfg.Now().UTC()
	return model.Meta{ID: id, CreatedAt: now, UpdatedAt: now}
}

// ErrExists is returned for a name that is taken.
var ErrExists = errors.New("exists")

// createNamed stores o under a claim of its name: of two creates of one
// name, exactly one wins, whichever server they reach.
func (s *Service) createNamed(ctx context.Context, kind model.Kind, name string, o model.Object) error {
	_, err := s.st.Commit(ctx, new(store.Txn).Claim(claimName(kind, name), o.Base().ID).Create(kind, o))
	if errors.Is(err, store.ErrConflict) {
		return &model.ConflictError{Type: "Conflict", Message: fmt.Sprintf("Conflict occurred attempting to store %s - Duplicate entry %q.", strings.TrimPrefix(string(kind), "identity_"), name)}
	}
	return err
}

// byName returns the object of kind named name.
func (s *Service) byName(kind model.Kind, name string) (store.Entry, bool) {
	for _, e := range s.st.List(kind) {
		if nameOf(e.Obj) == name {
			return e, true
		}
	}
	return store.Entry{}, false
}

func nameOf(o model.Object) string {
	switch v := o.(type) {
	case *model.Project:
		return v.Name
	case *model.User:
		return v.Name
	case *model.Role:
		return v.Name
	case *model.AppCred:
		return v.Name
	}
	return ""
}

// CreateProject stores a project.
func (s *Service) CreateProject(ctx context.Context, name, description string) (*model.Project, error) {
	return s.createProject(ctx, newID(), name, description)
}

func (s *Service) createProject(ctx context.Context, id, name, description string) (*model.Project, error) {
	if err := checkName("project", name); err != nil {
		return nil, err
	}
	if err := model.ValidateText("description", description, 255); err != nil {
		return nil, err
	}
	p := &model.Project{Meta: s.meta(id), Name: name, Description: description, Enabled: true}
	return p, s.createNamed(ctx, model.KindProject, name, p)
}

// CreateRole stores a role.
func (s *Service) CreateRole(ctx context.Context, name string) (*model.Role, error) {
	if err := checkName("role", name); err != nil {
		return nil, err
	}
	r := &model.Role{Meta: s.meta(newID()), Name: name}
	return r, s.createNamed(ctx, model.KindRole, name, r)
}

// CreateUser stores a user with a password.
func (s *Service) CreateUser(ctx context.Context, name, password, defaultProject string) (*model.User, error) {
	if err := checkName("user", name); err != nil {
		return nil, err
	}
	if err := checkPassword(password); err != nil {
		return nil, err
	}
	if defaultProject != "" {
		if _, ok := s.st.Get(model.KindProject, defaultProject); !ok {
			return nil, notFound("project", defaultProject)
		}
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), s.cfg.BcryptCost)
	if err != nil {
		return nil, err
	}
	u := &model.User{Meta: s.meta(newID()), Name: name, Enabled: true, PasswordHash: string(h), DefaultProjectID: defaultProject}
	return u, s.createNamed(ctx, model.KindUser, name, u)
}

// SetPassword replaces a user's password and revokes its tokens.
func (s *Service) SetPassword(ctx context.Context, userID, password string) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), s.cfg.BcryptCost)
	if err != nil {
		return err
	}
	_, err = s.st.Mutate(ctx, func() (*store.Txn, error) {
		e, ok := s.st.Get(model.KindUser, userID)
		if !ok {
			return nil, notFound("user", userID)
		}
		u := *e.Obj.(*model.User)
		u.PasswordHash, u.UpdatedAt = string(h), s.cfg.Now().UTC()
		return s.revokeWhere(new(store.Txn).Update(model.KindUser, &u, e.Rev), func(t *model.Token) bool { return t.UserID == userID }), nil
	})
	return err
}

func notFound(what, id string) error {
	return &model.NotFoundError{Type: "NotFound", Message: fmt.Sprintf("Could not find %s: %s.", what, model.Clip(id))}
}

// Assign grants user role on project (idempotent).
func (s *Service) Assign(ctx context.Context, userID, projectID, roleID string) error {
	for k, id := range map[model.Kind]string{model.KindUser: userID, model.KindProject: projectID, model.KindRole: roleID} {
		if _, ok := s.st.Get(k, id); !ok {
			return notFound(strings.TrimPrefix(string(k), "identity_"), id)
		}
	}
	id := model.AssignmentID(userID, projectID, roleID)
	if _, ok := s.st.Get(model.KindAssignment, id); ok {
		return nil
	}
	a := &model.Assignment{Meta: s.meta(id), UserID: userID, ProjectID: projectID, RoleID: roleID}
	_, err := s.st.Commit(ctx, new(store.Txn).Put(model.KindAssignment, a))
	return err
}

// Unassign takes role away and revokes the user's tokens on the project,
// as Keystone does: a token never outlives a role it lists.
func (s *Service) Unassign(ctx context.Context, userID, projectID, roleID string) error {
	id := model.AssignmentID(userID, projectID, roleID)
	_, err := s.st.Mutate(ctx, func() (*store.Txn, error) {
		if _, ok := s.st.Get(model.KindAssignment, id); !ok {
			return nil, notFound("role assignment", id)
		}
		t := new(store.Txn).DeleteIfExists(model.KindAssignment, id)
		return s.revokeWhere(t, func(tk *model.Token) bool { return tk.UserID == userID && tk.ProjectID == projectID }), nil
	})
	return err
}

// DeleteUser removes a user, its assignments, credentials and tokens.
func (s *Service) DeleteUser(ctx context.Context, userID string) error {
	_, err := s.st.Mutate(ctx, func() (*store.Txn, error) {
		e, ok := s.st.Get(model.KindUser, userID)
		if !ok {
			return nil, notFound("user", userID)
		}
		t := new(store.Txn).Delete(model.KindUser, userID, e.Rev).Release(claimName(model.KindUser, e.Obj.(*model.User).Name))
		for _, a := range s.st.List(model.KindAssignment) {
			if a.Obj.(*model.Assignment).UserID == userID {
				t.DeleteIfExists(model.KindAssignment, a.Obj.Base().ID)
			}
		}
		for _, c := range s.st.List(model.KindAppCred) {
			if c.Obj.(*model.AppCred).UserID == userID {
				t.DeleteIfExists(model.KindAppCred, c.Obj.Base().ID)
			}
		}
		return s.revokeWhere(t, func(tk *model.Token) bool { return tk.UserID == userID }), nil
	})
	return err
}

// DeleteProject removes an empty project's record, its assignments and
// the tokens scoped to it. Load balancers it owns are the admin's to
// delete first (the APIs list them by project).
func (s *Service) DeleteProject(ctx context.Context, projectID string) error {
	if projectID == AdminProjectID {
		return &model.ForbiddenError{Message: "The admin project cannot be deleted."}
	}
	_, err := s.st.Mutate(ctx, func() (*store.Txn, error) {
		e, ok := s.st.Get(model.KindProject, projectID)
		if !ok {
			return nil, notFound("project", projectID)
		}
		t := new(store.Txn).Delete(model.KindProject, projectID, e.Rev).Release(claimName(model.KindProject, e.Obj.(*model.Project).Name))
		for _, a := range s.st.List(model.KindAssignment) {
			if a.Obj.(*model.Assignment).ProjectID == projectID {
				t.DeleteIfExists(model.KindAssignment, a.Obj.Base().ID)
			}
		}
		return s.revokeWhere(t, func(tk *model.Token) bool { return tk.ProjectID == projectID }), nil
	})
	return err
}

// revokeWhere adds to t the deletion of every token that match selects.
func (s *Service) revokeWhere(t *store.Txn, match func(*model.Token) bool) *store.Txn {
	for _, e := range s.st.List(model.KindToken) {
		if match(e.Obj.(*model.Token)) {
			t.DeleteIfExists(model.KindToken, e.Obj.Base().ID)
		}
	}
	return t
}

// rolesOf returns the role names user holds on project, implied roles
// added.
func (s *Service) rolesOf(userID, projectID string) []string {
	var names []string
	for _, e := range s.st.List(model.KindAssignment) {
		a := e.Obj.(*model.Assignment)
		if a.UserID != userID || a.ProjectID != projectID {
			continue
		}
		if r, ok := s.st.Get(model.KindRole, a.RoleID); ok {
			names = append(names, r.Obj.(*model.Role).Name)
		}
	}
	slices.Sort(names)
	return auth.ImpliedRoles(names)
}

// Bootstrapped is what Bootstrap made: the admin's password only on the
// start that created the admin.
type Bootstrapped struct {
	AdminPassword string
}

// Bootstrap creates, once per store, the default roles, the admin project
// and an admin user with a random password (returned, to be written where
// only the operator reads it). Servers that start together race safely:
// each name is claimed once.
func (s *Service) Bootstrap(ctx context.Context) (Bootstrapped, error) {
	var out Bootstrapped
	for _, r := range DefaultRoles {
		if _, ok := s.byName(model.KindRole, r); ok {
			continue
		}
		if _, err := s.CreateRole(ctx, r); err != nil && !isConflict(err) {
			return out, fmt.Errorf("bootstrap role %s: %w", r, err)
		}
	}
	if _, ok := s.st.Get(model.KindProject, AdminProjectID); !ok {
		if _, err := s.createProject(ctx, AdminProjectID, "admin", "Bootstrap project"); err != nil && !isConflict(err) {
			return out, fmt.Errorf("bootstrap project: %w", err)
		}
	}
	if _, ok := s.byName(model.KindUser, "admin"); !ok {
		role, ok := s.byName(model.KindRole, "admin")
		if !ok {
			return out, errors.New("bootstrap: the admin role is missing")
		}
		pw := NewSecret()
		h, err := bcrypt.GenerateFromPassword([]byte(pw), s.cfg.BcryptCost)
		if err != nil {
			return out, err
		}
		u := &model.User{Meta: s.meta(newID()), Name: "admin", Enabled: true, PasswordHash: string(h), DefaultProjectID: AdminProjectID}
		a := &model.Assignment{Meta: s.meta(model.AssignmentID(u.ID, AdminProjectID, role.Obj.Base().ID)), UserID: u.ID, ProjectID: AdminProjectID, RoleID: role.Obj.Base().ID}
		// The user and its role in one transaction: a crash between the
		// two would leave an admin who is not one.
		_, err = s.st.Commit(ctx, new(store.Txn).Claim(claimName(model.KindUser, "admin"), u.ID).Create(model.KindUser, u).Put(model.KindAssignment, a))
		switch {
		case errors.Is(err, store.ErrConflict):
		case err != nil:
			return out, fmt.Errorf("bootstrap admin user: %w", err)
		default:
			out.AdminPassword = pw
		}
	}
	return out, nil
}

func isConflict(err error) bool {
	var c *model.ConflictError
	return errors.As(err, &c)
}

// hashToken is the store id of a token.
func hashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

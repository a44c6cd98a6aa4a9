package identity

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"time"

	"golang.org/x/crypto/bcrypt"

	"lbaas/internal/api/auth"
	"lbaas/internal/model"
	"lbaas/internal/store"
)

// Why a login failed. Each is answered 401 with the same words (see
// http.go): the client learns nothing about which it was.
var (
	errBadCredentials = errors.New("invalid credentials")
	errNoAccess       = errors.New("no role on the project")
	errRateLimited    = errors.New("too many attempts")
)

// Issued is a token just made: the token itself (shown once, in the
// X-Subject-Token header) and its record.
type Issued struct {
	Token  string
	Record *model.Token
}

// scope is what a token is for: a project, or nothing (unscoped).
type scope struct {
	projectID string
}

// issue stores a new token of user for sc. Roles are those user holds on
// the project now (an application credential's own, where they are still
// held).
func (s *Service) issue(ctx context.Context, u *model.User, sc scope, methods []string, ac *model.AppCred) (Issued, error) {
	now := s.cfg.Now().UTC()
	rec := &model.Token{UserID: u.ID, Methods: methods, AuditID: NewSecret()[:22], ExpiresAt: now.Add(s.cfg.TokenTTL)}
	if sc.projectID != "" {
		pe, ok := s.st.Get(model.KindProject, sc.projectID)
		if !ok || !pe.Obj.(*model.Project).Enabled {
			return Issued{}, errNoAccess
		}
		held := s.rolesOf(u.ID, sc.projectID)
		roles := held
		if ac != nil {
			roles = nil
			for _, id := range ac.RoleIDs {
				if r, ok := s.st.Get(model.KindRole, id); ok && slices.Contains(held, r.Obj.(*model.Role).Name) {
					roles = append(roles, r.Obj.(*model.Role).Name)
				}
			}
			roles = auth.ImpliedRoles(roles)
			rec.AppCredID = ac.ID
			if ac.ExpiresAt != nil && ac.ExpiresAt.Before(rec.ExpiresAt) {
				rec.ExpiresAt = *ac.ExpiresAt
			}
		}
		if len(roles) == 0 {
			return Issued{}, errNoAccess
		}
		rec.ProjectID, rec.Roles = sc.projectID, roles
	}
	tok := NewSecret()
	rec.Meta = model.Meta{ID: hashToken(tok), CreatedAt: now, UpdatedAt: now}
	if _, err := s.st.Commit(ctx, new(store.Txn).Create(model.KindToken, rec)); err != nil {
		return Issued{}, err
	}
	return Issued{Token: tok, Record: rec}, nil
}

// checkPasswordOf verifies a password in the same time whether or not the
// user exists (a bcrypt comparison either way), after the rate limits of
// the user name and of the client's address.
func (s *Service) checkPasswordOf(u *model.User, name, remote, password string) error {
	keys := []string{"user:" + name, "addr:" + remote}
	if s.limiter.blocked(keys...) {
		return errRateLimited
	}
	hash := s.dummyHash
	if u != nil && u.PasswordHash != "" {
		hash = []byte(u.PasswordHash)
	}
	err := bcrypt.CompareHashAndPassword(hash, []byte(password))
	if u == nil || !u.Enabled || err != nil {
		s.limiter.failed(keys...)
		return errBadCredentials
	}
	return nil
}

// checkSecret verifies an application credential's secret as
// checkPasswordOf does a password.
func (s *Service) checkSecret(ac *model.AppCred, key, remote, secret string) error {
	keys := []string{"appcred:" + key, "addr:" + remote}
	if s.limiter.blocked(keys...) {
		return errRateLimited
	}
	hash := s.dummyHash
	if ac != nil {
		hash = []byte(ac.SecretHash)
	}
	err := bcrypt.CompareHashAndPassword(hash, []byte(secret))
	if ac == nil || err != nil {
		s.limiter.failed(keys...)
		return errBadCredentials
	}
	if ac.ExpiresAt != nil && !ac.ExpiresAt.After(s.cfg.Now()) {
		return errBadCredentials
	}
	return nil
}

// validate returns the live record of token: ErrUnauthorized for an
// unknown, expired or revoked one, or one whose user or project is gone or
// disabled; ErrUnavailable when the store cannot tell.
func (s *Service) validate(ctx context.Context, token string) (*model.Token, error) {
	if token == "" || len(token) > 512 {
		return nil, auth.ErrUnauthorized
	}
	id := hashToken(token)
	e, ok := s.st.Get(model.KindToken, id)
	if !ok {
		if s.recentMiss(id) {
			return nil, auth.ErrUnauthorized
		}
		// Issued by another server a moment ago: this one's cache may
		// not have it yet.
		var err error
		e, ok, err = s.st.GetFresh(ctx, model.KindToken, id)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", auth.ErrUnavailable, err)
		}
		if !ok {
			s.rememberMiss(id)
			return nil, auth.ErrUnauthorized
		}
	}
	rec := e.Obj.(*model.Token)
	// The map lookup was by hash; compare once more in constant time.
	if subtle.ConstantTimeCompare([]byte(rec.ID), []byte(id)) != 1 || !rec.ExpiresAt.After(s.cfg.Now()) {
		return nil, auth.ErrUnauthorized
	}
	ue, ok := s.st.Get(model.KindUser, rec.UserID)
	if !ok || !ue.Obj.(*model.User).Enabled {
		return nil, auth.ErrUnauthorized
	}
	if rec.ProjectID != "" {
		pe, ok := s.st.Get(model.KindProject, rec.ProjectID)
		if !ok || !pe.Obj.(*model.Project).Enabled {
			return nil, auth.ErrUnauthorized
		}
	}
	if rec.AppCredID != "" {
		if _, ok := s.st.Get(model.KindAppCred, rec.AppCredID); !ok {
			return nil, auth.ErrUnauthorized
		}
	}
	return rec, nil
}

const missTTL = 5 * time.Second

func (s *Service) recentMiss(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.misses[id]
	return ok && s.cfg.Now().Sub(t) < missTTL
}

func (s *Service) rememberMiss(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.misses) >= 10000 {
		clear(s.misses) // bounded: a flood only costs reads again
	}
	s.misses[id] = s.cfg.Now()
}

// Authenticate implements auth.Authenticator: a project-scoped token of
// this service, as its caller.
func (s *Service) Authenticate(ctx context.Context, token string) (auth.Caller, error) {
	rec, err := s.validate(ctx, token)
	if err != nil {
		return auth.Caller{}, err
	}
	if rec.ProjectID == "" {
		return auth.Caller{}, auth.ErrUnauthorized // unscoped: good for identity calls only
	}
	c := auth.Caller{UserID: rec.UserID, Project: rec.ProjectID, Roles: slices.Clone(rec.Roles), Expires: rec.ExpiresAt}
	if ue, ok := s.st.Get(model.KindUser, rec.UserID); ok {
		c.UserName = ue.Obj.(*model.User).Name
	}
	if pe, ok := s.st.Get(model.KindProject, rec.ProjectID); ok {
		c.ProjectName = pe.Obj.(*model.Project).Name
	}
	return c, nil
}

// Revoke deletes a token.
func (s *Service) Revoke(ctx context.Context, token string) error {
	_, err := s.st.Commit(ctx, new(store.Txn).DeleteIfExists(model.KindToken, hashToken(token)))
	return err
}

// Sweep deletes expired tokens, at most max per call, and reports how
// many.
func (s *Service) Sweep(ctx context.Context, max int) (int, error) {
	now := s.cfg.Now()
	t := new(store.Txn)
	n := 0
	for _, e := range s.st.List(model.KindToken) {
		if n >= max {
			break
		}
		if !e.Obj.(*model.Token).ExpiresAt.After(now) {
			t.DeleteIfExists(model.KindToken, e.Obj.Base().ID)
			n++
		}
	}
	if n == 0 {
		return 0, nil
	}
	_, err := s.st.Commit(ctx, t)
	return n, err
}

// RunSweeper sweeps expired tokens every interval until ctx ends. Every
// server may run it: a deletion twice is harmless.
func (s *Service) RunSweeper(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			for {
				n, err := s.Sweep(ctx, 100)
				if err != nil {
					s.log.Warn("identity: sweeping expired tokens", "err", err)
				}
				if n < 100 || err != nil {
					break
				}
			}
		}
	}
}

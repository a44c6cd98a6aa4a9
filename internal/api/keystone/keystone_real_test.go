package keystone_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"

	"lbaas/internal/api/auth"
	"lbaas/internal/api/keystone"
	"lbaas/internal/keystonetest"
)

// TestAgainstARealKeystone validates a real token with a real service user,
// and sees its revocation once the cache's TTL has passed. It skips where
// Keystone is not installed (see package keystonetest).
func TestAgainstARealKeystone(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Keystone (tens of seconds)")
	}
	k := keystonetest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	svcProject := k.CreateProject(t, "service")
	k.CreateUser(t, "lbaas", "lbaas-password", svcProject, "service")
	projectID := k.CreateProject(t, "tenant-a")
	userID := k.CreateUser(t, "alice", "alice-password", projectID, "member", "load-balancer_member")
	pc, err := openstack.AuthenticatedClient(ctx, k.AuthOptions("alice", "alice-password", projectID))
	if err != nil {
		t.Fatalf("authenticating as alice: %v", err)
	}
	token := pc.TokenID

	// The cache's clock is the real one plus skew, so that the TTL passes
	// when the test says, not when a loaded machine gets round to it.
	var skew atomic.Int64
	// Long enough that the check within it comes before the last sixth,
	// where the validator refreshes ahead, however slow Keystone is.
	const ttl = 60 * time.Second
	v, err := keystone.New(keystone.Config{
		URL: k.URL, Username: "lbaas", Password: "lbaas-password", ProjectName: "service",
		CacheTTL: ttl,
		Timeout:  time.Minute, // Keystone under a loaded machine's CI
		Now:      func() time.Time { return time.Now().Add(time.Duration(skew.Load())) },
	})
	if err != nil {
		t.Fatal(err)
	}

	c, err := v.Authenticate(ctx, token)
	if err != nil {
		t.Fatalf("Authenticate(alice's token): %v", err)
	}
	roles := slices.Sorted(slices.Values(c.Roles))
	// reader comes from bootstrap's inference rule member→reader.
	if want := []string{"load-balancer_member", "member", "reader"}; !slices.Equal(roles, want) {
		t.Errorf("roles %v, want %v", roles, want)
	}
	if c.UserID != userID || c.UserName != "alice" || c.Project != projectID || c.ProjectName != "tenant-a" {
		t.Errorf("caller %+v, want alice (%s) on tenant-a (%s)", c, userID, projectID)
	}
	if left := time.Until(c.Expires); left < time.Minute || left > 25*time.Hour {
		t.Errorf("token expires in %v", left)
	}

	if _, err := v.Authenticate(ctx, "gAAAAABnot-a-real-fernet-token"); !errors.Is(err, auth.ErrUnauthorized) {
		t.Errorf("Authenticate(garbage): %v, want ErrUnauthorized", err)
	}

	// Revoked: still accepted from the cache within the TTL, refused after.
	if err := tokens.Revoke(ctx, k.Admin(t), token).Err; err != nil {
		t.Fatalf("revoking alice's token: %v", err)
	}
	_, _, calls := v.Stats()
	if _, err := v.Authenticate(ctx, token); err != nil {
		t.Fatalf("Authenticate(revoked token) within the TTL: %v, want the cached answer", err)
	}
	if _, _, again := v.Stats(); again != calls {
		t.Fatalf("Keystone was asked within the TTL (%d calls, then %d)", calls, again)
	}
	skew.Store(int64(ttl + time.Second))
	if _, err := v.Authenticate(ctx, token); !errors.Is(err, auth.ErrUnauthorized) {
		t.Fatalf("Authenticate(revoked token) after the TTL: %v, want ErrUnauthorized", err)
	}
}

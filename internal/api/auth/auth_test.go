package auth_test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"lbaas/internal/api/auth"
)

const (
	adminToken  = "admin-token-0123456789"
	memberToken = "member-token-0123456789"
	nodeToken   = "node-token-0123456789ab"
)

func writeTokens(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tokens.json")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadAcceptsHashedAndClearTokens(t *testing.T) {
	p := writeTokens(t, `{"tokens": [
		{"token_sha256": "`+auth.HashToken(adminToken)+`", "project": "admin", "role": "admin"},
		{"token": "`+memberToken+`", "project": "alpha", "role": "member"},
		{"token_sha256": "`+strings.ToUpper(auth.HashToken(nodeToken))+`", "project": "admin", "role": "node", "node": "compute-1"}
	]}`)
	a, err := auth.Load(p)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	for _, tc := range []struct {
		token   string
		project string
		roles   []string
		node    string
	}{
		{adminToken, "admin", []string{"admin", "member", "reader"}, ""},
		{memberToken, "alpha", []string{"member", "reader"}, ""},
		{nodeToken, "admin", nil, "compute-1"},
	} {
		got, err := a.Authenticate(context.Background(), tc.token)
		if err != nil {
			t.Fatalf("Authenticate(%q): %v", tc.token, err)
		}
		if got.Project != tc.project || !slices.Equal(got.Roles, tc.roles) || got.Node != tc.node {
			t.Fatalf("Authenticate(%q) = %+v, want project %s roles %v node %q", tc.token, got, tc.project, tc.roles, tc.node)
		}
	}
}

func TestAnEntryMayListItsRolesAndGetsTheImpliedOnes(t *testing.T) {
	a, err := auth.New([]auth.Entry{{Token: memberToken, Project: "alpha", Roles: []string{"load-balancer_observer", "admin"}}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := a.Authenticate(context.Background(), memberToken)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"load-balancer_observer", "admin", "member", "reader"}; !slices.Equal(c.Roles, want) {
		t.Fatalf("roles %v, want %v", c.Roles, want)
	}
	if _, err := auth.New([]auth.Entry{{Token: memberToken, Project: "alpha", Role: "member", Roles: []string{"reader"}}}); err == nil {
		t.Fatal("an entry with both role and roles was accepted")
	}
	if _, err := auth.New([]auth.Entry{{Token: memberToken, Project: "alpha", Roles: []string{"a b"}}}); err == nil {
		t.Fatal("a role name with a space was accepted")
	}
}

type fixed struct {
	c   auth.Caller
	err error
}

func (f fixed) Authenticate(context.Context, string) (auth.Caller, error) { return f.c, f.err }

func TestAChainAsksTheNextOnlyWhenAnAuthenticatorDoesNotKnowTheToken(t *testing.T) {
	ctx := context.Background()
	known := fixed{c: auth.Caller{Project: "p"}}
	unknown := fixed{err: auth.ErrUnauthorized}
	down := fixed{err: auth.ErrUnavailable}
	if c, err := (auth.Chain{unknown, known}).Authenticate(ctx, "t"); err != nil || c.Project != "p" {
		t.Fatalf("unknown then known: %+v, %v", c, err)
	}
	if _, err := (auth.Chain{down, known}).Authenticate(ctx, "t"); !errors.Is(err, auth.ErrUnavailable) {
		t.Fatalf("an unavailable authenticator was skipped: %v", err)
	}
	if _, err := (auth.Chain{unknown, unknown}).Authenticate(ctx, "t"); !errors.Is(err, auth.ErrUnauthorized) {
		t.Fatalf("nobody knows the token: %v", err)
	}
	if _, err := (auth.Chain{known}).Authenticate(ctx, ""); !errors.Is(err, auth.ErrUnauthorized) {
		t.Fatalf("an empty token was accepted: %v", err)
	}
}

func TestWrongOrEmptyTokenIsUnauthorized(t *testing.T) {
	a, err := auth.New([]auth.Entry{{Token: memberToken, Project: "alpha", Role: auth.RoleMember}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{"", "nope", memberToken + "x", memberToken[:len(memberToken)-1], auth.HashToken(memberToken)} {
		c, err := a.Authenticate(context.Background(), tok)
		if !errors.Is(err, auth.ErrUnauthorized) {
			t.Fatalf("Authenticate(%q) = %+v, %v; want ErrUnauthorized", tok, c, err)
		}
		if c.Project != "" || c.Roles != nil || c.Node != "" {
			t.Fatalf("Authenticate(%q) returned caller %+v with its error", tok, c)
		}
	}
}

func TestInvalidEntriesAreRefusedWithTheirIndexAndReason(t *testing.T) {
	good := auth.Entry{Token: memberToken, Project: "alpha", Role: auth.RoleMember}
	for _, tc := range []struct {
		name  string
		entry auth.Entry
		want  string
	}{
		{"hash not hex", auth.Entry{TokenSHA256: strings.Repeat("zz", 32), Project: "p", Role: auth.RoleMember}, "64 hex"},
		{"hash too short", auth.Entry{TokenSHA256: "abcd", Project: "p", Role: auth.RoleMember}, "64 hex"},
		{"clear token too short", auth.Entry{Token: "short", Project: "p", Role: auth.RoleMember}, "16 characters"},
		{"no token at all", auth.Entry{Project: "p", Role: auth.RoleMember}, "token"},
		{"unknown role", auth.Entry{Token: adminToken, Project: "p", Role: "root"}, `"root"`},
		{"no role at all", auth.Entry{Token: adminToken, Project: "p"}, "role"},
		{"node token without a node", auth.Entry{Token: nodeToken, Project: "p", Role: auth.RoleNode}, "names its node"},
		{"project with a slash", auth.Entry{Token: adminToken, Project: "a/b", Role: auth.RoleMember}, "project"},
		{"empty project", auth.Entry{Token: adminToken, Role: auth.RoleMember}, "project"},
		{"project too long", auth.Entry{Token: adminToken, Project: strings.Repeat("p", 65), Role: auth.RoleMember}, "project"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := auth.New([]auth.Entry{good, tc.entry})
			if err == nil {
				t.Fatalf("entry %+v was accepted", tc.entry)
			}
			if !strings.Contains(err.Error(), "token 1") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not name entry 1 and %q", err, tc.want)
			}
		})
	}
}

func TestLoadReportsAMissingOrMalformedFile(t *testing.T) {
	if _, err := auth.Load(filepath.Join(t.TempDir(), "absent.json")); err == nil || !strings.Contains(err.Error(), "tokens file") {
		t.Fatalf("Load of a missing file: %v", err)
	}
	if _, err := auth.Load(writeTokens(t, `{"tokens": [`)); err == nil {
		t.Fatal("Load of truncated JSON succeeded")
	}
	if _, err := auth.Load(writeTokens(t, `{"tokens": [{"token": "short", "project": "p", "role": "member"}]}`)); err == nil {
		t.Fatal("Load of a file with an invalid entry succeeded")
	}
}

func TestWriteFileIsPrivateAndRoundTrips(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "tokens.json")
	// An older, world-readable file is replaced, not reused.
	if err := os.WriteFile(p, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	entries := []auth.Entry{
		{TokenSHA256: auth.HashToken(adminToken), Project: "admin", Role: auth.RoleAdmin},
		{TokenSHA256: auth.HashToken(nodeToken), Project: "admin", Role: auth.RoleNode, Node: "compute-1"},
	}
	if err := auth.WriteFile(p, entries); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("tokens file mode %v, want 0600", fi.Mode().Perm())
	}
	if _, err := os.Stat(p + ".tmp"); !os.IsNotExist(err) {
		t.Fatalf("the temporary file is left behind: %v", err)
	}
	b, _ := os.ReadFile(p)
	if strings.Contains(string(b), adminToken) || strings.Contains(string(b), nodeToken) {
		t.Fatal("the written file holds a token in clear")
	}
	a, err := auth.Load(p)
	if err != nil {
		t.Fatalf("Load of the written file: %v", err)
	}
	c, err := a.Authenticate(context.Background(), nodeToken)
	if err != nil || c.Node != "compute-1" || c.Roles != nil {
		t.Fatalf("round-tripped node token = %+v, %v", c, err)
	}
	if c, err := a.Authenticate(context.Background(), adminToken); err != nil || !c.HasRole(auth.RoleAdmin) {
		t.Fatalf("round-tripped admin token = %+v, %v", c, err)
	}
}

func TestNewTokenIsRandomHexThatTheHashFormAccepts(t *testing.T) {
	t1, t2 := auth.NewToken(), auth.NewToken()
	if t1 == t2 {
		t.Fatal("two NewToken calls returned the same token")
	}
	if b, err := hex.DecodeString(t1); err != nil || len(b) != 32 {
		t.Fatalf("NewToken() = %q, want 64 hex digits", t1)
	}
	a, err := auth.New([]auth.Entry{{TokenSHA256: auth.HashToken(t1), Project: "p", Role: auth.RoleMember}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(context.Background(), t1); err != nil {
		t.Fatalf("a token stored by its HashToken is not accepted: %v", err)
	}
	if _, err := a.Authenticate(context.Background(), t2); !errors.Is(err, auth.ErrUnauthorized) {
		t.Fatalf("another token is accepted: %v", err)
	}
}

// TestOfCreatesRacingForTheTokensFileExactlyOneWins runs CreateFile from
// many goroutines at once, as servers starting together on one data
// directory do: one creates the file, with its own token, and no
// temporary file is left behind.
func TestOfCreatesRacingForTheTokensFileExactlyOneWins(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "tokens.json")
	const n = 16
	won := make(chan string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			token := fmt.Sprintf("racing-token-%02d-0123456789", i)
			created, err := auth.CreateFile(p, []auth.Entry{{TokenSHA256: auth.HashToken(token), Project: "admin", Role: auth.RoleAdmin}})
			if err != nil {
				t.Error(err)
			}
			if created {
				won <- token
			}
		}()
	}
	wg.Wait()
	close(won)
	var winners []string
	for w := range won {
		winners = append(winners, w)
	}
	if len(winners) != 1 {
		t.Fatalf("%d of %d racing creates report they created the file, want 1", len(winners), n)
	}
	a, err := auth.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(context.Background(), winners[0]); err != nil {
		t.Fatalf("the winner's token does not open the file it created: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".tokens.json.*")); len(left) != 0 {
		t.Fatalf("temporary files left behind: %v", left)
	}
}

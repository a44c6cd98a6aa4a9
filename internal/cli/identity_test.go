package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/crypto/bcrypt"

	"lbaas/internal/api/auth"
	"lbaas/internal/identity"
	"lbaas/internal/store/storetest"
)

// The project, user and role verbs run against the real identity service
// on the embedded etcd the v2 tests share, its management calls opened by
// a tokens-file admin token as `lbaas server` opens them.

var ids struct {
	once sync.Once
	err  error
	srv  *httptest.Server
}

func startIdentity(t *testing.T) {
	t.Helper()
	startV2(t)
	ids.once.Do(func() {
		others, err := auth.New([]auth.Entry{{Token: v2Token, Project: identity.AdminProjectID, Role: auth.RoleAdmin}})
		if err != nil {
			ids.err = err
			return
		}
		svc := identity.New(v2.env.Store, identity.Config{BcryptCost: bcrypt.MinCost, Others: others, Logger: storetest.Quiet()})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := svc.Bootstrap(ctx); err != nil {
			ids.err = err
			return
		}
		ids.srv = httptest.NewServer(svc.Handler())
	})
	if ids.err != nil {
		t.Fatal(ids.err)
	}
}

// stopIdentity is called by TestMain, before stopV2 closes the store.
func stopIdentity() {
	if ids.srv != nil {
		ids.srv.Close()
	}
}

// idrunAs runs the CLI with OS_AUTH_URL and token, stdin fed to it.
func idrunAs(t *testing.T, token, stdin string, args ...string) runResult {
	t.Helper()
	startIdentity(t)
	root := newRoot(Options{Getenv: func(k string) string {
		return map[string]string{"OS_AUTH_URL": ids.srv.URL + "/v3", "OS_TOKEN": token}[k]
	}})
	root.SetIn(strings.NewReader(stdin))
	return execute(root, args)
}

func idrun(t *testing.T, stdin string, args ...string) runResult {
	t.Helper()
	return idrunAs(t, v2Token, stdin, args...)
}

func idok(t *testing.T, stdin string, args ...string) runResult {
	t.Helper()
	r := idrun(t, stdin, args...)
	if r.code != 0 {
		t.Fatalf("lbaas %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// idfail runs a verb that must fail with code and print exactly stderr
// (a trailing " (Request-ID: ...)" is cut before comparing).
func idfail(t *testing.T, code int, wantStderr, stdin string, args ...string) runResult {
	t.Helper()
	r := idrun(t, stdin, args...)
	checkFail(t, r, code, wantStderr, args)
	return r
}

var requestID = regexp.MustCompile(` \(Request-ID: req-[0-9a-f-]{36}\)`)

func checkFail(t *testing.T, r runResult, code int, wantStderr string, args []string) {
	t.Helper()
	got := requestID.ReplaceAllString(r.stderr, "")
	if r.code != code || got != wantStderr || r.stdout != "" {
		t.Fatalf("lbaas %s: exit %d (want %d)\nstdout: %q\nstderr: %q\nwant:   %q", strings.Join(args, " "), r.code, code, r.stdout, r.stderr, wantStderr)
	}
}

// login logs in as the clients do: POST /v3/auth/tokens with a password,
// scoped to a project by name. It returns the status, the token and the
// role names of the token.
func login(t *testing.T, user, password, project string) (int, string, []string) {
	t.Helper()
	startIdentity(t)
	body := map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{
			"user": map[string]any{"name": user, "domain": map[string]any{"name": "Default"}, "password": password}}},
		"scope": map[string]any{"project": map[string]any{"name": project, "domain": map[string]any{"name": "Default"}}},
	}}
	b, _ := json.Marshal(body)
	resp, err := http.Post(ids.srv.URL+"/v3/auth/tokens?nocatalog", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var tok struct {
		Token struct {
			Roles []struct {
				Name string `json:"name"`
			} `json:"roles"`
		} `json:"token"`
	}
	_ = json.Unmarshal(data, &tok)
	var roles []string
	for _, r := range tok.Token.Roles {
		roles = append(roles, r.Name)
	}
	return resp.StatusCode, resp.Header.Get("X-Subject-Token"), roles
}

func wantLogin(t *testing.T, user, password, project string, wantStatus int) []string {
	t.Helper()
	st, _, roles := login(t, user, password, project)
	if st != wantStatus {
		t.Fatalf("login of %s on %s: status %d, want %d", user, project, st, wantStatus)
	}
	return roles
}

// tableRows returns the cells of every data row of a table.
func tableRows(out string) [][]string {
	var rows [][]string
	lines := strings.Split(out, "\n")
	for i, line := range lines {
		if i < 3 || !strings.HasPrefix(line, "|") {
			continue // the rule, the header and its rule
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for j := range cells {
			cells[j] = strings.TrimSpace(cells[j])
		}
		rows = append(rows, cells)
	}
	return rows
}

func hasRow(out string, want ...string) bool {
	for _, r := range tableRows(out) {
		if strings.Join(r, "|") == strings.Join(want, "|") {
			return true
		}
	}
	return false
}

func pwFile(t *testing.T, pw string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pw")
	writeFile(t, p, pw+"\n")
	return p
}

func TestIdentityVerbsCreateAUserWhoLogsInWithTheRoleGrantedAndIsListedAsAssigned(t *testing.T) {
	const pw = "correct-horse-battery-1"
	r := idok(t, "", "project", "create", "--description", "the alpha team", "--domain", "Default", "id-alpha")
	projectID := tableField(r.stdout, "id")
	if len(projectID) != 32 || tableField(r.stdout, "name") != "id-alpha" || tableField(r.stdout, "description") != "the alpha team" ||
		tableField(r.stdout, "enabled") != "True" || tableField(r.stdout, "domain_id") != "default" {
		t.Fatalf("project create printed:\n%s", r.stdout)
	}

	r = idok(t, "", "user", "create", "--password-file", pwFile(t, pw), "--project", "id-alpha", "id-alice")
	userID := tableField(r.stdout, "id")
	if userID == "" || tableField(r.stdout, "name") != "id-alice" || tableField(r.stdout, "default_project_id") != projectID ||
		tableField(r.stdout, "enabled") != "True" {
		t.Fatalf("user create printed:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout+r.stderr, pw) {
		t.Fatalf("user create printed the password:\n%s%s", r.stdout, r.stderr)
	}

	// No role yet: the password is right, but there is nothing to scope to.
	wantLogin(t, "id-alice", pw, "id-alpha", http.StatusUnauthorized)

	r = idok(t, "", "role", "add", "--user", "id-alice", "--project", "id-alpha", "load-balancer_member")
	if r.stdout != "" || r.stderr != "" {
		t.Fatalf("role add printed %q %q", r.stdout, r.stderr)
	}
	// Adding it again is no error (Keystone's PUT is idempotent).
	idok(t, "", "role", "add", "--user", userID, "--project", projectID, "load-balancer_member")

	roles := wantLogin(t, "id-alice", pw, "id-alpha", http.StatusCreated)
	if !strings.Contains(strings.Join(roles, ","), "load-balancer_member") {
		t.Fatalf("the token's roles are %v", roles)
	}

	r = idok(t, "", "role", "assignment", "list", "--user", "id-alice", "--names")
	want := "+----------------------+------------------+-------+------------------+--------+--------+-----------+\n" +
		"| Role                 | User             | Group | Project          | Domain | System | Inherited |\n" +
		"+----------------------+------------------+-------+------------------+--------+--------+-----------+\n" +
		"| load-balancer_member | id-alice@Default |       | id-alpha@Default |        |        | False     |\n" +
		"+----------------------+------------------+-------+------------------+--------+--------+-----------+\n"
	if r.stdout != want {
		t.Fatalf("role assignment list --names printed:\n%s\nwant:\n%s", r.stdout, want)
	}
	r = idok(t, "", "role", "assignment", "list", "--project", "id-alpha", "-f", "value", "-c", "User", "-c", "Project")
	if r.stdout != userID+" "+projectID+"\n" {
		t.Fatalf("role assignment list --project printed %q", r.stdout)
	}
	r = idok(t, "", "user", "list", "--project", "id-alpha", "-f", "value")
	if r.stdout != userID+" id-alice\n" {
		t.Fatalf("user list --project printed %q", r.stdout)
	}
	r = idok(t, "", "project", "list", "--user", "id-alice", "-f", "json")
	if r.stdout != "[\n  {\n    \"ID\": \""+projectID+"\",\n    \"Name\": \"id-alpha\"\n  }\n]\n" {
		t.Fatalf("project list --user -f json printed %q", r.stdout)
	}

	// role remove takes the role away and the user's tokens on the project.
	idok(t, "", "role", "remove", "--user", "id-alice", "--project", "id-alpha", "load-balancer_member")
	wantLogin(t, "id-alice", pw, "id-alpha", http.StatusUnauthorized)
	if r := idok(t, "", "role", "assignment", "list", "--user", "id-alice"); r.stdout != "" {
		t.Fatalf("assignments left after role remove:\n%s", r.stdout)
	}
	r = idrun(t, "", "role", "remove", "--user", "id-alice", "--project", "id-alpha", "load-balancer_member")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "Could not find role assignment: ") || !strings.Contains(r.stderr, "(HTTP 404)") {
		t.Fatalf("second role remove: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestUserCreateReadsThePasswordFromStdinOrAPipedPromptAndNeverPrintsIt(t *testing.T) {
	idok(t, "", "project", "create", "id-stdin")
	const pw1, pw2 = "piped-password-number-1", "prompted-password-no-2"
	r := idok(t, pw1+"\nthe rest is not read\n", "user", "create", "--password-stdin", "--project", "id-stdin", "id-piped")
	r2 := idok(t, pw2+"\r\n", "user", "create", "--password-prompt", "--project", "id-stdin", "id-prompted")
	for _, out := range []string{r.stdout, r.stderr, r2.stdout, r2.stderr} {
		if strings.Contains(out, pw1) || strings.Contains(out, pw2) {
			t.Fatalf("a password was printed:\n%s", out)
		}
	}
	idok(t, "", "role", "add", "--user", "id-piped", "--project", "id-stdin", "member")
	idok(t, "", "role", "add", "--user", "id-prompted", "--project", "id-stdin", "member")
	wantLogin(t, "id-piped", pw1, "id-stdin", http.StatusCreated)
	wantLogin(t, "id-prompted", pw2, "id-stdin", http.StatusCreated)
}

func TestIdentityListAndShowPrintOpenstackTables(t *testing.T) {
	r := idok(t, "", "project", "create", "--description", "shown", "id-show")
	id := tableField(r.stdout, "id")
	want := "+-------------+----------------------------------+\n" +
		"| Field       | Value                            |\n" +
		"+-------------+----------------------------------+\n" +
		"| description | shown                            |\n" +
		"| domain_id   | default                          |\n" +
		"| enabled     | True                             |\n" +
		"| id          | " + id + " |\n" +
		"| is_domain   | False                            |\n" +
		"| name        | id-show                          |\n" +
		"| parent_id   | default                          |\n" +
		"| tags        |                                  |\n" +
		"+-------------+----------------------------------+\n"
	if r.stdout != want {
		t.Fatalf("project create printed:\n%s\nwant:\n%s", r.stdout, want)
	}
	for _, arg := range []string{"id-show", id} {
		if r := idok(t, "", "project", "show", arg); r.stdout != want {
			t.Fatalf("project show %s printed:\n%s", arg, r.stdout)
		}
	}

	r = idok(t, "", "project", "list")
	if !strings.HasPrefix(r.stdout, "+----------------------------------+") || !strings.Contains(r.stdout, "\n| ID                               | Name") ||
		!hasRow(r.stdout, id, "id-show") || !hasRow(r.stdout, identity.AdminProjectID, "admin") {
		t.Fatalf("project list printed:\n%s", r.stdout)
	}
	r = idok(t, "", "project", "list", "--long", "-f", "value", "-c", "Name", "-c", "Description", "-c", "Enabled")
	if !strings.Contains(r.stdout, "\nid-show shown True\n") {
		t.Fatalf("project list --long printed:\n%s", r.stdout)
	}

	r = idok(t, "a-shown-users-password\n", "user", "create", "--password-stdin", "--project", id, "--disable", "id-shown-user")
	uid := tableField(r.stdout, "id")
	want = "+---------------------+----------------------------------+\n" +
		"| Field               | Value                            |\n" +
		"+---------------------+----------------------------------+\n" +
		"| default_project_id  | " + id + " |\n" +
		"| domain_id           | default                          |\n" +
		"| enabled             | False                            |\n" +
		"| id                  | " + uid + " |\n" +
		"| name                | id-shown-user                    |\n" +
		"| password_expires_at |                                  |\n" +
		"+---------------------+----------------------------------+\n"
	if r.stdout != want {
		t.Fatalf("user create --disable printed:\n%s\nwant:\n%s", r.stdout, want)
	}
	if r := idok(t, "", "user", "show", "id-shown-user"); r.stdout != want {
		t.Fatalf("user show printed:\n%s\nwant:\n%s", r.stdout, want)
	}
	r = idok(t, "", "user", "list", "--long")
	if !regexp.MustCompile(`\n\| ID +\| Name +\| Project +\| Domain +\| Description \| Email \| Enabled \|\n`).MatchString(r.stdout) ||
		!hasRow(r.stdout, uid, "id-shown-user", id, "default", "", "", "False") {
		t.Fatalf("user list --long printed:\n%s", r.stdout)
	}
	r = idok(t, "", "user", "list", "-f", "json")
	var users []map[string]string
	if err := json.Unmarshal([]byte(r.stdout), &users); err != nil || len(users) < 2 {
		t.Fatalf("user list -f json printed %q (%v)", r.stdout, err)
	}
	for _, u := range users {
		if len(u) != 2 || u["ID"] == "" || u["Name"] == "" {
			t.Fatalf("user list -f json item %v", u)
		}
	}

	r = idok(t, "", "role", "list", "-f", "value", "-c", "Name")
	if !strings.Contains("\n"+r.stdout, "\nadmin\n") || !strings.Contains(r.stdout, "\nload-balancer_member\n") || !strings.Contains(r.stdout, "\nmember\n") {
		t.Fatalf("role list printed:\n%s", r.stdout)
	}
	r = idok(t, "", "role", "show", "reader", "-f", "value", "-c", "name")
	if r.stdout != "reader\n" {
		t.Fatalf("role show printed %q", r.stdout)
	}
}

func TestUserSetChangesThePasswordAndDisablesAndEnables(t *testing.T) {
	const old, neu = "the-old-password-1", "the-new-password-2"
	idok(t, "", "project", "create", "id-set")
	idok(t, old+"\n", "user", "create", "--password-stdin", "id-setter")
	idok(t, "", "role", "add", "--user", "id-setter", "--project", "id-set", "reader")
	wantLogin(t, "id-setter", old, "id-set", http.StatusCreated)

	if r := idok(t, "", "user", "set", "--password-file", pwFile(t, neu), "id-setter"); r.stdout != "" {
		t.Fatalf("user set printed %q", r.stdout)
	}
	wantLogin(t, "id-setter", old, "id-set", http.StatusUnauthorized)
	wantLogin(t, "id-setter", neu, "id-set", http.StatusCreated)

	idok(t, "", "user", "set", "--disable", "id-setter")
	if r := idok(t, "", "user", "show", "id-setter", "-f", "value", "-c", "enabled"); r.stdout != "False\n" {
		t.Fatalf("enabled after --disable: %q", r.stdout)
	}
	wantLogin(t, "id-setter", neu, "id-set", http.StatusUnauthorized)
	idok(t, "", "user", "set", "--enable", "id-setter")
	wantLogin(t, "id-setter", neu, "id-set", http.StatusCreated)

	idfail(t, 2, "usage: lbaas user set USER [flags]\nlbaas user set: error: nothing to set: give --password-prompt, --password-stdin, --password-file, --enable or --disable\n",
		"", "user", "set", "id-setter")
	idfail(t, 2, "usage: lbaas user set USER [flags]\nlbaas user set: error: argument --disable: not allowed with argument --enable\n",
		"", "user", "set", "--enable", "--disable", "id-setter")
	idfail(t, 1, "A password has 12 to 72 bytes. (HTTP 400)\n", "short\n", "user", "set", "--password-stdin", "id-setter")
}

func TestIdentityDeleteRemovesUsersAndProjectsAndCountsFailures(t *testing.T) {
	idok(t, "", "project", "create", "id-del-1")
	idok(t, "", "project", "create", "id-del-2")
	idok(t, "a-password-to-delete\n", "user", "create", "--password-stdin", "id-del-user")

	if r := idok(t, "", "user", "delete", "id-del-user"); r.stdout != "" || r.stderr != "" {
		t.Fatalf("user delete printed %q %q", r.stdout, r.stderr)
	}
	idfail(t, 1, "No user with a name or ID of 'id-del-user' exists.\n", "", "user", "show", "id-del-user")
	wantLogin(t, "id-del-user", "a-password-to-delete", "id-del-1", http.StatusUnauthorized)

	idfail(t, 1, "Failed to delete project with name or ID 'id-del-none': No project with a name or ID of 'id-del-none' exists.\n"+
		"1 of 3 projects failed to delete.\n", "", "project", "delete", "id-del-1", "id-del-none", "id-del-2")
	r := idok(t, "", "project", "list", "-f", "value", "-c", "Name")
	if strings.Contains(r.stdout, "id-del-") {
		t.Fatalf("deleted projects are listed:\n%s", r.stdout)
	}
	idfail(t, 1, "Failed to delete project with name or ID 'admin': The admin project cannot be deleted. (HTTP 403)\n"+
		"1 of 1 projects failed to delete.\n", "", "project", "delete", "admin")
}

func TestIdentityErrorsAreClearAndExitNonZero(t *testing.T) {
	idok(t, "", "project", "create", "id-err")
	idok(t, "an-existing-users-pw\n", "user", "create", "--password-stdin", "id-dup")

	// An unknown name is reported before anything is created or read.
	idfail(t, 1, "No project with a name or ID of 'id-nosuch' exists.\n", "a-password-never-used\n",
		"user", "create", "--password-stdin", "--project", "id-nosuch", "id-orphan")
	idfail(t, 1, "No user with a name or ID of 'id-orphan' exists.\n", "", "user", "show", "id-orphan")
	idfail(t, 1, "No role with a name or ID of 'no-such-role' exists.\n", "",
		"role", "add", "--user", "id-dup", "--project", "id-err", "no-such-role")
	idfail(t, 1, "No user with a name or ID of 'nobody' exists.\n", "",
		"role", "assignment", "list", "--user", "nobody")

	// A duplicate is the service's conflict, in keystoneauth's words.
	idfail(t, 1, "Conflict occurred attempting to store user - Duplicate entry \"id-dup\". (HTTP 409)\n", "another-password-123\n",
		"user", "create", "--password-stdin", "id-dup")
	idfail(t, 1, "Conflict occurred attempting to store project - Duplicate entry \"id-err\". (HTTP 409)\n", "", "project", "create", "id-err")
	// ... unless --or-show asks for the existing one.
	r := idok(t, "", "project", "create", "--or-show", "id-err", "-f", "value", "-c", "name")
	if r.stdout != "id-err\n" {
		t.Fatalf("project create --or-show printed %q", r.stdout)
	}

	// Passwords: one source, never on the command line, never empty.
	idfail(t, 2, "usage: lbaas user create [-f FORMAT] [-c COLUMN] NAME [flags]\nlbaas user create: error: "+passwordRequired+"\n", "",
		"user", "create", "id-nopw")
	idfail(t, 2, "usage: lbaas user create [-f FORMAT] [-c COLUMN] NAME [flags]\nlbaas user create: error: argument --password: a password on the command line is seen in the process list and the shell's history; use --password-prompt, --password-stdin or --password-file\n",
		"", "user", "create", "--password", "on-the-command-line", "id-argpw")
	idfail(t, 2, "usage: lbaas user create [-f FORMAT] [-c COLUMN] NAME [flags]\nlbaas user create: error: argument --password-file: not allowed with argument --password-stdin\n",
		"", "user", "create", "--password-stdin", "--password-file", "x", "id-twopw")
	idfail(t, 1, "No password on standard input.\n", "", "user", "create", "--password-stdin", "id-emptypw")
	idfail(t, 1, "The password is empty.\n", "\n", "user", "create", "--password-stdin", "id-emptypw")
	idfail(t, 1, "A password has 12 to 72 bytes. (HTTP 400)\n", "short\n", "user", "create", "--password-stdin", "id-shortpw")
	idfail(t, 2, "usage: lbaas role add ROLE [flags]\nlbaas role add: error: the following arguments are required: --project\n", "",
		"role", "add", "--user", "id-dup", "member")
	for _, u := range []string{"id-nopw", "id-argpw", "id-twopw", "id-emptypw", "id-shortpw"} {
		idfail(t, 1, "No user with a name or ID of '"+u+"' exists.\n", "", "user", "show", u)
	}
}

func TestIdentityManagementRefusesATokenWithoutTheAdminRole(t *testing.T) {
	const pw = "a-member-password-1"
	idok(t, "", "project", "create", "id-member-proj")
	idok(t, pw+"\n", "user", "create", "--password-stdin", "id-member")
	idok(t, "", "role", "add", "--user", "id-member", "--project", "id-member-proj", "member")
	st, token, _ := login(t, "id-member", pw, "id-member-proj")
	if st != http.StatusCreated || token == "" {
		t.Fatalf("member login: %d", st)
	}
	const refused = "You are not authorized to perform the requested action: identity:manage. (HTTP 403)\n"
	for _, args := range [][]string{
		{"user", "list"},
		{"project", "create", "id-by-member"},
		{"role", "assignment", "list"},
		{"user", "create", "--password-stdin", "id-by-member"},
	} {
		r := idrunAs(t, token, "a-password-by-member\n", args...)
		checkFail(t, r, 1, refused, args)
	}
	r := idrunAs(t, "not-a-token", "", "project", "list")
	checkFail(t, r, 1, "The request you have made requires authentication. (HTTP 401)\n", []string{"project", "list"})
}

func TestAuthURLComesFromTheFlagThenTheEnvironmentElseTheNeutronHostOnPort5000(t *testing.T) {
	for _, c := range []struct {
		flag string
		env  map[string]string
		want string
	}{
		{env: map[string]string{"OS_URL": "http://10.0.0.5:9696/"}, want: "http://10.0.0.5:5000/v3"},
		{env: map[string]string{}, want: "http://127.0.0.1:5000/v3"},
		{env: map[string]string{"OS_URL": "http://[fd00::1]:9696", "LBAAS_AUTH_URL": "http://k:5000"}, want: "http://k:5000/v3"},
		{env: map[string]string{"OS_AUTH_URL": "http://a:5000/v3/", "LBAAS_AUTH_URL": "http://b:5000"}, want: "http://a:5000/v3"},
		{env: map[string]string{"OS_AUTH_URL": "http://host/identity"}, want: "http://host/identity/v3"},
		{flag: "http://f:35357/v3", env: map[string]string{"OS_AUTH_URL": "http://a:5000/v3"}, want: "http://f:35357/v3"},
	} {
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		addConnectionFlags(fs)
		if c.flag != "" {
			if err := fs.Parse([]string{"--os-auth-url", c.flag}); err != nil {
				t.Fatal(err)
			}
		}
		o := Options{Getenv: func(k string) string { return c.env[k] }}
		got := resolveAuthConnection(fs, o, resolveConnection(fs, o))
		if got.url != c.want {
			t.Errorf("flag %q env %v: %s, want %s", c.flag, c.env, got.url, c.want)
		}
	}
	// The default for IPv6 hosts keeps the brackets.
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	addConnectionFlags(fs)
	o := Options{Getenv: func(k string) string {
		return map[string]string{"OS_URL": "http://[fd00::1]:9696", "OS_TOKEN": "tk"}[k]
	}}
	if got := resolveAuthConnection(fs, o, resolveConnection(fs, o)); got.url != "http://[fd00::1]:5000/v3" || got.token != "tk" {
		t.Errorf("IPv6: %+v", got)
	}
}

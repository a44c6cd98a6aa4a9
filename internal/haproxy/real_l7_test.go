package haproxy

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// l7Request sends one request to the first listener of s with the given
// path, Host and headers, and returns the status, the body (the backend's
// name) and the Location header. Redirects are not followed.
func l7Request(t *testing.T, s Spec, path, host string, hdr map[string]string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d%s", s.Listeners[0].Port, path), nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := httpClient(nil)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s (Host %q): %v", path, host, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header.Get("Location")
}

func rid(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }
func pid(n int) string { return fmt.Sprintf("10000000-0000-4000-8000-%012d", n) }

// The golden sample's policies, run by a real HAProxy: each action does
// what it says, and when two policies match, the one of lower position
// wins even where HAProxy's own rule order would favour the other (a
// REJECT or a redirect runs before any use_backend in HAProxy).
func TestL7PoliciesRouteRedirectAndRejectInPositionOrder(t *testing.T) {
	a, b := startBackend(t, "A"), startBackend(t, "B")
	spec, mgr := realInstance(t, a.member(t, memA))
	spec.addPool2(b.member(t, memB))
	spec.lis(0).L7Policies = l7Sample()
	if _, err := mgr.Apply(ctx(t), spec); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, path, host string
		hdr              map[string]string
		status           int
		body, location   string
	}{
		{"no policy matches: default pool", "/index.html", "www.example.com", nil, 200, "A", ""},
		{"host and path: pool B", "/v2/items", "api.example.com", nil, 200, "B", ""},
		{"host case and port do not matter", "/v2/items", "API.Example.COM:8080", nil, 200, "B", ""},
		{"host alone is not enough", "/v1/items", "api.example.com", nil, 200, "A", ""},
		{"admin path: 403", "/admin/users", "www.example.com", nil, 403, "", ""},
		{"regex is anchored as written", "/administrator", "www.example.com", nil, 200, "A", ""},
		{"position 1 beats a later REJECT", "/v2/admin", "api.example.com", nil, 200, "B", ""},
		{"header contains: redirect to URL", "/x", "www.example.com", map[string]string{"User-Agent": "curl/8.0", "Cookie": "session=x-legacy"}, 301, "", "https://example.com/moved%20here"},
		{"REJECT at 2 beats redirect at 3", "/admin", "www.example.com", map[string]string{"User-Agent": "curl/8.0", "Cookie": "session=x-legacy"}, 403, "", ""},
		{"inverted cookie rule: prefix redirect", "/a/b?c=d", "www.example.com", map[string]string{"Cookie": "session=abc"}, 308, "", "https://secure.example.com/a/b?c=d"},
		{"file type jpg: pool B", "/img/cat.jpg", "www.example.com", map[string]string{"Cookie": "session=x-legacy"}, 200, "B", ""},
		{"inverted regex rule keeps png out", "/img/cat.png.jpg", "www.example.com", map[string]string{"Cookie": "session=x-legacy"}, 200, "B", ""},
		{"a path merely containing jpg is not a jpg", "/jpg/cat", "www.example.com", map[string]string{"Cookie": "session=x-legacy"}, 200, "A", ""},
	}
	for _, c := range cases {
		if c.hdr == nil {
			// Policy 4 redirects requests without a legacy session.
			c.hdr = map[string]string{"Cookie": "session=x-legacy"}
		}
		status, body, loc := l7Request(t, spec, c.path, c.host, c.hdr)
		if status != c.status || (c.body != "" && body != c.body) || loc != c.location {
			t.Errorf("%s: got %d %q Location %q, want %d %q Location %q", c.name, status, body, loc, c.status, c.body, c.location)
		}
	}
}

// hostileValues are compared values that mean something to HAProxy's
// config grammar, its ACL flags or its log-format strings. Each must reach
// HAProxy as the very bytes given: a request carrying it matches, one
// carrying it changed by a byte does not.
var hostileValues = []string{
	`it's`, `'`, `''`, `'\''`, `a"b`, `"`, `back\slash`, `\`, `\'`, `#comment`, `a #b`,
	`$HOME`, `${HOME}`, `"${HOME}"`, `%[src]`, `%%`, `-m reg`, `--`, `-i`, `a b  c`,
	`{ always_true }`, `x if TRUE`, `) || (`, `;`, "`id`", `a,b`, `(x)`,
}

func TestHostileValuesReachHAProxyAsTheyWereGiven(t *testing.T) {
	a := startBackend(t, "A")
	spec, mgr := realInstance(t, a.member(t, memA))
	var pols []L7Policy
	for i, v := range hostileValues {
		pols = append(pols, L7Policy{ID: pid(i + 1), Action: L7Reject, Rules: []L7Rule{
			{ID: rid(i + 1), Type: "HEADER", Compare: "EQUAL_TO", Key: "X-Probe", Value: v},
		}})
	}
	// A regex made of grammar characters: it matches the literal text
	// 'q"#$ (the quote, double quote, hash and dollar as written).
	pols = append(pols, L7Policy{ID: pid(100), Action: L7Reject, Rules: []L7Rule{
		{ID: rid(100), Type: "HEADER", Compare: "REGEX", Key: "X-Regex", Value: `^'q"#\$$`},
	}})
	spec.lis(0).L7Policies = pols
	if _, err := mgr.Apply(ctx(t), spec); err != nil {
		t.Fatal(err)
	}
	for _, v := range hostileValues {
		if status, _, _ := l7Request(t, spec, "/", "", map[string]string{"X-Probe": v}); status != 403 {
			t.Errorf("value %q: status %d, want 403 (the rule did not see the value as given)", v, status)
		}
		if status, body, _ := l7Request(t, spec, "/", "", map[string]string{"X-Probe": v + "z"}); status != 200 || body != "A" {
			t.Errorf("value %q+z: status %d %q, want 200 from A", v, status, body)
		}
	}
	if status, _, _ := l7Request(t, spec, "/", "", map[string]string{"X-Regex": `'q"#$`}); status != 403 {
		t.Errorf("regex of grammar characters did not match its text: status %d", status)
	}
	if status, _, _ := l7Request(t, spec, "/", "", map[string]string{"X-Regex": `'q"#$x`}); status != 200 {
		t.Errorf("regex of grammar characters matched too much: status %d", status)
	}
	cfg, err := Render(spec)
	if err != nil {
		t.Fatal(err)
	}
	// The policies alike (REJECT, one HEADER EQUAL_TO rule on X-Probe)
	// share one ACL (l7Group), the regex has its own: two acl lines, and
	// no line that HAProxy could read as a directive of its own.
	if n := strings.Count(string(cfg), "\n    acl "); n != 2 {
		t.Errorf("%d acl lines, want 2:\n%s", n, cfg)
	}
}

// Policies alike and consecutive share one ACL, and position order still
// decides between groups: a path in both the first REJECT run and the
// pool policy after it is rejected; one only in the pool policy and the
// REJECT run after it goes to the pool; 90 values (more than one line's
// worth) all match.
func TestConsecutivePoliciesAlikeShareOneACLAndKeepTheirOrder(t *testing.T) {
	a, c := startBackend(t, "A"), startBackend(t, "C")
	spec, mgr := realInstance(t, a.member(t, memA))
	spec.addPool2(c.member(t, memC))
	var pols []L7Policy
	n := 0
	add := func(action L7Action, pool, prefix string) {
		n++
		pols = append(pols, L7Policy{ID: pid(n), Action: action, PoolID: pool, Rules: []L7Rule{
			{ID: rid(n), Type: "PATH", Compare: "STARTS_WITH", Value: prefix},
		}})
	}
	for i := range 90 {
		add(L7Reject, "", fmt.Sprintf("/deny-%02d/", i))
	}
	add(L7RedirectToPool, pool2ID, "/deny-05/both")
	add(L7RedirectToPool, pool2ID, "/to-c/")
	add(L7Reject, "", "/to-c/")
	spec.lis(0).L7Policies = pols
	if _, err := mgr.Apply(ctx(t), spec); err != nil {
		t.Fatal(err)
	}
	cfg, _ := Render(spec)
	if n := strings.Count(string(cfg), "set-var("); n != 3 {
		t.Errorf("%d set-var lines, want 3 (the REJECT run, the pool run, the last REJECT)", n)
	}
	for path, want := range map[string]string{
		"/deny-00/x": "403", "/deny-89/x": "403", "/deny-05/both": "403", "/to-c/x": "C", "/other": "A",
	} {
		status, body, _ := l7Request(t, spec, path, "", nil)
		got := body
		if status == 403 {
			got = "403"
		}
		if got != want {
			t.Errorf("%s: %d %q, want %s", path, status, body, want)
		}
	}
}

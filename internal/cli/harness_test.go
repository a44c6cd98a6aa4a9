package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/cobra"
)

// recorded is one request the fake server saw.
type recorded struct {
	Method, Path, Query, Token string
	Body                       map[string]any
}

// fakeAPI answers requests from a route table "METHOD path?query" →
// (status, body) and records everything it receives.
type fakeAPI struct {
	t      *testing.T
	mu     sync.Mutex
	routes map[string]fakeReply
	seen   []recorded
	srv    *httptest.Server
}

type fakeReply struct {
	status int
	body   string
	header map[string]string
}

func newFakeAPI(t *testing.T) *fakeAPI {
	f := &fakeAPI{t: t, routes: map[string]fakeReply{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) on(route string, status int, body string) {
	f.routes[route] = fakeReply{status: status, body: body}
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	data, _ := io.ReadAll(r.Body)
	rec := recorded{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Token: r.Header.Get("X-Auth-Token")}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &rec.Body); err != nil {
			f.t.Errorf("request body is not a JSON object: %s", data)
		}
	}
	f.mu.Lock()
	f.seen = append(f.seen, rec)
	f.mu.Unlock()
	key := r.Method + " " + r.URL.Path
	if r.URL.RawQuery != "" {
		key += "?" + r.URL.RawQuery
	}
	reply, ok := f.routes[key]
	if !ok {
		w.WriteHeader(599)
		_, _ = io.WriteString(w, "no route for "+key)
		return
	}
	for k, v := range reply.header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(reply.status)
	_, _ = io.WriteString(w, reply.body)
}

// requests returns "METHOD path?query" for each request seen.
func (f *fakeAPI) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, len(f.seen))
	for i, r := range f.seen {
		out[i] = r.Method + " " + r.Path
		if r.Query != "" {
			out[i] += "?" + r.Query
		}
	}
	return out
}

func (f *fakeAPI) last() recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seen[len(f.seen)-1]
}

type runResult struct {
	stdout, stderr string
	code           int
	err            error
}

// runCLI executes one verb against url with the given environment.
func runCLI(t *testing.T, env map[string]string, args ...string) runResult {
	t.Helper()
	root := &cobra.Command{Use: "lbaas", SilenceErrors: true, SilenceUsage: true}
	RegisterWithOptions(root, Options{Getenv: func(k string) string { return env[k] }})
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err := root.Execute()
	return runResult{stdout: out.String(), stderr: errb.String(), code: ExitCode(err), err: err}
}

func (f *fakeAPI) run(t *testing.T, args ...string) runResult {
	t.Helper()
	return runCLI(t, map[string]string{"OS_URL": f.srv.URL, "OS_TOKEN": "secret"}, args...)
}

func wantRequests(t *testing.T, f *fakeAPI, want ...string) {
	t.Helper()
	got := f.requests()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("requests:\n got  %q\n want %q", got, want)
	}
}

func wantJSON(t *testing.T, got map[string]any, want string) {
	t.Helper()
	var w map[string]any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	g, _ := json.Marshal(got)
	ww, _ := json.Marshal(w)
	if string(g) != string(ww) {
		t.Fatalf("body:\n got  %s\n want %s", g, ww)
	}
}

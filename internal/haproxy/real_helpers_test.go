package haproxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// backend is a tiny HTTP member on 127.0.0.1 answering its own name.
type backend struct {
	name string
	srv  *httptest.Server
	hits atomic.Int64
}

func startBackend(t *testing.T, name string) *backend {
	t.Helper()
	b := &backend{name: name}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		w.Header().Set("X-Seen-Proto", r.Header.Get("X-Forwarded-Proto"))
		w.Header().Set("X-Seen-For", r.Header.Get("X-Forwarded-For"))
		w.Header().Set("X-Seen-Port", r.Header.Get("X-Forwarded-Port"))
		fmt.Fprint(w, name)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *backend) addrPort(t *testing.T) netip.AddrPort {
	return netip.MustParseAddrPort(b.srv.Listener.Addr().String())
}

func (b *backend) member(t *testing.T, id string) Member {
	ap := b.addrPort(t)
	return Member{ID: id, Address: ap.Addr(), Port: int(ap.Port()), Weight: 1, AdminUp: true}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// realInstance prepares a spec on 127.0.0.1 in a short temporary state dir
// (unix socket paths are limited to 107 bytes) and stops whatever it started.
func realInstance(t *testing.T, members ...Member) (Spec, *Manager) {
	t.Helper()
	needHAProxy(t)
	dir, err := os.MkdirTemp("", "lbt")
	if err != nil {
		t.Fatal(err)
	}
	mgr := NewManager(Options{})
	spec := Spec{
		ID: lbID,
		Listeners: []Listener{{ID: lisA, Address: netip.MustParseAddr("127.0.0.1"), Port: freePort(t),
			Protocol: ProtocolHTTP, ConnLimit: -1, AdminUp: true, DefaultPoolID: poolID}},
		Pools: []Pool{{ID: poolID, Method: MethodRoundRobin, Protocol: ProtocolHTTP, AdminUp: true}},
		Paths: DefaultPaths(dir, lbID),
	}
	spec.Pools[0].Members, spec.Pools[0].Slots = AssignSlots(nil, members, 0)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := NewManager(Options{}).Stop(ctx, spec.Paths); err != nil {
			t.Errorf("cleanup stop: %v", err)
		}
		os.RemoveAll(dir)
	})
	return spec, mgr
}

// withMembers re-assigns the first pool's slots for members the way the agent will.
func withMembers(prev Spec, members ...Member) Spec {
	s := prev.clone()
	p := s.pool(0)
	p.Members, p.Slots = AssignSlots(SlotMap(p.Members), members, p.Slots)
	return s
}

func httpClient(roots *x509.CertPool) *http.Client {
	tr := &http.Transport{DisableKeepAlives: true}
	if roots != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: roots}
	}
	return &http.Client{Transport: tr, Timeout: 3 * time.Second}
}

func get(c *http.Client, url string) (string, http.Header, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return string(body), resp.Header, fmt.Errorf("status %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return string(body), resp.Header, nil
}

// vipURL is the first listener's URL.
func vipURL(s Spec) string { return fmt.Sprintf("http://127.0.0.1:%d/", s.Listeners[0].Port) }

// sequence does n sequential requests and returns the answering backends.
func sequence(t *testing.T, s Spec, n int) []string {
	t.Helper()
	c := httpClient(nil)
	var out []string
	for i := 0; i < n; i++ {
		body, _, err := get(c, vipURL(s))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		out = append(out, body)
	}
	return out
}

func count(xs []string) map[string]int {
	m := map[string]int{}
	for _, x := range xs {
		m[x]++
	}
	return m
}

// eventually polls cond every 100ms for at most d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

func ppid(t *testing.T, pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	var p int
	fmt.Sscan(f[1], &p)
	return p
}

func x509NewPool() *x509.CertPool { return x509.NewCertPool() }

func netipMust(s string) netip.Addr { return netip.MustParseAddr(s) }

// serverStats reads one slot's line of "show stat" for the first pool from
// the running instance.
func serverStats(t *testing.T, spec Spec, slot int) ServerStats {
	t.Helper()
	st, err := Client{Socket: spec.Paths.Socket}.ShowStat(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	sv, _ := st.Server(BackendName(spec.Pools[0].ID), SlotName(slot))
	return sv
}

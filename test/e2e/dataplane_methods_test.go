package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"strings"
	"testing"
	"time"

	"lbaas/internal/netns"
)

func TestSourceIPMethodSticksToOneMember(t *testing.T) {
	tp := startTopo(t)
	_, _, fip := tp.lb("src", map[string]any{"lb_method": "SOURCE_IP"}, map[string]any{})
	seen := map[string]int{}
	for i := 0; i < 10; i++ {
		body, err := tp.get("http://" + fip + "/")
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		seen[body]++
	}
	if len(seen) != 1 {
		t.Fatalf("SOURCE_IP: one client must always reach the same member; got %v", seen)
	}
}

func TestLeastConnectionsFavoursTheIdleMember(t *testing.T) {
	tp := startTopo(t)
	p, _, fip := tp.lb("lc", map[string]any{"lb_method": "LEAST_CONNECTIONS"}, map[string]any{})
	slow := make(chan string, 1)
	go func() {
		body, err := bodyOf(httpClient(tp.client, 10*time.Second).Get("http://" + fip + "/?sleep=3s"))
		if err != nil {
			body = "error: " + err.Error()
		}
		slow <- body
	}()
	// The quick requests start once HAProxy holds the slow one.
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if tp.poolStats(p["id"].(string)).ActiveConnections > 0 {
			break
		}
	}
	seen := map[string]int{}
	for i := 0; i < 4; i++ {
		body, err := tp.get("http://" + fip + "/")
		if err != nil {
			t.Fatalf("quick request %d: %v", i, err)
		}
		seen[body]++
	}
	busy := <-slow
	if !strings.HasPrefix(busy, "backend ") {
		t.Fatalf("slow request: %s", busy)
	}
	if len(seen) != 1 || seen[busy] != 0 {
		t.Fatalf("LEAST_CONNECTIONS: with %q busy, the 4 quick requests must all go to the other member; got %v", busy, seen)
	}
}

func TestSessionPersistenceHTTPCookieSticksToOneMember(t *testing.T) {
	tp := startTopo(t)
	_, _, fip := tp.lb("cookie", map[string]any{}, map[string]any{"session_persistence": map[string]any{"type": "HTTP_COOKIE"}})
	jar, _ := cookiejar.New(nil)
	client := httpClient(tp.client, 3*time.Second)
	client.Jar = jar
	first, err := client.Get("http://" + fip + "/")
	if err != nil {
		t.Fatal(err)
	}
	first.Body.Close()
	if len(first.Cookies()) == 0 {
		t.Fatalf("HTTP_COOKIE: the first answer sets no cookie (headers %v)", first.Header)
	}
	assertSticky(t, client, fip)
	// Without the cookie the pool round-robins: the stickiness came from it.
	assertSpread(t, tp, fip)
}

func TestSessionPersistenceAppCookieFollowsTheApplicationsCookie(t *testing.T) {
	tp := startTopo(t)
	// Members that set an application session cookie, as an app server does.
	var addrs []netip.Addr
	for i, a := range []string{"10.1.1.5/24", "10.1.1.6/24"} {
		p := netip.MustParsePrefix(a)
		name := fmt.Sprintf("%sapp%d", tp.prefix, i+1)
		if err := tp.c.AddNamespace(name, tp.poolNet, "10.1.1.0/24", p); err != nil {
			t.Fatal(err)
		}
		serveAppCookie(t, name, p.Addr())
		addrs = append(addrs, p.Addr())
	}
	_, _, fip := tp.lbOf("appcookie", map[string]any{}, map[string]any{"session_persistence": map[string]any{"type": "APP_COOKIE", "cookie_name": "JSESSIONID"}}, addrs)
	jar, _ := cookiejar.New(nil)
	client := httpClient(tp.client, 3*time.Second)
	client.Jar = jar
	assertSticky(t, client, fip)
	assertSpread(t, tp, fip)
}

// serveAppCookie answers "backend <addr>" and sets JSESSIONID to a value
// unique to the member, on every answer.
func serveAppCookie(t *testing.T, ns string, addr netip.Addr) {
	t.Helper()
	var ln net.Listener
	err := netns.Do(ns, func() error {
		var err error
		ln, err = net.Listen("tcp", netip.AddrPortFrom(addr, 80).String())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "JSESSIONID", Value: "session-" + strings.ReplaceAll(addr.String(), ".", "-")})
		_, _ = io.WriteString(w, "backend "+addr.String()+"\n")
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
}

// assertSticky sends 10 requests with the client's cookies: one member
// must answer them all.
func assertSticky(t *testing.T, client *http.Client, fip string) {
	t.Helper()
	seen := map[string]int{}
	for i := 0; i < 10; i++ {
		body, err := bodyOf(client.Get("http://" + fip + "/"))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		seen[body]++
	}
	if len(seen) != 1 {
		t.Fatalf("a client sending the persistence cookie back must stick to one member; got %v", seen)
	}
}

// assertSpread checks that cookie-less requests reach both members.
func assertSpread(t *testing.T, tp *topo, fip string) {
	t.Helper()
	seen := map[string]int{}
	for i := 0; i < 4; i++ {
		body, err := tp.get("http://" + fip + "/")
		if err != nil {
			t.Fatalf("cookie-less request %d: %v", i, err)
		}
		seen[body]++
	}
	if len(seen) != 2 {
		t.Fatalf("without a cookie requests should be balanced over both members; got %v", seen)
	}
}

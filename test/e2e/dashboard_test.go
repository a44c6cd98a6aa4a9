package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"lbaas/internal/up"
)

// chromium returns Debian's Chromium, or skips.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium: the dashboard test drives a real browser (Debian package chromium)")
	return ""
}

// browser is a headless Chromium page that records console errors,
// uncaught exceptions and the browser log's errors (a failed request).
type browser struct {
	t      *testing.T
	ctx    context.Context
	shots  string
	mu     sync.Mutex
	errors []string
}

func newBrowser(t *testing.T, exe, shots string, parent context.Context) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.Headless,
		chromedp.Flag("disable-gpu", true), chromedp.WindowSize(1400, 1000),
		// Loopback only: no proxy.
		chromedp.Flag("no-proxy-server", true))
	actx, cancelA := chromedp.NewExecAllocator(parent, opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelA() })
	b := &browser{t: t, ctx: ctx, shots: shots}
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				b.mu.Lock()
				b.errors = append(b.errors, m.String())
				b.mu.Unlock()
			}
		}
	}()
	return b
}

func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// count is how many elements match a CSS selector on the page now.
func (b *browser) count(selector string) int {
	n, _ := chromedp.Run(b.ctx, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", selector)))
	return n
}

// waitFor polls until selector matches, and returns how long it took.
func (b *browser) waitFor(selector string, limit time.Duration) (time.Duration, bool) {
	start := time.Now()
	for time.Since(start) < limit {
		if b.count(selector) > 0 {
			return time.Since(start), true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return limit, false
}

func (b *browser) screenshot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	p := filepath.Join(b.shots, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", p)
}

// text is the page's visible text, for a failure's log.
func (b *browser) text() string {
	s, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string]("document.body.innerText"))
	return s
}

func (b *browser) consoleErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errors...)
}

// TestDashboardShowsThePairTheMembersHealthAFailoverAndOnlyTheUsersProjects
// opens the dashboard in headless Chromium as the admin: the seed's load
// balancer appears with both VMs on their nodes; a stopped backend turns
// its member red; a killed active HAProxy moves the VIP and the page
// follows. A member of another project, logged in with a password
// through the identity service, sees no load balancer. No console error
// on the way. Screenshots are kept where the log says.
func TestDashboardShowsThePairTheMembersHealthAFailoverAndOnlyTheUsersProjects(t *testing.T) {
	exe := chromium(t)
	needKeepalived(t)
	tp := startTopo(t, func(o *up.Options) { o.IdentityListen = freeAddr(t) })
	pool, vip, fip := tp.lb("dash", map[string]any{"name": "dash"}, map[string]any{})
	poolID, lbID := pool["id"].(string), vip["id"].(string)
	tp.monitor(poolID, map[string]any{"type": "TCP", "delay": 1, "timeout": 1, "max_retries": 1})
	shots := os.Getenv("LBAAS_SCREENSHOTS")
	if shots == "" {
		shots = filepath.Join(os.TempDir(), "lbaas-dashboard-"+time.Now().UTC().Format("20060102-150405"))
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", shots)

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	b := newBrowser(t, exe, shots, ctx)
	b.do(chromedp.Navigate(tp.c.URL+"/ui/"), chromedp.WaitVisible("#login-token"),
		chromedp.SendKeys("#token", tp.c.AdminToken), chromedp.Click("#login-token button"))
	card := fmt.Sprintf(`[data-lb=%q]`, lbID)
	if _, ok := b.waitFor(card+` .vm[data-ha="MASTER"]`, 30*time.Second); !ok {
		b.screenshot("no-pair")
		t.Fatalf("the load balancer's active VM did not appear; the page says:\n%s\nconsole: %v", b.text(), b.consoleErrors())
	}
	if _, ok := b.waitFor(card+` .vm[data-ha="BACKUP"]`, 30*time.Second); !ok {
		b.screenshot("no-standby")
		t.Fatal("the load balancer's standby did not appear")
	}
	nodes, _ := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](fmt.Sprintf(`[...document.querySelectorAll('%s .vm')].map(e => e.dataset.node)`, card)))
	active := tp.active(poolID, vip["address"].(string))
	if len(nodes) != 2 || nodes[0] == nodes[1] || b.count(fmt.Sprintf(`%s .vm[data-ha="MASTER"][data-node=%q]`, card, active.node)) != 1 {
		t.Errorf("the page shows the VMs on %v, the VIP's holder is %s", nodes, active.node)
	}
	if _, ok := b.waitFor(card+` .member.up`, 30*time.Second); !ok {
		t.Error("no member shown up")
	}
	// Traffic: requests through the floating IP show as a rate.
	c := httpClient(tp.client, 5*time.Second)
	for range 40 {
		if resp, err := c.Get("http://" + fip + "/"); err == nil {
			resp.Body.Close()
		}
	}
	b.screenshot("1-pair")

	// A backend stops: its member turns red.
	stopped := tp.backends[0]
	member := tp.memberID(poolID, stopped.Addr)
	stopped.Stop()
	red, ok := b.waitFor(fmt.Sprintf(`[data-member=%q].down`, member), 20*time.Second)
	if !ok {
		b.screenshot("member-not-red")
		t.Fatal("the stopped backend's member did not turn red")
	}
	t.Logf("member red on the page %v after its backend stopped (TCP monitor: delay 1s, timeout 1s, 1 retry)", red.Round(time.Millisecond))
	b.screenshot("2-member-down")

	// The active HAProxy dies: the page shows the other VM holding the VIP.
	killHAProxy(t, active)
	var switched time.Duration
	start := time.Now()
	for time.Since(start) < 20*time.Second {
		if now := b.count(fmt.Sprintf(`%s .vm[data-ha="MASTER"]:not([data-node=%q])`, card, active.node)); now > 0 {
			switched = time.Since(start)
			break
		}
		// The agent may restart HAProxy before keepalived counts it dead;
		// then the VIP stays, and the page must say so too.
		if h := tp.active(poolID, vip["address"].(string)); h.node == active.node && time.Since(start) > 5*time.Second {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	holder := tp.active(poolID, vip["address"].(string))
	if b.count(fmt.Sprintf(`%s .vm[data-ha="MASTER"][data-node=%q]`, card, holder.node)) != 1 {
		b.screenshot("pair-not-followed")
		t.Fatalf("the page does not show %s, which holds the VIP, as active", holder.node)
	}
	if holder.node != active.node {
		t.Logf("pair switched on the page %v after the active HAProxy was killed (%s → %s)", switched.Round(time.Millisecond), active.node, holder.node)
	}
	if _, ok := b.waitFor(`#events tbody tr[data-event="vrrp_transition"]`, 10*time.Second); !ok {
		t.Error("no VRRP event in the page's history")
	}
	b.screenshot("3-after-failover")

	// A member of another project sees nothing of the admin's.
	pw := "eve-password-0123456789"
	makeMember(t, tp.c.IdentityURL, bootstrapPassword(t, tp.c.CloudsFile), "other", "eve", pw, "member", "load-balancer_member")
	e := newBrowser(t, exe, shots, ctx)
	e.do(chromedp.Navigate(tp.c.URL+"/ui/"), chromedp.WaitVisible("#login-password"),
		chromedp.SendKeys("#username", "eve"), chromedp.SendKeys("#password", pw), chromedp.SendKeys("#project", "other"),
		chromedp.Click("#login-password button"), chromedp.WaitVisible("#dash"))
	if _, ok := e.waitFor(`#conn.live`, 10*time.Second); !ok {
		t.Fatal("eve's page never went live")
	}
	who, _ := chromedp.Run(e.ctx, chromedp.Text("#who"))
	if e.count(`[data-lb]`) != 0 || !strings.Contains(who, "eve") {
		t.Errorf("eve (%q) sees %d load balancers", who, e.count(`[data-lb]`))
	}
	if e.count(`#events tbody tr`) != 0 {
		t.Errorf("eve sees %d events of the admin's", e.count(`#events tbody tr`))
	}
	e.screenshot("4-other-project")

	for _, br := range []*browser{b, e} {
		if errs := br.consoleErrors(); len(errs) > 0 {
			t.Errorf("console errors: %v", errs)
		}
	}
}

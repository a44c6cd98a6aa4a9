// Package ui serves the web dashboard at /ui/: a topology of nodes and
// load balancers (each an active/standby pair of VMs, its VIP and floating
// IP, listeners, pools and members with their health), live traffic per
// load balancer, and the event history, updated over a server-sent event
// stream about every second.
//
// The page and its script are ours, embedded in the binary; nothing is
// fetched at run time. The data comes from the store, scoped to the
// caller exactly as the API scopes it: a user sees the load balancers and
// events of the project its token is scoped to, an admin sees all. The
// browser holds the token in an HttpOnly, SameSite=Strict cookie set by
// /ui/api/login, which takes a token, or a user name and password that the
// identity endpoint (the built-in one, or Keystone) turns into one.
package ui

import (
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"lbaas/internal/api/auth"
	"lbaas/internal/model"
	"lbaas/internal/store"
)

//go:embed assets
var assets embed.FS

// Config is what the dashboard needs.
type Config struct {
	Store *store.Store
	// Auth validates the cookie's token; NoAuth makes everyone admin.
	Auth   auth.Authenticator
	NoAuth bool
	// IdentityURL is the identity endpoint's base (".../v3") that turns a
	// user name and password into a token; empty: token login only.
	IdentityURL string
	// Traffic returns each load balancer's traffic totals (monotonic, as
	// /metrics has them).
	Traffic func() map[string]model.Stats
	// Every is how often the stream sends a fresh view (1 s by default).
	Every time.Duration
	Log   *slog.Logger
}

// Handler serves /ui/ (the page), /ui/static/ (its script and styles)
// and /ui/api/ (login, logout, the view and its stream).
func Handler(c Config) http.Handler {
	if c.Every <= 0 {
		c.Every = time.Second
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	s := &server{c: c}
	static, _ := fs.Sub(assets, "assets")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ui/{$}", s.page)
	mux.Handle("GET /ui/static/", http.StripPrefix("/ui/static/", http.FileServerFS(static)))
	mux.HandleFunc("POST /ui/api/login", s.login)
	mux.HandleFunc("POST /ui/api/logout", s.logout)
	mux.HandleFunc("GET /ui/api/session", s.session)
	mux.HandleFunc("GET /ui/api/view", s.authed(s.viewJSON))
	mux.HandleFunc("GET /ui/api/stream", s.authed(s.stream))
	mux.HandleFunc("GET /ui", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ui/", http.StatusMovedPermanently) })
	return securityHeaders(mux)
}

type server struct{ c Config }

// securityHeaders: the page loads only its own script and styles, is
// never framed, and nothing is sniffed.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

func (s *server) page(w http.ResponseWriter, r *http.Request) {
	b, err := assets.ReadFile("assets/index.html")
	if err != nil {
		http.Error(w, "dashboard not built", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

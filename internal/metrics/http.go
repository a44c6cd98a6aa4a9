package metrics

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// maxRoutes bounds the route label's values: paths come from clients, and
// a client sending made-up words must not grow the series without end.
const maxRoutes = 400

// httpMetrics counts the APIs' requests by route, method and code, with
// their latency.
type httpMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec

	mu     sync.Mutex
	routes map[string]bool
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	h := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lbaas_api_requests_total",
			Help: "API requests answered, by API, route (ids replaced by {id}), method and status code.",
		}, []string{"api", "route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "lbaas_api_request_duration_seconds",
			Help:    "Time to answer an API request, by API, route and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"api", "route", "method"}),
		routes: map[string]bool{},
	}
	reg.MustRegister(h.requests, h.latency)
	return h
}

// Route turns a request path into a route template: every segment that
// is not a plain lower-case word (an id, a node's name, a version number
// other than the API's) becomes {id}.
func Route(path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if len(segs) > 8 {
		segs = append(segs[:8], "...")
	}
	for i, s := range segs {
		if !isWord(s) {
			segs[i] = "{id}"
		}
	}
	return "/" + strings.Join(segs, "/")
}

// versionedWords are the fixed route segments with digits in them.
var versionedWords = map[string]bool{"v1": true, "v2": true, "v2.0": true, "v3": true, "l7policies": true}

// isWord: a route's fixed part, like "lbaas", "v2.0",
// "lbaas-certificates" or "stats": lower-case letters, '-', '_' and '.',
// or one of versionedWords.
func isWord(s string) bool {
	if s == "" || s == "..." || versionedWords[s] {
		return true
	}
	if len(s) > 40 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// route returns the label for path, "other" once maxRoutes are in use.
func (h *httpMetrics) route(path string) string {
	r := Route(path)
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.routes[r] {
		if len(h.routes) >= maxRoutes {
			return "other"
		}
		h.routes[r] = true
	}
	return r
}

// statusWriter remembers the status code a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush passes through: the agents' long polls and streams flush.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (h *httpMetrics) wrap(api string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			code := sw.code
			if code == 0 {
				code = http.StatusOK
			}
			route := h.route(r.URL.Path)
			method := r.Method
			switch method {
			case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodHead, http.MethodOptions:
			default:
				method = "other"
			}
			h.requests.WithLabelValues(api, route, method, strconv.Itoa(code)).Inc()
			h.latency.WithLabelValues(api, route, method).Observe(time.Since(start).Seconds())
		}()
		next.ServeHTTP(sw, r)
	})
}

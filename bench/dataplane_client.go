package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"lbaas/internal/netns"
)

// nsHTTPClient returns a client whose connections are dialled inside the
// namespace ns: load for our namespaces' addresses never comes from the
// root namespace. keepAlive chooses between one connection per request
// (probes) and reused connections (load).
func nsHTTPClient(ns string, timeout time.Duration, keepAlive bool, conns int) *http.Client {
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var conn net.Conn
		err := netns.Do(ns, func() error {
			d := net.Dialer{Timeout: timeout}
			var err error
			conn, err = d.DialContext(ctx, network, addr)
			return err
		})
		return conn, err
	}
	tr := &http.Transport{DialContext: dial, DisableKeepAlives: !keepAlive, MaxIdleConnsPerHost: conns, DisableCompression: true}
	return &http.Client{Timeout: timeout, Transport: tr}
}

// servedBy sends one GET and returns the answering backend's address (the
// up.Backend body is "backend <addr>").
func servedBy(ctx context.Context, hc *http.Client, url string) (string, error) {
	b, err := httpGet(ctx, hc, url, 4096)
	if err != nil {
		return "", err
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(b), "backend ")
	if !ok {
		return "", fmt.Errorf("unexpected body %q", b)
	}
	return addr, nil
}

// httpGet sends one GET and returns the body (at most limit bytes) of a
// 200 answer.
func httpGet(ctx context.Context, hc *http.Client, url string, limit int64) (string, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	return string(b), nil
}

// waitServed polls url from ns until a request succeeds (bounded).
func waitServed(ctx context.Context, ns, url string, limit time.Duration) error {
	hc := nsHTTPClient(ns, time.Second, false, 1)
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		if _, err := servedBy(ctx, hc, url); err == nil {
			return nil
		} else {
			last = err
		}
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
	return fmt.Errorf("bench: %s not served from %s within %v: %v", url, ns, limit, last)
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

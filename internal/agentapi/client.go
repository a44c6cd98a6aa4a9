package agentapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// defaultHTTP bounds every call, long polls included (the server answers
// those within 25 s), so a vanished server never hangs the agent. It is
// never modified.
var defaultHTTP = &http.Client{Timeout: 40 * time.Second}

// Client is the agent's side of the agent API.
type Client struct {
	// BaseURL is the API root, e.g. http://127.0.0.1:9696.
	BaseURL string
	// Token is the node credential.
	Token string
	Node  string
	HTTP  *http.Client
}

func (c *Client) url(path string) string {
	return strings.TrimRight(c.BaseURL, "/") + strings.ReplaceAll(path, "{node}", url.PathEscape(c.Node))
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) (http.Header, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url(path), body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.Token != "" {
		req.Header.Set("X-Auth-Token", c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(msg))
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return nil, fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	return resp.Header, nil
}

// Heartbeat registers the node and renews its lease.
func (c *Client) Heartbeat(ctx context.Context, hb Heartbeat) (HeartbeatReply, error) {
	var r HeartbeatReply
	_, err := c.do(ctx, http.MethodPost, PathHeartbeat, hb, &r)
	return r, err
}

// Desired returns the node's desired state as soon as its hash differs
// from known (at once when known is empty), or after the server's wait.
func (c *Client) Desired(ctx context.Context, known string) (Desired, string, error) {
	var d Desired
	h, err := c.do(ctx, http.MethodGet, PathDesired+"?known="+url.QueryEscape(known), nil, &d)
	if err != nil {
		return d, "", err
	}
	return d, h.Get("X-Lbaas-Desired-Hash"), nil
}

// Report sends what the node observed.
func (c *Client) Report(ctx context.Context, r Report) error {
	_, err := c.do(ctx, http.MethodPost, PathReport, r, nil)
	return err
}

// Backoff returns the wait before retry n (capped).
func Backoff(n int) time.Duration {
	d := 100 * time.Millisecond << min(n, 5)
	return min(d, 3*time.Second)
}

package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// apiClient is a keep-alive HTTP client bound to one loopback server.
type apiClient struct {
	base  string
	token string
	// project, when set, is sent as X-Project-Id (how a noauth Octavia
	// learns the project of a new object).
	project string
	hc      *http.Client
}

// newClient refuses anything but a loopback address: the benchmark sends
// load, and load must never leave the machine.
func newClient(addr, token string, conns int) (*apiClient, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("bench: refusing non-loopback target %q", addr)
	}
	tr := &http.Transport{
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &apiClient{base: "http://" + addr, token: token, hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}}, nil
}

func (c *apiClient) close() { c.hc.CloseIdleConnections() }

// do sends one request and reads the whole answer, so that the measured
// time includes the transfer of the body; it returns the body.
func (c *apiClient) do(ctx context.Context, method, path string, body []byte, buf *bytes.Buffer) (int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("X-Auth-Token", c.token)
	}
	if c.project != "" {
		req.Header.Set("X-Project-Id", c.project)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	buf.Reset()
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return resp.StatusCode, err
	}
	return resp.StatusCode, nil
}

// create POSTs an envelope and returns the new object's id.
func (c *apiClient) create(ctx context.Context, path, envelope string, obj map[string]any) (string, error) {
	body, err := json.Marshal(map[string]any{envelope: obj})
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	code, err := c.do(ctx, http.MethodPost, path, body, &buf)
	if err != nil {
		return "", err
	}
	if code != http.StatusCreated {
		return "", fmt.Errorf("POST %s: %d %s", path, code, strings.TrimSpace(buf.String()))
	}
	var out map[string]struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		return "", fmt.Errorf("POST %s: %w", path, err)
	}
	return out[envelope].ID, nil
}

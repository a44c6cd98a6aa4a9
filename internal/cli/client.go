package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// param is one query parameter; order is kept because neutronclient sends
// `name=X&fields=id`, and repeated keys are allowed (`fields=id&fields=cidr`).
type param struct{ key, value string }

func encodeQuery(ps []param) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = url.QueryEscape(p.key) + "=" + url.QueryEscape(p.value)
	}
	return strings.Join(parts, "&")
}

// client speaks the Neutron JSON envelope protocol.
type client struct {
	http  *http.Client
	conn  connection
	agent string
	// octavia selects Octavia's error body and message style.
	octavia bool
}

// maxBody bounds how much of a response we read; lists of thousands of
// objects stay far below it.
const maxBody = 64 << 20

// do sends one request; path is relative to /v2.0. A non-nil body is
// JSON-encoded. The decoded top-level object is returned (nil for 204).
func (c *client) do(ctx context.Context, method, path string, query []param, body any) (map[string]json.RawMessage, error) {
	u := c.conn.url + "/v2.0" + path
	if len(query) > 0 {
		u += "?" + encodeQuery(query)
	}
	return c.doURL(ctx, method, u, body)
}

func (c *client) doURL(ctx context.Context, method, u string, body any) (map[string]json.RawMessage, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.agent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.conn.token != "" {
		req.Header.Set("X-Auth-Token", c.conn.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &connError{URL: u, Err: unwrapURLError(err)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, &connError{URL: u, Err: err}
	}
	if resp.StatusCode >= 400 {
		e := decodeError(resp, data)
		e.octavia = c.octavia
		return nil, e
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	var out map[string]json.RawMessage
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("invalid JSON in response to %s %s: %s", method, u, abbreviate(data))
	}
	return out, nil
}

func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

func decodeError(resp *http.Response, data []byte) *apiError {
	e := &apiError{
		Status:    resp.StatusCode,
		RequestID: resp.Header.Get("X-Openstack-Request-Id"),
		Body:      string(data),
	}
	var env struct {
		NeutronError *struct {
			Type    string `json:"type"`
			Message string `json:"message"`
			Detail  string `json:"detail"`
		} `json:"NeutronError"`
	}
	if json.Unmarshal(data, &env) == nil && env.NeutronError != nil {
		e.Type = env.NeutronError.Type
		e.Message = env.NeutronError.Message
		e.Detail = env.NeutronError.Detail
	}
	// Octavia (WSME) answers {"faultcode", "faultstring", "debuginfo"}.
	var fault struct {
		FaultString *string `json:"faultstring"`
	}
	if e.Message == "" && json.Unmarshal(data, &fault) == nil && fault.FaultString != nil {
		e.Message = *fault.FaultString
	}
	// Keystone answers {"error": {"code", "title", "message"}}.
	var ks struct {
		Error *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if e.Message == "" && json.Unmarshal(data, &ks) == nil && ks.Error != nil {
		e.Message = ks.Error.Message
	}
	return e
}

func pathEscape(s string) string { return url.PathEscape(s) }

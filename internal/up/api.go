package up

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// API is a minimal JSON client of the cluster's Neutron API.
type API struct {
	URL   string
	Token string
	HTTP  *http.Client
}

// API returns an admin client.
func (c *Cluster) API() *API {
	return &API{URL: c.URL, Token: c.AdminToken, HTTP: &http.Client{Timeout: 30 * time.Second}}
}

// Call sends body (if any) as JSON and decodes the answer into out (if
// any). A status of 300 or more is an error carrying the body.
func (a *API) Call(method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.URL+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("X-Auth-Token", a.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(b))
	}
	if out != nil && len(b) > 0 {
		return json.Unmarshal(b, out)
	}
	return nil
}

// Create posts {"<kind>": fields} and returns the created object.
func (a *API) Create(path, kind string, fields map[string]any) (map[string]any, error) {
	var out map[string]any
	if err := a.Call("POST", path, map[string]any{kind: fields}, &out); err != nil {
		return nil, err
	}
	obj, _ := out[kind].(map[string]any)
	return obj, nil
}

// Get returns one object.
func (a *API) Get(path, kind string) (map[string]any, error) {
	var out map[string]any
	if err := a.Call("GET", path, nil, &out); err != nil {
		return nil, err
	}
	obj, _ := out[kind].(map[string]any)
	return obj, nil
}

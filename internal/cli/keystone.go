package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/pflag"
)

// The identity side of the CLI: the little of Keystone v3 that the
// project, user and role verbs need, on the identity endpoint
// (--os-auth-url), with the token of the other verbs.

// DefaultAuthPort is Keystone's port, used with the Neutron endpoint's host
// when no identity endpoint is given; `lbaas server --identity-listen`
// listens there by default.
const DefaultAuthPort = "5000"

// resolveAuthConnection finds the identity endpoint: the flag, OS_AUTH_URL,
// LBAAS_AUTH_URL, else the Neutron endpoint's host on port 5000. The result
// ends in /v3 whether or not the given URL had it (keystoneauth accepts
// both).
func resolveAuthConnection(fs *pflag.FlagSet, o Options, neutron connection) connection {
	u := first(changedFlag(fs, flagAuthURL), o.getenv("OS_AUTH_URL"), o.getenv("LBAAS_AUTH_URL"))
	if u == "" {
		u = neutron.url
		if p, err := url.Parse(neutron.url); err == nil && p.Host != "" {
			p.Host = net.JoinHostPort(p.Hostname(), DefaultAuthPort)
			p.Path, p.RawPath, p.RawQuery = "", "", ""
			u = p.String()
		}
	}
	u = strings.TrimRight(u, "/")
	u = strings.TrimSuffix(u, "/v2.0")
	if !strings.HasSuffix(u, "/v3") {
		u += "/v3"
	}
	return connection{url: u, token: neutron.token}
}

// ksKind is one identity collection.
type ksKind struct {
	singular, plural string
	// get says whether GET /v3/<plural>/{id} exists (roles have none).
	get bool
}

var (
	ksProjects = ksKind{singular: "project", plural: "projects", get: true}
	ksUsers    = ksKind{singular: "user", plural: "users", get: true}
	ksRoles    = ksKind{singular: "role", plural: "roles"}
	ksDomains  = ksKind{singular: "domain", plural: "domains", get: true}
)

// ks sends one request to the identity endpoint; path is below /v3.
func (e *env) ks(method, path string, query []param, body any) (map[string]json.RawMessage, error) {
	u := e.id.conn.url + path
	if len(query) > 0 {
		u += "?" + encodeQuery(query)
	}
	return e.id.doURL(e.ctx, method, u, body)
}

// ksObject unwraps the object of an answer, without its links (the
// openstack CLI drops them too).
func ksObject(resp map[string]json.RawMessage, key string) (*object, error) {
	raw, ok := resp[key]
	if !ok {
		return nil, fmt.Errorf("the server's response has no %q object", key)
	}
	o, err := parseObject(raw)
	if err != nil {
		return nil, err
	}
	return dropKey(o, "links"), nil
}

func dropKey(o *object, key string) *object {
	if _, ok := o.vals[key]; !ok {
		return o
	}
	out := &object{vals: map[string]json.RawMessage{}}
	for _, k := range o.keys {
		if k != key {
			out.keys = append(out.keys, k)
			out.vals[k] = o.vals[k]
		}
	}
	return out
}

func (e *env) ksList(k ksKind, query []param) ([]*object, error) {
	resp, err := e.ks(http.MethodGet, "/"+k.plural, query, nil)
	if err != nil {
		return nil, err
	}
	raw, ok := resp[k.plural]
	if !ok {
		return nil, fmt.Errorf("the server's response has no %q list", k.plural)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("%q is not a list: %v", k.plural, err)
	}
	out := make([]*object, 0, len(items))
	for _, it := range items {
		o, err := parseObject(it)
		if err != nil {
			return nil, err
		}
		out = append(out, dropKey(o, "links"))
	}
	return out, nil
}

// ksFind resolves a name or an id as osc-lib's find_resource does: GET by
// id first, then the ?name= filter; a name must match exactly one object.
func (e *env) ksFind(k ksKind, arg string) (*object, error) {
	if k.get {
		resp, err := e.ks(http.MethodGet, "/"+k.plural+"/"+pathEscape(arg), nil, nil)
		if err == nil {
			return ksObject(resp, k.singular)
		}
		if !isNotFound(err) {
			return nil, err
		}
	}
	items, err := e.ksList(k, []param{{"name", arg}})
	if err != nil {
		return nil, err
	}
	var match []*object
	for _, it := range items {
		if it.str("name") == arg {
			match = append(match, it)
		}
	}
	if len(match) == 0 && !k.get {
		// No GET by id: look for the id in the whole list.
		all, err := e.ksList(k, nil)
		if err != nil {
			return nil, err
		}
		for _, it := range all {
			if it.str("id") == arg {
				match = append(match, it)
			}
		}
	}
	switch len(match) {
	case 0:
		return nil, &notFoundError{fmt.Sprintf("No %s with a name or ID of '%s' exists.", k.singular, arg)}
	case 1:
		return match[0], nil
	}
	return nil, &ambiguousError{fmt.Sprintf("More than one %s exists with the name '%s'.", k.singular, arg)}
}

// ksID resolves a name or an id to the id.
func (e *env) ksID(k ksKind, arg string) (string, error) {
	o, err := e.ksFind(k, arg)
	if err != nil {
		return "", err
	}
	return o.str("id"), nil
}

// ksRow builds one row of a list table from column/value pairs, in order.
func ksRow(pairs ...any) *object {
	o := &object{vals: map[string]json.RawMessage{}}
	for i := 0; i+1 < len(pairs); i += 2 {
		k := pairs[i].(string)
		b, err := json.Marshal(pairs[i+1])
		if err != nil {
			b = []byte("null")
		}
		o.keys = append(o.keys, k)
		o.vals[k] = b
	}
	return o
}

func isConflict(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Status == http.StatusConflict
}

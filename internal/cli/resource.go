package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
)

// resource is the one generic client every verb goes through: a Neutron
// collection addressed by its envelope names and path.
type resource struct {
	singular string // envelope key of one object and the noun in messages
	plural   string // envelope key of a collection
	path     string // collection path below /v2.0
	// direct marks the lbaas extension endpoints, whose lists only promise
	// a ?name= filter: ids are checked with GET /{id} instead of ?id=.
	direct bool
	// octavia marks the v2 resources, served by the load-balancer endpoint.
	octavia bool
}

// maxPages bounds how many `<plural>_links` next pages a list follows.
const maxPages = 1000

var uuidPattern = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)

func looksLikeUUID(s string) bool { return uuidPattern.MatchString(s) }

func (r *resource) itemPath(id string) string { return r.path + "/" + pathEscape(id) }

func (r *resource) unwrap(resp map[string]json.RawMessage) (*object, error) {
	raw, ok := resp[r.singular]
	if !ok {
		return nil, fmt.Errorf("the server's response has no %q object", r.singular)
	}
	return parseObject(raw)
}

func (r *resource) list(ctx context.Context, c *client, query []param) ([]*object, error) {
	return r.listPages(ctx, c, query, maxPages)
}

// listPages lists, following at most pages `next` links (0: the first
// page only). A link may be relative: it is resolved against the list's
// own URL, as a browser would.
func (r *resource) listPages(ctx context.Context, c *client, query []param, pages int) ([]*object, error) {
	base, _ := url.Parse(c.conn.url + "/v2.0" + r.path)
	resp, err := c.do(ctx, http.MethodGet, r.path, query, nil)
	var out []*object
	for page := 0; ; page++ {
		if err != nil {
			return nil, err
		}
		raw, ok := resp[r.plural]
		if !ok {
			return nil, fmt.Errorf("the server's response has no %q list", r.plural)
		}
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, fmt.Errorf("%q is not a list: %v", r.plural, err)
		}
		for _, it := range items {
			o, err := parseObject(it)
			if err != nil {
				return nil, err
			}
			out = append(out, o)
		}
		next := nextLink(resp[r.plural+"_links"])
		if next == "" || len(items) == 0 || page >= pages {
			return out, nil
		}
		if ref, perr := url.Parse(next); perr == nil && base != nil {
			next = base.ResolveReference(ref).String()
		}
		resp, err = c.doURL(ctx, http.MethodGet, next, nil)
	}
}

func nextLink(raw json.RawMessage) string {
	var links []struct{ Rel, Href string }
	if raw == nil || json.Unmarshal(raw, &links) != nil {
		return ""
	}
	for _, l := range links {
		if l.Rel == "next" {
			return l.Href
		}
	}
	return ""
}

func (r *resource) show(ctx context.Context, c *client, id string, query []param) (*object, error) {
	resp, err := c.do(ctx, http.MethodGet, r.itemPath(id), query, nil)
	if err != nil {
		return nil, err
	}
	return r.unwrap(resp)
}

func (r *resource) create(ctx context.Context, c *client, body map[string]any) (*object, error) {
	resp, err := c.do(ctx, http.MethodPost, r.path, nil, map[string]any{r.singular: body})
	if err != nil {
		return nil, err
	}
	return r.unwrap(resp)
}

func (r *resource) update(ctx context.Context, c *client, id string, body map[string]any) error {
	_, err := c.do(ctx, http.MethodPut, r.itemPath(id), nil, map[string]any{r.singular: body})
	return err
}

func (r *resource) remove(ctx context.Context, c *client, id string) error {
	_, err := c.do(ctx, http.MethodDelete, r.itemPath(id), nil, nil)
	return err
}

// findID resolves a name or id like neutronclient's find_resource: a
// UUID-looking argument is tried as an id first, then as a name; a name
// must match exactly one object.
func (r *resource) findID(ctx context.Context, c *client, nameOrID string) (string, error) {
	if looksLikeUUID(nameOrID) {
		id, err := r.idExists(ctx, c, nameOrID)
		if err == nil {
			return id, nil
		}
		if !isNotFound(err) {
			return "", err
		}
	}
	id, err := r.findByName(ctx, c, nameOrID)
	if isNotFound(err) {
		return "", &notFoundError{fmt.Sprintf("Unable to find %s with name or id '%s'", r.singular, nameOrID)}
	}
	return id, err
}

// findByID is the lookup of commands that do not accept names
// (neutron's allow_names = False).
func (r *resource) findByID(ctx context.Context, c *client, id string) (string, error) {
	if looksLikeUUID(id) {
		got, err := r.idExists(ctx, c, id)
		if err == nil || !isNotFound(err) {
			return got, err
		}
	}
	return "", &notFoundError{fmt.Sprintf("Unable to find %s with id '%s'", r.singular, id)}
}

func (r *resource) idExists(ctx context.Context, c *client, id string) (string, error) {
	if r.direct {
		o, err := r.show(ctx, c, id, nil)
		if err != nil {
			return "", err
		}
		return o.str("id"), nil
	}
	items, err := r.list(ctx, c, []param{{"id", id}, {"fields", "id"}})
	if err != nil {
		return "", err
	}
	if len(items) == 0 {
		return "", &notFoundError{"not found"}
	}
	return items[0].str("id"), nil
}

func (r *resource) findByName(ctx context.Context, c *client, name string) (string, error) {
	query := []param{{"name", name}, {"fields", "id"}}
	if r.direct {
		query = []param{{"name", name}}
	}
	items, err := r.list(ctx, c, query)
	if err != nil {
		return "", err
	}
	if r.direct {
		// The filter is optional on these endpoints; check it ourselves.
		kept := items[:0]
		for _, it := range items {
			if it.str("name") == name {
				kept = append(kept, it)
			}
		}
		items = kept
	}
	switch len(items) {
	case 0:
		return "", &notFoundError{"not found"}
	case 1:
		return items[0].str("id"), nil
	}
	return "", &ambiguousError{fmt.Sprintf("Multiple %s matches found for name '%s', use an ID to be more specific.", r.singular, name)}
}

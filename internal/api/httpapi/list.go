package httpapi

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"lbaas/internal/model"
)

// SortKey is one key of a list's order.
type SortKey struct {
	Key  string
	Desc bool
}

// ListQuery is what a list request asks for.
type ListQuery struct {
	// Filters are equality filters; the values of one key are ORed.
	Filters map[string]map[string]bool
	// Fields, when set, keep only these attributes of each item.
	Fields []string
	// Sort orders the items (then by id); empty: by id.
	Sort        []SortKey
	Limit       int
	Marker      string
	PageReverse bool
	// Tags are the tag filters (tags, tags-any, not-tags, not-tags-any).
	Tags TagFilter
}

// TagFilter selects by an object's tags as OpenStack's tag filters do:
// All (tags=a,b) keeps objects with every one of them, Any (tags-any)
// with at least one; NotAll (not-tags) drops objects with every one,
// NotAny (not-tags-any) objects with any. Values are comma-separated and
// the parameters may repeat.
type TagFilter struct {
	All, Any, NotAll, NotAny []string
}

func (f TagFilter) empty() bool {
	return len(f.All)+len(f.Any)+len(f.NotAll)+len(f.NotAny) == 0
}

// Keeps reports whether an object with these tags passes the filter.
func (f TagFilter) Keeps(tags []string) bool {
	has := make(map[string]bool, len(tags))
	for _, t := range tags {
		has[t] = true
	}
	count := func(want []string) int {
		n := 0
		for _, t := range want {
			if has[t] {
				n++
			}
		}
		return n
	}
	switch {
	case len(f.All) > 0 && count(f.All) < len(f.All):
		return false
	case len(f.Any) > 0 && count(f.Any) == 0:
		return false
	case len(f.NotAll) > 0 && count(f.NotAll) == len(f.NotAll):
		return false
	case len(f.NotAny) > 0 && count(f.NotAny) > 0:
		return false
	}
	return true
}

// tagParams are the query parameters of a TagFilter.
var tagParams = map[string]func(*TagFilter) *[]string{
	"tags":         func(f *TagFilter) *[]string { return &f.All },
	"tags-any":     func(f *TagFilter) *[]string { return &f.Any },
	"not-tags":     func(f *TagFilter) *[]string { return &f.NotAll },
	"not-tags-any": func(f *TagFilter) *[]string { return &f.NotAny },
}

// ReservedParams are the query parameters that are not attribute filters.
var ReservedParams = map[string]bool{
	"fields": true, "limit": true, "marker": true, "sort_key": true, "sort_dir": true,
	"sort": true, "page_reverse": true, "verbose": true,
}

func bad(format string, args ...any) error {
	return &model.InputError{Type: "HTTPBadRequest", Message: fmt.Sprintf(format, args...)}
}

// ParseListQuery reads filters, fields, sort_key/sort_dir (repeated, paired
// in order) or Octavia's sort=key:dir,..., limit, marker and page_reverse.
// ignore names further parameters that are not filters.
func ParseListQuery(q url.Values, ignore ...string) (ListQuery, error) {
	lq := ListQuery{Filters: map[string]map[string]bool{}, Fields: q["fields"]}
	skip := map[string]bool{}
	for _, k := range ignore {
		skip[k] = true
	}
	for k, vs := range q {
		if ReservedParams[k] || skip[k] {
			continue
		}
		if slot, ok := tagParams[k]; ok {
			for _, v := range vs {
				for _, t := range strings.Split(v, ",") {
					if t = strings.TrimSpace(t); t != "" {
						*slot(&lq.Tags) = append(*slot(&lq.Tags), t)
					}
				}
			}
			continue
		}
		set := map[string]bool{}
		for _, v := range vs {
			set[v] = true
		}
		lq.Filters[k] = set
	}
	var fields []string
	for _, f := range lq.Fields {
		for _, x := range strings.Split(f, ",") { // Octavia also takes fields=a,b
			if x = strings.TrimSpace(x); x != "" {
				fields = append(fields, x)
			}
		}
	}
	lq.Fields = fields
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			return lq, bad("Bad limit request: limit must be a non-negative integer, not '%s'", clip(l))
		}
		lq.Limit = n
	}
	lq.Marker = q.Get("marker")
	if lq.Marker != "" && !model.IsUUID(lq.Marker) {
		return lq, bad("marker '%s' is not a valid UUID", clip(lq.Marker))
	}
	if pr := q.Get("page_reverse"); pr != "" {
		b, err := strconv.ParseBool(strings.ToLower(pr))
		if err != nil {
			return lq, bad("page_reverse must be true or false, not '%s'", clip(pr))
		}
		lq.PageReverse = b
	}
	dir := func(s string) (bool, error) {
		switch strings.ToLower(s) {
		case "", "asc":
			return false, nil
		case "desc":
			return true, nil
		}
		return false, bad("Invalid sort direction '%s': it must be asc or desc", clip(s))
	}
	keys, dirs := q["sort_key"], q["sort_dir"]
	if len(dirs) > len(keys) {
		return lq, bad("There are more sort_dir than sort_key parameters")
	}
	for i, k := range keys {
		d := ""
		if i < len(dirs) {
			d = dirs[i]
		}
		desc, err := dir(d)
		if err != nil {
			return lq, err
		}
		lq.Sort = append(lq.Sort, SortKey{Key: k, Desc: desc})
	}
	if s := q.Get("sort"); s != "" {
		for _, part := range strings.Split(s, ",") {
			k, d, _ := strings.Cut(strings.TrimSpace(part), ":")
			if k == "" {
				return lq, bad("Invalid sort '%s': it must be key[:asc|desc],...", clip(s))
			}
			desc, err := dir(d)
			if err != nil {
				return lq, err
			}
			lq.Sort = append(lq.Sort, SortKey{Key: k, Desc: desc})
		}
	}
	return lq, nil
}

func clip(s string) string {
	s = strconv.QuoteToASCII(s)
	s = s[1 : len(s)-1]
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return s
}

// Matches applies equality filters to a rendered object; repeated values
// of one key are ORed. An attribute the object does not have matches
// nothing.
func Matches(v map[string]any, filters map[string]map[string]bool) bool {
	for k, set := range filters {
		val, ok := v[k]
		if !ok {
			return false
		}
		if !set[FilterString(val)] && !MatchesFold(set, val) {
			return false
		}
	}
	return true
}

// MatchesFold matches a boolean against filter values in any case.
func MatchesFold(set map[string]bool, val any) bool {
	b, ok := val.(bool)
	if !ok {
		return false
	}
	for s := range set {
		if pb, err := strconv.ParseBool(strings.ToLower(s)); err == nil && pb == b {
			return true
		}
	}
	return false
}

// FilterString is how a value compares with a query parameter.
func FilterString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	}
	return fmt.Sprint(v)
}

// tagsOf reads the tags an item shows (none when it has no such
// attribute).
func tagsOf(it Item) []string {
	v, _ := it.get("tags")
	switch t := v.(type) {
	case []string:
		return t
	case []any:
		out := make([]string, 0, len(t))
		for _, x := range t {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// Project keeps only the requested fields (all when none are asked for).
func Project(v map[string]any, fields []string) map[string]any {
	if len(fields) == 0 {
		return v
	}
	out := make(map[string]any, len(fields))
	for _, f := range fields {
		if val, ok := v[f]; ok {
			out[f] = val
		}
	}
	return out
}

// Link is a pagination link.
type Link struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
}

// Item is one object of a list: its rendered view, and attributes that may
// be filtered or sorted on without being shown (a listener's
// loadbalancer_id).
type Item struct {
	View  map[string]any
	Extra map[string]any
}

func (it Item) get(k string) (any, bool) {
	if v, ok := it.View[k]; ok {
		return v, true
	}
	v, ok := it.Extra[k]
	return v, ok
}

// Page filters, sorts and pages items, and projects the page on Fields.
// path and q are the request's, for the links: next (when more follow)
// and previous (when a marker was given).
func (lq ListQuery) Page(items []Item, path string, q url.Values) ([]map[string]any, []Link, error) {
	kept := items[:0:0]
	for _, it := range items {
		ok := lq.Tags.empty() || lq.Tags.Keeps(tagsOf(it))
		for k, set := range lq.Filters {
			if !ok {
				break
			}
			val, has := it.get(k)
			if !has || !set[FilterString(val)] && !MatchesFold(set, val) {
				ok = false
				break
			}
		}
		if ok {
			kept = append(kept, it)
		}
	}
	for _, sk := range lq.Sort {
		if len(kept) > 0 {
			if _, ok := kept[0].get(sk.Key); !ok {
				return nil, nil, bad("Invalid sort key '%s'", clip(sk.Key))
			}
		}
	}
	id := func(it Item) string { s, _ := it.View["id"].(string); return s }
	sort.SliceStable(kept, func(i, j int) bool {
		for _, sk := range lq.Sort {
			a, _ := kept[i].get(sk.Key)
			b, _ := kept[j].get(sk.Key)
			if c := compare(a, b); c != 0 {
				return (c < 0) != sk.Desc
			}
		}
		return id(kept[i]) < id(kept[j])
	})
	if lq.PageReverse {
		for i, j := 0, len(kept)-1; i < j; i, j = i+1, j-1 {
			kept[i], kept[j] = kept[j], kept[i]
		}
	}
	start := 0
	if lq.Marker != "" {
		start = -1
		for i, it := range kept {
			if id(it) == lq.Marker {
				start = i + 1
				break
			}
		}
		if start < 0 {
			return nil, nil, &model.NotFoundError{Type: "MarkerNotFound", Message: fmt.Sprintf("Marker %s could not be found.", lq.Marker)}
		}
	}
	end := len(kept)
	if lq.Limit > 0 && start+lq.Limit < end {
		end = start + lq.Limit
	}
	page := kept[start:end]
	if lq.PageReverse {
		// Shown in the requested order; the walk went backwards.
		for i, j := 0, len(page)-1; i < j; i, j = i+1, j-1 {
			page[i], page[j] = page[j], page[i]
		}
	}
	out := make([]map[string]any, 0, len(page))
	for _, it := range page {
		out = append(out, Project(it.View, lq.Fields))
	}
	var links []Link
	link := func(rel, marker string, reverse bool) {
		next := url.Values{}
		for k, vs := range q {
			if k != "marker" && k != "page_reverse" {
				next[k] = vs
			}
		}
		next.Set("marker", marker)
		if reverse {
			next.Set("page_reverse", "True")
		}
		links = append(links, Link{Rel: rel, Href: path + "?" + next.Encode()})
	}
	if len(page) > 0 {
		first, last := id(page[0]), id(page[len(page)-1])
		if lq.PageReverse {
			first, last = last, first
		}
		if end < len(kept) {
			link("next", last, lq.PageReverse)
		}
		if lq.Marker != "" {
			link("previous", first, !lq.PageReverse)
		}
	}
	return out, links, nil
}

// compare orders two attribute values of one key: numbers, strings,
// booleans; nil first.
func compare(a, b any) int {
	switch x := a.(type) {
	case nil:
		if b == nil {
			return 0
		}
		return -1
	case int:
		if y, ok := b.(int); ok {
			return x - y
		}
	case bool:
		if y, ok := b.(bool); ok {
			switch {
			case x == y:
				return 0
			case !x:
				return -1
			}
			return 1
		}
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y)
		}
	}
	if b == nil {
		return 1
	}
	return strings.Compare(FilterString(a), FilterString(b))
}

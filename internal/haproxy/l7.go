package haproxy

import (
	"fmt"
	"strings"

	"lbaas/internal/l7"
)

// L7Action is what a matching L7 policy does with a request.
type L7Action string

// L7 actions.
const (
	L7RedirectToPool L7Action = "REDIRECT_TO_POOL"
	L7RedirectToURL  L7Action = "REDIRECT_TO_URL"
	L7RedirectPrefix L7Action = "REDIRECT_PREFIX"
	L7Reject         L7Action = "REJECT"
)

// L7Policy is one content-routing policy of an HTTP listener. The caller
// passes only the enabled policies, in position order, each with only its
// enabled rules; a policy with no rules matches nothing and is not
// rendered.
type L7Policy struct {
	// ID is the policy UUID (it appears in a comment only).
	ID     string   `json:"id"`
	Action L7Action `json:"action"`
	// PoolID is the pool of REDIRECT_TO_POOL; it must be in the spec.
	PoolID string `json:"pool_id,omitempty"`
	// URL is the Location of REDIRECT_TO_URL, or the prefix of
	// REDIRECT_PREFIX (see l7.CheckRedirectURL).
	URL string `json:"url,omitempty"`
	// Code is the redirect's status: 301, 302, 303, 307 or 308.
	Code  int      `json:"code,omitempty"`
	Rules []L7Rule `json:"rules"`
}

// L7Rule is one condition: the policy matches when all its rules do.
type L7Rule struct {
	// ID is the rule UUID; it names the rule's ACL.
	ID string `json:"id"`
	// Type and Compare are the API's (model.L7HostName..., model.L7Regex...).
	Type    string `json:"type"`
	Compare string `json:"compare"`
	Key     string `json:"key,omitempty"`
	Value   string `json:"value"`
	Invert  bool   `json:"invert,omitempty"`
}

// l7Var holds the position of the first matching policy of a request.
// Deciding it first and acting on it afterwards keeps "first match in
// position order" true across actions: HAProxy itself would run every
// http-request deny and redirect before any use_backend, whatever their
// order in the file. The set-var lines run from the last policy to the
// first, so the lowest matching position is the one left; a policy then
// costs its rules' ACLs and nothing more when it does not match, as a
// hand-written deny would (bench: "## L7 policies").
const l7Var = "txn.lbaas_l7"

// matchOf maps a compare type to HAProxy's match method.
var matchOf = map[string]string{
	"REGEX": "reg", "STARTS_WITH": "beg", "ENDS_WITH": "end", "CONTAINS": "sub", "EQUAL_TO": "str",
}

// quote makes s one config word that HAProxy reads back as s exactly: in
// single quotes nothing is interpreted (no escapes, no variables, no
// comments), and a single quote itself is closed, escaped and reopened.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// aclName names a rule's ACL.
func aclName(r L7Rule) string { return "r-" + r.ID }

// aclMatch is how a rule tests a request: a fetch with a match method
// and flags, and the value to match (or, for the SSL types that take no
// pattern list, the whole test in fixed).
func aclMatch(r L7Rule) (fetch, m, flags, value, fixed string) {
	value = r.Value
	m = matchOf[r.Compare]
	switch r.Type {
	case "HOST_NAME":
		// The Host header without its port; host names are case-blind.
		fetch, flags = "req.hdr(host),field(1,:)", " -i"
	case "PATH":
		fetch = "path"
	case "FILE_TYPE":
		// The extension of the path: ".jpg" ends it, or the regex
		// matches what follows the last dot.
		fetch = "path"
		if r.Compare == "REGEX" {
			value = `\.(?:` + r.Value + `)$`
		} else {
			m, value = "end", "."+r.Value
		}
	case "HEADER":
		// The whole field value: req.hdr would split it at commas.
		fetch = "req.fhdr(" + r.Key + ")"
	case "COOKIE":
		fetch = "req.cook(" + r.Key + ")"
	case "SSL_CONN_HAS_CERT":
		fixed = "ssl_c_used"
	case "SSL_VERIFY_RESULT":
		fixed = "ssl_c_verify " + r.Value
	case "SSL_DN_FIELD":
		fetch = "ssl_c_s_dn(" + r.Key + ")"
	}
	return fetch, m, flags, value, fixed
}

// aclLines are the acl directives testing whether any of rules matches
// (one rule, or a group's: see l7Group), under name. Values are quoted,
// and "--" ends the flags so a value starting with '-' stays a value.
func aclLines(name string, rules []L7Rule) []string {
	fetch, m, flags, _, fixed := aclMatch(rules[0])
	if fixed != "" {
		return []string{fmt.Sprintf("acl %s %s", name, fixed)}
	}
	var values []string
	for _, r := range rules {
		_, _, _, v, _ := aclMatch(r)
		values = append(values, quote(v))
	}
	var out []string
	// Lines of one name add patterns to one ACL: a long group is split
	// to stay under HAProxy's 64 words a line.
	for _, part := range chunks(values) {
		out = append(out, fmt.Sprintf("acl %s %s -m %s%s -- %s", name, fetch, m, flags, strings.Join(part, " ")))
	}
	return out
}

// l7Group is policies that decide together: a run of consecutive
// policies that act alike (same action and target) and each test one
// rule of the same kind, not inverted. One ACL with all their values
// matches exactly when one of them would have, and, the run being
// consecutive and alike, what it does is what the first of them would do.
// HAProxy then fetches the value once and scans the patterns, where one
// rule per policy cost a rule evaluation and a fetch each (bench: "## L7
// policies"). Any other policy is a group of its own.
type l7Group struct {
	policy L7Policy // the first: its action and target
	rules  []L7Rule // a group's: one per policy; a lone policy's: all its rules
	// shared: several policies, one ACL (named after the first rule).
	shared bool
}

// groupKey says which policies may share a group ("" for none).
func groupKey(p L7Policy) string {
	if len(p.Rules) != 1 {
		return ""
	}
	r := p.Rules[0]
	if r.Invert || r.Type == "SSL_CONN_HAS_CERT" || r.Type == "SSL_VERIFY_RESULT" {
		return ""
	}
	return fmt.Sprintf("%s\x00%s\x00%s\x00%d\x00%s\x00%s\x00%s", p.Action, p.PoolID, p.URL, p.Code, r.Type, r.Compare, r.Key)
}

func l7Groups(policies []L7Policy) []l7Group {
	var out []l7Group
	prev := ""
	for _, p := range policies {
		if len(p.Rules) == 0 {
			continue
		}
		k := groupKey(p)
		if k != "" && k == prev {
			g := &out[len(out)-1]
			g.rules, g.shared = append(g.rules, p.Rules[0]), true
			continue
		}
		out = append(out, l7Group{policy: p, rules: p.Rules})
		prev = k
	}
	return out
}

// cond is a group's condition: its one ACL, or a lone policy's rules,
// all of them.
func (g l7Group) cond() string {
	if g.shared {
		return "g-" + g.rules[0].ID
	}
	cond := make([]string, 0, len(g.rules))
	for _, r := range g.rules {
		if r.Invert {
			cond = append(cond, "!"+aclName(r))
		} else {
			cond = append(cond, aclName(r))
		}
	}
	return strings.Join(cond, " ")
}

// renderL7 writes a listener's policies: the ACLs, one set-var per group
// of policies in order, and the action of the group that matched.
func renderL7(w func(string, ...any), l Listener) {
	groups := l7Groups(l.L7Policies)
	if len(groups) == 0 {
		return
	}
	w("    # L7 policies: the first in position order whose rules all match decides")
	for _, g := range groups {
		if g.shared {
			for _, line := range aclLines("g-"+g.rules[0].ID, g.rules) {
				w("    %s", line)
			}
			continue
		}
		for _, r := range g.rules {
			for _, line := range aclLines(aclName(r), []L7Rule{r}) {
				w("    %s", line)
			}
		}
	}
	for i := len(groups) - 1; i >= 0; i-- {
		w("    http-request set-var(%s) int(%d) if %s", l7Var, i+1, groups[i].cond())
	}
	// One line for every REJECT and one per pool: a request not matched
	// by any policy (no variable) fails each test at once.
	is := func(positions []string) string {
		return fmt.Sprintf("if { var(%s) -m int %s }", l7Var, strings.Join(positions, " "))
	}
	var rejects []string
	var pools []string
	byPool := map[string][]string{}
	for i, g := range groups {
		pos := fmt.Sprint(i + 1)
		switch g.policy.Action {
		case L7Reject:
			rejects = append(rejects, pos)
		case L7RedirectToPool:
			if _, seen := byPool[g.policy.PoolID]; !seen {
				pools = append(pools, g.policy.PoolID)
			}
			byPool[g.policy.PoolID] = append(byPool[g.policy.PoolID], pos)
		}
	}
	for _, part := range chunks(rejects) {
		w("    http-request deny deny_status 403 %s", is(part))
	}
	for i, g := range groups {
		p := g.policy
		pos := []string{fmt.Sprint(i + 1)}
		switch p.Action {
		case L7RedirectToURL:
			// A log-format string: '%' must be doubled to stay literal.
			w("    http-request redirect location %s code %d %s", quote(strings.ReplaceAll(p.URL, "%", "%%")), p.Code, is(pos))
		case L7RedirectPrefix:
			w("    http-request redirect prefix %s code %d %s", quote(strings.ReplaceAll(p.URL, "%", "%%")), p.Code, is(pos))
		}
	}
	for _, id := range pools {
		for _, part := range chunks(byPool[id]) {
			w("    use_backend %s %s", BackendName(id), is(part))
		}
	}
}

// positionsPerLine bounds the positions one line tests: HAProxy reads at
// most 64 words a line (MAX_LINE_ARGS).
const positionsPerLine = 40

func chunks(xs []string) [][]string {
	var out [][]string
	for len(xs) > positionsPerLine {
		out = append(out, xs[:positionsPerLine])
		xs = xs[positionsPerLine:]
	}
	if len(xs) > 0 {
		out = append(out, xs)
	}
	return out
}

// validateL7 checks a listener's policies against the listener and the
// spec's pools: every string through package l7, as the API did.
func (l Listener) validateL7(pools map[string]Pool) error {
	if len(l.L7Policies) > 0 && (l.mode() != "http" || l.Protocol == ProtocolPrometheus) {
		return fmt.Errorf("listener %s: L7 policies need an HTTP or TERMINATED_HTTPS listener, not %s", l.ID, l.Protocol)
	}
	seen := map[string]bool{}
	for _, p := range l.L7Policies {
		if err := checkUUID("l7 policy id", p.ID); err != nil {
			return err
		}
		switch p.Action {
		case L7RedirectToPool:
			pool, ok := pools[p.PoolID]
			if !ok {
				return fmt.Errorf("l7 policy %s: pool %q is not in the spec", p.ID, p.PoolID)
			}
			if !containsProtocol(poolProtocolsFor[l.Protocol], pool.Protocol) {
				return fmt.Errorf("l7 policy %s: listener %s (%s) cannot use pool %s (%s)", p.ID, l.ID, l.Protocol, pool.ID, pool.Protocol)
			}
		case L7RedirectToURL, L7RedirectPrefix:
			if err := l7.CheckRedirectURL(p.URL, p.Action == L7RedirectPrefix); err != nil {
				return fmt.Errorf("l7 policy %s: redirect %q %v", p.ID, p.URL, err)
			}
			switch p.Code {
			case 301, 302, 303, 307, 308:
			default:
				return fmt.Errorf("l7 policy %s: redirect code %d", p.ID, p.Code)
			}
		case L7Reject:
		default:
			return fmt.Errorf("l7 policy %s: unknown action %q", p.ID, p.Action)
		}
		for _, r := range p.Rules {
			if err := checkUUID("l7 rule id", r.ID); err != nil {
				return err
			}
			if seen[r.ID] {
				return fmt.Errorf("l7 rule %s listed twice", r.ID)
			}
			seen[r.ID] = true
			if err := r.validate(); err != nil {
				return fmt.Errorf("l7 rule %s: %w", r.ID, err)
			}
		}
	}
	return nil
}

func (r L7Rule) validate() error {
	if _, ok := matchOf[r.Compare]; !ok {
		return fmt.Errorf("unknown compare type %q", r.Compare)
	}
	switch r.Type {
	case "HOST_NAME", "PATH", "FILE_TYPE":
		if r.Key != "" {
			return fmt.Errorf("a %s rule takes no key", r.Type)
		}
	case "HEADER", "COOKIE":
		if err := l7.CheckToken(r.Key); err != nil {
			return fmt.Errorf("key %q %v", r.Key, err)
		}
	case "SSL_DN_FIELD":
		if err := l7.CheckDNField(r.Key); err != nil {
			return err
		}
	case "SSL_CONN_HAS_CERT":
		if r.Compare != "EQUAL_TO" || r.Value != "True" {
			return fmt.Errorf("a %s rule is EQUAL_TO True", r.Type)
		}
		return nil
	case "SSL_VERIFY_RESULT":
		if r.Compare != "EQUAL_TO" || r.Value == "" || len(r.Value) > 9 || strings.Trim(r.Value, "0123456789") != "" {
			return fmt.Errorf("a %s rule is EQUAL_TO a number", r.Type)
		}
		return nil
	default:
		return fmt.Errorf("unknown rule type %q", r.Type)
	}
	if r.Type == "FILE_TYPE" && r.Compare != "EQUAL_TO" && r.Compare != "REGEX" {
		return fmt.Errorf("a FILE_TYPE rule compares with EQUAL_TO or REGEX")
	}
	if r.Compare == "REGEX" {
		if err := l7.CheckRegex(r.Value); err != nil {
			return fmt.Errorf("value %q %v", r.Value, err)
		}
		return nil
	}
	if err := l7.CheckValue(r.Value); err != nil {
		return fmt.Errorf("value %q %v", r.Value, err)
	}
	return nil
}

package model

import (
	"lbaas/internal/l7"
)

// The L7 kinds: a listener's content-routing policies and their rules.
const (
	KindL7Policy Kind = "l7policy"
	KindL7Rule   Kind = "l7rule"
)

// L7 policy actions: what a policy does with a request all its rules match.
const (
	L7RedirectToPool = "REDIRECT_TO_POOL"
	L7RedirectToURL  = "REDIRECT_TO_URL"
	L7RedirectPrefix = "REDIRECT_PREFIX"
	L7Reject         = "REJECT"
)

// L7 rule types: what part of a request a rule looks at.
const (
	L7HostName        = "HOST_NAME"
	L7Path            = "PATH"
	L7FileType        = "FILE_TYPE"
	L7Header          = "HEADER"
	L7Cookie          = "COOKIE"
	L7SSLConnHasCert  = "SSL_CONN_HAS_CERT"
	L7SSLVerifyResult = "SSL_VERIFY_RESULT"
	L7SSLDNField      = "SSL_DN_FIELD"
)

// L7 compare types: how a rule compares that part with its value.
const (
	L7Regex      = "REGEX"
	L7StartsWith = "STARTS_WITH"
	L7EndsWith   = "ENDS_WITH"
	L7Contains   = "CONTAINS"
	L7EqualTo    = "EQUAL_TO"
)

// DefaultRedirectCode is the HTTP status of a redirect that names none.
const DefaultRedirectCode = 302

// MaxL7Position bounds a policy's position (Octavia's: a signed 32-bit int).
const MaxL7Position = 2147483647

// L7Policy routes the requests of an HTTP listener that match all its
// rules: to a pool of the same load balancer, to a URL, to a URL prefix,
// or to a 403. The listener's policies are tried in Position order
// (1, 2, ...: dense, renumbered by the API on every insert, move and
// delete); the first whose enabled rules all match decides, and a request
// no policy matches goes to the default pool. A policy without enabled
// rules matches nothing.
type L7Policy struct {
	Meta
	ListenerID string `json:"listener_id"`
	// LoadBalancerID is the listener's: the policy is part of that load
	// balancer's desired state.
	LoadBalancerID   string   `json:"loadbalancer_id"`
	Name             string   `json:"name"`
	Description      string   `json:"description"`
	AdminStateUp     bool     `json:"admin_state_up"`
	Action           string   `json:"action"`
	Position         int      `json:"position"`
	RedirectPoolID   string   `json:"redirect_pool_id,omitempty"`
	RedirectURL      string   `json:"redirect_url,omitempty"`
	RedirectPrefix   string   `json:"redirect_prefix,omitempty"`
	RedirectHTTPCode int      `json:"redirect_http_code,omitempty"`
	Tags             []string `json:"tags,omitempty"`
}

// L7Rule is one condition of a policy.
type L7Rule struct {
	Meta
	PolicyID       string `json:"l7policy_id"`
	LoadBalancerID string `json:"loadbalancer_id"`
	Type           string `json:"type"`
	CompareType    string `json:"compare_type"`
	// Key names the header or cookie (HEADER, COOKIE) or the subject
	// field (SSL_DN_FIELD); empty for the other types.
	Key   string `json:"key,omitempty"`
	Value string `json:"value"`
	// Invert makes the rule match what it would not.
	Invert       bool     `json:"invert"`
	AdminStateUp bool     `json:"admin_state_up"`
	Tags         []string `json:"tags,omitempty"`
}

// Redirects reports whether the action answers with a redirect.
func (p *L7Policy) Redirects() bool {
	return p.Action == L7RedirectToURL || p.Action == L7RedirectPrefix
}

// NormalizeL7Policy clears what the action does not use, as Octavia does
// when the action changes, and gives a redirect its default code.
func NormalizeL7Policy(p *L7Policy) {
	if p.Action != L7RedirectToPool {
		p.RedirectPoolID = ""
	}
	if p.Action != L7RedirectToURL {
		p.RedirectURL = ""
	}
	if p.Action != L7RedirectPrefix {
		p.RedirectPrefix = ""
	}
	if !p.Redirects() {
		p.RedirectHTTPCode = 0
	} else if p.RedirectHTTPCode == 0 {
		p.RedirectHTTPCode = DefaultRedirectCode
	}
}

// ValidateL7Policy checks a policy after a create or update was applied
// and normalized.
func ValidateL7Policy(p *L7Policy) error {
	if err := ValidateText("name", p.Name, MaxNameLen); err != nil {
		return err
	}
	if err := ValidateText("description", p.Description, MaxDescriptionLen); err != nil {
		return err
	}
	if err := ValidateUUID("listener_id", p.ListenerID); err != nil {
		return err
	}
	if err := oneOf("action", p.Action, L7RedirectToPool, L7RedirectToURL, L7RedirectPrefix, L7Reject); err != nil {
		return err
	}
	if err := inRange("position", p.Position, 1, MaxL7Position); err != nil {
		return err
	}
	switch p.Action {
	case L7RedirectToPool:
		if p.RedirectPoolID == "" {
			return invalid("redirect_pool_id", "action %s needs a redirect_pool_id", p.Action)
		}
		if err := ValidateUUID("redirect_pool_id", p.RedirectPoolID); err != nil {
			return err
		}
	case L7RedirectToURL:
		if err := l7.CheckRedirectURL(p.RedirectURL, false); err != nil {
			return invalid("redirect_url", "'%s' %v", Clip(p.RedirectURL), err)
		}
	case L7RedirectPrefix:
		if err := l7.CheckRedirectURL(p.RedirectPrefix, true); err != nil {
			return invalid("redirect_prefix", "'%s' %v", Clip(p.RedirectPrefix), err)
		}
	}
	if p.Redirects() {
		switch p.RedirectHTTPCode {
		case 301, 302, 303, 307, 308:
		default:
			return invalid("redirect_http_code", "'%d' is not in [301, 302, 303, 307, 308]", p.RedirectHTTPCode)
		}
	}
	return ValidateTags(p.Tags)
}

// ValidateL7Rule checks a rule after a create or update was applied: the
// type and compare type go together, the key is what the type needs, and
// the value is one HAProxy will read as meant (a regex its engine
// compiles the same way; for the SSL types, what the fetch returns).
func ValidateL7Rule(r *L7Rule) error {
	if err := oneOf("type", r.Type, L7HostName, L7Path, L7FileType, L7Header, L7Cookie, L7SSLConnHasCert, L7SSLVerifyResult, L7SSLDNField); err != nil {
		return err
	}
	if err := oneOf("compare_type", r.CompareType, L7Regex, L7StartsWith, L7EndsWith, L7Contains, L7EqualTo); err != nil {
		return err
	}
	switch r.Type {
	case L7Header, L7Cookie:
		if err := l7.CheckToken(r.Key); err != nil {
			return invalid("key", "'%s' %v (a %s rule needs a %s name)", Clip(r.Key), err, r.Type, map[string]string{L7Header: "header", L7Cookie: "cookie"}[r.Type])
		}
	case L7SSLDNField:
		if err := l7.CheckDNField(r.Key); err != nil {
			return invalid("key", "%v", err)
		}
	default:
		if r.Key != "" {
			return invalid("key", "a %s rule takes no key", r.Type)
		}
	}
	switch r.Type {
	case L7FileType:
		if r.CompareType != L7EqualTo && r.CompareType != L7Regex {
			return invalid("compare_type", "a %s rule compares with EQUAL_TO or REGEX", r.Type)
		}
	case L7SSLConnHasCert:
		if r.CompareType != L7EqualTo || r.Value != "True" {
			return invalid("value", "a %s rule is compare_type EQUAL_TO with value 'True' (invert it for connections without one)", r.Type)
		}
		return ValidateTags(r.Tags)
	case L7SSLVerifyResult:
		if r.CompareType != L7EqualTo || !isSmallUint(r.Value) {
			return invalid("value", "a %s rule is compare_type EQUAL_TO with a verify result number (0 is success)", r.Type)
		}
		return ValidateTags(r.Tags)
	}
	var err error
	if r.CompareType == L7Regex {
		err = l7.CheckRegex(r.Value)
	} else {
		err = l7.CheckValue(r.Value)
	}
	if err != nil {
		return invalid("value", "'%s' %v", Clip(r.Value), err)
	}
	return ValidateTags(r.Tags)
}

func isSmallUint(s string) bool {
	if s == "" || len(s) > 9 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

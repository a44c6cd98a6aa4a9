package model

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds of free-text attributes.
const (
	MaxNameLen        = 255
	MaxDescriptionLen = 1024
	MaxURLPathLen     = 255
)

var (
	uuidRE          = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	tenantRE        = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	cookieRE        = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	expectedListRE  = regexp.MustCompile(`^\d{3}( *, *\d{3})*$`) // spaces only: a newline would end up in the HAProxy config
	expectedRangeRE = regexp.MustCompile(`^(\d{3})-(\d{3})$`)
	// url_path: RFC 3986 path and query characters, less those HAProxy's
	// config grammar gives a meaning to (quotes, backslash, '#', '$').
	urlPathRE = regexp.MustCompile(`^/[A-Za-z0-9\-._~!&()*+,;=:@/%?]*$`)
)

var httpMethods = map[string]bool{
	"GET": true, "HEAD": true, "POST": true, "PUT": true, "DELETE": true,
	"OPTIONS": true, "PATCH": true, "TRACE": true, "CONNECT": true,
}

// IsUUID reports whether s is a canonical UUID.
func IsUUID(s string) bool { return uuidRE.MatchString(s) }

// ValidateUUID checks a reference to another object.
func ValidateUUID(field, s string) error {
	if !IsUUID(s) {
		return invalid(field, "'%s' is not a valid UUID", Clip(s))
	}
	return nil
}

// ValidateTenantID checks a project id given by an admin.
func ValidateTenantID(s string) error {
	if !tenantRE.MatchString(s) {
		return invalid("tenant_id", "'%s' must be 1 to 64 letters, digits, '_', '.' or '-'", Clip(s))
	}
	return nil
}

// ValidateText checks a name or description: bounded, valid UTF-8, and free
// of control characters (they have no business in a name and would make
// every log line and table that shows it ambiguous).
func ValidateText(field, s string, max int) error {
	if !utf8.ValidString(s) {
		return invalid(field, "it is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > max {
		return invalid(field, "'%s' exceeds maximum length of %d", Clip(s), max)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return invalid(field, "'%s' contains a control character", Clip(s))
		}
	}
	return nil
}

func oneOf(field, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return invalid(field, "'%s' is not in %s", Clip(v), "["+strings.Join(allowed, ", ")+"]")
}

func inRange(field string, v, lo, hi int) error {
	if v < lo || v > hi {
		return invalid(field, "'%d' is not in range %d through %d", v, lo, hi)
	}
	return nil
}

// ParseIPv4 parses an IPv4 address in dotted form.
func ParseIPv4(field, s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return netip.Addr{}, invalid(field, "'%s' is not a valid IPv4 address", Clip(s))
	}
	return a, nil
}

// ParseCIDR parses an IPv4 network prefix; host bits must be zero and the
// prefix must leave room for a gateway and at least one address.
func ParseCIDR(field, s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() {
		return netip.Prefix{}, invalid(field, "'%s' is not a valid IPv4 CIDR", Clip(s))
	}
	if p.Masked() != p {
		return netip.Prefix{}, invalid(field, "'%s' has host bits set; the network is %s", s, p.Masked())
	}
	if p.Bits() > 30 || p.Bits() < 8 {
		return netip.Prefix{}, invalid(field, "'%s' must have a prefix length between /8 and /30", s)
	}
	return p, nil
}

// ValidateNetwork checks a network after a create or update was applied.
func ValidateNetwork(n *Network) error {
	return ValidateText("name", n.Name, MaxNameLen)
}

// ValidatePool checks a pool after a create or update was applied.
func ValidatePool(p *Pool) error {
	if err := ValidateText("name", p.Name, MaxNameLen); err != nil {
		return err
	}
	if err := ValidateText("description", p.Description, MaxDescriptionLen); err != nil {
		return err
	}
	if p.SubnetID != "" { // a v1 pool's member subnet; v2 pools have none
		if err := ValidateUUID("subnet_id", p.SubnetID); err != nil {
			return err
		}
	}
	if p.LoadBalancerID != "" {
		if err := ValidateUUID("loadbalancer_id", p.LoadBalancerID); err != nil {
			return err
		}
	}
	if err := oneOf("protocol", p.Protocol, ProtocolTCP, ProtocolHTTP, ProtocolHTTPS, ProtocolProxy, ProtocolProxyV2); err != nil {
		return err
	}
	if err := oneOf("lb_method", p.LBMethod, MethodRoundRobin, MethodLeastConnections, MethodSourceIP, MethodSourceIPPort); err != nil {
		return err
	}
	if err := ValidateSessionPersistence(p.SessionPersistence); err != nil {
		return err
	}
	if err := ValidatePoolTLS(p); err != nil {
		return err
	}
	if err := ValidateTags(p.Tags); err != nil {
		return err
	}
	if err := ValidateText("provider", p.Provider, MaxNameLen); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, id := range p.HealthMonitors {
		if err := ValidateUUID("health_monitors", id); err != nil {
			return err
		}
		if seen[id] {
			return invalid("health_monitors", "'%s' is listed twice", id)
		}
		seen[id] = true
	}
	return nil
}

// ValidateMember checks a member after a create or update was applied.
func ValidateMember(m *Member) error {
	if err := ValidateUUID("pool_id", m.PoolID); err != nil {
		return err
	}
	if _, err := ParseIPv4("address", m.Address); err != nil {
		return err
	}
	if err := inRange("protocol_port", m.ProtocolPort, 1, 65535); err != nil {
		return err
	}
	if err := inRange("weight", m.Weight, 0, 256); err != nil {
		return err
	}
	if err := ValidateText("name", m.Name, MaxNameLen); err != nil {
		return err
	}
	if m.SubnetID != "" {
		if err := ValidateUUID("subnet_id", m.SubnetID); err != nil {
			return err
		}
	}
	if m.MonitorAddress != "" {
		if _, err := ParseIPv4("monitor_address", m.MonitorAddress); err != nil {
			return err
		}
	}
	if m.MonitorPort != 0 {
		if err := inRange("monitor_port", m.MonitorPort, 1, 65535); err != nil {
			return err
		}
	}
	return ValidateTags(m.Tags)
}

// ValidateVIP checks a VIP after a create or update was applied.
func ValidateVIP(v *VIP) error {
	if err := ValidateText("name", v.Name, MaxNameLen); err != nil {
		return err
	}
	if err := ValidateText("description", v.Description, MaxDescriptionLen); err != nil {
		return err
	}
	if err := ValidateUUID("subnet_id", v.SubnetID); err != nil {
		return err
	}
	if err := ValidateUUID("pool_id", v.PoolID); err != nil {
		return err
	}
	if v.Address != "" {
		if _, err := ParseIPv4("address", v.Address); err != nil {
			return err
		}
	}
	if err := inRange("protocol_port", v.ProtocolPort, 1, 65535); err != nil {
		return err
	}
	if err := oneOf("protocol", v.Protocol, ProtocolTCP, ProtocolHTTP, ProtocolHTTPS); err != nil {
		return err
	}
	// As in Octavia, 0 is accepted and means what -1 means: no limit.
	if err := inRange("connection_limit", v.ConnectionLimit, -1, 1000000); err != nil {
		return invalid("connection_limit", "'%d' must be -1 or 0 (unlimited) or 1 through 1000000", v.ConnectionLimit)
	}
	if err := ValidateSessionPersistence(v.SessionPersistence); err != nil {
		return err
	}
	if v.TLSContainerRef != "" {
		if err := ValidateUUID("default_tls_container_ref", v.TLSContainerRef); err != nil {
			return err
		}
	}
	return nil
}

// ValidateHealthMonitor checks a monitor after a create or update was applied.
func ValidateHealthMonitor(h *HealthMonitor) error {
	if err := oneOf("type", h.Type, MonitorPING, MonitorTCP, MonitorHTTP, MonitorHTTPS, MonitorTLSHello); err != nil {
		return err
	}
	if err := inRange("delay", h.Delay, 1, 3600); err != nil {
		return err
	}
	if err := inRange("timeout", h.Timeout, 1, 3600); err != nil {
		return err
	}
	if h.Timeout > h.Delay {
		return invalid("timeout", "timeout (%d) must not exceed delay (%d)", h.Timeout, h.Delay)
	}
	if err := inRange("max_retries", h.MaxRetries, 1, 10); err != nil {
		return err
	}
	if err := validateMonitorV2Fields(h); err != nil {
		return err
	}
	if !httpMethods[h.HTTPMethod] {
		return invalid("http_method", "'%s' is not an HTTP method", Clip(h.HTTPMethod))
	}
	if len(h.URLPath) > MaxURLPathLen || !urlPathRE.MatchString(h.URLPath) {
		return invalid("url_path", "'%s' must start with '/' and contain only URL path characters (no whitespace, quotes, '#' or control characters)", Clip(h.URLPath))
	}
	return validateExpectedCodes(h.ExpectedCodes)
}

func validateExpectedCodes(s string) error {
	bad := func() error {
		return invalid("expected_codes", "'%s' must look like 200, 200,202 or 200-204 with codes 100 through 599", Clip(s))
	}
	codeOK := func(c string) bool {
		n, err := strconv.Atoi(c)
		return err == nil && n >= 100 && n <= 599
	}
	if m := expectedRangeRE.FindStringSubmatch(s); m != nil {
		if !codeOK(m[1]) || !codeOK(m[2]) || m[1] > m[2] {
			return bad()
		}
		return nil
	}
	if !expectedListRE.MatchString(s) {
		return bad()
	}
	for _, c := range strings.Split(s, ",") {
		if !codeOK(strings.TrimSpace(c)) {
			return bad()
		}
	}
	return nil
}

// ExpectedCodes returns the status codes a monitor accepts, in order.
// It assumes ValidateHealthMonitor passed.
func ExpectedCodes(s string) []int {
	if m := expectedRangeRE.FindStringSubmatch(s); m != nil {
		lo, _ := strconv.Atoi(m[1])
		hi, _ := strconv.Atoi(m[2])
		out := make([]int, 0, hi-lo+1)
		for c := lo; c <= hi; c++ {
			out = append(out, c)
		}
		return out
	}
	var out []int
	for _, c := range strings.Split(s, ",") {
		n, _ := strconv.Atoi(strings.TrimSpace(c))
		out = append(out, n)
	}
	return out
}

var nodeNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,63}$`)

// ValidNodeName reports whether s can name a compute node.
func ValidNodeName(s string) bool { return nodeNameRE.MatchString(s) }

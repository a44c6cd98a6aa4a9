package model

import (
	"regexp"
	"strconv"
	"strings"
)

// Bounds of the load-balancer graph's attributes.
const (
	MaxTags        = 50
	MaxTagLen      = 255
	MaxTimeoutMS   = 24 * 60 * 60 * 1000 // a day, in milliseconds
	MaxConnections = 1000000
)

// hostnameRE is an RFC 1123 host name: labels of letters, digits and
// hyphens, not starting or ending with a hyphen.
var hostnameRE = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$`)

// ValidateTags checks a list of tags: at most MaxTags, each non-empty
// text of at most MaxTagLen characters without a comma (filters on tags
// are comma-separated).
func ValidateTags(tags []string) error {
	if len(tags) > MaxTags {
		return invalid("tags", "at most %d tags are allowed, not %d", MaxTags, len(tags))
	}
	for _, t := range tags {
		if t == "" || strings.Contains(t, ",") {
			return invalid("tags", "'%s' must be non-empty and hold no comma", Clip(t))
		}
		if err := ValidateText("tags", t, MaxTagLen); err != nil {
			return err
		}
	}
	return nil
}

// ValidateSessionPersistence checks a pool's session persistence (nil:
// none).
func ValidateSessionPersistence(sp *SessionPersistence) error {
	if sp == nil {
		return nil
	}
	if err := oneOf("session_persistence", sp.Type, PersistenceSourceIP, PersistenceHTTPCookie, PersistenceAppCookie); err != nil {
		return err
	}
	switch {
	case sp.Type == PersistenceAppCookie && sp.CookieName == "":
		return invalid("session_persistence", "APP_COOKIE needs a cookie_name")
	case sp.Type != PersistenceAppCookie && sp.CookieName != "":
		return invalid("session_persistence", "cookie_name is only used with APP_COOKIE")
	case sp.CookieName != "" && !cookieRE.MatchString(sp.CookieName):
		return invalid("session_persistence", "cookie_name '%s' must be 1 to 64 letters, digits, '_', '.' or '-'", Clip(sp.CookieName))
	}
	return nil
}

// ValidateLoadBalancer checks a load balancer after a create or update was
// applied.
func ValidateLoadBalancer(lb *LoadBalancer) error {
	if err := ValidateText("name", lb.Name, MaxNameLen); err != nil {
		return err
	}
	if err := ValidateText("description", lb.Description, MaxDescriptionLen); err != nil {
		return err
	}
	if lb.VIPSubnetID != "" {
		if err := ValidateUUID("vip_subnet_id", lb.VIPSubnetID); err != nil {
			return err
		}
	}
	if lb.VIPNetworkID != "" {
		if err := ValidateUUID("vip_network_id", lb.VIPNetworkID); err != nil {
			return err
		}
	}
	if lb.VIPAddress != "" {
		if _, err := ParseIPv4("vip_address", lb.VIPAddress); err != nil {
			return err
		}
	}
	return ValidateTags(lb.Tags)
}

// ValidateListener checks a listener after a create or update was applied.
func ValidateListener(l *Listener) error {
	if err := ValidateText("name", l.Name, MaxNameLen); err != nil {
		return err
	}
	if err := ValidateText("description", l.Description, MaxDescriptionLen); err != nil {
		return err
	}
	if err := ValidateUUID("loadbalancer_id", l.LoadBalancerID); err != nil {
		return err
	}
	if err := oneOf("protocol", l.Protocol, ProtocolTCP, ProtocolHTTP, ProtocolHTTPS, ProtocolTerminatedHTTPS, ProtocolPrometheus); err != nil {
		return err
	}
	if err := inRange("protocol_port", l.ProtocolPort, 1, 65535); err != nil {
		return err
	}
	// As in Octavia, 0 is accepted and means what -1 means: no limit.
	if err := inRange("connection_limit", l.ConnectionLimit, -1, MaxConnections); err != nil {
		return invalid("connection_limit", "'%d' must be -1 or 0 (unlimited) or 1 through %d", l.ConnectionLimit, MaxConnections)
	}
	for _, t := range []struct {
		field string
		v     int
	}{
		{"timeout_client_data", l.TimeoutClientData}, {"timeout_member_connect", l.TimeoutMemberConnect},
		{"timeout_member_data", l.TimeoutMemberData}, {"timeout_tcp_inspect", l.TimeoutTCPInspect},
	} {
		if err := inRange(t.field, t.v, 0, MaxTimeoutMS); err != nil {
			return err
		}
	}
	if l.DefaultPoolID != "" {
		if err := ValidateUUID("default_pool_id", l.DefaultPoolID); err != nil {
			return err
		}
	}
	if l.TLSContainerRef != "" {
		if err := ValidateUUID("default_tls_container_ref", l.TLSContainerRef); err != nil {
			return err
		}
	}
	switch {
	case l.Protocol == ProtocolTerminatedHTTPS && l.TLSContainerRef == "":
		return invalid("default_tls_container_ref", "a TERMINATED_HTTPS listener needs a certificate")
	case l.Protocol != ProtocolTerminatedHTTPS && l.TLSContainerRef != "" && l.ID != l.LoadBalancerID:
		// (a v1 VIP, whose listener has its load balancer's id, may name
		// a certificate on an HTTP listener: the seed's HTTPS VIP.)
		return invalid("default_tls_container_ref", "a certificate is only used by TERMINATED_HTTPS listeners")
	}
	if err := validateListenerOptions(l); err != nil {
		return err
	}
	return ValidateTags(l.Tags)
}

// PoolProtocolsFor lists the pool protocols a listener protocol can send
// traffic to (the pairs Octavia accepts; HAProxy is checked the same way).
var PoolProtocolsFor = map[string][]string{
	ProtocolTCP:             {ProtocolTCP, ProtocolHTTP, ProtocolHTTPS, ProtocolProxy, ProtocolProxyV2},
	ProtocolHTTP:            {ProtocolHTTP, ProtocolProxy, ProtocolProxyV2},
	ProtocolHTTPS:           {ProtocolHTTPS, ProtocolTCP, ProtocolProxy, ProtocolProxyV2},
	ProtocolTerminatedHTTPS: {ProtocolHTTP, ProtocolProxy, ProtocolProxyV2},
	ProtocolPrometheus:      {},
}

// ValidateListenerPool checks that a listener of protocol lp can have a
// pool of protocol pp.
func ValidateListenerPool(lp, pp string) error {
	for _, p := range PoolProtocolsFor[lp] {
		if p == pp {
			return nil
		}
	}
	return invalid("protocol", "a %s pool cannot serve a %s listener (it takes %s)", Clip(pp), Clip(lp), strings.Join(PoolProtocolsFor[lp], ", "))
}

// validateMonitorV2Fields checks what Octavia added to monitors: rise and
// fall (stored by every API), HTTP version and the Host header's domain.
func validateMonitorV2Fields(h *HealthMonitor) error {
	if h.Rise != 0 {
		if err := inRange("max_retries", h.Rise, 1, 10); err != nil {
			return err
		}
	}
	if h.Fall != 0 {
		if err := inRange("max_retries_down", h.Fall, 1, 10); err != nil {
			return err
		}
	}
	if h.MaxRetriesDown != 0 {
		if err := inRange("max_retries_down", h.MaxRetriesDown, 1, 10); err != nil {
			return err
		}
	}
	if err := ValidateText("name", h.Name, MaxNameLen); err != nil {
		return err
	}
	if err := oneOf("http_version", h.HTTPVersion, "", "1.0", "1.1"); err != nil {
		return err
	}
	if h.DomainName != "" {
		if len(h.DomainName) > 253 || !hostnameRE.MatchString(h.DomainName) {
			return invalid("domain_name", "'%s' is not a valid host name", Clip(h.DomainName))
		}
		if h.HTTPVersion != "1.1" {
			return invalid("domain_name", "a domain name is sent only with http_version 1.1")
		}
	}
	return ValidateTags(h.Tags)
}

// MemberClaim is the uniqueness key of a member's address and port in its
// pool, taken by every API that adds a member.
func MemberClaim(m *Member) string {
	return "member/" + m.PoolID + "/" + m.Address + ":" + strconv.Itoa(m.ProtocolPort)
}

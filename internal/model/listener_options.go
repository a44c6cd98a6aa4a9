package model

import (
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// InsertableHeaders are the request headers a listener may set for its
// members (Octavia's insert_headers), with whether they need a listener
// that terminates TLS (the X-SSL-* ones describe the client certificate).
var InsertableHeaders = map[string]bool{
	"X-Forwarded-For": false, "X-Forwarded-Port": false, "X-Forwarded-Proto": false,
	"X-SSL-Client-Verify": true, "X-SSL-Client-Has-Cert": true, "X-SSL-Client-DN": true,
	"X-SSL-Client-CN": true, "X-SSL-Issuer": true, "X-SSL-Client-SHA1": true,
	"X-SSL-Client-Not-Before": true, "X-SSL-Client-Not-After": true,
}

// TLS versions and ALPN protocols a TERMINATED_HTTPS listener may offer,
// and what a new one offers when it names none.
var (
	TLSVersionsAllowed   = []string{"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"}
	DefaultTLSVersions   = []string{"TLSv1.2", "TLSv1.3"}
	ALPNAllowed          = []string{"h2", "http/1.1", "http/1.0"}
	DefaultALPNProtocols = []string{"h2", "http/1.1", "http/1.0"}
)

// Bounds of the listener options.
const (
	MaxAllowedCIDRs = 100
	MaxSNIRefs      = 50
	MaxCiphersLen   = 2048
	MaxHSTSMaxAge   = 2147483647
)

// cipherRE is an OpenSSL cipher list: names, +-joined combinations and
// @SECLEVEL/@STRENGTH directives, with ! - + prefixes, separated by
// colons (no spaces, commas or quotes: it is one config word).
var cipherRE = regexp.MustCompile(`^([!+-]?@?[A-Za-z0-9_.=-]+(\+[A-Za-z0-9_.-]+)*)(:[!+-]?@?[A-Za-z0-9_.=-]+(\+[A-Za-z0-9_.-]+)*)*$`)

// IsHTTPListener reports whether HAProxy sees the listener's traffic as
// HTTP (HTTP, or HTTPS it terminates).
func (l *Listener) IsHTTPListener() bool {
	return l.Protocol == ProtocolHTTP || l.Protocol == ProtocolTerminatedHTTPS
}

// DefaultListenerOptions fills what a new TERMINATED_HTTPS listener
// offers when the request names none.
func DefaultListenerOptions(l *Listener) {
	if l.Protocol != ProtocolTerminatedHTTPS {
		return
	}
	if len(l.TLSVersions) == 0 {
		l.TLSVersions = append([]string(nil), DefaultTLSVersions...)
	}
	if len(l.ALPNProtocols) == 0 {
		l.ALPNProtocols = append([]string(nil), DefaultALPNProtocols...)
	}
}

// InsertsHeader reports whether the listener sets header h (as stored:
// "true", in any case).
func (l *Listener) InsertsHeader(h string) bool {
	return strings.EqualFold(l.InsertHeaders[h], "true")
}

func validateListenerOptions(l *Listener) error {
	tlsOnly := func(field string, set bool) error {
		if set && l.Protocol != ProtocolTerminatedHTTPS {
			return invalid(field, "only a TERMINATED_HTTPS listener takes it, not %s", l.Protocol)
		}
		return nil
	}
	if len(l.AllowedCIDRs) > MaxAllowedCIDRs {
		return invalid("allowed_cidrs", "at most %d networks, not %d", MaxAllowedCIDRs, len(l.AllowedCIDRs))
	}
	seen := map[string]bool{}
	for _, c := range l.AllowedCIDRs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return invalid("allowed_cidrs", "'%s' is not a CIDR", Clip(c))
		}
		if !p.Addr().Is4() {
			return invalid("allowed_cidrs", "'%s' is not IPv4, as the load balancer's address is", Clip(c))
		}
		if p.Masked() != p {
			return invalid("allowed_cidrs", "'%s' has host bits set; the network is %s", c, p.Masked())
		}
		if seen[c] {
			return invalid("allowed_cidrs", "'%s' is listed twice", c)
		}
		seen[c] = true
	}
	for _, h := range sortedKeys(l.InsertHeaders) {
		needsTLS, ok := InsertableHeaders[h]
		if !ok {
			return invalid("insert_headers", "'%s' is not a header this provider inserts (%s)", Clip(h), strings.Join(sortedKeys(InsertableHeaders), ", "))
		}
		if v := strings.ToLower(l.InsertHeaders[h]); v != "true" && v != "false" {
			return invalid("insert_headers", "the value of %s must be 'true' or 'false', not '%s'", h, Clip(l.InsertHeaders[h]))
		}
		if !l.IsHTTPListener() {
			return invalid("insert_headers", "a %s listener does not see HTTP headers", l.Protocol)
		}
		if needsTLS && l.Protocol != ProtocolTerminatedHTTPS {
			return invalid("insert_headers", "%s describes a TLS client and needs a TERMINATED_HTTPS listener", h)
		}
	}
	if err := tlsOnly("sni_container_refs", len(l.SNIContainerRefs) > 0); err != nil {
		return err
	}
	if len(l.SNIContainerRefs) > MaxSNIRefs {
		return invalid("sni_container_refs", "at most %d certificates, not %d", MaxSNIRefs, len(l.SNIContainerRefs))
	}
	for _, r := range l.SNIContainerRefs {
		if err := ValidateUUID("sni_container_refs", r); err != nil {
			return err
		}
	}
	if err := tlsOnly("tls_versions", len(l.TLSVersions) > 0); err != nil {
		return err
	}
	if err := tlsOnly("alpn_protocols", len(l.ALPNProtocols) > 0); err != nil {
		return err
	}
	if err := tlsOnly("tls_ciphers", l.TLSCiphers != ""); err != nil {
		return err
	}
	if err := validateTLSTuning(l.TLSVersions, l.TLSCiphers, l.ALPNProtocols); err != nil {
		return err
	}
	switch l.ClientAuthentication {
	case "", ClientAuthNone:
	case ClientAuthOptional, ClientAuthMandatory:
		if err := tlsOnly("client_authentication", true); err != nil {
			return err
		}
		if l.ClientCATLSContainerRef == "" {
			return invalid("client_ca_tls_container_ref", "client_authentication %s needs the CA certificates clients are checked against", l.ClientAuthentication)
		}
	default:
		return oneOf("client_authentication", l.ClientAuthentication, ClientAuthNone, ClientAuthOptional, ClientAuthMandatory)
	}
	if err := validateCARefs("client_ca_tls_container_ref", l.ClientCATLSContainerRef, "client_crl_container_ref", l.ClientCRLContainerRef); err != nil {
		return err
	}
	if err := tlsOnly("client_ca_tls_container_ref", l.ClientCATLSContainerRef != ""); err != nil {
		return err
	}
	if err := tlsOnly("hsts_max_age", l.HSTSMaxAge != nil); err != nil {
		return err
	}
	if l.HSTSMaxAge != nil {
		if err := inRange("hsts_max_age", *l.HSTSMaxAge, 0, MaxHSTSMaxAge); err != nil {
			return err
		}
	} else if l.HSTSIncludeSubdomains || l.HSTSPreload {
		return invalid("hsts_max_age", "hsts_include_subdomains and hsts_preload need hsts_max_age")
	}
	return nil
}

// validateTLSTuning checks TLS versions (a contiguous range), an OpenSSL
// cipher list and ALPN protocols, of a listener or of a pool.
func validateTLSTuning(versions []string, ciphers string, alpn []string) error {
	if err := setOf("tls_versions", versions, TLSVersionsAllowed); err != nil {
		return err
	}
	if lo, hi, ok := TLSVersionRange(versions); ok && hi-lo+1 != len(versions) {
		return invalid("tls_versions", "%s leave a gap; give a contiguous range (HAProxy takes a lowest and a highest version)", strings.Join(versions, ", "))
	}
	if err := setOf("alpn_protocols", alpn, ALPNAllowed); err != nil {
		return err
	}
	if ciphers != "" && (len(ciphers) > MaxCiphersLen || !cipherRE.MatchString(ciphers)) {
		return invalid("tls_ciphers", "'%s' is not an OpenSSL cipher list (names joined by ':', at most %d characters)", Clip(ciphers), MaxCiphersLen)
	}
	if ciphers != "" {
		if why := checkCipherList(ciphers); why != "" {
			return invalid("tls_ciphers", "'%s': %s", Clip(ciphers), why)
		}
	}
	return nil
}

// validateCARefs checks a CA certificate reference and a CRL reference,
// which needs the CA one.
func validateCARefs(caField, ca, crlField, crl string) error {
	if ca != "" {
		if err := ValidateUUID(caField, ca); err != nil {
			return err
		}
	}
	if crl != "" {
		if ca == "" {
			return invalid(crlField, "a revocation list needs %s", caField)
		}
		if err := ValidateUUID(crlField, crl); err != nil {
			return err
		}
	}
	return nil
}

// ValidatePoolTLS checks a pool's re-encryption settings.
func ValidatePoolTLS(p *Pool) error {
	if p.TLSEnabled && p.Protocol == ProtocolHTTPS {
		return invalid("tls_enabled", "an HTTPS pool already carries the client's own TLS; re-encryption needs an HTTP, TCP or PROXY pool")
	}
	if p.TLSContainerRef != "" {
		if err := ValidateUUID("tls_container_ref", p.TLSContainerRef); err != nil {
			return err
		}
	}
	if err := validateCARefs("ca_tls_container_ref", p.CATLSContainerRef, "crl_container_ref", p.CRLContainerRef); err != nil {
		return err
	}
	return validateTLSTuning(p.TLSVersions, p.TLSCiphers, p.ALPNProtocols)
}

// TLSVersionRange returns the indexes in TLSVersionsAllowed of the lowest
// and highest of vs (false when vs is empty or holds an unknown one).
func TLSVersionRange(vs []string) (lo, hi int, ok bool) {
	lo, hi = len(TLSVersionsAllowed), -1
	for _, v := range vs {
		i := slices.Index(TLSVersionsAllowed, v)
		if i < 0 {
			return 0, 0, false
		}
		lo, hi = min(lo, i), max(hi, i)
	}
	return lo, hi, hi >= 0
}

// setOf checks that vs are distinct members of allowed.
func setOf(field string, vs, allowed []string) error {
	seen := map[string]bool{}
	for _, v := range vs {
		if err := oneOf(field, v, allowed...); err != nil {
			return err
		}
		if seen[v] {
			return invalid(field, "'%s' is listed twice", v)
		}
		seen[v] = true
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

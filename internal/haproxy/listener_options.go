package haproxy

import (
	"fmt"
	"slices"
	"strings"

	"lbaas/internal/l7"
)

// headerValue is the log-format expression each settable header gets:
// HAProxy's own view of the connection. %{+Q} quotes what may hold
// spaces or commas (distinguished names, dates).
var headerValue = map[Header]string{
	HeaderForwardedPort:  "%[dst_port]",
	HeaderClientVerify:   "%[ssl_c_verify]",
	HeaderClientHasCert:  "%[ssl_c_used]",
	HeaderClientDN:       "%{+Q}[ssl_c_s_dn]",
	HeaderClientCN:       "%{+Q}[ssl_c_s_dn(cn)]",
	HeaderIssuer:         "%{+Q}[ssl_c_i_dn]",
	HeaderClientSHA1:     "%{+Q}[ssl_c_sha1,hex]",
	HeaderClientNotBefor: "%{+Q}[ssl_c_notbefore]",
	HeaderClientNotAfter: "%{+Q}[ssl_c_notafter]",
}

// tlsVersions are HAProxy's names, oldest first.
var tlsVersions = []string{"TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"}

var alpnProtocols = []string{"h2", "http/1.1", "http/1.0"}

// bindLine is a frontend's bind directive: the address, and for a
// terminating listener its certificates and handshake settings.
func bindLine(l Listener) string {
	var b strings.Builder
	fmt.Fprintf(&b, "bind %s", bindAddr(l))
	if l.TLSCertFile == "" {
		return b.String()
	}
	// The first crt is the default one; SNI picks among them all.
	b.WriteString(" ssl crt " + l.TLSCertFile)
	for _, f := range l.SNICertFiles {
		b.WriteString(" crt " + f)
	}
	t := l.TLS
	if t.MinVersion != "" {
		fmt.Fprintf(&b, " ssl-min-ver %s ssl-max-ver %s", t.MinVersion, t.MaxVersion)
	}
	if t.Ciphers != "" {
		b.WriteString(" ciphers " + quote(t.Ciphers))
	}
	if len(t.ALPN) > 0 {
		b.WriteString(" alpn " + strings.Join(t.ALPN, ","))
	}
	return b.String()
}

// renderListenerOptions writes what a listener does before routing: the
// client networks it accepts, the headers it sets, HSTS.
func renderListenerOptions(w func(string, ...any), l Listener, mode string) {
	if len(l.AllowedCIDRs) > 0 {
		// One acl line per network (same name: any of them); a
		// connection from elsewhere is closed at accept.
		for _, p := range l.AllowedCIDRs {
			w("    acl allowed-src src %s", p)
		}
		w("    tcp-request connection reject if !allowed-src")
	}
	if mode != "http" {
		return
	}
	if !l.NoForwardedFor {
		w("    option forwardfor")
	}
	proto := ""
	switch {
	case l.Protocol == ProtocolTerminatedHTTPS && !l.NoForwardedProto:
		proto = "https"
	case l.Protocol == ProtocolHTTP && slices.Contains(l.Headers, HeaderForwardedProto):
		proto = "http"
	}
	if proto != "" {
		w("    http-request set-header X-Forwarded-Proto %s", proto)
	}
	for _, h := range l.Headers {
		if v, ok := headerValue[h]; ok {
			w("    http-request set-header %s %s", h, v)
		}
	}
	if l.HSTS != nil {
		v := fmt.Sprintf("max-age=%d", l.HSTS.MaxAge)
		if l.HSTS.IncludeSubdomains {
			v += "; includeSubDomains"
		}
		if l.HSTS.Preload {
			v += "; preload"
		}
		w("    http-response set-header Strict-Transport-Security %s", quote(v))
	}
}

func (l Listener) validateOptions() error {
	terminating := l.Protocol == ProtocolTerminatedHTTPS
	if !terminating && (len(l.SNICertFiles) > 0 || l.TLS.MinVersion != "" || l.TLS.Ciphers != "" || len(l.TLS.ALPN) > 0 || l.HSTS != nil) {
		return fmt.Errorf("listener %s: SNI certificates, TLS settings and HSTS need %s, not %s", l.ID, ProtocolTerminatedHTTPS, l.Protocol)
	}
	for _, f := range l.SNICertFiles {
		if err := checkPath("sni cert file", f); err != nil {
			return fmt.Errorf("listener %s: %w", l.ID, err)
		}
	}
	lo, hi := slices.Index(tlsVersions, l.TLS.MinVersion), slices.Index(tlsVersions, l.TLS.MaxVersion)
	if (l.TLS.MinVersion != "" || l.TLS.MaxVersion != "") && (lo < 0 || hi < lo) {
		return fmt.Errorf("listener %s: TLS versions %q..%q", l.ID, l.TLS.MinVersion, l.TLS.MaxVersion)
	}
	if c := l.TLS.Ciphers; c != "" {
		if err := l7.CheckValue(c); err != nil || strings.ContainsAny(c, " '\"\\#$,") {
			return fmt.Errorf("listener %s: cipher list %q is not one word of cipher names", l.ID, c)
		}
	}
	seen := map[string]bool{}
	for _, a := range l.TLS.ALPN {
		if !slices.Contains(alpnProtocols, a) || seen[a] {
			return fmt.Errorf("listener %s: ALPN protocol %q unknown or repeated", l.ID, a)
		}
		seen[a] = true
	}
	for _, p := range l.AllowedCIDRs {
		if !p.IsValid() || p.Masked() != p || p.Addr().Zone() != "" {
			return fmt.Errorf("listener %s: allowed network %v is not a network address", l.ID, p)
		}
	}
	if len(l.Headers) > 0 || l.NoForwardedFor || l.NoForwardedProto {
		if l.mode() != "http" {
			return fmt.Errorf("listener %s: headers need an http-mode listener", l.ID)
		}
	}
	for _, h := range l.Headers {
		if _, ok := headerValue[h]; !ok && h != HeaderForwardedProto {
			return fmt.Errorf("listener %s: unknown header %q", l.ID, h)
		}
		if strings.HasPrefix(string(h), "X-SSL-") && !terminating {
			return fmt.Errorf("listener %s: %s needs %s", l.ID, h, ProtocolTerminatedHTTPS)
		}
	}
	if l.HSTS != nil && (l.HSTS.MaxAge < 0 || l.HSTS.MaxAge > 2147483647) {
		return fmt.Errorf("listener %s: HSTS max-age %d", l.ID, l.HSTS.MaxAge)
	}
	return nil
}

package haproxy

import (
	"fmt"
	"path/filepath"
	"reflect"
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
func bindLine(spec Spec, l Listener) string {
	var b strings.Builder
	fmt.Fprintf(&b, "bind %s", bindAddr(l))
	if l.TLSCertFile == "" {
		return b.String()
	}
	// With SNI certificates, a crt-list (crtlist.go) whose first entry is
	// the default; SNI picks among them all.
	if list := l.crtListPath(filepath.Dir(spec.Paths.Config)); list != "" {
		b.WriteString(" ssl crt-list " + list)
	} else {
		b.WriteString(" ssl crt " + l.TLSCertFile)
	}
	t := l.TLS
	b.WriteString(t.tuning())
	if t.Verify != "" {
		fmt.Fprintf(&b, " ca-file %s verify %s", t.CAFile, t.Verify)
		if t.CRLFile != "" {
			b.WriteString(" crl-file " + t.CRLFile)
		}
	}
	return b.String()
}

// serverTLS is what a re-encrypting pool's server lines carry.
func serverTLS(t *TLSOptions) string {
	if t == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString(" ssl")
	if t.CAFile != "" {
		b.WriteString(" verify required ca-file " + t.CAFile)
		if t.CRLFile != "" {
			b.WriteString(" crl-file " + t.CRLFile)
		}
	} else {
		b.WriteString(" verify none")
	}
	if t.CertFile != "" {
		b.WriteString(" crt " + t.CertFile)
	}
	b.WriteString(t.tuning())
	return b.String()
}

// tuning is the handshake settings shared by bind and server lines.
func (t TLSOptions) tuning() string {
	var b strings.Builder
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

// validate checks TLS settings; pool says whether they are a pool's.
func (t TLSOptions) validate(whose string, pool bool) error {
	lo, hi := slices.Index(tlsVersions, t.MinVersion), slices.Index(tlsVersions, t.MaxVersion)
	if (t.MinVersion != "" || t.MaxVersion != "") && (lo < 0 || hi < lo) {
		return fmt.Errorf("%s: TLS versions %q..%q", whose, t.MinVersion, t.MaxVersion)
	}
	if c := t.Ciphers; c != "" {
		if err := l7.CheckValue(c); err != nil || strings.ContainsAny(c, " '\"\\#$,") {
			return fmt.Errorf("%s: cipher list %q is not one word of cipher names", whose, c)
		}
	}
	seen := map[string]bool{}
	for _, a := range t.ALPN {
		if !slices.Contains(alpnProtocols, a) || seen[a] {
			return fmt.Errorf("%s: ALPN protocol %q unknown or repeated", whose, a)
		}
		seen[a] = true
	}
	switch t.Verify {
	case "":
	case "optional", "required":
		if pool {
			return fmt.Errorf("%s: a pool verifies its members with a CA file alone", whose)
		}
		if t.CAFile == "" {
			return fmt.Errorf("%s: verify %s needs a CA file", whose, t.Verify)
		}
	default:
		return fmt.Errorf("%s: verify %q", whose, t.Verify)
	}
	if !pool && t.CertFile != "" {
		return fmt.Errorf("%s: a listener's certificate is its TLSCertFile", whose)
	}
	if t.CRLFile != "" && t.CAFile == "" {
		return fmt.Errorf("%s: a CRL file needs a CA file", whose)
	}
	for _, f := range []struct{ what, p string }{{"CA file", t.CAFile}, {"CRL file", t.CRLFile}, {"certificate file", t.CertFile}} {
		if f.p != "" {
			if err := checkPath(f.what, f.p); err != nil {
				return fmt.Errorf("%s: %w", whose, err)
			}
		}
	}
	return nil
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
	if !terminating && (len(l.SNICertFiles) > 0 || !reflect.DeepEqual(l.TLS, TLSOptions{}) || l.HSTS != nil) {
		return fmt.Errorf("listener %s: SNI certificates, TLS settings and HSTS need %s, not %s", l.ID, ProtocolTerminatedHTTPS, l.Protocol)
	}
	for _, f := range l.SNICertFiles {
		if err := checkPath("sni cert file", f); err != nil {
			return fmt.Errorf("listener %s: %w", l.ID, err)
		}
	}
	if err := l.TLS.validate("listener "+l.ID, false); err != nil {
		return err
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

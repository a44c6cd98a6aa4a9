package haproxy

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"lbaas/internal/pki"
)

// writeNamed writes a PEM file with a fresh certificate for one DNS name
// and returns the certificate's serial number as text.
func writeNamed(t *testing.T, path, name string) string {
	t.Helper()
	c, err := pki.Issue(nil, pki.Request{CommonName: name, DNSNames: []string{name}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(c.CertPEM, c.KeyPEM...), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

// served returns the subject CN of the certificate the listener shows for
// server name sni, and the ALPN protocol agreed when the client offers alpn.
func served(t *testing.T, port int, sni string, alpn []string, maxVersion uint16) (string, string, error) {
	t.Helper()
	d := &net.Dialer{Timeout: 3 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", fmt.Sprintf("127.0.0.1:%d", port), &tls.Config{
		ServerName: sni, InsecureSkipVerify: true, NextProtos: alpn, MaxVersion: maxVersion, // the test reads which certificate came
	})
	if err != nil {
		return "", "", err
	}
	defer conn.Close()
	st := conn.ConnectionState()
	return st.PeerCertificates[0].Subject.CommonName, st.NegotiatedProtocol, nil
}

// A terminating listener with SNI certificates, TLS 1.3 only, ALPN, HSTS,
// and the headers asked for: each does what it says on a real HAProxy.
func TestTerminatingListenerPicksTheCertificateBySNIAndAppliesItsTLSSettings(t *testing.T) {
	a := startBackend(t, "A")
	spec, mgr := realInstance(t, a.member(t, memA))
	if err := os.MkdirAll(spec.Paths.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	def, api, www := filepath.Join(spec.Paths.Dir, "def.pem"), filepath.Join(spec.Paths.Dir, "api.pem"), filepath.Join(spec.Paths.Dir, "www.pem")
	writeNamed(t, def, "default.example.test")
	writeNamed(t, api, "api.example.test")
	writeNamed(t, www, "www.example.test")
	l := spec.lis(0)
	l.Protocol, l.TLSCertFile, l.SNICertFiles = ProtocolTerminatedHTTPS, def, []string{api, www}
	l.TLS = TLSOptions{MinVersion: "TLSv1.3", MaxVersion: "TLSv1.3", ALPN: []string{"h2", "http/1.1"}}
	l.HSTS = &HSTS{MaxAge: 600, IncludeSubdomains: true}
	l.Headers = []Header{HeaderForwardedPort}
	if _, err := mgr.Apply(ctx(t), spec); err != nil {
		t.Fatal(err)
	}
	for sni, want := range map[string]string{"api.example.test": "api.example.test", "www.example.test": "www.example.test", "other.example.test": "default.example.test", "": "default.example.test"} {
		cn, _, err := served(t, l.Port, sni, nil, 0)
		if err != nil || cn != want {
			t.Errorf("server name %q: certificate %q (%v), want %q", sni, cn, err, want)
		}
	}
	if _, proto, err := served(t, l.Port, "api.example.test", []string{"h2", "http/1.1"}, 0); err != nil || proto != "h2" {
		t.Errorf("ALPN: agreed %q (%v), want h2", proto, err)
	}
	if _, _, err := served(t, l.Port, "api.example.test", nil, tls.VersionTLS12); err == nil {
		t.Error("a TLS 1.2 client was accepted by a TLS 1.3-only listener")
	}
	c := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := c.Get(fmt.Sprintf("https://127.0.0.1:%d/", l.Port))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=600; includeSubDomains" {
		t.Errorf("HSTS header %q", got)
	}
	if p, pr := resp.Header.Get("X-Seen-Port"), resp.Header.Get("X-Seen-Proto"); p != fmt.Sprint(l.Port) || pr != "https" {
		t.Errorf("the member saw X-Forwarded-Port %q and X-Forwarded-Proto %q", p, pr)
	}
}

// A listener with more SNI certificates than a bind line has words for
// (HAProxy reads 64 words a line; 60 certificates were 120 "crt" words):
// every name gets its own certificate, a change of the set is applied,
// and the list the running configuration no longer names is removed.
func TestListenerWithSixtySNICertificatesServesEachName(t *testing.T) {
	a := startBackend(t, "A")
	spec, mgr := realInstance(t, a.member(t, memA))
	if err := os.MkdirAll(spec.Paths.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	def := filepath.Join(spec.Paths.Dir, "def.pem")
	writeNamed(t, def, "default.example.test")
	var names, files []string
	for i := range 60 {
		name := fmt.Sprintf("sni-%02d.example.test", i)
		f := filepath.Join(spec.Paths.Dir, fmt.Sprintf("sni-%02d.pem", i))
		writeNamed(t, f, name)
		names, files = append(names, name), append(files, f)
	}
	l := spec.lis(0)
	l.Protocol, l.TLSCertFile, l.SNICertFiles = ProtocolTerminatedHTTPS, def, files
	if _, err := mgr.Apply(ctx(t), spec); err != nil {
		t.Fatal(err)
	}
	check := func(names []string) {
		t.Helper()
		for _, n := range append(names, "unknown.example.test") {
			want := n
			if n == "unknown.example.test" {
				want = "default.example.test"
			}
			if cn, _, err := served(t, l.Port, n, nil, 0); err != nil || cn != want {
				t.Errorf("server name %s: certificate %q (%v), want %q", n, cn, err, want)
			}
		}
	}
	check(names)
	lists := func() []string {
		m, _ := filepath.Glob(filepath.Join(filepath.Dir(spec.Paths.Config), "crt-list-*.txt"))
		return m
	}
	first := lists()
	if len(first) != 1 {
		t.Fatalf("crt-lists %v, want one", first)
	}

	next := spec.clone()
	next.lis(0).SNICertFiles = files[:30]
	if res, err := mgr.Apply(ctx(t), next); err != nil || res.Action != ActionReloaded {
		t.Fatalf("a smaller set: %+v %v", res, err)
	}
	check(names[:30])
	if cn, _, err := served(t, l.Port, names[45], nil, 0); err != nil || cn != "default.example.test" {
		t.Errorf("a name taken out of the set: %q %v, want the default certificate", cn, err)
	}
	// The previous list stays for the configuration kept for a rollback;
	// a third change removes it.
	third := next.clone()
	third.lis(0).SNICertFiles = files[:10]
	if _, err := mgr.Apply(ctx(t), third); err != nil {
		t.Fatal(err)
	}
	for _, f := range lists() {
		if f == first[0] {
			t.Errorf("the first crt-list %s is still there after two changes", f)
		}
	}
	check(names[:10])
}

// allowed_cidrs: a client outside the listed networks is closed at once,
// one inside is served.
func TestListenerClosesConnectionsFromOutsideItsAllowedNetworks(t *testing.T) {
	a := startBackend(t, "A")
	spec, mgr := realInstance(t, a.member(t, memA))
	spec.lis(0).AllowedCIDRs = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	if _, err := mgr.Apply(ctx(t), spec); err != nil {
		t.Fatal(err)
	}
	if _, _, err := get(httpClient(nil), vipURL(spec)); err == nil {
		t.Fatal("a client from 127.0.0.1 was served by a listener that allows only 10.0.0.0/8")
	}
	next := spec.clone()
	next.lis(0).AllowedCIDRs = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.0/8")}
	if _, err := mgr.Apply(ctx(t), next); err != nil {
		t.Fatal(err)
	}
	if body, _, err := get(httpClient(nil), vipURL(next)); err != nil || body != "A" {
		t.Fatalf("a client from an allowed network: %q %v", body, err)
	}
}

// proxyMember is a member that expects a PROXY protocol header (v1 or
// v2) before an HTTP request, and answers with the client address the
// header gave it.
func proxyMember(t *testing.T, v2 bool) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				r := bufio.NewReader(c)
				src, err := readProxyHeader(r, v2)
				if err != nil {
					return // a connection without the header gets nothing
				}
				req, err := http.ReadRequest(r)
				if err != nil {
					return
				}
				io.Copy(io.Discard, req.Body)
				body := "client " + src
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
			}(c)
		}
	}()
	return netip.MustParseAddrPort(ln.Addr().String())
}

var proxyV2Sig = []byte("\r\n\r\n\x00\r\nQUIT\n")

func readProxyHeader(r *bufio.Reader, v2 bool) (string, error) {
	if !v2 {
		line, err := r.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "PROXY TCP4 ") {
			return "", fmt.Errorf("no v1 header: %q", line)
		}
		f := strings.Fields(line) // PROXY TCP4 src dst sport dport
		return f[2], nil
	}
	hdr := make([]byte, 16)
	if _, err := io.ReadFull(r, hdr); err != nil || !bytes.Equal(hdr[:12], proxyV2Sig) {
		return "", fmt.Errorf("no v2 signature")
	}
	rest := make([]byte, binary.BigEndian.Uint16(hdr[14:16]))
	if _, err := io.ReadFull(r, rest); err != nil {
		return "", err
	}
	if hdr[13]>>4 != 1 || len(rest) < 12 { // AF_INET
		return "LOCAL", nil // a health check's header carries no address
	}
	return netip.AddrFrom4([4]byte(rest[0:4])).String(), nil
}

// PROXY and PROXYV2 pools: the member reads the client's address from the
// header HAProxy sends first, and the HTTP health check sends it too (or
// the member, which drops connections without it, would be marked down).
func TestProxyPoolsTellTheMemberTheClientAddressAndTheirChecksSpeakItToo(t *testing.T) {
	for _, v2 := range []bool{false, true} {
		name := map[bool]string{false: "PROXY", true: "PROXYV2"}[v2]
		t.Run(name, func(t *testing.T) {
			ap := proxyMember(t, v2)
			m := Member{ID: memA, Address: ap.Addr(), Port: int(ap.Port()), Weight: 1, AdminUp: true}
			spec, mgr := realInstance(t, m)
			spec.pool(0).Protocol = Protocol(name)
			spec.pool(0).Monitor = &Monitor{Type: MonitorHTTP, Delay: 1, Timeout: 1, Rise: 1, Fall: 1}
			if _, err := mgr.Apply(ctx(t), spec); err != nil {
				t.Fatal(err)
			}
			eventually(t, 10*time.Second, "the member up through checks that send the header", func() bool {
				return serverStats(t, spec, 1).Status == "UP"
			})
			if body, _, err := get(httpClient(nil), vipURL(spec)); err != nil || body != "client 127.0.0.1" {
				t.Fatalf("through a %s pool: %q %v", name, body, err)
			}
		})
	}
}

// A PROMETHEUS listener answers /metrics in Prometheus' text format, which
// the Prometheus client's own parser reads, and 404 elsewhere.
func TestPrometheusListenerServesHAProxysMetricsInPrometheusTextFormat(t *testing.T) {
	a := startBackend(t, "A")
	spec, mgr := realInstance(t, a.member(t, memA))
	port := freePort(t)
	spec.Listeners = append(spec.Listeners, Listener{ID: lisB, Address: spec.lis(0).Address, Port: port, Protocol: ProtocolPrometheus, ConnLimit: -1, AdminUp: true})
	if _, err := mgr.Apply(ctx(t), spec); err != nil {
		t.Fatal(err)
	}
	sequence(t, spec, 3) // some traffic to count
	resp, err := httpClient(nil).Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics is not Prometheus text format: %v", err)
	}
	f, ok := families["haproxy_frontend_http_requests_total"]
	if !ok {
		t.Fatalf("no haproxy_frontend_http_requests_total among %d families", len(families))
	}
	var served float64
	for _, m := range f.Metric {
		for _, lp := range m.Label {
			if lp.GetName() == "proxy" && lp.GetValue() == FrontendName(lisA) {
				served = m.GetCounter().GetValue()
			}
		}
	}
	if served < 3 {
		t.Errorf("frontend %s counted %v requests, want at least the 3 sent", FrontendName(lisA), served)
	}
	other, err := httpClient(nil).Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		t.Fatal(err)
	}
	other.Body.Close()
	if other.StatusCode != 404 {
		t.Errorf("GET / on the PROMETHEUS listener: %d, want 404", other.StatusCode)
	}
}

// A listener's certificate replaced under the same path is swapped through
// the runtime API: no reload (same worker), new handshakes get the new
// certificate at once, and not one request of a client running through
// the swap fails.
func TestACertificateReplacedInPlaceIsSwappedWithoutAReloadOrAFailedRequest(t *testing.T) {
	a := startBackend(t, "A")
	spec, mgr := realInstance(t, a.member(t, memA))
	if err := os.MkdirAll(spec.Paths.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(spec.Paths.Dir, "listener.pem")
	writeNamed(t, path, "old.example.test")
	l := spec.lis(0)
	l.Protocol, l.TLSCertFile, l.TLSCertSum = ProtocolTerminatedHTTPS, path, "old"
	first, err := mgr.Apply(ctx(t), spec)
	if err != nil {
		t.Fatal(err)
	}
	if cn, _, err := served(t, l.Port, "", nil, 0); err != nil || cn != "old.example.test" {
		t.Fatalf("before: %q %v", cn, err)
	}
	stop := make(chan struct{})
	var sent, failed int
	done := make(chan struct{})
	go func() {
		defer close(done)
		c := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // the test reads which certificate came
		for i := 0; i < 5000; i++ {
			select {
			case <-stop:
				return
			default:
			}
			sent++
			if _, _, err := get(c, fmt.Sprintf("https://127.0.0.1:%d/", l.Port)); err != nil {
				failed++
			}
		}
	}()
	time.Sleep(200 * time.Millisecond)
	writeNamed(t, path, "new.example.test")
	next := spec.clone()
	next.lis(0).TLSCertSum = "new"
	res, err := mgr.Apply(ctx(t), next)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	close(stop)
	<-done
	if res.Action != ActionRuntime || len(res.Commands) != 1 || res.Commands[0].Op != OpSSLCert {
		t.Fatalf("the swap: %+v, want one runtime certificate command", res)
	}
	if res.Process.MasterPID != first.Process.MasterPID || !sameWorkers(res.Process.Workers, first.Process.Workers) {
		t.Errorf("the swap changed the processes: %+v then %+v", first.Process, res.Process)
	}
	if cn, _, err := served(t, l.Port, "", nil, 0); err != nil || cn != "new.example.test" {
		t.Errorf("after: %q %v", cn, err)
	}
	if failed > 0 || sent == 0 {
		t.Errorf("%d of %d requests failed across the swap", failed, sent)
	}
}

func sameWorkers(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

package haproxy

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"lbaas/internal/pki"
)

func writePEM(t *testing.T, path string, parts ...[]byte) string {
	t.Helper()
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func newCA(t *testing.T, name string) *pki.Issued {
	t.Helper()
	ca, err := pki.NewCA(name, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func clientCert(t *testing.T, ca *pki.Issued, cn string) (*pki.Issued, tls.Certificate) {
	t.Helper()
	c, err := pki.IssueClient(ca, pki.Request{CommonName: cn, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(c.CertPEM, c.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return c, pair
}

// A listener that requires client certificates: a client without one, or
// with a revoked one, gets no answer; one with a good certificate is
// served and its member sees who it is. OPTIONAL lets the first through.
func TestClientCertificatesAreRequiredCheckedAgainstTheCRLAndPassedToTheMember(t *testing.T) {
	member := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "cn=%s verify=%s has=%s", r.Header.Get("X-SSL-Client-CN"), r.Header.Get("X-SSL-Client-Verify"), r.Header.Get("X-SSL-Client-Has-Cert"))
	}))
	t.Cleanup(member.Close)
	ap := netip.MustParseAddrPort(member.Listener.Addr().String())
	spec, mgr := realInstance(t, Member{ID: memA, Address: ap.Addr(), Port: int(ap.Port()), Weight: 1, AdminUp: true})
	if err := os.MkdirAll(spec.Paths.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	server, err := pki.Issue(nil, pki.Request{CommonName: "vip", IPs: nil, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	clients := newCA(t, "clients")
	_, good := clientCert(t, clients, "alice")
	revokedCert, revoked := clientCert(t, clients, "mallory")
	crl, err := clients.RevocationList(time.Now(), revokedCert.Cert)
	if err != nil {
		t.Fatal(err)
	}
	dir := spec.Paths.Dir
	l := spec.lis(0)
	l.Protocol = ProtocolTerminatedHTTPS
	l.TLSCertFile = writePEM(t, filepath.Join(dir, "vip.pem"), server.CertPEM, server.KeyPEM)
	l.TLS = TLSOptions{Verify: "required", CAFile: writePEM(t, filepath.Join(dir, "ca.pem"), clients.CertPEM), CRLFile: writePEM(t, filepath.Join(dir, "crl.pem"), crl)}
	l.Headers = []Header{HeaderClientCN, HeaderClientVerify, HeaderClientHasCert}
	if _, err := mgr.Apply(ctx(t), spec); err != nil {
		t.Fatal(err)
	}
	get := func(certs ...tls.Certificate) (string, error) {
		c := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true, Certificates: certs}}} // the test checks the client side, not the VIP's name
		body, _, err := get(c, fmt.Sprintf("https://127.0.0.1:%d/", l.Port))
		return body, err
	}
	if body, err := get(); err == nil {
		t.Errorf("no client certificate, MANDATORY: served %q", body)
	}
	if body, err := get(revoked); err == nil {
		t.Errorf("a revoked client certificate: served %q", body)
	}
	if body, err := get(good); err != nil || body != "cn=alice verify=0 has=1" {
		t.Errorf("a good client certificate: %q %v", body, err)
	}
	_, stranger := clientCert(t, newCA(t, "elsewhere"), "eve")
	if body, err := get(stranger); err == nil {
		t.Errorf("a certificate of another CA: served %q", body)
	}

	next := spec.clone()
	next.lis(0).TLS.Verify = "optional"
	if _, err := mgr.Apply(ctx(t), next); err != nil {
		t.Fatal(err)
	}
	if body, err := get(); err != nil || body != "cn= verify=0 has=0" {
		t.Errorf("no client certificate, OPTIONAL: %q %v", body, err)
	}
}

// tlsMember is an HTTPS member with a certificate of ca; with clientCA it
// requires a client certificate of that CA.
func tlsMember(t *testing.T, ca *pki.Issued, clientCA *pki.Issued) netip.AddrPort {
	t.Helper()
	c, err := pki.Issue(ca, pki.Request{CommonName: "member", NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	pair, _ := tls.X509KeyPair(c.CertPEM, c.KeyPEM)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who := "nobody"
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			who = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		fmt.Fprintf(w, "tls member, client %s", who)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	if clientCA != nil {
		pool := x509.NewCertPool()
		pool.AddCert(clientCA.Cert)
		srv.TLS.ClientAuth, srv.TLS.ClientCAs = tls.RequireAndVerifyClientCert, pool
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return netip.MustParseAddrPort(srv.Listener.Addr().String())
}

// A re-encrypting pool reaches an HTTPS member whose certificate its CA
// file vouches for, presenting its own client certificate; with the
// wrong CA file it refuses the member (503), and the health check agrees.
func TestReencryptingPoolVerifiesTheMemberAndPresentsItsCertificate(t *testing.T) {
	membersCA, poolsCA := newCA(t, "members"), newCA(t, "pool clients")
	ap := tlsMember(t, membersCA, poolsCA)
	spec, mgr := realInstance(t, Member{ID: memA, Address: ap.Addr(), Port: int(ap.Port()), Weight: 1, AdminUp: true})
	if err := os.MkdirAll(spec.Paths.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	dir := spec.Paths.Dir
	own, err := pki.IssueClient(poolsCA, pki.Request{CommonName: "the-pool", NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	spec.pool(0).TLS = &TLSOptions{CAFile: writePEM(t, filepath.Join(dir, "members-ca.pem"), membersCA.CertPEM),
		CertFile: writePEM(t, filepath.Join(dir, "pool.pem"), own.CertPEM, own.KeyPEM), MinVersion: "TLSv1.2", MaxVersion: "TLSv1.3"}
	spec.pool(0).Monitor = &Monitor{Type: MonitorHTTPS, Delay: 1, Timeout: 1, Rise: 1, Fall: 1}
	if _, err := mgr.Apply(ctx(t), spec); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the TLS member up by its checks", func() bool { return serverStats(t, spec, 1).Status == "UP" })
	if body, _, err := get(httpClient(nil), vipURL(spec)); err != nil || body != "tls member, client the-pool" {
		t.Fatalf("through the re-encrypting pool: %q %v", body, err)
	}

	wrong := spec.clone()
	wrong.pool(0).TLS = &TLSOptions{CAFile: writePEM(t, filepath.Join(dir, "other-ca.pem"), newCA(t, "other").CertPEM), CertFile: spec.pool(0).TLS.CertFile}
	if _, err := mgr.Apply(ctx(t), wrong); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the member down: its certificate is not the CA's", func() bool { return serverStats(t, wrong, 1).Status == "DOWN" })
	if body, _, err := get(httpClient(nil), vipURL(wrong)); err == nil {
		t.Fatalf("served through a pool that cannot verify its member: %q", body)
	}
}

// The SSL rule types route on the client certificate: with OPTIONAL
// client authentication, a client with a certificate whose CN is "ops"
// goes to pool B (SSL_DN_FIELD CN), any other certificate holder is
// refused (SSL_CONN_HAS_CERT), a client without one reaches pool A.
func TestSSLRuleTypesRouteOnTheClientCertificate(t *testing.T) {
	a, b := startBackend(t, "A"), startBackend(t, "B")
	spec, mgr := realInstance(t, a.member(t, memA))
	spec.addPool2(b.member(t, memB))
	if err := os.MkdirAll(spec.Paths.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	server, err := pki.Issue(nil, pki.Request{CommonName: "vip", NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	clients := newCA(t, "clients")
	_, ops := clientCert(t, clients, "ops")
	_, dev := clientCert(t, clients, "dev")
	dir := spec.Paths.Dir
	l := spec.lis(0)
	l.Protocol = ProtocolTerminatedHTTPS
	l.TLSCertFile = writePEM(t, filepath.Join(dir, "vip.pem"), server.CertPEM, server.KeyPEM)
	l.TLS = TLSOptions{Verify: "optional", CAFile: writePEM(t, filepath.Join(dir, "ca.pem"), clients.CertPEM)}
	l.L7Policies = []L7Policy{
		{ID: pid(1), Action: L7RedirectToPool, PoolID: pool2ID, Rules: []L7Rule{
			{ID: rid(1), Type: "SSL_DN_FIELD", Compare: "EQUAL_TO", Key: "CN", Value: "ops"},
			{ID: rid(2), Type: "SSL_VERIFY_RESULT", Compare: "EQUAL_TO", Value: "0"},
		}},
		{ID: pid(2), Action: L7Reject, Rules: []L7Rule{{ID: rid(3), Type: "SSL_CONN_HAS_CERT", Compare: "EQUAL_TO", Value: "True"}}},
	}
	if _, err := mgr.Apply(ctx(t), spec); err != nil {
		t.Fatal(err)
	}
	ask := func(certs ...tls.Certificate) (int, string) {
		c := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true, Certificates: certs}}} // the client side is under test
		resp, err := c.Get(fmt.Sprintf("https://127.0.0.1:%d/", l.Port))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := ask(ops); code != 200 || body != "B" {
		t.Errorf("CN=ops: %d %q, want pool B", code, body)
	}
	if code, _ := ask(dev); code != 403 {
		t.Errorf("CN=dev: %d, want 403 (has a certificate, not ops)", code)
	}
	if code, body := ask(); code != 200 || body != "A" {
		t.Errorf("no certificate: %d %q, want the default pool A", code, body)
	}
}

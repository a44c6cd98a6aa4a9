package pki

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"testing"
	"time"
)

func TestIssuedCertificateVerifiesAgainstItsCAOnly(t *testing.T) {
	now := time.Now()
	ca, err := NewCA("lbt CA", now.Add(-time.Hour), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := Issue(ca, Request{CommonName: "lb.test", DNSNames: []string{"lb.test"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Cert.Verify(x509.VerifyOptions{DNSName: "lb.test", Roots: ca.Pool()}); err != nil {
		t.Fatalf("leaf does not verify against its CA: %v", err)
	}
	other, _ := NewCA("other CA", now.Add(-time.Hour), now.Add(time.Hour))
	if _, err := leaf.Cert.Verify(x509.VerifyOptions{DNSName: "lb.test", Roots: other.Pool()}); err == nil {
		t.Fatal("leaf verifies against a CA that did not sign it")
	}
	if _, err := tls.X509KeyPair(leaf.CertPEM, leaf.KeyPEM); err != nil {
		t.Fatalf("PEM pair unusable: %v", err)
	}
}

func TestSelfSignedCertificateIsTrustedByItsOwnPool(t *testing.T) {
	now := time.Now()
	c, err := Issue(nil, Request{CommonName: "vip", IPs: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Cert.Verify(x509.VerifyOptions{Roots: c.Pool()}); err != nil {
		t.Fatalf("self-signed certificate not trusted by its own pool: %v", err)
	}
	if err := c.Cert.VerifyHostname("127.0.0.1"); err != nil {
		t.Fatal(err)
	}
}

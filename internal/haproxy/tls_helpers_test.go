package haproxy

import (
	"crypto/x509"
	"net"
	"os"
	"testing"
	"time"

	"lbaas/internal/pki"
)

// writeSelfSigned writes a PEM file holding a fresh self-signed certificate
// (valid for ips) and its key, and returns a pool that trusts it.
func writeSelfSigned(t *testing.T, path string, ips []net.IP) *x509.CertPool {
	t.Helper()
	c, err := pki.Issue(nil, pki.Request{CommonName: "lbt test vip", IPs: ips, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(c.CertPEM, c.KeyPEM...), 0o600); err != nil {
		t.Fatal(err)
	}
	return c.Pool()
}

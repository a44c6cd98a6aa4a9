package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lbaas/internal/netns"
	"lbaas/internal/pki"
)

// testPKI is a CA and a leaf for lb.test signed by it, as PEM.
type testPKI struct {
	roots   *x509.CertPool
	certPEM string
	keyPEM  string
}

const tlsServerName = "lb.test"

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	now := time.Now()
	ca, err := pki.NewCA("lbaas e2e CA", now.Add(-time.Hour), now.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := pki.Issue(ca, pki.Request{CommonName: tlsServerName, DNSNames: []string{tlsServerName}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return testPKI{roots: ca.Pool(), certPEM: string(leaf.CertPEM), keyPEM: string(leaf.KeyPEM)}
}

// httpsClient verifies the server against roots under tlsServerName
// whatever address it dials, from inside the namespace.
func httpsClient(ns string, roots *x509.CertPool, timeout time.Duration) *http.Client {
	c := httpClient(ns, timeout)
	c.Transport.(*http.Transport).TLSClientConfig = &tls.Config{ServerName: tlsServerName, RootCAs: roots, MinVersion: tls.VersionTLS12}
	return c
}

func TestHTTPSTerminatedWithTheUploadedCertificate(t *testing.T) {
	tp := startTopo(t)
	pki := newTestPKI(t)
	cert := tp.create("/v2.0/lbaas-certificates", "certificate", map[string]any{"name": "default", "certificate": pki.certPEM, "private_key": pki.keyPEM})
	// The seed's VIP: port 443, protocol HTTP, no certificate named.
	p, _, fip := tp.lb("tls", map[string]any{}, map[string]any{"protocol_port": 443, "protocol": "HTTP"})
	poolID := p["id"].(string)

	body, err := bodyOf(httpsClient(tp.client, pki.roots, 5*time.Second).Get("https://" + fip + "/"))
	if err != nil {
		t.Fatalf("HTTPS through the floating IP, verified with the CA: %v", err)
	}
	if !strings.HasPrefix(body, "backend 10.1.1.") {
		t.Fatalf("HTTPS answer %q is not a backend's", body)
	}
	// Plain HTTP on 443 is not served: TLS is really terminated there.
	if _, err := tp.get("http://" + fip + ":443/"); err == nil {
		t.Fatal("plain HTTP on port 443 got a 200; TLS is not terminated")
	}

	keys := 0
	for _, in := range tp.instances(poolID) {
		files, _ := filepath.Glob(filepath.Join(in.dir, "tls", "*.pem"))
		for _, f := range files {
			fi, err := os.Stat(f)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("%s holds the private key with mode %v, want 0600", f, fi.Mode().Perm())
			}
			keys++
		}
	}
	if keys != 2 {
		t.Errorf("found %d certificate files on the nodes, want one per VM (2)", keys)
	}

	for _, path := range []string{"/v2.0/lbaas-certificates/" + cert["id"].(string), "/v2.0/lbaas-certificates"} {
		var raw json.RawMessage
		if err := tp.api.Call("GET", path, nil, &raw); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(raw), "PRIVATE KEY") || !strings.Contains(string(raw), cert["id"].(string)) {
			t.Errorf("GET %s must list the certificate without its key: %s", path, raw)
		}
	}
	assertNotDialable(t, tp.client, fip+":80")
}

// assertNotDialable checks that nothing listens at addr (the TLS VIP must
// not also serve in clear on its default port).
func assertNotDialable(t *testing.T, ns, addr string) {
	t.Helper()
	err := netns.Do(ns, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Close()
		}
		return err
	})
	if err == nil {
		t.Errorf("%s accepts connections; only the TLS port should", addr)
	}
}

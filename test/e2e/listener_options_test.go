package e2e

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"lbaas/internal/netns"
	"lbaas/internal/pki"
)

// TestListenerOptionsReachTheDataPlane: a TERMINATED_HTTPS listener made
// through the Octavia API with an SNI certificate, TLS 1.3 only, HSTS and
// an allowed network answers through the floating IP as configured; an
// update of allowed_cidrs that leaves the client out closes its
// connections.
func TestListenerOptionsReachTheDataPlane(t *testing.T) {
	tp := startTopo(t)
	now := time.Now()
	ca, err := pki.NewCA("lbaas e2e options CA", now.Add(-time.Hour), now.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	issue := func(name string) string {
		c, err := pki.Issue(ca, pki.Request{CommonName: name, DNSNames: []string{name}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return tp.create("/v2.0/lbaas-certificates", "certificate", map[string]any{"name": name, "certificate": string(c.CertPEM), "private_key": string(c.KeyPEM)})["id"].(string)
	}
	def, api := issue("www.options.test"), issue("api.options.test")
	lb := tp.v2Create("/loadbalancers", "loadbalancer", map[string]any{"name": "opts", "vip_subnet_id": tp.vipSub})
	lbID := lb["id"].(string)
	l := tp.v2Create("/listeners", "listener", map[string]any{"loadbalancer_id": lbID, "protocol": "TERMINATED_HTTPS", "protocol_port": 443,
		"default_tls_container_ref": def, "sni_container_refs": []string{api}, "tls_versions": []string{"TLSv1.3"},
		"hsts_max_age": 300, "allowed_cidrs": []string{"172.24.4.0/24"}, "insert_headers": map[string]string{"X-Forwarded-Port": "true"}})
	pool := tp.v2Create("/pools", "pool", map[string]any{"listener_id": l["id"], "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"})
	for _, b := range tp.backends {
		tp.v2Create("/pools/"+pool["id"].(string)+"/members", "member", map[string]any{"address": b.Addr.String(), "protocol_port": 80, "subnet_id": tp.poolSub})
	}
	tp.v2WaitActive(lbID, 60*time.Second)
	fip := tp.create("/v2.0/floatingips", "floatingip", map[string]any{"floating_network_id": tp.public, "port_id": lb["vip_port_id"]})["floating_ip_address"].(string)

	handshake := func(sni string, maxVersion uint16) (string, error) {
		return tp.servedCN(fip+":443", &tls.Config{ServerName: sni, RootCAs: ca.Pool(), MaxVersion: maxVersion})
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := handshake("www.options.test", 0); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("no TLS through the floating IP within 30s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for sni, want := range map[string]string{"api.options.test": "api.options.test", "www.options.test": "www.options.test", "unknown.options.test": ""} {
		cn, err := handshake(sni, 0)
		if want == "" {
			// The default certificate answers; it does not verify for
			// another name.
			if err == nil {
				t.Errorf("server name %s verified against the default certificate", sni)
			}
			continue
		}
		if err != nil || cn != want {
			t.Errorf("server name %s: certificate %q, %v", sni, cn, err)
		}
	}
	if _, err := handshake("api.options.test", tls.VersionTLS12); err == nil {
		t.Error("TLS 1.2 accepted by a TLSv1.3-only listener")
	}
	c := httpClient(tp.client, 5*time.Second)
	c.Transport.(*http.Transport).TLSClientConfig = &tls.Config{ServerName: "api.options.test", RootCAs: ca.Pool()}
	resp, err := c.Get("https://" + fip + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Strict-Transport-Security") != "max-age=300" {
		t.Fatalf("status %d, HSTS %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}

	// Leave the client's network out: its connections are closed.
	if err := tp.v2().Call("PUT", "/listeners/"+l["id"].(string), map[string]any{"listener": map[string]any{"allowed_cidrs": []string{"10.99.0.0/16"}}}, nil); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		if _, err := handshake("api.options.test", 0); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the client was still served 30s after its network left allowed_cidrs")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestMandatoryClientCertificatesThroughTheFloatingIP: a CA bundle with a
// revocation list uploaded without a key, a TERMINATED_HTTPS listener
// that requires client certificates of it: through the floating IP a
// client without one or with a revoked one is refused, a good one served.
func TestMandatoryClientCertificatesThroughTheFloatingIP(t *testing.T) {
	tp := startTopo(t)
	now := time.Now()
	serverCA, _ := pki.NewCA("e2e server CA", now.Add(-time.Hour), now.Add(24*time.Hour))
	clientsCA, _ := pki.NewCA("e2e clients CA", now.Add(-time.Hour), now.Add(24*time.Hour))
	leaf, err := pki.Issue(serverCA, pki.Request{CommonName: "mtls.options.test", DNSNames: []string{"mtls.options.test"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	good, _ := pki.IssueClient(clientsCA, pki.Request{CommonName: "alice", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)})
	bad, _ := pki.IssueClient(clientsCA, pki.Request{CommonName: "mallory", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)})
	crl, err := clientsCA.RevocationList(now, bad.Cert)
	if err != nil {
		t.Fatal(err)
	}
	server := tp.create("/v2.0/lbaas-certificates", "certificate", map[string]any{"name": "mtls", "certificate": string(leaf.CertPEM), "private_key": string(leaf.KeyPEM)})["id"].(string)
	clients := tp.create("/v2.0/lbaas-certificates", "certificate", map[string]any{"name": "clients", "certificate": string(clientsCA.CertPEM), "crl": string(crl)})["id"].(string)
	lb := tp.v2Create("/loadbalancers", "loadbalancer", map[string]any{"name": "mtls", "vip_subnet_id": tp.vipSub})
	lbID := lb["id"].(string)
	l := tp.v2Create("/listeners", "listener", map[string]any{"loadbalancer_id": lbID, "protocol": "TERMINATED_HTTPS", "protocol_port": 443,
		"default_tls_container_ref": server, "client_authentication": "MANDATORY", "client_ca_tls_container_ref": clients, "client_crl_container_ref": clients})
	pool := tp.v2Create("/pools", "pool", map[string]any{"listener_id": l["id"], "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"})
	tp.v2Create("/pools/"+pool["id"].(string)+"/members", "member", map[string]any{"address": tp.backends[0].Addr.String(), "protocol_port": 80, "subnet_id": tp.poolSub})
	tp.v2WaitActive(lbID, 60*time.Second)
	fip := tp.create("/v2.0/floatingips", "floatingip", map[string]any{"floating_network_id": tp.public, "port_id": lb["vip_port_id"]})["floating_ip_address"].(string)

	get := func(cert *pki.Issued) (string, error) {
		cfg := &tls.Config{ServerName: "mtls.options.test", RootCAs: serverCA.Pool()}
		if cert != nil {
			pair, err := tls.X509KeyPair(cert.CertPEM, cert.KeyPEM)
			if err != nil {
				return "", err
			}
			cfg.Certificates = []tls.Certificate{pair}
		}
		c := httpClient(tp.client, 5*time.Second)
		c.Transport.(*http.Transport).TLSClientConfig = cfg
		return bodyOf(c.Get("https://" + fip + "/"))
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		body, err := get(good)
		if err == nil && body == "backend "+tp.backends[0].Addr.String() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a good client certificate not served within 30s: %q %v", body, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if body, err := get(nil); err == nil {
		t.Errorf("no client certificate: served %q", body)
	}
	if body, err := get(bad); err == nil {
		t.Errorf("a revoked client certificate: served %q", body)
	}
}

// TestReplacingAListenersCertificateSwapsItWithoutAReloadOrAFailedRequest:
// a TERMINATED_HTTPS listener's default_tls_container_ref changed through
// the Octavia API reaches both VMs through HAProxy's runtime API: the
// same workers serve, new handshakes show the new certificate, and a
// client running through the change sees no failure.
func TestReplacingAListenersCertificateSwapsItWithoutAReloadOrAFailedRequest(t *testing.T) {
	tp := startTopo(t)
	now := time.Now()
	ca, _ := pki.NewCA("e2e rotation CA", now.Add(-time.Hour), now.Add(24*time.Hour))
	upload := func(cn string) string {
		c, err := pki.Issue(ca, pki.Request{CommonName: cn, DNSNames: []string{"rotate.options.test"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return tp.create("/v2.0/lbaas-certificates", "certificate", map[string]any{"name": cn, "certificate": string(c.CertPEM), "private_key": string(c.KeyPEM)})["id"].(string)
	}
	oldCert, newCert := upload("rotate-old"), upload("rotate-new")
	lb := tp.v2Create("/loadbalancers", "loadbalancer", map[string]any{"name": "rotate", "vip_subnet_id": tp.vipSub})
	lbID := lb["id"].(string)
	l := tp.v2Create("/listeners", "listener", map[string]any{"loadbalancer_id": lbID, "protocol": "TERMINATED_HTTPS", "protocol_port": 443, "default_tls_container_ref": oldCert})
	pool := tp.v2Create("/pools", "pool", map[string]any{"listener_id": l["id"], "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"})
	tp.v2Create("/pools/"+pool["id"].(string)+"/members", "member", map[string]any{"address": tp.backends[0].Addr.String(), "protocol_port": 80, "subnet_id": tp.poolSub})
	tp.v2WaitActive(lbID, 60*time.Second)
	fip := tp.create("/v2.0/floatingips", "floatingip", map[string]any{"floating_network_id": tp.public, "port_id": lb["vip_port_id"]})["floating_ip_address"].(string)

	seenCN := func() (string, error) {
		return tp.servedCN(fip+":443", &tls.Config{ServerName: "rotate.options.test", RootCAs: ca.Pool()})
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if cn, err := seenCN(); err == nil && cn == "rotate-old" {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the old certificate not served within 30s: %q %v", cn, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	before := tp.processesOfLB(lbID)
	c := httpClient(tp.client, 5*time.Second)
	c.Transport.(*http.Transport).TLSClientConfig = &tls.Config{ServerName: "rotate.options.test", RootCAs: ca.Pool()}
	stop := make(chan struct{})
	done := make(chan struct{})
	var sent, failed int
	go func() {
		defer close(done)
		for i := 0; i < 3000; i++ {
			select {
			case <-stop:
				return
			default:
			}
			sent++
			if _, err := bodyOf(c.Get("https://" + fip + "/")); err != nil {
				failed++
			}
		}
	}()
	if err := tp.v2().Call("PUT", "/listeners/"+l["id"].(string), map[string]any{"listener": map[string]any{"default_tls_container_ref": newCert}}, nil); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		if cn, err := seenCN(); err == nil && cn == "rotate-new" {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the new certificate not served within 30s: %q %v", cn, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	tp.v2WaitActive(lbID, 30*time.Second)
	close(stop)
	<-done
	t.Logf("certificate replaced: %d requests, %d failed", sent, failed)
	if failed > 0 || sent == 0 {
		t.Errorf("%d of %d requests failed across the certificate change", failed, sent)
	}
	after := tp.processesOfLB(lbID)
	for node, p := range after {
		if b, ok := before[node]; !ok || p.master != b.master || fmt.Sprint(p.workers) != fmt.Sprint(b.workers) {
			t.Errorf("%s: HAProxy %v became %v: the certificate change reloaded it", node, before[node], p)
		}
	}
}

// servedCN makes a TLS handshake with addr from the client namespace and
// returns the common name of the certificate the server showed.
func (tp *topo) servedCN(addr string, cfg *tls.Config) (string, error) {
	var cn string
	err := netns.Do(tp.client, func() error {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 3 * time.Second}, "tcp", addr, cfg)
		if err != nil {
			return err
		}
		defer conn.Close()
		cn = conn.ConnectionState().PeerCertificates[0].Subject.CommonName
		return nil
	})
	return cn, err
}

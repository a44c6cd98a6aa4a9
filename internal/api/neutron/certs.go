package neutron

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"lbaas/internal/api/httpapi"
	"lbaas/internal/model"
	"lbaas/internal/secrets"
	"lbaas/internal/store"
)

var certRes = &resource{policy: "certificate", kind: model.KindCertificate, singular: "certificate", plural: "certificates", what: "Certificate", notFound: "CertificateNotFound", view: viewCertificate}

// viewCertificate never shows the private key, nor the PEM at all: the API
// answers what a certificate is, not its bytes.
func viewCertificate(_ *Server, e store.Entry) map[string]any {
	c := e.Obj.(*model.Certificate)
	v := commonView(&c.Meta)
	v["name"] = c.Name
	v["fingerprint_sha256"] = c.FingerprintSHA256
	v["subject"] = c.Subject
	v["not_after"] = c.NotAfter.UTC().Format(time.RFC3339)
	// What it can serve as: a certificate with its key (a listener's or
	// a pool's own), or CA certificates (what clients or members are
	// checked against), with or without a revocation list.
	v["kind"] = "certificate"
	if c.PrivateKeyPEM == "" {
		v["kind"] = "ca_bundle"
	}
	v["has_crl"] = c.CRLPEM != ""
	return v
}

// maxPEMBytes bounds each PEM field; a chain of a few certificates fits.
const maxPEMBytes = 64 << 10

// parseCertificate checks that the PEMs hold a certificate that is valid
// now and a private key that belongs to it.
func parseCertificate(req *model.CertificateRequest, now time.Time) (*model.Certificate, error) {
	bad := func(format string, args ...any) error { return badRequest("InvalidCertificate", format, args...) }
	if req.PrivateKey == nil {
		return parseCABundle(req, now)
	}
	if req.CRL != nil {
		return nil, bad("A revocation list (crl) goes with CA certificates alone, without a private key")
	}
	certPEM, keyPEM := *req.Certificate, *req.PrivateKey
	chain := ""
	if req.Intermediates != nil {
		chain = *req.Intermediates
	}
	if len(certPEM) > maxPEMBytes || len(keyPEM) > maxPEMBytes || len(chain) > maxPEMBytes {
		return nil, bad("Certificate, key and intermediates must each be at most %d bytes", maxPEMBytes)
	}
	block, _ := pem.Decode([]byte(certPEM))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, bad("The certificate is not a PEM block of type CERTIFICATE")
	}
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, bad("The certificate cannot be parsed: %v", err)
	}
	if now.After(leaf.NotAfter) {
		return nil, bad("The certificate expired on %s", leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if now.Before(leaf.NotBefore) {
		return nil, bad("The certificate is not valid before %s", leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	if chain != "" {
		if _, err := parsePEMCertificates(chain, "The intermediates"); err != nil {
			return nil, err
		}
	}
	pair, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		// tls reports a mismatch and an unparsable key alike; say which.
		if kb, _ := pem.Decode([]byte(keyPEM)); kb == nil || !strings.Contains(kb.Type, "PRIVATE KEY") {
			return nil, bad("The private key is not a PEM block of type PRIVATE KEY")
		}
		return nil, bad("The private key does not match the certificate, or cannot be parsed")
	}
	if !keyMatches(leaf, pair.PrivateKey) {
		return nil, bad("The private key does not match the certificate")
	}
	sum := sha256.Sum256(leaf.Raw)
	name := ""
	if req.Name != nil {
		name = *req.Name
	}
	if err := model.ValidateText("name", name, model.MaxNameLen); err != nil {
		return nil, err
	}
	return &model.Certificate{
		Name:              name,
		CertificatePEM:    string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw})),
		PrivateKeyPEM:     keyPEM,
		IntermediatesPEM:  chain,
		FingerprintSHA256: hex.EncodeToString(sum[:]),
		Subject:           leaf.Subject.String(),
		NotAfter:          leaf.NotAfter,
	}, nil
}

// parseCABundle checks a certificate upload without a private key: one or
// more CA certificates (what a listener checks its clients against, or a
// pool its members), each valid now, and optionally a revocation list
// signed by one of them.
func parseCABundle(req *model.CertificateRequest, now time.Time) (*model.Certificate, error) {
	bad := func(format string, args ...any) error { return badRequest("InvalidCertificate", format, args...) }
	if req.Intermediates != nil && *req.Intermediates != "" {
		return nil, bad("Intermediates go with a certificate and its private key; a CA bundle lists all its certificates in certificate")
	}
	bundle := *req.Certificate
	if len(bundle) > maxPEMBytes {
		return nil, bad("The certificates must be at most %d bytes", maxPEMBytes)
	}
	certs, err := parsePEMCertificates(bundle, "A CA bundle (certificate without private_key)")
	if err != nil {
		return nil, err
	}
	var out []byte
	for _, c := range certs {
		if now.After(c.NotAfter) || now.Before(c.NotBefore) {
			return nil, bad("The certificate %q is not valid now (%s to %s)", c.Subject.String(), c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339))
		}
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	crl := ""
	if req.CRL != nil && *req.CRL != "" {
		if len(*req.CRL) > maxPEMBytes {
			return nil, bad("The revocation list must be at most %d bytes", maxPEMBytes)
		}
		b, tail := pem.Decode([]byte(*req.CRL))
		if b == nil || b.Type != "X509 CRL" || strings.TrimSpace(string(tail)) != "" {
			return nil, bad("The crl is not one PEM block of type X509 CRL")
		}
		rl, err := x509.ParseRevocationList(b.Bytes)
		if err != nil {
			return nil, bad("The revocation list cannot be parsed: %v", err)
		}
		signed := false
		for _, c := range certs {
			if rl.CheckSignatureFrom(c) == nil {
				signed = true
			}
		}
		if !signed {
			return nil, bad("The revocation list is not signed by a certificate of the bundle")
		}
		crl = string(pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: rl.Raw}))
	}
	sum := sha256.Sum256(certs[0].Raw)
	name := ""
	if req.Name != nil {
		name = *req.Name
	}
	if err := model.ValidateText("name", name, model.MaxNameLen); err != nil {
		return nil, err
	}
	return &model.Certificate{Name: name, CertificatePEM: string(out), CRLPEM: crl, FingerprintSHA256: hex.EncodeToString(sum[:]),
		Subject: certs[0].Subject.String(), NotAfter: certs[0].NotAfter}, nil
}

// parsePEMCertificates parses one or more CERTIFICATE blocks and nothing
// else; what names the field in messages.
func parsePEMCertificates(text, what string) ([]*x509.Certificate, error) {
	bad := func(format string, args ...any) error { return badRequest("InvalidCertificate", format, args...) }
	var certs []*x509.Certificate
	rest := []byte(text)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, bad("%s holds a PEM block of type %s; only blocks of type CERTIFICATE belong there", what, b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, bad("%s: a certificate cannot be parsed: %v", what, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 || strings.TrimSpace(string(rest)) != "" {
		return nil, bad("%s holds data that is not PEM certificates", what)
	}
	return certs, nil
}

func keyMatches(leaf *x509.Certificate, key crypto.PrivateKey) bool {
	type publicKeyer interface{ Public() crypto.PublicKey }
	pk, ok := key.(publicKeyer)
	if !ok {
		return false
	}
	switch pub := leaf.PublicKey.(type) {
	case *rsa.PublicKey:
		return pub.Equal(pk.Public())
	case *ecdsa.PublicKey:
		return pub.Equal(pk.Public())
	case ed25519.PublicKey:
		return pub.Equal(pk.Public())
	}
	return false
}

func (s *Server) createCertificate() http.HandlerFunc {
	return handleCreate(s, certRes, func(caller httpapi.Who, req *model.CertificateRequest) (model.Object, error) {
		tenant, err := tenantFor(caller, req.TenantID)
		if err != nil {
			return nil, err
		}
		c, err := parseCertificate(req, s.now())
		if err != nil {
			return nil, err
		}
		c.Meta = s.newMeta(tenant)
		// The key reaches the store sealed, bound to this certificate.
		if c.PrivateKeyPEM != "" {
			if c.PrivateKeyPEM, err = s.cfg.Secrets.Seal([]byte(c.PrivateKeyPEM), c.ID); err != nil {
				return nil, err
			}
		}
		return c, nil
	}, nil)
}

func (s *Server) deleteCertificate() http.HandlerFunc {
	return s.handleDelete(certRes, func(_ httpapi.Who, e store.Entry, _ *store.Txn) error {
		id := e.Obj.Base().ID
		for _, le := range s.st.ByIndex(model.KindListener, store.IdxCert, id) {
			l := le.Obj.(*model.Listener)
			what := "listener"
			if l.ID == l.LoadBalancerID {
				what = "VIP" // v1 made it: its listener has the VIP's id
			}
			return conflict("CertificateInUse", "Certificate %s is used by %s %s", id, what, l.ID)
		}
		for _, pe := range s.st.ByIndex(model.KindPool, store.IdxCert, id) {
			return conflict("CertificateInUse", "Certificate %s is used by pool %s", id, pe.Obj.Base().ID)
		}
		return nil
	})
}

// ResealCertificates seals again, with the key file's first key, every
// private key stored in the clear (before sealing existed) or under an
// older key of the file, one certificate per transaction; a certificate
// changed meanwhile is left for the next pass. It returns how many it
// resealed and how many remain under keys the file does not have.
func ResealCertificates(ctx context.Context, st *store.Store, k *secrets.Keyring) (resealed, unknown int, err error) {
	for _, e := range st.List(model.KindCertificate) {
		c := *e.Obj.(*model.Certificate)
		if !k.Stale(c.PrivateKeyPEM) {
			if _, err := k.Open(c.PrivateKeyPEM, c.ID); errors.Is(err, secrets.ErrUnknownKey) {
				unknown++
			}
			continue
		}
		plain, err := k.Open(c.PrivateKeyPEM, c.ID)
		if err != nil {
			return resealed, unknown, fmt.Errorf("certificate %s: %w", c.ID, err)
		}
		if c.PrivateKeyPEM, err = k.Seal(plain, c.ID); err != nil {
			return resealed, unknown, err
		}
		if _, err := st.Commit(ctx, new(store.Txn).Update(model.KindCertificate, &c, e.Rev)); err != nil {
			if errors.Is(err, store.ErrConflict) {
				continue
			}
			return resealed, unknown, err
		}
		resealed++
	}
	return resealed, unknown, nil
}

package bench

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"lbaas/internal/netns"
	"lbaas/internal/pki"
)

// The SNI section's two configurations: one certificate, and a default
// with sniCount SNI certificates that the clients' server names rotate
// over.
const (
	sniCount         = 50
	tlsOursPortBase  = 8443 // ours: 8443 one certificate, 8444 with SNI
	tlsHandPortBase  = 9443 // hand-written: the same on 9443, 9444
	handshakeWorkers = 8
)

// TLSResult is the handshake rate of a TERMINATED_HTTPS listener with one
// certificate and with sniCount SNI certificates, beside a hand-written
// HAProxy serving the same certificates (one file; a directory of them).
type TLSResult struct {
	Stages []TLSStage
	Err    string
}

// TLSStage is one certificate count.
type TLSStage struct {
	Certificates int
	Ours, Hand   HandshakeResult
}

// HandshakeResult is a run of full TLS handshakes (no resumption, a new
// connection each) against one listener.
type HandshakeResult struct {
	Name       string
	Handshakes int64
	Errors     int64
	// WrongCert counts handshakes that showed a certificate for another
	// name than the one asked for.
	WrongCert int64
	Elapsed   time.Duration
	// CPU is the serving HAProxy's CPU time over the run (0: not measured).
	CPU time.Duration
}

// Rate is handshakes per second.
func (h HandshakeResult) Rate() float64 {
	if h.Elapsed <= 0 {
		return 0
	}
	return float64(h.Handshakes) / h.Elapsed.Seconds()
}

// CPUPerHandshake is the serving HAProxy's CPU time per handshake.
func (h HandshakeResult) CPUPerHandshake() time.Duration {
	if h.Handshakes == 0 {
		return 0
	}
	return h.CPU / time.Duration(h.Handshakes)
}

// Ratio is ours over the hand-written configuration at this count.
func (s TLSStage) Ratio() float64 {
	if h := s.Hand.Rate(); h > 0 {
		return s.Ours.Rate() / h
	}
	return 0
}

// sniName is the server name of the i-th SNI certificate (0: the default).
func sniName(i int) string { return fmt.Sprintf("sni-%02d.bench.test", i) }

// tls measures handshake rates: two listeners on the benchmark's load
// balancer made through the Octavia API (one with a default certificate
// only, one with the default and sniCount SNI certificates) and the same
// two as hand-written HAProxy frontends.
func (tp *dpTopo) tls(ctx context.Context, o DataplaneOptions) TLSResult {
	var res TLSResult
	if tp.handNS == "" {
		res.Err = "no hand-written HAProxy namespace (the throughput section failed to start it)"
		return res
	}
	now := time.Now()
	ca, err := pki.NewCA("lbaas bench TLS CA", now.Add(-time.Hour), now.Add(24*time.Hour))
	if err != nil {
		res.Err = err.Error()
		return res
	}
	dir, err := os.MkdirTemp("", "lbt-bench-tls")
	if err != nil {
		res.Err = err.Error()
		return res
	}
	defer os.RemoveAll(dir)
	sniDir := filepath.Join(dir, "sni")
	if err := os.Mkdir(sniDir, 0o700); err != nil {
		res.Err = err.Error()
		return res
	}
	var certIDs []string
	var made []string // listeners, then certificates, deleted in that order
	defer func() {
		for _, id := range made {
			_ = tp.octavia.Call("DELETE", "/v2/lbaas/listeners/"+id, nil, nil)
		}
		_ = tp.waitLBActive(context.Background(), 60*time.Second)
		for _, id := range certIDs {
			_ = tp.api.Call("DELETE", "/v2.0/lbaas-certificates/"+id, nil, nil)
		}
	}()
	for i := 0; i <= sniCount; i++ {
		c, err := pki.Issue(ca, pki.Request{CommonName: sniName(i), DNSNames: []string{sniName(i)}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)})
		if err != nil {
			res.Err = err.Error()
			return res
		}
		cert, err := tp.api.Create("/v2.0/lbaas-certificates", "certificate", map[string]any{"name": sniName(i), "certificate": string(c.CertPEM), "private_key": string(c.KeyPEM)})
		if err != nil {
			res.Err = fmt.Sprintf("certificate %d: %v", i, err)
			return res
		}
		certIDs = append(certIDs, str(cert, "id"))
		pem := append(append([]byte{}, c.CertPEM...), c.KeyPEM...)
		if err := os.WriteFile(filepath.Join(sniDir, sniName(i)+".pem"), pem, 0o600); err != nil {
			res.Err = err.Error()
			return res
		}
		if i == 0 {
			if err := os.WriteFile(filepath.Join(dir, "one.pem"), pem, 0o600); err != nil {
				res.Err = err.Error()
				return res
			}
		}
	}
	for i, refs := range [][]string{nil, certIDs[1:]} {
		l, err := tp.octavia.Create("/v2/lbaas/listeners", "listener", map[string]any{"loadbalancer_id": tp.vipID, "protocol": "TERMINATED_HTTPS",
			"protocol_port": tlsOursPortBase + i, "default_tls_container_ref": certIDs[0], "sni_container_refs": refs})
		if err != nil {
			res.Err = fmt.Sprintf("listener on %d: %v", tlsOursPortBase+i, err)
			return res
		}
		made = append(made, str(l, "id"))
	}
	hand := mustPrefix(addrHandVIP).Addr().String()
	cfgs := map[int]string{
		tlsHandPortBase:     handConfig(fmt.Sprintf("%s:%d ssl crt %s", hand, tlsHandPortBase, filepath.Join(dir, "one.pem")), "    nbthread 1\n"),
		tlsHandPortBase + 1: handConfig(fmt.Sprintf("%s:%d ssl crt %s", hand, tlsHandPortBase+1, sniDir), "    nbthread 1\n"),
	}
	if err := tp.runHandWrittenWith(ctx, cfgs, func(ctx context.Context, port int) error {
		return tp.waitHandshake(ctx, fmt.Sprintf("%s:%d", hand, port), sniName(0), 10*time.Second)
	}); err != nil {
		res.Err = "hand-written HAProxy with certificates: " + err.Error()
		return res
	}
	if err := tp.waitLBActive(ctx, 60*time.Second); err != nil {
		res.Err = err.Error()
		return res
	}
	for i := range 2 {
		if err := tp.waitHandshake(ctx, fmt.Sprintf("%s:%d", tp.vipAddr, tlsOursPortBase+i), sniName(0), 30*time.Second); err != nil {
			res.Err = err.Error()
			return res
		}
	}
	for i, certs := range []int{1, sniCount} {
		names := []string{sniName(0)}
		if certs > 1 {
			names = names[:0]
			for k := 1; k <= sniCount; k++ {
				names = append(names, sniName(k))
			}
		}
		st := TLSStage{Certificates: certs}
		for round := 1; round <= o.Rounds; round++ {
			ours := tp.handshakes(ctx, fmt.Sprintf("%s:%d", tp.vipAddr, tlsOursPortBase+i), names, o.WrkDuration, tp.servingHAProxy)
			handPid := tp.handPids[tlsHandPortBase+i]
			hnd := tp.handshakes(ctx, fmt.Sprintf("%s:%d", hand, tlsHandPortBase+i), names, o.WrkDuration, func() []int { return []int{handPid} })
			st.Ours.add(ours)
			st.Hand.add(hnd)
			o.progress("tls round %d, %d certificates: ours %.0f handshakes/s (%d errors, %d wrong), hand-written %.0f/s (%d errors, %d wrong)",
				round, certs, ours.Rate(), ours.Errors, ours.WrongCert, hnd.Rate(), hnd.Errors, hnd.WrongCert)
		}
		st.Ours.Name, st.Hand.Name = fmt.Sprintf("ours, %d certificates", certs), fmt.Sprintf("hand-written, %d certificates", certs)
		res.Stages = append(res.Stages, st)
	}
	return res
}

// add sums another run into h.
func (h *HandshakeResult) add(r HandshakeResult) {
	h.Handshakes += r.Handshakes
	h.Errors += r.Errors
	h.WrongCert += r.WrongCert
	h.Elapsed += r.Elapsed
	h.CPU += r.CPU
}

// waitLBActive waits (bounded) until the benchmark's load balancer is
// ACTIVE again after a change through the Octavia API.
func (tp *dpTopo) waitLBActive(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	last := ""
	for time.Now().Before(deadline) {
		lb, err := tp.octavia.Get("/v2/lbaas/loadbalancers/"+tp.vipID, "loadbalancer")
		if last = str(lb, "provisioning_status"); err == nil && last == "ACTIVE" {
			return nil
		}
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
	// The event history says why (a VM's error, with the agent's reason).
	var evs struct {
		Events []map[string]any `json:"events"`
	}
	why := ""
	if err := tp.api.Call("GET", "/v2.0/lbaas-events?loadbalancer_id="+tp.vipID+"&severity=error&limit=2", nil, &evs); err == nil {
		for _, e := range evs.Events {
			why += "; " + str(e, "message")
		}
	}
	return fmt.Errorf("bench: load balancer %s not ACTIVE within %v (last %q)%s", tp.vipID, limit, last, why)
}

// handshake makes one full TLS handshake with addr from the VIP client
// namespace, asking for name, and returns the common name shown.
func (tp *dpTopo) handshake(addr, name string) (string, error) {
	var conn net.Conn
	if err := netns.Do(tp.vipClient, func() error {
		var err error
		conn, err = net.DialTimeout("tcp", addr, 2*time.Second)
		return err
	}); err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	// The certificate's name is checked below; chain verification would
	// only add the client's CPU to the measure. No session cache: every
	// handshake is a full one.
	tc := tls.Client(conn, &tls.Config{ServerName: name, InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		return "", err
	}
	return tc.ConnectionState().PeerCertificates[0].Subject.CommonName, nil
}

// waitHandshake waits (bounded) until addr completes a handshake showing
// the certificate for name.
func (tp *dpTopo) waitHandshake(ctx context.Context, addr, name string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var err error
	for time.Now().Before(deadline) {
		var cn string
		if cn, err = tp.handshake(addr, name); err == nil && cn == name {
			return nil
		} else if err == nil {
			err = fmt.Errorf("certificate %q for %q", cn, name)
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
	return fmt.Errorf("bench: no TLS handshake with %s within %v: %v", addr, limit, err)
}

// handshakes runs handshakeWorkers clients making handshakes with addr
// for d (bounded by d and the context), server names in rotation, and
// charges the CPU time of processes() over the run.
func (tp *dpTopo) handshakes(ctx context.Context, addr string, names []string, d time.Duration, processes func() []int) HandshakeResult {
	var res HandshakeResult
	var ok, failed, wrong, next atomic.Int64
	cpu0, measured := sampleCPU(processes())
	start := time.Now()
	stop := start.Add(d)
	var wg sync.WaitGroup
	for range handshakeWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) && ctx.Err() == nil {
				name := names[int(next.Add(1))%len(names)]
				cn, err := tp.handshake(addr, name)
				switch {
				case err != nil:
					failed.Add(1)
				case cn != name:
					wrong.Add(1)
				default:
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.Handshakes, res.Errors, res.WrongCert = ok.Load(), failed.Load(), wrong.Load()
	if measured {
		if cpu1, ok := sampleCPU(processes()); ok {
			if used, same := cpu1.since(cpu0); same {
				res.CPU = used
			}
		}
	}
	return res
}

func (r *DataplaneReport) tlsMarkdown(w writer) {
	x := r.TLS
	w("## TLS handshakes and SNI")
	w("")
	w("Two TERMINATED_HTTPS listeners added to the load balancer through the Octavia API: one with a default certificate")
	w("only, one with the default and %d SNI certificates (ECDSA P-256, uploaded through the certificate API). The", sniCount)
	w("hand-written HAProxy (`nbthread 1`) serves the same certificates: `crt` one file, and `crt` a directory of them.")
	w("%d clients in the VIP network's client namespace each make full handshakes (a new connection each, no session", handshakeWorkers)
	w("resumption), the server name rotating over the SNI certificates' names (one name for one certificate); a")
	w("handshake that shows a certificate for another name is counted as wrong. CPU: the serving HAProxy's, per handshake.")
	w("The clients share the 2 CPUs with HAProxy, so the rates are a lower bound; the ratios are what compares.")
	w("")
	w("| certificates | ours handshakes/s | hand-written handshakes/s | ours / hand-written | ours CPU µs/handshake | hand-written CPU µs/handshake | errors (ours / hand) | wrong certificate (ours / hand) |")
	w("|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, s := range x.Stages {
		w("| %d | %.0f | %.0f | %s | %s | %s | %d / %d | %d / %d |", s.Certificates, s.Ours.Rate(), s.Hand.Rate(), fmtRatio(s.Ratio()),
			micros(s.Ours.CPUPerHandshake()), micros(s.Hand.CPUPerHandshake()), s.Ours.Errors, s.Hand.Errors, s.Ours.WrongCert, s.Hand.WrongCert)
	}
	if len(x.Stages) == 2 && x.Stages[0].Ours.Rate() > 0 && x.Stages[0].Hand.Rate() > 0 {
		w("")
		w("- %d SNI certificates keep %s of ours' handshake rate with one (hand-written: %s of its own)", sniCount,
			fmtRatio(x.Stages[1].Ours.Rate()/x.Stages[0].Ours.Rate()), fmtRatio(x.Stages[1].Hand.Rate()/x.Stages[0].Hand.Rate()))
	}
	if x.Err != "" {
		w("- error: %s", x.Err)
	}
	w("")
}

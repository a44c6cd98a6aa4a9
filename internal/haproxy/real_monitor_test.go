package haproxy

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

func TestTLSHelloMonitorTellsATLSMemberFromAPlainOne(t *testing.T) {
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "T") }))
	// The probe's SSLv3 hello fails the handshake by design: not worth a log line.
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	plain := startBackend(t, "P")
	ap := netip.MustParseAddrPort(tlsSrv.Listener.Addr().String())
	spec, mgr := realInstance(t,
		Member{ID: memA, Address: ap.Addr(), Port: int(ap.Port()), Weight: 1, AdminUp: true},
		plain.member(t, memB))
	spec.lis(0).Protocol, spec.pool(0).Protocol = ProtocolHTTPS, ProtocolHTTPS
	spec.pool(0).Monitor = &Monitor{Type: MonitorTLSHello, Delay: 1, Timeout: 1, Rise: 1, Fall: 1}
	if _, err := mgr.Apply(ctx(t), spec); err != nil {
		t.Fatal(err)
	}
	slots := SlotMap(spec.pool(0).Members)
	eventually(t, 10*time.Second, "TLS member UP and plain member DOWN", func() bool {
		return serverStats(t, spec, slots[memA]).Status == StatusUp && serverStats(t, spec, slots[memB]).Status == StatusDown
	})
	t.Logf("TLS member check %q, plain member check %q",
		serverStats(t, spec, slots[memA]).CheckStatus, serverStats(t, spec, slots[memB]).CheckStatus)
}

func TestMonitorAddressAndPortAreWhereChecksGo(t *testing.T) {
	a, b, health := startBackend(t, "A"), startBackend(t, "B"), startBackend(t, "H")
	ma, mb := a.member(t, memA), b.member(t, memB)
	// A's own port answers, but its checks go to H, which is up; B's own port
	// answers too, but its checks go to a closed port.
	hp := health.addrPort(t)
	ma.MonitorAddress, ma.MonitorPort = hp.Addr(), int(hp.Port())
	mb.MonitorPort = freePort(t)
	spec, mgr := realInstance(t, ma, mb)
	spec.pool(0).Monitor = &Monitor{Type: MonitorHTTP, Delay: 1, Timeout: 1, Rise: 1, Fall: 1}
	if _, err := mgr.Apply(ctx(t), spec); err != nil {
		t.Fatal(err)
	}
	slots := SlotMap(spec.pool(0).Members)
	eventually(t, 10*time.Second, "A UP through H and B DOWN through the closed port", func() bool {
		return serverStats(t, spec, slots[memA]).Status == StatusUp && serverStats(t, spec, slots[memB]).Status == StatusDown
	})
	if health.hits.Load() == 0 || a.hits.Load() != 0 {
		t.Errorf("checks reached H %d times and A itself %d times", health.hits.Load(), a.hits.Load())
	}
	if n := count(sequence(t, spec, 3)); n["A"] != 3 {
		t.Errorf("traffic %v, want all on A (B is down by its monitor port)", n)
	}
}

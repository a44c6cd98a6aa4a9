package haproxy

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"lbaas/internal/pki"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// goldenCases covers each protocol, method, persistence, monitor type, TLS,
// connection limit, admin-down pool/member/listener, an empty pool, and the
// load-balancer shapes: listeners sharing a pool, two pools, a listener
// without a default pool, backup members, monitor addresses and timeouts.
func goldenCases() map[string]Spec {
	c := map[string]Spec{}
	add := func(name string, mod func(*Spec)) {
		s := baseSpec()
		mod(&s)
		c[name] = s
	}
	tls := func(l *Listener) {
		l.Protocol, l.Port, l.TLSCertFile = ProtocolTerminatedHTTPS, 443, "/var/lib/lbaas/certs/vip.pem"
	}
	add("http_roundrobin", func(s *Spec) {})
	// A new Octavia load balancer has no listener yet: the process runs
	// with its runtime socket alone, so that the first listener is a
	// reload like any other.
	add("no_listeners", func(s *Spec) { s.Listeners, s.Pools = nil, nil })
	add("tcp_leastconn", func(s *Spec) {
		s.lis(0).Protocol, s.pool(0).Protocol = ProtocolTCP, ProtocolTCP
		s.pool(0).Method = MethodLeastConnections
	})
	add("https_passthrough_source", func(s *Spec) {
		s.lis(0).Protocol, s.pool(0).Protocol = ProtocolHTTPS, ProtocolHTTPS
		s.lis(0).Port = 443
		s.pool(0).Method = MethodSourceIP
	})
	add("https_tls_termination", func(s *Spec) { tls(s.lis(0)) })
	add("persistence_source_ip", func(s *Spec) { s.pool(0).Persistence = Persistence{Type: PersistenceSourceIP} })
	add("persistence_http_cookie", func(s *Spec) { s.pool(0).Persistence = Persistence{Type: PersistenceHTTPCookie} })
	add("persistence_app_cookie", func(s *Spec) {
		s.pool(0).Persistence = Persistence{Type: PersistenceAppCookie, CookieName: "JSESSIONID"}
	})
	add("monitor_tcp", func(s *Spec) {
		s.pool(0).Monitor = &Monitor{Type: MonitorTCP, Delay: 5, Timeout: 3, Rise: 2, Fall: 3}
	})
	add("monitor_http_codes_list", func(s *Spec) {
		s.pool(0).Monitor = &Monitor{Type: MonitorHTTP, Delay: 20, Timeout: 10, Rise: 2, Fall: 3,
			HTTPMethod: "HEAD", URLPath: "/healthz?full=1", ExpectedCodes: "200,202"}
	})
	add("monitor_http_defaults", func(s *Spec) {
		s.pool(0).Monitor = &Monitor{Type: MonitorHTTP, Delay: 0, Timeout: 0, Rise: 2, Fall: 1}
	})
	add("monitor_https_codes_range", func(s *Spec) {
		s.pool(0).Monitor = &Monitor{Type: MonitorHTTPS, Delay: 10, Timeout: 5, Rise: 2, Fall: 2,
			HTTPMethod: "GET", URLPath: "/", ExpectedCodes: "200-204"}
	})
	add("monitor_ping", func(s *Spec) {
		s.pool(0).Monitor = &Monitor{Type: MonitorPing, Delay: 2, Timeout: 1, Rise: 2, Fall: 3,
			PingCommand: "/usr/local/bin/lbaas-ping"}
	})
	add("monitor_tls_hello", func(s *Spec) {
		s.lis(0).Protocol, s.pool(0).Protocol, s.lis(0).Port = ProtocolHTTPS, ProtocolHTTPS, 443
		s.pool(0).Monitor = &Monitor{Type: MonitorTLSHello, Delay: 5, Timeout: 2, Rise: 2, Fall: 2}
	})
	add("monitor_http11_domain", func(s *Spec) {
		s.pool(0).Monitor = &Monitor{Type: MonitorHTTP, Delay: 5, Timeout: 2, Rise: 2, Fall: 2,
			HTTPMethod: "GET", HTTPVersion: "1.1", DomainName: "app.example.com", URLPath: "/health"}
	})
	add("monitor_rise_fall", func(s *Spec) {
		s.pool(0).Monitor = &Monitor{Type: MonitorTCP, Delay: 3, Timeout: 1, Rise: 5, Fall: 2}
	})
	add("monitor_address_port", func(s *Spec) {
		s.pool(0).Monitor = &Monitor{Type: MonitorTCP, Delay: 5, Timeout: 3, Rise: 2, Fall: 3}
		s.pool(0).Members[0].MonitorAddress = netip.MustParseAddr("192.168.7.1")
		s.pool(0).Members[0].MonitorPort = 9000
		s.pool(0).Members[1].MonitorPort = 9001
	})
	add("backup_member", func(s *Spec) {
		s.pool(0).Members = append(s.pool(0).Members, Member{ID: memC, Address: netip.MustParseAddr("10.1.0.3"),
			Port: 8080, Weight: 1, AdminUp: true, Backup: true, Slot: 3})
	})
	add("source_ip_port", func(s *Spec) {
		s.lis(0).Protocol, s.pool(0).Protocol = ProtocolTCP, ProtocolTCP
		s.pool(0).Method = MethodSourceIPPort
	})
	add("source_ip_port_http", func(s *Spec) { s.pool(0).Method = MethodSourceIPPort })
	add("conn_limit", func(s *Spec) { s.lis(0).ConnLimit = 100; s.Global.MaxConn = 2000 })
	add("pool_admin_down", func(s *Spec) { s.pool(0).AdminUp = false })
	add("member_admin_down_weight_zero", func(s *Spec) {
		s.pool(0).Members[0].AdminUp = false
		s.pool(0).Members[1].Weight = 0
	})
	add("listener_admin_down", func(s *Spec) { s.lis(0).AdminUp = false })
	add("empty_pool", func(s *Spec) { s.pool(0).Members = nil })
	add("ipv6", func(s *Spec) {
		s.lis(0).Address = netip.MustParseAddr("2001:db8::10")
		s.pool(0).Members[0].Address = netip.MustParseAddr("2001:db8:1::1")
		s.pool(0).Persistence = Persistence{Type: PersistenceSourceIP}
	})
	add("two_listeners_one_pool", func(s *Spec) {
		l := *s.lis(0)
		l.ID = lisB
		tls(&l)
		s.Listeners = append(s.Listeners, l)
	})
	add("two_pools", func(s *Spec) {
		withSecondPool(s)
		s.pool(1).Protocol, s.pool(1).Method = ProtocolTCP, MethodLeastConnections
		s.Listeners = append(s.Listeners, Listener{ID: lisB, Address: s.lis(0).Address, Port: 3306,
			Protocol: ProtocolTCP, ConnLimit: -1, AdminUp: true, DefaultPoolID: pool2ID})
	})
	add("listener_without_default_pool", func(s *Spec) {
		s.lis(0).DefaultPoolID = ""
		s.Listeners = append(s.Listeners, Listener{ID: lisB, Address: s.lis(0).Address, Port: 22,
			Protocol: ProtocolTCP, ConnLimit: -1, AdminUp: true})
	})
	add("listener_timeouts", func(s *Spec) {
		l := s.lis(0)
		l.TimeoutClientData, l.TimeoutMemberConnect, l.TimeoutMemberData = 90*time.Second, 1500*time.Millisecond, 2*time.Minute
		l.TimeoutTCPInspect = 3 * time.Second
		// A second listener on the same pool with a longer connect timeout
		// and a shorter data timeout: the backend takes the larger of each.
		s.Listeners = append(s.Listeners, Listener{ID: lisB, Address: l.Address, Port: 8080, Protocol: ProtocolHTTP,
			ConnLimit: -1, AdminUp: true, DefaultPoolID: poolID,
			TimeoutMemberConnect: 3 * time.Second, TimeoutMemberData: 10 * time.Second})
	})
	add("listener_options", func(s *Spec) {
		tls(s.lis(0))
		l := s.lis(0)
		l.SNICertFiles = []string{"/var/lib/lbaas/certs/api.pem", "/var/lib/lbaas/certs/www.pem"}
		l.TLS = TLSOptions{MinVersion: "TLSv1.2", MaxVersion: "TLSv1.3", Ciphers: "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:!aNULL", ALPN: []string{"h2", "http/1.1"}}
		l.HSTS = &HSTS{MaxAge: 31536000, IncludeSubdomains: true, Preload: true}
		l.AllowedCIDRs = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("198.51.100.7/32")}
		l.Headers = []Header{HeaderForwardedPort, HeaderClientCN, HeaderClientVerify}
	})
	add("client_auth_and_reencryption", func(s *Spec) {
		tls(s.lis(0))
		s.lis(0).TLS = TLSOptions{Verify: "required", CAFile: "/var/lib/lbaas/certs/clients-ca.pem", CRLFile: "/var/lib/lbaas/certs/clients-crl.pem"}
		s.lis(0).Headers = []Header{HeaderClientDN, HeaderClientSHA1, HeaderIssuer, HeaderClientNotBefor, HeaderClientNotAfter, HeaderClientHasCert}
		s.pool(0).TLS = &TLSOptions{CAFile: "/var/lib/lbaas/certs/members-ca.pem", CertFile: "/var/lib/lbaas/certs/pool.pem",
			MinVersion: "TLSv1.2", MaxVersion: "TLSv1.3", Ciphers: "ECDHE-RSA-AES128-GCM-SHA256", ALPN: []string{"http/1.1"}}
		s.pool(0).Monitor = &Monitor{Type: MonitorHTTPS, Delay: 5, Timeout: 2, Rise: 2, Fall: 2}
	})
	add("prometheus_listener", func(s *Spec) {
		s.Listeners = append(s.Listeners, Listener{ID: lisB, Address: s.lis(0).Address, Port: 8404, Protocol: ProtocolPrometheus,
			ConnLimit: -1, AdminUp: true, AllowedCIDRs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	})
	add("http_headers_off", func(s *Spec) {
		s.lis(0).NoForwardedFor = true
		s.lis(0).Headers = []Header{HeaderForwardedPort, HeaderForwardedProto}
	})
	add("proxy_pools", func(s *Spec) {
		s.pool(0).Protocol = ProtocolProxy
		s.pool(0).Monitor = &Monitor{Type: MonitorHTTP, Delay: 5, Timeout: 2, Rise: 2, Fall: 2}
		withSecondPool(s)
		s.pool(1).Protocol = ProtocolProxyV2
		s.Listeners = append(s.Listeners, Listener{ID: lisB, Address: s.lis(0).Address, Port: 3306,
			Protocol: ProtocolTCP, ConnLimit: -1, AdminUp: true, DefaultPoolID: pool2ID})
	})
	add("l7_policies", func(s *Spec) {
		withSecondPool(s)
		s.lis(0).L7Policies = l7Sample()
	})
	return c
}

// l7Sample is one policy per action and one rule per type, in an order
// where a later policy would win if position did not decide.
func l7Sample() []L7Policy {
	rule := func(n int, typ, cmp, key, value string, invert bool) L7Rule {
		return L7Rule{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", n), Type: typ, Compare: cmp, Key: key, Value: value, Invert: invert}
	}
	pol := func(n int) string { return fmt.Sprintf("10000000-0000-4000-8000-%012d", n) }
	return []L7Policy{
		{ID: pol(1), Action: L7RedirectToPool, PoolID: pool2ID, Rules: []L7Rule{
			rule(1, "HOST_NAME", "EQUAL_TO", "", "api.example.com", false),
			rule(2, "PATH", "STARTS_WITH", "", "/v2/", false),
		}},
		{ID: pol(2), Action: L7Reject, Rules: []L7Rule{rule(3, "PATH", "REGEX", "", `^/admin(/|$)`, false)}},
		{ID: pol(3), Action: L7RedirectToURL, URL: "https://example.com/moved%20here", Code: 301, Rules: []L7Rule{
			rule(4, "HEADER", "CONTAINS", "User-Agent", "curl", false),
		}},
		{ID: pol(4), Action: L7RedirectPrefix, URL: "https://secure.example.com", Code: 308, Rules: []L7Rule{
			rule(5, "COOKIE", "ENDS_WITH", "session", "-legacy", true),
		}},
		{ID: pol(5), Action: L7RedirectToPool, PoolID: pool2ID, Rules: []L7Rule{
			rule(6, "FILE_TYPE", "EQUAL_TO", "", "jpg", false),
			rule(7, "FILE_TYPE", "REGEX", "", "png|gif", true),
		}},
		// No rules: matches nothing and is not rendered.
		{ID: pol(6), Action: L7Reject},
	}
}

func TestRenderMatchesGoldenFiles(t *testing.T) {
	for name, spec := range goldenCases() {
		t.Run(name, func(t *testing.T) {
			got, err := Render(spec)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("rendered config differs from %s:\n%s", path, got)
			}
		})
	}
}

func TestRenderIsDeterministicWhateverTheMemberListenerAndPoolOrder(t *testing.T) {
	s := baseSpec()
	withSecondPool(&s)
	s.Listeners = append(s.Listeners, Listener{ID: lisB, Address: s.lis(0).Address, Port: 81,
		Protocol: ProtocolHTTP, AdminUp: true, DefaultPoolID: pool2ID})
	first, err := Render(s)
	if err != nil {
		t.Fatal(err)
	}
	s.pool(0).Members[0], s.pool(0).Members[1] = s.pool(0).Members[1], s.pool(0).Members[0]
	s.Pools[0], s.Pools[1] = s.Pools[1], s.Pools[0]
	s.Listeners[0], s.Listeners[1] = s.Listeners[1], s.Listeners[0]
	for i := 0; i < 20; i++ {
		again, err := Render(s)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, again) {
			t.Fatal("render output depends on member, listener or pool order, or varies between calls")
		}
	}
	text := string(first)
	if strings.Index(text, "frontend "+FrontendName(lisA)) > strings.Index(text, "frontend "+FrontendName(lisB)) ||
		strings.Index(text, "backend "+BackendName(poolID)) > strings.Index(text, "backend "+BackendName(pool2ID)) {
		t.Errorf("listeners not by port or pools not by id:\n%s", text)
	}
}

// Every golden case must also be a configuration HAProxy itself accepts.
func TestEveryGoldenConfigPassesHaproxyCheck(t *testing.T) {
	bin := needHAProxy(t)
	dir := t.TempDir()
	cert := filepath.Join(dir, "vip.pem")
	writeSelfSigned(t, cert, nil)
	ca, err := pki.NewCA("golden CA", time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	crl, err := ca.RevocationList(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	caFile, crlFile := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "crl.pem")
	os.WriteFile(caFile, ca.CertPEM, 0o600)
	os.WriteFile(crlFile, crl, 0o600)
	for name, spec := range goldenCases() {
		t.Run(name, func(t *testing.T) {
			spec = spec.clone()
			for i := range spec.Pools {
				if tl := spec.Pools[i].TLS; tl != nil {
					c := *tl
					c.CAFile, c.CertFile = caFile, cert
					spec.Pools[i].TLS = &c
				}
			}
			spec.Listeners = append([]Listener(nil), spec.Listeners...)
			for i := range spec.Listeners {
				if spec.Listeners[i].TLSCertFile != "" {
					spec.Listeners[i].TLSCertFile = cert
				}
				if spec.Listeners[i].TLS.CAFile != "" {
					spec.Listeners[i].TLS.CAFile, spec.Listeners[i].TLS.CRLFile = caFile, crlFile
				}
				sni := spec.Listeners[i].SNICertFiles
				spec.Listeners[i].SNICertFiles = nil
				for range sni {
					spec.Listeners[i].SNICertFiles = append(spec.Listeners[i].SNICertFiles, cert)
				}
			}
			path := filepath.Join(dir, name+".cfg")
			spec.Paths.Config = path
			if err := writeCrtLists(spec); err != nil {
				t.Fatal(err)
			}
			cfg, err := Render(spec)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, cfg, 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.CommandContext(context.Background(), bin, "-c", "-f", path).CombinedOutput()
			if err != nil {
				t.Fatalf("haproxy -c refused %s: %v\n%s", name, err, out)
			}
		})
	}
}

func TestHTTPModeAddsForwardedForAndTCPDoesNot(t *testing.T) {
	s := baseSpec()
	cfg, _ := Render(s)
	if !strings.Contains(string(cfg), "option forwardfor") || !strings.Contains(string(cfg), "mode http") {
		t.Errorf("HTTP config lacks mode http / forwardfor:\n%s", cfg)
	}
	s.lis(0).Protocol, s.pool(0).Protocol = ProtocolHTTPS, ProtocolHTTPS
	cfg, _ = Render(s)
	if strings.Contains(string(cfg), "forwardfor") || !strings.Contains(string(cfg), "mode tcp") {
		t.Errorf("HTTPS pass-through must be plain tcp:\n%s", cfg)
	}
}

func TestMonitorMapsDelayToInterAndTimeoutToTimeoutCheck(t *testing.T) {
	s := baseSpec()
	s.pool(0).Monitor = &Monitor{Type: MonitorTCP, Delay: 20, Timeout: 10, Rise: 2, Fall: 3}
	cfg, err := Render(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"timeout check 10s", "check inter 20s fall 3 rise 2"} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("missing %q in\n%s", want, cfg)
		}
	}
}

func TestGlobalHasExplicitMaxconnAdminSocketAndNoSecrets(t *testing.T) {
	cfg, err := Render(baseSpec())
	if err != nil {
		t.Fatal(err)
	}
	text := string(cfg)
	for _, want := range []string{"maxconn 4096", "master-worker", "hard-stop-after 30s",
		"stats socket /var/lib/lbaas/loadbalancer/" + lbID + "/haproxy.sock mode 600 level admin expose-fd listeners"} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q", want)
		}
	}
	for _, banned := range []string{"stats auth", "stats uri", "userlist", "password", "log "} {
		if strings.Contains(text, banned) {
			t.Errorf("config must not contain %q", banned)
		}
	}
}

// Many policies of one action render within HAProxy's 64 words a line:
// a hundred REJECT and a hundred REDIRECT_TO_POOL policies pass
// `haproxy -c`.
func TestAHundredPoliciesOfOneActionStayWithinHAProxysWordsPerLine(t *testing.T) {
	bin := needHAProxy(t)
	s := baseSpec()
	withSecondPool(&s)
	for i := 1; i <= 200; i++ {
		p := L7Policy{ID: fmt.Sprintf("20000000-0000-4000-8000-%012d", i), Action: L7Reject,
			Rules: []L7Rule{{ID: fmt.Sprintf("30000000-0000-4000-8000-%012d", i), Type: "PATH", Compare: "STARTS_WITH", Value: fmt.Sprintf("/p%d/", i)}}}
		if i%2 == 0 {
			p.Action, p.PoolID = L7RedirectToPool, pool2ID
		}
		s.lis(0).L7Policies = append(s.lis(0).L7Policies, p)
	}
	cfg, err := Render(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(cfg), "\n") {
		if n := len(strings.Fields(line)); n > 64 {
			t.Fatalf("a line of %d words: %.120s", n, line)
		}
	}
	path := filepath.Join(t.TempDir(), "many.cfg")
	if err := os.WriteFile(path, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.CommandContext(context.Background(), bin, "-c", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c refused 200 policies: %v\n%s", err, out)
	}
}

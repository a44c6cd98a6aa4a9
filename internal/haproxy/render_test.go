package haproxy

import (
	"bytes"
	"context"
	"flag"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// goldenCases covers each protocol, method, persistence, monitor type, TLS,
// connection limit, admin-down pool/member/VIP and an empty pool.
func goldenCases() map[string]Spec {
	c := map[string]Spec{}
	add := func(name string, mod func(*Spec)) {
		s := baseSpec()
		mod(&s)
		c[name] = s
	}
	add("http_roundrobin", func(s *Spec) {})
	add("tcp_leastconn", func(s *Spec) {
		s.VIP.Protocol, s.Pool.Protocol = ProtocolTCP, ProtocolTCP
		s.Pool.Method = MethodLeastConnections
	})
	add("https_passthrough_source", func(s *Spec) {
		s.VIP.Protocol, s.Pool.Protocol = ProtocolHTTPS, ProtocolHTTPS
		s.VIP.Port = 443
		s.Pool.Method = MethodSourceIP
	})
	add("https_tls_termination", func(s *Spec) {
		s.VIP.Protocol, s.Pool.Protocol = ProtocolHTTPS, ProtocolHTTPS
		s.VIP.Port = 443
		s.VIP.TLSCertFile = "/var/lib/lbaas/certs/vip.pem"
	})
	add("persistence_source_ip", func(s *Spec) { s.VIP.Persistence = Persistence{Type: PersistenceSourceIP} })
	add("persistence_http_cookie", func(s *Spec) { s.VIP.Persistence = Persistence{Type: PersistenceHTTPCookie} })
	add("persistence_app_cookie", func(s *Spec) {
		s.VIP.Persistence = Persistence{Type: PersistenceAppCookie, CookieName: "JSESSIONID"}
	})
	add("monitor_tcp", func(s *Spec) {
		s.Monitor = &Monitor{Type: MonitorTCP, Delay: 5, Timeout: 3, MaxRetries: 3}
	})
	add("monitor_http_codes_list", func(s *Spec) {
		s.Monitor = &Monitor{Type: MonitorHTTP, Delay: 20, Timeout: 10, MaxRetries: 3,
			HTTPMethod: "HEAD", URLPath: "/healthz?full=1", ExpectedCodes: "200,202"}
	})
	add("monitor_http_defaults", func(s *Spec) {
		s.Monitor = &Monitor{Type: MonitorHTTP, Delay: 0, Timeout: 0, MaxRetries: 1}
	})
	add("monitor_https_codes_range", func(s *Spec) {
		s.Monitor = &Monitor{Type: MonitorHTTPS, Delay: 10, Timeout: 5, MaxRetries: 2,
			HTTPMethod: "GET", URLPath: "/", ExpectedCodes: "200-204"}
	})
	add("monitor_ping", func(s *Spec) {
		s.Monitor = &Monitor{Type: MonitorPing, Delay: 2, Timeout: 1, MaxRetries: 3,
			PingCommand: "/usr/local/bin/lbaas-ping"}
	})
	add("conn_limit", func(s *Spec) { s.VIP.ConnLimit = 100; s.Global.MaxConn = 2000 })
	add("pool_admin_down", func(s *Spec) { s.Pool.AdminUp = false })
	add("member_admin_down_weight_zero", func(s *Spec) {
		s.Members[0].AdminUp = false
		s.Members[1].Weight = 0
	})
	add("vip_admin_down", func(s *Spec) { s.VIP.AdminUp = false })
	add("empty_pool", func(s *Spec) { s.Members = nil })
	add("ipv6", func(s *Spec) {
		s.VIP.Address = netip.MustParseAddr("2001:db8::10")
		s.Members[0].Address = netip.MustParseAddr("2001:db8:1::1")
		s.VIP.Persistence = Persistence{Type: PersistenceSourceIP}
	})
	return c
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

func TestRenderIsDeterministicWhateverTheMemberOrder(t *testing.T) {
	s := baseSpec()
	first, err := Render(s)
	if err != nil {
		t.Fatal(err)
	}
	s.Members[0], s.Members[1] = s.Members[1], s.Members[0]
	for i := 0; i < 20; i++ {
		again, err := Render(s)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, again) {
			t.Fatal("render output depends on member order or varies between calls")
		}
	}
}

// Every golden case must also be a configuration HAProxy itself accepts.
func TestEveryGoldenConfigPassesHaproxyCheck(t *testing.T) {
	bin := needHAProxy(t)
	dir := t.TempDir()
	cert := filepath.Join(dir, "vip.pem")
	writeSelfSigned(t, cert, nil)
	for name, spec := range goldenCases() {
		t.Run(name, func(t *testing.T) {
			if spec.VIP.TLSCertFile != "" {
				spec.VIP.TLSCertFile = cert
			}
			cfg, err := Render(spec)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, name+".cfg")
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
	s.VIP.Protocol, s.Pool.Protocol = ProtocolHTTPS, ProtocolHTTPS
	cfg, _ = Render(s)
	if strings.Contains(string(cfg), "forwardfor") || !strings.Contains(string(cfg), "mode tcp") {
		t.Errorf("HTTPS pass-through must be plain tcp:\n%s", cfg)
	}
}

func TestMonitorMapsDelayToInterAndTimeoutToTimeoutCheck(t *testing.T) {
	s := baseSpec()
	s.Monitor = &Monitor{Type: MonitorTCP, Delay: 20, Timeout: 10, MaxRetries: 3}
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
		"stats socket /var/lib/lbaas/loadbalancer/" + poolID + "/haproxy.sock mode 600 level admin expose-fd listeners"} {
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

func TestPersistenceCookiesAreRefusedWithoutHTTP(t *testing.T) {
	s := baseSpec()
	s.VIP.Protocol, s.Pool.Protocol = ProtocolTCP, ProtocolTCP
	s.VIP.Persistence = Persistence{Type: PersistenceHTTPCookie}
	if _, err := Render(s); err == nil {
		t.Error("HTTP_COOKIE on a TCP vip rendered")
	}
}

func TestProtocolMismatchIsRefused(t *testing.T) {
	s := baseSpec()
	s.Pool.Protocol = ProtocolTCP
	if _, err := Render(s); err == nil {
		t.Error("vip HTTP with pool TCP rendered")
	}
}

package haproxy

import (
	"net/netip"
	"strings"
	"testing"
)

const evil = "x\n    server evil 1.2.3.4:80"

func TestMaliciousStringsCannotChangeTheConfig(t *testing.T) {
	cases := map[string]func(*Spec){
		"cookie name with newline": func(s *Spec) {
			s.VIP.Persistence = Persistence{Type: PersistenceAppCookie, CookieName: "SID" + evil}
		},
		"cookie name with space":     func(s *Spec) { s.VIP.Persistence = Persistence{Type: PersistenceAppCookie, CookieName: "a b"} },
		"cookie name with semicolon": func(s *Spec) { s.VIP.Persistence = Persistence{Type: PersistenceAppCookie, CookieName: "a;b"} },
		"url path with newline": func(s *Spec) {
			s.Monitor = &Monitor{Type: MonitorHTTP, Delay: 1, Timeout: 1, MaxRetries: 1, URLPath: "/" + evil}
		},
		"url path with hash": func(s *Spec) {
			s.Monitor = &Monitor{Type: MonitorHTTP, Delay: 1, Timeout: 1, MaxRetries: 1, URLPath: "/a#b"}
		},
		"url path with quote": func(s *Spec) {
			s.Monitor = &Monitor{Type: MonitorHTTP, Delay: 1, Timeout: 1, MaxRetries: 1, URLPath: `/a"b`}
		},
		"url path with env expansion": func(s *Spec) {
			s.Monitor = &Monitor{Type: MonitorHTTP, Delay: 1, Timeout: 1, MaxRetries: 1, URLPath: "/${HOME}"}
		},
		"http method with newline": func(s *Spec) {
			s.Monitor = &Monitor{Type: MonitorHTTP, Delay: 1, Timeout: 1, MaxRetries: 1, HTTPMethod: "GET" + evil}
		},
		"expected codes with newline": func(s *Spec) {
			s.Monitor = &Monitor{Type: MonitorHTTP, Delay: 1, Timeout: 1, MaxRetries: 1, ExpectedCodes: "200" + evil}
		},
		"expected codes regex": func(s *Spec) {
			s.Monitor = &Monitor{Type: MonitorHTTP, Delay: 1, Timeout: 1, MaxRetries: 1, ExpectedCodes: "2.."}
		},
		"ping command with newline": func(s *Spec) {
			s.Monitor = &Monitor{Type: MonitorPing, Delay: 1, Timeout: 1, MaxRetries: 1, PingCommand: "/bin/ping" + evil}
		},
		"relative ping command": func(s *Spec) {
			s.Monitor = &Monitor{Type: MonitorPing, Delay: 1, Timeout: 1, MaxRetries: 1, PingCommand: "ping"}
		},
		"cert path with newline": func(s *Spec) {
			s.VIP.Protocol, s.Pool.Protocol, s.VIP.TLSCertFile = ProtocolHTTPS, ProtocolHTTPS, "/c.pem"+evil
		},
		"socket path with space": func(s *Spec) { s.Paths.Socket = "/run/a b.sock" },
		"socket path too long":   func(s *Spec) { s.Paths.Socket = "/" + strings.Repeat("a", 120) },
		"master socket comma":    func(s *Spec) { s.Paths.MasterSocket = "/run/m.sock,level,admin" },
		"instance id not uuid":   func(s *Spec) { s.ID = "pool\n    server evil 1.2.3.4:80" },
		"member id not uuid":     func(s *Spec) { s.Members[0].ID = "m1 evil" },
		"member address zone":    func(s *Spec) { s.Members[0].Address = netip.MustParseAddr("fe80::1%eth0") },
		"member address unset":   func(s *Spec) { s.Members[0].Address = netip.Addr{} },
		"member weight too big":  func(s *Spec) { s.Members[0].Weight = 257 },
		"member port zero":       func(s *Spec) { s.Members[0].Port = 0 },
		"two members one slot":   func(s *Spec) { s.Members[1].Slot = 1 },
		"slot beyond count":      func(s *Spec) { s.Members[1].Slot = 5 },
		"unknown method":         func(s *Spec) { s.Pool.Method = "roundrobin\n    server evil 1.2.3.4:80" },
		"unknown protocol":       func(s *Spec) { s.VIP.Protocol, s.Pool.Protocol = "UDP", "UDP" },
	}
	for name, mod := range cases {
		t.Run(name, func(t *testing.T) {
			s := baseSpec()
			mod(&s)
			cfg, err := Render(s)
			if err == nil {
				t.Fatalf("rendered without error:\n%s", cfg)
			}
			if cfg != nil {
				t.Error("returned a config along with the error")
			}
		})
	}
}

func TestAddressesAreTypedSoOnlyAnAddressReachesTheServerLine(t *testing.T) {
	// netip.ParseAddr is the only way in, and it refuses anything but an address.
	if _, err := netip.ParseAddr("1.2.3.4:80 backup"); err == nil {
		t.Fatal("netip accepted trailing text")
	}
	s := baseSpec()
	cfg, err := Render(s)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(cfg), "\n    server "); got != s.Slots {
		t.Errorf("%d server lines for %d slots", got, s.Slots)
	}
}

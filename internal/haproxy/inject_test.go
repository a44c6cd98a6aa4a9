package haproxy

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

const evil = "x\n    server evil 1.2.3.4:80"

func httpMon(mod func(*Monitor)) *Monitor {
	m := &Monitor{Type: MonitorHTTP, Delay: 1, Timeout: 1, Rise: 2, Fall: 1}
	mod(m)
	return m
}

func TestMaliciousStringsCannotChangeTheConfig(t *testing.T) {
	cases := map[string]func(*Spec){
		"cookie name with newline": func(s *Spec) {
			s.pool(0).Persistence = Persistence{Type: PersistenceAppCookie, CookieName: "SID" + evil}
		},
		"cookie name with space":      func(s *Spec) { s.pool(0).Persistence = Persistence{Type: PersistenceAppCookie, CookieName: "a b"} },
		"cookie name with semicolon":  func(s *Spec) { s.pool(0).Persistence = Persistence{Type: PersistenceAppCookie, CookieName: "a;b"} },
		"url path with newline":       func(s *Spec) { s.pool(0).Monitor = httpMon(func(m *Monitor) { m.URLPath = "/" + evil }) },
		"url path with hash":          func(s *Spec) { s.pool(0).Monitor = httpMon(func(m *Monitor) { m.URLPath = "/a#b" }) },
		"url path with quote":         func(s *Spec) { s.pool(0).Monitor = httpMon(func(m *Monitor) { m.URLPath = `/a"b` }) },
		"url path with env expansion": func(s *Spec) { s.pool(0).Monitor = httpMon(func(m *Monitor) { m.URLPath = "/${HOME}" }) },
		"http method with newline":    func(s *Spec) { s.pool(0).Monitor = httpMon(func(m *Monitor) { m.HTTPMethod = "GET" + evil }) },
		"expected codes with newline": func(s *Spec) { s.pool(0).Monitor = httpMon(func(m *Monitor) { m.ExpectedCodes = "200" + evil }) },
		"expected codes regex":        func(s *Spec) { s.pool(0).Monitor = httpMon(func(m *Monitor) { m.ExpectedCodes = "2.." }) },
		"domain name with space": func(s *Spec) {
			s.pool(0).Monitor = httpMon(func(m *Monitor) { m.HTTPVersion, m.DomainName = "1.1", "a b.example" })
		},
		"domain name with newline": func(s *Spec) {
			s.pool(0).Monitor = httpMon(func(m *Monitor) { m.HTTPVersion, m.DomainName = "1.1", "example.com"+evil })
		},
		"domain name with colon": func(s *Spec) {
			s.pool(0).Monitor = httpMon(func(m *Monitor) { m.HTTPVersion, m.DomainName = "1.1", "example.com:80" })
		},
		"domain name leading hyphen": func(s *Spec) {
			s.pool(0).Monitor = httpMon(func(m *Monitor) { m.HTTPVersion, m.DomainName = "1.1", "-a.example" })
		},
		"domain name empty label": func(s *Spec) {
			s.pool(0).Monitor = httpMon(func(m *Monitor) { m.HTTPVersion, m.DomainName = "1.1", "a..example" })
		},
		"domain name without 1.1": func(s *Spec) {
			s.pool(0).Monitor = httpMon(func(m *Monitor) { m.HTTPVersion, m.DomainName = "1.0", "example.com" })
		},
		"http version 2":            func(s *Spec) { s.pool(0).Monitor = httpMon(func(m *Monitor) { m.HTTPVersion = "2" }) },
		"http version with newline": func(s *Spec) { s.pool(0).Monitor = httpMon(func(m *Monitor) { m.HTTPVersion = "1.1" + evil }) },
		"rise zero":                 func(s *Spec) { s.pool(0).Monitor = httpMon(func(m *Monitor) { m.Rise = 0 }) },
		"rise eleven":               func(s *Spec) { s.pool(0).Monitor = httpMon(func(m *Monitor) { m.Rise = 11 }) },
		"fall zero":                 func(s *Spec) { s.pool(0).Monitor = httpMon(func(m *Monitor) { m.Fall = 0 }) },
		"fall eleven":               func(s *Spec) { s.pool(0).Monitor = httpMon(func(m *Monitor) { m.Fall = 11 }) },
		"unknown monitor type":      func(s *Spec) { s.pool(0).Monitor = httpMon(func(m *Monitor) { m.Type = "SCTP" }) },
		"ping command with newline": func(s *Spec) {
			s.pool(0).Monitor = &Monitor{Type: MonitorPing, Delay: 1, Timeout: 1, Rise: 2, Fall: 1, PingCommand: "/bin/ping" + evil}
		},
		"relative ping command": func(s *Spec) {
			s.pool(0).Monitor = &Monitor{Type: MonitorPing, Delay: 1, Timeout: 1, Rise: 2, Fall: 1, PingCommand: "ping"}
		},
		"cert path with newline": func(s *Spec) {
			s.lis(0).Protocol, s.lis(0).TLSCertFile = ProtocolTerminatedHTTPS, "/c.pem"+evil
		},
		"terminated https without cert": func(s *Spec) { s.lis(0).Protocol = ProtocolTerminatedHTTPS },
		"cert on an http listener":      func(s *Spec) { s.lis(0).TLSCertFile = "/c.pem" },
		"cert on an https listener": func(s *Spec) {
			s.lis(0).Protocol, s.pool(0).Protocol, s.lis(0).TLSCertFile = ProtocolHTTPS, ProtocolHTTPS, "/c.pem"
		},
		"cert on a tcp listener": func(s *Spec) {
			s.lis(0).Protocol, s.pool(0).Protocol, s.lis(0).TLSCertFile = ProtocolTCP, ProtocolTCP, "/c.pem"
		},
		"port reused": func(s *Spec) { s.Listeners = append(s.Listeners, otherListener(s, 80)) },
		"port reused on another addr": func(s *Spec) {
			l := otherListener(s, 80)
			l.Address = netip.MustParseAddr("10.0.0.11")
			s.Listeners = append(s.Listeners, l)
		},
		"listener listed twice": func(s *Spec) {
			l := otherListener(s, 81)
			l.ID = lisA
			s.Listeners = append(s.Listeners, l)
		},
		"listener id not uuid":     func(s *Spec) { s.lis(0).ID = "fe\n    server evil 1.2.3.4:80" },
		"listener address unset":   func(s *Spec) { s.lis(0).Address = netip.Addr{} },
		"listener address zone":    func(s *Spec) { s.lis(0).Address = netip.MustParseAddr("fe80::1%eth0") },
		"listener port zero":       func(s *Spec) { s.lis(0).Port = 0 },
		"listener port too big":    func(s *Spec) { s.lis(0).Port = 65536 },
		"conn limit below -1":      func(s *Spec) { s.lis(0).ConnLimit = -2 },
		"unknown listener proto":   func(s *Spec) { s.lis(0).Protocol = "UDP" },
		"unknown default pool id":  func(s *Spec) { s.lis(0).DefaultPoolID = pool2ID },
		"default pool not uuid":    func(s *Spec) { s.lis(0).DefaultPoolID = "p\n    server evil 1.2.3.4:80" },
		"negative client timeout":  func(s *Spec) { s.lis(0).TimeoutClientData = -time.Second },
		"huge member timeout":      func(s *Spec) { s.lis(0).TimeoutMemberData = 25 * time.Hour },
		"sub-ms connect timeout":   func(s *Spec) { s.lis(0).TimeoutMemberConnect = time.Second + time.Microsecond },
		"negative inspect timeout": func(s *Spec) { s.lis(0).TimeoutTCPInspect = -1 },
		"http listener on tcp pool": func(s *Spec) {
			s.pool(0).Protocol = ProtocolTCP
		},
		"terminated https on https pool": func(s *Spec) {
			s.lis(0).Protocol, s.lis(0).TLSCertFile, s.pool(0).Protocol = ProtocolTerminatedHTTPS, "/c.pem", ProtocolHTTPS
		},
		"incompatible modes on one pool": func(s *Spec) {
			l := otherListener(s, 81)
			l.Protocol, l.DefaultPoolID = ProtocolTCP, poolID
			s.Listeners = append(s.Listeners, l)
		},
		"cookie persistence on tcp pool": func(s *Spec) {
			s.lis(0).Protocol, s.pool(0).Protocol = ProtocolTCP, ProtocolTCP
			s.pool(0).Persistence = Persistence{Type: PersistenceHTTPCookie}
		},
		"cookie persistence on an unused tcp pool": func(s *Spec) {
			withSecondPool(s)
			s.pool(1).Protocol = ProtocolTCP
			s.pool(1).Persistence = Persistence{Type: PersistenceAppCookie, CookieName: "SID"}
		},
		"cookie name without app cookie": func(s *Spec) { s.pool(0).Persistence = Persistence{Type: PersistenceSourceIP, CookieName: "SID"} },
		"unknown persistence":            func(s *Spec) { s.pool(0).Persistence = Persistence{Type: "TLS_SESSION"} },
		"pool listed twice":              func(s *Spec) { s.Pools = append(s.Pools, s.Pools[0]) },
		"pool id not uuid":               func(s *Spec) { s.pool(0).ID = "be evil"; s.lis(0).DefaultPoolID = "" },
		"pool protocol terminated": func(s *Spec) {
			s.pool(0).Protocol = ProtocolTerminatedHTTPS
			s.lis(0).DefaultPoolID = ""
		},
		"monitor port zero is none, -1 is not": func(s *Spec) { s.pool(0).Members[0].MonitorPort = -1 },
		"monitor port too big":                 func(s *Spec) { s.pool(0).Members[0].MonitorPort = 65536 },
		"monitor address zone": func(s *Spec) {
			s.pool(0).Members[0].MonitorAddress = netip.MustParseAddr("fe80::1%eth0")
		},
		"socket path with space": func(s *Spec) { s.Paths.Socket = "/run/a b.sock" },
		"socket path too long":   func(s *Spec) { s.Paths.Socket = "/" + strings.Repeat("a", 120) },
		"master socket comma":    func(s *Spec) { s.Paths.MasterSocket = "/run/m.sock,level,admin" },
		"lb id not uuid":         func(s *Spec) { s.ID = "lb\n    server evil 1.2.3.4:80" },
		"member id not uuid":     func(s *Spec) { s.pool(0).Members[0].ID = "m1 evil" },
		"member address zone":    func(s *Spec) { s.pool(0).Members[0].Address = netip.MustParseAddr("fe80::1%eth0") },
		"member address unset":   func(s *Spec) { s.pool(0).Members[0].Address = netip.Addr{} },
		"member weight too big":  func(s *Spec) { s.pool(0).Members[0].Weight = 257 },
		"member port zero":       func(s *Spec) { s.pool(0).Members[0].Port = 0 },
		"two members one slot":   func(s *Spec) { s.pool(0).Members[1].Slot = 1 },
		"slot beyond count":      func(s *Spec) { s.pool(0).Members[1].Slot = 5 },
		"unknown method":         func(s *Spec) { s.pool(0).Method = "roundrobin\n    server evil 1.2.3.4:80" },
		"unknown pool protocol":  func(s *Spec) { s.pool(0).Protocol = "UDP" },
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

// otherListener is a second HTTP listener on s's address, without a pool.
func otherListener(s *Spec, port int) Listener {
	return Listener{ID: lisB, Address: s.lis(0).Address, Port: port, Protocol: ProtocolHTTP, ConnLimit: -1, AdminUp: true}
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
	if got := strings.Count(string(cfg), "\n    server "); got != s.pool(0).Slots {
		t.Errorf("%d server lines for %d slots", got, s.pool(0).Slots)
	}
}

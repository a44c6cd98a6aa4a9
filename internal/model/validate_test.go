package model

import (
	"strings"
	"testing"
)

const (
	uuidA = "0b7d4a43-8c3e-4a7e-9d60-5f0f6b1e2c3d"
	uuidB = "1c8e5b54-9d4f-4b8f-8e71-6a1a7c2f3d4e"
)

func goodPool() Pool {
	return Pool{Name: "web", SubnetID: uuidA, Protocol: ProtocolHTTP, LBMethod: MethodRoundRobin, Provider: "lbaas"}
}

func goodMember() Member {
	return Member{PoolID: uuidA, Address: "10.1.1.2", ProtocolPort: 80, Weight: 1}
}

func goodVIP() VIP {
	return VIP{Name: "v", SubnetID: uuidA, PoolID: uuidB, ProtocolPort: 80, Protocol: ProtocolHTTP, ConnectionLimit: -1}
}

func goodMonitor() HealthMonitor {
	return HealthMonitor{Type: MonitorHTTP, Delay: 20, Timeout: 10, MaxRetries: 3, HTTPMethod: "GET", URLPath: "/", ExpectedCodes: "200"}
}

// check runs one validation case: want "" means accepted, otherwise the
// message must name want (the field).
func check(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		return
	}
	msg := inputError(t, err)
	if !strings.Contains(msg, want) {
		t.Fatalf("message %q does not name %q", msg, want)
	}
}

func TestValidatePoolFields(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*Pool)
		want   string
	}{
		{"valid", func(*Pool) {}, ""},
		{"TCP least connections", func(p *Pool) { p.Protocol, p.LBMethod = ProtocolTCP, MethodLeastConnections }, ""},
		{"HTTPS source ip", func(p *Pool) { p.Protocol, p.LBMethod = ProtocolHTTPS, MethodSourceIP }, ""},
		{"name at the limit", func(p *Pool) { p.Name = strings.Repeat("é", MaxNameLen) }, ""},
		{"name too long", func(p *Pool) { p.Name = strings.Repeat("a", MaxNameLen+1) }, "name"},
		{"name with newline", func(p *Pool) { p.Name = "a\nb" }, "name"},
		{"name with NUL", func(p *Pool) { p.Name = "a\x00b" }, "name"},
		{"name invalid UTF-8", func(p *Pool) { p.Name = "a\xffb" }, "name"},
		{"description too long", func(p *Pool) { p.Description = strings.Repeat("d", MaxDescriptionLen+1) }, "description"},
		{"description with escape", func(p *Pool) { p.Description = "\x1b[31m" }, "description"},
		{"subnet not a uuid", func(p *Pool) { p.SubnetID = "subnet1" }, "subnet_id"},
		{"protocol lower case", func(p *Pool) { p.Protocol = "http" }, "protocol"},
		{"protocol UDP", func(p *Pool) { p.Protocol = "UDP" }, "protocol"},
		{"lb_method unknown", func(p *Pool) { p.LBMethod = "RANDOM" }, "lb_method"},
		{"lb_method empty", func(p *Pool) { p.LBMethod = "" }, "lb_method"},
		{"monitor not a uuid", func(p *Pool) { p.HealthMonitors = []string{"hm"} }, "health_monitors"},
		{"monitor twice", func(p *Pool) { p.HealthMonitors = []string{uuidA, uuidA} }, "health_monitors"},
		{"two monitors", func(p *Pool) { p.HealthMonitors = []string{uuidA, uuidB} }, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := goodPool()
			tc.mutate(&p)
			check(t, ValidatePool(&p), tc.want)
		})
	}
}

func TestValidateMemberFields(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*Member)
		want   string
	}{
		{"valid", func(*Member) {}, ""},
		{"port 1", func(m *Member) { m.ProtocolPort = 1 }, ""},
		{"port 65535", func(m *Member) { m.ProtocolPort = 65535 }, ""},
		{"port 0", func(m *Member) { m.ProtocolPort = 0 }, "protocol_port"},
		{"port 65536", func(m *Member) { m.ProtocolPort = 65536 }, "protocol_port"},
		{"port negative", func(m *Member) { m.ProtocolPort = -80 }, "protocol_port"},
		{"weight 0", func(m *Member) { m.Weight = 0 }, ""},
		{"weight 256", func(m *Member) { m.Weight = 256 }, ""},
		{"weight 257", func(m *Member) { m.Weight = 257 }, "weight"},
		{"weight negative", func(m *Member) { m.Weight = -1 }, "weight"},
		{"address hostname", func(m *Member) { m.Address = "web1" }, "address"},
		{"address IPv6", func(m *Member) { m.Address = "::1" }, "address"},
		{"address with port", func(m *Member) { m.Address = "10.0.0.1:80" }, "address"},
		{"address with newline", func(m *Member) { m.Address = "10.0.0.1\n" }, "address"},
		{"address octet too big", func(m *Member) { m.Address = "10.0.0.256" }, "address"},
		{"pool not a uuid", func(m *Member) { m.PoolID = "pool" }, "pool_id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := goodMember()
			tc.mutate(&m)
			check(t, ValidateMember(&m), tc.want)
		})
	}
}

func TestValidateVIPFields(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*VIP)
		want   string
	}{
		{"valid", func(*VIP) {}, ""},
		{"explicit address", func(v *VIP) { v.Address = "20.1.1.9" }, ""},
		{"bad address", func(v *VIP) { v.Address = "20.1.1" }, "address"},
		{"port 0", func(v *VIP) { v.ProtocolPort = 0 }, "protocol_port"},
		{"port 70000", func(v *VIP) { v.ProtocolPort = 70000 }, "protocol_port"},
		{"protocol unknown", func(v *VIP) { v.Protocol = "SCTP" }, "protocol"},
		{"subnet not uuid", func(v *VIP) { v.SubnetID = "x" }, "subnet_id"},
		{"pool not uuid", func(v *VIP) { v.PoolID = "" }, "pool_id"},
		{"name too long", func(v *VIP) { v.Name = strings.Repeat("n", MaxNameLen+1) }, "name"},
		{"description with tab", func(v *VIP) { v.Description = "a\tb" }, "description"},
		{"connection limit 100", func(v *VIP) { v.ConnectionLimit = 100 }, ""},
		{"connection limit -2", func(v *VIP) { v.ConnectionLimit = -2 }, "connection_limit"},
		{"connection limit -2", func(v *VIP) { v.ConnectionLimit = -2 }, "connection_limit"},
		{"connection limit huge", func(v *VIP) { v.ConnectionLimit = 1000001 }, "connection_limit"},
		{"source ip persistence", func(v *VIP) { v.SessionPersistence = &SessionPersistence{Type: PersistenceSourceIP} }, ""},
		{"app cookie", func(v *VIP) {
			v.SessionPersistence = &SessionPersistence{Type: PersistenceAppCookie, CookieName: "JSESSIONID"}
		}, ""},
		{"app cookie without name", func(v *VIP) { v.SessionPersistence = &SessionPersistence{Type: PersistenceAppCookie} }, "session_persistence"},
		{"cookie name on source ip", func(v *VIP) {
			v.SessionPersistence = &SessionPersistence{Type: PersistenceSourceIP, CookieName: "c"}
		}, "session_persistence"},
		{"cookie name with space", func(v *VIP) {
			v.SessionPersistence = &SessionPersistence{Type: PersistenceAppCookie, CookieName: "a b"}
		}, "session_persistence"},
		{"persistence type unknown", func(v *VIP) { v.SessionPersistence = &SessionPersistence{Type: "STICKY"} }, "session_persistence"},
		{"tls ref not uuid", func(v *VIP) { v.TLSContainerRef = "cert" }, "default_tls_container_ref"},
		{"tls ref uuid", func(v *VIP) { v.TLSContainerRef = uuidA }, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := goodVIP()
			tc.mutate(&v)
			check(t, ValidateVIP(&v), tc.want)
		})
	}
}

func TestValidateHealthMonitorFields(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*HealthMonitor)
		want   string
	}{
		{"valid", func(*HealthMonitor) {}, ""},
		{"PING", func(h *HealthMonitor) { h.Type = MonitorPING }, ""},
		{"type unknown", func(h *HealthMonitor) { h.Type = "UDP" }, "type"},
		{"delay 0", func(h *HealthMonitor) { h.Delay, h.Timeout = 0, 0 }, "delay"},
		{"delay 1 timeout 1", func(h *HealthMonitor) { h.Delay, h.Timeout = 1, 1 }, ""},
		{"timeout equals delay", func(h *HealthMonitor) { h.Timeout = h.Delay }, ""},
		{"timeout above delay", func(h *HealthMonitor) { h.Timeout = h.Delay + 1 }, "timeout"},
		{"timeout 0", func(h *HealthMonitor) { h.Timeout = 0 }, "timeout"},
		{"max_retries 0", func(h *HealthMonitor) { h.MaxRetries = 0 }, "max_retries"},
		{"max_retries 1", func(h *HealthMonitor) { h.MaxRetries = 1 }, ""},
		{"max_retries 10", func(h *HealthMonitor) { h.MaxRetries = 10 }, ""},
		{"max_retries 30", func(h *HealthMonitor) { h.MaxRetries = 30 }, "Invalid input for max_retries. Reason: '30' is not in range 1 through 10."},
		{"http_method unknown", func(h *HealthMonitor) { h.HTTPMethod = "FETCH" }, "http_method"},
		{"http_method lower", func(h *HealthMonitor) { h.HTTPMethod = "get" }, "http_method"},
		{"url_path with query", func(h *HealthMonitor) { h.URLPath = "/health?full=1&x=%20" }, ""},
		{"url_path relative", func(h *HealthMonitor) { h.URLPath = "health" }, "url_path"},
		{"url_path empty", func(h *HealthMonitor) { h.URLPath = "" }, "url_path"},
		{"url_path with space", func(h *HealthMonitor) { h.URLPath = "/a b" }, "url_path"},
		{"url_path with tab", func(h *HealthMonitor) { h.URLPath = "/a\tb" }, "url_path"},
		{"url_path with newline", func(h *HealthMonitor) { h.URLPath = "/a\nhttp-check send" }, "url_path"},
		{"url_path with quote", func(h *HealthMonitor) { h.URLPath = `/a"b` }, "url_path"},
		{"url_path with hash", func(h *HealthMonitor) { h.URLPath = "/a#b" }, "url_path"},
		{"url_path non-ASCII", func(h *HealthMonitor) { h.URLPath = "/é" }, "url_path"},
		{"url_path too long", func(h *HealthMonitor) { h.URLPath = "/" + strings.Repeat("a", MaxURLPathLen) }, "url_path"},
		{"expected 200,202", func(h *HealthMonitor) { h.ExpectedCodes = "200,202" }, ""},
		{"expected 200, 202", func(h *HealthMonitor) { h.ExpectedCodes = "200, 202" }, ""},
		{"expected 200-204", func(h *HealthMonitor) { h.ExpectedCodes = "200-204" }, ""},
		{"expected empty", func(h *HealthMonitor) { h.ExpectedCodes = "" }, "expected_codes"},
		{"expected word", func(h *HealthMonitor) { h.ExpectedCodes = "OK" }, "expected_codes"},
		{"expected 2 digits", func(h *HealthMonitor) { h.ExpectedCodes = "20" }, "expected_codes"},
		{"expected 600", func(h *HealthMonitor) { h.ExpectedCodes = "600" }, "expected_codes"},
		{"expected 099", func(h *HealthMonitor) { h.ExpectedCodes = "099" }, "expected_codes"},
		{"expected reversed range", func(h *HealthMonitor) { h.ExpectedCodes = "204-200" }, "expected_codes"},
		{"expected trailing comma", func(h *HealthMonitor) { h.ExpectedCodes = "200," }, "expected_codes"},
		{"expected range and list", func(h *HealthMonitor) { h.ExpectedCodes = "200-204,300" }, "expected_codes"},
		{"expected newline", func(h *HealthMonitor) { h.ExpectedCodes = "200,\n202" }, "expected_codes"},
		{"expected tab", func(h *HealthMonitor) { h.ExpectedCodes = "200\t,202" }, "expected_codes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := goodMonitor()
			tc.mutate(&h)
			check(t, ValidateHealthMonitor(&h), tc.want)
		})
	}
}

func TestExpectedCodesExpandsListsAndRanges(t *testing.T) {
	for in, want := range map[string][]int{
		"200":      {200},
		"200, 202": {200, 202},
		"200-203":  {200, 201, 202, 203},
	} {
		got := ExpectedCodes(in)
		if len(got) != len(want) {
			t.Fatalf("%q: got %v, want %v", in, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%q: got %v, want %v", in, got, want)
			}
		}
	}
}

func TestValidateNetworkName(t *testing.T) {
	check(t, ValidateNetwork(&Network{Name: "vipnet"}), "")
	check(t, ValidateNetwork(&Network{Name: strings.Repeat("x", MaxNameLen+1)}), "name")
	check(t, ValidateNetwork(&Network{Name: "a\rb"}), "name")
}

func TestParseCIDRRefusesWhatCannotBeASubnet(t *testing.T) {
	cases := []struct{ in, want string }{
		{"10.1.1.0/24", ""},
		{"10.0.0.0/8", ""},
		{"10.1.1.0/30", ""},
		{"10.1.1.1/24", "host bits"},
		{"10.1.1.0/31", "prefix length"},
		{"10.1.1.0/32", "prefix length"},
		{"10.0.0.0/7", "prefix length"},
		{"10.1.1.0", "cidr"},
		{"10.1.1.0/33", "cidr"},
		{"fd00::/64", "cidr"},
		{"10.1.1.0/24\n", "cidr"},
		{"", "cidr"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			_, err := ParseCIDR("cidr", tc.in)
			check(t, err, tc.want)
		})
	}
}

func TestParseIPv4RefusesAnythingButDottedQuads(t *testing.T) {
	for _, bad := range []string{"", "1.2.3", "1.2.3.4.5", "::ffff:1.2.3.4", "1.2.3.4/32", " 1.2.3.4", "01.2.3.4", "a.b.c.d"} {
		_, err := ParseIPv4("address", bad)
		check(t, err, "address")
	}
	a, err := ParseIPv4("address", "192.0.2.7")
	if err != nil || a.String() != "192.0.2.7" {
		t.Fatalf("192.0.2.7: %v %v", a, err)
	}
}

func TestValidateUUIDAndTenantID(t *testing.T) {
	check(t, ValidateUUID("pool_id", uuidA), "")
	check(t, ValidateUUID("pool_id", strings.ToUpper(uuidA)), "")
	check(t, ValidateUUID("pool_id", uuidA[:35]), "pool_id")
	check(t, ValidateUUID("pool_id", uuidA+"\n"), "pool_id")
	check(t, ValidateUUID("pool_id", "../../etc/passwd"), "pool_id")
	check(t, ValidateTenantID("alpha"), "")
	check(t, ValidateTenantID("a.b-c_9"), "")
	check(t, ValidateTenantID(""), "tenant_id")
	check(t, ValidateTenantID("a/b"), "tenant_id")
	check(t, ValidateTenantID(strings.Repeat("t", 65)), "tenant_id")
}

func TestValidateTextCountsCharactersNotBytes(t *testing.T) {
	check(t, ValidateText("name", strings.Repeat("ü", 10), 10), "")
	check(t, ValidateText("name", strings.Repeat("ü", 11), 10), "name")
	check(t, ValidateText("name", "tab\there", 10), "name")
	check(t, ValidateText("name", "del\x7f", 10), "name")
	check(t, ValidateText("name", "c1\u0085", 10), "name")
}

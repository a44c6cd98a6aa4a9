package model

import (
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// maxMessageLen bounds what a client can make the server echo back.
const maxMessageLen = 1024

// FuzzDecodeAndValidate feeds arbitrary bytes to DecodeBody for every
// request type, applies what was accepted onto an object as the API does
// and validates it. Whatever the input: no panic, every refusal is an
// *InputError with a short printable message, and every accepted object
// satisfies the invariants the data plane relies on.
func FuzzDecodeAndValidate(f *testing.F) {
	seeds := []string{
		`{"member": {"pool_id": "` + uuidA + `", "address": "10.1.1.2", "protocol_port": "80", "admin_state_up": true}}`,
		`{"member": {"pool_id": "` + uuidA + `", "address": "10.1.1.2", "protocol_port": 65535, "weight": "256"}}`,
		`{"member": {"weight": "5"}}`,
		`{"member": {"protocol_port": "abc"}}`,
		`{"vip": {"pool_id": "` + uuidB + `", "subnet_id": "` + uuidA + `", "name": "myvip", "protocol_port": "80", "protocol": "HTTP", "admin_state_up": "True"}}`,
		`{"vip": {"connection_limit": "100", "session_persistence": {"type": "APP_COOKIE", "cookie_name": "JS"}}}`,
		`{"vip": {"session_persistence": null}}`,
		`{"health_monitor": {"admin_state_up": true, "delay": "20", "max_retries": "3", "timeout": "10", "type": "HTTP"}}`,
		`{"health_monitor": {"type": "HTTP", "delay": 5, "timeout": 5, "max_retries": 1, "url_path": "/h?x=1", "expected_codes": "200-204", "http_method": "HEAD"}}`,
		`{"health_monitor": {"url_path": "/a b", "expected_codes": "200,\n202"}}`,
		`{"pool": {"admin_state_up": true, "subnet_id": "` + uuidA + `", "lb_method": "ROUND_ROBIN", "name": "mypool", "protocol": "HTTP"}}`,
		`{"pool": {"health_monitors": ["` + uuidA + `", "` + uuidA + `"]}}`,
		`{"network": {"admin_state_up": true, "name": "vipnet", "router:external": "True"}}`,
		`{"subnet": {"network_id": "` + uuidA + `", "ip_version": 4, "cidr": "20.1.1.0/24", "name": "vipsubnet"}}`,
		`{"subnet": {"network_id": "n", "cidr": "10.0.0.0/8", "gateway_ip": null, "allocation_pools": [{"start": "10.0.0.5", "end": "10.0.0.9"}]}}`,
		`{"floatingip": {"floating_network_id": "` + uuidA + `"}}`,
		`{"floatingip": {"port_id": null}}`,
		`{"member": {"a\nb": 1}}`,
		`{"member": {}} {}`,
		`[]`,
		`null`,
		``,
	}
	for _, s := range seeds {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, update bool) {
		op := OpCreate
		if update {
			op = OpUpdate
		}
		for _, env := range []string{"network", "subnet", "floatingip", "pool", "member", "vip", "health_monitor"} {
			dst := requestFor(env)
			err := DecodeBody(body, env, op, dst)
			if err == nil {
				err = applyAndValidate(t, dst, op)
			}
			if err != nil {
				checkRefusal(t, env, err)
			}
		}
	})
}

func checkRefusal(t *testing.T, env string, err error) {
	t.Helper()
	var in *InputError
	if !errors.As(err, &in) {
		t.Fatalf("%s: error %T %q is not an *InputError", env, err, err)
	}
	if in.Message == "" || in.Type == "" {
		t.Fatalf("%s: InputError with empty type or message: %+v", env, in)
	}
	if len(in.Message) > maxMessageLen {
		t.Fatalf("%s: message of %d bytes echoes too much input: %.120q...", env, len(in.Message), in.Message)
	}
	if !utf8.ValidString(in.Message) {
		t.Fatalf("%s: message is not valid UTF-8: %q", env, in.Message)
	}
	for _, r := range in.Message {
		if unicode.IsControl(r) {
			t.Fatalf("%s: message carries a raw control character: %q", env, in.Message)
		}
	}
}

// applyAndValidate does what the API does with a decoded request: apply it
// onto a fresh object (create) or a valid stored one (update), validate,
// and, when accepted, check the invariants.
func applyAndValidate(t *testing.T, dst any, op Op) error {
	t.Helper()
	switch req := dst.(type) {
	case *NetworkRequest:
		n := &Network{AdminStateUp: true}
		req.Apply(n)
		if err := ValidateNetwork(n); err != nil {
			return err
		}
		assertText(t, "network name", n.Name, MaxNameLen)
	case *SubnetRequest:
		// Subnets are built by the API from the request; the model checks
		// the parts it owns.
		if req.NetworkID != nil {
			if err := ValidateUUID("network_id", *req.NetworkID); err != nil {
				return err
			}
		}
		if req.CIDR != nil {
			p, err := ParseCIDR("cidr", *req.CIDR)
			if err != nil {
				return err
			}
			if !p.Addr().Is4() || p.Masked() != p || p.Bits() < 8 || p.Bits() > 30 {
				t.Fatalf("accepted cidr %q", *req.CIDR)
			}
		}
		if req.Name != nil {
			if err := ValidateText("name", *req.Name, MaxNameLen); err != nil {
				return err
			}
		}
	case *FloatingIPRequest:
		if req.FloatingNetworkID != nil {
			if err := ValidateUUID("floating_network_id", *req.FloatingNetworkID); err != nil {
				return err
			}
		}
		if req.PortID != nil && *req.PortID != "" {
			if err := ValidateUUID("port_id", *req.PortID); err != nil {
				return err
			}
		}
	case *PoolRequest:
		p := &Pool{AdminStateUp: true, Provider: "lbaas", HealthMonitors: []string{}}
		if op == OpUpdate {
			*p = goodPool()
		}
		req.Apply(p)
		if err := ValidatePool(p); err != nil {
			return err
		}
		if p.Protocol != ProtocolTCP && p.Protocol != ProtocolHTTP && p.Protocol != ProtocolHTTPS {
			t.Fatalf("accepted pool protocol %q", p.Protocol)
		}
		if p.LBMethod != MethodRoundRobin && p.LBMethod != MethodLeastConnections && p.LBMethod != MethodSourceIP {
			t.Fatalf("accepted lb_method %q", p.LBMethod)
		}
		assertText(t, "pool name", p.Name, MaxNameLen)
		assertText(t, "pool description", p.Description, MaxDescriptionLen)
		for _, id := range p.HealthMonitors {
			if !IsUUID(id) {
				t.Fatalf("accepted monitor id %q", id)
			}
		}
	case *MemberRequest:
		m := &Member{Weight: 1, AdminStateUp: true}
		if op == OpUpdate {
			*m = goodMember()
		}
		req.Apply(m)
		if err := ValidateMember(m); err != nil {
			return err
		}
		if m.ProtocolPort < 1 || m.ProtocolPort > 65535 {
			t.Fatalf("accepted member port %d", m.ProtocolPort)
		}
		if m.Weight < 0 || m.Weight > 256 {
			t.Fatalf("accepted member weight %d", m.Weight)
		}
		if _, err := ParseIPv4("address", m.Address); err != nil || strings.ContainsAny(m.Address, " \t\r\n") {
			t.Fatalf("accepted member address %q", m.Address)
		}
		if !IsUUID(m.PoolID) {
			t.Fatalf("accepted member pool_id %q", m.PoolID)
		}
	case *VIPRequest:
		v := &VIP{ConnectionLimit: -1, AdminStateUp: true}
		if op == OpUpdate {
			*v = goodVIP()
		}
		req.Apply(v)
		if err := ValidateVIP(v); err != nil {
			return err
		}
		if v.ProtocolPort < 1 || v.ProtocolPort > 65535 {
			t.Fatalf("accepted vip port %d", v.ProtocolPort)
		}
		if v.Protocol != ProtocolTCP && v.Protocol != ProtocolHTTP && v.Protocol != ProtocolHTTPS {
			t.Fatalf("accepted vip protocol %q", v.Protocol)
		}
		if v.ConnectionLimit != -1 && (v.ConnectionLimit < 1 || v.ConnectionLimit > 1000000) {
			t.Fatalf("accepted connection_limit %d", v.ConnectionLimit)
		}
		if v.Address != "" {
			if _, err := ParseIPv4("address", v.Address); err != nil {
				t.Fatalf("accepted vip address %q", v.Address)
			}
		}
		if sp := v.SessionPersistence; sp != nil {
			switch sp.Type {
			case PersistenceSourceIP, PersistenceHTTPCookie:
				if sp.CookieName != "" {
					t.Fatalf("accepted cookie_name %q with %s", sp.CookieName, sp.Type)
				}
			case PersistenceAppCookie:
				assertToken(t, "cookie_name", sp.CookieName)
			default:
				t.Fatalf("accepted persistence type %q", sp.Type)
			}
		}
		assertText(t, "vip name", v.Name, MaxNameLen)
		assertText(t, "vip description", v.Description, MaxDescriptionLen)
	case *HealthMonitorRequest:
		h := &HealthMonitor{HTTPMethod: "GET", URLPath: "/", ExpectedCodes: "200", AdminStateUp: true}
		if op == OpUpdate {
			*h = goodMonitor()
		}
		req.Apply(h)
		if err := ValidateHealthMonitor(h); err != nil {
			return err
		}
		if h.Delay < 1 || h.Timeout < 1 || h.Timeout > h.Delay {
			t.Fatalf("accepted delay %d timeout %d", h.Delay, h.Timeout)
		}
		if h.MaxRetries < 1 || h.MaxRetries > 10 {
			t.Fatalf("accepted max_retries %d", h.MaxRetries)
		}
		if !strings.HasPrefix(h.URLPath, "/") || len(h.URLPath) > MaxURLPathLen {
			t.Fatalf("accepted url_path %q", h.URLPath)
		}
		for _, r := range h.URLPath {
			if unicode.IsSpace(r) || unicode.IsControl(r) || r > unicode.MaxASCII || strings.ContainsRune(`"'\#`, r) {
				t.Fatalf("accepted url_path %q with %q", h.URLPath, r)
			}
		}
		for _, r := range h.ExpectedCodes + h.HTTPMethod {
			if unicode.IsControl(r) || r == '\t' {
				t.Fatalf("accepted expected_codes %q / http_method %q", h.ExpectedCodes, h.HTTPMethod)
			}
		}
		codes := ExpectedCodes(h.ExpectedCodes)
		if len(codes) == 0 {
			t.Fatalf("accepted expected_codes %q with no codes", h.ExpectedCodes)
		}
		for _, c := range codes {
			if c < 100 || c > 599 {
				t.Fatalf("accepted expected_codes %q holding %d", h.ExpectedCodes, c)
			}
		}
	default:
		t.Fatalf("no validation for %T", dst)
	}
	return nil
}

func assertText(t *testing.T, what, s string, max int) {
	t.Helper()
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		t.Fatalf("accepted %s %q", what, s)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			t.Fatalf("accepted %s %q with a control character", what, s)
		}
	}
}

func assertToken(t *testing.T, what, s string) {
	t.Helper()
	if s == "" || len(s) > 64 {
		t.Fatalf("accepted %s %q", what, s)
	}
	for _, r := range s {
		if !(r == '_' || r == '.' || r == '-' || r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r))) {
			t.Fatalf("accepted %s %q", what, s)
		}
	}
}

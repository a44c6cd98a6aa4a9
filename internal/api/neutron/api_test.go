package neutron_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"lbaas/internal/model"
	"lbaas/internal/pki"
)

func TestSeedObjectsAcceptNumbersAndBooleansAsStrings(t *testing.T) {
	ext := create(t, adminToken, "/v2.0/networks", "network", obj{"name": unique("Public"), "router:external": "True", "shared": "True"})
	if ext["router:external"] != true || ext["shared"] != true {
		t.Fatalf("router:external/shared not real booleans: %v", ext)
	}
	_, sub := network(t, alphaToken, "10.1.1.0/24")
	p := create(t, alphaToken, "/v2.0/lb/pools", "pool", obj{
		"name": unique("mypool"), "subnet_id": sub, "protocol": "HTTP", "lb_method": "ROUND_ROBIN", "admin_state_up": "False",
	})
	if p["admin_state_up"] != false {
		t.Fatalf("pool admin_state_up %v (%T), want false", p["admin_state_up"], p["admin_state_up"])
	}
	m := create(t, alphaToken, "/v2.0/lb/members", "member", obj{
		"pool_id": p["id"], "admin_state_up": true, "address": "10.1.1.2", "protocol_port": "80", "weight": "5",
	})
	if m["protocol_port"] != float64(80) || m["weight"] != float64(5) || m["admin_state_up"] != true {
		t.Fatalf("member numbers not real ints: port %#v weight %#v admin %#v", m["protocol_port"], m["weight"], m["admin_state_up"])
	}
	v := create(t, alphaToken, "/v2.0/lb/vips", "vip", obj{
		"pool_id": p["id"], "admin_state_up": true, "subnet_id": sub, "name": unique("myvip"), "protocol_port": "80", "protocol": "HTTP", "connection_limit": "100",
	})
	if v["protocol_port"] != float64(80) || v["connection_limit"] != float64(100) {
		t.Fatalf("vip numbers not real ints: %#v %#v", v["protocol_port"], v["connection_limit"])
	}
	h := create(t, alphaToken, "/v2.0/lb/health_monitors", "health_monitor", obj{
		"admin_state_up": true, "delay": "20", "max_retries": "3", "timeout": "10", "type": "HTTP",
	})
	for k, want := range map[string]any{"delay": float64(20), "timeout": float64(10), "max_retries": float64(3), "http_method": "GET", "url_path": "/", "expected_codes": "200"} {
		if h[k] != want {
			t.Fatalf("monitor %s = %#v, want %#v", k, h[k], want)
		}
	}
	// Updates the CLI sends, with strings too.
	expect(t, call(t, alphaToken, "PUT", "/v2.0/lb/members/"+m["id"].(string), obj{"member": obj{"weight": "7"}}), http.StatusOK)
	expect(t, call(t, alphaToken, "PUT", "/v2.0/lb/vips/"+v["id"].(string), obj{"vip": obj{"connection_limit": "200"}}), http.StatusOK)
	expect(t, call(t, alphaToken, "PUT", "/v2.0/lb/health_monitors/"+h["id"].(string), obj{"health_monitor": obj{"delay": "30"}}), http.StatusOK)
	if got := show(t, alphaToken, "/v2.0/lb/members/"+m["id"].(string), "member")["weight"]; got != float64(7) {
		t.Fatalf("weight after update %#v", got)
	}
	if got := show(t, alphaToken, "/v2.0/lb/vips/"+v["id"].(string), "vip")["connection_limit"]; got != float64(200) {
		t.Fatalf("connection_limit after update %#v", got)
	}
	if got := show(t, alphaToken, "/v2.0/lb/health_monitors/"+h["id"].(string), "health_monitor")["delay"]; got != float64(30) {
		t.Fatalf("delay after update %#v", got)
	}
}

// collections lists what a refused request might have created.
var collections = []struct{ path, plural string }{
	{"/v2.0/networks", "networks"},
	{"/v2.0/subnets", "subnets"},
	{"/v2.0/ports", "ports"},
	{"/v2.0/floatingips", "floatingips"},
	{"/v2.0/lb/pools", "pools"},
	{"/v2.0/lb/members", "members"},
	{"/v2.0/lb/vips", "vips"},
	{"/v2.0/lb/health_monitors", "health_monitors"},
	{"/v2.0/lbaas-certificates", "certificates"},
}

// snapshot returns every object the admin sees, by collection.
func snapshot(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, c := range collections {
		r := call(t, adminToken, "GET", c.path, nil)
		expect(t, r, http.StatusOK)
		out[c.path] = string(r.raw)
	}
	return out
}

func expectUnchanged(t *testing.T, before map[string]string) {
	t.Helper()
	after := snapshot(t)
	for path, b := range before {
		if after[path] != b {
			t.Fatalf("a refused request changed %s:\nbefore %.400s\nafter  %.400s", path, b, after[path])
		}
	}
}

func TestEveryInvalidFieldIsRefusedWith400AndNothingIsStored(t *testing.T) {
	netID, sub := network(t, alphaToken, "20.1.1.0/24")
	poolID := pool(t, alphaToken, sub, "HTTP")
	memberID := member(t, alphaToken, poolID, "20.1.1.50", 80)
	hmID := monitor(t, alphaToken)
	v := vip(t, alphaToken, sub, pool(t, alphaToken, sub, "TCP"), "TCP", 5000)
	vipID := v["id"].(string)
	long := strings.Repeat("n", model.MaxNameLen+1)
	member := func(f obj) obj {
		m := obj{"pool_id": poolID, "address": "20.1.1.9", "protocol_port": "80"}
		for k, v := range f {
			m[k] = v
		}
		return obj{"member": m}
	}
	poolBody := func(f obj) obj {
		p := obj{"subnet_id": sub, "protocol": "HTTP", "lb_method": "ROUND_ROBIN", "name": "p"}
		for k, v := range f {
			p[k] = v
		}
		return obj{"pool": p}
	}
	vipBody := func(f obj) obj {
		p := obj{"subnet_id": sub, "protocol": "HTTP", "protocol_port": 80, "pool_id": poolID}
		for k, v := range f {
			p[k] = v
		}
		return obj{"vip": p}
	}
	hm := func(f obj) obj {
		h := obj{"type": "HTTP", "delay": 10, "timeout": 5, "max_retries": 3}
		for k, v := range f {
			h[k] = v
		}
		return obj{"health_monitor": h}
	}
	subnet := func(f obj) obj {
		s := obj{"network_id": netID, "cidr": "30.0.0.0/24"}
		for k, v := range f {
			s[k] = v
		}
		return obj{"subnet": s}
	}
	cases := []struct {
		name, method, path string
		body               any
		want               string // named in the message
	}{
		{"network name too long", "POST", "/v2.0/networks", obj{"network": obj{"name": long}}, "name"},
		{"network name with newline", "POST", "/v2.0/networks", obj{"network": obj{"name": "a\nb"}}, "name"},
		{"network admin_state_up not a bool", "POST", "/v2.0/networks", obj{"network": obj{"admin_state_up": "maybe"}}, "admin_state_up"},
		{"network update name too long", "PUT", "/v2.0/networks/" + netID, obj{"network": obj{"name": long}}, "name"},
		{"subnet cidr not a cidr", "POST", "/v2.0/subnets", subnet(obj{"cidr": "30.0.0.0"}), "cidr"},
		{"subnet cidr host bits", "POST", "/v2.0/subnets", subnet(obj{"cidr": "30.0.0.1/24"}), "cidr"},
		{"subnet cidr /32", "POST", "/v2.0/subnets", subnet(obj{"cidr": "30.0.0.0/32"}), "cidr"},
		{"subnet cidr IPv6", "POST", "/v2.0/subnets", subnet(obj{"cidr": "fd00::/64"}), "cidr"},
		{"subnet ip_version 6", "POST", "/v2.0/subnets", subnet(obj{"ip_version": 6}), "ip_version"},
		{"subnet network not a uuid", "POST", "/v2.0/subnets", subnet(obj{"network_id": "vipnet"}), "network_id"},
		{"subnet gateway outside", "POST", "/v2.0/subnets", subnet(obj{"gateway_ip": "30.0.1.1"}), "gateway_ip"},
		{"subnet gateway is broadcast", "POST", "/v2.0/subnets", subnet(obj{"gateway_ip": "30.0.0.255"}), "gateway_ip"},
		{"subnet gateway not an address", "POST", "/v2.0/subnets", subnet(obj{"gateway_ip": "gw"}), "gateway_ip"},
		{"subnet pool outside", "POST", "/v2.0/subnets", subnet(obj{"allocation_pools": []obj{{"start": "30.0.0.10", "end": "30.0.1.10"}}}), "allocation_pools"},
		{"subnet pool reversed", "POST", "/v2.0/subnets", subnet(obj{"allocation_pools": []obj{{"start": "30.0.0.20", "end": "30.0.0.10"}}}), "allocation_pools"},
		{"subnet pool holds gateway", "POST", "/v2.0/subnets", subnet(obj{"allocation_pools": []obj{{"start": "30.0.0.1", "end": "30.0.0.10"}}}), "allocation_pools"},
		{"subnet pool bad address", "POST", "/v2.0/subnets", subnet(obj{"allocation_pools": []obj{{"start": "x", "end": "30.0.0.10"}}}), "allocation_pools"},
		{"subnet overlaps on network", "POST", "/v2.0/subnets", subnet(obj{"cidr": "20.1.0.0/16"}), "overlaps"},
		{"subnet name too long", "POST", "/v2.0/subnets", subnet(obj{"name": long}), "name"},
		{"pool protocol unknown", "POST", "/v2.0/lb/pools", poolBody(obj{"protocol": "UDP"}), "protocol"},
		{"pool lb_method unknown", "POST", "/v2.0/lb/pools", poolBody(obj{"lb_method": "RANDOM"}), "lb_method"},
		{"pool lb_method missing", "POST", "/v2.0/lb/pools", obj{"pool": obj{"subnet_id": sub, "protocol": "HTTP"}}, "lb_method"},
		{"pool subnet not a uuid", "POST", "/v2.0/lb/pools", poolBody(obj{"subnet_id": "poolsubnet"}), "subnet_id"},
		{"pool name too long", "POST", "/v2.0/lb/pools", poolBody(obj{"name": long}), "name"},
		{"pool description too long", "POST", "/v2.0/lb/pools", poolBody(obj{"description": strings.Repeat("d", model.MaxDescriptionLen+1)}), "description"},
		{"pool name with control character", "POST", "/v2.0/lb/pools", poolBody(obj{"name": "a\x1bb"}), "name"},
		{"pool provider unknown", "POST", "/v2.0/lb/pools", poolBody(obj{"provider": "octavia"}), "provider"},
		{"pool monitor not a uuid", "POST", "/v2.0/lb/pools", poolBody(obj{"health_monitors": []string{"hm"}}), "health_monitors"},
		{"pool update lb_method", "PUT", "/v2.0/lb/pools/" + poolID, obj{"pool": obj{"lb_method": "round_robin"}}, "lb_method"},
		{"pool update protocol", "PUT", "/v2.0/lb/pools/" + poolID, obj{"pool": obj{"protocol": "TCP"}}, "protocol"},
		{"member port 0", "POST", "/v2.0/lb/members", member(obj{"protocol_port": 0}), "protocol_port"},
		{"member port 65536", "POST", "/v2.0/lb/members", member(obj{"protocol_port": "65536"}), "protocol_port"},
		{"member port not a number", "POST", "/v2.0/lb/members", member(obj{"protocol_port": "abc"}), "Invalid input for protocol_port. Reason: 'abc' is not an integer."},
		{"member port a float", "POST", "/v2.0/lb/members", member(obj{"protocol_port": 80.5}), "protocol_port"},
		{"member weight 257", "POST", "/v2.0/lb/members", member(obj{"weight": 257}), "weight"},
		{"member weight negative", "POST", "/v2.0/lb/members", member(obj{"weight": "-1"}), "weight"},
		{"member address not an address", "POST", "/v2.0/lb/members", member(obj{"address": "web1"}), "address"},
		{"member address IPv6", "POST", "/v2.0/lb/members", member(obj{"address": "fd00::1"}), "address"},
		{"member pool not a uuid", "POST", "/v2.0/lb/members", member(obj{"pool_id": "mypool"}), "pool_id"},
		{"member update weight", "PUT", "/v2.0/lb/members/" + memberID, obj{"member": obj{"weight": 300}}, "weight"},
		{"member update address", "PUT", "/v2.0/lb/members/" + memberID, obj{"member": obj{"address": "20.1.1.51"}}, "address"},
		{"vip port 0", "POST", "/v2.0/lb/vips", vipBody(obj{"protocol_port": "0"}), "protocol_port"},
		{"vip port 65536", "POST", "/v2.0/lb/vips", vipBody(obj{"protocol_port": 65536}), "protocol_port"},
		{"vip protocol unknown", "POST", "/v2.0/lb/vips", vipBody(obj{"protocol": "QUIC"}), "protocol"},
		{"vip address not an address", "POST", "/v2.0/lb/vips", vipBody(obj{"address": "20.1.1"}), "address"},
		{"vip address outside subnet", "POST", "/v2.0/lb/vips", vipBody(obj{"address": "20.1.2.9"}), "20.1.2.9"},
		{"vip address is the network address", "POST", "/v2.0/lb/vips", vipBody(obj{"address": "20.1.1.0"}), "20.1.1.0"},
		{"vip address is the broadcast address", "POST", "/v2.0/lb/vips", vipBody(obj{"address": "20.1.1.255"}), "20.1.1.255"},
		{"vip connection_limit -2", "POST", "/v2.0/lb/vips", vipBody(obj{"connection_limit": -2}), "connection_limit"},
		{"vip persistence unknown", "POST", "/v2.0/lb/vips", vipBody(obj{"session_persistence": obj{"type": "STICKY"}}), "session_persistence"},
		{"vip app cookie without name", "POST", "/v2.0/lb/vips", vipBody(obj{"session_persistence": obj{"type": "APP_COOKIE"}}), "session_persistence"},
		{"vip cookie name with newline", "POST", "/v2.0/lb/vips", vipBody(obj{"session_persistence": obj{"type": "APP_COOKIE", "cookie_name": "a\nb"}}), "session_persistence"},
		{"vip name too long", "POST", "/v2.0/lb/vips", vipBody(obj{"name": long}), "name"},
		{"vip pool missing", "POST", "/v2.0/lb/vips", obj{"vip": obj{"subnet_id": sub, "protocol": "HTTP", "protocol_port": 80}}, "pool_id"},
		{"vip update connection_limit", "PUT", "/v2.0/lb/vips/" + vipID, obj{"vip": obj{"connection_limit": "-5"}}, "connection_limit"},
		{"vip update address", "PUT", "/v2.0/lb/vips/" + vipID, obj{"vip": obj{"address": "20.1.1.77"}}, "address"},
		{"vip update protocol_port", "PUT", "/v2.0/lb/vips/" + vipID, obj{"vip": obj{"protocol_port": 81}}, "protocol_port"},
		{"monitor type unknown", "POST", "/v2.0/lb/health_monitors", hm(obj{"type": "UDP"}), "type"},
		{"monitor delay 0", "POST", "/v2.0/lb/health_monitors", hm(obj{"delay": 0, "timeout": 0}), "delay"},
		{"monitor timeout above delay", "POST", "/v2.0/lb/health_monitors", hm(obj{"delay": "5", "timeout": "10"}), "timeout"},
		{"monitor max_retries 0", "POST", "/v2.0/lb/health_monitors", hm(obj{"max_retries": 0}), "max_retries"},
		{"monitor max_retries 30", "POST", "/v2.0/lb/health_monitors", hm(obj{"max_retries": "30"}), "Invalid input for max_retries. Reason: '30' is not in range 1 through 10."},
		{"monitor url_path relative", "POST", "/v2.0/lb/health_monitors", hm(obj{"url_path": "health"}), "url_path"},
		{"monitor url_path with space", "POST", "/v2.0/lb/health_monitors", hm(obj{"url_path": "/a b"}), "url_path"},
		{"monitor url_path with newline", "POST", "/v2.0/lb/health_monitors", hm(obj{"url_path": "/a\nhttp-check disable-on-404"}), "url_path"},
		{"monitor url_path with NUL", "POST", "/v2.0/lb/health_monitors", hm(obj{"url_path": "/a\x00"}), "url_path"},
		{"monitor expected_codes word", "POST", "/v2.0/lb/health_monitors", hm(obj{"expected_codes": "OK"}), "expected_codes"},
		{"monitor expected_codes open range", "POST", "/v2.0/lb/health_monitors", hm(obj{"expected_codes": "200-"}), "expected_codes"},
		{"monitor expected_codes with newline", "POST", "/v2.0/lb/health_monitors", hm(obj{"expected_codes": "200,\n202"}), "expected_codes"},
		{"monitor http_method unknown", "POST", "/v2.0/lb/health_monitors", hm(obj{"http_method": "FETCH"}), "http_method"},
		{"monitor update timeout above delay", "PUT", "/v2.0/lb/health_monitors/" + hmID, obj{"health_monitor": obj{"timeout": 30}}, "timeout"},
		{"monitor update type", "PUT", "/v2.0/lb/health_monitors/" + hmID, obj{"health_monitor": obj{"type": "TCP"}}, "type"},
		{"floatingip network not a uuid", "POST", "/v2.0/floatingips", obj{"floatingip": obj{"floating_network_id": "Public"}}, "floating_network_id"},
		{"floatingip network not external", "POST", "/v2.0/floatingips", obj{"floatingip": obj{"floating_network_id": netID}}, "external"},
		{"tenant_id of another project", "POST", "/v2.0/lb/health_monitors", hm(obj{"tenant_id": "beta"}), "admin"},
		{"tenant_id malformed", "POST", "/v2.0/lb/health_monitors", hm(obj{"tenant_id": "a b"}), "tenant_id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t)
			r := call(t, alphaToken, tc.method, tc.path, tc.body)
			expectNeutronError(t, r, http.StatusBadRequest, "", tc.want)
			expectUnchanged(t, before)
		})
	}
}

func TestMalformedJSONAndUnknownFieldsAreRefused(t *testing.T) {
	_, sub := network(t, alphaToken, "20.2.1.0/24")
	poolID := pool(t, alphaToken, sub, "HTTP")
	bodies := []struct {
		name, body, want string
	}{
		{"empty", "", "empty"},
		{"truncated", `{"pool": {"name": "x"`, "Malformed JSON"},
		{"not JSON", `pool=x`, "Malformed JSON"},
		{"trailing garbage", `{"pool": {}} x`, "Malformed JSON"},
		{"array", `[{"pool": {}}]`, "Malformed JSON"},
		{"wrong envelope", `{"vip": {"name": "x"}}`, "'pool'"},
		{"bare object", `{"name": "x", "lb_method": "ROUND_ROBIN"}`, "'pool'"},
		{"second envelope", `{"pool": {"name": "x"}, "extra": {}}`, "'pool'"},
		{"envelope not an object", `{"pool": "x"}`, "JSON object"},
		{"unknown field", `{"pool": {"name": "x", "color": "red"}}`, "color"},
		{"field of another resource", `{"pool": {"name": "x", "weight": 5}}`, "weight"},
	}
	for _, b := range bodies {
		t.Run("POST "+b.name, func(t *testing.T) {
			before := snapshot(t)
			r := call(t, alphaToken, "POST", "/v2.0/lb/pools", b.body)
			expectNeutronError(t, r, http.StatusBadRequest, "", b.want)
			expectUnchanged(t, before)
		})
		t.Run("PUT "+b.name, func(t *testing.T) {
			before := snapshot(t)
			r := call(t, alphaToken, "PUT", "/v2.0/lb/pools/"+poolID, b.body)
			expectNeutronError(t, r, http.StatusBadRequest, "", b.want)
			expectUnchanged(t, before)
		})
	}
	// Every collection refuses unknown fields, not just pools.
	for _, c := range []struct{ path, env string }{
		{"/v2.0/networks", "network"}, {"/v2.0/subnets", "subnet"}, {"/v2.0/floatingips", "floatingip"},
		{"/v2.0/lb/members", "member"}, {"/v2.0/lb/vips", "vip"}, {"/v2.0/lb/health_monitors", "health_monitor"},
		{"/v2.0/lbaas-certificates", "certificate"},
	} {
		r := call(t, alphaToken, "POST", c.path, obj{c.env: obj{"sneaky": "x"}})
		expectNeutronError(t, r, http.StatusBadRequest, "", "sneaky")
	}
}

func TestOversizedBodyIsRefused(t *testing.T) {
	_, sub := network(t, alphaToken, "20.3.1.0/24")
	poolID := pool(t, alphaToken, sub, "HTTP")
	for _, size := range []int{model.MaxBodyBytes + 1, model.MaxBodyBytes + 2, 4 * model.MaxBodyBytes} {
		pad := size - len(`{"pool": {"name": "", "subnet_id": "`+sub+`", "protocol": "HTTP", "lb_method": "ROUND_ROBIN"}}`)
		body := `{"pool": {"name": "` + strings.Repeat("a", pad) + `", "subnet_id": "` + sub + `", "protocol": "HTTP", "lb_method": "ROUND_ROBIN"}}`
		if len(body) != size {
			t.Fatalf("built a body of %d bytes, want %d", len(body), size)
		}
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			before := snapshot(t)
			for _, method := range []string{"POST", "PUT"} {
				path := "/v2.0/lb/pools"
				if method == "PUT" {
					path += "/" + poolID
				}
				r := call(t, alphaToken, method, path, body)
				if r.code != http.StatusBadRequest && r.code != http.StatusRequestEntityTooLarge {
					t.Fatalf("%s of %d bytes: status %d, want 400 or 413", method, size, r.code)
				}
				expectNeutronError(t, r, r.code, "", "larger than")
			}
			expectUnchanged(t, before)
		})
	}
	// The limit is on the body, not on what the server stores: a body just
	// under it is parsed (and refused for its over-long name, not its size).
	body := `{"pool": {"name": "` + strings.Repeat("a", model.MaxBodyBytes-200) + `"}}`
	expectNeutronError(t, call(t, alphaToken, "PUT", "/v2.0/lb/pools/"+poolID, body), http.StatusBadRequest, "", "name")
}

func TestMissingOrWrongTokenIs401InNeutronFormat(t *testing.T) {
	for _, tok := range []string{"", "wrong-token-0123456789", strings.ToUpper(alphaToken), alphaToken[:10], alphaToken + "x"} {
		for _, rq := range []struct{ method, path string }{
			{"GET", "/v2.0/lb/pools"}, {"GET", "/v2.0/networks"}, {"POST", "/v2.0/lb/health_monitors"}, {"GET", "/v2.0/nothing-here"},
		} {
			var body any
			if rq.method == "POST" {
				body = obj{"health_monitor": obj{"type": "TCP", "delay": 5, "timeout": 5, "max_retries": 3}}
			}
			before := snapshot(t)
			r := call(t, tok, rq.method, rq.path, body)
			expectNeutronError(t, r, http.StatusUnauthorized, "", "The request you have made requires authentication.")
			expectUnchanged(t, before)
		}
	}
}

func TestProjectsSeeOnlyTheirOwnObjects(t *testing.T) {
	_, sub := network(t, alphaToken, "20.4.1.0/24")
	poolID := pool(t, alphaToken, sub, "HTTP")
	memberID := member(t, alphaToken, poolID, "20.4.1.10", 80)
	hmID := monitor(t, alphaToken)
	v := vip(t, alphaToken, sub, poolID, "HTTP", 80)
	_, betaSub := network(t, betaToken, "20.4.1.0/24") // same CIDR, other project: allowed
	betaPool := pool(t, betaToken, betaSub, "HTTP")

	owned := []struct{ path, env, plural string }{
		{"/v2.0/subnets/" + sub, "subnet", "subnets"},
		{"/v2.0/lb/pools/" + poolID, "pool", "pools"},
		{"/v2.0/lb/members/" + memberID, "member", "members"},
		{"/v2.0/lb/health_monitors/" + hmID, "health_monitor", "health_monitors"},
		{"/v2.0/lb/vips/" + v["id"].(string), "vip", "vips"},
		{"/v2.0/ports/" + v["port_id"].(string), "port", "ports"},
	}
	for _, o := range owned {
		show(t, alphaToken, o.path, o.env)
		show(t, adminToken, o.path, o.env)
		expectNeutronError(t, call(t, betaToken, "GET", o.path, nil), http.StatusNotFound, "")
		collection := o.path[:strings.LastIndex(o.path, "/")]
		id := o.path[strings.LastIndex(o.path, "/")+1:]
		if ids(list(t, betaToken, collection, o.plural))[id] {
			t.Fatalf("beta lists alpha's %s %s", o.env, id)
		}
		if ids(list(t, betaToken, collection+"?id="+id, o.plural))[id] {
			t.Fatalf("beta finds alpha's %s %s by id filter", o.env, id)
		}
		if !ids(list(t, adminToken, collection, o.plural))[id] {
			t.Fatalf("admin does not list alpha's %s %s", o.env, id)
		}
	}
	if !ids(list(t, adminToken, "/v2.0/lb/pools", "pools"))[betaPool] {
		t.Fatal("admin does not list beta's pool")
	}
	if ids(list(t, alphaToken, "/v2.0/lb/pools", "pools"))[betaPool] {
		t.Fatal("alpha lists beta's pool")
	}

	before := snapshot(t)
	expectNeutronError(t, call(t, betaToken, "PUT", "/v2.0/lb/pools/"+poolID, obj{"pool": obj{"name": "stolen"}}), http.StatusNotFound, "PoolNotFound")
	expectNeutronError(t, call(t, betaToken, "DELETE", "/v2.0/lb/members/"+memberID, nil), http.StatusNotFound, "MemberNotFound")
	expectNeutronError(t, call(t, betaToken, "DELETE", "/v2.0/lb/vips/"+v["id"].(string), nil), http.StatusNotFound, "VipNotFound")
	expectNeutronError(t, call(t, betaToken, "PUT", "/v2.0/lb/health_monitors/"+hmID, obj{"health_monitor": obj{"delay": 99}}), http.StatusNotFound, "HealthMonitorNotFound")
	expectNeutronError(t, call(t, betaToken, "POST", "/v2.0/lb/members", obj{"member": obj{"pool_id": poolID, "address": "20.4.1.11", "protocol_port": 80}}), http.StatusNotFound, "PoolNotFound")
	expectNeutronError(t, call(t, betaToken, "POST", "/v2.0/lb/pools", obj{"pool": obj{"subnet_id": sub, "protocol": "HTTP", "lb_method": "ROUND_ROBIN"}}), http.StatusNotFound, "SubnetNotFound")
	expectNeutronError(t, call(t, betaToken, "POST", "/v2.0/lb/pools/"+betaPool+"/health_monitors", obj{"health_monitor": obj{"id": hmID}}), http.StatusNotFound, "HealthMonitorNotFound")
	expectNeutronError(t, call(t, betaToken, "POST", "/v2.0/lb/vips", obj{"vip": obj{"subnet_id": betaSub, "pool_id": poolID, "protocol": "HTTP", "protocol_port": 81}}), http.StatusNotFound, "PoolNotFound")
	expectNeutronError(t, call(t, betaToken, "PUT", "/v2.0/lb/members/"+memberID, obj{"member": obj{"pool_id": betaPool}}), http.StatusNotFound, "MemberNotFound")
	expectNeutronError(t, call(t, betaToken, "DELETE", "/v2.0/lb/pools/"+poolID, nil), http.StatusNotFound, "PoolNotFound")
	expectNeutronError(t, call(t, betaToken, "GET", "/v2.0/lb/pools/"+poolID+"/stats", nil), http.StatusNotFound, "PoolNotFound")
	expectUnchanged(t, before)

	// Alpha cannot move its member into beta's pool either.
	expectNeutronError(t, call(t, alphaToken, "PUT", "/v2.0/lb/members/"+memberID, obj{"member": obj{"pool_id": betaPool}}), http.StatusNotFound, "PoolNotFound")
	// Admin may change anyone's objects.
	expect(t, call(t, adminToken, "PUT", "/v2.0/lb/pools/"+poolID, obj{"pool": obj{"description": "by admin"}}), http.StatusOK)
	if show(t, alphaToken, "/v2.0/lb/pools/"+poolID, "pool")["description"] != "by admin" {
		t.Fatal("admin's update is not visible to the owner")
	}
}

func TestPoolDeleteCascadesMembersButNotWhileAVIPUsesIt(t *testing.T) {
	_, sub := network(t, alphaToken, "20.5.1.0/24")
	poolID := pool(t, alphaToken, sub, "HTTP")
	m1 := member(t, alphaToken, poolID, "20.5.1.10", 80)
	m2 := member(t, alphaToken, poolID, "20.5.1.11", 80)
	p := show(t, alphaToken, "/v2.0/lb/pools/"+poolID, "pool")
	if got := fmt.Sprint(p["members"]); !strings.Contains(got, m1) || !strings.Contains(got, m2) {
		t.Fatalf("pool members %v lack %s/%s", got, m1, m2)
	}
	v := vip(t, alphaToken, sub, poolID, "HTTP", 80)
	if show(t, alphaToken, "/v2.0/lb/pools/"+poolID, "pool")["vip_id"] != v["id"] {
		t.Fatal("pool does not name its vip")
	}
	expectNeutronError(t, call(t, alphaToken, "DELETE", "/v2.0/lb/pools/"+poolID, nil), http.StatusConflict, "PoolInUse", "Pool "+poolID+" is still in use")
	show(t, alphaToken, "/v2.0/lb/members/"+m1, "member")

	expect(t, call(t, alphaToken, "DELETE", "/v2.0/lb/vips/"+v["id"].(string), nil), http.StatusNoContent)
	if vid := show(t, alphaToken, "/v2.0/lb/pools/"+poolID, "pool")["vip_id"]; vid != nil {
		t.Fatalf("pool still names vip %v after its deletion", vid)
	}
	r := call(t, alphaToken, "DELETE", "/v2.0/lb/pools/"+poolID, nil)
	expect(t, r, http.StatusNoContent)
	if len(r.raw) != 0 {
		t.Fatalf("204 with a body: %s", r.raw)
	}
	for _, id := range []string{m1, m2} {
		expectNeutronError(t, call(t, alphaToken, "GET", "/v2.0/lb/members/"+id, nil), http.StatusNotFound, "MemberNotFound")
	}
	expectNeutronError(t, call(t, alphaToken, "GET", "/v2.0/lb/pools/"+poolID, nil), http.StatusNotFound, "PoolNotFound")
	expectNeutronError(t, call(t, alphaToken, "DELETE", "/v2.0/lb/pools/"+poolID, nil), http.StatusNotFound, "PoolNotFound")

	// The cascade released the members' address:port: a new pool may not
	// hold them, but the same pair may be added again to a new pool.
	p2 := pool(t, alphaToken, sub, "HTTP")
	member(t, alphaToken, p2, "20.5.1.10", 80)
}

func TestVIPGetsAnAddressInItsSubnetAndAPort(t *testing.T) {
	netID, sub := network(t, alphaToken, "20.6.1.0/24")
	s := show(t, alphaToken, "/v2.0/subnets/"+sub, "subnet")
	gw := s["gateway_ip"].(string)
	prefix := netip.MustParsePrefix("20.6.1.0/24")

	v := vip(t, alphaToken, sub, pool(t, alphaToken, sub, "HTTP"), "HTTP", 80)
	addr := netip.MustParseAddr(v["address"].(string))
	if !prefix.Contains(addr) || addr.String() == gw || addr == prefix.Addr() || addr.String() == "20.6.1.255" {
		t.Fatalf("vip address %s is not a host address of %s (gateway %s)", addr, prefix, gw)
	}
	portID, _ := v["port_id"].(string)
	if !model.IsUUID(portID) {
		t.Fatalf("vip port_id %q", v["port_id"])
	}
	port := show(t, alphaToken, "/v2.0/ports/"+portID, "port")
	if port["device_owner"] != model.DeviceOwnerLoadBalancer || port["device_id"] != v["id"] || port["network_id"] != netID {
		t.Fatalf("vip port %v", port)
	}
	fixed := fmt.Sprint(port["fixed_ips"])
	if !strings.Contains(fixed, sub) || !strings.Contains(fixed, addr.String()) {
		t.Fatalf("port fixed_ips %s lack %s on %s", fixed, addr, sub)
	}

	// An address asked for is honoured; one in use is a conflict.
	v2 := create(t, alphaToken, "/v2.0/lb/vips", "vip", obj{"subnet_id": sub, "pool_id": pool(t, alphaToken, sub, "TCP"), "protocol": "TCP", "protocol_port": 22, "address": "20.6.1.77"})
	if v2["address"] != "20.6.1.77" {
		t.Fatalf("asked-for address not used: %v", v2["address"])
	}
	before := snapshot(t)
	for _, taken := range []string{"20.6.1.77", gw} {
		r := call(t, alphaToken, "POST", "/v2.0/lb/vips", obj{"vip": obj{"subnet_id": sub, "pool_id": pool(t, alphaToken, sub, "TCP"), "protocol": "TCP", "protocol_port": 22, "address": taken}})
		before = snapshotExcept(t, before, "/v2.0/lb/pools")
		expectNeutronError(t, r, http.StatusConflict, "IpAddressInUse", taken)
		expectUnchanged(t, before)
	}
	// Deleting the vip frees its port and its address.
	expect(t, call(t, alphaToken, "DELETE", "/v2.0/lb/vips/"+v2["id"].(string), nil), http.StatusNoContent)
	expectNeutronError(t, call(t, alphaToken, "GET", "/v2.0/ports/"+v2["port_id"].(string), nil), http.StatusNotFound, "PortNotFound")
	v3 := create(t, alphaToken, "/v2.0/lb/vips", "vip", obj{"subnet_id": sub, "pool_id": pool(t, alphaToken, sub, "TCP"), "protocol": "TCP", "protocol_port": 22, "address": "20.6.1.77"})
	if v3["address"] != "20.6.1.77" {
		t.Fatalf("freed address not reusable: %v", v3["address"])
	}
}

// snapshotExcept refreshes one collection of a snapshot after a test
// changed it on purpose.
func snapshotExcept(t *testing.T, s map[string]string, path string) map[string]string {
	t.Helper()
	now := snapshot(t)
	out := map[string]string{}
	for k, v := range s {
		out[k] = v
	}
	out[path] = now[path]
	return out
}

func TestConcurrentVIPCreatesNeverShareAnAddress(t *testing.T) {
	_, sub := network(t, alphaToken, "20.7.1.0/24")
	const n = 20
	pools := make([]string, n)
	for i := range pools {
		pools[i] = pool(t, alphaToken, sub, "TCP")
	}
	var wg sync.WaitGroup
	results := make([]resp, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = call(t, alphaToken, "POST", "/v2.0/lb/vips", obj{"vip": obj{"subnet_id": sub, "pool_id": pools[i], "protocol": "TCP", "protocol_port": 443}})
		}()
	}
	wg.Wait()
	seen := map[string]int{}
	for i, r := range results {
		if r.code != http.StatusCreated {
			t.Fatalf("vip %d: status %d: %s", i, r.code, r.raw)
		}
		a := r.body["vip"].(obj)["address"].(string)
		if j, dup := seen[a]; dup {
			t.Fatalf("vips %d and %d share address %s", j, i, a)
		}
		seen[a] = i
	}
	// The ports agree with the vips.
	ports := list(t, alphaToken, "/v2.0/ports?device_owner="+url.QueryEscape(model.DeviceOwnerLoadBalancer), "ports")
	addrs := map[string]int{}
	for _, p := range ports {
		for _, f := range p["fixed_ips"].([]any) {
			fm := f.(obj)
			if fm["subnet_id"] == sub {
				addrs[fm["ip_address"].(string)]++
			}
		}
	}
	if len(addrs) != n {
		t.Fatalf("%d distinct port addresses on the subnet, want %d", len(addrs), n)
	}
	for a, c := range addrs {
		if c != 1 {
			t.Fatalf("address %s held by %d ports", a, c)
		}
	}
}

func TestDuplicateMemberIs409MemberExists(t *testing.T) {
	_, sub := network(t, alphaToken, "20.8.1.0/24")
	poolID := pool(t, alphaToken, sub, "HTTP")
	first := member(t, alphaToken, poolID, "10.9.9.9", 80)
	before := snapshot(t)
	r := call(t, alphaToken, "POST", "/v2.0/lb/members", obj{"member": obj{"pool_id": poolID, "address": "10.9.9.9", "protocol_port": "80"}})
	expectNeutronError(t, r, http.StatusConflict, "MemberExists", "Member with address 10.9.9.9 and port 80 already present in pool "+poolID)
	expectUnchanged(t, before)
	// Same address, other port; and same pair in another pool: both fine.
	member(t, alphaToken, poolID, "10.9.9.9", 81)
	member(t, alphaToken, pool(t, alphaToken, sub, "HTTP"), "10.9.9.9", 80)
	// Concurrent duplicates: exactly one wins.
	var wg sync.WaitGroup
	codes := make([]int, 8)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = call(t, alphaToken, "POST", "/v2.0/lb/members", obj{"member": obj{"pool_id": poolID, "address": "10.9.9.10", "protocol_port": 80}}).code
		}()
	}
	wg.Wait()
	created := 0
	for _, c := range codes {
		switch c {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
		default:
			t.Fatalf("concurrent duplicate answered %d", c)
		}
	}
	if created != 1 {
		t.Fatalf("%d concurrent duplicates were created, want 1 (codes %v)", created, codes)
	}
	// Deleting the member frees its address:port.
	expect(t, call(t, alphaToken, "DELETE", "/v2.0/lb/members/"+first, nil), http.StatusNoContent)
	member(t, alphaToken, poolID, "10.9.9.9", 80)
}

func TestSecondVIPOnPoolIs409(t *testing.T) {
	_, sub := network(t, alphaToken, "20.9.1.0/24")
	poolID := pool(t, alphaToken, sub, "HTTP")
	v := vip(t, alphaToken, sub, poolID, "HTTP", 80)
	before := snapshot(t)
	r := call(t, alphaToken, "POST", "/v2.0/lb/vips", obj{"vip": obj{"subnet_id": sub, "pool_id": poolID, "protocol": "HTTP", "protocol_port": "443"}})
	expectNeutronError(t, r, http.StatusConflict, "VipExists", "Another Vip already exists for pool "+poolID)
	expectUnchanged(t, before)
	// Moving another vip onto the pool is refused the same way.
	other := vip(t, alphaToken, sub, pool(t, alphaToken, sub, "HTTP"), "HTTP", 8080)
	expectNeutronError(t, call(t, alphaToken, "PUT", "/v2.0/lb/vips/"+other["id"].(string), obj{"vip": obj{"pool_id": poolID}}), http.StatusConflict, "VipExists")
	// Once the vip is gone the pool takes a new one.
	expect(t, call(t, alphaToken, "DELETE", "/v2.0/lb/vips/"+v["id"].(string), nil), http.StatusNoContent)
	vip(t, alphaToken, sub, poolID, "HTTP", 443)
}

func TestProtocolMismatchIs400(t *testing.T) {
	_, sub := network(t, alphaToken, "20.10.1.0/24")
	poolID := pool(t, alphaToken, sub, "HTTP")
	before := snapshot(t)
	r := call(t, alphaToken, "POST", "/v2.0/lb/vips", obj{"vip": obj{"subnet_id": sub, "pool_id": poolID, "protocol": "TCP", "protocol_port": "80"}})
	expectNeutronError(t, r, http.StatusBadRequest, "ProtocolMismatch", "Protocol TCP does not match pool protocol HTTP")
	expectUnchanged(t, before)
	// Moving a TCP vip to an HTTP pool too.
	tcp := vip(t, alphaToken, sub, pool(t, alphaToken, sub, "TCP"), "TCP", 22)
	expectNeutronError(t, call(t, alphaToken, "PUT", "/v2.0/lb/vips/"+tcp["id"].(string), obj{"vip": obj{"pool_id": poolID}}), http.StatusBadRequest, "ProtocolMismatch")
}

func TestFiltersAndFieldsProjection(t *testing.T) {
	_, sub := network(t, alphaToken, "20.11.1.0/24")
	nameA, nameB := unique("filter-a"), unique("filter-b")
	a := create(t, alphaToken, "/v2.0/lb/pools", "pool", obj{"name": nameA, "subnet_id": sub, "protocol": "HTTP", "lb_method": "ROUND_ROBIN"})
	b := create(t, alphaToken, "/v2.0/lb/pools", "pool", obj{"name": nameB, "subnet_id": sub, "protocol": "TCP", "lb_method": "SOURCE_IP", "admin_state_up": false})
	idA, idB := a["id"].(string), b["id"].(string)

	only := func(got []obj, want ...string) {
		t.Helper()
		g := ids(got)
		if len(g) != len(want) {
			t.Fatalf("got ids %v, want %v", g, want)
		}
		for _, w := range want {
			if !g[w] {
				t.Fatalf("got ids %v, want %v", g, want)
			}
		}
	}
	only(list(t, alphaToken, "/v2.0/lb/pools?name="+nameA, "pools"), idA)
	only(list(t, alphaToken, "/v2.0/lb/pools?id="+idB, "pools"), idB)
	only(list(t, alphaToken, "/v2.0/lb/pools?id="+idA+"&id="+idB, "pools"), idA, idB)
	only(list(t, alphaToken, "/v2.0/lb/pools?name="+nameA+"&name="+nameB, "pools"), idA, idB)
	only(list(t, alphaToken, "/v2.0/lb/pools?subnet_id="+sub+"&protocol=TCP", "pools"), idB)
	only(list(t, alphaToken, "/v2.0/lb/pools?subnet_id="+sub+"&admin_state_up=False", "pools"), idB)
	only(list(t, alphaToken, "/v2.0/lb/pools?subnet_id="+sub+"&admin_state_up=true", "pools"), idA)
	only(list(t, alphaToken, "/v2.0/lb/pools?subnet_id="+sub+"&lb_method=ROUND_ROBIN&lb_method=SOURCE_IP", "pools"), idA, idB)
	only(list(t, alphaToken, "/v2.0/lb/pools?name="+nameA+"&id="+idB, "pools"))
	only(list(t, alphaToken, "/v2.0/lb/pools?name=no-such-pool", "pools"))
	only(list(t, alphaToken, "/v2.0/lb/pools?id=00000000-0000-4000-8000-000000000000", "pools"))
	only(list(t, alphaToken, "/v2.0/lb/pools?no_such_attribute=1", "pools"))
	only(list(t, alphaToken, "/v2.0/lb/pools?tenant_id=alpha&name="+nameA, "pools"), idA)

	// The neutron CLI's name lookup.
	got := list(t, alphaToken, "/v2.0/lb/pools?name="+nameA+"&fields=id", "pools")
	if len(got) != 1 || len(got[0]) != 1 || got[0]["id"] != idA {
		t.Fatalf("?fields=id answered %v", got)
	}
	// net-list's decoration of subnets.
	got = list(t, alphaToken, "/v2.0/subnets?fields=id&fields=cidr&id="+sub, "subnets")
	if len(got) != 1 || len(got[0]) != 2 || got[0]["cidr"] != "20.11.1.0/24" {
		t.Fatalf("?fields=id&fields=cidr answered %v", got)
	}
	p := show(t, alphaToken, "/v2.0/lb/pools/"+idA+"?fields=name&fields=lb_method", "pool")
	if len(p) != 2 || p["name"] != nameA || p["lb_method"] != "ROUND_ROBIN" {
		t.Fatalf("show with fields answered %v", p)
	}
	// Member filters by pool and by an integer attribute.
	m := member(t, alphaToken, idA, "20.11.1.5", 8080)
	member(t, alphaToken, idA, "20.11.1.5", 8081)
	only(list(t, alphaToken, "/v2.0/lb/members?pool_id="+idA+"&protocol_port=8080", "members"), m)
}

func TestMonitorAssociateDisassociate(t *testing.T) {
	_, sub := network(t, alphaToken, "20.12.1.0/24")
	poolID := pool(t, alphaToken, sub, "HTTP")
	hm := monitor(t, alphaToken)
	h := show(t, alphaToken, "/v2.0/lb/health_monitors/"+hm, "health_monitor")
	if len(h["pools"].([]any)) != 0 {
		t.Fatalf("new monitor has pools %v", h["pools"])
	}
	path := "/v2.0/lb/pools/" + poolID + "/health_monitors"
	r := call(t, alphaToken, "POST", path, obj{"health_monitor": obj{"id": hm}})
	expect(t, r, http.StatusCreated)
	p := show(t, alphaToken, "/v2.0/lb/pools/"+poolID, "pool")
	if fmt.Sprint(p["health_monitors"]) != "["+hm+"]" {
		t.Fatalf("pool health_monitors %v", p["health_monitors"])
	}
	h = show(t, alphaToken, "/v2.0/lb/health_monitors/"+hm, "health_monitor")
	if pools := h["pools"].([]any); len(pools) != 1 || pools[0].(obj)["pool_id"] != poolID {
		t.Fatalf("monitor pools %v", h["pools"])
	}
	expectNeutronError(t, call(t, alphaToken, "POST", path, obj{"health_monitor": obj{"id": hm}}), http.StatusConflict, "PoolMonitorAssociationExists", hm, poolID)
	expectNeutronError(t, call(t, alphaToken, "POST", path, obj{"health_monitor": obj{"id": "00000000-0000-4000-8000-000000000000"}}), http.StatusNotFound, "HealthMonitorNotFound")
	expectNeutronError(t, call(t, alphaToken, "POST", path, obj{"health_monitor": obj{"id": "hm"}}), http.StatusBadRequest, "", "id")
	expectNeutronError(t, call(t, alphaToken, "POST", path, obj{"health_monitor": obj{}}), http.StatusBadRequest, "", "id")
	expectNeutronError(t, call(t, alphaToken, "POST", "/v2.0/lb/pools/00000000-0000-4000-8000-000000000000/health_monitors", obj{"health_monitor": obj{"id": hm}}), http.StatusNotFound, "PoolNotFound")

	r = call(t, alphaToken, "DELETE", path+"/"+hm, nil)
	expect(t, r, http.StatusNoContent)
	if got := show(t, alphaToken, "/v2.0/lb/pools/"+poolID, "pool")["health_monitors"]; len(got.([]any)) != 0 {
		t.Fatalf("pool still has monitors %v", got)
	}
	expectNeutronError(t, call(t, alphaToken, "DELETE", path+"/"+hm, nil), http.StatusNotFound, "PoolMonitorAssociationNotFound", "Monitor "+hm+" is not associated with Pool "+poolID)

	// Deleting an associated monitor removes the association.
	expect(t, call(t, alphaToken, "POST", path, obj{"health_monitor": obj{"id": hm}}), http.StatusCreated)
	expect(t, call(t, alphaToken, "DELETE", "/v2.0/lb/health_monitors/"+hm, nil), http.StatusNoContent)
	if got := show(t, alphaToken, "/v2.0/lb/pools/"+poolID, "pool")["health_monitors"]; len(got.([]any)) != 0 {
		t.Fatalf("deleted monitor still on the pool: %v", got)
	}
}

// publicNetwork makes an external network with a subnet, as the server's
// EnsurePublicNetwork does at start-up.
func publicNetwork(t *testing.T, cidr string) (string, string) {
	t.Helper()
	n := create(t, adminToken, "/v2.0/networks", "network", obj{"name": unique("Public"), "router:external": "True", "shared": true})
	sn := create(t, adminToken, "/v2.0/subnets", "subnet", obj{"network_id": n["id"], "cidr": cidr, "enable_dhcp": "False"})
	return n["id"].(string), sn["id"].(string)
}

func TestFloatingIPAssociateDisassociateAndVIPDeleteUnmapsIt(t *testing.T) {
	ext, _ := publicNetwork(t, "172.30.1.0/24")
	_, sub := network(t, alphaToken, "20.13.1.0/24")
	v := vip(t, alphaToken, sub, pool(t, alphaToken, sub, "HTTP"), "HTTP", 80)
	portID := v["port_id"].(string)

	f := create(t, alphaToken, "/v2.0/floatingips", "floatingip", obj{"floating_network_id": ext})
	fid := f["id"].(string)
	fa := netip.MustParseAddr(f["floating_ip_address"].(string))
	if !netip.MustParsePrefix("172.30.1.0/24").Contains(fa) || fa.String() == "172.30.1.1" {
		t.Fatalf("floating address %s not a host of the external subnet", fa)
	}
	if f["port_id"] != nil || f["fixed_ip_address"] != nil || f["status"] != "DOWN" {
		t.Fatalf("new floating ip %v", f)
	}
	f2 := create(t, alphaToken, "/v2.0/floatingips", "floatingip", obj{"floating_network_id": ext})
	if f2["floating_ip_address"] == f["floating_ip_address"] {
		t.Fatal("two floating ips share an address")
	}

	expect(t, call(t, alphaToken, "PUT", "/v2.0/floatingips/"+fid, obj{"floatingip": obj{"port_id": portID}}), http.StatusOK)
	got := show(t, alphaToken, "/v2.0/floatingips/"+fid, "floatingip")
	if got["port_id"] != portID || got["fixed_ip_address"] != v["address"] {
		t.Fatalf("associated floating ip %v, want port %s address %s", got, portID, v["address"])
	}
	// One port, one floating ip; beta cannot map alpha's port.
	expectNeutronError(t, call(t, alphaToken, "PUT", "/v2.0/floatingips/"+f2["id"].(string), obj{"floatingip": obj{"port_id": portID}}), http.StatusConflict, "FloatingIPPortAlreadyAssociated")
	bf := create(t, betaToken, "/v2.0/floatingips", "floatingip", obj{"floating_network_id": ext})
	expectNeutronError(t, call(t, betaToken, "PUT", "/v2.0/floatingips/"+bf["id"].(string), obj{"floatingip": obj{"port_id": portID}}), http.StatusNotFound, "PortNotFound")
	expectNeutronError(t, call(t, alphaToken, "PUT", "/v2.0/floatingips/"+fid, obj{"floatingip": obj{"port_id": "port"}}), http.StatusBadRequest, "", "port_id")

	// Disassociate with null, then associate again.
	expect(t, call(t, alphaToken, "PUT", "/v2.0/floatingips/"+fid, obj{"floatingip": obj{"port_id": nil}}), http.StatusOK)
	got = show(t, alphaToken, "/v2.0/floatingips/"+fid, "floatingip")
	if got["port_id"] != nil || got["fixed_ip_address"] != nil {
		t.Fatalf("disassociated floating ip %v", got)
	}
	expect(t, call(t, alphaToken, "PUT", "/v2.0/floatingips/"+fid, obj{"floatingip": obj{"port_id": portID}}), http.StatusOK)

	expect(t, call(t, alphaToken, "DELETE", "/v2.0/lb/vips/"+v["id"].(string), nil), http.StatusNoContent)
	got = show(t, alphaToken, "/v2.0/floatingips/"+fid, "floatingip")
	if got["port_id"] != nil || got["fixed_ip_address"] != nil {
		t.Fatalf("floating ip still mapped after its vip was deleted: %v", got)
	}
	// Deleting the floating ip frees its address for the next one.
	expect(t, call(t, alphaToken, "DELETE", "/v2.0/floatingips/"+fid, nil), http.StatusNoContent)
	expectNeutronError(t, call(t, alphaToken, "GET", "/v2.0/floatingips/"+fid, nil), http.StatusNotFound, "FloatingIPNotFound")
	f3 := create(t, alphaToken, "/v2.0/floatingips", "floatingip", obj{"floating_network_id": ext})
	if f3["floating_ip_address"] != fa.String() {
		t.Fatalf("freed floating address %s not reused (got %v)", fa, f3["floating_ip_address"])
	}
}

func TestNetDeleteRemovesSubnets(t *testing.T) {
	netID, sub1 := network(t, alphaToken, "20.14.1.0/24")
	sub2 := create(t, alphaToken, "/v2.0/subnets", "subnet", obj{"network_id": netID, "cidr": "20.14.2.0/24"})["id"].(string)
	n := show(t, alphaToken, "/v2.0/networks/"+netID, "network")
	if s := fmt.Sprint(n["subnets"]); !strings.Contains(s, sub1) || !strings.Contains(s, sub2) {
		t.Fatalf("network subnets %s", s)
	}
	expectNeutronError(t, call(t, betaToken, "DELETE", "/v2.0/networks/"+netID, nil), http.StatusNotFound, "NetworkNotFound")
	expect(t, call(t, alphaToken, "DELETE", "/v2.0/networks/"+netID, nil), http.StatusNoContent)
	for _, id := range []string{sub1, sub2} {
		expectNeutronError(t, call(t, alphaToken, "GET", "/v2.0/subnets/"+id, nil), http.StatusNotFound, "SubnetNotFound")
	}
	expectNeutronError(t, call(t, alphaToken, "GET", "/v2.0/networks/"+netID, nil), http.StatusNotFound, "NetworkNotFound")
	if len(list(t, adminToken, "/v2.0/subnets?network_id="+netID, "subnets")) != 0 {
		t.Fatal("subnets of the deleted network are still listed")
	}

	// A network whose subnet a pool uses is not deleted, nor its subnets.
	netID, sub := network(t, alphaToken, "20.14.3.0/24")
	pool(t, alphaToken, sub, "HTTP")
	before := snapshot(t)
	expectNeutronError(t, call(t, alphaToken, "DELETE", "/v2.0/networks/"+netID, nil), http.StatusConflict, "SubnetInUse")
	expectNeutronError(t, call(t, alphaToken, "DELETE", "/v2.0/subnets/"+sub, nil), http.StatusConflict, "SubnetInUse")
	expectUnchanged(t, before)
}

func TestStatusIsPendingUntilTheDataPlaneReports(t *testing.T) {
	_, sub := network(t, alphaToken, "20.15.1.0/24")
	poolID := pool(t, alphaToken, sub, "HTTP")
	m := member(t, alphaToken, poolID, "20.15.1.10", 80)
	hm := monitor(t, alphaToken)
	p := show(t, alphaToken, "/v2.0/lb/pools/"+poolID, "pool")
	if p["status"] != model.StatusPendingCreate || p["status_description"] == "" {
		t.Fatalf("pool without vip: status %v (%v)", p["status"], p["status_description"])
	}
	if show(t, alphaToken, "/v2.0/lb/health_monitors/"+hm, "health_monitor")["status"] != model.StatusInactive {
		t.Fatal("a monitor on no pool is not INACTIVE")
	}
	v := vip(t, alphaToken, sub, poolID, "HTTP", 80)
	expect(t, call(t, alphaToken, "POST", "/v2.0/lb/pools/"+poolID+"/health_monitors", obj{"health_monitor": obj{"id": hm}}), http.StatusCreated)
	for _, o := range []struct{ path, env string }{
		{"/v2.0/lb/pools/" + poolID, "pool"}, {"/v2.0/lb/members/" + m, "member"},
		{"/v2.0/lb/vips/" + v["id"].(string), "vip"}, {"/v2.0/lb/health_monitors/" + hm, "health_monitor"},
	} {
		got := show(t, alphaToken, o.path, o.env)
		if got["status"] != model.StatusPendingCreate || got["status_description"] == "" {
			t.Fatalf("%s: status %v (%v), want PENDING_CREATE with a reason", o.env, got["status"], got["status_description"])
		}
		if l := list(t, alphaToken, o.path[:strings.LastIndex(o.path, "/")]+"?id="+got["id"].(string), o.env+"s"); l[0]["status"] != model.StatusPendingCreate {
			t.Fatalf("%s listed with status %v", o.env, l[0]["status"])
		}
	}
	if got := show(t, alphaToken, "/v2.0/ports/"+v["port_id"].(string), "port")["status"]; got != model.StatusDown {
		t.Fatalf("vip port status %v before the data plane reports", got)
	}
	stats := call(t, alphaToken, "GET", "/v2.0/lb/pools/"+poolID+"/stats", nil)
	expect(t, stats, http.StatusOK)
	for _, k := range []string{"bytes_in", "bytes_out", "active_connections", "total_connections"} {
		if stats.body["stats"].(obj)[k] != float64(0) {
			t.Fatalf("stats %s = %#v before any report", k, stats.body["stats"])
		}
	}

	// Scheduled but not reported: still pending, and the reason says so.
	si := scheduleInstance(t, v["id"].(string))
	if got := show(t, alphaToken, "/v2.0/lb/pools/"+poolID, "pool"); got["status"] != model.StatusPendingCreate || !strings.Contains(got["status_description"].(string), "has not reported") {
		t.Fatalf("scheduled pool: %v (%v)", got["status"], got["status_description"])
	}
	// When the agents report, the reports are what the API shows.
	putReport(t, &model.VMReport{
		Meta: model.Meta{ID: si.VMs[0].ID, TenantID: "admin"}, Node: si.VMs[0].Node, SIID: si.ID, LoadBalancerID: si.ID,
		State: model.VMError, Error: "haproxy refused the config", HAState: "MASTER",
		Members: map[string]model.MemberHealth{m: {Status: model.StatusInactive, Description: "L4 connection refused"}},
		Stats:   model.Stats{BytesIn: 10, BytesOut: 20, ActiveConnections: 1, TotalConnections: 3},
		Pools:   map[string]model.Stats{poolID: {BytesIn: 10, BytesOut: 20, ActiveConnections: 1, TotalConnections: 3}},
	})
	putReport(t, &model.VMReport{
		Meta: model.Meta{ID: si.VMs[1].ID, TenantID: "admin"}, Node: si.VMs[1].Node, SIID: si.ID, LoadBalancerID: si.ID,
		State: model.VMPending, Stats: model.Stats{BytesIn: 1, BytesOut: 2, TotalConnections: 1},
		Pools: map[string]model.Stats{poolID: {BytesIn: 1, BytesOut: 2, TotalConnections: 1}},
	})
	for _, o := range []struct{ path, env string }{
		{"/v2.0/lb/pools/" + poolID, "pool"}, {"/v2.0/lb/vips/" + v["id"].(string), "vip"}, {"/v2.0/lb/health_monitors/" + hm, "health_monitor"},
	} {
		got := show(t, alphaToken, o.path, o.env)
		if got["status"] != model.StatusError || !strings.Contains(got["status_description"].(string), "haproxy refused the config") {
			t.Fatalf("%s after an error report: %v (%v)", o.env, got["status"], got["status_description"])
		}
	}
	if got := show(t, alphaToken, "/v2.0/lb/members/"+m, "member"); got["status"] != model.StatusInactive || got["status_description"] != "L4 connection refused" {
		t.Fatalf("member after report: %v (%v)", got["status"], got["status_description"])
	}
	if got := show(t, alphaToken, "/v2.0/ports/"+v["port_id"].(string), "port")["status"]; got != model.StatusDown {
		t.Fatalf("vip port of a failed instance: %v", got)
	}
	stats = call(t, alphaToken, "GET", "/v2.0/lb/pools/"+poolID+"/stats", nil)
	expect(t, stats, http.StatusOK)
	want := map[string]float64{"bytes_in": 11, "bytes_out": 22, "active_connections": 1, "total_connections": 4}
	for k, w := range want {
		if stats.body["stats"].(obj)[k] != w {
			t.Fatalf("stats after reports %v, want %v", stats.body["stats"], want)
		}
	}
}

func TestUnknownIDsAre404NeverServerErrors(t *testing.T) {
	for _, c := range collections {
		for _, id := range []string{"00000000-0000-4000-8000-000000000000", "not-a-uuid", "..", "%00"} {
			r := call(t, alphaToken, "GET", c.path+"/"+id, nil)
			if r.code != http.StatusNotFound && r.code != http.StatusBadRequest {
				t.Fatalf("GET %s/%s: status %d: %s", c.path, id, r.code, r.raw)
			}
			expectNeutronError(t, r, r.code, "")
		}
	}
	expectNeutronError(t, call(t, alphaToken, "GET", "/v2.0/lb/members/00000000-0000-4000-8000-000000000000", nil), http.StatusNotFound, "MemberNotFound", "Member 00000000-0000-4000-8000-000000000000 could not be found")
	expectNeutronError(t, call(t, alphaToken, "GET", "/v2.0/lb/nothing", nil), http.StatusNotFound, "")
	expectNeutronError(t, call(t, alphaToken, "PATCH", "/v2.0/lb/pools", nil), http.StatusNotFound, "")
	expectNeutronError(t, call(t, alphaToken, "GET", "/v2.0/lb/pools?limit=-1", nil), http.StatusBadRequest, "", "limit")
	expectNeutronError(t, call(t, alphaToken, "GET", "/v2.0/lb/pools?marker=x", nil), http.StatusBadRequest, "", "marker")
}

// selfSigned returns a certificate and its key in PEM, valid from nb to na.
func selfSigned(t *testing.T, cn string, nb, na time.Time) (string, string) {
	t.Helper()
	c, err := pki.Issue(nil, pki.Request{CommonName: cn, DNSNames: []string{cn}, NotBefore: nb, NotAfter: na})
	if err != nil {
		t.Fatal(err)
	}
	return string(c.CertPEM), string(c.KeyPEM)
}

func TestCertificateUploadValidatesAndNeverReturnsTheKey(t *testing.T) {
	now := time.Now()
	cert, key := selfSigned(t, "www.example.test", now.Add(-time.Hour), now.Add(24*time.Hour))
	otherCert, otherKey := selfSigned(t, "other.example.test", now.Add(-time.Hour), now.Add(24*time.Hour))
	expired, expiredKey := selfSigned(t, "old.example.test", now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	future, futureKey := selfSigned(t, "new.example.test", now.Add(24*time.Hour), now.Add(48*time.Hour))

	r := call(t, alphaToken, "POST", "/v2.0/lbaas-certificates", obj{"certificate": obj{"name": "www", "certificate": cert, "private_key": key, "intermediates": otherCert}})
	expect(t, r, http.StatusCreated)
	if strings.Contains(string(r.raw), "PRIVATE KEY") || strings.Contains(string(r.raw), "BEGIN") {
		t.Fatalf("create answer carries PEM: %s", r.raw)
	}
	c := r.body["certificate"].(obj)
	id := c["id"].(string)
	if c["subject"] != "CN=www.example.test" || len(c["fingerprint_sha256"].(string)) != 64 {
		t.Fatalf("certificate view %v", c)
	}
	for _, path := range []string{"/v2.0/lbaas-certificates", "/v2.0/lbaas-certificates/" + id, "/v2.0/lbaas-certificates?fields=private_key&fields=certificate"} {
		r := call(t, alphaToken, "GET", path, nil)
		expect(t, r, http.StatusOK)
		if strings.Contains(string(r.raw), "PRIVATE KEY") || strings.Contains(string(r.raw), "BEGIN") || strings.Contains(string(r.raw), "private_key") {
			t.Fatalf("GET %s shows key material: %.300s", path, r.raw)
		}
	}
	if ids(list(t, betaToken, "/v2.0/lbaas-certificates", "certificates"))[id] {
		t.Fatal("beta lists alpha's certificate")
	}

	cases := []struct {
		name   string
		fields obj
		want   string
	}{
		{"expired", obj{"certificate": expired, "private_key": expiredKey}, "expired"},
		{"not yet valid", obj{"certificate": future, "private_key": futureKey}, "not valid before"},
		{"key of another certificate", obj{"certificate": cert, "private_key": otherKey}, "does not match"},
		{"garbage certificate", obj{"certificate": "hello", "private_key": key}, "CERTIFICATE"},
		{"garbage key", obj{"certificate": cert, "private_key": "hello"}, "PRIVATE KEY"},
		{"key in the certificate field", obj{"certificate": key, "private_key": key}, "CERTIFICATE"},
		{"corrupt certificate body", obj{"certificate": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "private_key": key}, "cannot be parsed"},
		{"key among intermediates", obj{"certificate": cert, "private_key": key, "intermediates": otherKey}, "intermediates"},
		{"garbage intermediates", obj{"certificate": cert, "private_key": key, "intermediates": otherCert + "junk"}, "intermediates"},
		{"name with newline", obj{"certificate": cert, "private_key": key, "name": "a\nb"}, "name"},
		{"crl beside a key", obj{"certificate": cert, "private_key": key, "crl": "x"}, "crl"},
		{"expired CA", obj{"certificate": expired}, "not valid now"},
		{"key in a CA bundle", obj{"certificate": cert + key}, "type CERTIFICATE"},
		{"garbage crl", obj{"certificate": cert, "crl": "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"}, "revocation list"},
		{"oversized certificate", obj{"certificate": strings.Repeat("A", 70<<10), "private_key": key}, "at most"},
		{"certificate as a number", obj{"certificate": 5, "private_key": key}, "certificate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t)
			r := call(t, alphaToken, "POST", "/v2.0/lbaas-certificates", obj{"certificate": tc.fields})
			msg := expectNeutronError(t, r, http.StatusBadRequest, "", tc.want)
			if strings.Contains(msg, "PRIVATE KEY-----") || strings.Contains(string(r.raw), "MIG") {
				t.Fatalf("error echoes key material: %s", r.raw)
			}
			expectUnchanged(t, before)
		})
	}
	_ = otherKey

	// A vip that terminates TLS with it pins the certificate.
	_, sub := network(t, alphaToken, "20.16.1.0/24")
	v := create(t, alphaToken, "/v2.0/lb/vips", "vip", obj{"subnet_id": sub, "pool_id": pool(t, alphaToken, sub, "HTTP"), "protocol": "HTTP", "protocol_port": 443, "default_tls_container_ref": id})
	if v["default_tls_container_ref"] != id {
		t.Fatalf("vip tls ref %v", v["default_tls_container_ref"])
	}
	expectNeutronError(t, call(t, alphaToken, "DELETE", "/v2.0/lbaas-certificates/"+id, nil), http.StatusConflict, "CertificateInUse", "used by VIP "+v["id"].(string))
	expectNeutronError(t, call(t, betaToken, "DELETE", "/v2.0/lbaas-certificates/"+id, nil), http.StatusNotFound, "CertificateNotFound")
	expect(t, call(t, alphaToken, "DELETE", "/v2.0/lb/vips/"+v["id"].(string), nil), http.StatusNoContent)
	expect(t, call(t, alphaToken, "DELETE", "/v2.0/lbaas-certificates/"+id, nil), http.StatusNoContent)
}

func TestATenantsPortTakesAnAddressAndGivesItBackWhenDeleted(t *testing.T) {
	netID, sub := network(t, alphaToken, "20.14.1.0/24")
	p := create(t, alphaToken, "/v2.0/ports", "port", obj{"network_id": netID, "name": "my-vip", "fixed_ips": []obj{{"subnet_id": sub, "ip_address": "20.14.1.50"}}})
	ips := p["fixed_ips"].([]any)
	if len(ips) != 1 || ips[0].(obj)["ip_address"] != "20.14.1.50" || p["device_id"] != "" || p["name"] != "my-vip" {
		t.Fatalf("port %v", p)
	}
	// The address is held: neither another port nor a VIP gets it.
	expectNeutronError(t, call(t, alphaToken, "POST", "/v2.0/ports", obj{"port": obj{"network_id": netID, "fixed_ips": []obj{{"ip_address": "20.14.1.50"}}}}), http.StatusConflict, "IpAddressInUse")
	next := create(t, alphaToken, "/v2.0/ports", "port", obj{"network_id": netID})
	if a := next["fixed_ips"].([]any)[0].(obj)["ip_address"]; a == "20.14.1.50" || a == "20.14.1.1" {
		t.Fatalf("next free address %v", a)
	}
	// Another project can neither see the network nor delete the port.
	expectNeutronError(t, call(t, betaToken, "POST", "/v2.0/ports", obj{"port": obj{"network_id": netID}}), http.StatusNotFound, "")
	expectNeutronError(t, call(t, betaToken, "DELETE", "/v2.0/ports/"+p["id"].(string), nil), http.StatusNotFound, "")
	expectNeutronError(t, call(t, alphaToken, "POST", "/v2.0/ports", obj{"port": obj{"network_id": netID, "fixed_ips": []obj{{"ip_address": "30.0.0.1"}}}}), http.StatusBadRequest, "")
	expect(t, call(t, alphaToken, "DELETE", "/v2.0/ports/"+p["id"].(string), nil), http.StatusNoContent)
	again := create(t, alphaToken, "/v2.0/ports", "port", obj{"network_id": netID, "fixed_ips": []obj{{"ip_address": "20.14.1.50"}}})
	expect(t, call(t, alphaToken, "DELETE", "/v2.0/ports/"+again["id"].(string), nil), http.StatusNoContent)
	// A VIP's port stays until its VIP is deleted.
	v := vip(t, alphaToken, sub, pool(t, alphaToken, sub, "HTTP"), "HTTP", 80)
	expectNeutronError(t, call(t, alphaToken, "DELETE", "/v2.0/ports/"+v["port_id"].(string), nil), http.StatusConflict, "PortInUse")
}

func TestACABundleWithARevocationListIsStoredWithoutAKey(t *testing.T) {
	now := time.Now()
	ca, err := pki.NewCA("clients CA", now.Add(-time.Hour), now.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := pki.NewCA("another CA", now.Add(-time.Hour), now.Add(24*time.Hour))
	crl, err := ca.RevocationList(now)
	if err != nil {
		t.Fatal(err)
	}
	r := call(t, alphaToken, "POST", "/v2.0/lbaas-certificates", obj{"certificate": obj{"name": "clients", "certificate": string(ca.CertPEM), "crl": string(crl)}})
	expect(t, r, http.StatusCreated)
	if c := r.body["certificate"].(obj); c["kind"] != "ca_bundle" || c["has_crl"] != true || c["subject"] != "CN=clients CA" {
		t.Fatalf("CA bundle view: %v", c)
	}
	otherCRL, _ := other.RevocationList(now)
	expectNeutronError(t, call(t, alphaToken, "POST", "/v2.0/lbaas-certificates", obj{"certificate": obj{"certificate": string(ca.CertPEM), "crl": string(otherCRL)}}), 400, "InvalidCertificate", "not signed by a certificate of the bundle")
}

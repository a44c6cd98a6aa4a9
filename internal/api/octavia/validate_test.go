package octavia_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestInvalidRequestsAre400NamingTheFieldAndStoreNothing(t *testing.T) {
	lb, listener, pool, members := tree(t, alphaToken, "alpha", 1)
	_, sub := subnet(t, "alpha")
	lbBody := func(f obj) obj {
		b := obj{"vip_subnet_id": sub}
		for k, v := range f {
			b[k] = v
		}
		return obj{"loadbalancer": b}
	}
	lis := func(f obj) obj {
		b := obj{"loadbalancer_id": lb, "protocol": "TCP", "protocol_port": 9000}
		for k, v := range f {
			b[k] = v
		}
		return obj{"listener": b}
	}
	pl := func(f obj) obj {
		b := obj{"loadbalancer_id": lb, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}
		for k, v := range f {
			b[k] = v
		}
		return obj{"pool": b}
	}
	mem := func(f obj) obj {
		b := obj{"address": "192.168.9.9", "protocol_port": 80}
		for k, v := range f {
			b[k] = v
		}
		return obj{"member": b}
	}
	hm := func(f obj) obj {
		b := obj{"pool_id": pool, "type": "HTTP", "delay": 10, "timeout": 5, "max_retries": 3}
		for k, v := range f {
			b[k] = v
		}
		return obj{"healthmonitor": b}
	}
	mpath := v2 + "/pools/" + pool + "/members"
	cases := []struct {
		name, method, path string
		body               any
		want               string
	}{
		{"lb unknown attribute", "POST", v2 + "/loadbalancers", lbBody(obj{"colour": "red"}), "colour"},
		{"lb subnet not a uuid", "POST", v2 + "/loadbalancers", lbBody(obj{"vip_subnet_id": "sub"}), "vip_subnet_id"},
		{"lb address not IPv4", "POST", v2 + "/loadbalancers", lbBody(obj{"vip_address": "fe80::1"}), "vip_address"},
		{"lb name too long", "POST", v2 + "/loadbalancers", lbBody(obj{"name": strings.Repeat("n", 256)}), "name"},
		{"lb admin state not bool", "POST", v2 + "/loadbalancers", lbBody(obj{"admin_state_up": "maybe"}), "admin_state_up"},
		{"lb vip port", "POST", v2 + "/loadbalancers", lbBody(obj{"vip_port_id": "0b4b3c2e-3f5e-4f6e-9b1d-2a3c4d5e6f70"}), "vip_port_id"},
		{"lb provider", "POST", v2 + "/loadbalancers", lbBody(obj{"provider": "amphora"}), "amphora"},
		{"lb tags not a list", "POST", v2 + "/loadbalancers", lbBody(obj{"tags": "a"}), "tags"},
		{"lb empty tag", "POST", v2 + "/loadbalancers", lbBody(obj{"tags": []string{""}}), "tags"},
		{"lb no envelope", "POST", v2 + "/loadbalancers", obj{"name": "x"}, "loadbalancer"},
		{"lb malformed", "POST", v2 + "/loadbalancers", `{"loadbalancer": {`, "JSON"},
		{"lb update read-only", "PUT", v2 + "/loadbalancers/" + lb, obj{"loadbalancer": obj{"vip_subnet_id": sub}}, "vip_subnet_id"},
		{"listener port range", "POST", v2 + "/listeners", lis(obj{"protocol_port": 70000}), "protocol_port"},
		{"listener port not int", "POST", v2 + "/listeners", lis(obj{"protocol_port": "http"}), "protocol_port"},
		{"listener protocol unknown", "POST", v2 + "/listeners", lis(obj{"protocol": "FTP"}), "protocol"},
		{"listener udp", "POST", v2 + "/listeners", lis(obj{"protocol": "UDP"}), "not supported"},
		{"listener connection limit", "POST", v2 + "/listeners", lis(obj{"connection_limit": -2}), "connection_limit"},
		{"listener timeout", "POST", v2 + "/listeners", lis(obj{"timeout_client_data": -1}), "timeout_client_data"},
		{"listener timeout big", "POST", v2 + "/listeners", lis(obj{"timeout_member_data": 86400001}), "timeout_member_data"},
		{"listener lb missing", "POST", v2 + "/listeners", obj{"listener": obj{"protocol": "TCP", "protocol_port": 1}}, "loadbalancer_id"},
		{"listener cert on TCP", "POST", v2 + "/listeners", lis(obj{"default_tls_container_ref": "0b4b3c2e-3f5e-4f6e-9b1d-2a3c4d5e6f70"}), "default_tls_container_ref"},
		{"listener unknown cert", "POST", v2 + "/listeners", lis(obj{"protocol": "TERMINATED_HTTPS", "default_tls_container_ref": "http://barbican/v1/containers/0b4b3c2e-3f5e-4f6e-9b1d-2a3c4d5e6f70"}), "certificate"},
		{"listener sni", "POST", v2 + "/listeners", lis(obj{"sni_container_refs": []string{"a"}}), "sni_container_refs"},
		{"listener insert headers", "POST", v2 + "/listeners", lis(obj{"insert_headers": obj{"X-Forwarded-For": "true"}}), "insert_headers"},
		{"listener cidr host bits", "POST", v2 + "/listeners", lis(obj{"allowed_cidrs": []string{"10.0.0.1/8"}}), "host bits"},
		{"listener cidr v6", "POST", v2 + "/listeners", lis(obj{"allowed_cidrs": []string{"2001:db8::/32"}}), "not IPv4"},
		{"listener cidr junk", "POST", v2 + "/listeners", lis(obj{"allowed_cidrs": []string{"10.0.0.0/8 || 1"}}), "not a CIDR"},
		{"listener header unknown", "POST", v2 + "/listeners", lis(obj{"protocol": "HTTP", "insert_headers": obj{"X-Evil\nserver": "true"}}), "not a header this provider inserts"},
		{"listener header value", "POST", v2 + "/listeners", lis(obj{"protocol": "HTTP", "insert_headers": obj{"X-Forwarded-Port": "yes"}}), "'true' or 'false'"},
		{"listener ssl header on http", "POST", v2 + "/listeners", lis(obj{"protocol": "HTTP", "insert_headers": obj{"X-SSL-Client-CN": "true"}}), "TERMINATED_HTTPS"},
		{"listener tls versions on http", "POST", v2 + "/listeners", lis(obj{"protocol": "HTTP", "tls_versions": []string{"TLSv1.2"}}), "only a TERMINATED_HTTPS"},
		{"listener ciphers with space", "POST", v2 + "/listeners", lis(obj{"protocol": "HTTP", "tls_ciphers": "AES ; server x"}), "tls_ciphers"},
		{"listener hsts on tcp", "POST", v2 + "/listeners", lis(obj{"hsts_max_age": 10}), "hsts_max_age"},
		{"listener update protocol", "PUT", v2 + "/listeners/" + listener, obj{"listener": obj{"protocol": "TCP"}}, "protocol"},
		{"pool algorithm", "POST", v2 + "/pools", pl(obj{"lb_algorithm": "RANDOM"}), "lb_method"},
		{"pool protocol", "POST", v2 + "/pools", pl(obj{"protocol": "UDP"}), "not supported"},
		{"pool no parent", "POST", v2 + "/pools", obj{"pool": obj{"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}}, "listener_id, loadbalancer_id"},
		{"pool app cookie needs name", "POST", v2 + "/pools", pl(obj{"session_persistence": obj{"type": "APP_COOKIE"}}), "cookie_name"},
		{"pool cookie name with source ip", "POST", v2 + "/pools", pl(obj{"session_persistence": obj{"type": "SOURCE_IP", "cookie_name": "c"}}), "cookie_name"},
		{"pool persistence unknown", "POST", v2 + "/pools", pl(obj{"session_persistence": obj{"type": "STICKY"}}), "session_persistence"},
		{"pool tls on https", "POST", v2 + "/pools", pl(obj{"protocol": "HTTPS", "tls_enabled": true}), "tls_enabled"},
		{"pool crl without ca", "POST", v2 + "/pools", pl(obj{"tls_enabled": true, "crl_container_ref": "0b4b3c2e-3f5e-4f6e-9b1d-2a3c4d5e6f70"}), "crl_container_ref"},
		{"pool unknown ca", "POST", v2 + "/pools", pl(obj{"tls_enabled": true, "ca_tls_container_ref": "0b4b3c2e-3f5e-4f6e-9b1d-2a3c4d5e6f70"}), "Could not retrieve certificate"},
		{"pool tls versions gap", "POST", v2 + "/pools", pl(obj{"tls_enabled": true, "tls_versions": []string{"TLSv1", "TLSv1.3"}}), "contiguous"},
		{"member weight", "POST", mpath, mem(obj{"weight": 257}), "weight"},
		{"member address", "POST", mpath, mem(obj{"address": "host.example"}), "address"},
		{"member port", "POST", mpath, mem(obj{"protocol_port": 0}), "protocol_port"},
		{"member monitor address", "POST", mpath, mem(obj{"monitor_address": "x"}), "monitor_address"},
		{"member monitor port", "POST", mpath, mem(obj{"monitor_port": 65536}), "monitor_port"},
		{"member subnet", "POST", mpath, mem(obj{"subnet_id": "s"}), "subnet_id"},
		{"member update address", "PUT", mpath + "/" + members[0], obj{"member": obj{"address": "192.168.1.1"}}, "address"},
		{"monitor type", "POST", v2 + "/healthmonitors", hm(obj{"type": "UDP-CONNECT"}), "not supported"},
		{"monitor type unknown", "POST", v2 + "/healthmonitors", hm(obj{"type": "DNS"}), "type"},
		{"monitor timeout over delay", "POST", v2 + "/healthmonitors", hm(obj{"timeout": 20}), "timeout"},
		{"monitor retries", "POST", v2 + "/healthmonitors", hm(obj{"max_retries": 11}), "max_retries"},
		{"monitor retries down", "POST", v2 + "/healthmonitors", hm(obj{"max_retries_down": 0}), "max_retries_down"},
		{"monitor http version", "POST", v2 + "/healthmonitors", hm(obj{"http_version": 2.0}), "http_version"},
		{"monitor domain without 1.1", "POST", v2 + "/healthmonitors", hm(obj{"domain_name": "a.example"}), "domain_name"},
		{"monitor domain bad", "POST", v2 + "/healthmonitors", hm(obj{"http_version": "1.1", "domain_name": "a b"}), "domain_name"},
		{"monitor url path", "POST", v2 + "/healthmonitors", hm(obj{"url_path": "no-slash"}), "url_path"},
		{"monitor codes", "POST", v2 + "/healthmonitors", hm(obj{"expected_codes": "2xx"}), "expected_codes"},
		{"monitor method", "POST", v2 + "/healthmonitors", hm(obj{"http_method": "FETCH"}), "http_method"},
		{"monitor http field on tcp", "POST", v2 + "/healthmonitors", hm(obj{"type": "TCP", "url_path": "/"}), "url_path"},
		{"monitor pool not uuid", "POST", v2 + "/healthmonitors", hm(obj{"pool_id": "p"}), "pool_id"},
		{"batch not a list", "PUT", mpath, obj{"members": "x"}, "members"},
		{"list limit", "GET", v2 + "/pools?limit=x", nil, "limit"},
		{"list marker", "GET", v2 + "/pools?marker=x", nil, "marker"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rev := env.st.Rev()
			r := call(t, alphaToken, c.method, c.path, c.body)
			expectFault(t, r, http.StatusBadRequest, c.want)
			if env.st.Rev() != rev {
				t.Fatal("a refused request wrote to the store")
			}
		})
	}
}

// FuzzCreateBodies sends arbitrary bodies to every create and update: the
// answer is never a 5xx, and a 4xx stores nothing. Its seeds run as a
// normal test.
func FuzzCreateBodies(f *testing.F) {
	for _, s := range []string{
		`{"loadbalancer": {"vip_subnet_id": "SUB"}}`,
		`{"loadbalancer": {"vip_subnet_id": "SUB", "vip_address": "10.0.0.300"}}`,
		`{"listener": {"loadbalancer_id": "LB", "protocol": "HTTP", "protocol_port": "80", "connection_limit": "x"}}`,
		`{"listener": {"loadbalancer_id": "LB", "protocol": "TERMINATED_HTTPS", "protocol_port": 443, "default_tls_container_ref": "/"}}`,
		`{"pool": {"loadbalancer_id": "LB", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN", "session_persistence": {"type": "APP_COOKIE", "cookie_name": "a\nb"}}}`,
		`{"pool": {"listener_id": "LB", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}}`,
		`{"member": {"address": "1.2.3.4", "protocol_port": 1e9}}`,
		`{"members": [{"address": "1.2.3.4", "protocol_port": 80}, null, 3]}`,
		`{"healthmonitor": {"pool_id": "POOL", "type": "HTTP", "delay": 1, "timeout": 1, "max_retries": 1, "http_version": {"a": 1}}}`,
		`{"healthmonitor": {"pool_id": "POOL", "type": "HTTP", "delay": -1, "timeout": 1, "max_retries": 1, "expected_codes": "200-100"}}`,
		`{"loadbalancer": {"vip_subnet_id": "SUB", "listeners": [{"protocol": "HTTP", "protocol_port": 80, "default_pool": {"name": "p"}}], "pools": [{"name": "p", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN", "members": [{"address": "1.2.3.4", "protocol_port": 80}], "healthmonitor": {"type": "PING", "delay": 1, "timeout": 1, "max_retries": 1}}]}}`,
		`{"loadbalancer": {"vip_subnet_id": "SUB", "listeners": [{"protocol": "HTTP", "protocol_port": 80, "default_pool": {"protocol": "TCP", "lb_algorithm": "X", "members": {"a": 1}}}, null]}}`,
		`{"loadbalancer": {"vip_subnet_id": "SUB", "pools": [{"name": "p", "healthmonitor": [], "members": [null]}], "listeners": "x"}}`,
		`{"loadbalancer": {"vip_port_id": "SUB"}}`,
		`{"loadbalancer": null}`, `[]`, `"x"`, `{"a": {"b": [1, 2, {"c": null}]}}`, "\x00\xff", `{"member": {"tags": [1]}}`,
	} {
		for path := 0; path < 7; path++ {
			f.Add(path, s)
		}
	}
	lb, _, pool, _ := tree(f, alphaToken, "alpha", 0)
	_, sub := subnet(f, "alpha")
	paths := []struct{ method, path string }{
		{"POST", v2 + "/loadbalancers"}, {"POST", v2 + "/listeners"}, {"POST", v2 + "/pools"}, {"POST", v2 + "/pools/" + pool + "/members"},
		{"PUT", v2 + "/pools/" + pool + "/members"}, {"POST", v2 + "/healthmonitors"}, {"PUT", v2 + "/loadbalancers/" + lb},
	}
	f.Fuzz(func(t *testing.T, which int, body string) {
		if which < 0 {
			which = -which
		}
		p := paths[which%len(paths)]
		body = strings.NewReplacer("SUB", sub, "LB", lb, "POOL", pool).Replace(body)
		rev := env.st.Rev()
		r := call(t, alphaToken, p.method, p.path, body)
		if r.code >= 500 {
			t.Fatalf("%s %s %q: %d %s", p.method, p.path, body, r.code, r.raw)
		}
		if r.code >= 400 && env.st.Rev() != rev {
			t.Fatalf("%s %s %q: %d but the store changed", p.method, p.path, body, r.code)
		}
		if r.code >= 400 && r.body["faultcode"] != "Client" {
			t.Fatalf("not an Octavia fault: %s", r.raw)
		}
	})
}

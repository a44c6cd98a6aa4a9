package e2e

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lbaas/internal/pki"
)

// injections are values made to change a configuration's structure if
// they reached it as text: line breaks followed by a directive, quotes
// that would close a quoted word, comments, environment expansions,
// log-format fetches, ACL flags, non-ASCII, NUL, overlong.
var injections = []string{
	"x\n    server evil 10.9.9.9:80",
	"x\r\nbackend evil",
	"x' server evil '",
	`x" evil "`,
	"${HOME}",
	"%[src]",
	"a #comment",
	"a b",
	`back\slash`,
	"-i",
	"caf\u00e9",
	"x\x00y",
	strings.Repeat("a", 300),
}

// allowedDirectives are the first words a rendered configuration's lines
// may start with: anything else came from a value.
var allowedDirectives = map[string]bool{
	"global": true, "defaults": true, "frontend": true, "backend": true, "master-worker": true, "httpclient.ssl.verify": true,
	"nbthread": true, "maxconn": true, "hard-stop-after": true, "stats": true, "server-state-file": true, "external-check": true,
	"insecure-fork-wanted": true, "retries": true, "option": true, "load-server-state-from-file": true, "timeout": true,
	"mode": true, "bind": true, "acl": true, "http-request": true, "http-response": true, "tcp-request": true, "use_backend": true,
	"default_backend": true, "disabled": true, "balance": true, "stick-table": true, "stick": true, "cookie": true,
	"http-check": true, "server": true,
}

// TestInjectionsThroughEveryFieldThatReachesTheConfigAreRefusedOrQuoted
// sends each injection through every API field whose value reaches
// haproxy.cfg. Values with control characters must be refused (400);
// others may be accepted. Then the load balancer must still become ACTIVE
// (its VMs' HAProxy took the configuration), each VM's configuration
// passes `haproxy -c`, every line starts with a directive we write, the
// acl lines are exactly one per accepted rule, and no name or description
// appears in it.
func TestInjectionsThroughEveryFieldThatReachesTheConfigAreRefusedOrQuoted(t *testing.T) {
	haproxyBin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("needs haproxy")
	}
	tp := startTopo(t)
	now := time.Now()
	leaf, err := pki.Issue(nil, pki.Request{CommonName: "inject.test", DNSNames: []string{"inject.test"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	cert := tp.create("/v2.0/lbaas-certificates", "certificate", map[string]any{"name": "inject", "certificate": string(leaf.CertPEM), "private_key": string(leaf.KeyPEM)})["id"].(string)
	lb := tp.v2Create("/loadbalancers", "loadbalancer", map[string]any{"name": "inject", "vip_subnet_id": tp.vipSub})
	lbID := lb["id"].(string)
	http := tp.v2Create("/listeners", "listener", map[string]any{"loadbalancer_id": lbID, "protocol": "HTTP", "protocol_port": 80})["id"].(string)
	tlsL := tp.v2Create("/listeners", "listener", map[string]any{"loadbalancer_id": lbID, "protocol": "TERMINATED_HTTPS", "protocol_port": 443, "default_tls_container_ref": cert})["id"].(string)
	pool := tp.v2Create("/pools", "pool", map[string]any{"listener_id": http, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"})["id"].(string)
	tp.v2Create("/pools/"+pool+"/members", "member", map[string]any{"address": tp.backends[0].Addr.String(), "protocol_port": 80, "subnet_id": tp.poolSub})
	hm := tp.v2Create("/healthmonitors", "healthmonitor", map[string]any{"pool_id": pool, "type": "HTTP", "delay": 5, "timeout": 3, "max_retries": 2, "http_version": 1.1})["id"].(string)
	policy := tp.v2Create("/l7policies", "l7policy", map[string]any{"listener_id": http, "action": "REJECT"})["id"].(string)

	type attempt struct {
		what, method, path, envelope string
		body                         func(v string) map[string]any
	}
	rule := func(typ, cmp string, keyed bool) attempt {
		return attempt{"l7rule " + typ + " " + cmp, "POST", "/l7policies/" + policy + "/rules", "rule", func(v string) map[string]any {
			b := map[string]any{"type": typ, "compare_type": cmp, "value": v}
			if keyed {
				b["key"] = "X-Probe"
			}
			return b
		}}
	}
	ruleKey := func(typ string) attempt {
		return attempt{"l7rule " + typ + " key", "POST", "/l7policies/" + policy + "/rules", "rule", func(v string) map[string]any {
			return map[string]any{"type": typ, "compare_type": "EQUAL_TO", "key": v, "value": "x"}
		}}
	}
	put := func(what, path, envelope, field string) attempt {
		return attempt{what, "PUT", path, envelope, func(v string) map[string]any { return map[string]any{field: v} }}
	}
	attempts := []attempt{
		rule("PATH", "EQUAL_TO", false), rule("PATH", "REGEX", false), rule("HOST_NAME", "STARTS_WITH", false),
		rule("FILE_TYPE", "EQUAL_TO", false), rule("HEADER", "CONTAINS", true), rule("COOKIE", "ENDS_WITH", true),
		ruleKey("HEADER"), ruleKey("COOKIE"), ruleKey("SSL_DN_FIELD"),
		{"l7policy redirect_url", "POST", "/l7policies", "l7policy", func(v string) map[string]any {
			return map[string]any{"listener_id": http, "action": "REDIRECT_TO_URL", "redirect_url": "https://example.com/" + v}
		}},
		{"l7policy redirect_prefix", "POST", "/l7policies", "l7policy", func(v string) map[string]any {
			return map[string]any{"listener_id": http, "action": "REDIRECT_PREFIX", "redirect_prefix": "https://" + v}
		}},
		put("monitor url_path", "/healthmonitors/"+hm, "healthmonitor", "url_path"),
		put("monitor http_method", "/healthmonitors/"+hm, "healthmonitor", "http_method"),
		put("monitor domain_name", "/healthmonitors/"+hm, "healthmonitor", "domain_name"),
		put("monitor expected_codes", "/healthmonitors/"+hm, "healthmonitor", "expected_codes"),
		{"pool cookie_name", "PUT", "/pools/" + pool, "pool", func(v string) map[string]any {
			return map[string]any{"session_persistence": map[string]any{"type": "APP_COOKIE", "cookie_name": v}}
		}},
		put("listener tls_ciphers", "/listeners/"+tlsL, "listener", "tls_ciphers"),
		{"listener allowed_cidrs", "PUT", "/listeners/" + http, "listener", func(v string) map[string]any {
			return map[string]any{"allowed_cidrs": []string{v}}
		}},
		{"listener insert_headers", "PUT", "/listeners/" + http, "listener", func(v string) map[string]any {
			return map[string]any{"insert_headers": map[string]string{v: "true"}}
		}},
		{"member address", "POST", "/pools/" + pool + "/members", "member", func(v string) map[string]any {
			return map[string]any{"address": v, "protocol_port": 80}
		}},
		put("load balancer name", "/loadbalancers/"+lbID, "loadbalancer", "name"),
		put("listener description", "/listeners/"+http, "listener", "description"),
		put("pool name", "/pools/"+pool, "pool", "name"),
	}
	acceptedRules := 0
	accepted := map[string][]string{}
	for _, a := range attempts {
		for _, v := range injections {
			err := tp.v2().Call(a.method, a.path, map[string]any{a.envelope: a.body(v)}, nil)
			control := strings.ContainsAny(v, "\n\r\x00")
			switch {
			case err == nil && control:
				t.Errorf("%s: %q with a control character was accepted", a.what, v)
			case err == nil:
				accepted[a.what] = append(accepted[a.what], v)
				if strings.HasPrefix(a.what, "l7rule") {
					acceptedRules++
				}
			case !strings.Contains(err.Error(), ": 400 "):
				t.Errorf("%s: %q answered %v, want 400 or success", a.what, v, err)
			}
		}
	}
	for what, vs := range accepted {
		t.Logf("accepted for %s: %q", what, vs)
	}
	// ACTIVE: both VMs run the configuration (HAProxy took it). Operating
	// status is not the point here (the TLS listener has no pool).
	deadline := time.Now().Add(90 * time.Second)
	for {
		lb, err := tp.v2().Get("/loadbalancers/"+lbID, "loadbalancer")
		if err == nil && lb["provisioning_status"] == "ACTIVE" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ACTIVE within 90s: %v %v", lb, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	ins := tp.instancesOf(lbID)
	if len(ins) != 2 {
		t.Fatalf("VMs: %v", ins)
	}
	for _, in := range ins {
		cfg := filepath.Join(in.dir, "etc", "haproxy", "haproxy.cfg")
		if out, err := exec.Command(haproxyBin, "-c", "-f", cfg).CombinedOutput(); err != nil {
			t.Errorf("%s: haproxy -c: %v\n%s", in.node, err, out)
		}
		f, err := os.Open(cfg)
		if err != nil {
			t.Fatal(err)
		}
		acls := 0
		sc := bufio.NewScanner(f)
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			word := strings.Fields(line)[0]
			if !allowedDirectives[word] {
				t.Errorf("%s:%d starts with %q: %s", in.node, n, word, line)
			}
			if strings.HasPrefix(line, "acl r-") {
				acls++
			}
			if strings.Contains(line, "${HOME}") && !strings.Contains(line, "'") {
				t.Errorf("%s:%d holds an unquoted expansion: %s", in.node, n, line)
			}
		}
		f.Close()
		if acls != acceptedRules {
			t.Errorf("%s: %d rule acl lines, want one per accepted rule (%d)", in.node, acls, acceptedRules)
		}
		b, _ := os.ReadFile(cfg)
		for _, what := range []string{"load balancer name", "listener description", "pool name"} {
			for _, v := range accepted[what] {
				if len(v) > 3 && strings.Contains(string(b), v) && !strings.Contains(strings.Join(accepted["l7rule PATH EQUAL_TO"], "\x00"), v) {
					t.Errorf("%s: the %s %q reached the configuration", in.node, what, v)
				}
			}
		}
	}
}

package octavia_test

import (
	"context"

	"github.com/google/uuid"
	"net/http"
	"testing"

	"lbaas/internal/model"
	"lbaas/internal/store"
)

// positions returns the listener's policies as shown, id → position.
func positions(t *testing.T, listener string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, p := range list(t, alphaToken, v2+"/l7policies?listener_id="+listener, "l7policies") {
		out[p["id"].(string)] = int(p["position"].(float64))
	}
	return out
}

func TestL7PolicyPositionsStayDenseOnInsertMoveAndDelete(t *testing.T) {
	_, listener, _, _ := tree(t, alphaToken, "alpha", 0)
	mk := func(pos any) string {
		body := obj{"listener_id": listener, "action": "REJECT"}
		if pos != nil {
			body["position"] = pos
		}
		return create(t, alphaToken, v2+"/l7policies", "l7policy", body)["id"].(string)
	}
	a := mk(nil) // 1
	b := mk(nil) // 2: appended
	c := mk(1)   // inserted first: c a b
	d := mk(100) // past the end: last, as 4
	want := map[string]int{c: 1, a: 2, b: 3, d: 4}
	if got := positions(t, listener); !equalPositions(got, want) {
		t.Fatalf("after inserts: %v, want %v", got, want)
	}
	expect(t, call(t, alphaToken, "PUT", v2+"/l7policies/"+d, obj{"l7policy": obj{"position": 2}}), http.StatusOK) // c d a b
	want = map[string]int{c: 1, d: 2, a: 3, b: 4}
	if got := positions(t, listener); !equalPositions(got, want) {
		t.Fatalf("after a move: %v, want %v", got, want)
	}
	expect(t, call(t, alphaToken, "DELETE", v2+"/l7policies/"+c, nil), http.StatusNoContent) // d a b
	want = map[string]int{d: 1, a: 2, b: 3}
	if got := positions(t, listener); !equalPositions(got, want) {
		t.Fatalf("after a delete: %v, want %v", got, want)
	}
	l := show(t, alphaToken, v2+"/listeners/"+listener, "listener")
	if ps := l["l7policies"].([]any); len(ps) != 3 || ps[0].(obj)["id"] != d || ps[2].(obj)["id"] != b {
		t.Fatalf("listener shows %v, want d a b in order", ps)
	}
}

func equalPositions(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestL7PolicyActionsTakeTheirTargetAndClearTheOthers(t *testing.T) {
	_, listener, pool, _ := tree(t, alphaToken, "alpha", 0)
	p := create(t, alphaToken, v2+"/l7policies", "l7policy", obj{"listener_id": listener, "redirect_pool_id": pool})
	if p["action"] != "REDIRECT_TO_POOL" || p["redirect_pool_id"] != pool || p["redirect_http_code"] != nil || p["position"] != 1.0 {
		t.Fatalf("a redirect pool without an action: %v", p)
	}
	id := p["id"].(string)
	r := call(t, alphaToken, "PUT", v2+"/l7policies/"+id, obj{"l7policy": obj{"redirect_url": "https://example.com/new"}})
	expect(t, r, http.StatusOK)
	if u := r.body["l7policy"].(obj); u["action"] != "REDIRECT_TO_URL" || u["redirect_pool_id"] != nil || u["redirect_http_code"] != 302.0 {
		t.Fatalf("a URL replacing the pool: %v", u)
	}
	r = call(t, alphaToken, "PUT", v2+"/l7policies/"+id, obj{"l7policy": obj{"action": "REDIRECT_PREFIX", "redirect_prefix": "https://example.com", "redirect_http_code": 308}})
	expect(t, r, http.StatusOK)
	if u := r.body["l7policy"].(obj); u["redirect_url"] != nil || u["redirect_prefix"] != "https://example.com" || u["redirect_http_code"] != 308.0 {
		t.Fatalf("a prefix: %v", u)
	}
	// The pool is no longer a redirect target: it can go.
	expect(t, call(t, alphaToken, "PUT", v2+"/l7policies/"+id, obj{"l7policy": obj{"action": "REDIRECT_TO_POOL", "redirect_pool_id": pool}}), http.StatusOK)
	expectFault(t, call(t, alphaToken, "DELETE", v2+"/pools/"+pool, nil), 409, "redirect pool of L7 Policy "+id)
}

func TestL7PolicyAndRuleInputIsCheckedWithClearErrors(t *testing.T) {
	lb, listener, _, _ := tree(t, alphaToken, "alpha", 0)
	tcp := create(t, alphaToken, v2+"/listeners", "listener", obj{"loadbalancer_id": lb, "protocol": "TCP", "protocol_port": 22})["id"].(string)
	_, otherListener, otherPool, _ := tree(t, alphaToken, "alpha", 0)
	_ = otherListener
	pol := func(fields obj) obj {
		b := obj{"listener_id": listener}
		for k, v := range fields {
			b[k] = v
		}
		return obj{"l7policy": b}
	}
	for _, c := range []struct {
		body obj
		code int
		text string
	}{
		{pol(obj{}), 400, "an action is required"},
		{pol(obj{"action": "FORWARD"}), 400, "'FORWARD' is not in"},
		{pol(obj{"action": "REDIRECT_TO_URL"}), 400, "redirect_url"},
		{pol(obj{"action": "REDIRECT_TO_URL", "redirect_url": "ftp://example.com/"}), 400, "http or https"},
		{pol(obj{"action": "REDIRECT_TO_URL", "redirect_url": "https://example.com/a b"}), 400, "spaces"},
		{pol(obj{"action": "REDIRECT_TO_URL", "redirect_url": "https://example.com/\n    server x 1.2.3.4:80"}), 400, "0x0a"},
		{pol(obj{"action": "REDIRECT_PREFIX", "redirect_prefix": "https://example.com/?a=b"}), 400, "query"},
		{pol(obj{"action": "REDIRECT_TO_URL", "redirect_url": "https://example.com/", "redirect_http_code": 304}), 400, "redirect_http_code"},
		{pol(obj{"redirect_url": "https://example.com/", "redirect_pool_id": otherPool}), 400, "Send one of"},
		{pol(obj{"action": "REDIRECT_TO_POOL", "redirect_pool_id": otherPool}), 400, "is not on Load Balancer"},
		{pol(obj{"action": "REJECT", "position": 0}), 400, "position"},
		{obj{"l7policy": obj{"listener_id": tcp, "action": "REJECT"}}, 400, "HTTP or TERMINATED_HTTPS"},
		{pol(obj{"action": "REJECT", "rules": []obj{{"type": "PATH", "compare_type": "REGEX", "value": "(a"}}}), 400, "rules[0]: Invalid input for value"},
		{pol(obj{"action": "REJECT", "rules": []obj{{"type": "PATH", "compare_type": "REGEX", "value": `(?=a)b`}}}), 400, "not a valid regular expression"},
		{pol(obj{"action": "REJECT", "rules": []obj{{"type": "PATH", "compare_type": "REGEX", "value": `\p{Greek}`}}}), 400, "Unicode"},
		{pol(obj{"action": "REJECT", "rules": []obj{{"type": "HEADER", "compare_type": "EQUAL_TO", "value": "x"}}}), 400, "needs a header name"},
		{pol(obj{"action": "REJECT", "rules": []obj{{"type": "HEADER", "key": "X-A)", "compare_type": "EQUAL_TO", "value": "x"}}}), 400, "not allowed in a header"},
		{pol(obj{"action": "REJECT", "rules": []obj{{"type": "COOKIE", "key": "s", "compare_type": "EQUAL_TO", "value": "a\u00e9"}}}), 400, "printable ASCII"},
		{pol(obj{"action": "REJECT", "rules": []obj{{"type": "FILE_TYPE", "compare_type": "CONTAINS", "value": "jpg"}}}), 400, "EQUAL_TO or REGEX"},
		{pol(obj{"action": "REJECT", "rules": []obj{{"type": "PATH", "key": "k", "compare_type": "EQUAL_TO", "value": "/"}}}), 400, "takes no key"},
		{pol(obj{"action": "REJECT", "rules": []obj{{"type": "SSL_CONN_HAS_CERT", "compare_type": "EQUAL_TO", "value": "yes"}}}), 400, "'True'"},
		{pol(obj{"action": "REJECT", "rules": []obj{{"type": "SSL_DN_FIELD", "key": "CN;x", "compare_type": "EQUAL_TO", "value": "a"}}}), 400, "subject field"},
	} {
		before := len(env.st.List(model.KindL7Policy))
		expectFault(t, call(t, alphaToken, "POST", v2+"/l7policies", c.body), c.code, c.text)
		if after := len(env.st.List(model.KindL7Policy)); after != before {
			t.Fatalf("a refused create stored a policy: %v", c.body)
		}
	}
}

func TestL7RulesBelongToTheirPolicyAndGoWithTheListener(t *testing.T) {
	_, listener, _, _ := tree(t, alphaToken, "alpha", 0)
	p := create(t, alphaToken, v2+"/l7policies", "l7policy", obj{"listener_id": listener, "action": "REJECT",
		"rules": []obj{{"type": "HOST_NAME", "compare_type": "ENDS_WITH", "value": ".internal"}}})
	pid := p["id"].(string)
	if rs := p["rules"].([]any); len(rs) != 1 {
		t.Fatalf("rules inline: %v", p)
	}
	r := create(t, alphaToken, v2+"/l7policies/"+pid+"/rules", "rule", obj{"type": "HEADER", "key": "X-Debug", "compare_type": "EQUAL_TO", "value": "1", "invert": true})
	rid := r["id"].(string)
	if r["key"] != "X-Debug" || r["invert"] != true || r["project_id"] != "alpha" {
		t.Fatalf("rule: %v", r)
	}
	expect(t, call(t, alphaToken, "PUT", v2+"/l7policies/"+pid+"/rules/"+rid, obj{"rule": obj{"compare_type": "REGEX", "value": "^(1|true)$"}}), http.StatusOK)
	if got := list(t, alphaToken, v2+"/l7policies/"+pid+"/rules", "rules"); len(got) != 2 {
		t.Fatalf("rules listed: %v", got)
	}
	// Another project sees neither.
	expect(t, call(t, betaToken, "GET", v2+"/l7policies/"+pid, nil), http.StatusForbidden)
	expect(t, call(t, betaToken, "GET", v2+"/l7policies/"+pid+"/rules/"+rid, nil), http.StatusForbidden)
	// The status tree has them under the listener.
	lbID := show(t, alphaToken, v2+"/listeners/"+listener, "listener")["loadbalancers"].([]any)[0].(obj)["id"].(string)
	tree := call(t, alphaToken, "GET", v2+"/loadbalancers/"+lbID+"/status", nil)
	ls := tree.body["statuses"].(obj)["loadbalancer"].(obj)["listeners"].([]any)
	if ps := ls[0].(obj)["l7policies"].([]any); len(ps) != 1 || len(ps[0].(obj)["rules"].([]any)) != 2 {
		t.Fatalf("status tree: %v", ls)
	}
	expect(t, call(t, alphaToken, "DELETE", v2+"/listeners/"+listener, nil), http.StatusNoContent)
	for _, k := range []model.Kind{model.KindL7Policy, model.KindL7Rule} {
		for _, id := range []string{pid, rid} {
			if _, ok := env.st.Get(k, id); ok {
				t.Fatalf("%s %s outlived its listener", k, id)
			}
		}
	}
	if n := len(env.st.ByIndex(model.KindL7Rule, store.IdxL7Policy, pid)); n != 0 {
		t.Fatalf("%d rules of a deleted policy remain", n)
	}
}

func TestListenerOptionsAreStoredShownAndCheckedAgainstTheProtocol(t *testing.T) {
	lb, _, _, _ := tree(t, alphaToken, "alpha", 0)
	l := create(t, alphaToken, v2+"/listeners", "listener", obj{"loadbalancer_id": lb, "protocol": "HTTP", "protocol_port": 8080,
		"allowed_cidrs": []string{"192.0.2.0/24", "10.0.0.0/8"}, "insert_headers": obj{"X-Forwarded-Port": "true", "X-Forwarded-For": "false"}})
	if cs := l["allowed_cidrs"].([]any); len(cs) != 2 || cs[0] != "192.0.2.0/24" {
		t.Fatalf("allowed_cidrs: %v", l["allowed_cidrs"])
	}
	if h := l["insert_headers"].(obj); h["X-Forwarded-Port"] != "true" || h["X-Forwarded-For"] != "false" {
		t.Fatalf("insert_headers: %v", h)
	}
	if l["tls_versions"] != nil || l["alpn_protocols"] != nil || l["hsts_max_age"] != nil {
		t.Fatalf("an HTTP listener shows TLS settings: %v", l)
	}
	id := l["id"].(string)
	r := call(t, alphaToken, "PUT", v2+"/listeners/"+id, obj{"listener": obj{"allowed_cidrs": nil}})
	expect(t, r, http.StatusOK)
	if r.body["listener"].(obj)["allowed_cidrs"] != nil {
		t.Fatalf("allowed_cidrs null clears: %v", r.body)
	}
	pp := create(t, alphaToken, v2+"/pools", "pool", obj{"listener_id": id, "protocol": "PROXYV2", "lb_algorithm": "ROUND_ROBIN"})
	if pp["protocol"] != "PROXYV2" {
		t.Fatalf("a PROXYV2 pool: %v", pp)
	}
}

// storeCert stores a certificate record of project (its PEM is not read
// by the listener API) and returns its id.
func storeCert(t *testing.T, project string) string {
	t.Helper()
	c := &model.Certificate{Meta: model.Meta{ID: uuid.NewString(), TenantID: project}, Name: unique("c"), PrivateKeyPEM: "sealed:v1:test:AAAA"}
	if _, err := env.st.Commit(context.Background(), new(store.Txn).Create(model.KindCertificate, c)); err != nil {
		t.Fatal(err)
	}
	return c.ID
}

func TestTerminatingListenerTakesSNICertificatesTLSDefaultsAndHSTS(t *testing.T) {
	lb, _, _, _ := tree(t, alphaToken, "alpha", 0)
	def, sni := storeCert(t, "alpha"), storeCert(t, "alpha")
	other := storeCert(t, "beta")
	base := obj{"loadbalancer_id": lb, "protocol": "TERMINATED_HTTPS", "protocol_port": 443, "default_tls_container_ref": def}
	with := func(extra obj) obj {
		b := obj{}
		for k, v := range base {
			b[k] = v
		}
		for k, v := range extra {
			b[k] = v
		}
		return obj{"listener": b}
	}
	expectFault(t, call(t, alphaToken, "POST", v2+"/listeners", with(obj{"sni_container_refs": []string{other}})), 400, "Could not retrieve certificate: "+other)
	expectFault(t, call(t, alphaToken, "POST", v2+"/listeners", with(obj{"tls_versions": []string{"TLSv1", "TLSv1.2"}})), 400, "contiguous")
	expectFault(t, call(t, alphaToken, "POST", v2+"/listeners", with(obj{"hsts_preload": true})), 400, "need hsts_max_age")
	r := call(t, alphaToken, "POST", v2+"/listeners", with(obj{"sni_container_refs": []string{"https://keys.example/v1/containers/" + sni}, "hsts_max_age": 0, "insert_headers": obj{"X-SSL-Client-CN": "True"}}))
	expect(t, r, http.StatusCreated)
	l := r.body["listener"].(obj)
	if refs := l["sni_container_refs"].([]any); len(refs) != 1 || refs[0] != sni {
		t.Fatalf("sni_container_refs: %v", l["sni_container_refs"])
	}
	if vs := l["tls_versions"].([]any); len(vs) != 2 || vs[0] != "TLSv1.2" || vs[1] != "TLSv1.3" {
		t.Fatalf("default tls_versions: %v", l["tls_versions"])
	}
	if l["alpn_protocols"] == nil || l["hsts_max_age"] != 0.0 {
		t.Fatalf("alpn %v, hsts_max_age %v (0 is a value, not off)", l["alpn_protocols"], l["hsts_max_age"])
	}
	id := l["id"].(string)
	r = call(t, alphaToken, "PUT", v2+"/listeners/"+id, obj{"listener": obj{"hsts_max_age": nil}})
	expect(t, r, http.StatusOK)
	if r.body["listener"].(obj)["hsts_max_age"] != nil {
		t.Fatalf("hsts_max_age null turns HSTS off: %v", r.body["listener"])
	}
	// The SNI certificate is in use: the index that guards deletes sees it.
	if n := len(env.st.ByIndex(model.KindListener, store.IdxCert, sni)); n != 1 {
		t.Fatalf("listeners using the SNI certificate: %d", n)
	}
}

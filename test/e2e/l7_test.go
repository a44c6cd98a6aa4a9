package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// osc runs the real `openstack loadbalancer` client against the cluster
// with the admin token and returns its output (-f json where asked).
func (tp *topo) osc(openstack string, args ...string) string {
	tp.t.Helper()
	cmd := exec.Command(openstack, append([]string{"loadbalancer"}, args...)...)
	cmd.Env = append(withoutOS(), "OS_CLIENT_CONFIG_FILE=/dev/null", "OS_CLOUD=envvars", "OS_AUTH_TYPE=admin_token",
		"OS_TOKEN="+tp.c.AdminToken, "OS_ENDPOINT="+tp.c.URL, "OS_LOAD_BALANCER_ENDPOINT_OVERRIDE="+tp.c.OctaviaURL)
	out, err := cmd.CombinedOutput()
	if err != nil {
		tp.t.Fatalf("openstack loadbalancer %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (tp *topo) oscJSON(openstack string, args ...string) map[string]any {
	tp.t.Helper()
	var v map[string]any
	out := tp.osc(openstack, append(args, "-f", "json")...)
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		tp.t.Fatalf("openstack loadbalancer %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return v
}

// answer is one request through the floating IP: status, body, Location.
type answer struct {
	status         int
	body, location string
}

func (tp *topo) l7get(url string, hdr map[string]string) (answer, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return answer{}, err
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := httpClient(tp.client, 3*time.Second)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, strings.TrimSpace(string(b)), resp.Header.Get("Location")}, nil
}

// TestL7PoliciesMadeWithTheOpenstackClientRouteRedirectAndReject builds a
// load balancer with two pools, adds L7 policies and rules with the real
// `openstack loadbalancer l7policy/l7rule` commands, and checks through
// the floating IP that each policy does what it says, in position order,
// also after a policy is moved and one is deleted.
func TestL7PoliciesMadeWithTheOpenstackClientRouteRedirectAndReject(t *testing.T) {
	// A client workflow: it runs beside the others after the rest of the
	// package (see workflowsInParallel).
	t.Parallel()
	openstack, err := exec.LookPath("openstack")
	if err != nil {
		t.Skip("the openstack CLI (Debian python3-openstackclient and python3-octaviaclient) is not installed")
	}
	tp := startTopo(t)
	lb := tp.v2Create("/loadbalancers", "loadbalancer", map[string]any{"name": "l7", "vip_subnet_id": tp.vipSub})
	lbID := lb["id"].(string)
	listener := tp.v2Create("/listeners", "listener", map[string]any{"loadbalancer_id": lbID, "protocol": "HTTP", "protocol_port": 80})
	lid := listener["id"].(string)
	web := tp.v2Create("/pools", "pool", map[string]any{"listener_id": lid, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"})
	api := tp.v2Create("/pools", "pool", map[string]any{"loadbalancer_id": lbID, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"})
	tp.v2Create("/pools/"+web["id"].(string)+"/members", "member", map[string]any{"address": tp.backends[0].Addr.String(), "protocol_port": 80, "subnet_id": tp.poolSub})
	tp.v2Create("/pools/"+api["id"].(string)+"/members", "member", map[string]any{"address": tp.backends[1].Addr.String(), "protocol_port": 80, "subnet_id": tp.poolSub})
	webBody, apiBody := "backend "+tp.backends[0].Addr.String(), "backend "+tp.backends[1].Addr.String()

	toAPI := tp.oscJSON(openstack, "l7policy", "create", "--name", "to-api", "--action", "REDIRECT_TO_POOL", "--redirect-pool", api["id"].(string), lid)
	tp.osc(openstack, "l7rule", "create", "--type", "PATH", "--compare-type", "STARTS_WITH", "--value", "/api/", toAPI["id"].(string))
	tp.osc(openstack, "l7rule", "create", "--type", "HEADER", "--key", "X-Env", "--compare-type", "EQUAL_TO", "--value", "it's staging", "--invert", toAPI["id"].(string))
	moved := tp.oscJSON(openstack, "l7policy", "create", "--name", "moved", "--action", "REDIRECT_TO_URL", "--redirect-url", "https://example.com/new%20home", "--redirect-http-code", "301", lid)
	tp.osc(openstack, "l7rule", "create", "--type", "PATH", "--compare-type", "EQUAL_TO", "--value", "/old", moved["id"].(string))
	block := tp.oscJSON(openstack, "l7policy", "create", "--name", "block", "--action", "REJECT", lid)
	tp.osc(openstack, "l7rule", "create", "--type", "PATH", "--compare-type", "REGEX", "--value", `^/(api/)?admin`, block["id"].(string))
	if p := tp.oscJSON(openstack, "l7policy", "show", block["id"].(string)); p["position"] != float64(3) || p["listener_id"] != lid {
		t.Fatalf("the third policy as the client shows it: %v", p)
	}

	tp.v2WaitActive(lbID, 60*time.Second)
	fip := tp.create("/v2.0/floatingips", "floatingip", map[string]any{"floating_network_id": tp.public, "port_id": lb["vip_port_id"]})["floating_ip_address"].(string)
	base := "http://" + fip
	tp.waitServed(base+"/", 30*time.Second)

	check := func(when string, cases []struct {
		path string
		hdr  map[string]string
		want answer
	}) {
		t.Helper()
		for _, c := range cases {
			got, err := tp.l7get(base+c.path, c.hdr)
			if c.want.body == "" {
				got.body = "" // HAProxy's own page for a 403 or a redirect
			}
			if err != nil || got != c.want {
				t.Errorf("%s: GET %s %v: got %+v %v, want %+v", when, c.path, c.hdr, got, err, c.want)
			}
		}
	}
	type tc = struct {
		path string
		hdr  map[string]string
		want answer
	}
	check("three policies", []tc{
		{"/", nil, answer{200, webBody, ""}},
		{"/api/items", nil, answer{200, apiBody, ""}},
		{"/api/items", map[string]string{"X-Env": "it's staging"}, answer{200, webBody, ""}}, // the inverted rule fails
		{"/old", nil, answer{301, "", "https://example.com/new%20home"}},
		{"/admin", nil, answer{403, "", ""}},
		// to-api is at 1, block at 3: the pool wins for /api/admin.
		{"/api/admin", nil, answer{200, apiBody, ""}},
	})

	// Move block first: now it wins for /api/admin. Delete moved: /old
	// goes to the default pool.
	tp.osc(openstack, "l7policy", "set", "--position", "1", block["id"].(string))
	tp.osc(openstack, "l7policy", "delete", moved["id"].(string))
	if p := tp.oscJSON(openstack, "l7policy", "show", toAPI["id"].(string)); p["position"] != float64(2) {
		t.Fatalf("to-api after the move and the delete: position %v, want 2", p["position"])
	}
	rules := tp.osc(openstack, "l7rule", "list", toAPI["id"].(string))
	if !strings.Contains(rules, "STARTS_WITH") || !strings.Contains(rules, "HEADER") {
		t.Fatalf("l7rule list:\n%s", rules)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := tp.l7get(base+"/api/admin", nil)
		if err == nil && got.status == 403 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the moved REJECT policy did not take effect within 30s: %+v %v", got, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	tp.v2WaitActive(lbID, 60*time.Second)
	check("after the move and the delete", []tc{
		{"/api/admin", nil, answer{403, "", ""}},
		{"/api/items", nil, answer{200, apiBody, ""}},
		{"/old", nil, answer{200, webBody, ""}},
	})
	status := tp.osc(openstack, "status", "show", lbID)
	if !strings.Contains(status, toAPI["id"].(string)) || !strings.Contains(status, block["id"].(string)) {
		t.Fatalf("the status tree lacks the policies:\n%s", status)
	}
}

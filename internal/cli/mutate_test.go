package cli

import (
	"strings"
	"testing"
)

func TestPoolUpdateSendsValueSpecAndEchoesArgument(t *testing.T) {
	f := newFakeAPI(t)
	f.on("GET /v2.0/lb/pools?name=mypool&fields=id", 200, `{"pools":[{"id":"`+poolID+`"}]}`)
	f.on("PUT /v2.0/lb/pools/"+poolID, 200, `{"pool":{}}`)
	r := f.run(t, "lb-pool-update", "mypool", "--description", "seed pool")
	if r.code != 0 || r.stdout != "Updated pool: mypool\n" {
		t.Fatalf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	wantJSON(t, f.last().Body, `{"pool":{"description":"seed pool"}}`)
}

func TestVipUpdateConnectionLimitIsSentAsInteger(t *testing.T) {
	f := newFakeAPI(t)
	f.on("GET /v2.0/lb/vips?name=myvip&fields=id", 200, `{"vips":[{"id":"v1"}]}`)
	f.on("PUT /v2.0/lb/vips/v1", 200, `{}`)
	r := f.run(t, "lb-vip-update", "myvip", "--connection-limit", "100", "--session-persistence", "type=dict", "type=APP_COOKIE,cookie_name=sid")
	if r.code != 0 || r.stdout != "Updated vip: myvip\n" {
		t.Fatalf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	wantJSON(t, f.last().Body, `{"vip":{"connection_limit":100,"session_persistence":{"type":"APP_COOKIE","cookie_name":"sid"}}}`)
}

func TestUpdateWithoutValuesIsRefused(t *testing.T) {
	f := newFakeAPI(t)
	r := f.run(t, "lb-member-update", memberID)
	if r.code != ExitUsage || !strings.Contains(r.stderr, "Must specify new values to update member") || len(f.requests()) != 0 {
		t.Fatalf("exit %d stderr %q requests %v", r.code, r.stderr, f.requests())
	}
}

func TestHealthMonitorUpdateLooksUpByIDOnly(t *testing.T) {
	f := newFakeAPI(t)
	f.on("GET /v2.0/lb/health_monitors?id="+hmID+"&fields=id", 200, `{"health_monitors":[{"id":"`+hmID+`"}]}`)
	f.on("PUT /v2.0/lb/health_monitors/"+hmID, 200, `{}`)
	r := f.run(t, "lb-healthmonitor-update", hmID, "--delay", "30")
	if r.code != 0 || r.stdout != "Updated health_monitor: "+hmID+"\n" {
		t.Fatalf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	wantJSON(t, f.last().Body, `{"health_monitor":{"delay":30}}`)
	r = f.run(t, "lb-healthmonitor-update", "byname", "--delay", "30")
	if r.code != 1 || r.stderr != "Unable to find health_monitor with id 'byname'\n" {
		t.Fatalf("name: exit %d stderr %q", r.code, r.stderr)
	}
}

func TestBulkDeleteReportsDeletedAndMissing(t *testing.T) {
	f := newFakeAPI(t)
	f.on("DELETE /v2.0/lb/health_monitors/"+hmID, 204, "")
	f.on("DELETE /v2.0/lb/health_monitors/11111111-2222-3333-4444-555555555555", 404, `{"NeutronError":{"type":"NotFound","message":"x","detail":""}}`)
	r := f.run(t, "lb-healthmonitor-delete", hmID, "11111111-2222-3333-4444-555555555555")
	if r.code != 1 || r.stdout != "Deleted health_monitor(s): "+hmID+"\n" ||
		r.stderr != "Unable to find health_monitor(s) with id(s) '11111111-2222-3333-4444-555555555555'.\n" {
		t.Fatalf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestNetDeleteByNameEchoesName(t *testing.T) {
	f := newFakeAPI(t)
	f.on("GET /v2.0/networks?name=vipnet&fields=id", 200, `{"networks":[{"id":"n1"}]}`)
	f.on("DELETE /v2.0/networks/n1", 204, "")
	r := f.run(t, "net-delete", "vipnet")
	if r.code != 0 || r.stdout != "Deleted network(s): vipnet\n" {
		t.Fatalf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestHealthMonitorAssociateAndDisassociate(t *testing.T) {
	f := newFakeAPI(t)
	f.on("GET /v2.0/lb/pools?name=mypool&fields=id", 200, `{"pools":[{"id":"`+poolID+`"}]}`)
	f.on("POST /v2.0/lb/pools/"+poolID+"/health_monitors", 201, `{}`)
	f.on("DELETE /v2.0/lb/pools/"+poolID+"/health_monitors/"+hmID, 204, "")
	r := f.run(t, "lb-healthmonitor-associate", hmID, "mypool")
	if r.code != 0 || r.stdout != "Associated health monitor "+hmID+"\n" {
		t.Fatalf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	wantJSON(t, f.last().Body, `{"health_monitor":{"id":"`+hmID+`"}}`)
	r = f.run(t, "lb-healthmonitor-disassociate", hmID, "mypool")
	if r.code != 0 || r.stdout != "Disassociated health monitor "+hmID+"\n" {
		t.Fatalf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if got := f.requests(); got[len(got)-1] != "DELETE /v2.0/lb/pools/"+poolID+"/health_monitors/"+hmID {
		t.Fatalf("requests %v", got)
	}
}

func TestFloatingIPAssociateSendsPortWithoutLookupAndDisassociateSendsNull(t *testing.T) {
	f := newFakeAPI(t)
	f.on("PUT /v2.0/floatingips/fip1", 200, `{"floatingip":{}}`)
	r := f.run(t, "floatingip-associate", "fip1", "port1")
	if r.code != 0 || r.stdout != "Associated floating IP fip1\n" {
		t.Fatalf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	wantJSON(t, f.last().Body, `{"floatingip":{"port_id":"port1"}}`)
	r = f.run(t, "floatingip-disassociate", "fip1")
	if r.code != 0 || r.stdout != "Disassociated floating IP fip1\n" {
		t.Fatalf("exit %d stdout %q", r.code, r.stdout)
	}
	wantJSON(t, f.last().Body, `{"floatingip":{"port_id":null}}`)
	wantRequests(t, f, "PUT /v2.0/floatingips/fip1", "PUT /v2.0/floatingips/fip1")
}

func TestFloatingIPCreateResolvesExternalNetwork(t *testing.T) {
	f := newFakeAPI(t)
	f.on("GET /v2.0/networks?name=Public&fields=id", 200, `{"networks":[{"id":"ext"}]}`)
	f.on("POST /v2.0/floatingips", 201, `{"floatingip":{"id":"fip1"}}`)
	r := f.run(t, "floatingip-create", "Public", "--port-id", "port1")
	if r.code != 0 {
		t.Fatalf("exit %d stderr %q", r.code, r.stderr)
	}
	wantJSON(t, f.last().Body, `{"floatingip":{"floating_network_id":"ext","port_id":"port1"}}`)
}

func TestPoolStatsPrintsStatsObject(t *testing.T) {
	f := newFakeAPI(t)
	f.on("GET /v2.0/lb/pools?name=mypool&fields=id", 200, `{"pools":[{"id":"`+poolID+`"}]}`)
	f.on("GET /v2.0/lb/pools/"+poolID+"/stats", 200, `{"stats":{"bytes_in":10,"bytes_out":20,"active_connections":1,"total_connections":2}}`)
	r := f.run(t, "lb-pool-stats", "mypool")
	want := `+--------------------+-------+
| Field              | Value |
+--------------------+-------+
| active_connections | 1     |
| bytes_in           | 10    |
| bytes_out          | 20    |
| total_connections  | 2     |
+--------------------+-------+
`
	if r.code != 0 || r.stdout != want {
		t.Fatalf("exit %d stderr %q stdout:\n%s", r.code, r.stderr, r.stdout)
	}
}

func TestConnectionSettingsPrecedence(t *testing.T) {
	f := newFakeAPI(t)
	f.on("GET /v2.0/lb/pools", 200, `{"pools":[]}`)
	cases := []struct {
		name string
		env  map[string]string
		args []string
		tok  string
	}{
		{"os vars", map[string]string{"OS_URL": f.srv.URL, "OS_TOKEN": "a", "LBAAS_TOKEN": "b"}, nil, "a"},
		{"lbaas vars", map[string]string{"LBAAS_URL": f.srv.URL + "/", "LBAAS_TOKEN": "b"}, nil, "b"},
		{"endpoint noauth", map[string]string{"OS_ENDPOINT": f.srv.URL, "OS_AUTH_TYPE": "none"}, nil, "notused"},
		{"no token", map[string]string{"OS_URL": f.srv.URL + "/v2.0"}, nil, ""},
		{"flags win", map[string]string{"OS_URL": "http://127.0.0.1:1", "OS_TOKEN": "a"}, []string{"--os-url", f.srv.URL, "--os-token", "c"}, "c"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runCLI(t, c.env, append(c.args, "lb-pool-list")...)
			if r.code != 0 {
				t.Fatalf("exit %d stderr %q", r.code, r.stderr)
			}
			if got := f.last(); got.Token != c.tok || got.Path != "/v2.0/lb/pools" {
				t.Fatalf("token %q path %q", got.Token, got.Path)
			}
		})
	}
}

func TestValueSpecsBecomeListFilters(t *testing.T) {
	f := newFakeAPI(t)
	f.on("GET /v2.0/networks?router%3Aexternal=True", 200, `{"networks":[]}`)
	r := f.run(t, "net-list", "--", "--router:external=True")
	if r.code != 0 {
		t.Fatalf("exit %d stderr %q", r.code, r.stderr)
	}
}

func TestUnknownFlagOnShowIsUsageError(t *testing.T) {
	f := newFakeAPI(t)
	r := f.run(t, "lb-pool-show", "p", "--bogus", "x")
	if r.code != ExitUsage || !strings.Contains(r.stderr, "unrecognized arguments: --bogus x") {
		t.Fatalf("exit %d stderr %q", r.code, r.stderr)
	}
}

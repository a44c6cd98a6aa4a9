package cli

import (
	"net"
	"strings"
	"testing"
)

const (
	poolID   = "150c5075-2470-4d09-ac73-9b0819d4f9aa"
	subnetID = "9fa85a68-4f5b-49a5-b709-cf18185d9706"
	hmID     = "61e37c4d-8181-471b-997d-c42f60bad270"
	memberID = "7b62b12b-6a0e-4540-ba1d-2b1602b1c04a"
)

func TestPoolCreateResolvesSubnetNameAndSendsPoolEnvelope(t *testing.T) {
	f := newFakeAPI(t)
	f.on("GET /v2.0/subnets?name=poolsubnet&fields=id", 200, `{"subnets":[{"id":"`+subnetID+`"}]}`)
	f.on("POST /v2.0/lb/pools", 201, `{"pool":{"id":"`+poolID+`","name":"mypool"}}`)
	r := f.run(t, "lb-pool-create", "--lb-method", "ROUND_ROBIN", "--name", "mypool", "--protocol", "HTTP", "--subnet-id", "poolsubnet")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	wantRequests(t, f, "GET /v2.0/subnets?name=poolsubnet&fields=id", "POST /v2.0/lb/pools")
	last := f.last()
	if last.Token != "secret" {
		t.Errorf("X-Auth-Token = %q", last.Token)
	}
	wantJSON(t, last.Body, `{"pool":{"admin_state_up":true,"subnet_id":"`+subnetID+`","lb_method":"ROUND_ROBIN","name":"mypool","protocol":"HTTP"}}`)
	want := "Created a new pool:\n" +
		"+-------+--------------------------------------+\n" +
		"| Field | Value                                |\n" +
		"+-------+--------------------------------------+\n" +
		"| id    | " + poolID + " |\n" +
		"| name  | mypool                               |\n" +
		"+-------+--------------------------------------+\n"
	if r.stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
}

func TestMemberCreateSendsIntegersAndResolvedPool(t *testing.T) {
	f := newFakeAPI(t)
	f.on("GET /v2.0/lb/pools?name=mypool&fields=id", 200, `{"pools":[{"id":"`+poolID+`"}]}`)
	f.on("POST /v2.0/lb/members", 201, `{"member":{"id":"`+memberID+`"}}`)
	r := f.run(t, "lb-member-create", "--address", "10.1.1.2", "--protocol-port", "80", "--weight", "3", "mypool", "-f", "value", "-c", "id")
	if r.code != 0 || r.stdout != memberID+"\n" {
		t.Fatalf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	wantJSON(t, f.last().Body, `{"member":{"pool_id":"`+poolID+`","admin_state_up":true,"address":"10.1.1.2","protocol_port":80,"weight":3}}`)
}

func TestVipCreateSendsSessionPersistenceAndConnectionLimit(t *testing.T) {
	f := newFakeAPI(t)
	f.on("GET /v2.0/lb/pools?name=mypool&fields=id", 200, `{"pools":[{"id":"`+poolID+`"}]}`)
	f.on("GET /v2.0/subnets?name=vipsubnet&fields=id", 200, `{"subnets":[{"id":"`+subnetID+`"}]}`)
	f.on("POST /v2.0/lb/vips", 201, `{"vip":{"id":"v1"}}`)
	r := f.run(t, "lb-vip-create", "--name", "myvip", "--protocol-port", "80", "--protocol", "HTTP", "--subnet-id", "vipsubnet",
		"--connection-limit", "100", "--address", "20.1.1.9", "--session-persistence", "type=SOURCE_IP", "--admin-state-down", "mypool")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	wantJSON(t, f.last().Body, `{"vip":{"pool_id":"`+poolID+`","admin_state_up":false,"subnet_id":"`+subnetID+`","name":"myvip",
		"protocol_port":80,"protocol":"HTTP","connection_limit":100,"address":"20.1.1.9","session_persistence":{"type":"SOURCE_IP"}}}`)
}

func TestHealthMonitorCreateSendsHTTPOptions(t *testing.T) {
	f := newFakeAPI(t)
	f.on("POST /v2.0/lb/health_monitors", 201, `{"health_monitor":{"id":"`+hmID+`"}}`)
	r := f.run(t, "lb-healthmonitor-create", "--delay", "20", "--timeout", "10", "--max-retries", "3", "--type", "HTTP",
		"--http-method", "HEAD", "--url-path", "/health", "--expected-codes", "200-204")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	wantJSON(t, f.last().Body, `{"health_monitor":{"admin_state_up":true,"delay":20,"timeout":10,"max_retries":3,"type":"HTTP",
		"http_method":"HEAD","url_path":"/health","expected_codes":"200-204"}}`)
}

func TestNetCreateValueSpecRouterExternalBecomesBool(t *testing.T) {
	f := newFakeAPI(t)
	f.on("POST /v2.0/networks", 201, `{"network":{"id":"n1"}}`)
	r := f.run(t, "net-create", "Public", "--", "--router:external=True")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	wantJSON(t, f.last().Body, `{"network":{"admin_state_up":true,"name":"Public","router:external":true}}`)
}

func TestSubnetCreateSendsGatewayAndAllocationPools(t *testing.T) {
	f := newFakeAPI(t)
	f.on("GET /v2.0/networks?name=vipnet&fields=id", 200, `{"networks":[{"id":"n1"}]}`)
	f.on("POST /v2.0/subnets", 201, `{"subnet":{"id":"s1"}}`)
	r := f.run(t, "subnet-create", "--name", "vipsubnet", "--gateway", "20.1.1.1",
		"--allocation-pool", "start=20.1.1.10,end=20.1.1.20", "--allocation-pool", "start=20.1.1.30,end=20.1.1.40", "vipnet", "20.1.1.0/24")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	wantJSON(t, f.last().Body, `{"subnet":{"network_id":"n1","ip_version":4,"cidr":"20.1.1.0/24","name":"vipsubnet","gateway_ip":"20.1.1.1",
		"allocation_pools":[{"start":"20.1.1.10","end":"20.1.1.20"},{"start":"20.1.1.30","end":"20.1.1.40"}]}}`)
}

func TestUUIDArgumentIsTriedAsIDBeforeName(t *testing.T) {
	f := newFakeAPI(t)
	f.on("GET /v2.0/lb/pools?id="+poolID+"&fields=id", 200, `{"pools":[]}`)
	f.on("GET /v2.0/lb/pools?name="+poolID+"&fields=id", 200, `{"pools":[{"id":"`+poolID+`"}]}`)
	f.on("GET /v2.0/lb/pools/"+poolID, 200, `{"pool":{"id":"`+poolID+`"}}`)
	r := f.run(t, "lb-pool-show", poolID, "-f", "value", "-c", "id")
	if r.code != 0 || r.stdout != poolID+"\n" {
		t.Fatalf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	wantRequests(t, f, "GET /v2.0/lb/pools?id="+poolID+"&fields=id", "GET /v2.0/lb/pools?name="+poolID+"&fields=id", "GET /v2.0/lb/pools/"+poolID)
}

func TestNameWithNoMatchFailsBeforeAnyWrite(t *testing.T) {
	f := newFakeAPI(t)
	f.on("GET /v2.0/lb/pools?name=nosuchpool&fields=id", 200, `{"pools":[]}`)
	r := f.run(t, "lb-member-create", "--address", "10.1.1.2", "--protocol-port", "80", "nosuchpool")
	if r.code != 1 || r.stderr != "Unable to find pool with name or id 'nosuchpool'\n" || r.stdout != "" {
		t.Fatalf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	wantRequests(t, f, "GET /v2.0/lb/pools?name=nosuchpool&fields=id")
}

func TestNameWithTwoMatchesAsksForAnID(t *testing.T) {
	f := newFakeAPI(t)
	f.on("GET /v2.0/lb/pools?name=errpool&fields=id", 200, `{"pools":[{"id":"a"},{"id":"b"}]}`)
	r := f.run(t, "lb-pool-show", "errpool")
	if r.code != 1 || r.stderr != "Multiple pool matches found for name 'errpool', use an ID to be more specific.\n" {
		t.Fatalf("exit %d stderr %q", r.code, r.stderr)
	}
}

func TestServerNeutronErrorIsPrintedWithRequestID(t *testing.T) {
	f := newFakeAPI(t)
	f.routes["GET /v2.0/lb/members/"+memberID] = fakeReply{status: 404,
		body:   `{"NeutronError":{"type":"MemberNotFound","message":"Member ` + memberID + ` could not be found","detail":""}}`,
		header: map[string]string{"X-Openstack-Request-Id": "req-1"}}
	r := f.run(t, "lb-member-show", memberID)
	want := "Member " + memberID + " could not be found\nNeutron server returns request_ids: ['req-1']\n"
	if r.code != 1 || r.stderr != want || r.stdout != "" {
		t.Fatalf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	// allow_names=False: no lookup, straight to the object.
	wantRequests(t, f, "GET /v2.0/lb/members/"+memberID)
}

func TestNeutronErrorDetailIsPrintedOnItsOwnLine(t *testing.T) {
	f := newFakeAPI(t)
	f.on("GET /v2.0/lb/pools?name=p&fields=id", 200, `{"pools":[{"id":"`+poolID+`"}]}`)
	f.on("DELETE /v2.0/lb/pools/"+poolID, 409, `{"NeutronError":{"type":"PoolInUse","message":"Pool `+poolID+` is still in use","detail":"vip v1"}}`)
	r := f.run(t, "lb-pool-delete", "p")
	if r.code != 1 || r.stderr != "Pool "+poolID+" is still in use\nvip v1\n" {
		t.Fatalf("exit %d stderr %q", r.code, r.stderr)
	}
}

func TestNonNeutronErrorBodyIsShownWithStatus(t *testing.T) {
	f := newFakeAPI(t)
	f.on("GET /v2.0/lb/pools", 500, `oops`)
	r := f.run(t, "lb-pool-list")
	if r.code != 1 || r.stderr != "500-oops\n" {
		t.Fatalf("exit %d stderr %q", r.code, r.stderr)
	}
}

func TestConnectionRefusedIsOneLineAndExitsOne(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there any more
	r := runCLI(t, map[string]string{"LBAAS_URL": "http://" + addr}, "lb-pool-list")
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if r.code != 1 || len(lines) != 1 || !strings.HasPrefix(lines[0], "Unable to establish connection to http://"+addr+"/v2.0/lb/pools: ") {
		t.Fatalf("exit %d stderr %q", r.code, r.stderr)
	}
}

func TestMissingRequiredFlagIsUsageErrorWithoutRequests(t *testing.T) {
	f := newFakeAPI(t)
	r := f.run(t, "lb-pool-create", "--name", "p", "--protocol", "HTTP")
	if r.code != ExitUsage || !strings.Contains(r.stderr, "the following arguments are required: --lb-method, --subnet-id") {
		t.Fatalf("exit %d stderr %q", r.code, r.stderr)
	}
	if len(f.requests()) != 0 {
		t.Fatalf("sent %v", f.requests())
	}
}

func TestInvalidChoiceIsRejectedClientSide(t *testing.T) {
	f := newFakeAPI(t)
	r := f.run(t, "lb-healthmonitor-create", "--delay", "1", "--timeout", "1", "--max-retries", "1", "--type", "UDP")
	if r.code != ExitUsage || !strings.Contains(r.stderr, "argument --type: invalid choice: 'UDP'") {
		t.Fatalf("exit %d stderr %q", r.code, r.stderr)
	}
}

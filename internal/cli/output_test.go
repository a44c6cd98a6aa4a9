package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const memberList = `{"members":[
 {"id":"da7cf126-441b-462d-8a04-a066b4e5c5d7","address":"10.1.1.2","protocol_port":80,"weight":1,"admin_state_up":true,"status":"ACTIVE","pool_id":"p"},
 {"id":"7b62b12b-6a0e-4540-ba1d-2b1602b1c04a","address":"10.1.1.3","protocol_port":80,"weight":1,"admin_state_up":true,"status":"ACTIVE","pool_id":"p"}]}`

func TestMemberListTableMatchesNeutronRecording(t *testing.T) {
	f := newFakeAPI(t)
	f.on("GET /v2.0/lb/members", 200, memberList)
	r := f.run(t, "lb-member-list")
	// Copied from recordings/seed-neutron-v1.cli.txt step 17: numbers are
	// right-aligned, the extra pool_id key is not a default column.
	want := `+--------------------------------------+----------+---------------+--------+----------------+--------+
| id                                   | address  | protocol_port | weight | admin_state_up | status |
+--------------------------------------+----------+---------------+--------+----------------+--------+
| da7cf126-441b-462d-8a04-a066b4e5c5d7 | 10.1.1.2 |            80 |      1 | True           | ACTIVE |
| 7b62b12b-6a0e-4540-ba1d-2b1602b1c04a | 10.1.1.3 |            80 |      1 | True           | ACTIVE |
+--------------------------------------+----------+---------------+--------+----------------+--------+
`
	if r.code != 0 || r.stdout != want {
		t.Fatalf("exit %d stderr %q stdout:\n%s", r.code, r.stderr, r.stdout)
	}
}

func TestListJSONKeepsColumnOrderAndValueModeJoinsRows(t *testing.T) {
	f := newFakeAPI(t)
	f.on("GET /v2.0/lb/members", 200, memberList)
	r := f.run(t, "lb-member-list", "-f", "json", "-c", "weight", "-c", "id")
	want := `[
  {
    "weight": 1,
    "id": "da7cf126-441b-462d-8a04-a066b4e5c5d7"
  },
  {
    "weight": 1,
    "id": "7b62b12b-6a0e-4540-ba1d-2b1602b1c04a"
  }
]
`
	if r.stdout != want {
		t.Fatalf("json:\n%s", r.stdout)
	}
	r = f.run(t, "lb-member-list", "-f", "value", "-c", "id", "-c", "address")
	if r.stdout != "da7cf126-441b-462d-8a04-a066b4e5c5d7 10.1.1.2\n7b62b12b-6a0e-4540-ba1d-2b1602b1c04a 10.1.1.3\n" {
		t.Fatalf("value: %q", r.stdout)
	}
}

func TestEmptyListPrintsNothingInTableAndEmptyArrayInJSON(t *testing.T) {
	f := newFakeAPI(t)
	f.on("GET /v2.0/lb/pools", 200, `{"pools":[]}`)
	if r := f.run(t, "lb-pool-list"); r.code != 0 || r.stdout != "" {
		t.Fatalf("table: %d %q", r.code, r.stdout)
	}
	if r := f.run(t, "lb-pool-list", "-f", "json"); r.stdout != "[]\n" {
		t.Fatalf("json: %q", r.stdout)
	}
}

func TestPoolListShowsNAForMissingProvider(t *testing.T) {
	f := newFakeAPI(t)
	f.on("GET /v2.0/lb/pools", 200, `{"pools":[{"id":"p1","name":"a","provider":null,"lb_method":"ROUND_ROBIN","protocol":"HTTP","admin_state_up":true,"status":"ACTIVE"}]}`)
	r := f.run(t, "lb-pool-list", "-f", "value", "-c", "provider")
	if r.stdout != "\n" { // formatters apply to tables only, like neutron
		t.Fatalf("value: %q", r.stdout)
	}
	r = f.run(t, "lb-pool-list")
	if !strings.Contains(r.stdout, "| p1 | a    | N/A      |") {
		t.Fatalf("table:\n%s", r.stdout)
	}
}

func TestShowTableJoinsListsAndDumpsDictsInServerOrder(t *testing.T) {
	f := newFakeAPI(t)
	f.on("GET /v2.0/lb/pools?name=mypool&fields=id", 200, `{"pools":[{"id":"`+poolID+`"}]}`)
	f.on("GET /v2.0/lb/pools/"+poolID, 200, `{"pool":{"vip_id":null,"members":["m1","m2"],"id":"`+poolID+`",
		"health_monitors_status":[{"monitor_id":"h","status":"ACTIVE","status_description":null}],"admin_state_up":true}}`)
	r := f.run(t, "lb-pool-show", "mypool")
	want := `+------------------------+---------------------------------------------------------------------+
| Field                  | Value                                                               |
+------------------------+---------------------------------------------------------------------+
| admin_state_up         | True                                                                |
| health_monitors_status | {"monitor_id": "h", "status": "ACTIVE", "status_description": null} |
| id                     | 150c5075-2470-4d09-ac73-9b0819d4f9aa                                |
| members                | m1                                                                  |
|                        | m2                                                                  |
| vip_id                 |                                                                     |
+------------------------+---------------------------------------------------------------------+
`
	if r.code != 0 || r.stdout != want {
		t.Fatalf("exit %d stderr %q stdout:\n%s", r.code, r.stderr, r.stdout)
	}
}

func TestShowJSONIsSortedIndentedObjectWithRawValues(t *testing.T) {
	f := newFakeAPI(t)
	f.on("GET /v2.0/lb/members/"+memberID, 200, `{"member":{"weight":5,"id":"`+memberID+`","status_description":null,"admin_state_up":true}}`)
	r := f.run(t, "lb-member-show", memberID, "-f", "json")
	want := `{
  "admin_state_up": true,
  "id": "` + memberID + `",
  "status_description": null,
  "weight": 5
}
`
	if r.stdout != want {
		t.Fatalf("json:\n%s", r.stdout)
	}
	r = f.run(t, "lb-member-show", memberID, "-f", "value", "-c", "weight", "-c", "status_description")
	if r.stdout != "None\n5\n" { // cliff keeps field order, Python prints None
		t.Fatalf("value: %q", r.stdout)
	}
	r = f.run(t, "lb-member-show", memberID, "-c", "nosuch")
	if r.code != 1 || !strings.Contains(r.stderr, "No recognized column names in ['nosuch']") {
		t.Fatalf("unknown column: %d %q", r.code, r.stderr)
	}
}

func TestNetListShowsSubnetIDAndCIDR(t *testing.T) {
	f := newFakeAPI(t)
	f.on("GET /v2.0/networks", 200, `{"networks":[{"id":"n1","name":"Public","subnets":["s1"]}]}`)
	f.on("GET /v2.0/subnets?fields=id&fields=cidr&id=s1", 200, `{"subnets":[{"id":"s1","cidr":"172.24.4.0/24"}]}`)
	r := f.run(t, "net-list")
	if r.code != 0 || !strings.Contains(r.stdout, "| n1 | Public | s1 172.24.4.0/24 |") {
		t.Fatalf("exit %d stderr %q stdout:\n%s", r.code, r.stderr, r.stdout)
	}
}

func TestListFollowsNextLinks(t *testing.T) {
	f := newFakeAPI(t)
	f.on("GET /v2.0/lb/vips", 200, `{"vips":[{"id":"v1"}],"vips_links":[{"rel":"next","href":"`+f.srv.URL+`/v2.0/lb/vips?marker=v1"}]}`)
	f.on("GET /v2.0/lb/vips?marker=v1", 200, `{"vips":[{"id":"v2"}]}`)
	r := f.run(t, "lb-vip-list", "-f", "value", "-c", "id")
	if r.stdout != "v1\nv2\n" {
		t.Fatalf("got %q (stderr %q)", r.stdout, r.stderr)
	}
}

// Our server's links are relative (the path and query), as a client
// resolves them against the list's URL.
func TestListFollowsRelativeNextLinks(t *testing.T) {
	f := newFakeAPI(t)
	f.on("GET /v2.0/lb/vips", 200, `{"vips":[{"id":"v1"}],"vips_links":[{"rel":"next","href":"/v2.0/lb/vips?marker=v1"}]}`)
	f.on("GET /v2.0/lb/vips?marker=v1", 200, `{"vips":[{"id":"v2"}]}`)
	r := f.run(t, "lb-vip-list", "-f", "value", "-c", "id")
	if r.stdout != "v1\nv2\n" {
		t.Fatalf("got %q (stderr %q)", r.stdout, r.stderr)
	}
}

// event-list --limit N shows the newest N and does not page further.
func TestEventListLimitShowsTheFirstPageOnly(t *testing.T) {
	f := newFakeAPI(t)
	f.on("GET /v2.0/lbaas-events?limit=1", 200, `{"events":[{"id":"e2","type":"repair"}],"events_links":[{"rel":"next","href":"/v2.0/lbaas-events?limit=1&marker=e2"}]}`)
	r := f.run(t, "event-list", "--limit", "1", "-f", "value", "-c", "id")
	if r.stdout != "e2\n" {
		t.Fatalf("got %q (stderr %q)", r.stdout, r.stderr)
	}
}

func TestCertCreateReadsPEMFilesIntoCertificateEnvelope(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	f := newFakeAPI(t)
	f.on("POST /v2.0/lbaas-certificates", 201, `{"certificate":{"id":"c1","name":"web","fingerprint_sha256":"ab"}}`)
	r := f.run(t, "cert-create", "--name", "web", "--cert-file", write("c.pem", "CERT"), "--key-file", write("k.pem", "KEY"))
	if r.code != 0 || !strings.HasPrefix(r.stdout, "Created a new certificate:\n") {
		t.Fatalf("exit %d stderr %q stdout %q", r.code, r.stderr, r.stdout)
	}
	wantJSON(t, f.last().Body, `{"certificate":{"name":"web","certificate":"CERT","private_key":"KEY"}}`)
	r = f.run(t, "cert-create", "--name", "web", "--cert-file", filepath.Join(dir, "missing.pem"), "--key-file", filepath.Join(dir, "k.pem"))
	if r.code != 1 || !strings.Contains(r.stderr, "missing.pem") {
		t.Fatalf("missing file: exit %d stderr %q", r.code, r.stderr)
	}
}

func TestServiceInstanceShowByNameUsesDirectEndpoints(t *testing.T) {
	f := newFakeAPI(t)
	f.on("GET /v2.0/lbaas-service-instances?name=si-1", 200, `{"service_instances":[{"id":"i1","name":"si-1"},{"id":"i2","name":"other"}]}`)
	f.on("GET /v2.0/lbaas-service-instances/i1", 200, `{"service_instance":{"id":"i1","name":"si-1","vms":[{"id":"vm1","node":"n1","ha":"active"}]}}`)
	r := f.run(t, "si-show", "si-1")
	if r.code != 0 || !strings.Contains(r.stdout, `| vms   | {"id": "vm1", "node": "n1", "ha": "active"} |`) {
		t.Fatalf("exit %d stderr %q stdout:\n%s", r.code, r.stderr, r.stdout)
	}
}

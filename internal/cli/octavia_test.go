package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"net/http"
	"net/http/httptest"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"lbaas/internal/api/auth"
	"lbaas/internal/api/neutron"
	"lbaas/internal/api/octavia"
	"lbaas/internal/controller"
	"lbaas/internal/model"
	"lbaas/internal/store"
	"lbaas/internal/store/storetest"
)

// The v2 verbs run against the real Neutron and Octavia API handlers on an
// embedded etcd, with the real controller scheduling load balancers and a
// simulated data plane reporting on the VMs, so that provisioning_status
// really goes PENDING_CREATE → ACTIVE (or ERROR) as --wait expects.

const v2Token = "cli-admin-token-0123456789"

var v2 struct {
	once    sync.Once
	err     error
	env     *storetest.Env
	neutron *httptest.Server
	octavia *httptest.Server
	plane   *dataPlane
	stop    context.CancelFunc
}

// stopV2 is called by TestMain after the tests.
func stopV2() {
	if v2.env == nil {
		return
	}
	v2.stop()
	v2.neutron.Close()
	v2.octavia.Close()
	v2.env.Close()
}

func startV2(t *testing.T) {
	t.Helper()
	v2.once.Do(func() {
		v2.env, v2.err = storetest.Start("lbt-cli")
		if v2.err != nil {
			return
		}
		st := v2.env.Store
		a, err := auth.New([]auth.Entry{{Token: v2Token, Project: "admin", Role: auth.RoleAdmin}})
		if err != nil {
			v2.err = err
			return
		}
		v2.neutron = httptest.NewServer(neutron.New(st, neutron.Config{Auth: a, Logger: storetest.Quiet()}))
		ctx, cancel := context.WithCancel(context.Background())
		v2.stop = cancel
		v2.plane = &dataPlane{st: st, nodes: controller.NewNodes(st, time.Minute)}
		api := octavia.New(st, octavia.Config{Auth: a, Logger: storetest.Quiet()})
		v2.octavia = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			api.ServeHTTP(w, r)
			// A prompt controller: the change is scheduled before the
			// client's first poll, so that no test depends on how soon
			// the background loop runs.
			if r.Method != http.MethodGet && !v2.plane.hold.Load() {
				v2.plane.step(ctx)
			}
		}))
		go v2.plane.run(ctx)
	})
	if v2.err != nil {
		t.Fatal(v2.err)
	}
}

// dataPlane stands in for the agents: it runs the controller and reports
// every VM as serving the current configuration (the first as VRRP
// master), or as failed for the load balancers in fail. While hold is set
// it does nothing, which keeps new objects PENDING.
type dataPlane struct {
	st    *store.Store
	nodes *controller.Nodes
	hold  atomic.Bool
	fail  sync.Map // load balancer id → true
	mu    sync.Mutex
}

func (d *dataPlane) run(ctx context.Context) {
	for i := 0; ctx.Err() == nil; i++ {
		if i%50 == 0 {
			for _, n := range []string{"lbt-cli-c1", "lbt-cli-c2"} {
				_ = d.nodes.Beat(ctx, n, model.NodeInfo{Version: "test", Roles: []string{controller.RoleCompute}})
			}
		}
		if !d.hold.Load() {
			d.step(ctx)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (d *dataPlane) step(ctx context.Context) {
	d.mu.Lock()
	defer d.mu.Unlock()
	_ = controller.New(d.st, storetest.Quiet()).Reconcile(ctx)
	for _, e := range d.st.List(model.KindServiceInstance) {
		si := e.Obj.(*model.ServiceInstance)
		_, failing := d.fail.Load(si.LoadBalancerID)
		for i, vm := range si.VMs {
			in, err := controller.BuildInstance(d.st, si, vm)
			if err != nil {
				continue
			}
			state, ha, msg := model.VMServing, "BACKUP", ""
			if i == 0 {
				ha = "MASTER"
			}
			if failing {
				state, msg = model.VMError, "haproxy -c rejected the configuration"
			}
			if old, ok := d.st.Get(model.KindVMReport, vm.ID); ok {
				if r := old.Obj.(*model.VMReport); r.State == state && r.AppliedHash == in.Hash {
					continue
				}
			}
			r := &model.VMReport{Meta: model.Meta{ID: vm.ID, TenantID: si.TenantID}, Node: vm.Node, SIID: si.ID,
				LoadBalancerID: si.LoadBalancerID, State: state, AppliedHash: in.Hash, HAState: ha, Error: msg, ReportedAt: time.Now().UTC()}
			_, _ = d.st.Commit(ctx, new(store.Txn).Put(model.KindVMReport, r))
		}
	}
}

// v2run runs the CLI against the two endpoints as the workflow script
// configures the openstack CLI (OS_ENDPOINT + the override).
func v2run(t *testing.T, args ...string) runResult {
	t.Helper()
	startV2(t)
	root := newRoot(Options{PollInterval: 50 * time.Millisecond, Getenv: func(k string) string {
		return map[string]string{"OS_ENDPOINT": v2.neutron.URL, "OS_TOKEN": v2Token,
			"OS_LOAD_BALANCER_ENDPOINT_OVERRIDE": v2.octavia.URL}[k]
	}})
	return execute(root, args)
}

func v2ok(t *testing.T, args ...string) runResult {
	t.Helper()
	r := v2run(t, args...)
	if r.code != 0 {
		t.Fatalf("lbaas %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// tableField reads a `| key | value |` row the way the workflow script's
// field function does.
func tableField(out, key string) string {
	for _, line := range strings.Split(out, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) >= 3 && strings.TrimSpace(cells[1]) == key {
			return strings.TrimSpace(cells[2])
		}
	}
	return ""
}

// v2net creates a network with one subnet through the openstack-style
// verbs and returns the subnet's name.
func v2net(t *testing.T, name, cidr string) string {
	t.Helper()
	v2ok(t, "network", "create", name)
	r := v2ok(t, "subnet", "create", "--network", name, "--subnet-range", cidr, name+"-sub")
	if tableField(r.stdout, "cidr") != cidr {
		t.Fatalf("subnet create printed:\n%s", r.stdout)
	}
	return name + "-sub"
}

func TestV2VerbsBuildAndTearDownALoadBalancerTreeWithWait(t *testing.T) {
	vipSub := v2net(t, "wf-vip", "20.41.1.0/24")
	poolSub := v2net(t, "wf-pool", "10.41.1.0/24")

	r := v2ok(t, "loadbalancer", "create", "--name", "wf-lb", "--vip-subnet-id", vipSub, "--description", "d1", "--wait")
	lbID := tableField(r.stdout, "id")
	if tableField(r.stdout, "provisioning_status") != "ACTIVE" || tableField(r.stdout, "vip_address") == "" || tableField(r.stdout, "vip_port_id") == "" {
		t.Fatalf("lb create --wait printed:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, "waiting") {
		t.Fatalf("progress went to stdout:\n%s", r.stdout)
	}

	r = v2ok(t, "loadbalancer", "listener", "create", "--name", "wf-l", "--protocol", "HTTP", "--protocol-port", "80", "wf-lb", "--wait")
	listenerID := tableField(r.stdout, "id")
	if tableField(r.stdout, "loadbalancers") != lbID || tableField(r.stdout, "provisioning_status") != "ACTIVE" {
		t.Fatalf("listener create printed (relations must show as ids):\n%s", r.stdout)
	}
	r = v2ok(t, "loadbalancer", "pool", "create", "--name", "wf-p", "--lb-algorithm", "ROUND_ROBIN", "--listener", "wf-l",
		"--protocol", "HTTP", "--session-persistence", "type=APP_COOKIE,cookie_name=sid", "--wait")
	poolID := tableField(r.stdout, "id")
	if !strings.Contains(tableField(r.stdout, "session_persistence"), `"cookie_name": "sid"`) {
		t.Fatalf("pool create printed:\n%s", r.stdout)
	}
	r = v2ok(t, "loadbalancer", "member", "create", "--subnet-id", poolSub, "--address", "10.41.1.2", "--protocol-port", "80", "wf-p", "--wait")
	m1 := tableField(r.stdout, "id")
	r = v2ok(t, "loadbalancer", "member", "create", "--subnet-id", poolSub, "--address", "10.41.1.3", "--protocol-port", "80",
		"--name", "m2", "--weight", "3", "--backup", "--monitor-port", "8081", "wf-p", "--wait")
	if tableField(r.stdout, "weight") != "3" || tableField(r.stdout, "backup") != "True" || tableField(r.stdout, "monitor_port") != "8081" {
		t.Fatalf("member create printed:\n%s", r.stdout)
	}
	r = v2ok(t, "loadbalancer", "healthmonitor", "create", "--name", "wf-hm", "--delay", "20", "--timeout", "10", "--max-retries", "3",
		"--type", "HTTP", "--url-path", "/health", "--expected-codes", "200-204", "--http-version", "1.1", "--domain-name", "x.test", "wf-p", "--wait")
	hmID := tableField(r.stdout, "id")
	if tableField(r.stdout, "url_path") != "/health" || tableField(r.stdout, "http_version") != "1.1" {
		t.Fatalf("healthmonitor create printed:\n%s", r.stdout)
	}

	// Reads by name, as the script does.
	if r = v2ok(t, "loadbalancer", "listener", "show", "wf-l"); tableField(r.stdout, "default_pool_id") != poolID {
		t.Fatalf("listener show:\n%s", r.stdout)
	}
	if r = v2ok(t, "loadbalancer", "pool", "show", poolID); tableField(r.stdout, "healthmonitor_id") != hmID {
		t.Fatalf("pool show:\n%s", r.stdout)
	}
	if r = v2ok(t, "loadbalancer", "member", "show", "wf-p", "m2"); tableField(r.stdout, "address") != "10.41.1.3" {
		t.Fatalf("member show by name:\n%s", r.stdout)
	}
	if r = v2ok(t, "loadbalancer", "member", "show", "wf-p", m1); tableField(r.stdout, "address") != "10.41.1.2" {
		t.Fatalf("member show by id:\n%s", r.stdout)
	}
	r = v2ok(t, "loadbalancer", "list")
	if !strings.Contains(r.stdout, "| id ") || !strings.Contains(r.stdout, lbID) || !strings.Contains(r.stdout, "provisioning_status") {
		t.Fatalf("loadbalancer list:\n%s", r.stdout)
	}
	r = v2ok(t, "loadbalancer", "member", "list", "wf-p", "-f", "json")
	var members []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &members); err != nil || len(members) != 2 {
		t.Fatalf("member list -f json: %v\n%s", err, r.stdout)
	}
	r = v2ok(t, "loadbalancer", "listener", "list", "--loadbalancer", "wf-lb", "-f", "value", "-c", "id")
	if strings.TrimSpace(r.stdout) != listenerID {
		t.Fatalf("listener list --loadbalancer: %q", r.stdout)
	}
	if r = v2ok(t, "loadbalancer", "show", "wf-lb", "-f", "json"); !strings.Contains(r.stdout, `"listeners": [`) || !strings.Contains(r.stdout, `"id": "`+listenerID+`"`) {
		t.Fatalf("-f json keeps the server's relation objects:\n%s", r.stdout)
	}
	if r = v2ok(t, "loadbalancer", "stats", "show", "wf-lb"); tableField(r.stdout, "bytes_in") == "" {
		t.Fatalf("stats show:\n%s", r.stdout)
	}
	r = v2ok(t, "loadbalancer", "status", "show", "wf-lb")
	var tree map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &tree); err != nil || !strings.Contains(r.stdout, m1) {
		t.Fatalf("status show must print the tree as JSON with the members: %v\n%s", err, r.stdout)
	}

	// Updates, each waited for.
	v2ok(t, "loadbalancer", "listener", "set", "--connection-limit", "100", "wf-l", "--wait")
	v2ok(t, "loadbalancer", "pool", "set", "--description", "seed pool", "wf-p", "--wait")
	v2ok(t, "loadbalancer", "member", "set", "--weight", "5", "wf-p", "m2", "--wait")
	v2ok(t, "loadbalancer", "healthmonitor", "set", "--delay", "30", "wf-hm", "--wait")
	v2ok(t, "loadbalancer", "set", "--description", "seed lb", "--tag", "a", "wf-lb", "--wait")
	v2ok(t, "loadbalancer", "set", "--tag", "b", "wf-lb")
	v2ok(t, "loadbalancer", "failover", "wf-lb", "--wait")
	if r = v2ok(t, "loadbalancer", "listener", "show", "wf-l", "-f", "value", "-c", "connection_limit"); r.stdout != "100\n" {
		t.Fatalf("connection_limit after set: %q", r.stdout)
	}
	if r = v2ok(t, "loadbalancer", "member", "show", "wf-p", "m2", "-f", "value", "-c", "weight"); r.stdout != "5\n" {
		t.Fatalf("weight after set: %q", r.stdout)
	}
	if r = v2ok(t, "loadbalancer", "show", "wf-lb", "-f", "json", "-c", "tags", "-c", "description"); !strings.Contains(r.stdout, `"a",`) || !strings.Contains(r.stdout, `"b"`) || !strings.Contains(r.stdout, "seed lb") {
		t.Fatalf("--tag adds to the tags on set:\n%s", r.stdout)
	}

	// Batch replace: one member kept, one new, m2 dropped.
	file := t.TempDir() + "/members.json"
	writeFile(t, file, `{"members":[{"address":"10.41.1.2","protocol_port":80},{"address":"10.41.1.9","protocol_port":80,"name":"m9"}]}`)
	v2ok(t, "loadbalancer", "member", "batch-update", "wf-p", "--file", file, "--wait")
	r = v2ok(t, "loadbalancer", "member", "list", "wf-p", "-f", "value", "-c", "address")
	if got := strings.Fields(r.stdout); len(got) != 2 || !strings.Contains(r.stdout, "10.41.1.9") || strings.Contains(r.stdout, "10.41.1.3") {
		t.Fatalf("members after batch-update: %q", r.stdout)
	}

	// Teardown, each delete waited for until 404.
	v2ok(t, "loadbalancer", "healthmonitor", "delete", "wf-hm", "--wait")
	v2ok(t, "loadbalancer", "member", "delete", "wf-p", m1, "--wait")
	v2ok(t, "loadbalancer", "pool", "delete", "wf-p", "--wait")
	v2ok(t, "loadbalancer", "listener", "delete", "wf-l", "--wait")
	v2ok(t, "loadbalancer", "delete", "wf-lb", "--wait")
	if r = v2run(t, "loadbalancer", "show", lbID); r.code != 1 || !strings.Contains(r.stderr, "Unable to find loadbalancer") {
		t.Fatalf("show after delete: exit %d %s", r.code, r.stderr)
	}

	// A second tree goes in one cascading delete; without --cascade the
	// server refuses.
	v2ok(t, "loadbalancer", "create", "--name", "wf-lb2", "--vip-subnet-id", vipSub, "--wait")
	v2ok(t, "loadbalancer", "listener", "create", "--name", "wf-l2", "--protocol", "TCP", "--protocol-port", "443", "wf-lb2", "--wait")
	v2ok(t, "loadbalancer", "pool", "create", "--name", "wf-p2", "--lb-algorithm", "LEAST_CONNECTIONS", "--loadbalancer", "wf-lb2", "--protocol", "TCP", "--wait")
	if r = v2run(t, "loadbalancer", "delete", "wf-lb2"); r.code != 1 || !strings.Contains(r.stderr, "(HTTP 400)") {
		t.Fatalf("delete of an lb with children: exit %d %q", r.code, r.stderr)
	}
	v2ok(t, "loadbalancer", "delete", "--cascade", "wf-lb2", "--wait")
	if r = v2ok(t, "loadbalancer", "pool", "list", "--name", "wf-p2", "-f", "value", "-c", "id"); r.stdout != "" {
		t.Fatalf("pool left after the cascade: %q", r.stdout)
	}
	v2ok(t, "network", "delete", "wf-vip", "wf-pool")
}

func TestV2WaitShowsProgressOnStderrAndFailsOnErrorWithTheReason(t *testing.T) {
	sub := v2net(t, "wait-net", "20.42.1.0/24")
	v2.plane.hold.Store(true)
	done := make(chan runResult, 1)
	go func() {
		done <- v2run(t, "loadbalancer", "create", "--name", "wait-lb", "--vip-subnet-id", sub, "--wait")
	}()
	time.Sleep(400 * time.Millisecond)
	v2.plane.hold.Store(false)
	r := <-done
	if r.code != 0 || !strings.Contains(r.stderr, "waiting for loadbalancer") || !strings.Contains(r.stderr, "PENDING_CREATE") || !strings.Contains(r.stderr, "is ACTIVE after") {
		t.Fatalf("exit %d\nstderr: %s", r.code, r.stderr)
	}
	if tableField(r.stdout, "provisioning_status") != "ACTIVE" {
		t.Fatalf("stdout: %s", r.stdout)
	}
	lbID := tableField(r.stdout, "id")

	// The data plane rejects the next change: --wait fails with the
	// service instance's description of what went wrong.
	v2.plane.fail.Store(lbID, true)
	defer v2.plane.fail.Delete(lbID)
	r = v2run(t, "loadbalancer", "listener", "create", "--name", "wait-l", "--protocol", "HTTP", "--protocol-port", "80", "wait-lb", "--wait")
	if r.code != 1 || !strings.Contains(r.stderr, "did not reach ACTIVE status") || !strings.Contains(r.stderr, "haproxy -c rejected the configuration") {
		t.Fatalf("exit %d\nstderr: %s", r.code, r.stderr)
	}
	v2.plane.fail.Delete(lbID)
	v2ok(t, "loadbalancer", "delete", "--cascade", "wait-lb", "--wait")
}

func TestV2WaitGivesUpAfterWaitTimeout(t *testing.T) {
	sub := v2net(t, "slow-net", "20.43.1.0/24")
	v2.plane.hold.Store(true)
	defer v2.plane.hold.Store(false)
	start := time.Now()
	r := v2run(t, "loadbalancer", "create", "--name", "slow-lb", "--vip-subnet-id", sub, "--wait", "--wait-timeout", "1")
	if r.code != 1 || !strings.Contains(r.stderr, "Gave up after") || !strings.Contains(r.stderr, "still PENDING_CREATE") || time.Since(start) > 10*time.Second {
		t.Fatalf("exit %d after %s\nstderr: %s", r.code, time.Since(start), r.stderr)
	}
	v2ok(t, "loadbalancer", "delete", "slow-lb")
}

func TestV2ErrorsAndUsage(t *testing.T) {
	sub := v2net(t, "err-net", "20.44.1.0/24")
	r := v2run(t, "loadbalancer", "show", "no-such-lb")
	if r.code != 1 || strings.TrimSpace(r.stderr) != "Unable to find loadbalancer with name or id 'no-such-lb'" {
		t.Fatalf("exit %d %q", r.code, r.stderr)
	}
	r = v2run(t, "loadbalancer", "create", "--name", "x", "--vip-subnet-id", "no-such-subnet")
	if r.code != 1 || !strings.Contains(r.stderr, "Unable to find subnet with name or id 'no-such-subnet'") {
		t.Fatalf("exit %d %q", r.code, r.stderr)
	}
	r = v2run(t, "loadbalancer", "pool", "create", "--name", "p", "--lb-algorithm", "ROUND_ROBIN", "--protocol", "HTTP")
	if r.code != 2 || !strings.Contains(r.stderr, "one of the arguments --listener --loadbalancer is required") {
		t.Fatalf("exit %d %q", r.code, r.stderr)
	}
	r = v2run(t, "loadbalancer", "listener", "create", "--protocol", "HTTP", "lb")
	if r.code != 2 || !strings.Contains(r.stderr, "--protocol-port") {
		t.Fatalf("exit %d %q", r.code, r.stderr)
	}
	r = v2run(t, "loadbalancer", "set", "--enable", "--disable", "x")
	if r.code != 2 || !strings.Contains(r.stderr, "not allowed with argument --enable") {
		t.Fatalf("exit %d %q", r.code, r.stderr)
	}
	// A server-side refusal shows Octavia's faultstring and status.
	v2ok(t, "loadbalancer", "create", "--name", "err-lb", "--vip-subnet-id", sub)
	r = v2run(t, "loadbalancer", "listener", "create", "--protocol", "HTTP", "--protocol-port", "70000", "err-lb")
	if r.code != 1 || !strings.Contains(r.stderr, "(HTTP 400)") || !strings.Contains(r.stderr, "protocol_port") {
		t.Fatalf("exit %d %q", r.code, r.stderr)
	}
	v2ok(t, "loadbalancer", "delete", "err-lb")
}

func TestV2QuotaAndProviderLists(t *testing.T) {
	if r := v2ok(t, "loadbalancer", "provider", "list"); !strings.Contains(r.stdout, "| name ") || !strings.Contains(r.stdout, "lbaas") {
		t.Fatalf("provider list:\n%s", r.stdout)
	}
	if r := v2ok(t, "loadbalancer", "quota", "show", "admin"); tableField(r.stdout, "listener") != "-1" {
		t.Fatalf("quota show:\n%s", r.stdout)
	}
	if r := v2ok(t, "loadbalancer", "quota", "set", "quota-cli", "--listener", "7", "--member", "0"); tableField(r.stdout, "listener") != "7" || tableField(r.stdout, "member") != "0" {
		t.Fatalf("quota set:\n%s", r.stdout)
	}
	if r := v2ok(t, "loadbalancer", "quota", "list"); !strings.Contains(r.stdout, "load_balancer") || !strings.Contains(r.stdout, "quota-cli") {
		t.Fatalf("quota list:\n%s", r.stdout)
	}
	if r := v2ok(t, "loadbalancer", "quota", "unset", "quota-cli", "--member"); tableField(r.stdout, "member") != "-1" || tableField(r.stdout, "listener") != "7" {
		t.Fatalf("quota unset:\n%s", r.stdout)
	}
	v2ok(t, "loadbalancer", "quota", "reset", "quota-cli")
	if r := v2ok(t, "loadbalancer", "quota", "show", "quota-cli"); tableField(r.stdout, "listener") != "-1" {
		t.Fatalf("quota show after reset:\n%s", r.stdout)
	}
	if r := v2ok(t, "loadbalancer", "quota", "defaults", "show"); tableField(r.stdout, "pool") != "-1" {
		t.Fatalf("quota defaults show:\n%s", r.stdout)
	}
	if r := v2run(t, "loadbalancer", "quota", "set", "quota-cli"); r.code == 0 || !strings.Contains(r.stderr, "--loadbalancer") {
		t.Fatalf("quota set without a limit: %+v", r)
	}
}

func TestV2FloatingIPVerbsMapAnAddressToTheVIPPort(t *testing.T) {
	startV2(t)
	// An external network to take floating IPs from.
	v2ok(t, "network", "create", "--external", "fip-public")
	v2ok(t, "subnet", "create", "--network", "fip-public", "--subnet-range", "172.31.9.0/24", "fip-public-sub")
	sub := v2net(t, "fip-vip", "20.45.1.0/24")
	r := v2ok(t, "loadbalancer", "create", "--name", "fip-lb", "--vip-subnet-id", sub)
	port, vip := tableField(r.stdout, "vip_port_id"), tableField(r.stdout, "vip_address")
	r = v2ok(t, "floating", "ip", "create", "fip-public")
	fip := tableField(r.stdout, "id")
	v2ok(t, "floating", "ip", "set", "--port", port, fip)
	if r = v2ok(t, "floating", "ip", "show", fip); tableField(r.stdout, "fixed_ip_address") != vip {
		t.Fatalf("floating ip show:\n%s", r.stdout)
	}
	v2ok(t, "floating", "ip", "unset", "--port", fip)
	v2ok(t, "floating", "ip", "delete", fip)
	v2ok(t, "loadbalancer", "delete", "fip-lb", "--wait")
	v2ok(t, "network", "create", "fip-empty")
	if r = v2run(t, "network", "delete", "fip-empty", "no-such-net"); r.code != 1 || !strings.Contains(r.stderr, "1 of 2 networks failed to delete.") {
		t.Fatalf("exit %d %q", r.code, r.stderr)
	}
}

func TestLoadBalancerEndpointDefaultsToTheNeutronHostOnPort9876(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"OS_URL": "http://10.0.0.5:9696"}, "http://10.0.0.5:9876"},
		{map[string]string{"OS_URL": "https://api.example:9696/v2.0/"}, "https://api.example:9876"},
		{map[string]string{"OS_URL": "http://[fd00::1]:9696", "OS_LOAD_BALANCER_ENDPOINT_OVERRIDE": "http://lb:19876/v2.0"}, "http://lb:19876"},
		{map[string]string{}, "http://127.0.0.1:9876"},
	} {
		o := Options{Getenv: func(k string) string { return c.env[k] }}
		fs := newFlagSetWithConnection()
		got := resolveLBConnection(fs, o, resolveConnection(fs, o)).url
		if got != c.want {
			t.Errorf("%v: endpoint %q, want %q", c.env, got, c.want)
		}
	}
}

func newRoot(o Options) *cobra.Command {
	root := &cobra.Command{Use: "lbaas", SilenceErrors: true, SilenceUsage: true}
	RegisterWithOptions(root, o)
	return root
}

func execute(root *cobra.Command, args []string) runResult {
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err := root.Execute()
	return runResult{stdout: out.String(), stderr: errb.String(), code: ExitCode(err), err: err}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func newFlagSetWithConnection() *pflag.FlagSet {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	addConnectionFlags(fs)
	return fs
}

func TestL7PolicyAndRuleVerbsTakeOctaviaClientsFlagsAndWait(t *testing.T) {
	vipSub := v2net(t, "l7-vip", "20.42.1.0/24")
	v2ok(t, "loadbalancer", "create", "--name", "l7-lb", "--vip-subnet-id", vipSub, "--wait")
	v2ok(t, "loadbalancer", "listener", "create", "--name", "l7-l", "--protocol", "HTTP", "--protocol-port", "80", "l7-lb", "--wait")
	v2ok(t, "loadbalancer", "pool", "create", "--name", "l7-api", "--lb-algorithm", "ROUND_ROBIN", "--loadbalancer", "l7-lb", "--protocol", "HTTP", "--wait")

	r := v2ok(t, "loadbalancer", "l7policy", "create", "--name", "to-api", "--action", "REDIRECT_TO_POOL", "--redirect-pool", "l7-api", "l7-l", "--wait")
	if tableField(r.stdout, "action") != "REDIRECT_TO_POOL" || tableField(r.stdout, "position") != "1" || tableField(r.stdout, "provisioning_status") != "ACTIVE" {
		t.Fatalf("l7policy create printed:\n%s", r.stdout)
	}
	r = v2ok(t, "loadbalancer", "l7policy", "create", "--name", "block", "--action", "REJECT", "--position", "1", "l7-l")
	if tableField(r.stdout, "position") != "1" {
		t.Fatalf("l7policy create --position 1 printed:\n%s", r.stdout)
	}
	if r = v2ok(t, "loadbalancer", "l7policy", "show", "to-api", "-f", "value", "-c", "position"); r.stdout != "2\n" {
		t.Fatalf("the first policy after an insert before it: position %q", r.stdout)
	}
	r = v2ok(t, "loadbalancer", "l7rule", "create", "--type", "HEADER", "--key", "X-Env", "--compare-type", "EQUAL_TO", "--value", "it's a test", "--invert", "to-api", "--wait")
	ruleID := tableField(r.stdout, "id")
	if tableField(r.stdout, "invert") != "True" || tableField(r.stdout, "value") != "it's a test" {
		t.Fatalf("l7rule create printed:\n%s", r.stdout)
	}
	if r = v2run(t, "loadbalancer", "l7rule", "create", "--type", "PATH", "--compare-type", "REGEX", "--value", "(unclosed", "to-api"); r.code != 1 || !strings.Contains(r.stderr, "not a valid regular expression") {
		t.Fatalf("a bad regex: exit %d %q", r.code, r.stderr)
	}
	v2ok(t, "loadbalancer", "l7rule", "set", "--no-invert", "--value", "prod", "to-api", ruleID, "--wait")
	if r = v2ok(t, "loadbalancer", "l7rule", "list", "to-api", "-f", "value", "-c", "value", "-c", "invert"); r.stdout != "prod False\n" {
		t.Fatalf("l7rule list after set: %q", r.stdout)
	}
	v2ok(t, "loadbalancer", "l7policy", "set", "--position", "2", "block", "--wait")
	if r = v2ok(t, "loadbalancer", "l7policy", "list", "--listener", "l7-l", "-f", "value", "-c", "name", "-c", "position"); r.stdout != "to-api 1\nblock 2\n" && r.stdout != "block 2\nto-api 1\n" {
		t.Fatalf("l7policy list after a move: %q", r.stdout)
	}
	v2ok(t, "loadbalancer", "l7rule", "delete", "to-api", ruleID, "--wait")
	v2ok(t, "loadbalancer", "l7policy", "delete", "to-api", "--wait")
	if r = v2ok(t, "loadbalancer", "l7policy", "show", "block", "-f", "value", "-c", "position"); r.stdout != "1\n" {
		t.Fatalf("the remaining policy after a delete: position %q", r.stdout)
	}
	v2ok(t, "loadbalancer", "delete", "--cascade", "l7-lb", "--wait")
	if r = v2ok(t, "loadbalancer", "l7policy", "list", "-f", "value", "-c", "name"); strings.Contains(r.stdout, "block") {
		t.Fatalf("a policy outlived the cascade: %q", r.stdout)
	}
	v2ok(t, "network", "delete", "l7-vip")
}

func TestAmphoraVerbsListShowFailOverAndConfigureAnAdminsAmphorae(t *testing.T) {
	vipSub := v2net(t, "amp-vip", "20.43.1.0/24")
	r := v2ok(t, "loadbalancer", "create", "--name", "amp-lb", "--vip-subnet-id", vipSub, "--wait")
	lbID := tableField(r.stdout, "id")
	r = v2ok(t, "loadbalancer", "amphora", "list", "--loadbalancer", "amp-lb", "-f", "value", "-c", "id", "-c", "role")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 || !strings.Contains(r.stdout, "MASTER") || !strings.Contains(r.stdout, "BACKUP") {
		t.Fatalf("amphora list: %q", r.stdout)
	}
	backup := ""
	for _, l := range lines {
		if f := strings.Fields(l); f[1] == "BACKUP" {
			backup = f[0]
		}
	}
	if r = v2ok(t, "loadbalancer", "amphora", "show", backup); tableField(r.stdout, "loadbalancer_id") != lbID || tableField(r.stdout, "role") != "BACKUP" {
		t.Fatalf("amphora show:\n%s", r.stdout)
	}
	v2ok(t, "loadbalancer", "amphora", "stats", "show", backup)
	v2ok(t, "loadbalancer", "amphora", "configure", backup)
	v2ok(t, "loadbalancer", "amphora", "failover", backup)
	deadline := time.Now().Add(20 * time.Second)
	for {
		r = v2ok(t, "loadbalancer", "amphora", "list", "--loadbalancer", "amp-lb", "--role", "BACKUP", "-f", "value", "-c", "id")
		if id := strings.TrimSpace(r.stdout); id != "" && id != backup {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the BACKUP amphora was not replaced: %q", r.stdout)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r = v2run(t, "loadbalancer", "amphora", "show", backup); r.code != 1 {
		t.Fatalf("the replaced amphora still shows: %d %s", r.code, r.stdout)
	}
	v2ok(t, "loadbalancer", "delete", "amp-lb", "--wait")
	v2ok(t, "network", "delete", "amp-vip")
}

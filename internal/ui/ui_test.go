package ui

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"lbaas/internal/api/auth"
	"lbaas/internal/model"
	"lbaas/internal/store"
	"lbaas/internal/store/storetest"
)

var env struct{ st *store.Store }

func TestMain(m *testing.M) {
	os.Exit(storetest.Main(m, "lbt-ui", func(x *storetest.Env) { env.st = x.Store }))
}

const (
	adminToken = "a0000000000000000000000000000000000000000000000000000000000000a0"
	aliceToken = "b0000000000000000000000000000000000000000000000000000000000000b0" // member of project-a
	bobToken   = "c0000000000000000000000000000000000000000000000000000000000000c0" // member of project-b
)

// dashboard serves the UI over the real store with three tokens, and a
// load balancer in project-a with its pair and one member down.
func dashboard(t *testing.T) *httptest.Server {
	t.Helper()
	storetest.Reset(t, env.st)
	a, err := auth.New([]auth.Entry{{Token: adminToken, Project: "admin", Role: auth.RoleAdmin},
		{Token: aliceToken, Project: "project-a", Role: auth.RoleMember}, {Token: bobToken, Project: "project-b", Role: auth.RoleMember}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	meta := func(id string) model.Meta {
		return model.Meta{ID: id, TenantID: "project-a", CreatedAt: now, UpdatedAt: now}
	}
	si := &model.ServiceInstance{Meta: meta("lb1"), LoadBalancerID: "lb1", VMs: []model.SIVM{{ID: "vm-a", Node: "compute-1", Role: "active"}, {ID: "vm-b", Node: "compute-2", Role: "standby"}}}
	rep := func(id, node, ha string) *model.VMReport {
		return &model.VMReport{Meta: meta(id), Node: node, SIID: "lb1", LoadBalancerID: "lb1", State: model.VMServing, HAState: ha,
			Members: map[string]model.MemberHealth{"m1": {Status: model.StatusInactive, Description: "Layer4 connection problem"}},
			Stats:   model.Stats{Requests: 42}, ReportedAt: now}
	}
	ev := model.NewEvent(now, "project-a", model.EventVRRP, model.SeverityWarning, "VM vm-a on compute-1 took over the VIP")
	ev.LoadBalancerID = "lb1"
	other := model.NewEvent(now, "project-b", model.EventRepair, model.SeverityInfo, "project-b's secret repair")
	txn := new(store.Txn).Put(model.KindLoadBalancer, &model.LoadBalancer{Meta: meta("lb1"), Name: "<b>web</b>", AdminStateUp: true, VIPAddress: "20.1.1.5"}).
		Put(model.KindHealthMonitor, &model.HealthMonitor{Meta: meta("hm1"), Type: "TCP", Delay: 1, Timeout: 1, MaxRetries: 1, Rise: 1, Fall: 1, AdminStateUp: true}).
		Put(model.KindPool, &model.Pool{Meta: meta("p1"), LoadBalancerID: "lb1", AdminStateUp: true, Protocol: "HTTP", LBMethod: "ROUND_ROBIN", HealthMonitors: []string{"hm1"}}).
		Put(model.KindMember, &model.Member{Meta: meta("m1"), PoolID: "p1", Address: "10.1.1.2", ProtocolPort: 80, Weight: 1, AdminStateUp: true}).
		Put(model.KindServiceInstance, si).Put(model.KindVMReport, rep("vm-a", "compute-1", "MASTER")).Put(model.KindVMReport, rep("vm-b", "compute-2", "BACKUP")).
		Put(model.KindEvent, ev).Put(model.KindEvent, other)
	rev, err := env.st.Commit(storetest.Ctx(t), txn)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.st.WaitRev(storetest.Ctx(t), rev); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(Handler(Config{Store: env.st, Auth: a, Every: 100 * time.Millisecond,
		Traffic: func() map[string]model.Stats { return map[string]model.Stats{"lb1": {Requests: 42}} }}))
	t.Cleanup(srv.Close)
	return srv
}

// client logs in with token and returns a client holding the cookie.
func client(t *testing.T, srv *httptest.Server, token string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 5 * time.Second}
	resp, err := c.Post(srv.URL+"/ui/api/login", "application/json", strings.NewReader(`{"token":"`+token+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %s", resp.Status)
	}
	var cookie *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == cookieName {
			cookie = ck
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict", cookie)
	}
	return c
}

func view(t *testing.T, c *http.Client, url string) (View, int) {
	t.Helper()
	resp, err := c.Get(url + "/ui/api/view")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v View
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
			t.Fatal(err)
		}
	}
	return v, resp.StatusCode
}

// TestEachUserSeesOnlyTheirProjectsLoadBalancersAndEvents: the member of
// project-a sees its load balancer with both VMs on their nodes, the
// member down with the monitor's reason and its event; the member of
// project-b sees neither, and no one sees the nodes but the admin.
func TestEachUserSeesOnlyTheirProjectsLoadBalancersAndEvents(t *testing.T) {
	srv := dashboard(t)
	alice, _ := view(t, client(t, srv, aliceToken), srv.URL)
	if len(alice.LoadBalancers) != 1 {
		t.Fatalf("alice sees %d load balancers", len(alice.LoadBalancers))
	}
	lb := alice.LoadBalancers[0]
	if len(lb.VMs) != 2 || lb.VMs[0].Node != "compute-1" || lb.VMs[0].HAState != "MASTER" || lb.VMs[1].HAState != "BACKUP" {
		t.Errorf("pair %+v", lb.VMs)
	}
	if m := lb.Pools[0].Members[0]; m.Operating != "ERROR" || !strings.Contains(m.Description, "Layer4") {
		t.Errorf("member %+v: want ERROR with the monitor's reason", m)
	}
	if lb.Traffic.Requests != 42 {
		t.Errorf("traffic %+v", lb.Traffic)
	}
	if len(alice.Events) != 1 || alice.Events[0].Type != model.EventVRRP || len(alice.Nodes) != 0 {
		t.Errorf("alice's events %+v, nodes %+v", alice.Events, alice.Nodes)
	}
	bob, _ := view(t, client(t, srv, bobToken), srv.URL)
	if len(bob.LoadBalancers) != 0 || len(bob.Events) != 1 || bob.Events[0].Message != "project-b's secret repair" {
		t.Errorf("bob sees %+v and events %+v", bob.LoadBalancers, bob.Events)
	}
	admin, _ := view(t, client(t, srv, adminToken), srv.URL)
	if len(admin.LoadBalancers) != 1 || len(admin.Events) != 2 {
		t.Errorf("admin sees %d load balancers, %d events", len(admin.LoadBalancers), len(admin.Events))
	}
}

func TestWithoutAValidSessionTheDataIsRefused(t *testing.T) {
	srv := dashboard(t)
	if _, code := view(t, &http.Client{Timeout: 5 * time.Second}, srv.URL); code != http.StatusUnauthorized {
		t.Errorf("no cookie: %d", code)
	}
	resp, err := http.Post(srv.URL+"/ui/api/login", "application/json", strings.NewReader(`{"token":"not-a-token"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
		t.Errorf("bad token: %s, cookies %v", resp.Status, resp.Cookies())
	}
	resp, err = http.Get(srv.URL + "/ui/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("page: %s, CSP %q", resp.Status, resp.Header.Get("Content-Security-Policy"))
	}
}

// TestTheStreamSendsAViewAndANewOneAfterAChange: the first event comes
// at once, and a change in the store (a VM taking the VIP) reaches the
// stream well within the period.
func TestTheStreamSendsAViewAndANewOneAfterAChange(t *testing.T) {
	srv := dashboard(t)
	c := client(t, srv, aliceToken)
	c.Timeout = 0
	resp, err := c.Get(srv.URL + "/ui/api/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	views := make(chan View, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var v View
				if json.Unmarshal([]byte(data), &v) == nil {
					views <- v
				}
			}
		}
		close(views)
	}()
	first := <-views
	if len(first.LoadBalancers) != 1 || first.LoadBalancers[0].VMs[1].HAState != "BACKUP" {
		t.Fatalf("first view %+v", first.LoadBalancers)
	}
	e, _ := env.st.Get(model.KindVMReport, "vm-b")
	r := *e.Obj.(*model.VMReport)
	r.HAState = "MASTER"
	if _, err := env.st.Commit(storetest.Ctx(t), new(store.Txn).Put(model.KindVMReport, &r)); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(5 * time.Second)
	for {
		select {
		case v, ok := <-views:
			if !ok {
				t.Fatal("stream ended")
			}
			if v.LoadBalancers[0].VMs[1].HAState == "MASTER" {
				return
			}
		case <-deadline:
			t.Fatal("the change did not reach the stream within 5s")
		}
	}
}

package etcdfaults

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestServersStartingTogetherOnANewClusterCreateOnePublicNetwork starts an
// etcd cluster and two servers sharing one data directory at the same
// moment, several times: exactly one Public network (and subnet) must
// exist, and the admin token in admin-openrc must open both servers (the
// tokens file was created once, not twice).
func TestServersStartingTogetherOnANewClusterCreateOnePublicNetwork(t *testing.T) {
	needEtcd(t)
	for round := range 4 {
		t.Run(fmt.Sprintf("round-%d", round), func(t *testing.T) {
			c := newCluster(t, 3)
			shared := t.TempDir()
			servers := []*server{
				startServer(t, c, "server-a", shared, "--auth", "token"),
				startServer(t, c, "server-b", shared, "--auth", "token"),
			}
			for _, s := range servers {
				s.ready(t, "")
			}
			token := adminToken(t, shared)
			for _, s := range servers {
				nets := listWith(t, s, token, "/v2.0/networks?name=Public", "networks")
				subs := listWith(t, s, token, "/v2.0/subnets?name=Public-subnet", "subnets")
				if len(nets) != 1 || len(subs) != 1 {
					t.Fatalf("%s shows %d Public networks and %d Public subnets, want one each", s.proc.name, len(nets), len(subs))
				}
			}
		})
	}
}

// adminToken reads the token the first start wrote to admin-openrc.
func adminToken(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "admin-openrc"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "export OS_TOKEN="); ok {
			return v
		}
	}
	t.Fatalf("no OS_TOKEN in admin-openrc:\n%s", b)
	return ""
}

func listWith(t *testing.T, s *server, token, path, plural string) []any {
	t.Helper()
	code, body, _ := s.call(t, token, "GET", path, nil)
	if code != http.StatusOK {
		t.Fatalf("GET %s on %s with the admin token of admin-openrc: %d %v", path, s.proc.name, code, body)
	}
	return body[plural].([]any)
}

// twoServers is a 3-member cluster with a leader and two servers on it.
func twoServers(t *testing.T) (*cluster, *server, *server) {
	t.Helper()
	c := newCluster(t, 3)
	c.healthy()
	a := startServer(t, c, "server-a", t.TempDir())
	b := startServer(t, c, "server-b", t.TempDir())
	a.ready(t, "")
	b.ready(t, "")
	return c, a, b
}

// network creates a network and a subnet with cidr, and returns the
// subnet's id.
func network(t *testing.T, s *server, name, cidr string) string {
	t.Helper()
	n := s.create(t, "/v2.0/networks", "network", obj{"name": name})
	return s.create(t, "/v2.0/subnets", "subnet", obj{"network_id": n, "cidr": cidr, "ip_version": 4})
}

func pool(t *testing.T, s *server, subnet string) string {
	t.Helper()
	return s.create(t, "/v2.0/lb/pools", "pool", obj{"name": "p", "subnet_id": subnet, "protocol": "HTTP", "lb_method": "ROUND_ROBIN"})
}

func memberBody(pool string, i int) obj {
	return obj{"member": obj{"pool_id": pool, "address": memberAddr(i), "protocol_port": 80}}
}

func memberAddr(i int) string { return fmt.Sprintf("10.50.%d.%d", i/250, i%250+1) }

// TestWritesAroundALeaderKillAnswerInTimeAndLandOnce sends a member create
// every 20 ms, alternately to two servers, while the etcd leader is killed
// and later restarted. Every create must be answered 201, or 503 with
// Retry-After, within the store bound (never 500, never etcd's 7 s); every
// member answered 201 must exist exactly once afterwards, and none twice.
func TestWritesAroundALeaderKillAnswerInTimeAndLandOnce(t *testing.T) {
	c, a, b := twoServers(t)
	p := pool(t, a, network(t, a, "members", "10.50.0.0/16"))
	leader := c.leader()

	const n, every, killAt, restartAt = 300, 20 * time.Millisecond, 75, 200
	answers := make([]answer, n)
	var wg sync.WaitGroup
	for i := range n {
		switch i {
		case killAt:
			leader.proc.kill(t)
		case restartAt:
			c.restart(leader)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = []*server{a, b}[i%2].do("", "POST", "/v2.0/lb/members", memberBody(p, i))
		}()
		time.Sleep(every)
	}
	wg.Wait()
	c.healthy()
	if now := c.leader(); now == leader {
		t.Logf("the restarted member %s leads again", leader.name)
	}

	count := map[string]int{} // members by address
	ids := map[string]bool{}
	for _, m := range b.list(t, "/v2.0/lb/members?pool_id="+p, "members") {
		count[m["address"].(string)]++
		ids[m["id"].(string)] = true
	}
	var created, unavailable int
	var slowest time.Duration
	for i, a := range answers {
		slowest = max(slowest, a.took)
		switch {
		case a.code == http.StatusCreated:
			created++
			id := a.body["member"].(obj)["id"].(string)
			if !ids[id] || count[memberAddr(i)] != 1 {
				t.Errorf("create %d was answered 201 (member %s) but the pool holds %d members at %s (that id: %v)", i, id, count[memberAddr(i)], memberAddr(i), ids[id])
			}
		case a.code == http.StatusServiceUnavailable && a.retryAfter != "":
			unavailable++
			if count[memberAddr(i)] > 1 {
				t.Errorf("create %d was answered 503 and the pool holds %d members at %s", i, count[memberAddr(i)], memberAddr(i))
			}
		default:
			t.Errorf("create %d: %d (Retry-After %q) after %v: %v", i, a.code, a.retryAfter, a.took, a.body)
		}
		if a.took > storeTimeout+slack {
			t.Errorf("create %d took %v, more than the store bound %v (+%v slack)", i, a.took, storeTimeout, slack)
		}
	}
	const resent = "a write retried after an unknown outcome had been applied by its first try"
	t.Logf("%d creates around a leader kill: %d answered 201, %d answered 503 with Retry-After, slowest %v; %d found applied by a lost first try",
		n, created, unavailable, slowest.Round(time.Millisecond), a.proc.count(resent)+b.proc.count(resent))
	if created < n/2 {
		t.Errorf("only %d of %d creates succeeded: the cluster kept its quorum, most should", created, n)
	}
}

// TestAnObjectCreatedThroughOneServerIsFoundAtOnceThroughTheOther creates a
// member through server A and reads it through server B right after the
// 201, 200 times: B must never answer 404 (its watch may be behind; the
// read falls back to etcd).
func TestAnObjectCreatedThroughOneServerIsFoundAtOnceThroughTheOther(t *testing.T) {
	_, a, b := twoServers(t)
	p := pool(t, a, network(t, a, "members", "10.50.0.0/16"))
	misses := 0
	for i := range 200 {
		id := a.must(t, http.StatusCreated, "POST", "/v2.0/lb/members", memberBody(p, i))["member"].(obj)["id"].(string)
		if code, body, _ := b.call(t, "", "GET", "/v2.0/lb/members/"+id, nil); code != http.StatusOK {
			misses++
			t.Errorf("member %s created through A: GET through B answered %d %v", id, code, body)
		}
	}
	t.Logf("200 creates through A read at once through B: %d misses", misses)
}

// lb creates a pool with a VIP and returns the pool's id (the id of its
// service instance).
func lb(t *testing.T, s *server, vipSubnet, poolSubnet string) string {
	t.Helper()
	p := pool(t, s, poolSubnet)
	return s.create(t, "/v2.0/lb/vips", "vip", obj{"name": "v", "subnet_id": vipSubnet, "pool_id": p, "protocol": "HTTP", "protocol_port": 80})
}

// scheduled waits until the load balancer's service instance has two VMs:
// the controller's work, seen through the API.
func scheduled(t *testing.T, s *server, lb string, within time.Duration) {
	t.Helper()
	t0 := time.Now()
	for {
		code, body, _ := s.call(t, "", "GET", "/v2.0/lbaas-service-instances/"+lb, nil)
		if code == http.StatusOK {
			if vms, _ := body["service_instance"].(obj)["vms"].([]any); len(vms) == 2 {
				t.Logf("VIP %s scheduled %v after it was created", lb, time.Since(t0).Round(time.Millisecond))
				return
			}
		}
		if time.Since(t0) > within {
			t.Fatalf("no service instance with two VMs for VIP %s %v after it was created (last answer %d %v)", lb, within, code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTheControllerComesBackAfterQuorumReturns takes the store away from
// the servers for longer than the controller's session lasts — two of
// three members paused, or the only member of a single-member etcd paused
// — and gives it back: a load balancer created afterwards must be
// scheduled, so some server campaigned again and leads.
func TestTheControllerComesBackAfterQuorumReturns(t *testing.T) {
	needEtcd(t)
	for _, tc := range []struct {
		name    string
		members int
		paused  int
	}{
		{"two of three members paused", 3, 2},
		{"the only member paused", 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, tc.members)
			c.healthy()
			var servers []*server
			for i := range min(tc.members, 2) {
				s := startServer(t, c, fmt.Sprintf("server-%c", 'a'+i), t.TempDir())
				s.ready(t, "")
				servers = append(servers, s)
			}
			first, last := servers[0], servers[len(servers)-1]
			heartbeats(t, first, "node-1", "node-2")
			vipSubnet := network(t, first, "vips", "10.60.0.0/24")
			poolSubnet := network(t, first, "pool", "10.61.0.0/24")
			scheduled(t, last, lb(t, first, vipSubnet, poolSubnet), 15*time.Second)

			// Longer than the session's 5 s TTL: the client gives the
			// lease up, and the leader's session ends.
			const pause = 7 * time.Second
			paused := c.members[:tc.paused]
			for _, m := range paused {
				m.proc.signal(t, syscall.SIGSTOP)
			}
			stopped := time.Now()
			time.Sleep(1500 * time.Millisecond) // past an election timeout: no leader
			during := map[string]answer{}
			for _, s := range servers {
				name := "during-pause-" + s.proc.name
				during[name] = s.do("", "POST", "/v2.0/networks", obj{"network": obj{"name": name}})
				// A miss of the cache cannot be confirmed: not a 404.
				if a := s.do("", "GET", "/v2.0/networks/"+uuid.NewString(), nil); a.code != http.StatusServiceUnavailable || a.retryAfter == "" {
					t.Errorf("GET of an unknown network on %s without a store: %d (Retry-After %q) %v, want 503 with Retry-After", s.proc.name, a.code, a.retryAfter, a.body)
				}
			}
			time.Sleep(time.Until(stopped.Add(pause)))
			for _, m := range paused {
				m.proc.signal(t, syscall.SIGCONT)
			}
			c.healthy()
			for name, a := range during {
				if a.code != http.StatusServiceUnavailable || a.retryAfter == "" || a.took > storeTimeout+slack {
					t.Errorf("create of %s without a store: %d (Retry-After %q) after %v, want 503 with Retry-After within %v", name, a.code, a.retryAfter, a.took, storeTimeout+slack)
					continue
				}
				msg, _ := a.body["NeutronError"].(obj)["message"].(string)
				got := len(first.list(t, "/v2.0/networks?name="+name, "networks"))
				if strings.Contains(msg, "nothing was changed") && got != 0 || got > 1 {
					t.Errorf("create of %s answered 503 %q, and %d such networks exist afterwards", name, msg, got)
				}
				t.Logf("create without a store: 503 after %v: %s", a.took.Round(time.Millisecond), msg)
			}
			scheduled(t, first, lb(t, last, vipSubnet, poolSubnet), 20*time.Second)
			// The pause must have ended a session, or this test proved
			// nothing about campaigning again.
			if !slices.ContainsFunc(servers, func(s *server) bool { return s.proc.logged("campaigning again") }) {
				t.Errorf("no server logged a new campaign after a %v pause: the fault did not end the controller's session", pause)
			}
		})
	}
}

// TestKillingTheControllersServerUnderTrafficHandsTheControllerOver runs
// two servers, finds the one whose controller leads, and SIGKILLs it while
// members are created through the other every 20 ms: every create must
// still be answered 201, the survivor must take the controller over once
// the dead one's session lease runs out, and a load balancer created after
// the kill must be scheduled.
func TestKillingTheControllersServerUnderTrafficHandsTheControllerOver(t *testing.T) {
	needEtcd(t)
	_, a, b := twoServers(t)
	var leader, survivor *server
	for deadline := time.Now().Add(15 * time.Second); leader == nil; time.Sleep(50 * time.Millisecond) {
		switch {
		case a.proc.logged("controller is leader"):
			leader, survivor = a, b
		case b.proc.logged("controller is leader"):
			leader, survivor = b, a
		case time.Now().After(deadline):
			t.Fatalf("no controller leads after 15 s:\n%s\n%s", a.proc.tail(), b.proc.tail())
		}
	}
	heartbeats(t, survivor, "node-1", "node-2")
	vipSubnet := network(t, survivor, "vips", "10.62.0.0/24")
	poolSubnet := network(t, survivor, "pool", "10.63.0.0/24")
	p := pool(t, survivor, network(t, survivor, "members", "10.50.0.0/16"))

	const n, every, killAt = 300, 20 * time.Millisecond, 50
	answers := make([]answer, n)
	var wg sync.WaitGroup
	var killed time.Time
	for i := range n {
		if i == killAt {
			leader.proc.kill(t)
			killed = time.Now()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = survivor.do("", "POST", "/v2.0/lb/members", memberBody(p, i))
		}()
		time.Sleep(every)
	}
	wg.Wait()
	for i, a := range answers {
		if a.code != http.StatusCreated {
			t.Errorf("create %d through the surviving server: %d %v", i, a.code, a.body)
		}
	}
	scheduled(t, survivor, lb(t, survivor, vipSubnet, poolSubnet), 20*time.Second)
	if !survivor.proc.logged("controller is leader") {
		t.Errorf("the surviving server never logged leading the controller:\n%s", survivor.proc.tail())
	}
	t.Logf("the controller's server killed %v before the last create; %d creates through the other all answered 201", time.Since(killed).Round(time.Millisecond), n)
}

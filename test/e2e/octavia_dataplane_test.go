package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"lbaas/internal/netns"
	"lbaas/internal/up"
)

// v2 is a client of the cluster's Octavia API.
func (tp *topo) v2() *up.API {
	return &up.API{URL: tp.c.OctaviaURL + "/v2/lbaas", Token: tp.c.AdminToken, HTTP: tp.api.HTTP}
}

// v2Create posts {"<kind>": fields} to the Octavia API and returns the object.
func (tp *topo) v2Create(path, kind string, fields map[string]any) map[string]any {
	tp.t.Helper()
	obj, err := tp.v2().Create(path, kind, fields)
	if err != nil {
		tp.t.Fatal(err)
	}
	return obj
}

// v2List reads a collection of the Octavia API.
func (tp *topo) v2List(path string) []any {
	tp.t.Helper()
	var out map[string]any
	if err := tp.v2().Call("GET", path, nil, &out); err != nil {
		tp.t.Fatal(err)
	}
	for k, v := range out {
		if items, ok := v.([]any); ok && !strings.HasSuffix(k, "_links") {
			return items
		}
	}
	tp.t.Fatalf("GET %s: no list in %v", path, out)
	return nil
}

// waitServed waits until a request to url is answered by a backend.
func (tp *topo) waitServed(url string, limit time.Duration) {
	tp.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		body, err := tp.get(url)
		if err == nil && strings.HasPrefix(body, "backend ") {
			return
		}
		if time.Now().After(deadline) {
			tp.t.Fatalf("%s not served within %v: %q %v", url, limit, body, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// v2WaitActive waits until the load balancer is ACTIVE and ONLINE.
func (tp *topo) v2WaitActive(lbID string, limit time.Duration) map[string]any {
	tp.t.Helper()
	deadline := time.Now().Add(limit)
	var last map[string]any
	for time.Now().Before(deadline) {
		lb, err := tp.v2().Get("/loadbalancers/"+lbID, "loadbalancer")
		if err == nil && lb["provisioning_status"] == "ACTIVE" && lb["operating_status"] == "ONLINE" {
			return lb
		}
		last = lb
		time.Sleep(100 * time.Millisecond)
	}
	tp.t.Fatalf("load balancer %s not ACTIVE and ONLINE within %v: %v", lbID, limit, last)
	return nil
}

// TestTwoListenersOnOneVIPServeHTTPAndTerminatedHTTPS builds, through the
// Octavia API, one load balancer with an HTTP listener on 80 and a
// TERMINATED_HTTPS listener on 443 sharing one pool: one HAProxy per VM
// serves both, through one floating IP. Then a cascade delete leaves no
// namespace, process or file behind.
func TestTwoListenersOnOneVIPServeHTTPAndTerminatedHTTPS(t *testing.T) {
	tp := startTopo(t)
	pki := newTestPKI(t)
	cert := tp.create("/v2.0/lbaas-certificates", "certificate", map[string]any{"name": "site", "certificate": pki.certPEM, "private_key": pki.keyPEM})
	lb := tp.v2Create("/loadbalancers", "loadbalancer", map[string]any{"name": "two", "vip_subnet_id": tp.vipSub})
	lbID := lb["id"].(string)
	http80 := tp.v2Create("/listeners", "listener", map[string]any{"loadbalancer_id": lbID, "protocol": "HTTP", "protocol_port": 80})
	pool := tp.v2Create("/pools", "pool", map[string]any{"listener_id": http80["id"], "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"})
	tp.v2Create("/listeners", "listener", map[string]any{"loadbalancer_id": lbID, "protocol": "TERMINATED_HTTPS", "protocol_port": 443,
		"default_tls_container_ref": cert["id"], "default_pool_id": pool["id"]})
	for _, b := range tp.backends {
		tp.v2Create("/pools/"+pool["id"].(string)+"/members", "member", map[string]any{"address": b.Addr.String(), "protocol_port": 80, "subnet_id": tp.poolSub})
	}
	tp.v2WaitActive(lbID, 30*time.Second)
	fip := tp.create("/v2.0/floatingips", "floatingip", map[string]any{"floating_network_id": tp.public, "port_id": lb["vip_port_id"]})["floating_ip_address"].(string)

	seen := map[string]bool{}
	for i := 0; i < 4; i++ {
		body, err := tp.get("http://" + fip + "/")
		if err != nil {
			t.Fatalf("HTTP on 80: %v", err)
		}
		seen[body] = true
		body, err = bodyOf(httpsClient(tp.client, pki.roots, 5*time.Second).Get("https://" + fip + "/"))
		if err != nil {
			t.Fatalf("HTTPS on 443, verified with the CA: %v", err)
		}
		seen[body] = true
	}
	if len(seen) != 2 {
		t.Fatalf("answers through both listeners: %v, want both members", seen)
	}
	// One process per VM serves both listeners.
	ins := tp.instancesOf(lbID)
	if len(ins) != 2 {
		t.Fatalf("VMs of the load balancer: %v", ins)
	}
	for _, in := range ins {
		cfg := string(in.config(t))
		if strings.Count(cfg, "\nfrontend ") != 2 || strings.Count(cfg, "\nbackend ") != 1 {
			t.Fatalf("%s: want two frontends and one backend in one haproxy.cfg:\n%s", in.node, cfg)
		}
	}

	if err := tp.v2().Call("DELETE", "/loadbalancers/"+lbID+"?cascade=true", nil, nil); err != nil {
		t.Fatal(err)
	}
	tp.waitGone(t, ins, 30*time.Second)
}

// TestBackupMemberServesOnlyWhenEveryOtherMemberIsDown: a pool with one
// member and one backup member, checked by a TCP monitor. The backup gets
// nothing while the member is up, everything once it is down, and nothing
// again once it is back.
func TestBackupMemberServesOnlyWhenEveryOtherMemberIsDown(t *testing.T) {
	tp := startTopo(t)
	lb := tp.v2Create("/loadbalancers", "loadbalancer", map[string]any{"name": "bk", "vip_subnet_id": tp.vipSub})
	lbID := lb["id"].(string)
	l := tp.v2Create("/listeners", "listener", map[string]any{"loadbalancer_id": lbID, "protocol": "HTTP", "protocol_port": 80})
	pool := tp.v2Create("/pools", "pool", map[string]any{"listener_id": l["id"], "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"})
	poolID := pool["id"].(string)
	main, backup := tp.backends[0], tp.backends[1]
	tp.v2Create("/pools/"+poolID+"/members", "member", map[string]any{"address": main.Addr.String(), "protocol_port": 80, "subnet_id": tp.poolSub})
	tp.v2Create("/pools/"+poolID+"/members", "member", map[string]any{"address": backup.Addr.String(), "protocol_port": 80, "subnet_id": tp.poolSub, "backup": true})
	tp.v2Create("/healthmonitors", "healthmonitor", map[string]any{"pool_id": poolID, "type": "TCP", "delay": 1, "timeout": 1, "max_retries": 1, "max_retries_down": 1})
	tp.v2WaitActive(lbID, 30*time.Second)
	fip := tp.create("/v2.0/floatingips", "floatingip", map[string]any{"floating_network_id": tp.public, "port_id": lb["vip_port_id"]})["floating_ip_address"].(string)
	url := "http://" + fip + "/"

	answers := func(n int) map[string]int {
		got := map[string]int{}
		for i := 0; i < n; i++ {
			if body, err := tp.get(url); err == nil {
				got[body]++
			}
		}
		return got
	}
	want := func(who string, limit time.Duration) {
		t.Helper()
		deadline := time.Now().Add(limit)
		var got map[string]int
		for time.Now().Before(deadline) {
			if got = answers(6); len(got) == 1 && got["backend "+who] == 6 {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("want every answer from %s, got %v", who, got)
	}
	want(main.Addr.String(), 10*time.Second)
	main.Stop()
	want(backup.Addr.String(), 10*time.Second)
	if err := main.Start(); err != nil {
		t.Fatal(err)
	}
	want(main.Addr.String(), 10*time.Second)
}

// TestSourceIPPortSpreadsOneClientOverTheMembers: with SOURCE_IP_PORT one
// client address reaches both members (its connections differ by source
// port), where SOURCE_IP sends it to one.
func TestSourceIPPortSpreadsOneClientOverTheMembers(t *testing.T) {
	tp := startTopo(t)
	lb := tp.v2Create("/loadbalancers", "loadbalancer", map[string]any{"name": "sip", "vip_subnet_id": tp.vipSub})
	lbID := lb["id"].(string)
	l := tp.v2Create("/listeners", "listener", map[string]any{"loadbalancer_id": lbID, "protocol": "HTTP", "protocol_port": 80})
	pool := tp.v2Create("/pools", "pool", map[string]any{"listener_id": l["id"], "protocol": "HTTP", "lb_algorithm": "SOURCE_IP_PORT"})
	for _, b := range tp.backends {
		tp.v2Create("/pools/"+pool["id"].(string)+"/members", "member", map[string]any{"address": b.Addr.String(), "protocol_port": 80, "subnet_id": tp.poolSub})
	}
	tp.v2WaitActive(lbID, 30*time.Second)
	fip := tp.create("/v2.0/floatingips", "floatingip", map[string]any{"floating_network_id": tp.public, "port_id": lb["vip_port_id"]})["floating_ip_address"].(string)
	got := map[string]int{}
	for i := 0; i < 40; i++ {
		body, err := tp.get("http://" + fip + "/") // a new connection, so a new source port, each time
		if err != nil {
			t.Fatal(err)
		}
		got[body]++
	}
	if len(got) != 2 {
		t.Fatalf("40 connections from one client address with SOURCE_IP_PORT: %v, want both members", got)
	}
	if err := tp.v2().Call("PUT", "/pools/"+pool["id"].(string), map[string]any{"pool": map[string]any{"lb_algorithm": "SOURCE_IP"}}, nil); err != nil {
		t.Fatal(err)
	}
	tp.v2WaitActive(lbID, 30*time.Second)
	got = map[string]int{}
	for i := 0; i < 20; i++ {
		body, err := tp.get("http://" + fip + "/")
		if err != nil {
			t.Fatal(err)
		}
		got[body]++
	}
	if len(got) != 1 {
		t.Fatalf("20 connections from one client address with SOURCE_IP: %v, want one member", got)
	}
}

// waitGone waits until the VMs' namespaces, directories and HAProxy
// masters are gone.
func (tp *topo) waitGone(t *testing.T, ins []instance, limit time.Duration) {
	t.Helper()
	var pids []int
	for _, in := range ins {
		pids = append(pids, in.masterPID(t))
	}
	deadline := time.Now().Add(limit)
	var left []string
	for time.Now().Before(deadline) {
		left = nil
		all, _ := netns.List("vrouter-")
		for _, ns := range all {
			for _, in := range ins {
				if ns == in.namespace {
					left = append(left, "namespace "+ns)
				}
			}
		}
		for _, in := range ins {
			if _, err := os.Stat(in.dir); err == nil {
				left = append(left, "dir "+in.dir)
			}
		}
		for _, pid := range pids {
			if pidAlive(pid) {
				left = append(left, fmt.Sprintf("haproxy master %d", pid))
			}
		}
		if len(left) == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%v after the delete, still there: %v", limit, left)
}

// TestAThousandMembersReplaceTwoUnderLoadWithoutAFailedRequest builds a
// whole load balancer in one POST (listener, pool with the two backends,
// HTTP monitor), then, with a request every 5 ms through its floating IP,
// replaces the pool's members in one batch with 1,000 (the two plus 998
// ports of one backend, each of which answers with its port), and back to
// the two. No request may fail, and the thousand must all be in service.
func TestAThousandMembersReplaceTwoUnderLoadWithoutAFailedRequest(t *testing.T) {
	tp := startTopo(t)
	const extra = 998
	var ports []int
	for i := 0; i < extra; i++ {
		ports = append(ports, 10000+i)
	}
	if err := tp.backends[0].ServePorts(ports); err != nil {
		t.Fatal(err)
	}
	two := []map[string]any{}
	for _, b := range tp.backends {
		two = append(two, map[string]any{"address": b.Addr.String(), "protocol_port": 80, "subnet_id": tp.poolSub})
	}
	lb := tp.v2Create("/loadbalancers", "loadbalancer", map[string]any{"name": "thousand", "vip_subnet_id": tp.vipSub, "listeners": []map[string]any{{
		"protocol": "HTTP", "protocol_port": 80, "default_pool": map[string]any{
			"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN", "members": two,
			"healthmonitor": map[string]any{"type": "HTTP", "delay": 1, "timeout": 1, "max_retries": 1, "url_path": "/"},
		},
	}}})
	lbID := lb["id"].(string)
	pools := lb["pools"].([]any)
	if len(pools) != 1 || len(pools[0].(map[string]any)["members"].([]any)) != 2 {
		t.Fatalf("fully populated answer: %v", lb)
	}
	poolID := pools[0].(map[string]any)["id"].(string)
	tp.v2WaitActive(lbID, 30*time.Second)
	fip := tp.create("/v2.0/floatingips", "floatingip", map[string]any{"floating_network_id": tp.public, "port_id": lb["vip_port_id"]})["floating_ip_address"].(string)
	url := "http://" + fip + "/"
	tp.waitServed(url, 30*time.Second) // the floating IP's NAT is in place
	p := tp.probe(url, 5*time.Millisecond, 120*time.Second)
	p.waitOK(t, 50, 10*time.Second)

	thousand := append([]map[string]any{}, two...)
	for _, port := range ports {
		thousand = append(thousand, map[string]any{"address": tp.backends[0].Addr.String(), "protocol_port": port, "subnet_id": tp.poolSub})
	}
	replace := func(members []map[string]any) time.Duration {
		t.Helper()
		start := time.Now()
		if err := tp.v2().Call("PUT", "/pools/"+poolID+"/members", map[string]any{"members": members}, nil); err != nil {
			t.Fatal(err)
		}
		accepted := time.Since(start)
		tp.v2WaitActive(lbID, 60*time.Second)
		t.Logf("batch of %d members at %s: accepted in %v, ACTIVE and ONLINE after %v", len(members), start.Format("15:04:05.000"),
			accepted.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
		return time.Since(start)
	}
	replace(thousand)
	if n := len(tp.v2List("/pools/" + poolID + "/members?limit=2000")); n != 1000 {
		t.Fatalf("%d members after the batch", n)
	}
	// The thousand are in service: round robin over them reaches many
	// distinct ports within a few hundred requests.
	seen := map[string]bool{}
	for i := 0; i < 300 && len(seen) < 100; i++ {
		if body, err := tp.get(url); err == nil && strings.Contains(body, ":") {
			seen[body] = true
		}
	}
	if len(seen) < 100 {
		t.Fatalf("only %d of the new members answered in 300 requests", len(seen))
	}
	p.waitOK(t, 100, 10*time.Second)
	replace(two)
	p.waitOK(t, 100, 10*time.Second)
	ws := p.stop()
	ok, failed := p.count()
	t.Logf("%d requests through the floating IP, %d failed", ok+failed, failed)
	if failed > 0 || len(ws) > 0 {
		for _, w := range ws {
			t.Logf("failure window from %s to %s", w.from.Format("15:04:05.000"), w.to.Format("15:04:05.000"))
		}
		t.Fatalf("requests failed while the members were replaced: %v", ws)
	}
}

// TestAnUpdateAFailoverAndADeleteWorkOnALoadBalancerInError: with every
// compute agent stopped, new load balancers cannot be placed and read
// ERROR, with the reason, once the pending limit (3 s here) passes. An
// update and a failover are accepted in ERROR; once the agents are back
// the load balancer turns ACTIVE by itself and serves. Another one is
// deleted while in ERROR and leaves nothing behind.
func TestAnUpdateAFailoverAndADeleteWorkOnALoadBalancerInError(t *testing.T) {
	tp := startTopo(t, func(o *up.Options) { o.ServerFlags = []string{"--pending-limit", "3s"} })
	var computes []string
	for n := range tp.c.Agents() {
		if strings.HasPrefix(n, "compute-") {
			computes = append(computes, n)
			tp.c.StopAgent(n, false)
		}
	}
	members := []map[string]any{}
	for _, b := range tp.backends {
		members = append(members, map[string]any{"address": b.Addr.String(), "protocol_port": 80, "subnet_id": tp.poolSub})
	}
	graph := func(name string) map[string]any {
		return map[string]any{"name": name, "vip_subnet_id": tp.vipSub, "listeners": []map[string]any{{"protocol": "HTTP", "protocol_port": 80,
			"default_pool": map[string]any{"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN", "members": members}}}}
	}
	stuck := tp.v2Create("/loadbalancers", "loadbalancer", graph("stuck"))
	doomed := tp.v2Create("/loadbalancers", "loadbalancer", graph("doomed"))
	inError := func(id string) map[string]any {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			lb, err := tp.v2().Get("/loadbalancers/"+id, "loadbalancer")
			if err == nil && lb["provisioning_status"] == "ERROR" {
				return lb
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("load balancer %s never read ERROR with no agent running", id)
		return nil
	}
	inError(stuck["id"].(string))
	inError(doomed["id"].(string))
	var tree map[string]any
	if err := tp.v2().Call("GET", "/loadbalancers/"+stuck["id"].(string)+"/status", nil, &tree); err != nil {
		t.Fatal(err)
	}
	t.Logf("status tree in ERROR: %v", tree)

	// An update and a failover are accepted in ERROR.
	var upd map[string]any
	if err := tp.v2().Call("PUT", "/loadbalancers/"+stuck["id"].(string), map[string]any{"loadbalancer": map[string]any{"description": "fixed in ERROR"}}, &upd); err != nil {
		t.Fatalf("update in ERROR: %v", err)
	}
	if upd["loadbalancer"].(map[string]any)["description"] != "fixed in ERROR" {
		t.Fatalf("update in ERROR: %v", upd)
	}
	if err := tp.v2().Call("PUT", "/loadbalancers/"+stuck["id"].(string)+"/failover", nil, nil); err != nil {
		t.Fatalf("failover in ERROR: %v", err)
	}
	// A delete in ERROR removes it, its port and its children.
	if err := tp.v2().Call("DELETE", "/loadbalancers/"+doomed["id"].(string)+"?cascade=true", nil, nil); err != nil {
		t.Fatalf("delete in ERROR: %v", err)
	}
	if _, err := tp.v2().Get("/loadbalancers/"+doomed["id"].(string), "loadbalancer"); err == nil {
		t.Fatal("the load balancer deleted in ERROR is still there")
	}
	if n := len(tp.v2List("/pools?loadbalancer_id=" + doomed["id"].(string))); n != 0 {
		t.Fatalf("%d pools outlived the delete in ERROR", n)
	}

	// The agents come back: ERROR was not a dead end.
	for _, n := range computes {
		if err := tp.c.StartAgent(n); err != nil {
			t.Fatal(err)
		}
	}
	lb := tp.v2WaitActive(stuck["id"].(string), 60*time.Second)
	if lb["description"] != "fixed in ERROR" {
		t.Fatalf("the update made in ERROR was lost: %v", lb)
	}
	fip := tp.create("/v2.0/floatingips", "floatingip", map[string]any{"floating_network_id": tp.public, "port_id": stuck["vip_port_id"]})["floating_ip_address"].(string)
	if body, err := tp.get("http://" + fip + "/"); err != nil || !strings.HasPrefix(body, "backend ") {
		t.Fatalf("the recovered load balancer does not serve: %q %v", body, err)
	}
	if left := tp.instancesOf(doomed["id"].(string)); len(left) != 0 {
		t.Fatalf("the load balancer deleted in ERROR left instances: %v", left)
	}
}

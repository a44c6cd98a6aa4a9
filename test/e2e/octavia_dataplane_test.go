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

package octavia_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"lbaas/internal/api/octavia"
	"lbaas/internal/model"
	"lbaas/internal/store/storetest"
)

func TestAQuotaSetByAnAdminLimitsCreatesAndAResetLiftsIt(t *testing.T) {
	// Only an admin sets quotas; a member reads its own project's.
	expectFault(t, call(t, gammaToken, "PUT", v2+"/quotas/gamma", obj{"quota": obj{"load_balancer": 1}}), 403)
	expectFault(t, call(t, gammaToken, "GET", v2+"/quotas/alpha", nil), 403)
	r := call(t, adminToken, "PUT", v2+"/quotas/gamma", obj{"quota": obj{"loadbalancer": 2, "member": 3, "healthmonitor": 0}})
	expect(t, r, http.StatusAccepted)
	if q := r.body["quota"].(obj); q["load_balancer"] != float64(2) || q["member"] != float64(3) || q["health_monitor"] != float64(0) || q["pool"] != float64(-1) {
		t.Fatalf("set: %v", q)
	}
	if q := show(t, gammaToken, v2+"/quotas/gamma", "quota"); q["load_balancer"] != float64(2) {
		t.Fatalf("shown: %v", q)
	}
	found := false
	for _, q := range list(t, adminToken, v2+"/quotas", "quotas") {
		if q["project_id"] == "gamma" && q["loadbalancer"] == float64(2) && q["load_balancer"] == float64(2) {
			found = true
		}
	}
	if !found {
		t.Fatal("the admin's quota list lacks gamma")
	}

	_, sub := subnet(t, "gamma")
	lb := create(t, gammaToken, v2+"/loadbalancers", "loadbalancer", obj{"vip_subnet_id": sub})["id"].(string)
	create(t, gammaToken, v2+"/loadbalancers", "loadbalancer", obj{"vip_subnet_id": sub})
	rev := env.st.Rev()
	expectFault(t, call(t, gammaToken, "POST", v2+"/loadbalancers", obj{"loadbalancer": obj{"vip_subnet_id": sub}}), 403, "Quota has been met for resources: Load Balancer")
	if env.st.Rev() != rev {
		t.Fatal("a create over quota wrote something")
	}
	// Members: a batch may replace within the limit, not grow past it.
	pool := create(t, gammaToken, v2+"/pools", "pool", obj{"loadbalancer_id": lb, "protocol": "TCP", "lb_algorithm": "ROUND_ROBIN"})["id"].(string)
	three := []obj{{"address": "10.9.0.1", "protocol_port": 80}, {"address": "10.9.0.2", "protocol_port": 80}, {"address": "10.9.0.3", "protocol_port": 80}}
	expect(t, call(t, gammaToken, "PUT", v2+"/pools/"+pool+"/members", obj{"members": three}), http.StatusAccepted)
	expectFault(t, call(t, gammaToken, "POST", v2+"/pools/"+pool+"/members", obj{"member": obj{"address": "10.9.0.4", "protocol_port": 80}}), 403, "Member")
	swapped := []obj{three[0], three[1], {"address": "10.9.0.5", "protocol_port": 80}}
	expect(t, call(t, gammaToken, "PUT", v2+"/pools/"+pool+"/members", obj{"members": swapped}), http.StatusAccepted)
	expectFault(t, call(t, gammaToken, "PUT", v2+"/pools/"+pool+"/members?additive_only=true", obj{"members": []obj{{"address": "10.9.0.6", "protocol_port": 80}}}), 403, "Member")
	// A limit of 0 allows none.
	expectFault(t, call(t, gammaToken, "POST", v2+"/healthmonitors", obj{"healthmonitor": obj{"pool_id": pool, "type": "TCP", "delay": 5, "timeout": 3, "max_retries": 2}}), 403, "Health Monitor")

	// null returns one limit to the default; a reset returns all of them.
	r = call(t, adminToken, "PUT", v2+"/quotas/gamma", obj{"quota": obj{"health_monitor": nil}})
	expect(t, r, http.StatusAccepted)
	if q := r.body["quota"].(obj); q["health_monitor"] != float64(-1) || q["load_balancer"] != float64(2) {
		t.Fatalf("after null: %v", q)
	}
	expect(t, call(t, adminToken, "DELETE", v2+"/quotas/gamma", nil), http.StatusAccepted)
	if q := show(t, adminToken, v2+"/quotas/gamma", "quota"); q["load_balancer"] != float64(-1) {
		t.Fatalf("after reset: %v", q)
	}
	create(t, gammaToken, v2+"/loadbalancers", "loadbalancer", obj{"vip_subnet_id": sub})

	// Bad limits are refused with what is wrong.
	expectFault(t, call(t, adminToken, "PUT", v2+"/quotas/gamma", obj{"quota": obj{"load_balancer": -2}}), 400, "load_balancer")
	expectFault(t, call(t, adminToken, "PUT", v2+"/quotas/gamma", obj{"quota": obj{"pools": 1}}), 400, "pools")
	expectFault(t, call(t, adminToken, "PUT", v2+"/quotas/gamma", obj{"quota": obj{"pool": "many"}}), 400, "integer")
	expectFault(t, call(t, adminToken, "PUT", v2+"/quotas/gamma", obj{"pool": 1}), 400, "quota")
}

func TestAQuotaHoldsUnderConcurrentCreates(t *testing.T) {
	const limit, tries = 4, 24
	project := "gamma"
	expect(t, call(t, adminToken, "PUT", v2+"/quotas/"+project, obj{"quota": obj{"listener": limit}}), http.StatusAccepted)
	defer call(t, adminToken, "DELETE", v2+"/quotas/"+project, nil)
	_, sub := subnet(t, project)
	lb := create(t, gammaToken, v2+"/loadbalancers", "loadbalancer", obj{"vip_subnet_id": sub})["id"].(string)
	before := len(list(t, gammaToken, v2+"/listeners", "listeners"))
	if before > limit {
		t.Fatalf("gamma already has %d listeners", before)
	}
	var wg sync.WaitGroup
	codes := make([]int, tries)
	for i := 0; i < tries; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			codes[i] = call(t, gammaToken, "POST", v2+"/listeners", obj{"listener": obj{"loadbalancer_id": lb, "protocol": "TCP", "protocol_port": 1000 + i}}).code
		}(i)
	}
	wg.Wait()
	created, refused := 0, 0
	for _, c := range codes {
		switch c {
		case http.StatusCreated:
			created++
		case http.StatusForbidden:
			refused++
		default:
			t.Fatalf("answers %v", codes)
		}
	}
	if created != limit-before || refused != tries-created {
		t.Fatalf("%d created and %d refused with %d present and a limit of %d: %v", created, refused, before, limit, codes)
	}
	if n := len(list(t, gammaToken, v2+"/listeners", "listeners")); n != limit {
		t.Fatalf("%d listeners stored, limit %d", n, limit)
	}
}

func TestTheDeploymentsDefaultQuotaAppliesToProjectsWithoutTheirOwn(t *testing.T) {
	limits, err := model.ParseLimits("load_balancer=1")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(octavia.New(env.st, octavia.Config{Auth: env.auth, Logger: storetest.Quiet(), Quotas: limits}))
	defer srv.Close()
	at := func(method, path string, body any) resp {
		saved := env.url
		env.url = srv.URL
		defer func() { env.url = saved }()
		return call(t, betaToken, method, path, body)
	}
	if q := at("GET", v2+"/quotas/defaults", nil).body["quota"].(obj); q["load_balancer"] != float64(1) || q["member"] != float64(-1) {
		t.Fatalf("defaults: %v", q)
	}
	used := 0
	for _, lb := range list(t, betaToken, v2+"/loadbalancers", "loadbalancers") {
		if lb["project_id"] == "beta" {
			used++
		}
	}
	_, sub := subnet(t, "beta")
	r := at("POST", v2+"/loadbalancers", obj{"loadbalancer": obj{"vip_subnet_id": sub}})
	if used >= 1 {
		expectFault(t, r, 403, "Load Balancer")
		return
	}
	expect(t, r, http.StatusCreated)
	expectFault(t, at("POST", v2+"/loadbalancers", obj{"loadbalancer": obj{"vip_subnet_id": sub}}), 403, "Load Balancer")
	expect(t, at("DELETE", v2+"/loadbalancers/"+r.body["loadbalancer"].(obj)["id"].(string), nil), http.StatusNoContent)
}

func TestQuotaDefaultsAreParsedAndCheckedAtStart(t *testing.T) {
	for _, bad := range []string{"lb=3", "member", "member=x", "pool=-2"} {
		if _, err := model.ParseLimits(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	l, err := model.ParseLimits("loadbalancer=3, member=100")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := l.Of(model.KindLoadBalancer); n != 3 {
		t.Fatal(fmt.Sprint(n))
	}
	if n, _ := l.Of(model.KindPool); n != model.QuotaUnlimited {
		t.Fatal(fmt.Sprint(n))
	}
}

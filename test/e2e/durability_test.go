package e2e

import (
	"fmt"
	"math/rand"
	"sync"
	"testing"
	"time"
)

// TestKill9LosesNoAcknowledgedChange writes from several clients, kills the
// server with SIGKILL at a random moment, restarts it on the same data and
// checks that every write the server had acknowledged is there.
func TestKill9LosesNoAcknowledgedChange(t *testing.T) {
	dataDir := t.TempDir()
	srv := startServer(t, dataDir, "")
	net := srv.mustAPI("POST", "/v2.0/networks", map[string]any{"network": map[string]any{"name": "durable"}}, 201)["network"].(map[string]any)
	sub := srv.mustAPI("POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": net["id"], "cidr": "10.77.0.0/16", "ip_version": 4}}, 201)["subnet"].(map[string]any)
	pool := srv.mustAPI("POST", "/v2.0/lb/pools", map[string]any{"pool": map[string]any{"name": "p", "subnet_id": sub["id"], "protocol": "HTTP", "lb_method": "ROUND_ROBIN"}}, 201)["pool"].(map[string]any)
	poolID := pool["id"].(string)

	var mu sync.Mutex
	acked := map[string]string{} // member id -> address
	for round := 0; round < 3; round++ {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; i < 5000; i++ {
					select {
					case <-stop:
						return
					default:
					}
					addr := fmt.Sprintf("10.77.%d.%d", 10*round+w, i%250+1)
					port := 1000 + i/250
					code, out, err := srv.api("POST", "/v2.0/lb/members", map[string]any{"member": map[string]any{"pool_id": poolID, "address": addr, "protocol_port": port}})
					if err != nil || code != 201 {
						return // the server is gone; what was acknowledged is recorded
					}
					mu.Lock()
					acked[out["member"].(map[string]any)["id"].(string)] = addr
					mu.Unlock()
				}
			}(w)
		}
		time.Sleep(time.Duration(300+rand.Intn(900)) * time.Millisecond)
		srv.kill9()
		close(stop)
		wg.Wait()
		srv = startServer(t, dataDir, srv.addr)
		listed := srv.mustAPI("GET", "/v2.0/lb/members?fields=id&fields=address", nil, 200)["members"].([]any)
		have := map[string]string{}
		for _, m := range listed {
			mm := m.(map[string]any)
			have[mm["id"].(string)] = mm["address"].(string)
		}
		mu.Lock()
		for id, addr := range acked {
			if have[id] != addr {
				t.Fatalf("round %d: acknowledged member %s (%s) is missing after kill -9 and restart", round, id, addr)
			}
		}
		t.Logf("round %d: %d acknowledged members, all present after kill -9 (server holds %d)", round, len(acked), len(have))
		mu.Unlock()
	}
	if len(acked) == 0 {
		t.Fatal("no write was acknowledged; the test proved nothing")
	}
}

package bench

import (
	"context"
	"time"
)

// fullyPopulatedOnce creates a whole load balancer in one POST of the
// Octavia v2 API (an HTTP listener whose default pool has the two
// backends and an HTTP monitor) and times, from the POST being sent, the
// first request served through its VIP and its provisioning_status turning
// ACTIVE. It then deletes it (cascade) and waits for its instances to go.
func (tp *dpTopo) fullyPopulatedOnce(ctx context.Context, name, probeNS string) (run ProvisionRun, err error) {
	members := []map[string]any{}
	for _, a := range backendAddrs {
		members = append(members, map[string]any{"address": mustPrefix(a).Addr().String(), "protocol_port": 80, "subnet_id": tp.poolSub})
	}
	body := map[string]any{"name": name, "vip_subnet_id": tp.vipSub, "listeners": []map[string]any{{
		"protocol": "HTTP", "protocol_port": 80, "default_pool": map[string]any{
			"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN", "members": members,
			"healthmonitor": map[string]any{"type": "HTTP", "delay": 1, "timeout": 1, "max_retries": 2, "url_path": "/"},
		},
	}}}
	t0 := time.Now()
	lb, err := tp.octavia.Create("/v2.0/lbaas/loadbalancers", "loadbalancer", body)
	if err != nil {
		return run, err
	}
	run.VIPCreate = time.Since(t0)
	id := str(lb, "id")
	defer func() {
		d := time.Now()
		_ = tp.octavia.Call("DELETE", "/v2.0/lbaas/loadbalancers/"+id+"?cascade=true", nil, nil)
		if err := tp.waitInstancesGone(ctx, id, 30*time.Second); err == nil {
			run.Cleanup = time.Since(d)
		}
	}()
	active := func() bool {
		got, err := tp.octavia.Get("/v2.0/lbaas/loadbalancers/"+id, "loadbalancer")
		return err == nil && str(got, "provisioning_status") == "ACTIVE"
	}
	return run, tp.timeServing(ctx, &run, id, str(lb, "vip_address"), probeNS, t0, t0, active)
}

package e2e

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"lbaas/internal/up"
)

// TestAmphoraFailoverOfTheBackupRebuildsItAloneWithoutAFailedRequest: the
// amphora API lists a load balancer's two VMs as MASTER and BACKUP on
// their nodes; failing over the BACKUP under traffic rebuilds it alone,
// on its node, while the MASTER keeps the VIP: no request fails. The real
// openstack client lists the amphorae too.
func TestAmphoraFailoverOfTheBackupRebuildsItAloneWithoutAFailedRequest(t *testing.T) {
	needKeepalived(t)
	tp := startTopo(t)
	pool, vip, fip := tp.lb("amphorae", map[string]any{}, map[string]any{})
	poolID, lbID := pool["id"].(string), vip["id"].(string)
	octavia := &up.API{URL: tp.c.OctaviaURL + "/v2/octavia", Token: tp.c.AdminToken, HTTP: tp.api.HTTP}
	amphorae := func() map[string]map[string]any {
		var out struct {
			Amphorae []map[string]any `json:"amphorae"`
		}
		if err := octavia.Call("GET", "/amphorae?loadbalancer_id="+lbID, nil, &out); err != nil {
			t.Fatal(err)
		}
		byRole := map[string]map[string]any{}
		for _, a := range out.Amphorae {
			byRole[a["role"].(string)] = a
		}
		return byRole
	}
	p := tp.probe("http://"+fip+"/", 10*time.Millisecond, 120*time.Second)
	p.waitOK(t, 30, 10*time.Second)
	var before map[string]map[string]any
	deadline := time.Now().Add(30 * time.Second)
	for {
		before = amphorae()
		if before["MASTER"] != nil && before["BACKUP"] != nil && before["BACKUP"]["status"] == "ALLOCATED" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("amphorae: %v, want a MASTER and an ALLOCATED BACKUP", before)
		}
		time.Sleep(100 * time.Millisecond)
	}
	master, backup := before["MASTER"], before["BACKUP"]
	if master["node"] == backup["node"] || master["ha_ip"] != vip["address"] || master["vrrp_ip"] == nil {
		t.Fatalf("amphorae: master %v, backup %v", master, backup)
	}
	// The agents report counters every few seconds.
	deadline = time.Now().Add(15 * time.Second)
	for {
		var stats struct {
			Stats []map[string]any `json:"amphora_stats"`
		}
		err := octavia.Call("GET", "/amphorae/"+master["id"].(string)+"/stats", nil, &stats)
		if err == nil && len(stats.Stats) == 1 && stats.Stats[0]["total_connections"].(float64) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the master's stats under traffic: %v %v", stats.Stats, err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	if err := octavia.Call("PUT", "/amphorae/"+backup["id"].(string)+"/failover", nil, nil); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(60 * time.Second)
	var after map[string]map[string]any
	for {
		after = amphorae()
		nb := after["BACKUP"]
		if nb != nil && nb["id"] != backup["id"] && nb["status"] == "ALLOCATED" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the BACKUP not rebuilt within 60s: %v", after)
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.waitOK(t, 30, 10*time.Second)
	ws := p.stop()
	ok, failed := p.count()
	t.Logf("amphora failover of the BACKUP: %d requests, %d failed, windows %v", ok+failed, failed, ws)
	if failed > 0 {
		t.Errorf("%d requests failed while the BACKUP was rebuilt", failed)
	}
	if after["MASTER"]["id"] != master["id"] || after["BACKUP"]["node"] != backup["node"] {
		t.Errorf("after: master %v (was %v), backup on %v (was %v)", after["MASTER"]["id"], master["id"], after["BACKUP"]["node"], backup["node"])
	}
	if got := tp.instances(poolID); len(got) != 2 {
		t.Errorf("VMs after the failover: %v", got)
	}

	openstack, err := exec.LookPath("openstack")
	if err != nil {
		return
	}
	out := tp.osc(openstack, "amphora", "list", "--loadbalancer", lbID, "-f", "json")
	var listed []map[string]any
	if err := json.Unmarshal([]byte(out), &listed); err != nil || len(listed) != 2 || !strings.Contains(out, "MASTER") {
		t.Fatalf("openstack loadbalancer amphora list: %v\n%s", err, out)
	}
}

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestServiceInstanceViewShowsTheActiveAndStandbyVMs reads the seed's
// Appendix B view of a load balancer: the UVE on the analytics port, the
// service-instance resource and the si-list verb agree, and name two VMs
// on two nodes, active 200 and standby 100.
func TestServiceInstanceViewShowsTheActiveAndStandbyVMs(t *testing.T) {
	tp := startTopo(t)
	_, vip, _ := tp.lb("uve", map[string]any{}, map[string]any{})
	// The instance is the load balancer's, which has the VIP's id.
	fq := "default-domain:admin:" + vip["id"].(string)
	analytics := &apiClient{url: "http://" + tp.c.AnalyticsAddr, token: tp.c.AdminToken}

	var uve struct {
		Config struct {
			Status   string `json:"status"`
			StName   string `json:"st_name"`
			CreateTS int64  `json:"create_ts"`
			VMList   []struct {
				HA     string `json:"ha"`
				UUID   string `json:"uuid"`
				VRName string `json:"vr_name"`
			} `json:"vm_list"`
		} `json:"UveSvcInstanceConfig"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := analytics.get("/analytics/uves/service-instance/"+fq+"?flat", &uve); err != nil {
			t.Fatal(err)
		}
		if uve.Config.Status == "ACTIVE" || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	c := uve.Config
	if c.Status != "ACTIVE" || c.StName != "default-domain:haproxy-loadbalancer-template" || c.CreateTS == 0 || len(c.VMList) != 2 {
		t.Fatalf("UVE: %+v", c)
	}
	if c.VMList[0].HA != "active: 200" || c.VMList[1].HA != "standby: 100" || c.VMList[0].VRName == c.VMList[1].VRName {
		t.Fatalf("vm_list should be active: 200 and standby: 100 on two nodes: %+v", c.VMList)
	}
	// The namespace carries the VM's uuid, as in the seed's appendix.
	for _, vm := range c.VMList {
		if !namespaceExists("vrouter-" + vm.UUID + ":" + vip["id"].(string)) {
			t.Errorf("no namespace vrouter-%s:%s", vm.UUID, vip["id"])
		}
	}

	var list []map[string]any
	if err := analytics.get("/analytics/uves/service-instances", &list); err != nil || len(list) != 1 || list[0]["name"] != fq {
		t.Fatalf("UVE list: %v %v", list, err)
	}
	// Only the analytics paths are served on the analytics port.
	if err := analytics.get("/v2.0/lb/pools", &list); err == nil {
		t.Fatal("the analytics port serves the Neutron API")
	}

	si, err := tp.api.Get("/v2.0/lbaas-service-instances/"+vip["id"].(string), "service_instance")
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("active: 200 (%s), standby: 100 (%s)", c.VMList[0].VRName, c.VMList[1].VRName)
	if si["ha"] != want || si["name"] != fq {
		t.Fatalf("service instance: ha %q name %q, want %q %q", si["ha"], si["name"], want, fq)
	}
	out := runCLI(t, tp, "si-list")
	if !strings.Contains(out, fq) || !strings.Contains(out, "active: 200") || !strings.Contains(out, "standby: 100") {
		t.Fatalf("si-list:\n%s", out)
	}
}

// apiClient is a bare JSON GET client with a token.
type apiClient struct{ url, token string }

func (a *apiClient) get(path string, out any) error {
	req, _ := http.NewRequest("GET", a.url+path, nil)
	req.Header.Set("X-Auth-Token", a.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func namespaceExists(name string) bool {
	_, err := os.Stat("/run/netns/" + name)
	return err == nil
}

// runCLI runs an lbaas client verb against the topology's API.
func runCLI(t *testing.T, tp *topo, args ...string) string {
	t.Helper()
	cmd := exec.Command(lbaasBin, args...)
	// Without the OS_* a parallel test may have set for a moment.
	cmd.Env = append(withoutOS(), "OS_URL="+tp.c.URL, "OS_TOKEN="+tp.c.AdminToken, "OS_AUTH_TYPE=admin_token")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("lbaas %v: %v\n%s", args, err, out)
	}
	return string(out)
}

package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"lbaas/internal/store"
)

// TestExternalEtcdKeepsStateAcrossServers runs the server against an etcd
// it does not own (--etcd-endpoints): a second server on the same etcd
// sees what the first one wrote.
func TestExternalEtcdKeepsStateAcrossServers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	etcdDir := t.TempDir()
	e, err := store.StartEmbedded(ctx, etcdDir)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	endpoint := "unix://" + filepath.Join(etcdDir, "etcd-client.sock")

	start := func() *Running {
		r, err := Start(ctx, Options{Listen: "127.0.0.1:0", DataDir: t.TempDir(), EtcdEndpoints: []string{endpoint}, NoAuth: true, PublicNetwork: "Public", PublicCIDR: "172.24.4.0/24"})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	first := start()
	body, _ := json.Marshal(map[string]any{"network": map[string]any{"name": "shared-net"}})
	resp, err := http.Post("http://"+first.Addr+"/v2.0/networks", "application/json", bytes.NewReader(body))
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("create: %v %v", err, resp)
	}
	resp.Body.Close()
	first.Close()

	second := start()
	defer second.Close()
	resp, err = http.Get("http://" + second.Addr + "/v2.0/networks?name=shared-net")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Networks []map[string]any `json:"networks"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || len(out.Networks) != 1 {
		t.Fatalf("the second server does not see the first one's network: %v %v", out, err)
	}
	// The public network was created once, not once per server.
	resp2, err := http.Get("http://" + second.Addr + "/v2.0/networks?name=Public")
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	var pub struct {
		Networks []map[string]any `json:"networks"`
	}
	_ = json.NewDecoder(resp2.Body).Decode(&pub)
	if len(pub.Networks) != 1 {
		t.Fatalf("want one Public network, got %d", len(pub.Networks))
	}
}

package neutron_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"lbaas/internal/api/neutron"
	"lbaas/internal/segment"
	"lbaas/internal/store"
)

// TestServersEnsuringThePublicNetworkTogetherCreateItOnce runs the
// first-start setup of several servers (each its own store and cache, all
// loaded before any of them writes) at the same moment: one network of
// that name must exist. After an admin deletes it, the next start creates
// it again.
func TestServersEnsuringThePublicNetworkTogetherCreateItOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := unique("Public")
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var stores []*store.Store
	for range 4 {
		st, err := store.Open(ctx, env.st.Client(), quiet)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		stores = append(stores, st)
	}
	ensureAll := func() {
		var wg sync.WaitGroup
		for _, st := range stores {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := neutron.EnsurePublicNetwork(ctx, st, neutron.PublicNetwork{Name: name, CIDR: "172.31.0.0/24"}, segment.Config{PhysicalNetworks: []string{neutron.DefaultPublicPhysnet}}); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	ensureAll()
	nets := list(t, adminToken, "/v2.0/networks?name="+name, "networks")
	if len(nets) != 1 {
		t.Fatalf("%d servers starting together made %d networks %s, want 1", len(stores), len(nets), name)
	}
	if subs := list(t, adminToken, "/v2.0/subnets?name="+name+"-subnet", "subnets"); len(subs) != 1 {
		t.Fatalf("%d subnets %s-subnet, want 1", len(subs), name)
	}

	expect(t, call(t, adminToken, "DELETE", "/v2.0/networks/"+nets[0]["id"].(string), nil), http.StatusNoContent)
	for _, st := range stores {
		// A server starting now loads the store after the delete.
		if err := st.WaitRev(ctx, env.st.Rev()); err != nil {
			t.Fatal(err)
		}
	}
	ensureAll()
	again := list(t, adminToken, "/v2.0/networks?name="+name, "networks")
	if len(again) != 1 || again[0]["id"] == nets[0]["id"] {
		t.Fatalf("after the public network was deleted, a start made %v, want one new network", again)
	}
}

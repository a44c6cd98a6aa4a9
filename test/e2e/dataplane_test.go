package e2e

import (
	"testing"
)

func TestRoundRobinAlternatesThroughTheFloatingIP(t *testing.T) {
	tp := startTopo(t)
	_, _, fip := tp.lb("rr", map[string]any{}, map[string]any{})
	seen := map[string]int{}
	var order []string
	for i := 0; i < 10; i++ {
		body, err := tp.get("http://" + fip + "/")
		if err != nil {
			t.Fatalf("request %d to %s: %v", i, fip, err)
		}
		seen[body]++
		order = append(order, body)
	}
	if len(seen) != 2 || seen["backend 10.1.1.2"] != 5 || seen["backend 10.1.1.3"] != 5 {
		t.Fatalf("round robin over two members: got %v", seen)
	}
	for i := 1; i < len(order); i++ {
		if order[i] == order[i-1] {
			t.Fatalf("requests %d and %d went to the same member: %v", i-1, i, order)
		}
	}
}

package segment

import (
	"errors"
	"testing"

	"lbaas/internal/model"
)

func TestParseRangeReadsMinColonMaxAndRefusesTheRest(t *testing.T) {
	if r, err := ParseRange("10:20"); err != nil || r != (Range{10, 20}) {
		t.Fatalf("10:20 -> %v %v", r, err)
	}
	for _, bad := range []string{"", "10", "20:10", "0:5", "1:16777216", "a:b", "1:2:3"} {
		if _, err := ParseRange(bad); err == nil {
			t.Fatalf("%q accepted", bad)
		}
	}
}

func TestAllocateTakesTheLowestFreeVNIAndSaysWhenTheRangeIsFull(t *testing.T) {
	c := Config{VNIs: Range{5, 7}}.WithDefaults()
	used := map[string]bool{"vxlan/5": true, "vxlan/7": true}
	if v, err := c.Allocate(func(k string) bool { return used[k] }); err != nil || v != 6 {
		t.Fatalf("got %d %v, want 6", v, err)
	}
	used["vxlan/6"] = true
	_, err := c.Allocate(func(k string) bool { return used[k] })
	var ce *model.ConflictError
	if !errors.As(err, &ce) || ce.Type != "NoNetworkAvailable" {
		t.Fatalf("full range: %v", err)
	}
}

func TestCheckDefaultsToVXLANAndSetsTheMTUOfEachType(t *testing.T) {
	c := Config{PhysicalNetworks: []string{"physnet1"}, MTU: 9000}.WithDefaults()
	for _, tc := range []struct {
		n    model.Network
		want int
	}{
		{model.Network{}, 8950},
		{model.Network{NetworkType: VLAN, PhysicalNetwork: "physnet1", SegmentationID: 4094}, 9000},
		{model.Network{NetworkType: Flat, PhysicalNetwork: "physnet1"}, 9000},
	} {
		n := tc.n
		if err := c.Check(&n); err != nil || n.MTU != tc.want || n.NetworkType == "" {
			t.Fatalf("%+v: mtu %d type %q err %v, want mtu %d", tc.n, n.MTU, n.NetworkType, err, tc.want)
		}
	}
}

func TestEachTypeHasItsOwnSegmentKey(t *testing.T) {
	a := &model.Network{NetworkType: VLAN, PhysicalNetwork: "p1", SegmentationID: 5}
	b := &model.Network{NetworkType: VLAN, PhysicalNetwork: "p2", SegmentationID: 5}
	c := &model.Network{NetworkType: VXLAN, SegmentationID: 5}
	if Claim(a) == Claim(b) || Claim(a) == Claim(c) || (&model.Network{}).SegmentKey() != "" {
		t.Fatalf("keys %q %q %q", Claim(a), Claim(b), Claim(c))
	}
}

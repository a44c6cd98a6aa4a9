package haproxy

import (
	"net/netip"
	"os/exec"
	"testing"
)

const (
	lbID    = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
	lisA    = "aaaaaaaa-0000-4000-8000-00000000000a"
	lisB    = "bbbbbbbb-0000-4000-8000-00000000000b"
	poolID  = "6f1c2a9e-3b5d-4c7e-9a1f-0e2d3c4b5a69"
	pool2ID = "7e2d3b0f-4c6e-4d8f-8b20-1f3e4d5c6b7a"
	memA    = "11111111-1111-4111-8111-111111111111"
	memB    = "22222222-2222-4222-8222-222222222222"
	memC    = "33333333-3333-4333-8333-333333333333"
	memD    = "44444444-4444-4444-8444-444444444444"
)

// baseSpec is a load balancer with one HTTP listener on port 80 whose
// round-robin pool has two members in a 4-slot backend.
func baseSpec() Spec {
	return Spec{
		ID: lbID,
		Listeners: []Listener{{
			ID:            lisA,
			Address:       netip.MustParseAddr("10.0.0.10"),
			Port:          80,
			Protocol:      ProtocolHTTP,
			ConnLimit:     -1,
			AdminUp:       true,
			DefaultPoolID: poolID,
		}},
		Pools: []Pool{{
			ID: poolID, Method: MethodRoundRobin, Protocol: ProtocolHTTP, AdminUp: true,
			Members: []Member{
				{ID: memA, Address: netip.MustParseAddr("10.1.0.1"), Port: 8080, Weight: 1, AdminUp: true, Slot: 1},
				{ID: memB, Address: netip.MustParseAddr("10.1.0.2"), Port: 8080, Weight: 2, AdminUp: true, Slot: 2},
			},
			Slots: 4,
		}},
		Paths: DefaultPaths("/var/lib/lbaas", lbID),
	}
}

// lis and pool return pointers into s for tests that modify one element.
func (s *Spec) lis(i int) *Listener { return &s.Listeners[i] }
func (s *Spec) pool(i int) *Pool    { return &s.Pools[i] }

// addPool2 appends the second pool (pool2ID, round robin, HTTP) with the
// given members and returns it, for more settings (a monitor).
func (s *Spec) addPool2(members ...Member) *Pool {
	p2 := Pool{ID: pool2ID, Method: MethodRoundRobin, Protocol: ProtocolHTTP, AdminUp: true}
	p2.Members, p2.Slots = AssignSlots(nil, members, 0)
	s.Pools = append(s.Pools, p2)
	return &s.Pools[len(s.Pools)-1]
}

// withSecondPool adds an HTTP pool, pool2ID, with members C and D in 4 slots.
func withSecondPool(s *Spec) {
	s.Pools = append(s.Pools, Pool{
		ID: pool2ID, Method: MethodRoundRobin, Protocol: ProtocolHTTP, AdminUp: true,
		Members: []Member{
			{ID: memC, Address: netip.MustParseAddr("10.2.0.3"), Port: 9090, Weight: 1, AdminUp: true, Slot: 1},
			{ID: memD, Address: netip.MustParseAddr("10.2.0.4"), Port: 9090, Weight: 1, AdminUp: true, Slot: 2},
		},
		Slots: 4,
	})
}

func needHAProxy(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("needs the haproxy binary in PATH")
	}
	return p
}

// clone deep-copies s, so that a test can change a copy through lis/pool
// without changing the spec it came from.
func (s Spec) clone() Spec {
	s.Listeners = append([]Listener(nil), s.Listeners...)
	pools := make([]Pool, len(s.Pools))
	for i, p := range s.Pools {
		p.Members = append([]Member(nil), p.Members...)
		if p.Monitor != nil {
			m := *p.Monitor
			p.Monitor = &m
		}
		pools[i] = p
	}
	s.Pools = pools
	return s
}

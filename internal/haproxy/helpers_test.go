package haproxy

import (
	"net/netip"
	"os/exec"
	"testing"
)

const (
	poolID = "6f1c2a9e-3b5d-4c7e-9a1f-0e2d3c4b5a69"
	memA   = "11111111-1111-4111-8111-111111111111"
	memB   = "22222222-2222-4222-8222-222222222222"
	memC   = "33333333-3333-4333-8333-333333333333"
)

// baseSpec is an HTTP round-robin load balancer with two members in a 4-slot backend.
func baseSpec() Spec {
	return Spec{
		ID: poolID,
		VIP: VIP{
			Address:   netip.MustParseAddr("10.0.0.10"),
			Port:      80,
			Protocol:  ProtocolHTTP,
			ConnLimit: -1,
			AdminUp:   true,
		},
		Pool: Pool{Method: MethodRoundRobin, Protocol: ProtocolHTTP, AdminUp: true},
		Members: []Member{
			{ID: memA, Address: netip.MustParseAddr("10.1.0.1"), Port: 8080, Weight: 1, AdminUp: true, Slot: 1},
			{ID: memB, Address: netip.MustParseAddr("10.1.0.2"), Port: 8080, Weight: 2, AdminUp: true, Slot: 2},
		},
		Slots: 4,
		Paths: DefaultPaths("/var/lib/lbaas", poolID),
	}
}

func needHAProxy(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("needs the haproxy binary in PATH")
	}
	return p
}

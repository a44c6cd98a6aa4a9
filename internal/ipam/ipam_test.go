package ipam_test

import (
	"errors"
	"net/netip"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	"lbaas/internal/ipam"
	"lbaas/internal/model"
	"lbaas/internal/store"
	"lbaas/internal/store/storetest"
)

// subnet returns a subnet of a network of its own, so that tests sharing
// the store never see each other's addresses. It is not stored: ipam reads
// only the subnet's fields and the objects that hold addresses.
func subnet(cidr, gateway string, pools ...model.AllocationPool) *model.Subnet {
	return &model.Subnet{Meta: model.Meta{ID: uuid.NewString()}, NetworkID: uuid.NewString(), CIDR: cidr, IPVersion: 4, GatewayIP: gateway, AllocationPools: pools}
}

func pool(start, end string) model.AllocationPool {
	return model.AllocationPool{Start: start, End: end}
}

func put(t *testing.T, kind model.Kind, o model.Object) {
	t.Helper()
	if _, err := env.Store.Commit(storetest.Ctx(t), new(store.Txn).Put(kind, o)); err != nil {
		t.Fatal(err)
	}
}

func putPort(t *testing.T, fixed ...model.FixedIP) {
	t.Helper()
	put(t, model.KindPort, &model.Port{Meta: model.Meta{ID: uuid.NewString()}, DeviceID: uuid.NewString(), FixedIPs: fixed})
}

func putMember(t *testing.T, addr string) {
	t.Helper()
	put(t, model.KindMember, &model.Member{Meta: model.Meta{ID: uuid.NewString()}, PoolID: uuid.NewString(), Address: addr, ProtocolPort: 80})
}

func putFloatingIP(t *testing.T, networkID, addr string) {
	t.Helper()
	put(t, model.KindFloatingIP, &model.FloatingIP{Meta: model.Meta{ID: uuid.NewString()}, FloatingNetworkID: networkID, FloatingIPAddress: addr})
}

func expectAddr(t *testing.T, got netip.Addr, err error, want string) {
	t.Helper()
	if err != nil {
		t.Fatalf("allocation failed: %v (want %s)", err, want)
	}
	if got.String() != want {
		t.Fatalf("allocated %s, want %s", got, want)
	}
}

func TestNextSkipsGatewayPortsFloatingIPsAndMembers(t *testing.T) {
	// Members sit on a CIDR of their own so that other tests' members do
	// not interfere.
	sn := subnet("10.201.0.0/24", "10.201.0.1", pool("10.201.0.1", "10.201.0.20"))
	putPort(t, model.FixedIP{SubnetID: sn.ID, IPAddress: "10.201.0.2"})
	putFloatingIP(t, sn.NetworkID, "10.201.0.3")
	putMember(t, "10.201.0.4")
	a, err := ipam.Next(env.Store, sn)
	expectAddr(t, a, err, "10.201.0.5")
}

func TestNextIgnoresAddressesOfOtherSubnetsAndNetworks(t *testing.T) {
	sn := subnet("10.202.0.0/24", "10.202.0.1", pool("10.202.0.2", "10.202.0.20"))
	other := uuid.NewString()
	// The same address on another subnet (even on the same port) and a
	// floating IP of another network do not take it here.
	putPort(t, model.FixedIP{SubnetID: other, IPAddress: "10.202.0.2"})
	putFloatingIP(t, uuid.NewString(), "10.202.0.2")
	a, err := ipam.Next(env.Store, sn)
	expectAddr(t, a, err, "10.202.0.2")
	// A port with addresses on two subnets holds only its own here.
	putPort(t, model.FixedIP{SubnetID: other, IPAddress: "10.202.0.3"}, model.FixedIP{SubnetID: sn.ID, IPAddress: "10.202.0.2"})
	a, err = ipam.Next(env.Store, sn)
	expectAddr(t, a, err, "10.202.0.3")
}

func TestNextFromTopGivesTheHighestFreeAddressNotTaken(t *testing.T) {
	sn := subnet("10.203.0.0/24", "10.203.0.1", pool("10.203.0.2", "10.203.0.254"))
	a, err := ipam.NextFromTop(env.Store, sn, nil)
	expectAddr(t, a, err, "10.203.0.254")
	putPort(t, model.FixedIP{SubnetID: sn.ID, IPAddress: "10.203.0.254"})
	putMember(t, "10.203.0.253")
	taken := map[netip.Addr]bool{netip.MustParseAddr("10.203.0.252"): true}
	a, err = ipam.NextFromTop(env.Store, sn, taken)
	expectAddr(t, a, err, "10.203.0.251")
	// The lowest-first allocator is unaffected by the top ones.
	a, err = ipam.Next(env.Store, sn)
	expectAddr(t, a, err, "10.203.0.2")
}

func TestGatewayIsNeverHandedOutEvenInsideAnAllocationPool(t *testing.T) {
	sn := subnet("10.204.0.0/29", "10.204.0.6", pool("10.204.0.1", "10.204.0.6"))
	a, err := ipam.NextFromTop(env.Store, sn, nil)
	expectAddr(t, a, err, "10.204.0.5")
}

func TestAllocationPoolsAreSearchedInOrderFromEitherEnd(t *testing.T) {
	sn := subnet("10.205.0.0/24", "10.205.0.1", pool("10.205.0.10", "10.205.0.11"), pool("10.205.0.100", "10.205.0.101"))
	a, err := ipam.Next(env.Store, sn)
	expectAddr(t, a, err, "10.205.0.10")
	a, err = ipam.NextFromTop(env.Store, sn, nil)
	expectAddr(t, a, err, "10.205.0.101")
	// When the first pool is full, Next moves on to the second.
	putPort(t, model.FixedIP{SubnetID: sn.ID, IPAddress: "10.205.0.10"}, model.FixedIP{SubnetID: sn.ID, IPAddress: "10.205.0.11"})
	a, err = ipam.Next(env.Store, sn)
	expectAddr(t, a, err, "10.205.0.100")
}

func TestFullSubnetIsExhausted(t *testing.T) {
	sn := subnet("10.206.0.0/29", "10.206.0.1", pool("10.206.0.2", "10.206.0.4"))
	putPort(t, model.FixedIP{SubnetID: sn.ID, IPAddress: "10.206.0.2"})
	putMember(t, "10.206.0.3")
	taken := map[netip.Addr]bool{netip.MustParseAddr("10.206.0.4"): true}
	_, err := ipam.NextFromTop(env.Store, sn, taken)
	var ex *ipam.ErrExhausted
	if !errors.As(err, &ex) || ex.SubnetID != sn.ID {
		t.Fatalf("NextFromTop on a full subnet: %v, want ErrExhausted for %s", err, sn.ID)
	}
	if !strings.Contains(err.Error(), sn.ID) {
		t.Fatalf("exhaustion message %q does not name the subnet", err)
	}
	putPort(t, model.FixedIP{SubnetID: sn.ID, IPAddress: "10.206.0.4"})
	if _, err := ipam.Next(env.Store, sn); !errors.As(err, &ex) {
		t.Fatalf("Next on a full subnet: %v, want ErrExhausted", err)
	}
}

func TestSubnetWithoutAllocationPoolsIsExhausted(t *testing.T) {
	sn := subnet("10.207.0.0/24", "10.207.0.1")
	var ex *ipam.ErrExhausted
	if _, err := ipam.Next(env.Store, sn); !errors.As(err, &ex) {
		t.Fatalf("Next without allocation pools: %v, want ErrExhausted", err)
	}
}

func TestInUseKnowsEveryHolderOfTheSubnet(t *testing.T) {
	sn := subnet("10.208.0.0/24", "10.208.0.1", pool("10.208.0.2", "10.208.0.254"))
	putPort(t, model.FixedIP{SubnetID: sn.ID, IPAddress: "10.208.0.7"})
	putFloatingIP(t, sn.NetworkID, "10.208.0.8")
	putMember(t, "10.208.0.9")
	for _, a := range []string{"10.208.0.7", "10.208.0.8", "10.208.0.9"} {
		if !ipam.InUse(env.Store, sn, netip.MustParseAddr(a)) {
			t.Errorf("InUse(%s) = false: it has a holder", a)
		}
	}
	for _, a := range []string{"10.208.0.6", "10.208.0.10"} {
		if ipam.InUse(env.Store, sn, netip.MustParseAddr(a)) {
			t.Errorf("InUse(%s) = true: nothing holds it", a)
		}
	}
	// A port's address on another subnet, a floating IP of another
	// network: not this subnet's.
	other := subnet("10.208.0.0/24", "10.208.0.1", pool("10.208.0.2", "10.208.0.254"))
	if ipam.InUse(env.Store, other, netip.MustParseAddr("10.208.0.7")) || ipam.InUse(env.Store, other, netip.MustParseAddr("10.208.0.8")) {
		t.Error("a port or floating IP of another subnet counted as holding this subnet's address")
	}
}

func TestClaimKeysAreDistinctPerSubnetAndAddress(t *testing.T) {
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	keys := map[string]bool{ipam.Claim("s1", a): true, ipam.Claim("s1", b): true, ipam.Claim("s2", a): true}
	if len(keys) != 3 {
		t.Fatalf("claim keys collide: %v", keys)
	}
}

func TestRandomMACIsAnOpenStackStyleUnicastAddress(t *testing.T) {
	re := regexp.MustCompile(`^fa:16:3e:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$`)
	seen := map[string]bool{}
	for range 50 {
		m := ipam.RandomMAC()
		if !re.MatchString(m) {
			t.Fatalf("RandomMAC() = %q, want fa:16:3e:xx:xx:xx in lower-case hex", m)
		}
		seen[m] = true
	}
	// 50 draws from 2^24 values: a repeat means the bytes are not random.
	if len(seen) < 45 {
		t.Fatalf("only %d distinct MACs in 50 draws", len(seen))
	}
}

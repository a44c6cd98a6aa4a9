// Package ipam hands out addresses of subnets. The store's claim keys make
// allocation safe under concurrency: two transactions that pick the same
// address cannot both commit, and the loser retries with the winner's port
// in its cache.
package ipam

import (
	"crypto/rand"
	"fmt"
	"net/netip"

	"lbaas/internal/model"
	"lbaas/internal/store"
)

// Claim is the uniqueness key of an address in a subnet.
func Claim(subnetID string, a netip.Addr) string { return "ip/" + subnetID + "/" + a.String() }

// ErrExhausted is returned when a subnet has no free address.
type ErrExhausted struct{ SubnetID string }

func (e *ErrExhausted) Error() string {
	return fmt.Sprintf("No more IP addresses available on subnet %s.", e.SubnetID)
}

// Used returns the addresses of a subnet held by ports, floating IPs and
// pool members. Members are tenants' servers whose ports this service does
// not see, so their addresses are never handed to anything else.
func Used(st *store.Store, sn *model.Subnet) map[netip.Addr]bool {
	used := map[netip.Addr]bool{}
	for _, pe := range st.ByIndex(model.KindPort, store.IdxSubnet, sn.ID) {
		for _, f := range pe.Obj.(*model.Port).FixedIPs {
			if f.SubnetID == sn.ID {
				used[netip.MustParseAddr(f.IPAddress)] = true
			}
		}
	}
	prefix := netip.MustParsePrefix(sn.CIDR)
	for _, me := range st.List(model.KindMember) {
		if a, err := netip.ParseAddr(me.Obj.(*model.Member).Address); err == nil && prefix.Contains(a) {
			used[a] = true
		}
	}
	for _, fe := range st.List(model.KindFloatingIP) {
		f := fe.Obj.(*model.FloatingIP)
		if f.FloatingNetworkID != sn.NetworkID {
			continue
		}
		if a, err := netip.ParseAddr(f.FloatingIPAddress); err == nil && prefix.Contains(a) {
			used[a] = true
		}
	}
	return used
}

// Next returns the lowest free address of the subnet's allocation pools,
// the way Neutron hands addresses to ports.
func Next(st *store.Store, sn *model.Subnet) (netip.Addr, error) {
	return pick(sn, Used(st, sn), nil, false)
}

// NextFromTop returns the highest free address not in taken. Load-balancer
// VMs take theirs from the top of the range so that they keep out of the
// way of tenants' servers, which get the low ones.
func NextFromTop(st *store.Store, sn *model.Subnet, taken map[netip.Addr]bool) (netip.Addr, error) {
	return pick(sn, Used(st, sn), taken, true)
}

func pick(sn *model.Subnet, used, taken map[netip.Addr]bool, fromTop bool) (netip.Addr, error) {
	free := func(a netip.Addr) bool { return !used[a] && !taken[a] && a.String() != sn.GatewayIP }
	pools := sn.AllocationPools
	for i := range pools {
		ap := pools[i]
		if fromTop {
			ap = pools[len(pools)-1-i]
		}
		start, err1 := netip.ParseAddr(ap.Start)
		end, err2 := netip.ParseAddr(ap.End)
		if err1 != nil || err2 != nil || end.Less(start) {
			continue
		}
		if fromTop {
			for a := end; !a.Less(start); a = a.Prev() {
				if free(a) {
					return a, nil
				}
			}
		} else {
			for a := start; !end.Less(a); a = a.Next() {
				if free(a) {
					return a, nil
				}
			}
		}
	}
	return netip.Addr{}, &ErrExhausted{SubnetID: sn.ID}
}

// RandomMAC returns a locally administered unicast MAC address in the
// prefix OpenStack uses for ports.
func RandomMAC() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("fa:16:3e:%02x:%02x:%02x", b[0], b[1], b[2])
}

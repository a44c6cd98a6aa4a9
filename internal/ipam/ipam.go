// Package ipam hands out addresses of subnets. The store's claim keys make
// allocation safe under concurrency: two transactions that pick the same
// address cannot both commit, and the loser retries with the winner's port
// in its cache.
package ipam

import (
	"crypto/rand"
	"fmt"
	"net/netip"
	"time"

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

// InUse reports whether an address of a subnet is held by a port, a
// floating IP or a pool member. Members are tenants' servers whose ports
// this service does not see, so their addresses are never handed to
// anything else. Each question is an index lookup: an allocation costs
// the addresses it tries, not the size of the subnet's tenancy.
func InUse(st *store.Store, sn *model.Subnet, a netip.Addr) bool {
	return heldByPort(st, sn, a) || st.IndexHas(model.KindMember, store.IdxAddr, a.String())
}

// heldByPort reports whether a port or a floating IP holds the address
// (members aside).
func heldByPort(st *store.Store, sn *model.Subnet, a netip.Addr) bool {
	s := a.String()
	return st.IndexHas(model.KindPort, store.IdxAddr, sn.ID+"/"+s) ||
		st.IndexHas(model.KindFloatingIP, store.IdxAddr, sn.NetworkID+"/"+s)
}

// Next returns the lowest free address of the subnet's allocation pools,
// the way Neutron hands addresses to ports.
func Next(st *store.Store, sn *model.Subnet) (netip.Addr, error) {
	return pick(st, sn, nil, false)
}

// NextFromTop returns the highest free address not in taken. Load-balancer
// VMs take theirs from the top of the range so that they keep out of the
// way of tenants' servers, which get the low ones.
func NextFromTop(st *store.Store, sn *model.Subnet, taken map[netip.Addr]bool) (netip.Addr, error) {
	return pick(st, sn, taken, true)
}

func pick(st *store.Store, sn *model.Subnet, taken map[netip.Addr]bool, fromTop bool) (a netip.Addr, err error) {
	// Only the lowest-first allocator serves concurrent requests (VIPs,
	// floating IPs); the top one serves the controller, which is alone.
	now, holds := time.Now(), !fromTop
	if holds {
		recent.Lock()
		defer recent.Unlock()
		defer func() {
			if err == nil {
				hold(sn.ID, a, now)
			}
		}()
	}
	held, done := portAddrsFor(st).heldBy(sn.ID)
	defer done()
	free := func(a netip.Addr) bool {
		if taken[a] || held(a) || a.String() == sn.GatewayIP {
			return false
		}
		if InUse(st, sn, a) {
			// The cache shows it now: the hold has done its job, and
			// must not outlive a release that would free it again.
			if holds {
				forget(sn.ID, a)
			}
			return false
		}
		return !(holds && heldRecently(sn.ID, a, now))
	}
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

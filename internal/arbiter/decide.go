// Package arbiter keeps a second active from taking traffic. It runs in
// the router namespace, the only way into a VIP network for floating-IP
// clients, and receives the VRRP advertisements of both VMs of every load
// balancer (they list the router as a unicast peer). The router's
// neighbour entry for each VIP is pinned to the MAC of the VM that holds
// it, and the arbiter moves it only when the holder stops advertising (a
// dead node: no adverts for a few intervals) or resigns (priority 0: its
// HAProxy died or its link went away). When a partition between the two
// VMs makes both MASTER, both advertise to the router; the arbiter keeps
// the one that already holds the VIP, and the gratuitous ARPs of the other
// cannot move a pinned (permanent) entry. The second MASTER therefore
// takes no traffic.
package arbiter

import (
	"net/netip"
	"time"
)

// Decider follows the adverts of one VIP's VMs and names the holder.
type Decider struct {
	// Members are the VMs' addresses on the VIP network.
	Members []netip.Addr
	// Timeout is how long a member counts as advertising after its last
	// advert (a few advert intervals).
	Timeout time.Duration

	current netip.Addr
	last    map[netip.Addr]time.Time
}

// NewDecider starts with current as the holder (the router's entry when
// the arbiter starts, so that a restart moves nothing).
func NewDecider(members []netip.Addr, timeout time.Duration, current netip.Addr) *Decider {
	return &Decider{Members: members, Timeout: timeout, current: current, last: map[netip.Addr]time.Time{}}
}

func (d *Decider) member(a netip.Addr) bool {
	for _, m := range d.Members {
		if m == a {
			return true
		}
	}
	return false
}

// Advert records an advertisement from src with priority prio.
func (d *Decider) Advert(src netip.Addr, prio int, now time.Time) {
	if !d.member(src) {
		return
	}
	if prio == 0 {
		// The sender resigns: its HAProxy or its link failed.
		delete(d.last, src)
		return
	}
	d.last[src] = now
}

func (d *Decider) advertising(a netip.Addr, now time.Time) bool {
	t, ok := d.last[a]
	return ok && now.Sub(t) <= d.Timeout
}

// Holder returns the VM that should get the VIP's traffic now: the
// current holder while it advertises, else the member that advertised
// most recently. With nobody advertising the current holder stays.
func (d *Decider) Holder(now time.Time) netip.Addr {
	if d.current.IsValid() && d.advertising(d.current, now) {
		return d.current
	}
	var best netip.Addr
	var bestAt time.Time
	for a, t := range d.last {
		if d.advertising(a, now) && t.After(bestAt) {
			best, bestAt = a, t
		}
	}
	if best.IsValid() {
		d.current = best
	}
	return d.current
}

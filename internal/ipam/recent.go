package ipam

import (
	"net/netip"
	"sync"
	"time"
)

// recentHold is how long an address handed out stays out of later picks
// of this process while the transaction that uses it commits and the
// cache learns of it. Longer only leaves an address unused for a moment
// when its transaction failed; shorter lets concurrent creates collide.
const recentHold = time.Second

// recent remembers the addresses this process handed out and the cache
// may not show yet. Without it, concurrent creates on one subnet all
// pick the same lowest free address, and all but one lose the claim and
// build again: at 8 clients most of the work was retries. The claims keep
// allocation correct across processes; this only keeps one process's
// requests out of each other's way.
//
// The allocator asks about every address it scans, so the map is keyed
// without allocating and locked once per pick (see pick).
var recent = struct {
	sync.Mutex
	until map[recentKey]time.Time
}{until: map[recentKey]time.Time{}}

type recentKey struct {
	subnet string
	addr   netip.Addr
}

// heldRecently reports whether a was handed out on the subnet within
// recentHold. Called with recent locked.
func heldRecently(subnetID string, a netip.Addr, now time.Time) bool {
	t, ok := recent.until[recentKey{subnetID, a}]
	return ok && now.Before(t)
}

// hold marks a handed out, and forgets the holds that ended. Called with
// recent locked.
func hold(subnetID string, a netip.Addr, now time.Time) {
	if len(recent.until) > 64 {
		for k, t := range recent.until {
			if !now.Before(t) {
				delete(recent.until, k)
			}
		}
	}
	recent.until[recentKey{subnetID, a}] = now.Add(recentHold)
}

// forget ends a's hold. Called with recent locked.
func forget(subnetID string, a netip.Addr) {
	if len(recent.until) > 0 {
		delete(recent.until, recentKey{subnetID, a})
	}
}

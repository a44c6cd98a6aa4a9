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
var recent = struct {
	sync.Mutex
	until map[string]time.Time
}{until: map[string]time.Time{}}

func recentKey(subnetID string, a netip.Addr) string { return subnetID + "/" + a.String() }

// heldRecently reports whether a was handed out on the subnet within
// recentHold.
func heldRecently(subnetID string, a netip.Addr, now time.Time) bool {
	recent.Lock()
	defer recent.Unlock()
	t, ok := recent.until[recentKey(subnetID, a)]
	return ok && now.Before(t)
}

// hold marks a handed out, and forgets the holds that ended.
func hold(subnetID string, a netip.Addr, now time.Time) {
	recent.Lock()
	defer recent.Unlock()
	if len(recent.until) > 64 {
		for k, t := range recent.until {
			if !now.Before(t) {
				delete(recent.until, k)
			}
		}
	}
	recent.until[recentKey(subnetID, a)] = now.Add(recentHold)
}

// forget ends a's hold.
func forget(subnetID string, a netip.Addr) {
	recent.Lock()
	defer recent.Unlock()
	delete(recent.until, recentKey(subnetID, a))
}

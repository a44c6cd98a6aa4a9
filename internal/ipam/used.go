package ipam

import (
	"net/netip"
	"sync"

	"lbaas/internal/model"
	"lbaas/internal/store"
)

// portAddrs follows, per store, which addresses of each subnet ports hold,
// from the store's watch. pick asks it first: an address it says is held
// is skipped without the index lookups of InUse (a string key built per
// lookup), which made each allocation from the top of a subnet with 20,000
// VM ports take 20 ms and the controller's repair of 2,000 load
// balancers spend most of its time there. An address it says is free is
// still checked by InUse, so a lagging answer can only skip a free
// address for a moment, never hand out a held one.
type portAddrs struct {
	mu sync.Mutex
	// held[subnet][addr] are the ids of the ports holding addr: adding
	// or removing one twice is harmless, so the first read and the
	// watch's changes may overlap.
	held map[string]map[netip.Addr]map[string]struct{}
}

// portAddrsFor returns the store's tracker, made on first use.
func portAddrsFor(st *store.Store) *portAddrs {
	return st.View("ipam.portAddrs", func() any {
		p := &portAddrs{}
		st.Follow(model.KindPort, func() { p.reset(st) }, func(old, new model.Object) {
			if old != nil {
				p.set(old.(*model.Port), false)
			}
			if new != nil {
				p.set(new.(*model.Port), true)
			}
		})
		return p
	}).(*portAddrs)
}

func (p *portAddrs) reset(st *store.Store) {
	p.mu.Lock()
	p.held = map[string]map[netip.Addr]map[string]struct{}{}
	p.mu.Unlock()
	for _, e := range st.List(model.KindPort) {
		p.set(e.Obj.(*model.Port), true)
	}
}

func (p *portAddrs) set(port *model.Port, add bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range port.FixedIPs {
		a, err := netip.ParseAddr(f.IPAddress)
		if err != nil {
			continue
		}
		bySubnet := p.held[f.SubnetID]
		if bySubnet == nil {
			bySubnet = map[netip.Addr]map[string]struct{}{}
			p.held[f.SubnetID] = bySubnet
		}
		ids := bySubnet[a]
		switch {
		case add && ids == nil:
			bySubnet[a] = map[string]struct{}{port.ID: {}}
		case add:
			ids[port.ID] = struct{}{}
		case ids != nil:
			delete(ids, port.ID)
			if len(ids) == 0 {
				delete(bySubnet, a)
			}
		}
	}
}

// heldBy returns a function saying whether a port holds an address of the
// subnet, for one allocation: the caller holds the tracker's lock until
// done is called, so the scan takes it once.
func (p *portAddrs) heldBy(subnetID string) (held func(netip.Addr) bool, done func()) {
	p.mu.Lock()
	m := p.held[subnetID]
	return func(a netip.Addr) bool { return m[a] != nil }, p.mu.Unlock
}

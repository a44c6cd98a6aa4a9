package controller

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"lbaas/internal/agentapi"
	"lbaas/internal/model"
	"lbaas/internal/store"
)

// RouterLink is where the network nodes' routers take their own addresses
// for the VRRP group that moves the floating-IP router between them: a
// link-local range on the external network's link, so that no public
// address is spent and none can clash with a floating IP.
var RouterLink = netip.MustParsePrefix("169.254.0.0/16")

// firstRouterAddress skips 169.254.0.0/24, which RFC 3927 reserves.
var firstRouterAddress = netip.MustParseAddr("169.254.1.1")

// RouterVirtualRouterID is the VRRP id of the router group. Its adverts
// are unicast between the members' own addresses and keepalived drops
// adverts from any other source, so another VRRP user of the external
// network with the same id disturbs nothing.
const RouterVirtualRouterID = 1

// RouterAdvertInterval is the router group's advert interval. A silent
// death of the active router moves the floating IPs after three intervals
// and the skew (about 0.3 s), inside the aim of a second with room for a
// loaded host, while a busy network node must miss three adverts in a row
// (0.3 s of silence) before its standby takes over by mistake.
const RouterAdvertInterval = 100 * time.Millisecond

// routerMembers returns the router group by address order (the order in
// which the network nodes joined).
func routerMembers(st *store.Store) []*model.RouterMember {
	var out []*model.RouterMember
	for _, e := range st.List(model.KindRouterMember) {
		out = append(out, e.Obj.(*model.RouterMember))
	}
	slices.SortFunc(out, func(a, b *model.RouterMember) int {
		return netip.MustParseAddr(a.Address).Compare(netip.MustParseAddr(b.Address))
	})
	return out
}

// ensureRouterMembers gives every live network node without one a place in
// the router group: the lowest free address of RouterLink. Only the leading
// controller writes them, one pass at a time, so two nodes never get the
// same address.
func (c *Controller) ensureRouterMembers(ctx context.Context) error {
	members := routerMembers(c.st)
	taken := map[netip.Addr]bool{}
	has := map[string]bool{}
	for _, m := range members {
		taken[netip.MustParseAddr(m.Address)] = true
		has[m.ID] = true
	}
	t := new(store.Txn)
	next := firstRouterAddress
	for _, n := range Alive(c.st, RoleNetwork) {
		if has[n.Name] {
			continue
		}
		for taken[next] || next.As4()[3] == 0 || next.As4()[3] == 255 {
			next = next.Next()
		}
		if !RouterLink.Contains(next) {
			return errors.New("the router group's link-local range is full")
		}
		taken[next] = true
		now := time.Now().UTC()
		t.Create(model.KindRouterMember, &model.RouterMember{
			Meta:    model.Meta{ID: n.Name, TenantID: "admin", CreatedAt: now, UpdatedAt: now},
			Address: next.String(),
		})
		c.log.Info("network node joins the router group", "node", n.Name, "address", next)
	}
	if t.Empty() {
		return nil
	}
	_, err := c.st.Commit(ctx, t)
	if errors.Is(err, store.ErrConflict) {
		return nil // the next pass sees the newer state
	}
	return err
}

// routerHA is node's part in the router group, or nil when node's router
// runs alone (the only network node there ever was). ok is false when the
// router must not run on node yet: other network nodes are in the group and
// node is not, so it has no address to advertise from and would hold the
// same addresses as the active router.
func routerHA(st *store.Store, node string) (ha *agentapi.RouterHA, ok bool) {
	members := routerMembers(st)
	i := slices.IndexFunc(members, func(m *model.RouterMember) bool { return m.ID == node })
	switch {
	case i < 0:
		return nil, len(members) == 0
	case len(members) == 1:
		return nil, true
	}
	own := netip.MustParseAddr(members[i].Address)
	b := own.As4()
	ha = &agentapi.RouterHA{
		Address:         netip.PrefixFrom(own, RouterLink.Bits()).String(),
		MAC:             fmt.Sprintf("02:00:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3]),
		VirtualRouterID: RouterVirtualRouterID,
		// Both routers start as BACKUP and never preempt; the priority
		// only settles an election of routers that start together: the
		// earliest member wins it.
		Priority:         max(254-i, 1),
		AdvertIntervalMS: int(RouterAdvertInterval / time.Millisecond),
	}
	for j, m := range members {
		if j != i {
			ha.Peers = append(ha.Peers, m.Address)
		}
	}
	return ha, true
}

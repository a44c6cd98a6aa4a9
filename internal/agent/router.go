package agent

import (
	"net/netip"

	"lbaas/internal/agentapi"
	"lbaas/internal/model"
	"lbaas/internal/netns"
)

// DefaultRouterNamespace holds the floating-IP NAT of a network node.
const DefaultRouterNamespace = "lbaas-router"

// applyRouter makes the router namespace sit on the external network and
// on every VIP network at their gateway addresses, and sets the 1:1 NAT
// rules of every floating IP. It returns the floating IPs now in place.
func (a *Agent) applyRouter(r agentapi.Router) (map[string]string, error) {
	if err := netns.Ensure(a.o.RouterNamespace); err != nil {
		return nil, err
	}
	nets := append([]agentapi.Network{r.External}, r.Internal...)
	ifnames := map[string]string{}
	for i, nw := range nets {
		if err := a.ensureNetwork(nw); err != nil {
			return nil, err
		}
		gw, err := netip.ParseAddr(nw.GatewayIP)
		if err != nil {
			continue // a subnet without a gateway cannot be routed to
		}
		prefix := netip.MustParsePrefix(nw.CIDR)
		ifname := "ext0"
		if i > 0 {
			ifname = "rt" + nw.SubnetID[:8]
		}
		if err := a.o.Fabric.Attach(netns.AttachSpec{Namespace: a.o.RouterNamespace, IfName: ifname, NetworkID: nw.ID, Address: netip.PrefixFrom(gw, prefix.Bits()), MTU: nw.MTU}); err != nil {
			return nil, err
		}
		ifnames[nw.SubnetID] = ifname
	}
	if err := a.applyArbiter(r, ifnames); err != nil {
		return nil, err
	}
	rules := make([]netns.NATRule, 0, len(r.FloatingIPs))
	fips := map[string]string{}
	for _, f := range r.FloatingIPs {
		fl, err1 := netip.ParseAddr(f.FloatingIP)
		fx, err2 := netip.ParseAddr(f.FixedIP)
		if err1 != nil || err2 != nil {
			continue
		}
		rules = append(rules, netns.NATRule{FloatingIP: fl, FixedIP: fx})
		fips[f.ID] = model.StatusActive
	}
	if err := netns.SetFloatingIPs(a.o.RouterNamespace, rules); err != nil {
		for id := range fips {
			fips[id] = model.StatusError
		}
		return fips, err
	}
	return fips, nil
}

// ensureNetwork makes the network's bridge exist in the fabric.
func (a *Agent) ensureNetwork(nw agentapi.Network) error {
	prefix, err := netip.ParsePrefix(nw.CIDR)
	if err != nil {
		return errorf("network %s: bad CIDR %q", nw.ID, nw.CIDR)
	}
	return a.o.Fabric.EnsureNetwork(netns.NetworkSpec{ID: nw.ID, CIDR: prefix})
}

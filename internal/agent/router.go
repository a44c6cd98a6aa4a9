package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"time"

	"lbaas/internal/agentapi"
	"lbaas/internal/model"
	"lbaas/internal/netns"
	"lbaas/internal/vrrp"
)

// DefaultRouterNamespace holds the floating-IP NAT of a network node.
const DefaultRouterNamespace = "lbaas-router"

// extIf is the router's interface on the external network.
const extIf = "ext0"

// applyRouter makes the router namespace sit on the external network and
// on every VIP network at their gateway addresses, and sets the 1:1 NAT
// rules of every floating IP. It returns the floating IPs now in place.
//
// A router with a standby on another network node (r.HA) holds none of
// those addresses itself: its keepalived adds the gateways and floating
// IPs while it is the active router, and the NAT table is in place on
// both, so that taking over is only moving addresses.
func (a *Agent) applyRouter(ctx context.Context, r agentapi.Router) (map[string]string, error) {
	if err := netns.Ensure(a.o.RouterNamespace); err != nil {
		return nil, err
	}
	nets := append([]agentapi.Network{r.External}, r.Internal...)
	ifnames := map[string]string{}
	var moving []vrrp.Address // the addresses VRRP moves, gateways first
	for i, nw := range nets {
		if err := a.ensureNetwork(nw); err != nil {
			return nil, err
		}
		gw, err := netip.ParseAddr(nw.GatewayIP)
		if err != nil {
			continue // a subnet without a gateway cannot be routed to
		}
		prefix := netip.MustParsePrefix(nw.CIDR)
		ifname := extIf
		if i > 0 {
			ifname = "rt" + nw.SubnetID[:8]
		}
		spec := netns.AttachSpec{Namespace: a.o.RouterNamespace, IfName: ifname, NetworkID: nw.ID, Address: netip.PrefixFrom(gw, prefix.Bits()), MTU: nw.MTU}
		if r.HA != nil {
			moving = append(moving, vrrp.Address{Prefix: spec.Address, Interface: ifname})
			spec.Address = netip.Prefix{}
			if ifname == extIf {
				mac, err := net.ParseMAC(r.HA.MAC)
				if err != nil {
					return nil, fmt.Errorf("router MAC %q: %w", r.HA.MAC, err)
				}
				spec.MAC = mac
			}
		}
		if err := a.o.Fabric.Attach(spec); err != nil {
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
	var err error
	if r.HA == nil {
		// Once in a pair, a router stays in it (members outlive their
		// nodes), so this only clears what an older layout left.
		err = a.stopRouterVRRP(ctx)
		if err == nil {
			err = netns.SetFloatingIPs(a.o.RouterNamespace, rules)
		}
	} else {
		err = netns.SetFloatingNAT(a.o.RouterNamespace, rules)
		if err == nil {
			for _, rule := range rules {
				moving = append(moving, vrrp.Address{Prefix: netip.PrefixFrom(rule.FloatingIP, 32), Interface: extIf})
			}
			err = a.applyRouterVRRP(ctx, *r.HA, ifnames[r.External.SubnetID], moving)
		}
	}
	if err != nil {
		for id := range fips {
			fips[id] = model.StatusError
		}
		return fips, err
	}
	return fips, nil
}

// routerVRRPPaths locate the router's keepalived, beside the arbiter.
func (a *Agent) routerVRRPPaths() vrrp.Paths {
	return vrrp.PathsIn(filepath.Join(a.arbiterDir(), "keepalived"))
}

// applyRouterVRRP runs the router's keepalived: VRRP on the external
// interface from the node's own link-local address, unicast to the other
// network nodes, moving the gateway of the external network (the one
// address in the adverts) and every other gateway and floating IP with it.
func (a *Agent) applyRouterVRRP(ctx context.Context, ha agentapi.RouterHA, ext string, moving []vrrp.Address) error {
	if a.vrrp == nil {
		return errors.New("a router with a standby needs keepalived, which is not installed")
	}
	if ext != extIf || len(moving) == 0 || moving[0].Interface != extIf {
		return errors.New("a router with a standby needs a gateway address on the external network")
	}
	own, err := netip.ParsePrefix(ha.Address)
	if err != nil {
		return fmt.Errorf("router address %q: %w", ha.Address, err)
	}
	if err := netns.AddAddress(a.o.RouterNamespace, extIf, own); err != nil {
		return err
	}
	cfg := vrrp.Config{
		InstanceName:    "router",
		Interface:       extIf,
		VirtualRouterID: uint8(ha.VirtualRouterID),
		Priority:        uint8(ha.Priority),
		UnicastSrc:      own.Addr(),
		Link:            own.Masked(),
		VIP:             moving[0].Prefix,
		ExtraVIPs:       moving[1:],
		AdvertInterval:  time.Duration(ha.AdvertIntervalMS) * time.Millisecond,
	}
	for _, p := range ha.Peers {
		pa, err := netip.ParseAddr(p)
		if err != nil {
			return fmt.Errorf("router peer %q: %w", p, err)
		}
		cfg.UnicastPeers = append(cfg.UnicastPeers, pa)
	}
	res, err := a.vrrp.Apply(ctx, vrrp.Spec{Namespace: a.o.RouterNamespace, Paths: a.routerVRRPPaths(), Config: cfg})
	if err != nil {
		return fmt.Errorf("router keepalived: %w", err)
	}
	if res.Action != vrrp.ActionNone {
		a.log.Info("router vrrp applied", "action", res.Action, "priority", ha.Priority, "peers", ha.Peers)
	}
	return nil
}

// stopRouterVRRP stops the router's keepalived if one runs.
func (a *Agent) stopRouterVRRP(ctx context.Context) error {
	if a.vrrp == nil {
		return nil
	}
	if err := a.vrrp.Stop(ctx, a.routerVRRPPaths()); err != nil && !errors.Is(err, vrrp.ErrNotRunning) {
		return err
	}
	return nil
}

// routerVRRPDown says whether the router should run keepalived and does
// not (it crashed, or was killed): the agent then applies at once.
func (a *Agent) routerVRRPDown(r *agentapi.Router) bool {
	if r == nil || r.HA == nil || a.vrrp == nil {
		return false
	}
	running, _ := a.vrrp.Check(a.routerVRRPPaths())
	return !running
}

// routerState is the router's part in its pair, in Neutron's words, for
// the heartbeat: "active", "standby", "fault", or "" when it has no pair.
func (a *Agent) routerState() string {
	a.mu.Lock()
	r := a.desired.Router
	a.mu.Unlock()
	if r == nil || r.HA == nil || a.vrrp == nil {
		return ""
	}
	st, err := a.vrrp.State(context.Background(), vrrp.Spec{Namespace: a.o.RouterNamespace, Paths: a.routerVRRPPaths()})
	switch {
	case err != nil:
		return "fault"
	case st == vrrp.StateMaster:
		return "active"
	case st == vrrp.StateBackup:
		return "standby"
	}
	return "fault"
}

// ensureNetwork makes the network's bridge exist in the fabric.
func (a *Agent) ensureNetwork(nw agentapi.Network) error {
	prefix, err := netip.ParsePrefix(nw.CIDR)
	if err != nil {
		return errorf("network %s: bad CIDR %q", nw.ID, nw.CIDR)
	}
	return a.o.Fabric.EnsureNetwork(netns.NetworkSpec{ID: nw.ID, CIDR: prefix})
}

package netns

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// routeProtocol tags the routes Attach installs (rtm_protocol), so that a
// later Attach removes exactly the routes it once added and nothing else.
// 176 is unassigned in iproute2's rt_protos.
const routeProtocol netlink.RouteProtocol = 176

// AttachSpec describes one interface of a namespace on a fabric network.
type AttachSpec struct {
	// Namespace is the existing namespace that gets the interface.
	Namespace string
	// IfName is the interface name inside Namespace (at most 15 bytes).
	IfName string
	// NetworkID is a network already created with EnsureNetwork.
	NetworkID string
	// Address is the interface's own IPv4 address with the subnet length,
	// e.g. 10.99.1.10/24. It must lie inside the network's CIDR. Zero
	// gives the interface no address of its own: a standby router's
	// interface, whose addresses VRRP adds when it becomes active.
	Address netip.Prefix
	// MAC optionally fixes the interface's hardware address (a Neutron
	// port's MAC); empty keeps the kernel's random one.
	MAC net.HardwareAddr
	// Gateway is the next hop for ExtraRoutes; it must lie in the network.
	Gateway netip.Addr
	// ExtraRoutes are specific prefixes reached via Gateway. A default route
	// (/0) is refused: namespaces never get a way out of our own networks.
	// The set is declarative: routes from an earlier Attach that are not
	// listed any more are removed.
	ExtraRoutes []netip.Prefix
	// MTU of both ends (0: leave the kernel's). A vxlan network's ports
	// get 50 bytes less than the underlay, so that no frame is dropped on
	// the way out.
	MTU int
}

func (s AttachSpec) validate() error {
	if err := ValidateName(s.Namespace); err != nil {
		return err
	}
	if err := ValidateIfName(s.IfName); err != nil {
		return err
	}
	if s.Address != (netip.Prefix{}) && (!s.Address.IsValid() || !s.Address.Addr().Is4()) {
		return fmt.Errorf("netns: attach %s/%s: address %v is not IPv4", s.Namespace, s.IfName, s.Address)
	}
	if s.MAC != nil && len(s.MAC) != 6 {
		return fmt.Errorf("netns: attach %s/%s: MAC %v is not 6 bytes", s.Namespace, s.IfName, s.MAC)
	}
	if len(s.ExtraRoutes) > 0 && (!s.Gateway.IsValid() || !s.Gateway.Is4()) {
		return fmt.Errorf("netns: attach %s/%s: extra routes need an IPv4 gateway", s.Namespace, s.IfName)
	}
	for _, r := range s.ExtraRoutes {
		if !r.IsValid() || !r.Addr().Is4() {
			return fmt.Errorf("netns: attach %s/%s: route %v is not IPv4", s.Namespace, s.IfName, r)
		}
		if r.Bits() == 0 {
			return fmt.Errorf("netns: attach %s/%s: default route %v refused", s.Namespace, s.IfName, r)
		}
	}
	return nil
}

// portAlias is kept on the namespace-side interface so that a re-Attach
// with a changed address knows which old address to remove, without
// touching secondary addresses (VIPs) added by AddAddress or by VRRP.
func portAlias(networkID string, addr netip.Prefix) string {
	if !addr.IsValid() {
		return fmt.Sprintf("lbaas-port net=%s", networkID)
	}
	return fmt.Sprintf("lbaas-port net=%s addr=%s", networkID, addr)
}

func parsePortAddr(alias string) (netip.Prefix, bool) {
	for _, f := range strings.Fields(alias) {
		if v, ok := strings.CutPrefix(f, "addr="); ok {
			p, err := netip.ParsePrefix(v)
			return p, err == nil
		}
	}
	return netip.Prefix{}, false
}

// Attach connects spec.Namespace to a network: a veth pair whose inner end
// (spec.IfName) carries the address and is up, together with lo, and whose
// outer end (PortName) is a port of the network's bridge and is up.
//
// Idempotent: repeating the same spec changes nothing; a changed address,
// MAC, network or route set is corrected in place on the existing pair. A
// pair that is broken (one end missing or paired elsewhere) is recreated.
func (f *Fabric) Attach(spec AttachSpec) error {
	if err := spec.validate(); err != nil {
		return err
	}
	id := canonicalID(spec.NetworkID)
	if ok, err := Exists(spec.Namespace); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("netns: attach: namespace %q does not exist", spec.Namespace)
	}
	port := f.PortName(spec.Namespace, spec.IfName)
	return withHandle(f.ns, func(hf *netlink.Handle, _ int) error {
		br, cidr, err := f.network(hf, id)
		if err != nil {
			return err
		}
		if spec.Address.IsValid() && !cidr.Contains(spec.Address.Addr()) {
			return fmt.Errorf("netns: attach: address %v outside network %s (%v)", spec.Address, id, cidr)
		}
		if len(spec.ExtraRoutes) > 0 && !cidr.Contains(spec.Gateway) {
			return fmt.Errorf("netns: attach: gateway %v outside network %s (%v)", spec.Gateway, id, cidr)
		}
		return withHandle(spec.Namespace, func(ht *netlink.Handle, nsFd int) error {
			inner, outer, err := ensureVeth(hf, ht, nsFd, port, spec.IfName)
			if err != nil {
				return err
			}
			if outer.Attrs().MasterIndex != br.Attrs().Index {
				if err := hf.LinkSetMaster(outer, br); err != nil {
					return fmt.Errorf("netns: enslave %s to %s: %w", port, br.Attrs().Name, err)
				}
			}
			if spec.MTU > 0 {
				for _, e := range []struct {
					h *netlink.Handle
					l netlink.Link
				}{{hf, outer}, {ht, inner}} {
					if e.l.Attrs().MTU != spec.MTU {
						if err := e.h.LinkSetMTU(e.l, spec.MTU); err != nil {
							return fmt.Errorf("netns: set MTU of %s: %w", e.l.Attrs().Name, err)
						}
					}
				}
			}
			if err := hf.LinkSetUp(outer); err != nil {
				return fmt.Errorf("netns: set %s up: %w", port, err)
			}
			return configureInner(ht, inner, spec, id)
		})
	})
}

// ensureVeth returns an existing, correctly paired veth or creates one.
func ensureVeth(hf, ht *netlink.Handle, nsFd int, port, ifname string) (inner, outer netlink.Link, err error) {
	if inner, err = linkByName(ht, ifname); err != nil {
		return nil, nil, err
	}
	if outer, err = linkByName(hf, port); err != nil {
		return nil, nil, err
	}
	if paired(inner, outer) {
		return inner, outer, nil
	}
	for _, l := range []struct {
		h    *netlink.Handle
		link netlink.Link
	}{{ht, inner}, {hf, outer}} {
		if l.link == nil {
			continue
		}
		if _, ok := l.link.(*netlink.Veth); !ok {
			return nil, nil, fmt.Errorf("netns: %s exists and is a %s, not our veth", l.link.Attrs().Name, l.link.Type())
		}
		if err := delLink(l.h, l.link); err != nil {
			return nil, nil, err
		}
	}
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: port},
		PeerName:      ifname,
		PeerNamespace: netlink.NsFd(nsFd),
	}
	if err := hf.LinkAdd(veth); err != nil {
		return nil, nil, fmt.Errorf("netns: create veth %s/%s: %w", port, ifname, err)
	}
	if inner, err = linkByName(ht, ifname); err == nil && inner == nil {
		err = fmt.Errorf("netns: veth end %s missing after creation", ifname)
	}
	if err != nil {
		return nil, nil, err
	}
	if outer, err = linkByName(hf, port); err == nil && outer == nil {
		err = fmt.Errorf("netns: veth end %s missing after creation", port)
	}
	return inner, outer, err
}

// paired reports whether inner and outer are the two ends of one veth. For a
// veth, IFLA_LINK (ParentIndex) is the peer's ifindex in the peer's
// namespace.
func paired(inner, outer netlink.Link) bool {
	if inner == nil || outer == nil {
		return false
	}
	_, ok1 := inner.(*netlink.Veth)
	_, ok2 := outer.(*netlink.Veth)
	return ok1 && ok2 &&
		inner.Attrs().ParentIndex == outer.Attrs().Index &&
		outer.Attrs().ParentIndex == inner.Attrs().Index
}

func configureInner(ht *netlink.Handle, inner netlink.Link, spec AttachSpec, id string) error {
	name := spec.IfName
	if spec.MAC != nil && inner.Attrs().HardwareAddr.String() != spec.MAC.String() {
		if err := ht.LinkSetHardwareAddr(inner, spec.MAC); err != nil {
			return fmt.Errorf("netns: set MAC of %s: %w", name, err)
		}
	}
	lo, err := linkByName(ht, "lo")
	if err != nil {
		return err
	}
	if lo != nil {
		if err := ht.LinkSetUp(lo); err != nil {
			return fmt.Errorf("netns: set lo up in %q: %w", spec.Namespace, err)
		}
	}
	// Without promote_secondaries, deleting the primary address of a subnet
	// silently deletes every secondary one too, VIPs included.
	if err := setSysctlParts(spec.Namespace, []string{"net", "ipv4", "conf", name, "promote_secondaries"}, "1"); err != nil {
		return err
	}
	if err := ht.LinkSetUp(inner); err != nil {
		return fmt.Errorf("netns: set %s up: %w", name, err)
	}
	// Add the new address before removing the old one, so that a secondary
	// in the same subnet is never left without a primary.
	if spec.Address.IsValid() {
		if err := ensureAddr(ht, inner, spec.Address); err != nil {
			return err
		}
	}
	if old, ok := parsePortAddr(inner.Attrs().Alias); ok && old.Addr() != spec.Address.Addr() {
		if err := delAddrIP(ht, inner, old.Addr()); err != nil {
			return err
		}
	}
	if want := portAlias(id, spec.Address); inner.Attrs().Alias != want {
		if err := ht.LinkSetAlias(inner, want); err != nil {
			return fmt.Errorf("netns: label %s: %w", name, err)
		}
	}
	return ensureRoutes(ht, inner, spec.Gateway, spec.ExtraRoutes)
}

func ensureRoutes(h *netlink.Handle, l netlink.Link, gw netip.Addr, prefixes []netip.Prefix) error {
	want := make(map[netip.Prefix]bool, len(prefixes))
	for _, p := range prefixes {
		p = p.Masked()
		want[p] = true
		r := &netlink.Route{
			LinkIndex: l.Attrs().Index,
			Dst:       ipNet(p),
			Gw:        ipOf(gw),
			Protocol:  routeProtocol,
		}
		if err := h.RouteReplace(r); err != nil {
			return fmt.Errorf("netns: route %v via %v dev %s: %w", p, gw, l.Attrs().Name, err)
		}
	}
	routes, err := h.RouteListFiltered(netlink.FAMILY_V4,
		&netlink.Route{LinkIndex: l.Attrs().Index, Protocol: routeProtocol},
		netlink.RT_FILTER_OIF|netlink.RT_FILTER_PROTOCOL)
	if err != nil {
		return fmt.Errorf("netns: list routes of %s: %w", l.Attrs().Name, err)
	}
	for _, r := range routes {
		p, ok := prefixOf(r.Dst)
		if ok && want[p] && r.Gw.Equal(ipOf(gw)) {
			continue
		}
		if err := h.RouteDel(&r); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("netns: delete stale route %v: %w", r.Dst, err)
		}
	}
	return nil
}

// Detach removes the veth pair of ifname in namespace. Idempotent: missing
// namespaces and interfaces are fine. Both ends are deleted explicitly so
// that a half-broken pair cannot leave a stray port on a bridge.
func (f *Fabric) Detach(namespace, ifname string) error {
	if err := ValidateName(namespace); err != nil {
		return err
	}
	if err := ValidateIfName(ifname); err != nil {
		return err
	}
	if ok, err := Exists(namespace); err != nil {
		return err
	} else if ok {
		err := withHandle(namespace, func(h *netlink.Handle, _ int) error {
			l, err := linkByName(h, ifname)
			if err != nil || l == nil {
				return err
			}
			if _, ok := l.(*netlink.Veth); !ok {
				return fmt.Errorf("netns: detach: %s in %q is a %s, not our veth", ifname, namespace, l.Type())
			}
			return delLink(h, l)
		})
		if err != nil {
			return err
		}
	}
	if ok, err := Exists(f.ns); err != nil || !ok {
		return err
	}
	port := f.PortName(namespace, ifname)
	return withHandle(f.ns, func(h *netlink.Handle, _ int) error {
		l, err := linkByName(h, port)
		if err != nil || l == nil {
			return err
		}
		return delLink(h, l)
	})
}

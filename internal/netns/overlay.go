package netns

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// A host's share of a network is its bridge in the fabric namespace; what
// joins that bridge to the other hosts is its uplink, one per network:
//
//   - vxlan: a VXLAN device, made in the host namespace (where the tunnel
//     address lives, so its UDP socket stays there) and moved into the
//     fabric namespace as a bridge port. Broadcast and unknown frames go to
//     every VTEP of the flood list (all-zero FDB entries, one per other
//     host, as l2population programs them); the device learns which VTEP
//     answers for which MAC, so unicast goes to one host.
//   - vlan: a VLAN sub-interface of the physical network's mapped
//     interface, made in the host namespace and moved likewise.
//   - flat: the mapped interface itself. A bridge of the host namespace
//     gets a veth patch (one end its port, the other ours); any other
//     interface is given to the fabric whole, and handed back when no
//     network uses it.
//
// Uplinks carry an alias naming their network, so a restarted agent finds
// them and PruneUplinks removes those of networks the host no longer
// carries. Without a tunnel address (the all-in-one, whose agents share one
// fabric) a vxlan network has no uplink: its bridge is all of it.

// VXLANPort is the IANA port of VXLAN.
const VXLANPort = 4789

// Segment is how the host joins a network to the other hosts.
type Segment struct {
	Type            string // "vxlan", "vlan", "flat"; "" or "local": no uplink
	PhysicalNetwork string
	SegmentationID  int
	// MTU of the network's ports and bridge (0: leave as is).
	MTU int
	// VTEPs are the other hosts' tunnel addresses (vxlan).
	VTEPs []netip.Addr
}

const uplinkAliasPrefix = "lbaas-uplink"

func uplinkAlias(networkID string) string { return uplinkAliasPrefix + " net=" + networkID }

func parseUplinkAlias(alias string) (string, bool) {
	rest, ok := strings.CutPrefix(alias, uplinkAliasPrefix+" net=")
	return rest, ok && rest != ""
}

// inHost runs fn with a netlink handle in the host namespace: the named
// one, or the namespace the process runs in.
func (f *Fabric) inHost(fn func(h *netlink.Handle) error) error {
	if f.hostNS != "" {
		return withHandle(f.hostNS, func(h *netlink.Handle, _ int) error { return fn(h) })
	}
	h, err := netlink.NewHandle()
	if err != nil {
		return fmt.Errorf("netns: netlink in the host namespace: %w", err)
	}
	defer h.Delete()
	return fn(h)
}

// CheckMappings reports the physical networks whose mapped interface
// exists (in the host namespace, or already in the fabric), and an error
// for each that does not. A tunnel address that is not on the host is an
// error too.
func (f *Fabric) CheckMappings() (ok []string, problems []string) {
	for _, physnet := range slices.Sorted(maps.Keys(f.mappings)) {
		ifname := f.mappings[physnet]
		if f.findMapped(ifname) {
			ok = append(ok, physnet)
		} else {
			problems = append(problems, fmt.Sprintf("physical network %s: no interface %s on this host", physnet, ifname))
		}
	}
	if f.localIP.IsValid() {
		found := false
		_ = f.inHost(func(h *netlink.Handle) error {
			addrs, err := h.AddrList(nil, netlink.FAMILY_V4)
			for _, a := range addrs {
				if p, ok := prefixOf(a.IPNet); ok && p.Addr() == f.localIP {
					found = true
				}
			}
			return err
		})
		if !found {
			problems = append(problems, fmt.Sprintf("tunnel address %s is not an address of this host", f.localIP))
		}
	}
	return ok, problems
}

func (f *Fabric) findMapped(ifname string) bool {
	found := false
	_ = f.inHost(func(h *netlink.Handle) error {
		l, err := linkByName(h, ifname)
		found = l != nil
		return err
	})
	if found {
		return true
	}
	if ok, _ := Exists(f.ns); ok {
		_ = withHandle(f.ns, func(h *netlink.Handle, _ int) error {
			l, err := linkByName(h, ifname)
			found = l != nil
			return err
		})
	}
	return found
}

// UplinkName is the name of a network's VXLAN device, VLAN sub-interface
// or flat patch in the fabric.
func (f *Fabric) UplinkName(networkID string) string {
	return hashName("ul", nameHexChars, canonicalID(networkID))
}

// EnsureUplink joins the network's bridge (EnsureNetwork first) to the
// other hosts as seg says, and sets the bridge's MTU. Idempotent; a changed
// flood list is corrected in place.
func (f *Fabric) EnsureUplink(networkID string, seg Segment) error {
	id := canonicalID(networkID)
	name := f.UplinkName(id)
	err := withHandle(f.ns, func(hf *netlink.Handle, fabricFd int) error {
		br, _, err := f.network(hf, id)
		if err != nil {
			return err
		}
		if seg.MTU > 0 && br.Attrs().MTU != seg.MTU {
			if err := hf.LinkSetMTU(br, seg.MTU); err != nil {
				return fmt.Errorf("netns: set MTU of %s: %w", br.Attrs().Name, err)
			}
		}
		var up netlink.Link
		switch seg.Type {
		case "vxlan":
			if !f.localIP.IsValid() {
				return nil // one shared fabric: the bridge is the network
			}
			if up, err = f.ensureVXLAN(hf, fabricFd, id, name, seg); err != nil {
				return err
			}
		case "vlan", "flat":
			ifname, ok := f.mappings[seg.PhysicalNetwork]
			if !ok {
				if len(f.mappings) == 0 && !f.localIP.IsValid() {
					return nil // a single-host node: every network is local
				}
				return fmt.Errorf("netns: network %s: physical network %s is not mapped on this host", id, seg.PhysicalNetwork)
			}
			if seg.Type == "vlan" {
				up, err = f.ensureVLAN(hf, fabricFd, id, name, ifname, seg.SegmentationID)
			} else {
				up, err = f.ensureFlat(hf, fabricFd, id, name, ifname)
			}
			if err != nil {
				return err
			}
		default:
			return nil
		}
		if up.Attrs().MasterIndex != br.Attrs().Index {
			if err := hf.LinkSetMaster(up, br); err != nil {
				return fmt.Errorf("netns: enslave %s to %s: %w", up.Attrs().Name, br.Attrs().Name, err)
			}
		}
		if err := hf.LinkSetUp(up); err != nil {
			return fmt.Errorf("netns: set %s up: %w", up.Attrs().Name, err)
		}
		if seg.Type == "vxlan" {
			return syncFlood(hf, up, seg.VTEPs)
		}
		return nil
	})
	return err
}

// ensureVXLAN returns the network's VXLAN device in the fabric, made if
// missing or if it is not what seg says.
func (f *Fabric) ensureVXLAN(hf *netlink.Handle, fabricFd int, id, name string, seg Segment) (netlink.Link, error) {
	l, err := linkByName(hf, name)
	if err != nil {
		return nil, err
	}
	if vx, ok := l.(*netlink.Vxlan); ok && vx.VxlanId == seg.SegmentationID && vx.Port == VXLANPort &&
		vx.SrcAddr.Equal(ipOf(f.localIP)) && (seg.MTU == 0 || vx.MTU == seg.MTU) {
		return l, nil
	}
	if l != nil {
		if err := delLink(hf, l); err != nil {
			return nil, err
		}
	}
	vx := &netlink.Vxlan{
		LinkAttrs: netlink.LinkAttrs{Name: name, MTU: seg.MTU},
		VxlanId:   seg.SegmentationID,
		SrcAddr:   ipOf(f.localIP),
		Port:      VXLANPort,
		// Learning fills the unicast entries from the frames that arrive;
		// the flood list is ours (syncFlood).
		Learning: true,
	}
	return f.makeInHostAndMove(hf, fabricFd, vx, id)
}

// ensureVLAN returns the network's VLAN sub-interface of ifname.
func (f *Fabric) ensureVLAN(hf *netlink.Handle, fabricFd int, id, name, ifname string, vid int) (netlink.Link, error) {
	l, err := linkByName(hf, name)
	if err != nil {
		return nil, err
	}
	if v, ok := l.(*netlink.Vlan); ok && v.VlanId == vid {
		return l, nil
	}
	if l != nil {
		if err := delLink(hf, l); err != nil {
			return nil, err
		}
	}
	var parent netlink.Link
	err = f.inHost(func(h *netlink.Handle) error {
		parent, err = linkByName(h, ifname)
		return err
	})
	if err != nil {
		return nil, err
	}
	if parent == nil {
		return nil, fmt.Errorf("netns: network %s: interface %s of its physical network is not on this host", id, ifname)
	}
	vl := &netlink.Vlan{LinkAttrs: netlink.LinkAttrs{Name: name, ParentIndex: parent.Attrs().Index}, VlanId: vid}
	up, err := f.makeInHostAndMove(hf, fabricFd, vl, id)
	if err != nil {
		return nil, err
	}
	// The parent must be up for its VLANs to carry anything.
	err = f.inHost(func(h *netlink.Handle) error { return h.LinkSetUp(parent) })
	return up, err
}

// makeInHostAndMove creates l in the host namespace, labels it as the
// network's uplink and moves it into the fabric.
func (f *Fabric) makeInHostAndMove(hf *netlink.Handle, fabricFd int, l netlink.Link, id string) (netlink.Link, error) {
	name := l.Attrs().Name
	err := f.inHost(func(h *netlink.Handle) error {
		if old, err := linkByName(h, name); err != nil {
			return err
		} else if old != nil {
			// Left behind by a crash between creation and move.
			if err := delLink(h, old); err != nil {
				return err
			}
		}
		if err := h.LinkAdd(l); err != nil {
			return fmt.Errorf("netns: create %s %s: %w", l.Type(), name, err)
		}
		made, err := linkByName(h, name)
		if err != nil || made == nil {
			return fmt.Errorf("netns: %s vanished after creation: %v", name, err)
		}
		if err := h.LinkSetAlias(made, uplinkAlias(id)); err != nil {
			return err
		}
		if err := h.LinkSetNsFd(made, fabricFd); err != nil {
			_ = h.LinkDel(made)
			return fmt.Errorf("netns: move %s into the fabric: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	up, err := linkByName(hf, name)
	if err == nil && up == nil {
		err = fmt.Errorf("netns: %s missing from the fabric after the move", name)
	}
	return up, err
}

// ensureFlat returns the bridge port that is the physical network itself:
// a veth patch to a host bridge, or the mapped interface moved in whole.
func (f *Fabric) ensureFlat(hf *netlink.Handle, fabricFd int, id, name, ifname string) (netlink.Link, error) {
	if l, err := linkByName(hf, ifname); err != nil || l != nil {
		// Moved in by an earlier pass.
		if l != nil && l.Attrs().Alias != uplinkAlias(id) {
			err = hf.LinkSetAlias(l, uplinkAlias(id))
		}
		return l, err
	}
	if l, err := linkByName(hf, name); err != nil || l != nil {
		return l, err // our patch
	}
	var moved bool
	err := f.inHost(func(h *netlink.Handle) error {
		phys, err := linkByName(h, ifname)
		if err != nil {
			return err
		}
		if phys == nil {
			return fmt.Errorf("netns: network %s: interface %s of its physical network is not on this host", id, ifname)
		}
		if _, isBridge := phys.(*netlink.Bridge); isBridge {
			hostEnd := hashName("uh", nameHexChars, canonicalID(id))
			if old, _ := linkByName(h, hostEnd); old != nil {
				_ = delLink(h, old)
			}
			veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: hostEnd, MasterIndex: phys.Attrs().Index, Alias: uplinkAlias(id)}, PeerName: name, PeerNamespace: netlink.NsFd(fabricFd)}
			if err := h.LinkAdd(veth); err != nil {
				return fmt.Errorf("netns: patch %s to bridge %s: %w", name, ifname, err)
			}
			if he, err := linkByName(h, hostEnd); err == nil && he != nil {
				_ = h.LinkSetAlias(he, uplinkAlias(id))
				return h.LinkSetUp(he)
			}
			return nil
		}
		if err := h.LinkSetAlias(phys, uplinkAlias(id)); err != nil {
			return err
		}
		moved = true
		return h.LinkSetNsFd(phys, fabricFd)
	})
	if err != nil {
		return nil, err
	}
	want := name
	if moved {
		want = ifname
	}
	l, err := linkByName(hf, want)
	if err == nil && l == nil {
		err = fmt.Errorf("netns: %s missing from the fabric", want)
	}
	if err == nil && !moved {
		err = hf.LinkSetAlias(l, uplinkAlias(id))
	}
	return l, err
}

// syncFlood makes the VXLAN device's all-zero FDB entries (where broadcast
// and unknown unicast go) exactly one per VTEP.
func syncFlood(h *netlink.Handle, vx netlink.Link, vteps []netip.Addr) error {
	want := map[netip.Addr]bool{}
	for _, v := range vteps {
		want[v] = true
	}
	entries, err := floodEntries(h, vx)
	if err != nil {
		return err
	}
	for a, n := range entries {
		if want[a] {
			delete(want, a)
			continue
		}
		if err := h.NeighDel(&n); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("netns: remove VTEP %v from %s: %w", n.IP, vx.Attrs().Name, err)
		}
	}
	zero := net.HardwareAddr{0, 0, 0, 0, 0, 0}
	for a := range want {
		n := &netlink.Neigh{LinkIndex: vx.Attrs().Index, Family: unix.AF_BRIDGE, Flags: netlink.NTF_SELF,
			State: netlink.NUD_PERMANENT | netlink.NUD_NOARP, HardwareAddr: zero, IP: ipOf(a)}
		if err := h.NeighAppend(n); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("netns: add VTEP %v to %s: %w", a, vx.Attrs().Name, err)
		}
	}
	return nil
}

// floodEntries returns a VXLAN device's all-zero FDB entries by VTEP.
func floodEntries(h *netlink.Handle, vx netlink.Link) (map[netip.Addr]netlink.Neigh, error) {
	neighs, err := h.NeighList(vx.Attrs().Index, unix.AF_BRIDGE)
	if err != nil {
		return nil, fmt.Errorf("netns: read FDB of %s: %w", vx.Attrs().Name, err)
	}
	out := map[netip.Addr]netlink.Neigh{}
	for _, n := range neighs {
		if n.HardwareAddr.String() != "00:00:00:00:00:00" || n.IP == nil {
			continue
		}
		if a, ok := netip.AddrFromSlice(n.IP); ok {
			out[a.Unmap()] = n
		}
	}
	return out, nil
}

// FloodList returns the VTEPs a network's VXLAN device floods to.
func (f *Fabric) FloodList(networkID string) ([]netip.Addr, error) {
	var out []netip.Addr
	err := withHandle(f.ns, func(h *netlink.Handle, _ int) error {
		l, err := linkByName(h, f.UplinkName(canonicalID(networkID)))
		if err != nil || l == nil {
			return err
		}
		entries, err := floodEntries(h, l)
		for a := range entries {
			out = append(out, a)
		}
		return err
	})
	slices.SortFunc(out, func(a, b netip.Addr) int { return a.Compare(b) })
	return out, err
}

// PruneUplinks removes the uplinks of networks not in keep: VXLAN and VLAN
// devices are deleted, a patch is deleted with its host end, an interface
// given whole goes back to the host namespace.
func (f *Fabric) PruneUplinks(keep map[string]bool) error {
	if ok, err := Exists(f.ns); err != nil || !ok {
		return err
	}
	return withHandle(f.ns, func(hf *netlink.Handle, _ int) error {
		links, err := hf.LinkList()
		if err != nil {
			return err
		}
		var errs []error
		for _, l := range links {
			id, ok := parseUplinkAlias(l.Attrs().Alias)
			if !ok || keep[id] {
				continue
			}
			if l.Attrs().Name == f.UplinkName(id) {
				// Ours: a VXLAN or VLAN device, or a patch (whose host
				// end goes with it).
				errs = append(errs, delLink(hf, l))
			} else {
				// The host's interface, given whole: never deleted.
				errs = append(errs, f.giveBack(hf, l))
			}
		}
		return errors.Join(errs...)
	})
}

// giveBack moves an interface given to the fabric back to the host.
func (f *Fabric) giveBack(hf *netlink.Handle, l netlink.Link) error {
	_ = hf.LinkSetNoMaster(l)
	_ = hf.LinkSetAlias(l, "")
	var fd int
	if f.hostNS != "" {
		ns, err := vnetns.GetFromPath(Path(f.hostNS))
		if err != nil {
			return err
		}
		defer ns.Close()
		fd = int(ns)
	} else {
		ns, err := vnetns.Get()
		if err != nil {
			return err
		}
		defer ns.Close()
		fd = int(ns)
	}
	if err := hf.LinkSetNsFd(l, fd); err != nil {
		return fmt.Errorf("netns: give %s back to the host: %w", l.Attrs().Name, err)
	}
	return nil
}

// ParseMappings reads "physnet:ifname,..." (neutron-linuxbridge-agent's
// physical_interface_mappings).
func ParseMappings(items []string) (map[string]string, error) {
	out := map[string]string{}
	for _, it := range items {
		physnet, ifname, ok := strings.Cut(strings.TrimSpace(it), ":")
		if !ok || physnet == "" || ifname == "" {
			return nil, fmt.Errorf("mapping %q is not PHYSNET:INTERFACE", it)
		}
		if err := ValidateIfName(ifname); err != nil {
			return nil, fmt.Errorf("mapping %q: %w", it, err)
		}
		if _, dup := out[physnet]; dup {
			return nil, fmt.Errorf("physical network %s is mapped twice", physnet)
		}
		out[physnet] = ifname
	}
	return out, nil
}

package netns

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"strings"

	"github.com/google/uuid"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// DefaultFabricNamespace is the namespace that holds the network bridges
// when FabricOptions.Namespace is empty.
const DefaultFabricNamespace = "lbaas-fabric"

// maxPrefixLen keeps prefix + 10 hex digits within the 15-byte ifname limit.
const (
	maxPrefixLen = 5
	nameHexChars = 10
)

// FabricOptions configures a Fabric. The zero value is the production
// default.
type FabricOptions struct {
	// Namespace holds one bridge per network. Default DefaultFabricNamespace.
	Namespace string
	// BridgePrefix starts every bridge name (at most 5 bytes). Default "br".
	BridgePrefix string
	// PortPrefix starts the fabric-side end of every veth pair (at most 5
	// bytes). Default "vp".
	PortPrefix string
	// HostNamespace is where the host's own interfaces live: its tunnel
	// address and the interfaces physical networks map to. Empty: the
	// namespace the process runs in (the root namespace of a real host);
	// tests that simulate hosts name one each.
	HostNamespace string
	// LocalIP is the host's tunnel address (VXLAN endpoint). Invalid: no
	// overlay; every agent of the machine shares the fabric.
	LocalIP netip.Addr
	// Mappings map physical networks to interfaces of the host namespace.
	Mappings map[string]string
}

// Fabric is the local network driver: every Neutron network is a Linux
// bridge inside one fabric namespace, and a namespace joins a network
// through a veth pair whose outer end is a port of that bridge. A Fabric
// holds no state of its own; the kernel is the only source of truth, so
// several Fabric values (or a restarted agent) see the same networks.
type Fabric struct {
	ns           string
	bridgePrefix string
	portPrefix   string
	hostNS       string
	localIP      netip.Addr
	mappings     map[string]string
}

// NetworkSpec describes one network of the fabric.
type NetworkSpec struct {
	// ID is the Neutron network UUID; the bridge name is derived from it.
	ID string
	// CIDR is the network's IPv4 subnet; Attach refuses addresses and
	// gateways outside it.
	CIDR netip.Prefix
}

// NewFabric validates opts and returns a Fabric. It does not touch the
// kernel: the fabric namespace is created by the first EnsureNetwork.
func NewFabric(opts FabricOptions) (*Fabric, error) {
	f := &Fabric{ns: opts.Namespace, bridgePrefix: opts.BridgePrefix, portPrefix: opts.PortPrefix,
		hostNS: opts.HostNamespace, localIP: opts.LocalIP, mappings: opts.Mappings}
	if f.hostNS != "" {
		if err := ValidateName(f.hostNS); err != nil {
			return nil, err
		}
	}
	if f.localIP.IsValid() && !f.localIP.Is4() {
		return nil, fmt.Errorf("netns: tunnel address %v is not IPv4", f.localIP)
	}
	for physnet, ifname := range f.mappings {
		if err := ValidateIfName(ifname); err != nil {
			return nil, fmt.Errorf("netns: mapping of %s: %w", physnet, err)
		}
	}
	if f.ns == "" {
		f.ns = DefaultFabricNamespace
	}
	if f.bridgePrefix == "" {
		f.bridgePrefix = "br"
	}
	if f.portPrefix == "" {
		f.portPrefix = "vp"
	}
	if err := ValidateName(f.ns); err != nil {
		return nil, err
	}
	for _, p := range []string{f.bridgePrefix, f.portPrefix} {
		if len(p) > maxPrefixLen {
			return nil, fmt.Errorf("netns: link prefix %q longer than %d bytes", p, maxPrefixLen)
		}
		if err := ValidateIfName(p); err != nil {
			return nil, err
		}
	}
	if f.bridgePrefix == f.portPrefix {
		return nil, errors.New("netns: bridge and port prefixes must differ")
	}
	return f, nil
}

// Namespace returns the name of the fabric namespace.
func (f *Fabric) Namespace() string { return f.ns }

// BridgeName returns the deterministic bridge name of a network id.
func (f *Fabric) BridgeName(networkID string) string {
	return hashName(f.bridgePrefix, nameHexChars, canonicalID(networkID))
}

// PortName returns the deterministic name of the fabric-side veth end that
// connects ifname inside namespace.
func (f *Fabric) PortName(namespace, ifname string) string {
	return hashName(f.portPrefix, nameHexChars, namespace, ifname)
}

func canonicalID(id string) string {
	if u, err := uuid.Parse(id); err == nil {
		return u.String()
	}
	return id
}

// bridgeAlias is stored in the bridge's IFLA_IFALIAS so that the kernel,
// not agent memory, remembers which network a bridge belongs to: a hash
// collision is detected and Attach can check addresses against the CIDR
// after an agent restart.
func bridgeAlias(id string, cidr netip.Prefix) string {
	return fmt.Sprintf("lbaas-net id=%s cidr=%s", id, cidr)
}

func parseBridgeAlias(alias string) (id string, cidr netip.Prefix, ok bool) {
	fields := strings.Fields(alias)
	if len(fields) != 3 || fields[0] != "lbaas-net" {
		return "", netip.Prefix{}, false
	}
	id, ok1 := strings.CutPrefix(fields[1], "id=")
	c, ok2 := strings.CutPrefix(fields[2], "cidr=")
	p, err := netip.ParsePrefix(c)
	return id, p, ok1 && ok2 && err == nil
}

func (s NetworkSpec) validate() error {
	if _, err := uuid.Parse(s.ID); err != nil {
		return fmt.Errorf("netns: network id %q is not a UUID", s.ID)
	}
	if !s.CIDR.IsValid() || !s.CIDR.Addr().Is4() || s.CIDR.Bits() == 0 {
		return fmt.Errorf("netns: network %s: CIDR %v is not a specific IPv4 prefix", s.ID, s.CIDR)
	}
	return nil
}

// EnsureNetwork creates the network's bridge in the fabric namespace (and
// the namespace itself) if needed, records the spec on the bridge and sets
// it up. Idempotent; a changed CIDR is recorded in place.
func (f *Fabric) EnsureNetwork(spec NetworkSpec) error {
	if err := spec.validate(); err != nil {
		return err
	}
	id := canonicalID(spec.ID)
	cidr := spec.CIDR.Masked()
	if err := Ensure(f.ns); err != nil {
		return err
	}
	if err := skipBridgeNetfilter(f.ns); err != nil {
		return err
	}
	name := f.BridgeName(id)
	return withHandle(f.ns, func(h *netlink.Handle, _ int) error {
		l, err := linkByName(h, name)
		if err != nil {
			return err
		}
		if l == nil {
			// STP stays off (the default): a bridge per L2 segment with no
			// loops, and ports then forward at once instead of after the
			// 15 s forwarding delay.
			br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}
			// Agents of one host share the fabric: another may have
			// made the bridge since the look-up (two VMs of a new load
			// balancer plumb at once). Its bridge is as good as ours.
			if err := h.LinkAdd(br); err != nil && !errors.Is(err, unix.EEXIST) {
				return fmt.Errorf("netns: create bridge %s for network %s: %w", name, id, err)
			}
			if l, err = linkByName(h, name); err != nil || l == nil {
				return fmt.Errorf("netns: bridge %s vanished after creation: %v", name, err)
			}
		}
		if _, ok := l.(*netlink.Bridge); !ok {
			return fmt.Errorf("netns: %s in %q is a %s, not a bridge", name, f.ns, l.Type())
		}
		if oldID, _, ok := parseBridgeAlias(l.Attrs().Alias); ok && oldID != id {
			return fmt.Errorf("netns: bridge name %s collides: used by network %s, wanted for %s", name, oldID, id)
		}
		if want := bridgeAlias(id, cidr); l.Attrs().Alias != want {
			if err := h.LinkSetAlias(l, want); err != nil {
				return fmt.Errorf("netns: label bridge %s: %w", name, err)
			}
		}
		if err := h.LinkSetUp(l); err != nil {
			return fmt.Errorf("netns: set %s up: %w", name, err)
		}
		return nil
	})
}

// network looks up an ensured network's bridge and recorded CIDR.
func (f *Fabric) network(h *netlink.Handle, id string) (netlink.Link, netip.Prefix, error) {
	name := f.BridgeName(id)
	l, err := linkByName(h, name)
	if err != nil {
		return nil, netip.Prefix{}, err
	}
	if l == nil {
		return nil, netip.Prefix{}, fmt.Errorf("netns: network %s has no bridge (call EnsureNetwork first)", id)
	}
	gotID, cidr, ok := parseBridgeAlias(l.Attrs().Alias)
	if !ok || gotID != id {
		return nil, netip.Prefix{}, fmt.Errorf("netns: bridge %s does not belong to network %s", name, id)
	}
	return l, cidr, nil
}

// DeleteNetwork removes the network's bridge and every veth pair attached to
// it (the namespace-side ends disappear with their peers). Idempotent.
func (f *Fabric) DeleteNetwork(id string) error {
	id = canonicalID(id)
	if ok, err := Exists(f.ns); err != nil || !ok {
		return err
	}
	return withHandle(f.ns, func(h *netlink.Handle, _ int) error {
		br, err := linkByName(h, f.BridgeName(id))
		if err != nil || br == nil {
			return err
		}
		if gotID, _, ok := parseBridgeAlias(br.Attrs().Alias); ok && gotID != id {
			return fmt.Errorf("netns: bridge %s belongs to network %s, not %s", br.Attrs().Name, gotID, id)
		}
		links, err := h.LinkList()
		if err != nil {
			return fmt.Errorf("netns: list links in %q: %w", f.ns, err)
		}
		for _, l := range links {
			if l.Attrs().MasterIndex == br.Attrs().Index {
				if err := delLink(h, l); err != nil {
					return err
				}
			}
		}
		return delLink(h, br)
	})
}

// Teardown deletes the fabric namespace and with it every bridge and every
// fabric-side port. Idempotent.
func (f *Fabric) Teardown() error { return Delete(f.ns) }

// skipBridgeNetfilter keeps frames crossing the fabric's bridges out of the
// IP firewall hooks. When br_netfilter is loaded (container runtimes load
// it), every new namespace starts with bridge-nf-call-* on, and each
// bridged packet then pays for a pseudo-route lookup and the IP hooks,
// although nothing in the fabric filters at the IP layer: NAT lives in the
// router namespace, and filtering in the load balancers' own namespaces.
// Without br_netfilter the keys do not exist and there is nothing to skip.
func skipBridgeNetfilter(ns string) error {
	for _, key := range []string{"net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables", "net.bridge.bridge-nf-call-arptables"} {
		if err := SetSysctl(ns, key, "0"); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

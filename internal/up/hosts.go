package up

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/vishvananda/netlink"

	"lbaas/internal/netns"
)

// Simulated hosts (Options.Hosts). One machine plays several: each agent's
// host is a namespace of its own, as a real host's root namespace is:
//
//	<prefix>wires        the physical world: the underlay bridge that joins
//	                     the hosts' eth0 (10.255.0.0/24, the tunnel
//	                     addresses), and the public wire (a bridge of the
//	                     Public network) that the network node's eth1 and
//	                     the clients are on
//	<prefix>h-<node>     a host: eth0 on the underlay; eth1 on the public
//	                     wire for a network node (--physical-interface-
//	                     mappings public:eth1)
//	<prefix>f-<node>     that host's fabric: its bridges, joined to the
//	                     other hosts' by VXLAN devices the agent makes
//
// No bridge is shared between hosts: every frame between two of them
// crosses the underlay as VXLAN (UDP 4789), or the public wire.
// Tenants' servers (StartBackend) are on their own host, ServersNode, whose
// agent carries the networks of the ports bound to it, as a hypervisor's
// L2 agent does.

// ServersNode is the simulated host of tenants' servers.
const ServersNode = "servers-1"

// UnderlayCIDR is the simulated hosts' underlay.
var UnderlayCIDR = netip.MustParsePrefix("10.255.0.0/24")

func (c *Cluster) wiresNamespace() string { return c.o.Prefix + "wires" }

// HostNamespace is a simulated host's namespace.
func (c *Cluster) HostNamespace(node string) string { return c.o.Prefix + "h-" + node }

// HostFabric is a simulated host's fabric namespace.
func (c *Cluster) HostFabric(node string) string { return c.o.Prefix + "f-" + node }

// TunnelIP is a simulated host's underlay address.
func (c *Cluster) TunnelIP(node string) netip.Addr {
	for i, n := range c.nodeNames() {
		if n == node {
			return hostAddr(i)
		}
	}
	return netip.Addr{}
}

func hostAddr(i int) netip.Addr {
	a := UnderlayCIDR.Addr().As4()
	a[3] = byte(10 + i)
	return netip.AddrFrom4(a)
}

// buildWires makes the underlay bridge and the public wire's namespace.
func (c *Cluster) buildWires() error {
	ns := c.wiresNamespace()
	if err := netns.Ensure(ns); err != nil {
		return err
	}
	wires, err := netns.NewFabric(netns.FabricOptions{Namespace: ns, BridgePrefix: "pw", PortPrefix: "pp"})
	if err != nil {
		return err
	}
	c.wires = wires
	return inNS(ns, func(h *netlink.Handle) error {
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "underlay"}}
		if err := h.LinkAdd(br); err != nil {
			return fmt.Errorf("underlay bridge: %w", err)
		}
		return h.LinkSetUp(br)
	})
}

// buildHost makes a simulated host and returns the agent flags that put
// the agent on it.
func (c *Cluster) buildHost(node string, i int) ([]string, error) {
	host := c.HostNamespace(node)
	if err := netns.Ensure(host); err != nil {
		return nil, err
	}
	ip := hostAddr(i)
	if err := c.wire(host, "eth0", "ul-"+fmt.Sprint(i), "underlay"); err != nil {
		return nil, err
	}
	if err := netns.AddAddress(host, "eth0", netip.PrefixFrom(ip, UnderlayCIDR.Bits())); err != nil {
		return nil, err
	}
	args := []string{"--host-namespace", host, "--fabric-namespace", c.HostFabric(node), "--local-ip", ip.String()}
	if strings.HasPrefix(node, "network-") {
		// eth1 is the uplink to the public wire; the agent patches it into
		// its fabric when the Public network needs it.
		if err := c.wire(host, "eth1", "pu-"+fmt.Sprint(i), ""); err != nil {
			return nil, err
		}
		args = append(args, "--physical-interface-mappings", "public:eth1")
	}
	return args, nil
}

// wire connects a host's ifname to a bridge of the wires namespace by a
// veth pair (outer end named outer); an empty bridge leaves the outer end
// for the public wire, which attachPublic enslaves once the Public
// network's bridge exists.
func (c *Cluster) wire(host, ifname, outer, bridge string) error {
	ns := c.wiresNamespace()
	return inNS(ns, func(hw *netlink.Handle) error {
		return netns.WithHandle(host, func(hh *netlink.Handle, fd int) error {
			veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: outer}, PeerName: ifname, PeerNamespace: netlink.NsFd(fd)}
			if err := hw.LinkAdd(veth); err != nil {
				return fmt.Errorf("wire %s:%s: %w", host, ifname, err)
			}
			in, err := hh.LinkByName(ifname)
			if err != nil {
				return err
			}
			if err := hh.LinkSetUp(in); err != nil {
				return err
			}
			out, err := hw.LinkByName(outer)
			if err != nil {
				return err
			}
			var br netlink.Link
			if bridge != "" {
				if br, err = hw.LinkByName(bridge); err != nil {
					return err
				}
			} else {
				// The public wire, if a client made it already (a host
				// that comes back after its death).
				links, err := hw.LinkList()
				if err != nil {
					return err
				}
				for _, l := range links {
					if _, ok := l.(*netlink.Bridge); ok && strings.HasPrefix(l.Attrs().Name, "pw") {
						br = l
					}
				}
			}
			if br != nil {
				if err := hw.LinkSetMaster(out, br); err != nil {
					return err
				}
			}
			return hw.LinkSetUp(out)
		})
	})
}

// publicWire returns the wires fabric with the Public network's bridge,
// made on first use, and the network nodes' eth1 ends on it.
func (c *Cluster) publicWire(networkID string, cidr netip.Prefix) error {
	if err := c.wires.EnsureNetwork(netns.NetworkSpec{ID: networkID, CIDR: cidr}); err != nil {
		return err
	}
	brName := c.wires.BridgeName(networkID)
	return inNS(c.wiresNamespace(), func(h *netlink.Handle) error {
		br, err := h.LinkByName(brName)
		if err != nil {
			return err
		}
		links, err := h.LinkList()
		if err != nil {
			return err
		}
		for _, l := range links {
			if strings.HasPrefix(l.Attrs().Name, "pu-") && l.Attrs().MasterIndex != br.Attrs().Index {
				if err := h.LinkSetMaster(l, br); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// plugIn attaches a namespace (a client, a tenant's server) to a network
// of the simulated world: the public wire for a flat network on the
// physical network "public", else the servers' host, through a port bound
// to it (as a compute service plugs a server: the agent of that host
// builds the network's bridge and its VXLAN device, then the server's
// interface joins the bridge).
func (c *Cluster) plugIn(name, networkID, cidr string, addr netip.Prefix) error {
	prefix, err := netip.ParsePrefix(cidr)
	if err != nil {
		return err
	}
	var nw struct {
		Network struct {
			Type    string `json:"provider:network_type"`
			Physnet string `json:"provider:physical_network"`
		} `json:"network"`
	}
	if err := c.API().Call("GET", "/v2.0/networks/"+networkID, nil, &nw); err != nil {
		return err
	}
	if nw.Network.Type == "flat" && nw.Network.Physnet == "public" {
		if err := c.publicWire(networkID, prefix); err != nil {
			return err
		}
		return c.wires.Attach(netns.AttachSpec{Namespace: name, IfName: "eth0", NetworkID: networkID, Address: addr})
	}
	var port struct {
		Port struct {
			MAC string `json:"mac_address"`
		} `json:"port"`
	}
	body := map[string]any{"port": map[string]any{"network_id": networkID, "name": name, "binding:host_id": ServersNode,
		"fixed_ips": []map[string]any{{"ip_address": addr.Addr().String()}}}}
	if err := c.API().Call("POST", "/v2.0/ports", body, &port); err != nil {
		return fmt.Errorf("port for %s: %w", name, err)
	}
	mac, err := net.ParseMAC(port.Port.MAC)
	if err != nil {
		return err
	}
	f, err := netns.NewFabric(netns.FabricOptions{Namespace: c.HostFabric(ServersNode)})
	if err != nil {
		return err
	}
	// The host's agent builds the network once it sees the binding.
	spec := netns.AttachSpec{Namespace: name, IfName: "eth0", NetworkID: networkID, Address: addr, MAC: mac}
	deadline := time.Now().Add(10 * time.Second)
	for {
		err = f.Attach(spec)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// SetUnderlay cuts (up false) or restores a simulated host's link to the
// underlay, at the wire's end: the host's VXLAN traffic stops both ways
// while its agent still talks to the server.
func (c *Cluster) SetUnderlay(node string, up bool) error {
	i := slices.Index(c.nodeNames(), node)
	if !c.o.Hosts || i < 0 {
		return fmt.Errorf("no simulated host %s", node)
	}
	return inNS(c.wiresNamespace(), func(h *netlink.Handle) error {
		l, err := h.LinkByName("ul-" + fmt.Sprint(i))
		if err != nil {
			return err
		}
		if up {
			return h.LinkSetUp(l)
		}
		return h.LinkSetDown(l)
	})
}

// PublicFabric is where clients on the Public network plug in: the public
// wire of simulated hosts, or the shared fabric.
func (c *Cluster) PublicFabric() *netns.Fabric {
	if c.wires != nil {
		return c.wires
	}
	return c.Fabric
}

// removeHosts deletes the simulated hosts, their fabrics and the wires.
func (c *Cluster) removeHosts() {
	if !c.o.Hosts {
		return
	}
	// Best effort, as the rest of Close: what is already gone is fine.
	for _, n := range c.nodeNames() {
		_ = netns.Delete(c.HostFabric(n))
		_ = netns.Delete(c.HostNamespace(n))
	}
	_ = netns.Delete(c.wiresNamespace())
}

// inNS runs fn with a netlink handle in a named namespace.
func inNS(ns string, fn func(h *netlink.Handle) error) error {
	return netns.WithHandle(ns, func(h *netlink.Handle, _ int) error { return fn(h) })
}

package netns

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// AddAddress adds prefix (for example a VIP as 10.0.0.5/24 or /32) to the
// interface ifname inside the namespace. It is idempotent; an existing
// address with the same IP but another prefix length is replaced.
func AddAddress(namespace, ifname string, prefix netip.Prefix) error {
	if err := checkAddrArgs(namespace, ifname, prefix); err != nil {
		return err
	}
	return withHandle(namespace, func(h *netlink.Handle, _ int) error {
		l, err := requireLink(h, namespace, ifname)
		if err != nil {
			return err
		}
		return ensureAddr(h, l, prefix)
	})
}

// DelAddress removes the IP of prefix from ifname inside the namespace,
// whatever its prefix length. Missing namespace, interface or address are
// not errors: the address is gone either way.
func DelAddress(namespace, ifname string, prefix netip.Prefix) error {
	if err := checkAddrArgs(namespace, ifname, prefix); err != nil {
		return err
	}
	if ok, err := Exists(namespace); err != nil || !ok {
		return err
	}
	return withHandle(namespace, func(h *netlink.Handle, _ int) error {
		l, err := linkByName(h, ifname)
		if err != nil || l == nil {
			return err
		}
		return delAddrIP(h, l, prefix.Addr())
	})
}

// Addresses lists the IPv4 addresses on ifname inside the namespace.
func Addresses(namespace, ifname string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	err := withHandle(namespace, func(h *netlink.Handle, _ int) error {
		l, err := requireLink(h, namespace, ifname)
		if err != nil {
			return err
		}
		addrs, err := h.AddrList(l, netlink.FAMILY_V4)
		if err != nil {
			return fmt.Errorf("netns: list addresses of %s: %w", ifname, err)
		}
		for _, a := range addrs {
			if p, ok := prefixOf(a.IPNet); ok {
				out = append(out, p)
			}
		}
		return nil
	})
	return out, err
}

func checkAddrArgs(namespace, ifname string, prefix netip.Prefix) error {
	if err := ValidateName(namespace); err != nil {
		return err
	}
	if err := ValidateIfName(ifname); err != nil {
		return err
	}
	if !prefix.IsValid() || !prefix.Addr().Is4() {
		return fmt.Errorf("netns: address %v is not a valid IPv4 prefix", prefix)
	}
	return nil
}

func requireLink(h *netlink.Handle, namespace, ifname string) (netlink.Link, error) {
	l, err := linkByName(h, ifname)
	if err != nil {
		return nil, err
	}
	if l == nil {
		return nil, fmt.Errorf("netns: no interface %s in namespace %q", ifname, namespace)
	}
	return l, nil
}

// ensureAddr makes want present on l, replacing the same IP with another
// prefix length.
func ensureAddr(h *netlink.Handle, l netlink.Link, want netip.Prefix) error {
	addrs, err := h.AddrList(l, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("netns: list addresses of %s: %w", l.Attrs().Name, err)
	}
	for _, a := range addrs {
		p, ok := prefixOf(a.IPNet)
		if !ok || p.Addr() != want.Addr() {
			continue
		}
		if p.Bits() == want.Bits() {
			return nil
		}
		if err := h.AddrDel(l, &a); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			return fmt.Errorf("netns: replace address %v on %s: %w", p, l.Attrs().Name, err)
		}
	}
	addr := &netlink.Addr{IPNet: ipNet(want)}
	if err := h.AddrAdd(l, addr); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("netns: add address %v on %s: %w", want, l.Attrs().Name, err)
	}
	return nil
}

func delAddrIP(h *netlink.Handle, l netlink.Link, ip netip.Addr) error {
	addrs, err := h.AddrList(l, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("netns: list addresses of %s: %w", l.Attrs().Name, err)
	}
	for _, a := range addrs {
		if p, ok := prefixOf(a.IPNet); ok && p.Addr() == ip {
			if err := h.AddrDel(l, &a); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
				return fmt.Errorf("netns: delete address %v on %s: %w", p, l.Attrs().Name, err)
			}
		}
	}
	return nil
}

package netns

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"unicode"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// maxIfNameLen is IFNAMSIZ-1: the kernel refuses longer interface names.
const maxIfNameLen = 15

// ValidateIfName reports whether name is acceptable to the kernel as an
// interface name (dev_valid_name): 1 to 15 bytes, no '/', ':' or whitespace.
func ValidateIfName(name string) error {
	if name == "" || name == "." || name == ".." || len(name) > maxIfNameLen {
		return fmt.Errorf("netns: invalid interface name %q (1 to %d bytes)", name, maxIfNameLen)
	}
	for _, r := range name {
		if r == '/' || r == ':' || unicode.IsSpace(r) || r < ' ' || r > '~' {
			return fmt.Errorf("netns: interface name %q contains a forbidden character %q", name, r)
		}
	}
	return nil
}

// hashName builds a deterministic interface name: prefix plus the first
// hexChars hex digits of SHA-256 over the parts. A hash, not a truncation,
// because the inputs (UUIDs, long namespace names) share long prefixes.
func hashName(prefix string, hexChars int, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0}) // separator: ("ab","c") must differ from ("a","bc")
	}
	return prefix + hex.EncodeToString(h.Sum(nil))[:hexChars]
}

// withHandle runs fn with a netlink handle whose socket lives in the named
// namespace, and the namespace's file descriptor (for moving links into it).
// A per-namespace socket avoids switching threads for every netlink call.
func withHandle(name string, fn func(h *netlink.Handle, nsFd int) error) error {
	ns, err := vnetns.GetFromPath(Path(name))
	if err != nil {
		return fmt.Errorf("netns: open namespace %q: %w", name, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("netns: netlink in %q: %w", name, err)
	}
	defer h.Delete()
	return fn(h, int(ns))
}

// linkByName returns (nil, nil) when the link does not exist.
func linkByName(h *netlink.Handle, name string) (netlink.Link, error) {
	l, err := h.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) || errors.Is(err, unix.ENODEV) {
			return nil, nil
		}
		return nil, fmt.Errorf("netns: link %s: %w", name, err)
	}
	return l, nil
}

// delLink deletes l and treats "already gone" as success.
func delLink(h *netlink.Handle, l netlink.Link) error {
	if err := h.LinkDel(l); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("netns: delete link %s: %w", l.Attrs().Name, err)
	}
	return nil
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{
		IP:   net.IP(p.Addr().AsSlice()),
		Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen()),
	}
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), ones), true
}

func ipOf(a netip.Addr) net.IP { return net.IP(a.AsSlice()) }

// WithHandle runs fn with a netlink handle inside the named namespace and
// that namespace's file descriptor (valid only during fn), for callers
// that build topologies of their own (simulated hosts and their wires).
func WithHandle(name string, fn func(h *netlink.Handle, nsFd int) error) error {
	return withHandle(name, fn)
}

package netns

import (
	"fmt"
	"net/netip"
	"sort"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"
)

// NATTable is the nftables table (family ip) owned by SetFloatingIPs. No
// other table in the router namespace is ever read or written.
const NATTable = "lbaas_fip"

const (
	natPrerouting  = "prerouting"
	natPostrouting = "postrouting"
	// fipLabel marks the /32 floating-IP addresses SetFloatingIPs adds, so
	// that it removes exactly those and never an address someone else set.
	fipLabel = "lbaas-fip"
)

// NATRule is one floating IP: traffic to FloatingIP is sent to FixedIP, and
// connections FixedIP opens leave with FloatingIP as their source.
type NATRule struct {
	FloatingIP netip.Addr
	FixedIP    netip.Addr
}

func validateNAT(rules []NATRule) error {
	fips := map[netip.Addr]bool{}
	fixed := map[netip.Addr]bool{}
	for _, r := range rules {
		if !r.FloatingIP.Is4() || !r.FixedIP.Is4() {
			return fmt.Errorf("netns: NAT rule %v -> %v: both addresses must be IPv4", r.FloatingIP, r.FixedIP)
		}
		// 1:1 NAT: a duplicate on either side makes one direction ambiguous.
		if fips[r.FloatingIP] || fixed[r.FixedIP] {
			return fmt.Errorf("netns: NAT rule %v -> %v: floating and fixed IPs must each be used once", r.FloatingIP, r.FixedIP)
		}
		fips[r.FloatingIP], fixed[r.FixedIP] = true, true
	}
	return nil
}

// SetFloatingIPs makes the router namespace's floating-IP NAT exactly rules.
//
// The nftables part is one atomic netlink batch: our table NATTable is
// (created,) deleted and recreated with a prerouting chain of
// `ip daddr FIP dnat to FIXED` and a postrouting chain of
// `ip saddr FIXED snat to FIP`, so no packet ever sees a half-applied set.
// nil or empty rules remove the table.
//
// ARP: each floating IP is added as a /32 address (labelled "lbaas-fip") on
// the router interface whose connected subnet contains it, so the router
// answers ARP for it with the ordinary kernel logic. Proxy ARP would not
// work here: it only answers for addresses routed out of a *different*
// interface, and a floating IP lies in the public subnet itself. Stale
// labelled /32s are removed. The DNAT happens in prerouting, before the
// local-delivery decision, so the /32 does not swallow the traffic.
//
// It also turns on net.ipv4.ip_forward in the namespace (and leaves it on
// when rules become empty: the router may forward for other reasons).
func SetFloatingIPs(namespace string, rules []NATRule) error {
	return setFloating(namespace, rules, true)
}

// SetFloatingNAT is SetFloatingIPs without the addresses: a router of an
// active/standby pair gets the NAT table whether it is active or not, and
// VRRP adds the floating IPs' addresses to the active one only. /32s that
// SetFloatingIPs added earlier (before the router had a standby) go.
func SetFloatingNAT(namespace string, rules []NATRule) error {
	return setFloating(namespace, rules, false)
}

func setFloating(namespace string, rules []NATRule, addrs bool) error {
	if err := ValidateName(namespace); err != nil {
		return err
	}
	if err := validateNAT(rules); err != nil {
		return err
	}
	rules = append([]NATRule(nil), rules...)
	sort.Slice(rules, func(i, j int) bool { return rules[i].FloatingIP.Less(rules[j].FloatingIP) })
	if len(rules) > 0 {
		if err := SetSysctl(namespace, "net.ipv4.ip_forward", "1"); err != nil {
			return err
		}
	}
	return withHandle(namespace, func(h *netlink.Handle, nsFd int) error {
		// Resolve interfaces first: a floating IP outside every connected
		// subnet is an error, and nothing has been changed yet.
		links := make(map[netip.Addr]int, len(rules))
		for _, r := range rules {
			if !addrs {
				continue // none wanted: syncFloatingAddrs removes ours
			}
			idx, err := connectedLink(h, r.FloatingIP)
			if err != nil {
				return fmt.Errorf("netns: floating IP %v in %q: %w", r.FloatingIP, namespace, err)
			}
			links[r.FloatingIP] = idx
		}
		if err := applyNAT(nsFd, rules); err != nil {
			return fmt.Errorf("netns: floating IPs in %q: %w", namespace, err)
		}
		return syncFloatingAddrs(h, links)
	})
}

func applyNAT(nsFd int, rules []NATRule) error {
	c, err := nftables.New(nftables.WithNetNSFd(nsFd))
	if err != nil {
		return err
	}
	table := &nftables.Table{Name: NATTable, Family: nftables.TableFamilyIPv4}
	// Add-then-delete: deleting a table that does not exist fails the whole
	// batch, and adding an existing one is a no-op, so this pair removes
	// the table whether or not it exists, inside the same transaction.
	c.AddTable(table)
	c.DelTable(table)
	if len(rules) > 0 {
		c.AddTable(table)
		pre := c.AddChain(&nftables.Chain{
			Name: natPrerouting, Table: table, Type: nftables.ChainTypeNAT,
			Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest,
		})
		post := c.AddChain(&nftables.Chain{
			Name: natPostrouting, Table: table, Type: nftables.ChainTypeNAT,
			Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource,
		})
		for _, r := range rules {
			c.AddRule(&nftables.Rule{Table: table, Chain: pre,
				Exprs: natExprs(ipv4DaddrOffset, r.FloatingIP, r.FixedIP, expr.NATTypeDestNAT)})
			c.AddRule(&nftables.Rule{Table: table, Chain: post,
				Exprs: natExprs(ipv4SaddrOffset, r.FixedIP, r.FloatingIP, expr.NATTypeSourceNAT)})
		}
	}
	return c.Flush()
}

// Offsets of the source and destination address in the IPv4 header.
const (
	ipv4SaddrOffset = 12
	ipv4DaddrOffset = 16
)

// natExprs is `ip {s,d}addr MATCH {s,d}nat to TO`.
func natExprs(offset uint32, match, to netip.Addr, typ expr.NATType) []expr.Any {
	m, t := match.As4(), to.As4()
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: m[:]},
		&expr.Immediate{Register: 1, Data: t[:]},
		&expr.NAT{Type: typ, Family: uint32(nftables.TableFamilyIPv4), RegAddrMin: 1},
	}
}

// ListFloatingIPs reads the floating IPs back from the kernel (the DNAT
// chain of NATTable), sorted by floating IP. No table means no rules.
func ListFloatingIPs(namespace string) ([]NATRule, error) {
	if err := ValidateName(namespace); err != nil {
		return nil, err
	}
	var out []NATRule
	err := withHandle(namespace, func(_ *netlink.Handle, nsFd int) error {
		c, err := nftables.New(nftables.WithNetNSFd(nsFd))
		if err != nil {
			return err
		}
		tables, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
		if err != nil {
			return fmt.Errorf("netns: list nftables tables in %q: %w", namespace, err)
		}
		var table *nftables.Table
		for _, t := range tables {
			if t.Name == NATTable {
				table = t
			}
		}
		if table == nil {
			return nil
		}
		rules, err := c.GetRules(table, &nftables.Chain{Name: natPrerouting, Table: table})
		if err != nil {
			return fmt.Errorf("netns: read %s rules in %q: %w", NATTable, namespace, err)
		}
		for _, r := range rules {
			var nr NATRule
			for _, e := range r.Exprs {
				switch e := e.(type) {
				case *expr.Cmp:
					nr.FloatingIP, _ = netip.AddrFromSlice(e.Data)
				case *expr.Immediate:
					nr.FixedIP, _ = netip.AddrFromSlice(e.Data)
				}
			}
			if !nr.FloatingIP.IsValid() || !nr.FixedIP.IsValid() {
				return fmt.Errorf("netns: unexpected rule in %s/%s of %q", NATTable, natPrerouting, namespace)
			}
			out = append(out, nr)
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].FloatingIP.Less(out[j].FloatingIP) })
	return out, err
}

// connectedLink finds the interface whose directly connected subnet (a
// main-table route without gateway) contains ip, longest prefix first.
func connectedLink(h *netlink.Handle, ip netip.Addr) (int, error) {
	routes, err := h.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return 0, err
	}
	best, bestBits := 0, -1
	for _, r := range routes {
		p, ok := prefixOf(r.Dst)
		if !ok || r.Gw != nil || p.Bits() == 32 || !p.Contains(ip) {
			continue
		}
		if p.Bits() > bestBits {
			best, bestBits = r.LinkIndex, p.Bits()
		}
	}
	if bestBits < 0 {
		return 0, fmt.Errorf("no interface has a connected subnet containing it")
	}
	return best, nil
}

// syncFloatingAddrs makes the labelled /32 addresses exactly want
// (floating IP -> interface index).
func syncFloatingAddrs(h *netlink.Handle, want map[netip.Addr]int) error {
	addrs, err := h.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("netns: list addresses: %w", err)
	}
	have := map[netip.Addr]bool{}
	for _, a := range addrs {
		if a.Label != fipLabel {
			continue
		}
		p, ok := prefixOf(a.IPNet)
		if ok && want[p.Addr()] == a.LinkIndex && p.Bits() == 32 {
			have[p.Addr()] = true
			continue
		}
		if err := h.AddrDel(nil, &a); err != nil {
			return fmt.Errorf("netns: remove stale floating IP %v: %w", a.IPNet, err)
		}
	}
	for ip, idx := range want {
		if have[ip] {
			continue
		}
		addr := &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(ip, 32)), Label: fipLabel, LinkIndex: idx}
		if err := h.AddrAdd(nil, addr); err != nil {
			return fmt.Errorf("netns: add floating IP %v: %w", ip, err)
		}
	}
	return nil
}

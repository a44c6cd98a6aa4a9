package vrrp

import (
	"errors"
	"fmt"
	"hash/fnv"
	"net/netip"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"lbaas/internal/haproxy"
)

// VRRP priorities of the two VMs of a service instance. Both start in
// BACKUP with nopreempt, so the priority only decides the first election
// and a tie between two MASTERs. They are the highest VRRP allows (255
// belongs to an address owner) for a reason: a backup waits three adverts
// plus a skew of (256 - priority)/256 of an interval before it takes over,
// a skew that ranks several backups. A pair has one, so its standby's skew
// is made the smallest: 3/256 of an interval instead of the 156/256 that
// priority 100 meant, which at 30 ms adverts takes 18 ms off every silent
// failover and costs nothing in tolerance to late adverts (that is the
// three intervals). The API still shows OpenContrail's "active: 200" and
// "standby: 100" (model.PriorityActive, model.PriorityStandby).
const (
	PriorityActive  uint8 = 254
	PriorityStandby uint8 = 253
)

// PriorityFor returns the VRRP priority of the active or the standby.
func PriorityFor(active bool) uint8 {
	if active {
		return PriorityActive
	}
	return PriorityStandby
}

// DefaultAdvertInterval is used when Config.AdvertInterval is zero. 30 ms
// gives a master-down time of 3 intervals plus the standby's skew, 90.4 ms:
// the failover after a death that cannot resign (a power loss). At 20 ms
// (60.2 ms) a saturated machine still saw a standby miss three adverts now
// and then, a spurious election; at 30 ms none was seen, and a silent death
// still costs under 100 ms (the failover benchmark's trade-off table;
// docs/009-vrrp-under-load.md).
const DefaultAdvertInterval = 30 * time.Millisecond

// RealtimePriority is the SCHED_RR priority keepalived runs at: above all
// ordinary (CFS) work, so that a saturated host still sends and reads
// adverts on time, and below the kernel's threaded interrupt handlers (50),
// which carry them.
const RealtimePriority = 20

// RealtimeCPULimit is keepalived's RLIMIT_RTTIME: the CPU time a realtime
// process may use without blocking before the kernel kills it. VRRP needs
// microseconds per advert; a process that has computed this long without
// sleeping has missed many adverts already and is broken. (keepalived's own
// default, 10 ms, is reached by healthy processes: a reload, a burst of
// process events for vrrp_track_process.)
const RealtimeCPULimit = 500 * time.Millisecond

// ArbiterTimeout is how long the router's arbiter lets the VM holding a VIP
// be silent before another advertising VM takes the VIP's traffic: 2.5
// advert intervals. It must be under the standby's master-down interval
// (see MasterDown) with room for jitter, so that the standby's first advert
// as MASTER moves the traffic at once and the arbiter never delays a
// failover. It need not be longer: another VM advertises only once it has
// missed three adverts itself (or after a resignation), and a holder whose
// adverts still reach the router keeps its traffic.
func ArbiterTimeout(advert time.Duration) time.Duration { return advert * 5 / 2 }

// MasterDown is RFC 5798's master-down interval of a VM with priority prio:
// the silence after which it takes over (3 intervals plus its skew).
func MasterDown(advert time.Duration, prio uint8) time.Duration {
	return 3*advert + advert*time.Duration(256-int(prio))/256
}

// DefaultGARPRepeat is the number of gratuitous ARPs sent at once when an
// instance becomes MASTER (and when it sees a lower-priority advert as
// MASTER, that is when a split brain heals) if GARP.Repeat is zero.
const DefaultGARPRepeat = 3

// Limits of the VRRPv3 advertisement interval: a 12-bit count of centiseconds.
const (
	minAdvertInterval = 10 * time.Millisecond
	maxAdvertInterval = 4095 * 10 * time.Millisecond
)

// Config is one keepalived VRRP instance: the VIP of one service instance as
// seen from one of its two VMs. It holds typed values only; Render re-checks
// every string it writes.
type Config struct {
	// InstanceName names the vrrp_instance (see InstanceName).
	InstanceName string
	// Interface carries the VIP and the adverts ("vip0").
	Interface string
	// VirtualRouterID is 1..255; both VMs must use the same (see VirtualRouterID).
	VirtualRouterID uint8
	// Priority is PriorityActive or PriorityStandby (any of 1..254 is accepted;
	// 255 would make the instance the address owner and is refused).
	Priority uint8
	// UnicastSrc is this VM's own address on Interface.
	UnicastSrc netip.Addr
	// StartupDelay holds VRRP back after keepalived starts. The standby
	// gets one so that when both VMs start together the active (200) wins
	// the first election, which nopreempt then keeps.
	StartupDelay time.Duration
	// UnicastPeers are the other VM's addresses on Interface (usually one).
	// Adverts are unicast: the fabric need not carry multicast, and adverts
	// from anything else are ignored (check_unicast_src).
	UnicastPeers []netip.Addr
	// Link, when set, is the subnet of UnicastSrc and UnicastPeers where it
	// is not VIP's: a router pair advertises from link-local addresses of
	// its own. Zero: the VIP's subnet.
	Link netip.Prefix
	// VIP is the virtual address with the subnet length of Interface's network.
	VIP netip.Prefix
	// ExtraVIPs move with VIP but are not listed in the adverts
	// (keepalived's virtual_ipaddress_excluded): a router's gateway
	// addresses on its other interfaces and its floating IPs, any number.
	ExtraVIPs []Address
	// AdvertInterval is the VRRP advertisement interval (multiple of 10 ms,
	// 10 ms..40.95 s; zero means DefaultAdvertInterval). Both VMs must agree.
	AdvertInterval time.Duration
	// TrackProcess, when set, puts the instance in FAULT (giving up the VIP)
	// as soon as fewer than Quorum matching processes run (see HAProxyProcess).
	TrackProcess *ProcessMatch
	// TrackFile, when set, is a file holding a number: 0 (or a missing file,
	// created with 0) is healthy, anything else puts the instance in FAULT.
	// The agent can write it when HAProxy hangs without dying.
	TrackFile string
	// NotifyScript is the executable keepalived starts once and feeds every
	// state change through NotifyFIFO, in order (Manager writes it and sets
	// both; see Paths).
	NotifyScript string
	NotifyFIFO   string
	// GARP tunes gratuitous ARPs.
	GARP GARP
}

// Address is an address with its subnet length on one interface.
type Address struct {
	Prefix    netip.Prefix
	Interface string
}

// GARP configures gratuitous ARPs sent by a new MASTER.
type GARP struct {
	// Repeat is the number sent at once on becoming MASTER (zero means
	// DefaultGARPRepeat; at most 100).
	Repeat int
	// SecondSetDelay, when non-zero, sends a second set that long after the
	// first (whole seconds). Zero sends no second set.
	SecondSetDelay time.Duration
	// Refresh, when non-zero, re-sends one set periodically while MASTER
	// (whole seconds), for switches whose MAC tables expire.
	Refresh time.Duration
}

// ProcessMatch selects processes by their full command line: Path is argv[0]
// exactly, Args are argv[1..n] exactly, and further arguments are allowed
// (haproxy adds "-sf <pids>" and "-x <socket>" when it re-executes on reload).
type ProcessMatch struct {
	// Name is the vrrp_track_process name (default "haproxy").
	Name string
	// Path is argv[0] as the process was started (an absolute path).
	Path string
	// Args are the leading arguments that must match exactly.
	Args []string
	// Quorum is the minimum number of matching processes (default 1).
	Quorum int
}

// HAProxyProcess matches the HAProxy started by internal/haproxy for paths:
// "<binary> -W -D -p <pid> -S <master>,mode,600 -f <cfg>". The master and its
// workers share that command line, and it is unique per instance because the
// paths are. binary must be the path the haproxy Manager runs (its
// Options.Binary after the PATH lookup, normally /usr/sbin/haproxy).
// Keep in sync with haproxy.Manager.start; TestHAProxyProcessMatchesRealHAProxy
// fails if the two drift apart.
func HAProxyProcess(binary string, p haproxy.Paths) *ProcessMatch {
	return &ProcessMatch{
		Name: "haproxy",
		Path: binary,
		Args: []string{"-W", "-D", "-p", p.PidFile, "-S", p.MasterSocket + ",mode,600", "-f", p.Config},
	}
}

// VirtualRouterID derives the VRID of a service instance from its UUID: both
// VMs compute the same value without coordination.
//
// Collisions (1 in 255 per pair of instances) are harmless here: every
// service instance has its own namespaces and vip0 interfaces, adverts are
// unicast between the two VMs' own addresses, and check_unicast_src makes
// keepalived drop adverts from any other source. keepalived documents that
// duplicate VRIDs on one interface are fine when the unicast peers do not
// overlap, which always holds since each address belongs to one port. The
// VRID only reaches the wire in adverts (no VMAC is used), so a colliding
// VRID never changes a MAC address either.
func VirtualRouterID(serviceInstanceID string) (uint8, error) {
	u, err := uuid.Parse(serviceInstanceID)
	if err != nil {
		return 0, fmt.Errorf("vrrp: service instance id %q is not a UUID", serviceInstanceID)
	}
	h := fnv.New32a()
	h.Write(u[:])
	return uint8(1 + h.Sum32()%255), nil
}

// InstanceName derives the vrrp_instance name from the VM and service
// instance UUIDs; it only appears in keepalived's log and notify arguments.
func InstanceName(vmID, serviceInstanceID string) (string, error) {
	vm, err := uuid.Parse(vmID)
	if err != nil {
		return "", fmt.Errorf("vrrp: VM id %q is not a UUID", vmID)
	}
	si, err := uuid.Parse(serviceInstanceID)
	if err != nil {
		return "", fmt.Errorf("vrrp: service instance id %q is not a UUID", serviceInstanceID)
	}
	return "si-" + si.String() + "_vm-" + vm.String()[:8], nil
}

// withDefaults returns c with zero fields replaced by their defaults.
func (c Config) withDefaults() Config {
	if c.AdvertInterval == 0 {
		c.AdvertInterval = DefaultAdvertInterval
	}
	if c.GARP.Repeat == 0 {
		c.GARP.Repeat = DefaultGARPRepeat
	}
	if c.TrackProcess != nil {
		tp := *c.TrackProcess
		if tp.Name == "" {
			tp.Name = "haproxy"
		}
		if tp.Quorum == 0 {
			tp.Quorum = 1
		}
		c.TrackProcess = &tp
	}
	return c
}

// Validate reports the first problem that would make keepalived reject the
// configuration or behave other than intended.
func (c Config) Validate() error {
	c = c.withDefaults()
	if !isName(c.InstanceName, 100) {
		return fmt.Errorf("vrrp: invalid instance name %q", c.InstanceName)
	}
	if !isName(c.Interface, 15) {
		return fmt.Errorf("vrrp: invalid interface name %q", c.Interface)
	}
	if c.VirtualRouterID == 0 {
		return errors.New("vrrp: virtual_router_id must be 1..255")
	}
	if c.Priority == 0 || c.Priority == 255 {
		return fmt.Errorf("vrrp: priority %d outside 1..254", c.Priority)
	}
	if !c.VIP.IsValid() || !c.VIP.Addr().Is4() || c.VIP.Bits() == 0 || !usable(c.VIP.Addr()) {
		return fmt.Errorf("vrrp: VIP %v is not a usable IPv4 address with a subnet length", c.VIP)
	}
	net := c.VIP.Masked()
	if c.Link.IsValid() {
		net = c.Link.Masked()
	}
	if !c.UnicastSrc.Is4() || !usable(c.UnicastSrc) || !net.Contains(c.UnicastSrc) || c.UnicastSrc == c.VIP.Addr() {
		return fmt.Errorf("vrrp: unicast source %v must be an IPv4 address in %v other than the VIP", c.UnicastSrc, net)
	}
	if len(c.UnicastPeers) == 0 {
		return errors.New("vrrp: at least one unicast peer is needed")
	}
	seen := map[netip.Addr]bool{c.UnicastSrc: true, c.VIP.Addr(): true}
	for _, p := range c.UnicastPeers {
		if !p.Is4() || !usable(p) || !net.Contains(p) || seen[p] {
			return fmt.Errorf("vrrp: unicast peer %v must be a distinct IPv4 address in %v other than the VIP and the source", p, net)
		}
		seen[p] = true
	}
	vips := map[netip.Addr]bool{c.VIP.Addr(): true}
	for _, x := range c.ExtraVIPs {
		if !x.Prefix.IsValid() || !x.Prefix.Addr().Is4() || x.Prefix.Bits() == 0 || !usable(x.Prefix.Addr()) || vips[x.Prefix.Addr()] || seen[x.Prefix.Addr()] {
			return fmt.Errorf("vrrp: extra VIP %v must be a distinct usable IPv4 address with a subnet length", x.Prefix)
		}
		if !isName(x.Interface, 15) {
			return fmt.Errorf("vrrp: invalid interface name %q of extra VIP %v", x.Interface, x.Prefix)
		}
		vips[x.Prefix.Addr()] = true
	}
	if c.StartupDelay < 0 || c.StartupDelay > time.Minute {
		return fmt.Errorf("vrrp: startup delay %v must be within 0..1m", c.StartupDelay)
	}
	if c.AdvertInterval < minAdvertInterval || c.AdvertInterval > maxAdvertInterval || c.AdvertInterval%(10*time.Millisecond) != 0 {
		return fmt.Errorf("vrrp: advert interval %v must be a multiple of 10ms within %v..%v", c.AdvertInterval, minAdvertInterval, maxAdvertInterval)
	}
	if tp := c.TrackProcess; tp != nil {
		if !isName(tp.Name, 64) {
			return fmt.Errorf("vrrp: invalid track process name %q", tp.Name)
		}
		if err := checkPath("tracked process", tp.Path); err != nil {
			return err
		}
		for _, a := range tp.Args {
			if !isWord(a) {
				return fmt.Errorf("vrrp: tracked process argument %q has characters keepalived's parser would interpret", a)
			}
		}
		if tp.Quorum < 1 || tp.Quorum > 1000 {
			return fmt.Errorf("vrrp: track process quorum %d outside 1..1000", tp.Quorum)
		}
	}
	if c.TrackFile != "" {
		if err := checkPath("track file", c.TrackFile); err != nil {
			return err
		}
	}
	if err := checkPath("notify script", c.NotifyScript); err != nil {
		return err
	}
	if err := checkPath("notify FIFO", c.NotifyFIFO); err != nil {
		return err
	}
	g := c.GARP
	if g.Repeat < 1 || g.Repeat > 100 {
		return fmt.Errorf("vrrp: GARP repeat %d outside 1..100", g.Repeat)
	}
	for _, d := range []time.Duration{g.SecondSetDelay, g.Refresh} {
		if d < 0 || d%time.Second != 0 || d > 24*time.Hour {
			return fmt.Errorf("vrrp: GARP delay %v must be whole seconds up to a day", d)
		}
	}
	return nil
}

func usable(a netip.Addr) bool {
	return a.IsValid() && !a.IsUnspecified() && !a.IsLoopback() && !a.IsMulticast() && a != netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// isName accepts the characters of UUIDs and interface names only.
func isName(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// isWord accepts what can stand unquoted in keepalived's configuration: no
// whitespace, quotes, comment starters (# !), braces, '$' (definitions),
// '@' and '~' (line prefixes) or backslashes.
func isWord(s string) bool {
	if s == "" || len(s) > 512 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' ||
			r == '/' || r == ',' || r == ':' || r == '=' || r == '+') {
			return false
		}
	}
	return true
}

func checkPath(what, p string) error {
	if !isWord(p) || !filepath.IsAbs(p) || filepath.Clean(p) != p {
		return fmt.Errorf("vrrp: %s path %q must be a clean absolute path of plain characters", what, p)
	}
	return nil
}

package arbiter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"

	"lbaas/internal/netns"
)

// Config is what the network agent tells the arbiter (a JSON file).
type Config struct {
	// AdvertTimeout is how long a VM counts as advertising after its last
	// advert.
	AdvertTimeout time.Duration `json:"advert_timeout"`
	VIPs          []VIP         `json:"vips"`
}

// VIP is one load balancer's address and its two VMs.
type VIP struct {
	Address netip.Addr `json:"address"`
	// Interface is the router's interface on the VIP network.
	Interface string   `json:"interface"`
	Members   []Member `json:"members"`
}

// Member is a VM: its own address on the VIP network and its MAC.
type Member struct {
	Address netip.Addr `json:"address"`
	MAC     string     `json:"mac"`
}

// LoadConfig reads the config file.
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	return parseConfig(b)
}

func parseConfig(b []byte) (Config, error) {
	var c Config
	err := json.Unmarshal(b, &c)
	if c.AdvertTimeout <= 0 {
		c.AdvertTimeout = 175 * time.Millisecond
	}
	return c, err
}

type advert struct {
	src  netip.Addr
	prio int
	at   time.Time
	msg  []byte // the VRRP message, for the relay
}

// parseAdvert reads a VRRPv3 (or v2) advertisement (the IP header already
// stripped) and returns its priority.
func parseAdvert(b []byte) (int, bool) {
	if len(b) < 8 || b[0]&0x0f != 1 {
		return 0, false
	}
	if v := b[0] >> 4; v != 2 && v != 3 {
		return 0, false
	}
	return int(b[2]), true
}

type entry struct {
	vip      VIP
	decider  *Decider
	applied  netip.Addr
	relayErr bool // the last relay failed (logged once per run of failures)
}

// Run arbitrates until ctx ends, re-reading configPath when it changes.
func Run(ctx context.Context, namespace, configPath string, log *slog.Logger) error {
	var conn net.PacketConn
	err := netns.Do(namespace, func() error {
		var err error
		conn, err = net.ListenPacket("ip4:112", "0.0.0.0")
		return err
	})
	if err != nil {
		return fmt.Errorf("listen for VRRP in %s: %w", namespace, err)
	}
	defer conn.Close()
	nsh, err := vnetns.GetFromName(namespace)
	if err != nil {
		return err
	}
	defer nsh.Close()
	h, err := netlink.NewHandleAt(nsh)
	if err != nil {
		return err
	}
	defer h.Close()
	relay, err := newRelayer(namespace)
	if err != nil {
		// Pinning alone still protects the router's path.
		log.Error("no VRRP relay: a partition between two VMs makes a second MASTER", "err", err)
	} else {
		defer relay.Close()
	}

	rcv, err := newReceiver(conn)
	if err != nil {
		return err
	}
	adverts := make(chan advert, 256)
	go func() {
		buf := make([]byte, 1500)
		for {
			n, src, at, err := rcv.read(buf)
			if err != nil {
				if ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
					log.Error("reading VRRP", "err", err)
				}
				close(adverts)
				return
			}
			if prio, valid := parseAdvert(buf[:n]); valid {
				select {
				case adverts <- advert{src: src, prio: prio, at: at, msg: append([]byte(nil), buf[:n]...)}:
				default: // never block the socket; the next advert comes soon
				}
			}
		}
	}()
	go func() { <-ctx.Done(); conn.Close() }()

	entries := map[netip.Addr]*entry{}
	// The config is compared by content, not by its modification time:
	// two writes within one tick of the kernel's coarse clock have the same
	// time, and the second (the pair's members, say) went unread.
	var loaded []byte
	reload := func() {
		b, err := os.ReadFile(configPath)
		if err != nil || bytes.Equal(b, loaded) {
			return
		}
		cfg, err := parseConfig(b)
		if err != nil {
			log.Error("config", "err", err)
			return
		}
		loaded = b
		next := map[netip.Addr]*entry{}
		for _, v := range cfg.VIPs {
			var members []netip.Addr
			for _, m := range v.Members {
				members = append(members, m.Address)
			}
			if old, ok := entries[v.Address]; ok {
				old.vip, old.decider.Members, old.decider.Timeout = v, members, cfg.AdvertTimeout
				next[v.Address] = old
				continue
			}
			cur := currentHolder(h, v)
			next[v.Address] = &entry{vip: v, decider: NewDecider(members, cfg.AdvertTimeout, cur), applied: cur}
		}
		for a, e := range entries {
			if _, ok := next[a]; !ok {
				unpin(h, e.vip)
			}
		}
		entries = next
		log.Info("arbitrating", "vips", len(entries))
	}
	reload()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	cfgTick := time.NewTicker(200 * time.Millisecond)
	defer cfgTick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-cfgTick.C:
			// Deleted with its router (a test's end, a removed network
			// node), the namespace lives on only through this socket.
			if ok, err := netns.Exists(namespace); err == nil && !ok {
				return fmt.Errorf("the router namespace %s is gone", namespace)
			}
			reload()
			continue
		case a, ok := <-adverts:
			if !ok {
				return errors.New("the VRRP socket closed")
			}
			for _, e := range entries {
				e.decider.Advert(a.src, a.prio, a.at)
				// A late relay is worse than none: an advert of a holder
				// that has died since could demote its successor.
				fresh := time.Since(a.at) < e.decider.Timeout/4
				if relay != nil && fresh && e.decider.member(a.src) && e.decider.Holder(a.at) == a.src {
					e.relayFrom(relay, a, log)
				}
			}
		case <-tick.C:
		}
		now := time.Now()
		for _, e := range entries {
			holder := e.decider.Holder(now)
			if !holder.IsValid() || holder == e.applied {
				continue
			}
			if err := pin(h, e.vip, holder); err != nil {
				log.Error("pin", "vip", e.vip.Address, "holder", holder, "err", err)
				continue
			}
			log.Info("VIP holder", "vip", e.vip.Address, "from", e.applied, "to", holder)
			e.applied = holder
		}
	}
}

func macOf(v VIP, a netip.Addr) (net.HardwareAddr, bool) {
	for _, m := range v.Members {
		if m.Address == a {
			mac, err := net.ParseMAC(m.MAC)
			return mac, err == nil
		}
	}
	return nil, false
}

// pin makes the router send the VIP's traffic to holder's MAC, whatever
// gratuitous ARP anyone else sends.
func pin(h *netlink.Handle, v VIP, holder netip.Addr) error {
	mac, ok := macOf(v, holder)
	if !ok {
		return fmt.Errorf("no MAC for %s", holder)
	}
	l, err := h.LinkByName(v.Interface)
	if err != nil {
		return err
	}
	return h.NeighSet(&netlink.Neigh{LinkIndex: l.Attrs().Index, Family: netlink.FAMILY_V4, State: netlink.NUD_PERMANENT, IP: v.Address.AsSlice(), HardwareAddr: mac})
}

// unpin returns the VIP's entry to ordinary ARP (the VIP was deleted).
func unpin(h *netlink.Handle, v VIP) {
	if l, err := h.LinkByName(v.Interface); err == nil {
		_ = h.NeighDel(&netlink.Neigh{LinkIndex: l.Attrs().Index, Family: netlink.FAMILY_V4, IP: v.Address.AsSlice()})
	}
}

// currentHolder reads which member the router's entry points at now.
func currentHolder(h *netlink.Handle, v VIP) netip.Addr {
	l, err := h.LinkByName(v.Interface)
	if err != nil {
		return netip.Addr{}
	}
	neighs, err := h.NeighList(l.Attrs().Index, netlink.FAMILY_V4)
	if err != nil {
		return netip.Addr{}
	}
	for _, n := range neighs {
		if a, ok := netip.AddrFromSlice(n.IP.To4()); ok && a == v.Address {
			for _, m := range v.Members {
				if mac, err := net.ParseMAC(m.MAC); err == nil && mac.String() == n.HardwareAddr.String() {
					return m.Address
				}
			}
		}
	}
	return netip.Addr{}
}

// relayFrom passes the holder's advert on to the pair's other VM(s).
func (e *entry) relayFrom(r *relayer, a advert, log *slog.Logger) {
	for _, m := range e.vip.Members {
		if m.Address == a.src {
			continue
		}
		err := r.relay(a.msg, a.src, m.Address)
		if err != nil && !e.relayErr {
			log.Error("relaying VRRP", "vip", e.vip.Address, "to", m.Address, "err", err)
		} else if err == nil && e.relayErr {
			log.Info("relaying VRRP again", "vip", e.vip.Address)
		}
		e.relayErr = err != nil
	}
}

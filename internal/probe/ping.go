package probe

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
)

// ErrNoReply is returned (wrapped) when no matching echo reply arrived in
// time.
var ErrNoReply = errors.New("probe: no ICMP echo reply")

// ErrUnreachable is returned (wrapped) when a router or the local stack
// answered our echo request with an ICMP destination-unreachable.
var ErrUnreachable = errors.New("probe: destination unreachable")

const protocolICMP = 1 // IANA protocol number, for icmp.ParseMessage

// Ping sends one ICMP echo request to addr and waits up to timeout (or until
// ctx ends) for the matching reply. Sockets are created on the calling
// goroutine, so calling Ping inside netns.Do pings from that namespace.
//
// It uses a raw "ip4:icmp" socket (root or CAP_NET_RAW) and falls back to an
// unprivileged ICMP datagram socket ("udp4"), which the kernel allows when
// the caller's group is inside net.ipv4.ping_group_range. A reply matches on
// source address, identifier (raw sockets only: the kernel rewrites it for
// datagram sockets and filters replies itself), sequence and a random
// payload, so concurrent pings never confuse each other's replies.
func Ping(ctx context.Context, addr netip.Addr, timeout time.Duration) error {
	if !addr.Is4() {
		return fmt.Errorf("probe: ping %v: only IPv4 is supported", addr)
	}
	if timeout <= 0 {
		return fmt.Errorf("probe: ping %v: timeout must be positive", addr)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	conn, raw, err := listen()
	if err != nil {
		return err
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return err
	}
	// Unblock the read at once when the caller cancels ctx.
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()

	var rnd [20]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	id := int(binary.BigEndian.Uint16(rnd[0:2]))
	seq := int(binary.BigEndian.Uint16(rnd[2:4]))
	payload := rnd[4:]
	req := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: id, Seq: seq, Data: payload}}
	wire, err := req.Marshal(nil)
	if err != nil {
		return err
	}
	var dst net.Addr = &net.IPAddr{IP: addr.AsSlice()}
	if !raw {
		dst = &net.UDPAddr{IP: addr.AsSlice()}
	}
	if _, err := conn.WriteTo(wire, dst); err != nil {
		return fmt.Errorf("probe: ping %v: send: %w", addr, err)
	}

	buf := make([]byte, 1500)
	for {
		n, peer, err := conn.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) || isTimeout(err) {
				return fmt.Errorf("probe: ping %v: %w within %v", addr, ErrNoReply, timeout)
			}
			return fmt.Errorf("probe: ping %v: receive: %w", addr, err)
		}
		m, err := icmp.ParseMessage(protocolICMP, buf[:n])
		if err != nil {
			continue
		}
		switch m.Type {
		case ipv4.ICMPTypeEchoReply:
			echo, ok := m.Body.(*icmp.Echo)
			if !ok || peerAddr(peer) != addr || echo.Seq != seq || !bytes.Equal(echo.Data, payload) {
				continue
			}
			if raw && echo.ID != id {
				continue
			}
			return nil
		case ipv4.ICMPTypeDestinationUnreachable:
			if du, ok := m.Body.(*icmp.DstUnreach); ok && raw && quotesOurRequest(du.Data, addr, id, seq) {
				return fmt.Errorf("probe: ping %v: %w (code %d from %v)", addr, ErrUnreachable, m.Code, peer)
			}
		}
	}
}

func listen() (conn *icmp.PacketConn, raw bool, err error) {
	c, rawErr := icmp.ListenPacket("ip4:icmp", "0.0.0.0")
	if rawErr == nil {
		return c, true, nil
	}
	c, dgramErr := icmp.ListenPacket("udp4", "0.0.0.0")
	if dgramErr == nil {
		return c, false, nil
	}
	return nil, false, fmt.Errorf("probe: no ICMP socket (raw: %v; unprivileged: %v; see net.ipv4.ping_group_range)", rawErr, dgramErr)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func peerAddr(a net.Addr) netip.Addr {
	var ip net.IP
	switch a := a.(type) {
	case *net.IPAddr:
		ip = a.IP
	case *net.UDPAddr:
		ip = a.IP
	}
	p, _ := netip.AddrFromSlice(ip)
	return p.Unmap()
}

// quotesOurRequest reports whether the original datagram quoted in an ICMP
// error (IPv4 header + first 8 bytes of our echo request) is ours.
func quotesOurRequest(orig []byte, dst netip.Addr, id, seq int) bool {
	if len(orig) < 20 {
		return false
	}
	ihl := int(orig[0]&0x0f) * 4
	if ihl < 20 || len(orig) < ihl+8 {
		return false
	}
	d, _ := netip.AddrFromSlice(orig[16:20])
	return d == dst &&
		orig[ihl] == byte(ipv4.ICMPTypeEcho) &&
		int(binary.BigEndian.Uint16(orig[ihl+4:])) == id &&
		int(binary.BigEndian.Uint16(orig[ihl+6:])) == seq
}

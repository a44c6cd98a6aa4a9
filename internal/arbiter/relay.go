package arbiter

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/net/ipv4"

	"lbaas/internal/netns"
)

// The router relays the holder's adverts to the other VM of its pair.
//
// Pinning the router's neighbour entry keeps a second MASTER from getting
// floating-IP traffic, but clients on the VIP network itself would still
// follow its gratuitous ARPs. The relay keeps the second MASTER from
// arising: when the path between the two VMs breaks while both still reach
// the router, the standby keeps hearing the holder through the router and
// stays BACKUP (every VM runs with nopreempt, so it accepts the holder's
// adverts whatever their priority). A dead holder sends nothing, so
// nothing is relayed and the standby takes over as before; a resigning
// holder's priority 0 is relayed too, so the standby takes over at once.

const (
	protoVRRP = 112
	vrrpTTL   = 255 // RFC 5798: adverts with another TTL are dropped
	tosVRRP   = 0xc0
)

// relayPacket returns the VRRP message as it must look when sent from src
// to dst: a VRRPv3 checksum covers an IPv4 pseudo-header, so a new
// destination needs a new checksum; a VRRPv2 checksum covers the message
// alone and stays.
func relayPacket(msg []byte, src, dst netip.Addr) ([]byte, error) {
	if _, ok := parseAdvert(msg); !ok {
		return nil, fmt.Errorf("not a VRRP advertisement")
	}
	out := append([]byte(nil), msg...)
	if out[0]>>4 == 3 {
		out[6], out[7] = 0, 0
		binary.BigEndian.PutUint16(out[6:], vrrpChecksum(out, src, dst))
	}
	return out, nil
}

// vrrpChecksum is the VRRPv3 checksum over an IPv4 pseudo-header (source,
// destination, zero, protocol, length) and the message, whose checksum
// field must be zero.
func vrrpChecksum(msg []byte, src, dst netip.Addr) uint16 {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(b[i])<<8 | uint32(b[i+1])
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	s, d := src.As4(), dst.As4()
	add(s[:])
	add(d[:])
	add([]byte{0, protoVRRP, byte(len(msg) >> 8), byte(len(msg))})
	add(msg)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// relayer sends VRRP messages with a source address of another host, which
// needs a raw socket that writes its own IP header.
type relayer struct {
	conn *ipv4.RawConn
}

func newRelayer(namespace string) (*relayer, error) {
	var c net.PacketConn
	// IPPROTO_RAW: send-only, header included; it receives nothing, so it
	// never competes with the listening socket.
	err := netns.Do(namespace, func() error {
		var err error
		c, err = net.ListenPacket("ip4:255", "0.0.0.0")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("raw socket for the VRRP relay in %s: %w", namespace, err)
	}
	rc, err := ipv4.NewRawConn(c)
	if err != nil {
		c.Close()
		return nil, err
	}
	return &relayer{conn: rc}, nil
}

func (r *relayer) Close() error { return r.conn.Close() }

// relay sends msg, an advert of src, on to dst as if src had sent it.
func (r *relayer) relay(msg []byte, src, dst netip.Addr) error {
	out, err := relayPacket(msg, src, dst)
	if err != nil {
		return err
	}
	h := &ipv4.Header{
		Version:  ipv4.Version,
		Len:      ipv4.HeaderLen,
		TOS:      tosVRRP,
		TotalLen: ipv4.HeaderLen + len(out),
		TTL:      vrrpTTL,
		Protocol: protoVRRP,
		Src:      src.AsSlice(),
		Dst:      dst.AsSlice(),
	}
	return r.conn.WriteTo(h, out, nil)
}

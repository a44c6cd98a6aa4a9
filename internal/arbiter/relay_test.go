package arbiter

import (
	"encoding/binary"
	"net/netip"
	"testing"
)

var router = netip.MustParseAddr("20.1.1.1")

// checksumHolds reports whether msg, as received by dst from src, passes
// the VRRPv3 check: the sum over pseudo-header and message is all ones.
func checksumHolds(msg []byte, src, dst netip.Addr) bool {
	c := append([]byte(nil), msg...)
	got := binary.BigEndian.Uint16(c[6:])
	c[6], c[7] = 0, 0
	return vrrpChecksum(c, src, dst) == got
}

func advertV3(t *testing.T, prio byte, src, dst netip.Addr) []byte {
	t.Helper()
	// version 3, type 1; VRID 7; priority; one address; max advert 3 cs; checksum; the VIP.
	msg := []byte{0x31, 7, prio, 1, 0x00, 0x03, 0, 0, 20, 1, 1, 10}
	binary.BigEndian.PutUint16(msg[6:], vrrpChecksum(msg, src, dst))
	return msg
}

func TestRelayedV3AdvertCarriesTheChecksumOfItsNewDestination(t *testing.T) {
	in := advertV3(t, 200, vmA, router)
	out, err := relayPacket(in, vmA, vmB)
	if err != nil {
		t.Fatal(err)
	}
	if !checksumHolds(out, vmA, vmB) {
		t.Fatal("the relayed advert fails the checksum at its destination")
	}
	if checksumHolds(in, vmA, vmB) {
		t.Fatal("test is blind: the original checksum already passes at the new destination")
	}
	if string(out[:6]) != string(in[:6]) || string(out[8:]) != string(in[8:]) {
		t.Fatalf("relay changed more than the checksum: %x -> %x", in, out)
	}
	if &out[0] == &in[0] {
		t.Fatal("relay wrote into the received buffer")
	}
}

func TestRelayedV2AdvertIsUnchanged(t *testing.T) {
	in := []byte{0x21, 7, 200, 1, 0, 1, 0xab, 0xcd, 20, 1, 1, 10}
	out, err := relayPacket(in, vmA, vmB)
	if err != nil || string(out) != string(in) {
		t.Fatalf("v2 advert relayed as %x (%v), want %x", out, err, in)
	}
}

func TestRelayRefusesWhatIsNotAnAdvert(t *testing.T) {
	for _, msg := range [][]byte{nil, {0x32, 7, 200, 1, 0, 3, 0, 0}, {0x41, 7, 200, 1, 0, 3, 0, 0}} {
		if _, err := relayPacket(msg, vmA, vmB); err == nil {
			t.Errorf("relayed %x", msg)
		}
	}
}

package arbiter

import (
	"net/netip"
	"testing"
	"time"
)

var (
	vmA = netip.MustParseAddr("20.1.1.254")
	vmB = netip.MustParseAddr("20.1.1.253")
	t0  = time.Unix(1000, 0)
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestFirstAdvertiserBecomesTheHolder(t *testing.T) {
	d := NewDecider([]netip.Addr{vmA, vmB}, ms(175), netip.Addr{})
	d.Advert(vmA, 200, t0)
	if h := d.Holder(t0); h != vmA {
		t.Fatalf("holder %v, want %v", h, vmA)
	}
}

func TestASecondMasterDuringAPartitionGetsNothing(t *testing.T) {
	d := NewDecider([]netip.Addr{vmA, vmB}, ms(175), vmA)
	for i := 0; i < 20; i++ {
		now := t0.Add(ms(50 * i))
		d.Advert(vmA, 200, now)
		d.Advert(vmB, 100, now.Add(ms(5))) // B cannot hear A and advertises too
		if h := d.Holder(now.Add(ms(6))); h != vmA {
			t.Fatalf("at %d: holder moved to %v while %v still advertises", i, h, vmA)
		}
	}
}

func TestSilentHolderIsReplacedByTheAdvertisingOne(t *testing.T) {
	d := NewDecider([]netip.Addr{vmA, vmB}, ms(175), vmA)
	d.Advert(vmA, 200, t0) // then A's node dies
	d.Advert(vmB, 100, t0.Add(ms(160)))
	if h := d.Holder(t0.Add(ms(160))); h != vmA {
		t.Fatalf("switched before A's adverts timed out: %v", h)
	}
	d.Advert(vmB, 100, t0.Add(ms(210)))
	if h := d.Holder(t0.Add(ms(210))); h != vmB {
		t.Fatalf("holder %v, want %v once A is silent", h, vmB)
	}
}

func TestResigningHolderIsReplacedAtOnce(t *testing.T) {
	d := NewDecider([]netip.Addr{vmA, vmB}, ms(175), vmA)
	d.Advert(vmA, 200, t0)
	d.Advert(vmA, 0, t0.Add(ms(10))) // A's HAProxy died: priority 0
	d.Advert(vmB, 100, t0.Add(ms(15)))
	if h := d.Holder(t0.Add(ms(15))); h != vmB {
		t.Fatalf("holder %v, want %v right after A resigned", h, vmB)
	}
}

func TestNobodyAdvertisingKeepsTheHolder(t *testing.T) {
	d := NewDecider([]netip.Addr{vmA, vmB}, ms(175), vmA)
	if h := d.Holder(t0.Add(time.Hour)); h != vmA {
		t.Fatalf("holder %v, want %v kept", h, vmA)
	}
}

func TestStrangersAreIgnored(t *testing.T) {
	d := NewDecider([]netip.Addr{vmA, vmB}, ms(175), vmA)
	d.Advert(netip.MustParseAddr("20.1.1.9"), 250, t0)
	if h := d.Holder(t0); h != vmA {
		t.Fatalf("a stranger's advert moved the VIP to %v", h)
	}
}

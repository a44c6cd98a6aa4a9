package haproxy

import (
	"net/netip"
	"testing"
)

func members(ids ...string) []Member {
	var out []Member
	for i, id := range ids {
		out = append(out, Member{ID: id, Address: netip.AddrFrom4([4]byte{10, 1, 0, byte(i + 1)}), Port: 80, Weight: 1, AdminUp: true})
	}
	return out
}

func slotsOf(ms []Member) map[string]int { return SlotMap(ms) }

func TestExistingMembersKeepTheirSlotsAndNewOnesTakeTheLowestFree(t *testing.T) {
	prev := map[string]int{memA: 3, memB: 1}
	got, n := AssignSlots(prev, members(memA, memB, memC), 16)
	if n != 16 {
		t.Errorf("slot count %d, want 16", n)
	}
	want := map[string]int{memA: 3, memB: 1, memC: 2}
	for id, s := range want {
		if slotsOf(got)[id] != s {
			t.Errorf("%s in slot %d, want %d", id, slotsOf(got)[id], s)
		}
	}
	for i := 1; i < len(got); i++ {
		if got[i-1].Slot >= got[i].Slot {
			t.Error("result not sorted by slot")
		}
	}
}

func TestRemovedMemberFreesItsSlotForTheNextNewMember(t *testing.T) {
	prev := map[string]int{memA: 1, memB: 2}
	got, _ := AssignSlots(prev, members(memB, memC), 16)
	if s := slotsOf(got); s[memB] != 2 || s[memC] != 1 {
		t.Errorf("got %v", s)
	}
}

func TestFullBackendGrowsToNextMultipleOfSlotStep(t *testing.T) {
	var ids []string
	prev := map[string]int{}
	for i := 0; i < 17; i++ {
		id := uuidN(i)
		ids = append(ids, id)
		if i < 16 {
			prev[id] = i + 1
		}
	}
	got, n := AssignSlots(prev, members(ids...), 16)
	if n != 32 {
		t.Fatalf("slot count %d, want 32", n)
	}
	if slotsOf(got)[ids[16]] != 17 {
		t.Errorf("new member in slot %d, want 17", slotsOf(got)[ids[16]])
	}
}

func TestFirstAssignmentStartsWithOneStepOfSlots(t *testing.T) {
	got, n := AssignSlots(nil, members(memB, memA), 0)
	if n != SlotStep {
		t.Errorf("slot count %d, want %d", n, SlotStep)
	}
	// New members are placed in id order, so the result never depends on input order.
	if s := slotsOf(got); s[memA] != 1 || s[memB] != 2 {
		t.Errorf("got %v", s)
	}
}

func TestSlotCountNeverShrinks(t *testing.T) {
	_, n := AssignSlots(map[string]int{memA: 1}, members(memA), 48)
	if n != 48 {
		t.Errorf("slot count %d, want 48", n)
	}
}

func TestCorruptPreviousMapWithSharedSlotStillYieldsUniqueSlots(t *testing.T) {
	got, n := AssignSlots(map[string]int{memA: 1, memB: 1}, members(memA, memB), 16)
	s := slotsOf(got)
	if s[memA] == s[memB] || n != 16 {
		t.Errorf("got %v, %d", s, n)
	}
	spec := baseSpec()
	spec.pool(0).Members, spec.pool(0).Slots = got, n
	if _, err := Render(spec); err != nil {
		t.Error(err)
	}
}

func uuidN(i int) string {
	const hex = "0123456789abcdef"
	b := []byte("00000000-0000-4000-8000-000000000000")
	b[34], b[35] = hex[i/16], hex[i%16]
	return string(b)
}

package haproxy

import (
	"fmt"
	"sort"
)

// SlotStep is the granularity of slot growth: a full backend grows to the next
// multiple of SlotStep, so reloads for growth are rare.
const SlotStep = 16

// SlotName is the server name of a 1-based slot ("s001").
func SlotName(slot int) string { return fmt.Sprintf("s%03d", slot) }

// AssignSlots places members into server slots deterministically.
//
// previous maps member id → slot as last applied (see SlotMap); slots is the
// current slot count. Members found in previous keep their slot; new members,
// in id order, take the lowest free slots. When the members do not fit, the
// count grows to the next multiple of SlotStep (growth is structural: a reload).
// The count never shrinks here, which keeps removals a runtime operation.
// The returned members are copies with Slot set, sorted by slot.
func AssignSlots(previous map[string]int, members []Member, slots int) ([]Member, int) {
	if slots < 0 {
		slots = 0
	}
	out := make([]Member, len(members))
	copy(out, members)
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })

	used := map[int]bool{}
	var fresh []int
	for i := range out {
		s, ok := previous[out[i].ID]
		if ok && s >= 1 && !used[s] {
			out[i].Slot = s
			used[s] = true
			if s > slots {
				slots = s
			}
			continue
		}
		fresh = append(fresh, i)
	}
	if need := len(used) + len(fresh); need > slots || slots == 0 {
		slots = roundUp(max(need, slots, 1), SlotStep)
	}
	next := 1
	for _, i := range fresh {
		for used[next] {
			next++
		}
		if next > slots {
			// Kept slots above the count can leave holes short; grow again.
			slots = roundUp(next, SlotStep)
		}
		out[i].Slot = next
		used[next] = true
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Slot < out[j].Slot })
	return out, slots
}

func roundUp(n, step int) int { return (n + step - 1) / step * step }

// SlotMap returns member id → slot for members (e.g. from LoadState), the
// previous argument of AssignSlots.
func SlotMap(members []Member) map[string]int {
	m := make(map[string]int, len(members))
	for _, mb := range members {
		m[mb.ID] = mb.Slot
	}
	return m
}

package model

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestEventIDsSortNewestFirst: the store lists by id, so the history
// reads newest first, and two events of one instant do not collide.
func TestEventIDsSortNewestFirst(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	var ids []string
	for _, d := range []time.Duration{0, time.Nanosecond, time.Second, 24 * time.Hour, 10 * 365 * 24 * time.Hour} {
		ids = append(ids, NewEventID(t0.Add(d)))
	}
	if !slices.IsSortedFunc(ids, func(a, b string) int { return -strings.Compare(a, b) }) {
		t.Errorf("later events do not sort first: %v", ids)
	}
	if a, b := NewEventID(t0), NewEventID(t0); a == b {
		t.Errorf("two events of one instant share id %s", a)
	}
}

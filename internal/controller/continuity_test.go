package controller

import (
	"testing"
	"time"
)

func TestNodeDeathsAreBelievedOnlyAfterTheStoreAnsweredWithoutAGapForTheGrace(t *testing.T) {
	const grace = 4 * time.Second
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var c continuity
	c.restart(t0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	// Answers every 250 ms.
	for d := time.Duration(0); d <= 5*time.Second; d += continuityProbeEvery {
		c.answered(at(d))
	}
	if c.trusted(at(3*time.Second), grace) {
		t.Error("trusted before the grace had passed since the term began")
	}
	if !c.trusted(at(5*time.Second), grace) {
		t.Error("not trusted after answers without a gap for longer than the grace")
	}
	// Frozen for 3 s: the first reconcile after the thaw may run before
	// the next probe, and it must not believe the expired leases.
	if c.trusted(at(8*time.Second), grace) {
		t.Error("trusted while the last answer is 3 s old")
	}
	c.answered(at(8 * time.Second))
	if c.trusted(at(8*time.Second+time.Second), grace) {
		t.Error("trusted one second after a 3 s gap")
	}
	for d := 8 * time.Second; d <= 13*time.Second; d += continuityProbeEvery {
		c.answered(at(d))
	}
	if !c.trusted(at(13*time.Second), grace) {
		t.Error("not trusted after the grace following the gap")
	}
	// Answers a little late (a busy machine) are no gap.
	c.answered(at(13*time.Second + continuityGap))
	if !c.trusted(at(13*time.Second+continuityGap), grace) {
		t.Error("a late answer within continuityGap was taken for a gap")
	}
}

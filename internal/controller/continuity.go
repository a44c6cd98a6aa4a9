package controller

import (
	"context"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// A node is dead when its lease runs out, but a lease also runs out when
// nothing could renew it: the store was paused or without quorum, or this
// very process (with its embedded etcd) was frozen. When the store comes
// back it expires every such lease at once, and a controller that believed
// it would move every load balancer off nodes that are alive and beating
// again half a second later. So node deaths are believed only after the
// controller has seen the store answer without a gap for StartupGrace:
// long enough for every live agent to beat again.

// continuityProbeEvery is how often the leader checks that the store
// answers; a gap of continuityGap between answers (failed reads, a frozen
// process, a starved one) starts a new grace.
const (
	continuityProbeEvery = 250 * time.Millisecond
	continuityGap        = NodeTTL / 2
)

// continuity tracks since when the store has answered without a gap.
type continuity struct {
	mu sync.Mutex
	// tracking is set by the first term; a controller that only runs
	// Reconcile (the tests of one pass) has no term and trusts the store.
	tracking bool
	// lastOK is the last time the store answered.
	lastOK time.Time
	// since is when the current unbroken run of answers began.
	since time.Time
}

// restart starts a new run at now (a new term).
func (c *continuity) restart(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tracking, c.lastOK, c.since = true, now, now
}

// answered records that the store answered at now.
func (c *continuity) answered(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Sub(c.lastOK) > continuityGap {
		c.since = now
	}
	c.lastOK = now
}

// trusted reports whether, at now, the store has answered without a gap
// for at least grace, so that a missing node is really dead.
func (c *continuity) trusted(now time.Time, grace time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	// A gap still open (no answer lately) is a gap too: the reconcile that
	// sees leases expire may run before the next probe.
	if !c.tracking {
		return true
	}
	return now.Sub(c.lastOK) <= continuityGap && now.Sub(c.since) >= grace
}

// probe reads from the store every continuityProbeEvery until ctx ends,
// recording each answer.
func (c *continuity) probe(ctx context.Context, cli *clientv3.Client) {
	t := time.NewTicker(continuityProbeEvery)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(clientv3.WithRequireLeader(ctx), continuityGap)
		_, err := cli.Get(pctx, "/lbaas/election/controller", clientv3.WithCountOnly())
		cancel()
		if err == nil {
			c.answered(time.Now())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

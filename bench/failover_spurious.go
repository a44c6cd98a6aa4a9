package bench

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"lbaas/internal/vrrp"
)

// SpuriousResult is saturating load while nothing fails (wrk through the
// floating IP, stress-ng keeping every CPU busy): every VIP move is
// spurious.
type SpuriousResult struct {
	Duration    time.Duration
	Connections int
	// Saturated says stress-ng ran during the whole watch.
	Saturated bool
	Wrk       WrkResult
	// Polls of the VIP's holder (every holderPollEvery); HolderChanges
	// counts polls whose holder differs from the previous one, NoHolder
	// and BothHold the polls that found none or both VMs holding it.
	Polls, HolderChanges, NoHolder, BothHold int
	// MasterEntries counts keepalived's "Entering MASTER STATE" lines
	// logged by either VM during the load.
	MasterEntries int
	Holder        string
	Err           string
}

// Spurious is the number of failovers seen by either measure.
func (s SpuriousResult) Spurious() int { return max(s.HolderChanges, s.MasterEntries) }

// Per10Min is Spurious as a rate per 10 minutes of watching (-1 when
// nothing was watched).
func (s SpuriousResult) Per10Min() float64 {
	if s.Polls == 0 || s.Duration <= 0 {
		return -1
	}
	return float64(s.Spurious()) * float64(10*time.Minute) / float64(s.Duration)
}

// Zero says the watch ran as meant (saturated, polled, no error) and saw
// no spurious failover.
func (s SpuriousResult) Zero() bool {
	return s.Err == "" && s.Saturated && s.Polls > 0 && s.Spurious() == 0
}

const holderPollEvery = 20 * time.Millisecond

func (ft *foTopo) spurious(ctx context.Context, o FailoverOptions) (res SpuriousResult) {
	res.Duration, res.Connections = o.SpuriousDuration, o.SpuriousConnections
	if err := ft.waitSettled(ctx, settleLimit); err != nil {
		res.Err = err.Error()
		return res
	}
	vms, _, _, err := ft.pair()
	if err != nil {
		res.Err = err.Error()
		return res
	}
	res.Holder = ft.holder(vms)
	masters := func() int {
		n := 0
		for _, vm := range vms {
			b, _ := os.ReadFile(vrrp.PathsIn(filepath.Join(vm.Dir, "keepalived")).Log)
			n += strings.Count(string(b), "Entering MASTER STATE")
		}
		return n
	}
	before := masters()
	sat, err := saturate(o.SpuriousDuration + time.Minute)
	if err != nil {
		res.Err = err.Error() // still watched, under wrk alone
	}
	defer sat.stop()
	res.Saturated = sat != nil
	pctx, cancel := context.WithTimeout(ctx, o.SpuriousDuration+30*time.Second)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		prev := res.Holder
		tick := time.NewTicker(holderPollEvery)
		defer tick.Stop()
		for {
			select {
			case <-pctx.Done():
				return
			case <-tick.C:
			}
			h := ft.holder(vms)
			res.Polls++
			switch {
			case h == "":
				res.NoHolder++
			case strings.Contains(h, "+"):
				res.BothHold++
			}
			if h != prev {
				res.HolderChanges++
				prev = h
			}
		}
	}()
	wrk, err := runWrk(ctx, ft.pubClient, ft.url(), DataplaneOptions{WrkDuration: o.SpuriousDuration, WrkConnections: o.SpuriousConnections, WrkThreads: 2})
	sat.stop()
	cancel()
	wg.Wait()
	res.Wrk = wrk
	if err != nil && res.Err == "" {
		res.Err = err.Error()
	}
	res.MasterEntries = masters() - before
	o.progress("advert %v: spurious: %v of wrk -c%d (stress-ng %v): %.0f req/s, %d errors; %d holder polls, %d changes, %d MASTER entries",
		ft.advert, o.SpuriousDuration, o.SpuriousConnections, res.Saturated, wrk.ReqPerSec, wrk.Errors, res.Polls, res.HolderChanges, res.MasterEntries)
	return res
}

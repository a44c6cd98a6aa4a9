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
	// SoftirqWaitOver10ms counts the polls in which a ksoftirqd thread
	// waited more than 10 ms for a CPU; SoftirqWaitMax is the longest such
	// wait within one poll; NearChanges is that wait in the 200 ms before
	// each holder change (see softirqWatch).
	SoftirqWaitOver10ms int
	SoftirqWaitMax      time.Duration
	NearChanges         []SoftirqNearChange `json:",omitempty"`
	// MasterContext holds, for each MASTER entry during the watch, the
	// keepalived log lines that led to it: what the VM saw (a timeout, an
	// advert of lower priority, a reload).
	MasterContext []string `json:",omitempty"`
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
	logs := func() map[string][]string {
		out := map[string][]string{}
		for _, vm := range vms {
			b, _ := os.ReadFile(vrrp.PathsIn(filepath.Join(vm.Dir, "keepalived")).Log)
			out[vm.Node] = strings.Split(string(b), "\n")
		}
		return out
	}
	masters := func(l map[string][]string) int {
		n := 0
		for _, lines := range l {
			for _, line := range lines {
				if strings.Contains(line, "Entering MASTER STATE") {
					n++
				}
			}
		}
		return n
	}
	startLogs := logs()
	before := masters(startLogs)
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
		sw := newSoftirqWatch()
		tick := time.NewTicker(holderPollEvery)
		defer tick.Stop()
		for {
			select {
			case <-pctx.Done():
				return
			case <-tick.C:
			}
			h := ft.holder(vms)
			now := time.Now()
			d := sw.sample(now)
			res.SoftirqWaitMax = max(res.SoftirqWaitMax, d)
			if d > 10*time.Millisecond {
				res.SoftirqWaitOver10ms++
			}
			res.Polls++
			switch {
			case h == "":
				res.NoHolder++
			case strings.Contains(h, "+"):
				res.BothHold++
			}
			if h != prev {
				res.HolderChanges++
				res.NearChanges = append(res.NearChanges, SoftirqNearChange{At: now, MaxWait: sw.before(now, 200*time.Millisecond)})
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
	endLogs := logs()
	res.MasterEntries = masters(endLogs) - before
	for node, lines := range endLogs {
		for i := len(startLogs[node]); i < len(lines); i++ {
			if strings.Contains(lines[i], "Entering MASTER STATE") {
				res.MasterContext = append(res.MasterContext, node+": "+strings.Join(lines[max(0, i-5):i+1], " | "))
			}
		}
	}
	o.progress("advert %v: spurious: %v of wrk -c%d (stress-ng %v): %.0f req/s, %d errors; %d holder polls, %d changes, %d MASTER entries; ksoftirqd waited > 10 ms in %d polls (max %v); before each change: %v",
		ft.advert, o.SpuriousDuration, o.SpuriousConnections, res.Saturated, wrk.ReqPerSec, wrk.Errors, res.Polls, res.HolderChanges, res.MasterEntries,
		res.SoftirqWaitOver10ms, res.SoftirqWaitMax.Round(time.Millisecond), res.NearChanges)
	for _, c := range res.MasterContext {
		o.progress("advert %v: spurious MASTER entry: %s", ft.advert, c)
	}
	return res
}

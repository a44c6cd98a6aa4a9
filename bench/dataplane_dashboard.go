package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"time"

	"lbaas/internal/ui"
)

// DashboardResult is how long the dashboard's stream takes to show what
// happened: the VIP moving after the active HAProxy is killed, and a new
// load balancer appearing after its create returned.
type DashboardResult struct {
	Switch, NewLB Durations
	// NoSwitch counts kills the agent repaired before keepalived moved
	// the VIP (nothing to show).
	NoSwitch int
	Err      string
}

// dashboardView is one view received from the stream, with its arrival.
type dashboardView struct {
	at time.Time
	v  ui.View
}

// dashboardStream logs in as the admin and follows /ui/api/stream,
// sending each view with the time it arrived, until ctx ends.
func (tp *dpTopo) dashboardStream(ctx context.Context) (<-chan dashboardView, error) {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	body, _ := json.Marshal(map[string]string{"token": tp.c.AdminToken})
	lr, err := http.NewRequestWithContext(ctx, "POST", tp.c.URL+"/ui/api/login", strings.NewReader(string(body)))
	if err != nil {
		return nil, err
	}
	lr.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(lr)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("dashboard login: %s", resp.Status)
	}
	sr, err := http.NewRequestWithContext(ctx, "GET", tp.c.URL+"/ui/api/stream", nil)
	if err != nil {
		return nil, err
	}
	stream, err := hc.Do(sr)
	if err != nil {
		return nil, err
	}
	out := make(chan dashboardView, 64)
	go func() {
		defer stream.Body.Close()
		defer close(out)
		sc := bufio.NewScanner(stream.Body)
		sc.Buffer(make([]byte, 4<<20), 4<<20)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			var v ui.View
			if json.Unmarshal([]byte(data), &v) != nil {
				continue
			}
			select {
			case out <- dashboardView{at: time.Now(), v: v}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// waitView reads views until one satisfies ok, and returns its arrival.
func waitView(ctx context.Context, views <-chan dashboardView, limit time.Duration, ok func(ui.View) bool) (time.Time, error) {
	deadline := time.After(limit)
	for {
		select {
		case dv, open := <-views:
			if !open {
				return time.Time{}, fmt.Errorf("the dashboard's stream ended")
			}
			if ok(dv.v) {
				return dv.at, nil
			}
		case <-deadline:
			return time.Time{}, fmt.Errorf("not on the dashboard within %v", limit)
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		}
	}
}

// masterNode is the node of the load balancer's VM the view shows as
// holding the VIP ("" for none).
func masterNode(v ui.View, lbID string) string {
	for _, lb := range v.LoadBalancers {
		if lb.ID != lbID {
			continue
		}
		for _, vm := range lb.VMs {
			if vm.HAState == "MASTER" {
				return vm.Node
			}
		}
	}
	return ""
}

// dashboard measures the stream's latency: runs kills of the active
// HAProxy (the time until the view shows another node holding the VIP)
// and runs creates of a load balancer (until the view lists it).
func (tp *dpTopo) dashboard(ctx context.Context, o DataplaneOptions) (res DashboardResult) {
	runs := 5
	if o.Quick {
		runs = 1
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	views, err := tp.dashboardStream(ctx)
	if err != nil {
		res.Err = err.Error()
		return res
	}
	ft := &foTopo{dpTopo: tp}
	for run := 1; run <= runs && ctx.Err() == nil; run++ {
		if err := ft.waitSettled(ctx, settleLimit); err != nil {
			res.Err = err.Error()
			return res
		}
		vms, _, _, err := tp.pair()
		if err != nil {
			res.Err = err.Error()
			return res
		}
		active, _, err := ft.activeOf(vms)
		if err != nil {
			res.Err = err.Error()
			return res
		}
		if err := killHAProxy(active); err != nil {
			res.Err = err.Error()
			return res
		}
		t0 := time.Now()
		at, err := waitView(ctx, views, 10*time.Second, func(v ui.View) bool {
			n := masterNode(v, tp.vipID)
			return n != "" && n != active.Node
		})
		if err != nil {
			res.NoSwitch++
			o.progress("dashboard run %d: the VIP stayed on %s (the agent restarted HAProxy first)", run, active.Node)
			continue
		}
		res.Switch = append(res.Switch, at.Sub(t0))
		o.progress("dashboard run %d: the page's view showed the switch from %s %v after the kill", run, active.Node, at.Sub(t0).Round(time.Millisecond))
	}
	for run := 1; run <= runs && ctx.Err() == nil; run++ {
		lb, err := tp.octavia.Create("/v2.0/lbaas/loadbalancers", "loadbalancer", map[string]any{"name": fmt.Sprintf("dash-%d", run), "vip_subnet_id": tp.vipSub})
		if err != nil {
			res.Err = err.Error()
			return res
		}
		t0 := time.Now()
		id := str(lb, "id")
		at, err := waitView(ctx, views, 10*time.Second, func(v ui.View) bool {
			for _, l := range v.LoadBalancers {
				if l.ID == id {
					return true
				}
			}
			return false
		})
		_ = tp.octavia.Call("DELETE", "/v2.0/lbaas/loadbalancers/"+id+"?cascade=true", nil, nil)
		if err != nil {
			res.Err = err.Error()
			return res
		}
		res.NewLB = append(res.NewLB, at.Sub(t0))
		_ = tp.waitInstancesGone(ctx, id, 30*time.Second)
	}
	return res
}

func (r *DataplaneReport) dashboardMarkdown(w writer) {
	x := r.Dashboard
	w("## Dashboard update latency")
	w("")
	w("A client logged in to the dashboard follows its server-sent event stream (`/ui/api/stream`, what the page reads)")
	w("and notes when each view arrives. Killed active HAProxy: from the SIGKILL to the first view that shows another")
	w("node's VM holding the VIP (keepalived's failover, the agent's observation and report, the store, the stream).")
	w("New load balancer: from the create's answer to the first view that lists it. The page draws a view in a few")
	w("milliseconds more.")
	w("")
	w("| event | runs | median | max |")
	w("|---|---:|---:|---:|")
	w("| active HAProxy killed → switch shown | %d | %s | %s |", len(x.Switch), ms(x.Switch.Median()), ms(x.Switch.Max()))
	w("| load balancer created → listed | %d | %s | %s |", len(x.NewLB), ms(x.NewLB.Median()), ms(x.NewLB.Max()))
	if x.NoSwitch > 0 {
		w("")
		w("- %d kill(s) repaired by the agent before keepalived moved the VIP: nothing to show, not counted", x.NoSwitch)
	}
	if x.Err != "" {
		w("- error: %s", x.Err)
	}
	w("")
}

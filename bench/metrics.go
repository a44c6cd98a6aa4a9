package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"time"

	"lbaas/internal/api/octavia"
	"lbaas/internal/metrics"
	"lbaas/internal/model"
	"lbaas/internal/store"
	"lbaas/internal/store/storetest"
)

// MetricsReproduceCmd reproduces the metrics benchmark.
const MetricsReproduceCmd = "./lbaas.sh bench metrics"

// MetricsOptions configure the metrics benchmark.
type MetricsOptions struct {
	Quick    bool
	Progress io.Writer
}

func (o MetricsOptions) progress(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, time.Now().Format("15:04:05")+" "+format+"\n", args...)
	}
}

// MetricsStage is one size of deployment.
type MetricsStage struct {
	LoadBalancers int
	// Scrape is GET /metrics: its duration over the runs, its size and
	// its series.
	Scrape Durations
	Bytes  int
	Series int
	// StatsPass is the baseline: what an exporter of Octavia's API does
	// for one scrape, GET /v2/lbaas/loadbalancers/{id}/stats once per
	// load balancer, through our Octavia API (in this process, over
	// loopback), which answers from the same store.
	StatsPass Durations
}

// Durations are the runs' times of one measure.
type Durations []time.Duration

// Median of the runs.
func (d Durations) Median() time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(d))
	return s[len(s)/2]
}

// Max of the runs.
func (d Durations) Max() time.Duration {
	if len(d) == 0 {
		return 0
	}
	return slices.Max(d)
}

// MetricsReport is the benchmark's result.
type MetricsReport struct {
	Machine Machine
	Quick   bool
	Runs    int
	Stages  []MetricsStage
	Elapsed time.Duration
}

// RunMetrics fills a real store (embedded etcd) with N load balancers as
// the agents report them (two VMs each, a listener, a pool of two members,
// counters on everything) and scrapes /metrics, beside the per-LB stats
// calls an Octavia exporter makes for the same numbers.
func RunMetrics(ctx context.Context, o MetricsOptions) (*MetricsReport, error) {
	start := time.Now()
	sizes, runs := []int{10, 1000}, 20
	if o.Quick {
		sizes, runs = []int{10, 100}, 3
	}
	env, err := storetest.Start("lbt-mxb")
	if err != nil {
		return nil, err
	}
	defer env.Close()
	rep := &MetricsReport{Machine: describeMachine(os.TempDir()), Quick: o.Quick, Runs: runs}
	st := env.Store
	mx := metrics.New(st)
	srv := httptest.NewServer(mx.Handler())
	defer srv.Close()
	api := httptest.NewServer(octavia.New(st, octavia.Config{NoAuth: true, Logger: storetest.Quiet()}))
	defer api.Close()
	hc := &http.Client{Timeout: time.Minute}
	made := 0
	for _, n := range sizes {
		if err := fillLBs(ctx, st, made, n); err != nil {
			return nil, err
		}
		made = n
		stage := MetricsStage{LoadBalancers: n}
		for range runs {
			t0 := time.Now()
			body, err := httpGet(ctx, hc, srv.URL+"/metrics", 1<<30)
			if err != nil {
				return nil, err
			}
			stage.Scrape = append(stage.Scrape, time.Since(t0))
			stage.Bytes = len(body)
			stage.Series = strings.Count(body, "\n") - strings.Count(body, "\n#")
			t0 = time.Now()
			for i := range n {
				if _, err := httpGet(ctx, hc, api.URL+"/v2/lbaas/loadbalancers/"+benchLBID(i)+"/stats", 1<<20); err != nil {
					return nil, err
				}
			}
			stage.StatsPass = append(stage.StatsPass, time.Since(t0))
		}
		o.progress("%d load balancers: scrape %v (%d bytes, %d series), %d stats calls %v", n, stage.Scrape.Median(), stage.Bytes, stage.Series, n, stage.StatsPass.Median())
		rep.Stages = append(rep.Stages, stage)
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

func benchLBID(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }

// fillLBs adds load balancers from..to-1 with what their agents would
// have reported, 50 to a transaction.
func fillLBs(ctx context.Context, st *store.Store, from, to int) error {
	now := time.Now().UTC()
	var rev int64
	for base := from; base < to; base += 50 {
		txn := new(store.Txn)
		for i := base; i < min(base+50, to); i++ {
			id := benchLBID(i)
			sub := func(s string) string { return fmt.Sprintf("%s-%s", s, id[24:]) }
			meta := func(oid string) model.Meta {
				return model.Meta{ID: oid, TenantID: fmt.Sprintf("project-%d", i%10), CreatedAt: now, UpdatedAt: now}
			}
			pool, m1, m2 := sub("pool"), sub("m1"), sub("m2")
			txn.Put(model.KindLoadBalancer, &model.LoadBalancer{Meta: meta(id), Name: fmt.Sprintf("lb-%d", i), AdminStateUp: true, VIPAddress: "10.0.0.1", Provider: "amphora"})
			txn.Put(model.KindListener, &model.Listener{Meta: meta(id), LoadBalancerID: id, Name: "http", AdminStateUp: true, Protocol: "HTTP", ProtocolPort: 80, ConnectionLimit: -1, DefaultPoolID: pool})
			txn.Put(model.KindPool, &model.Pool{Meta: meta(pool), LoadBalancerID: id, AdminStateUp: true, Protocol: "HTTP", LBMethod: "ROUND_ROBIN"})
			for _, m := range []string{m1, m2} {
				txn.Put(model.KindMember, &model.Member{Meta: meta(m), PoolID: pool, Address: "10.1.0.1", ProtocolPort: 80, Weight: 1, AdminStateUp: true})
			}
			vms := []model.SIVM{{ID: sub("vma"), Node: "compute-1", Role: model.RoleActive}, {ID: sub("vmb"), Node: "compute-2", Role: model.RoleStandby}}
			txn.Put(model.KindServiceInstance, &model.ServiceInstance{Meta: meta(id), LoadBalancerID: id, VMs: vms, Status: model.StatusActive})
			for k, vm := range vms {
				s := model.Stats{BytesIn: int64(1000 * i), BytesOut: int64(5000 * i), TotalConnections: int64(i), Requests: int64(i), Responses2xx: int64(i), ResponseTimeMs: 3}
				ha := "MASTER"
				if k == 1 {
					ha, s = "BACKUP", model.Stats{}
				}
				txn.Put(model.KindVMReport, &model.VMReport{Meta: meta(vm.ID), Node: vm.Node, SIID: id, LoadBalancerID: id, State: model.VMServing, HAState: ha,
					Members: map[string]model.MemberHealth{m1: {Status: model.StatusActive}, m2: {Status: model.StatusActive}},
					Stats:   s, Listeners: map[string]model.Stats{id: s}, Pools: map[string]model.Stats{pool: s},
					MemberStats: map[string]model.Stats{m1: s, m2: s}, ReportedAt: now})
			}
		}
		var err error
		if rev, err = st.Commit(ctx, txn); err != nil {
			return err
		}
	}
	if rev > 0 {
		return st.WaitRev(ctx, rev)
	}
	return nil
}

// Markdown renders the report.
func (r *MetricsReport) Markdown() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("# Metrics benchmark: what a Prometheus scrape costs")
	w("")
	w("One real store (embedded etcd) holds N load balancers as their agents report them: two VMs each (one serving,")
	w("one standing by), a listener, a pool of two members, counters on every object. `GET /metrics` (package `metrics`)")
	w("derives every series from the store's cache; the agents are not asked, so the agents' CPU per scrape is none by")
	w("construction (their one `show stat` per HAProxy per observation happens whether anyone scrapes or not).")
	w("Baseline, same run, same store: what an exporter of Octavia's API does for the same numbers, one")
	w("`GET /v2/lbaas/loadbalancers/{id}/stats` per load balancer (our Octavia API, over loopback, one after the other).")
	mode := ""
	if r.Quick {
		mode = " Quick mode: a smoke run, not the benchmark."
	}
	w("Ran %s, took %s, %d runs per measure.%s Reproduce: `%s`.", r.Machine.Date.UTC().Format("2006-01-02 15:04 UTC"), r.Elapsed.Round(time.Second), r.Runs, mode, MetricsReproduceCmd)
	w("")
	w("| machine | |")
	w("|---|---|")
	w("| CPUs | %d (GOMAXPROCS %d) |", r.Machine.NumCPU, r.Machine.GOMAXPROCS)
	w("| CPU | %s |", orDash(r.Machine.CPUModel))
	w("| Go | %s |", r.Machine.GoVersion)
	w("| load average at start | %s |", r.Machine.LoadAvg)
	w("")
	w("| load balancers | scrape median | scrape max | size | series | stats calls, one per LB: median | max | stats pass / scrape |")
	w("|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, s := range r.Stages {
		ratio := 0.0
		if s.Scrape.Median() > 0 {
			ratio = float64(s.StatsPass.Median()) / float64(s.Scrape.Median())
		}
		w("| %d | %s | %s | %d KiB | %d | %s | %s | %s |", s.LoadBalancers, ms(s.Scrape.Median()), ms(s.Scrape.Max()), s.Bytes/1024, s.Series,
			ms(s.StatsPass.Median()), ms(s.StatsPass.Max()), fmtX(ratio))
	}
	w("")
	w("The stats calls give 5 counters per load balancer; the scrape gives every load balancer's, listener's, pool's and")
	w("member's counters, their health, the VMs' VRRP state, and the control plane's own series.")
	w("")
	w("Where a scrape's time goes (CPU profile of the quick run): almost all of it is in the Prometheus client, building,")
	w("sorting and encoding each series, so it grows with the series: about 100 per load balancer of this shape (a")
	w("listener, a pool, two members), a little over 5 µs each. Reading the store and deriving the statuses is a small")
	w("part. The dashboard's update latency is in the data-plane report (`./lbaas.sh bench dataplane`).")
	return b.String()
}

// WriteReport writes Markdown to path, creating its directory.
func (r *MetricsReport) WriteReport(path string) error {
	return writeMarkdown(path, r.Markdown())
}

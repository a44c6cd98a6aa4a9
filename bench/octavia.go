package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"

	"lbaas/internal/server"
)

// Aim of issue 8 for the v2 API, shown next to the ratios (never asserted):
// ours at least this many times as fast as Octavia.
const AimOctaviaRatio = 10

// OctaviaOptions configure RunOctavia. Zero values take the defaults
// documented on each field; Quick shrinks everything for a unit test.
type OctaviaOptions struct {
	// Baseline is the directory of the Octavia baseline's scripts
	// (DefaultOctaviaBaseline).
	Baseline string
	// Workers is the number of gunicorn workers of the Octavia API (2).
	Workers int
	// LBCounts are the numbers of load balancers present when the list is
	// timed ({100, 1000, 10000}; quick {5, 25, 50}). The create levels run
	// after the first list, and what they make counts toward the next.
	LBCounts []int
	// PoolSizes are the member counts of the pools whose list is timed
	// ({100, 1000, 10000}; quick {5, 20, 50}).
	PoolSizes []int
	// Concurrency lists the numbers of clients creating load balancers
	// ({1, 8}).
	Concurrency []int
	// CreatesPerLevel is the number of load balancers each create level
	// makes on each side (450; quick 10).
	CreatesPerLevel int
	// Repeats is how often each list or get is timed per side (50; quick 5),
	// GetRepeats the get of one load balancer (200; quick 10).
	Repeats, GetRepeats int
	// BatchSize is the member count of the batch replace (1000; quick 20),
	// BatchRuns how often it is timed per side (3; quick 2).
	BatchSize, BatchRuns int
	// SectionTimeout bounds each timed list section per pair of sides and
	// each create level per side (60 s); RequestTimeout bounds one request
	// (60 s); FillTimeout bounds each untimed fill per side (6 min).
	SectionTimeout, RequestTimeout, FillTimeout time.Duration
	// TempDir holds our data directory (os.TempDir()).
	TempDir string
	Quick   bool
	// Progress, when set, receives one line per phase.
	Progress io.Writer
}

func (o OctaviaOptions) withDefaults() OctaviaOptions {
	def := func(v *int, full, quick int) {
		if *v <= 0 {
			*v = full
			if o.Quick {
				*v = quick
			}
		}
	}
	defs := func(v *[]int, full, quick []int) {
		if len(*v) == 0 {
			*v = full
			if o.Quick {
				*v = quick
			}
		}
	}
	def(&o.Workers, 2, 2)
	defs(&o.LBCounts, []int{100, 1000, 10000}, []int{5, 25, 50})
	defs(&o.PoolSizes, []int{100, 1000, 10000}, []int{5, 20, 50})
	defs(&o.Concurrency, []int{1, 8}, []int{1, 8})
	def(&o.CreatesPerLevel, 450, 10)
	def(&o.Repeats, 50, 5)
	def(&o.GetRepeats, 200, 10)
	def(&o.BatchSize, 1000, 20)
	def(&o.BatchRuns, 3, 2)
	dur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	dur(&o.SectionTimeout, 60*time.Second)
	dur(&o.RequestTimeout, 60*time.Second)
	dur(&o.FillTimeout, 6*time.Minute)
	if o.Baseline == "" {
		o.Baseline = DefaultOctaviaBaseline
	}
	if o.TempDir == "" {
		o.TempDir = os.TempDir()
	}
	return o
}

func (o OctaviaOptions) progress(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, format+"\n", args...)
	}
}

// OctaviaReport is the outcome of RunOctavia.
type OctaviaReport struct {
	Machine         Machine
	Quick           bool
	Workers         int
	CreatesPerLevel int
	Creates         []CreateResult // Baseline is Octavia
	Lists           []PairResult   // list LBs, get one LB, list members
	Batch           BatchResult
	// Populated says, per step, how each side got its objects.
	Populated []Population
	// Notes are shortfalls of the bounded fills.
	Notes   []string
	Elapsed time.Duration
}

// PairResult is one request timed on both sides, alternating.
type PairResult struct {
	Name    string
	Request string
	Items   int // objects present / in one answer
	Ours    SideTiming
	Octavia SideTiming
}

// SideTiming is one side's samples of a PairResult.
type SideTiming struct {
	Latency  Latency
	Bytes    int
	Items    int // objects in the first answer
	Errors   int
	Error    string
	TimedOut bool
}

// P50Ratio is Octavia/ours median latency: how many times faster ours is.
func (p PairResult) P50Ratio() float64 {
	return ratio(float64(p.Octavia.Latency.P50), float64(p.Ours.Latency.P50))
}

// P99Ratio is Octavia/ours 99th percentile latency.
func (p PairResult) P99Ratio() float64 {
	return ratio(float64(p.Octavia.Latency.P99), float64(p.Ours.Latency.P99))
}

// BatchResult times PUT .../pools/{id}/members replacing every member.
type BatchResult struct {
	Size    int
	Ours    SideTiming
	Octavia SideTiming
	// First is the first batch into the empty pool.
	FirstOurs, FirstOctavia time.Duration
}

// Population is how one step filled each side.
type Population struct {
	What, Ours, Octavia string
}

// octSide is one API under test.
type octSide struct {
	name   string
	addr   string
	token  string
	subnet string // vip_subnet_id
	// project is sent as X-Project-Id on both sides (ours ignores it).
	project string
	lbIDs   []string
	timeout time.Duration
}

func (s *octSide) client(conns int) (*apiClient, error) {
	c, err := newClient(s.addr, s.token, conns)
	if err != nil {
		return nil, err
	}
	c.project = s.project
	c.hc.Timeout = s.timeout
	return c, nil
}

// RunOctavia measures our Octavia v2 API beside the real Octavia API
// (started from o.Baseline) in the same run, with the same client code.
func RunOctavia(ctx context.Context, o OctaviaOptions) (*OctaviaReport, error) {
	o = o.withDefaults()
	if err := octaviaReady(o.Baseline); err != nil {
		return nil, err
	}
	start := time.Now()
	root, err := os.MkdirTemp(o.TempDir, "lbaas-bench-octavia-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(root)
	rep := &OctaviaReport{Machine: describeMachine(root), Quick: o.Quick, Workers: o.Workers, CreatesPerLevel: o.CreatesPerLevel}

	run, err := server.Start(ctx, server.Options{
		Listen:        "127.0.0.1:0",
		OctaviaListen: "127.0.0.1:0",
		DataDir:       filepath.Join(root, "ours"),
		PublicNetwork: "Public",
		PublicCIDR:    "172.24.4.0/24",
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return nil, fmt.Errorf("start server: %w", err)
	}
	defer run.Close()
	ours := &octSide{name: "ours", addr: run.OctaviaAddr, token: run.AdminToken, project: "admin", timeout: o.RequestTimeout}
	if ours.subnet, err = vipSubnet(ctx, run); err != nil {
		return nil, err
	}
	o.progress("starting the Octavia baseline (%s, %d workers)", o.Baseline, o.Workers)
	ob, err := startOctavia(ctx, o.Baseline, o.Workers)
	if err != nil {
		return nil, err
	}
	defer ob.stop()
	oct := &octSide{name: "octavia", addr: ob.addr, project: "admin", subnet: uuid.NewString(), timeout: o.RequestTimeout}
	b := &octBench{o: o, rep: rep, ours: ours, oct: oct, ob: ob}
	if err := b.run(ctx); err != nil {
		return nil, err
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// vipSubnet creates the network and /16 subnet our load balancers take
// their VIPs from, through the Neutron API (apart from the members' 10.0/16).
func vipSubnet(ctx context.Context, run *server.Running) (string, error) {
	c, err := newClient(run.Addr, run.AdminToken, 1)
	if err != nil {
		return "", err
	}
	defer c.close()
	net, err := c.create(ctx, "/v2.0/networks", "network", map[string]any{"name": "vipnet"})
	if err != nil {
		return "", err
	}
	return c.create(ctx, "/v2.0/subnets", "subnet", map[string]any{"network_id": net, "cidr": "10.200.0.0/16", "ip_version": 4, "name": "vipsub"})
}

type octBench struct {
	o         OctaviaOptions
	rep       *OctaviaReport
	ours, oct *octSide
	ob        *octaviaBaseline
}

func (b *octBench) sides() []*octSide { return []*octSide{b.ours, b.oct} }

func (b *octBench) run(ctx context.Context) error {
	o := b.o
	lbCounts := append([]int(nil), o.LBCounts...)
	for i, n := range lbCounts {
		if err := b.fill(ctx, n); err != nil {
			return err
		}
		if i == 0 {
			// The create levels run after the first list, so that it sees
			// exactly its count; what they make counts toward the next.
			if err := b.timeList(ctx, n); err != nil {
				return err
			}
			for _, c := range o.Concurrency {
				res := CreateResult{Concurrency: c}
				res.Ours = b.createLBs(ctx, b.ours, o.CreatesPerLevel, c, o.SectionTimeout)
				res.Baseline = b.createLBs(ctx, b.oct, o.CreatesPerLevel, c, o.SectionTimeout)
				o.progress("LB creates c=%d: ours %.0f/s, octavia %.0f/s", c, res.Ours.PerSec(), res.Baseline.PerSec())
				b.rep.Creates = append(b.rep.Creates, res)
			}
			continue
		}
		if err := b.timeList(ctx, n); err != nil {
			return err
		}
	}
	// Get one load balancer (the first created) among all of them.
	get := func(s *octSide) string { return "/v2/lbaas/loadbalancers/" + s.lbIDs[0] }
	b.rep.Lists = append(b.rep.Lists, b.pair(ctx, "get one load balancer", "/v2/lbaas/loadbalancers/<id>",
		len(b.ours.lbIDs), get(b.ours), get(b.oct), o.GetRepeats, "loadbalancer"))
	return b.members(ctx)
}

// fill creates load balancers through the API, untimed, 8 clients, until
// each side has n.
func (b *octBench) fill(ctx context.Context, n int) error {
	for _, s := range b.sides() {
		if need := n - len(s.lbIDs); need > 0 {
			t0 := time.Now()
			ph := b.createLBs(ctx, s, need, 8, b.o.FillTimeout)
			if ph.Done != need {
				// Bounded in time: go on with what is there, and say so.
				note := fmt.Sprintf("filled %d of %d load balancers before the %v limit (%d errors: %s)", ph.Done, need, b.o.FillTimeout, ph.Errors, ph.FirstError)
				b.rep.Notes = append(b.rep.Notes, s.name+": "+note)
				b.o.progress("%s: %s", s.name, note)
				continue
			}
			b.o.progress("filled %s to %d load balancers in %v", s.name, n, time.Since(t0).Round(time.Millisecond))
		}
	}
	return nil
}

func (b *octBench) timeList(ctx context.Context, _ int) error {
	n := len(b.ours.lbIDs) // what is present, should a create level exceed the count
	if m := len(b.oct.lbIDs); m != n {
		n = min(n, m) // a fill cut short: the answers' object counts show each side's
	}
	r := b.pair(ctx, fmt.Sprintf("list load balancers, %d present", n), "/v2/lbaas/loadbalancers", n,
		"/v2/lbaas/loadbalancers", "/v2/lbaas/loadbalancers", b.o.Repeats, "loadbalancers")
	b.rep.Lists = append(b.rep.Lists, r)
	return nil
}

// createLBs creates n load balancers from c clients, bounded by limit,
// and records their ids.
func (b *octBench) createLBs(ctx context.Context, s *octSide, n, c int, limit time.Duration) Phase {
	cl, err := s.client(c)
	if err != nil {
		return Phase{Target: n, FirstError: err.Error()}
	}
	defer cl.close()
	ids := make([]string, n)
	base := len(s.lbIDs)
	ph := runLoop(ctx, n, c, limit, func(ctx context.Context, _, i int) error {
		id, err := cl.create(ctx, "/v2/lbaas/loadbalancers", "loadbalancer",
			map[string]any{"name": fmt.Sprintf("lb%d", base+i), "vip_subnet_id": s.subnet})
		ids[i] = id
		return err
	})
	for _, id := range ids {
		if id != "" {
			s.lbIDs = append(s.lbIDs, id)
		}
	}
	return ph
}

// pair times one request on both sides, alternating request by request
// so both see the same machine load, after one untimed request each. A
// side that times out or fails 10 times is not asked again.
func (b *octBench) pair(ctx context.Context, name, pattern string, items int, oursPath, octPath string, repeats int, key string) PairResult {
	res := PairResult{Name: name, Request: pattern, Items: items}
	type side struct {
		c    *apiClient
		path string
		t    *SideTiming
		ds   []time.Duration
		dead bool
	}
	var ss []*side
	for _, x := range []struct {
		s    *octSide
		path string
		t    *SideTiming
	}{{b.ours, oursPath, &res.Ours}, {b.oct, octPath, &res.Octavia}} {
		c, err := x.s.client(1)
		if err != nil {
			x.t.Error, x.t.Errors = err.Error(), 1
			continue
		}
		defer c.close()
		ss = append(ss, &side{c: c, path: x.path, t: x.t})
	}
	var buf bytes.Buffer
	one := func(s *side) (time.Duration, error) {
		t0 := time.Now()
		code, err := s.c.do(ctx, http.MethodGet, s.path, nil, &buf)
		d := time.Since(t0)
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("GET %s: %d %.200s", s.path, code, buf.String())
		}
		if err != nil {
			s.t.Errors++
			if s.t.Error == "" {
				s.t.Error = err.Error()
			}
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() || s.t.Errors >= 10 {
				s.t.TimedOut = s.t.TimedOut || (errors.As(err, &ne) && ne.Timeout())
				s.dead = true
			}
		}
		return d, err
	}
	for _, s := range ss { // warm-up, and the count check
		if _, err := one(s); err == nil {
			s.t.Bytes = buf.Len()
			s.t.Items = countItems(buf.Bytes(), key)
		}
	}
	deadline := time.Now().Add(b.o.SectionTimeout)
	for k := 0; k < repeats && time.Now().Before(deadline) && ctx.Err() == nil; k++ {
		for _, s := range ss {
			if s.dead {
				continue
			}
			if d, err := one(s); err == nil {
				s.ds = append(s.ds, d)
			}
		}
	}
	for _, s := range ss {
		s.t.Latency = summarize(s.ds)
		if s.t.Latency.N < repeats && !s.dead {
			s.t.TimedOut = true
		}
	}
	b.o.progress("%-40s ours p50 %v p99 %v n %d | octavia p50 %v p99 %v n %d", name, res.Ours.Latency.P50, res.Ours.Latency.P99, res.Ours.Latency.N,
		res.Octavia.Latency.P50, res.Octavia.Latency.P99, res.Octavia.Latency.N)
	return res
}

// countItems counts the objects of an answer: the length of the list
// under key, or 1 for an object.
func countItems(body []byte, key string) int {
	var v map[string]json.RawMessage
	if json.Unmarshal(body, &v) != nil {
		return -1
	}
	raw, ok := v[key]
	if !ok {
		return -1
	}
	var l []json.RawMessage
	if json.Unmarshal(raw, &l) == nil {
		return len(l)
	}
	return 1
}

// members builds a pool per size on each side's first load balancer,
// times the batch replace, then the member lists.
func (b *octBench) members(ctx context.Context) error {
	o := b.o
	pools := map[*octSide][]string{}
	batchPool := map[*octSide]string{}
	for _, s := range b.sides() {
		for range len(o.PoolSizes) + 1 {
			id, err := b.createPool(ctx, s)
			if err != nil {
				return err
			}
			pools[s] = append(pools[s], id)
		}
		batchPool[s] = pools[s][len(o.PoolSizes)]
	}
	// Batch replace: fill the pool with set A, then replace A by B, B by A...
	br := BatchResult{Size: o.BatchSize}
	var od, bd []time.Duration
	for run := 0; run <= o.BatchRuns; run++ {
		for _, x := range []struct {
			s  *octSide
			ds *[]time.Duration
			t  *SideTiming
			f  *time.Duration
		}{{b.ours, &od, &br.Ours, &br.FirstOurs}, {b.oct, &bd, &br.Octavia, &br.FirstOctavia}} {
			d, err := b.batch(ctx, x.s, batchPool[x.s], (run%2)*o.BatchSize, o.BatchSize, false)
			if err != nil {
				x.t.Errors++
				if x.t.Error == "" {
					x.t.Error = err.Error()
				}
				continue
			}
			if run == 0 {
				*x.f = d
			} else {
				*x.ds = append(*x.ds, d)
			}
		}
	}
	br.Ours.Latency, br.Octavia.Latency = summarize(od), summarize(bd)
	b.rep.Batch = br
	o.progress("batch replace of %d: ours p50 %v, octavia p50 %v", o.BatchSize, br.Ours.Latency.P50, br.Octavia.Latency.P50)

	// The pools whose lists are timed.
	for i, n := range o.PoolSizes {
		pop := Population{What: fmt.Sprintf("pool of %d members", n)}
		for _, s := range b.sides() {
			how, err := b.fillPool(ctx, s, pools[s][i], n)
			if err != nil {
				// One side that cannot take the fill (a request past
				// its bound) ends that row's fill, not the run: the
				// list below shows how many members it holds.
				how = "fill failed: " + err.Error()
				o.progress("%s: filling a pool of %d: %v", s.name, n, err)
			}
			if s == b.ours {
				pop.Ours = how
			} else {
				pop.Octavia = how
			}
		}
		b.rep.Populated = append(b.rep.Populated, pop)
		p := func(s *octSide) string { return "/v2/lbaas/pools/" + pools[s][i] + "/members" }
		b.rep.Lists = append(b.rep.Lists, b.pair(ctx, fmt.Sprintf("list members of a pool of %d", n), "/v2/lbaas/pools/<id>/members", n,
			p(b.ours), p(b.oct), o.Repeats, "members"))
	}
	return nil
}

func (b *octBench) createPool(ctx context.Context, s *octSide) (string, error) {
	if s == b.oct {
		if err := b.ob.activate(ctx); err != nil {
			return "", err
		}
	}
	c, err := s.client(1)
	if err != nil {
		return "", err
	}
	defer c.close()
	id, err := c.create(ctx, "/v2/lbaas/pools", "pool", map[string]any{"loadbalancer_id": s.lbIDs[0], "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"})
	if err != nil {
		return "", fmt.Errorf("%s: %w", s.name, err)
	}
	if s == b.oct {
		return id, b.ob.activate(ctx)
	}
	return id, nil
}

// maxBatch is the largest batch both APIs take in one request here.
const maxBatch = 2000

// batch PUTs members [from, from+n) as the pool's whole member list (or
// adds them with additive) and returns the request's time. On Octavia it
// then marks everything ACTIVE, untimed, so the next write is accepted.
func (b *octBench) batch(ctx context.Context, s *octSide, pool string, from, n int, additive bool) (time.Duration, error) {
	var body bytes.Buffer
	body.WriteString(`{"members":[`)
	for j := range n {
		if j > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `{"address":%q,"protocol_port":80}`, memberAddr(from+j))
	}
	body.WriteString(`]}`)
	c, err := s.client(1)
	if err != nil {
		return 0, err
	}
	defer c.close()
	path := "/v2/lbaas/pools/" + pool + "/members"
	if additive {
		path += "?additive_only=true"
	}
	var out bytes.Buffer
	t0 := time.Now()
	code, err := c.do(ctx, http.MethodPut, path, body.Bytes(), &out)
	d := time.Since(t0)
	if err == nil && code != http.StatusAccepted {
		err = fmt.Errorf("%s: PUT %s: %d %.200s", s.name, path, code, strings.TrimSpace(out.String()))
	}
	if err != nil {
		return d, err
	}
	if s == b.oct {
		return d, b.ob.activate(ctx)
	}
	return d, nil
}

// fillPool gives a pool n members and says how: one batch through the API
// when both APIs take it, else additive batches of 2,000 on ours and rows
// inserted into Octavia's member table.
func (b *octBench) fillPool(ctx context.Context, s *octSide, pool string, n int) (string, error) {
	t0 := time.Now()
	if n <= maxBatch {
		if _, err := b.batch(ctx, s, pool, 0, n, false); err != nil {
			return "", err
		}
		return fmt.Sprintf("one batch `PUT .../members` through the API (%v)", time.Since(t0).Round(time.Millisecond)), nil
	}
	if s == b.ours {
		for from := 0; from < n; from += maxBatch {
			if _, err := b.batch(ctx, s, pool, from, min(maxBatch, n-from), true); err != nil {
				return "", err
			}
		}
		return fmt.Sprintf("%d additive batches of ≤ %d through the API (%v)", (n+maxBatch-1)/maxBatch, maxBatch, time.Since(t0).Round(time.Millisecond)), nil
	}
	var q strings.Builder
	for from := 0; from < n; from += 1000 {
		q.WriteString("INSERT INTO member (project_id,id,pool_id,ip_address,protocol_port,weight,operating_status,enabled,created_at,provisioning_status,backup) VALUES ")
		for j := from; j < min(from+1000, n); j++ {
			if j > from {
				q.WriteByte(',')
			}
			fmt.Fprintf(&q, "('%s','%s','%s','%s',80,1,'NO_MONITOR',1,UTC_TIMESTAMP(),'ACTIVE',0)", s.project, uuid.NewString(), pool, memberAddr(j))
		}
		q.WriteString(";\n")
	}
	if err := b.ob.sql(ctx, q.String()); err != nil {
		return "", err
	}
	return fmt.Sprintf("rows inserted into its `member` table by SQL, as its API would write them (%v)", time.Since(t0).Round(time.Millisecond)), nil
}

// Package bench holds the project's benchmarks. Every speed target is
// measured here, side by side with a baseline run on the same machine in
// the same run, and reported as a ratio; tests never assert timings.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"lbaas/internal/server"
)

// Aims of the issue, shown next to the numbers (reported, never asserted).
const (
	AimCreatesPerSec = 2000 // "thousands of creates per second"
	AimListP99       = 50 * time.Millisecond
)

// ReproduceCommand is how the report says to reproduce it.
const ReproduceCommand = "./lbaas.sh bench"

// APIOptions configure RunAPI. Zero values take the defaults documented on
// each field; Quick shrinks everything for a unit test.
type APIOptions struct {
	// Pools is the number of pools (100).
	Pools int
	// MembersPerPool is the number of members created in each pool (100).
	MembersPerPool int
	// Concurrency lists the numbers of parallel keep-alive clients; each
	// level creates all the members on a fresh server ({1, 16}).
	Concurrency []int
	// ListRepeats is how often each small list is timed (200).
	ListRepeats int
	// FullListRepeats is how often the list of every member is timed (50).
	FullListRepeats int
	// CreateTimeout bounds each create phase; what is done by then is
	// reported (120 s).
	CreateTimeout time.Duration
	// ListTimeout bounds each list section (60 s).
	ListTimeout time.Duration
	// TempDir is where the data directories go (os.TempDir()); it must be
	// a real disk for the fsync cost to count.
	TempDir string
	// Quick is 10 pools x 20 members, concurrency {1, 4} and few repeats,
	// for the unit test; explicit fields still win.
	Quick bool
	// ProfileDir, when set, receives CPU profiles of the whole process
	// during our last create phase (cpu-create.pprof) and during each list
	// section (cpu-list-*.pprof, baseline requests included).
	ProfileDir string
	// Progress, when set, receives one line per phase.
	Progress io.Writer
}

func (o APIOptions) withDefaults() APIOptions {
	def := func(v *int, full, quick int) {
		if *v <= 0 {
			*v = full
			if o.Quick {
				*v = quick
			}
		}
	}
	def(&o.Pools, 100, 10)
	def(&o.MembersPerPool, 100, 20)
	def(&o.ListRepeats, 200, 20)
	def(&o.FullListRepeats, 50, 10)
	if len(o.Concurrency) == 0 {
		o.Concurrency = []int{1, 16}
		if o.Quick {
			o.Concurrency = []int{1, 4}
		}
	}
	if o.CreateTimeout <= 0 {
		o.CreateTimeout = 120 * time.Second
	}
	if o.ListTimeout <= 0 {
		o.ListTimeout = 60 * time.Second
	}
	if o.TempDir == "" {
		o.TempDir = os.TempDir()
	}
	return o
}

// APIReport is the outcome of RunAPI.
type APIReport struct {
	Machine        Machine
	Pools          int
	MembersPerPool int
	Quick          bool
	Creates        []CreateResult
	Lists          []ListResult
	Elapsed        time.Duration
}

// Phase is one timed create loop.
type Phase struct {
	Target   int
	Done     int
	Errors   int
	Elapsed  time.Duration
	Latency  Latency
	TimedOut bool
	// FirstError is the first failure seen, for the report.
	FirstError string
}

// PerSec is the throughput of successful operations.
func (p Phase) PerSec() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Done) / p.Elapsed.Seconds()
}

// CreateResult compares our member creates with raw etcd transactions at
// one concurrency.
type CreateResult struct {
	Concurrency int
	Ours        Phase
	Baseline    Phase
}

// Ratio is ours/baseline creates per second (1 = as fast as the floor).
func (c CreateResult) Ratio() float64 { return ratio(c.Ours.PerSec(), c.Baseline.PerSec()) }

// ListResult compares one list request of our API with a plain handler
// serving the same objects.
type ListResult struct {
	Name     string
	Request  string // the request's shape, e.g. /v2.0/lb/members?pool_id=<id>
	Items    int    // objects in one answer
	Ours     Latency
	Baseline Latency
	// Bytes are the sizes of one answer, to show the payloads match.
	OursBytes, BaselineBytes int
	Errors                   int
	FirstError               string
	TimedOut                 bool
}

// P50Ratio is ours/baseline median latency (1 = as fast as the floor).
func (l ListResult) P50Ratio() float64 { return ratio(float64(l.Ours.P50), float64(l.Baseline.P50)) }

// P99Ratio is ours/baseline 99th percentile latency.
func (l ListResult) P99Ratio() float64 { return ratio(float64(l.Ours.P99), float64(l.Baseline.P99)) }

// RunAPI measures member create throughput and list latency of the Neutron
// API on a fresh server with its embedded etcd, each next to its baseline.
func RunAPI(ctx context.Context, o APIOptions) (*APIReport, error) {
	o = o.withDefaults()
	if o.MembersPerPool > 250*250 {
		return nil, errors.New("bench: at most 62500 members per pool")
	}
	start := time.Now()
	root, err := os.MkdirTemp(o.TempDir, "lbaas-bench-api-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(root)
	rep := &APIReport{Machine: describeMachine(root), Pools: o.Pools, MembersPerPool: o.MembersPerPool, Quick: o.Quick}
	var kept *fixture
	defer func() {
		if kept != nil {
			kept.close()
		}
	}()
	for i, c := range o.Concurrency {
		if c < 1 {
			return nil, fmt.Errorf("bench: concurrency %d", c)
		}
		last := i == len(o.Concurrency)-1
		fx, err := newFixture(ctx, filepath.Join(root, fmt.Sprintf("api-c%d", c)), o.Pools)
		if err != nil {
			return nil, err
		}
		res := CreateResult{Concurrency: c}
		stop := profile(o.ProfileDir, "cpu-create.pprof", last)
		res.Ours = fx.createMembers(ctx, o, c)
		stop()
		o.progress("creates c=%d ours: %d in %v (%.0f/s, %d errors)", c, res.Ours.Done, res.Ours.Elapsed.Round(time.Millisecond), res.Ours.PerSec(), res.Ours.Errors)
		res.Baseline, err = baselineCreates(ctx, filepath.Join(root, fmt.Sprintf("etcd-c%d", c)), o, c)
		if err != nil {
			fx.close()
			return nil, err
		}
		o.progress("creates c=%d etcd: %d in %v (%.0f/s)", c, res.Baseline.Done, res.Baseline.Elapsed.Round(time.Millisecond), res.Baseline.PerSec())
		rep.Creates = append(rep.Creates, res)
		if last {
			kept = fx
		} else {
			fx.close()
		}
	}
	rep.Lists, err = runLists(ctx, kept, o)
	if err != nil {
		return nil, err
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

func (o APIOptions) progress(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, format+"\n", args...)
	}
}

// profile starts a CPU profile when asked to and returns its stop.
func profile(dir, name string, want bool) func() {
	if dir == "" || !want {
		return func() {}
	}
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}

// fixture is a running server with one network, one /16 subnet and the
// pools the members go into.
type fixture struct {
	run       *server.Running
	poolIDs   []string
	poolNames []string
	members   int // created so far
}

func newFixture(ctx context.Context, dir string, pools int) (*fixture, error) {
	run, err := server.Start(ctx, server.Options{
		Listen:        "127.0.0.1:0",
		DataDir:       dir,
		PublicNetwork: "Public",
		PublicCIDR:    "172.24.4.0/24",
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return nil, fmt.Errorf("start server: %w", err)
	}
	fx := &fixture{run: run}
	c, err := newClient(run.Addr, run.AdminToken, 1)
	if err != nil {
		fx.close()
		return nil, err
	}
	defer c.close()
	fail := func(err error) (*fixture, error) { fx.close(); return nil, err }
	net, err := c.create(ctx, "/v2.0/networks", "network", map[string]any{"name": "benchnet"})
	if err != nil {
		return fail(err)
	}
	sub, err := c.create(ctx, "/v2.0/subnets", "subnet", map[string]any{"network_id": net, "cidr": "10.0.0.0/16", "ip_version": 4, "name": "benchsub"})
	if err != nil {
		return fail(err)
	}
	for i := range pools {
		name := fmt.Sprintf("p%d", i)
		id, err := c.create(ctx, "/v2.0/lb/pools", "pool", map[string]any{"name": name, "subnet_id": sub, "protocol": "HTTP", "lb_method": "ROUND_ROBIN"})
		if err != nil {
			return fail(err)
		}
		fx.poolIDs, fx.poolNames = append(fx.poolIDs, id), append(fx.poolNames, name)
	}
	return fx, nil
}

func (fx *fixture) close() { fx.run.Close() }

// memberAddr spreads member j of a pool over 10.0.0.0/16, unique per pool.
func memberAddr(j int) string { return fmt.Sprintf("10.0.%d.%d", j/250, j%250+2) }

package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"lbaas/internal/api/neutron"
	"net"
	"net/http"
	"net/url"
	"time"
)

// The views below mirror the API's member and pool JSON field for field, so
// that the baseline handler marshals the same objects from typed structs:
// the floor of HTTP plus encoding/json for that payload.
type memberView = neutron.MemberView

type poolView struct {
	ID                   string            `json:"id"`
	TenantID             string            `json:"tenant_id"`
	ProjectID            string            `json:"project_id"`
	CreatedAt            string            `json:"created_at"`
	UpdatedAt            string            `json:"updated_at"`
	Name                 string            `json:"name"`
	Description          string            `json:"description"`
	SubnetID             string            `json:"subnet_id"`
	Protocol             string            `json:"protocol"`
	LBMethod             string            `json:"lb_method"`
	Provider             *string           `json:"provider"`
	AdminStateUp         bool              `json:"admin_state_up"`
	HealthMonitors       []string          `json:"health_monitors"`
	HealthMonitorsStatus []json.RawMessage `json:"health_monitors_status"`
	Members              []string          `json:"members"`
	VIPID                *string           `json:"vip_id"`
	Status               string            `json:"status"`
	StatusDescription    string            `json:"status_description"`
}

type idView struct {
	ID string `json:"id"`
}

type membersBody struct {
	Members []memberView `json:"members"`
}

type poolsBody struct {
	Pools []poolView `json:"pools"`
}

type poolIDsBody struct {
	Pools []idView `json:"pools"`
}

func (b membersBody) count() int { return len(b.Members) }
func (b poolsBody) count() int   { return len(b.Pools) }
func (b poolIDsBody) count() int { return len(b.Pools) }

type counted interface{ count() int }

func decodeAs[T counted](b []byte) (counted, error) {
	var v T
	err := json.Unmarshal(b, &v)
	return v, err
}

// listSpec is one list request, timed on a rotation of paths.
type listSpec struct {
	name    string
	pattern string // the request's shape, for the report
	file    string // CPU profile name
	paths   []string
	repeats int
	// want is the number of objects one answer must hold.
	want   int
	decode func([]byte) (counted, error)
}

func listSpecs(fx *fixture, o APIOptions) []listSpec {
	var byPool, byName []string
	for i, id := range fx.poolIDs {
		byPool = append(byPool, "/v2.0/lb/members?pool_id="+url.QueryEscape(id))
		byName = append(byName, "/v2.0/lb/pools?name="+url.QueryEscape(fx.poolNames[i])+"&fields=id")
	}
	perPool := fx.members / len(fx.poolIDs)
	if fx.members%len(fx.poolIDs) != 0 {
		perPool = -1 // a cut create phase leaves uneven pools; skip the check
	}
	return []listSpec{
		{name: "all members", pattern: "/v2.0/lb/members", file: "cpu-list-members.pprof", paths: []string{"/v2.0/lb/members"}, repeats: o.FullListRepeats, want: fx.members, decode: decodeAs[membersBody]},
		{name: "members of one pool", pattern: "/v2.0/lb/members?pool_id=<id>", file: "cpu-list-members-of-pool.pprof", paths: byPool, repeats: o.ListRepeats, want: perPool, decode: decodeAs[membersBody]},
		{name: "all pools (with member ids)", pattern: "/v2.0/lb/pools", file: "cpu-list-pools.pprof", paths: []string{"/v2.0/lb/pools"}, repeats: o.ListRepeats, want: len(fx.poolIDs), decode: decodeAs[poolsBody]},
		{name: "pool name lookup (CLI)", pattern: "/v2.0/lb/pools?name=p<N>&fields=id", file: "cpu-list-pool-by-name.pprof", paths: byName, repeats: o.ListRepeats, want: 1, decode: decodeAs[poolIDsBody]},
	}
}

// baselineServer serves pre-built, typed copies of our answers from a
// plain net/http handler that marshals them on every request.
type baselineServer struct {
	// bodies is filled before the first timed request and only read after.
	bodies map[string]counted
	srv    *http.Server
	addr   string
}

func startBaselineServer() (*baselineServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b := &baselineServer{bodies: map[string]counted{}, addr: ln.Addr().String()}
	b.srv = &http.Server{Handler: b, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = b.srv.Serve(ln) }()
	return b, nil
}

// ServeHTTP marshals the pre-built answer of the request's path and query.
func (b *baselineServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v, ok := b.bodies[r.URL.RequestURI()]
	if !ok {
		http.NotFound(w, r)
		return
	}
	out, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

func (b *baselineServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = b.srv.Shutdown(ctx)
}

// runLists times every list against our server and the baseline,
// alternating request by request so both see the same machine load.
func runLists(ctx context.Context, fx *fixture, o APIOptions) ([]ListResult, error) {
	if fx == nil || len(fx.poolIDs) == 0 {
		return nil, fmt.Errorf("bench: no server to list from")
	}
	ours, err := newClient(fx.run.Addr, fx.run.AdminToken, 1)
	if err != nil {
		return nil, err
	}
	defer ours.close()
	bs, err := startBaselineServer()
	if err != nil {
		return nil, err
	}
	defer bs.close()
	base, err := newClient(bs.addr, "", 1)
	if err != nil {
		return nil, err
	}
	defer base.close()
	specs := listSpecs(fx, o)
	// Pre-build the baseline's answers from ours before anything is timed
	// (the server is idle, so its answers do not change in between).
	var buf bytes.Buffer
	for _, s := range specs {
		for _, p := range s.paths {
			code, err := ours.do(ctx, http.MethodGet, p, nil, &buf)
			if err != nil {
				return nil, err
			}
			if code != http.StatusOK {
				return nil, fmt.Errorf("GET %s: %d %s", p, code, buf.String())
			}
			v, err := s.decode(buf.Bytes())
			if err != nil {
				return nil, fmt.Errorf("GET %s: %w", p, err)
			}
			if s.want >= 0 && v.count() != s.want {
				return nil, fmt.Errorf("GET %s: %d objects, want %d", p, v.count(), s.want)
			}
			bs.bodies[p] = v
		}
	}
	var out []ListResult
	for _, s := range specs {
		stop := profile(o.ProfileDir, s.file, true)
		r := timeList(ctx, ours, base, s, o.ListTimeout)
		stop()
		o.progress("list %-28s ours p50 %v p99 %v | baseline p50 %v p99 %v", s.name, r.Ours.P50, r.Ours.P99, r.Baseline.P50, r.Baseline.P99)
		out = append(out, r)
	}
	return out, nil
}

func timeList(ctx context.Context, ours, base *apiClient, s listSpec, limit time.Duration) ListResult {
	res := ListResult{Name: s.name, Request: s.pattern, Items: s.want}
	deadline := time.Now().Add(limit)
	var buf bytes.Buffer
	one := func(c *apiClient, p string) (time.Duration, int, error) {
		t0 := time.Now()
		code, err := c.do(ctx, http.MethodGet, p, nil, &buf)
		d := time.Since(t0)
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("GET %s: %d", p, code)
		}
		return d, buf.Len(), err
	}
	// Two untimed rounds warm the connections and the allocators.
	for k := range 2 {
		p := s.paths[k%len(s.paths)]
		_, _, _ = one(ours, p)
		_, _, _ = one(base, p)
	}
	var od, bd []time.Duration
	for k := 0; k < s.repeats; k++ {
		if time.Now().After(deadline) || ctx.Err() != nil {
			res.TimedOut = true
			break
		}
		p := s.paths[k%len(s.paths)]
		for _, side := range []struct {
			c     *apiClient
			ds    *[]time.Duration
			bytes *int
		}{{ours, &od, &res.OursBytes}, {base, &bd, &res.BaselineBytes}} {
			d, n, err := one(side.c, p)
			if err != nil {
				res.Errors++
				if res.FirstError == "" {
					res.FirstError = err.Error()
				}
				continue
			}
			*side.ds = append(*side.ds, d)
			*side.bytes = n
		}
	}
	res.Ours, res.Baseline = summarize(od), summarize(bd)
	return res
}

package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	clientv3 "go.etcd.io/etcd/client/v3"

	"lbaas/internal/store"
)

// maxErrors stops a create loop early: past that many failures the
// throughput means nothing, and the first error says why.
const maxErrors = 100

// runLoop calls op for i in [0, total) from c workers and times each call.
// It stops at total, at the time limit, at maxErrors failures or when ctx
// ends, whichever comes first.
func runLoop(ctx context.Context, total, c int, limit time.Duration, op func(ctx context.Context, worker, i int) error) Phase {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var next, done, failed atomic.Int64
	var mu sync.Mutex
	var firstErr string
	lat := make([][]time.Duration, c)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= total {
					return
				}
				t0 := time.Now()
				err := op(ctx, w, i)
				d := time.Since(t0)
				if err != nil {
					if ctx.Err() != nil {
						return // cut by the time limit, not a failure
					}
					mu.Lock()
					if firstErr == "" {
						firstErr = err.Error()
					}
					mu.Unlock()
					if failed.Add(1) >= maxErrors {
						cancel()
					}
					continue
				}
				lat[w] = append(lat[w], d)
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	return Phase{
		Target:     total,
		Done:       int(done.Load()),
		Errors:     int(failed.Load()),
		Elapsed:    elapsed,
		Latency:    summarize(all),
		TimedOut:   int(done.Load()+failed.Load()) < total && failed.Load() < maxErrors,
		FirstError: firstErr,
	}
}

// createMembers creates every member through the API: member i goes to
// pool i mod Pools, so that concurrent requests spread over the pools.
func (fx *fixture) createMembers(ctx context.Context, o APIOptions, c int) Phase {
	cl, err := newClient(fx.run.Addr, fx.run.AdminToken, c)
	if err != nil {
		return Phase{FirstError: err.Error()}
	}
	defer cl.close()
	bufs := make([]bytes.Buffer, c)
	total := o.Pools * o.MembersPerPool
	ph := runLoop(ctx, total, c, o.CreateTimeout, func(ctx context.Context, w, i int) error {
		pool := fx.poolIDs[i%o.Pools]
		body := fmt.Appendf(nil, `{"member":{"pool_id":%q,"address":%q,"protocol_port":80}}`, pool, memberAddr(i/o.Pools))
		code, err := cl.do(ctx, http.MethodPost, "/v2.0/lb/members", body, &bufs[w])
		if err != nil {
			return err
		}
		if code != http.StatusCreated {
			return fmt.Errorf("POST /v2.0/lb/members: %d %s", code, strings.TrimSpace(bufs[w].String()))
		}
		return nil
	})
	fx.members = ph.Done
	return ph
}

// storedMember is shaped like what the API stores for a member, so the
// baseline writes values of the same size.
type storedMember struct {
	ID           string    `json:"id"`
	TenantID     string    `json:"tenant_id"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	PoolID       string    `json:"pool_id"`
	Address      string    `json:"address"`
	ProtocolPort int       `json:"protocol_port"`
	Weight       int       `json:"weight"`
	AdminStateUp bool      `json:"admin_state_up"`
}

// baselineCreates is the durable-store floor: the same number of member
// writes straight into a fresh embedded etcd, each one transaction that,
// like the API's, guards the object key and an address:port uniqueness key
// and writes both; no HTTP, no validation, no cache.
func baselineCreates(ctx context.Context, dir string, o APIOptions, c int) (Phase, error) {
	e, err := store.StartEmbedded(ctx, dir)
	if err != nil {
		return Phase{}, fmt.Errorf("baseline etcd: %w", err)
	}
	defer e.Close()
	pools := make([]string, o.Pools)
	for i := range pools {
		pools[i] = uuid.NewString()
	}
	total := o.Pools * o.MembersPerPool
	return runLoop(ctx, total, c, o.CreateTimeout, func(ctx context.Context, _, i int) error {
		now := time.Now().UTC()
		m := storedMember{ID: uuid.NewString(), TenantID: "admin", CreatedAt: now, UpdatedAt: now,
			PoolID: pools[i%o.Pools], Address: memberAddr(i / o.Pools), ProtocolPort: 80, Weight: 1, AdminStateUp: true}
		val, err := json.Marshal(m)
		if err != nil {
			return err
		}
		obj := "/bench/obj/member/" + m.ID
		claim := fmt.Sprintf("/bench/idx/member/%s/%s:%d", m.PoolID, m.Address, m.ProtocolPort)
		resp, err := e.Client.Txn(ctx).
			If(clientv3.Compare(clientv3.CreateRevision(obj), "=", 0), clientv3.Compare(clientv3.CreateRevision(claim), "=", 0)).
			Then(clientv3.OpPut(obj, string(val)), clientv3.OpPut(claim, m.ID)).
			Commit()
		if err != nil {
			return err
		}
		if !resp.Succeeded {
			return fmt.Errorf("baseline txn for %s did not apply", claim)
		}
		return nil
	}), nil
}

package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"lbaas/internal/model"
)

// DefaultWriteTimeout bounds a write's wait for etcd. etcd itself gives up
// on a proposal after 5 s plus two election timeouts (7 s by default),
// which is how long a write caught in a leader change used to hang before
// a 500; a client is better served by a 503 it can retry at once.
const DefaultWriteTimeout = 3 * time.Second

// attemptTimeout bounds one try inside the write bound. A try forwarded to
// a leader that just died waits for etcd's request timeout unless it is cut
// short; a new leader is elected within about an election timeout (1 s by
// default), so a second try finds it.
const attemptTimeout = time.Second

// ErrUnavailable means etcd did not answer within the write bound (no
// leader, no quorum, unreachable). Errors that match it are
// *UnavailableError.
var ErrUnavailable = errors.New("store: etcd is unavailable")

// UnavailableError reports a request that etcd did not answer in time.
type UnavailableError struct {
	// MaybeApplied is set for a write of which a try may have reached
	// etcd's log without an answer: it may take effect, or may have.
	MaybeApplied bool
	Err          error
}

func (e *UnavailableError) Error() string {
	if e.MaybeApplied {
		return fmt.Sprintf("store: etcd is unavailable; the write may have been applied: %v", e.Err)
	}
	return fmt.Sprintf("store: etcd is unavailable: %v", e.Err)
}

// Is makes errors.Is(err, ErrUnavailable) hold.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

func (e *UnavailableError) Unwrap() error { return e.Err }

// transient reports an error that a later try may not meet: no leader yet,
// a leader change, a member down, a try cut at attemptTimeout.
func transient(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var code codes.Code
	var ee rpctypes.EtcdError
	if errors.As(err, &ee) {
		code = ee.Code()
	} else if st, ok := status.FromError(err); ok {
		code = st.Code()
	} else {
		return false
	}
	switch code {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted:
		return true
	}
	return false
}

// refused reports an error of a member that turned the request away before
// proposing it, so that it cannot take effect.
func refused(err error) bool {
	return errors.Is(err, rpctypes.ErrNoLeader) || errors.Is(err, rpctypes.ErrTooManyRequests)
}

// retry runs call until it succeeds, fails for good, or the bound of bctx
// passes; each try has its own attemptTimeout. Tries ask for a member with
// a leader, so that during a lost quorum they fail at once instead of
// waiting. sent reports whether a try may have reached etcd's log (for a
// write: whether it may have taken effect); a read (write false) that
// gives up is never reported as maybe applied.
func (s *Store) retry(ctx, bctx context.Context, what string, write bool, call func(context.Context) error) (sent bool, err error) {
	for try := 0; ; try++ {
		actx, cancel := context.WithTimeout(bctx, attemptTimeout)
		err = call(clientv3.WithRequireLeader(actx))
		cancel()
		if err == nil {
			return sent, nil
		}
		if ctx.Err() != nil {
			return sent, ctx.Err() // the caller gave up, not etcd
		}
		if !transient(err) {
			return sent, fmt.Errorf("store: %w", err)
		}
		sent = sent || !refused(err)
		pause := time.Duration(min(50<<try, 400)+rand.IntN(25)) * time.Millisecond
		if dl, _ := bctx.Deadline(); time.Until(dl) < pause {
			return sent, &UnavailableError{MaybeApplied: write && sent, Err: err}
		}
		s.log.Debug("etcd try failed; retrying", "what", what, "try", try+1, "err", err, "pause", pause)
		time.Sleep(pause)
	}
}

// Commit applies t and waits until the cache reflects it, within the write
// bound. A try whose outcome is unknown (a leader change, a member that
// died while holding it) is sent again: every transaction's compares
// (CreateRevision == 0, ModRevision == seen, claims) let it apply at most
// once, and one without compares only rewrites its own record. When the
// resend fails its compares, the first try may be what changed them: if
// etcd holds exactly what t writes, t took effect and Commit succeeds
// rather than report the caller's own write as a conflict.
func (s *Store) Commit(ctx context.Context, t *Txn) (int64, error) {
	if t.err != nil {
		return 0, t.err
	}
	if obs := s.commitObserver.Load(); obs != nil {
		start := time.Now()
		rev, err := s.commit(ctx, t)
		outcome := "ok"
		switch {
		case errors.Is(err, ErrConflict):
			outcome = "conflict"
		case err != nil:
			outcome = "error"
		}
		(*obs)(time.Since(start), outcome)
		return rev, err
	}
	return s.commit(ctx, t)
}

// SetCommitObserver has fn called after every Commit with its duration
// (cache caught up included) and its outcome: "ok", "conflict" or
// "error". fn must be quick (a metric).
func (s *Store) SetCommitObserver(fn func(d time.Duration, outcome string)) {
	s.commitObserver.Store(&fn)
}

func (s *Store) commit(ctx context.Context, t *Txn) (int64, error) {
	bctx, cancel := context.WithTimeout(ctx, s.writeTimeout)
	defer cancel()
	var resp *clientv3.TxnResponse
	try := 0
	sent, err := s.retry(ctx, bctx, "commit", true, func(actx context.Context) error {
		// A try that was sent and timed out counts for the check below
		// even if a later try is the one that answers.
		defer func() { try++ }()
		if h := s.commitHook; h != nil {
			if err := h(try, false); err != nil {
				return err
			}
		}
		r, err := s.cli.Txn(actx).If(t.cmps...).Then(t.ops...).Commit()
		resp = r
		if h := s.commitHook; h != nil && err == nil {
			return h(try, true)
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	rev := resp.Header.Revision
	if !resp.Succeeded {
		if sent {
			applied, arev, err := s.applied(ctx, bctx, t)
			if err != nil {
				return 0, &UnavailableError{MaybeApplied: true, Err: err}
			}
			if applied {
				s.log.Info("a write retried after an unknown outcome had been applied by its first try", "rev", arev)
				s.settle(ctx, bctx, arev)
				return arev, nil
			}
		}
		// Let the cache catch up with whatever beat us, so a retry sees it.
		_ = s.waitRevNudged(bctx, rev)
		return rev, ErrConflict
	}
	s.settle(ctx, bctx, rev)
	return rev, ctx.Err()
}

// settle waits, within the write bound, until the cache reflects a
// committed revision. A watch that is re-connecting after a fault may miss
// the bound; the write is durable all the same, so it is not reported as
// failed (that would invite a duplicate create): lookups of an id fall
// back to etcd (GetFresh) until the watch catches up.
func (s *Store) settle(ctx, bctx context.Context, rev int64) {
	if err := s.waitRevNudged(bctx, rev); err != nil && ctx.Err() == nil {
		s.log.Warn("the cache is behind a committed write", "rev", rev, "cache_rev", s.Rev())
	}
}

// applied reports whether etcd holds what t writes: every key it puts with
// its exact value, every key it deletes absent. Values carry fresh ids and
// timestamps, so another writer's equal value is not a practical case (and
// would leave the state t asked for anyway). The revision is the one t
// committed at.
func (s *Store) applied(ctx, bctx context.Context, t *Txn) (bool, int64, error) {
	gets := make([]clientv3.Op, 0, len(t.ops))
	for _, op := range t.ops {
		gets = append(gets, clientv3.OpGet(string(op.KeyBytes())))
	}
	var resp *clientv3.TxnResponse
	_, err := s.retry(ctx, bctx, "check a retried write", false, func(actx context.Context) error {
		r, err := s.cli.Txn(actx).Then(gets...).Commit()
		resp = r
		return err
	})
	if err != nil {
		return false, 0, err
	}
	rev := int64(0)
	for i, op := range t.ops {
		kvs := resp.Responses[i].GetResponseRange().Kvs
		switch {
		case op.IsPut():
			if len(kvs) == 0 || !bytes.Equal(kvs[0].Value, op.ValueBytes()) {
				return false, 0, nil
			}
			rev = max(rev, kvs[0].ModRevision)
		case op.IsDelete():
			if len(kvs) != 0 {
				return false, 0, nil
			}
		}
	}
	if rev == 0 {
		rev = resp.Header.Revision // deletes only: they are in place by now
	}
	return true, rev, nil
}

// GetFresh is Get for an answer that must not miss a write acknowledged by
// another server: on a cache miss (this server's watch may be a few
// milliseconds behind) it reads the key from etcd with a linearizable read
// before reporting the object absent. It fails with ErrUnavailable when
// etcd cannot answer within the write bound.
func (s *Store) GetFresh(ctx context.Context, k model.Kind, id string) (Entry, bool, error) {
	if e, ok := s.Get(k, id); ok {
		return e, true, nil
	}
	bctx, cancel := context.WithTimeout(ctx, s.writeTimeout)
	defer cancel()
	resp, err := s.get(ctx, bctx, objKey(k, id))
	if err != nil {
		return Entry{}, false, err
	}
	if len(resp.Kvs) == 0 {
		return Entry{}, false, nil
	}
	kv := resp.Kvs[0]
	// Answer from the cache once it has caught up, so that what the caller
	// reads next (indexes, related objects) is as fresh; a watch slower than
	// that is bypassed.
	wctx, wcancel := context.WithTimeout(bctx, 200*time.Millisecond)
	defer wcancel()
	if s.waitRevNudged(wctx, kv.ModRevision) == nil {
		e, ok := s.Get(k, id)
		return e, ok, nil // absent now: deleted after the read
	}
	_, _, o, err := decode(kv.Key, kv.Value)
	if err != nil {
		return Entry{}, false, fmt.Errorf("store: decode %s: %w", kv.Key, err)
	}
	return Entry{Obj: o, Rev: kv.ModRevision}, true, nil
}

// Claimed returns who holds a uniqueness key and the revision it was last
// written at (0 when free), reading etcd directly within the write bound.
func (s *Store) Claimed(ctx context.Context, key string) (owner string, rev int64, err error) {
	bctx, cancel := context.WithTimeout(ctx, s.writeTimeout)
	defer cancel()
	resp, err := s.get(ctx, bctx, idxPrefix+key)
	if err != nil || len(resp.Kvs) == 0 {
		return "", 0, err
	}
	return string(resp.Kvs[0].Value), resp.Kvs[0].ModRevision, nil
}

// get is a linearizable read of one key, retried within bctx.
func (s *Store) get(ctx, bctx context.Context, key string) (*clientv3.GetResponse, error) {
	var resp *clientv3.GetResponse
	_, err := s.retry(ctx, bctx, "read "+key, false, func(actx context.Context) error {
		r, err := s.cli.Get(actx, key)
		resp = r
		return err
	})
	return resp, err
}

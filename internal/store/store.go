// Package store keeps the desired state in etcd and serves reads from an
// in-memory cache that an etcd watch keeps current. Writes are etcd
// transactions guarded by revisions (optimistic concurrency); a write
// returns only after the cache has seen it, so a client reads its own
// writes.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"lbaas/internal/model"
)

// ErrConflict means a compared revision changed under the transaction.
var ErrConflict = errors.New("store: concurrent modification")

const (
	rootPrefix = "/lbaas/"
	objPrefix  = "/lbaas/obj/"
	idxPrefix  = "/lbaas/idx/"
)

// Entry is a cached object with the revision it was last modified at.
type Entry struct {
	Obj model.Object
	Rev int64
}

// Store is the repository of all objects.
type Store struct {
	cli *clientv3.Client
	log *slog.Logger

	mu      sync.RWMutex
	changed *sync.Cond // broadcast when rev advances
	// observers get every batch of object changes the watch applies
	// (see Observe).
	obsMu     sync.Mutex
	observers []func([]Change)
	viewsMu   sync.Mutex
	views     map[string]any
	objs      map[model.Kind]map[string]Entry
	rev       int64
	// progressRev is a progress notification's revision not trusted yet,
	// first seen at progressAt (see advance).
	progressRev int64
	progressAt  time.Time
	// indexes: kind -> index name -> key -> set of ids, kept current with
	// every event so that "members of pool X" costs no scan.
	indexers map[model.Kind]map[string]IndexFunc
	indexes  map[model.Kind]map[string]map[string]map[string]struct{}
	// sorted caches List's answer per kind until the kind changes.
	sorted map[model.Kind][]Entry

	// writeTimeout bounds how long a write (and a consistent read) waits
	// for etcd before it is reported unavailable (see commit.go).
	writeTimeout time.Duration
	// commitObserver, when set, learns each Commit's duration and outcome.
	commitObserver atomic.Pointer[func(time.Duration, string)]
	// commitHook lets tests lose a try of Commit: called before each try
	// is sent (sent false) and after it was answered (sent true), its
	// error replaces the try's outcome. Nil outside tests.
	commitHook func(try int, sent bool) error

	cancel context.CancelFunc
	done   chan struct{}
}

// Option tunes a store at Open.
type Option func(*Store)

// WithWriteTimeout bounds the wait of one write for etcd (DefaultWriteTimeout
// when d <= 0).
func WithWriteTimeout(d time.Duration) Option {
	return func(s *Store) {
		if d > 0 {
			s.writeTimeout = d
		}
	}
}

// IndexFunc returns the keys an object is indexed under.
type IndexFunc func(model.Object) []string

// Open loads every object and starts the watch that keeps the cache current.
// The secondary indexes of indexes.go are maintained (see ByIndex).
func Open(ctx context.Context, cli *clientv3.Client, log *slog.Logger, opts ...Option) (*Store, error) {
	s := &Store{cli: cli, log: log, done: make(chan struct{}), indexers: indexers, writeTimeout: DefaultWriteTimeout}
	for _, o := range opts {
		o(s)
	}
	s.changed = sync.NewCond(s.mu.RLocker())
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go s.watchLoop(wctx)
	return s, nil
}

// Close stops the watch.
func (s *Store) Close() {
	s.cancel()
	<-s.done
}

func objKey(k model.Kind, id string) string { return objPrefix + string(k) + "/" + id }

func (s *Store) load(ctx context.Context) error {
	resp, err := s.cli.Get(ctx, objPrefix, clientv3.WithPrefix())
	if err != nil {
		return fmt.Errorf("store: load: %w", err)
	}
	objs := map[model.Kind]map[string]Entry{}
	for _, kv := range resp.Kvs {
		k, id, o, err := decode(kv.Key, kv.Value)
		if err != nil {
			s.log.Warn("skipping undecodable object", "key", string(kv.Key), "err", err)
			continue
		}
		if objs[k] == nil {
			objs[k] = map[string]Entry{}
		}
		objs[k][id] = Entry{Obj: o, Rev: kv.ModRevision}
	}
	s.mu.Lock()
	s.objs = objs
	s.sorted = map[model.Kind][]Entry{}
	s.indexes = map[model.Kind]map[string]map[string]map[string]struct{}{}
	for _, m := range objs {
		for _, e := range m {
			s.index(e.Obj, model.KindOf(e.Obj), true)
		}
	}
	s.rev = resp.Header.Revision
	s.mu.Unlock()
	s.notify([]Change{{}}) // a reload: anything may have changed
	s.changed.Broadcast()
	return nil
}

func decode(key, value []byte) (model.Kind, string, model.Object, error) {
	rest := strings.TrimPrefix(string(key), objPrefix)
	kind, id, ok := strings.Cut(rest, "/")
	if !ok {
		return "", "", nil, fmt.Errorf("bad key")
	}
	o, err := model.New(model.Kind(kind))
	if err != nil {
		return "", "", nil, err
	}
	if value != nil {
		if err := json.Unmarshal(value, o); err != nil {
			return "", "", nil, err
		}
	}
	return model.Kind(kind), id, o, nil
}

func (s *Store) watchLoop(ctx context.Context) {
	defer close(s.done)
	for ctx.Err() == nil {
		s.mu.RLock()
		from := s.rev + 1
		s.mu.RUnlock()
		// The whole /lbaas/ tree, not only objects: a transaction of
		// claims alone, or an election key, must advance the cache's
		// revision too, or a writer waiting for its revision would wait.
		wch := s.cli.Watch(clientv3.WithRequireLeader(ctx), rootPrefix, clientv3.WithPrefix(), clientv3.WithRev(from), clientv3.WithProgressNotify())
		for resp := range wch {
			if err := resp.Err(); err != nil {
				if errors.Is(err, rpctypes.ErrCompacted) {
					s.log.Warn("watch fell behind compaction; reloading")
					if err := s.load(ctx); err != nil {
						s.log.Error("reload after compaction", "err", err)
					}
				}
				break
			}
			s.apply(resp)
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Change is one object changed by the watch: Old is nil for a creation,
// New is nil for a deletion. A Change with an empty Kind means the whole
// cache was reloaded: anything may have changed.
type Change struct {
	Kind     model.Kind
	ID       string
	Old, New model.Object
}

// Observe calls fn with every batch of changes the cache applies, after
// the cache holds them (so fn may read the store) and before the cache's
// revision reaches them (so a Commit returns once fn saw its change), from
// the watch's goroutine: fn must be quick and must not write to the store.
func (s *Store) Observe(fn func([]Change)) {
	s.obsMu.Lock()
	s.observers = append(s.observers, fn)
	s.obsMu.Unlock()
}

// Follow keeps something derived from the objects of one kind current:
// it observes the store, then calls reset (which reads them all), and
// afterwards calls apply with each change's old and new object (either may
// be nil) and reset again if the cache is reloaded. Observing before
// reading leaves no gap; a change both read and applied is seen twice,
// so apply must be idempotent.
func (s *Store) Follow(k model.Kind, reset func(), apply func(old, new model.Object)) {
	s.Observe(func(changes []Change) {
		for _, ch := range changes {
			switch ch.Kind {
			case "":
				reset()
			case k:
				apply(ch.Old, ch.New)
			}
		}
	})
	reset()
}

// View returns the value called name kept for this store, made by newView on
// first use (which may Follow the store to keep it current): derived
// indexes that packages above the store keep, one per store.
func (s *Store) View(name string, newView func() any) any {
	s.viewsMu.Lock()
	defer s.viewsMu.Unlock()
	if v, ok := s.views[name]; ok {
		return v
	}
	if s.views == nil {
		s.views = map[string]any{}
	}
	v := newView()
	s.views[name] = v
	return v
}

func (s *Store) notify(changes []Change) {
	if len(changes) == 0 {
		return
	}
	s.obsMu.Lock()
	obs := s.observers
	s.obsMu.Unlock()
	for _, fn := range obs {
		fn(changes)
	}
}

func (s *Store) apply(resp clientv3.WatchResponse) {
	var changes []Change
	s.mu.Lock()
	for _, ev := range resp.Events {
		if !strings.HasPrefix(string(ev.Kv.Key), objPrefix) {
			continue
		}
		k, id, o, err := decode(ev.Kv.Key, ev.Kv.Value)
		if err != nil {
			continue
		}
		m := s.objs[k]
		if m == nil {
			m = map[string]Entry{}
			s.objs[k] = m
		}
		delete(s.sorted, k)
		ch := Change{Kind: k, ID: id}
		if old, ok := m[id]; ok {
			s.index(old.Obj, k, false)
			ch.Old = old.Obj
		}
		if ev.Type == mvccpb.DELETE {
			delete(m, id)
		} else {
			m[id] = Entry{Obj: o, Rev: ev.Kv.ModRevision}
			s.index(o, k, true)
			ch.New = o
		}
		changes = append(changes, ch)
	}
	s.mu.Unlock()
	// The observers run before the revision moves: a writer whose Commit
	// returns (it waits for its revision) finds the views current too.
	s.notify(changes)
	s.mu.Lock()
	s.advance(resp, time.Now())
	s.mu.Unlock()
	s.changed.Broadcast()
}

// progressTrustAfter is how long a progress notification's revision must
// stand, repeated, before the cache counts as caught up to it.
const progressTrustAfter = 50 * time.Millisecond

// advance moves the cache's revision to what resp proves the cache holds.
// Called with mu held.
//
// A response with events proves their revisions, not its header's: a
// watcher catching up is sent its events in batches, each headed with
// etcd's current revision. A progress notification says every event up to
// its revision was sent, but etcd before 3.4.25 and 3.5.8 (Debian 12 has
// 3.4.23) may send a requested one ahead of the last events (etcd issue
// 15220): a writer would then find its own write missing from the cache.
// So a progress revision counts only once a later notification repeats it
// at least progressTrustAfter later, with no event past it in between.
func (s *Store) advance(resp clientv3.WatchResponse, now time.Time) {
	if n := len(resp.Events); n > 0 {
		if r := resp.Events[n-1].Kv.ModRevision; r > s.rev {
			s.rev = r
		}
		return
	}
	if !resp.IsProgressNotify() {
		return
	}
	switch p := resp.Header.Revision; {
	case p <= s.rev:
	case p == s.progressRev && now.Sub(s.progressAt) >= progressTrustAfter:
		s.rev = p
	case p != s.progressRev:
		s.progressRev, s.progressAt = p, now
	}
}

// index adds (or removes) o to the indexes of its kind. Called with mu held.
func (s *Store) index(o model.Object, k model.Kind, add bool) {
	for name, f := range s.indexers[k] {
		if s.indexes[k] == nil {
			s.indexes[k] = map[string]map[string]map[string]struct{}{}
		}
		byKey := s.indexes[k][name]
		if byKey == nil {
			byKey = map[string]map[string]struct{}{}
			s.indexes[k][name] = byKey
		}
		id := o.Base().ID
		for _, key := range f(o) {
			if add {
				if byKey[key] == nil {
					byKey[key] = map[string]struct{}{}
				}
				byKey[key][id] = struct{}{}
			} else if set := byKey[key]; set != nil {
				delete(set, id)
				if len(set) == 0 {
					delete(byKey, key)
				}
			}
		}
	}
}

// ByIndex returns the objects of kind k whose index name holds key, sorted
// by id.
func (s *Store) ByIndex(k model.Kind, name, key string) []Entry {
	s.mu.RLock()
	set := s.indexes[k][name][key]
	out := make([]Entry, 0, len(set))
	for id := range set {
		if e, ok := s.objs[k][id]; ok {
			out = append(out, e)
		}
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Obj.Base().ID < out[j].Obj.Base().ID })
	return out
}

// EachByIndex calls fn with every object of kind k whose index name holds
// key, in no order, under the cache's read lock: fn must be quick and must
// not call the store. For a large set read often (every port of a
// network), it spares ByIndex's copy and sort.
func (s *Store) EachByIndex(k model.Kind, name, key string, fn func(Entry)) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for id := range s.indexes[k][name][key] {
		if e, ok := s.objs[k][id]; ok {
			fn(e)
		}
	}
}

// IndexHas reports whether any object of kind k has key in index name,
// without copying anything: the cheap question an allocator asks.
func (s *Store) IndexHas(k model.Kind, name, key string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.indexes[k][name][key]) > 0
}

// IndexCount returns how many objects of kind k have key in index name
// (a project's load balancers, for its quota), without copying them.
func (s *Store) IndexCount(k model.Kind, name, key string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.indexes[k][name][key])
}

// Rev is the revision the cache reflects.
func (s *Store) Rev() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.rev
}

// WaitRev blocks until the cache reflects revision rev or ctx ends.
func (s *Store) WaitRev(ctx context.Context, rev int64) error {
	stop := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.mu.Unlock() //nolint:staticcheck // take the lock so the broadcast is not lost
		s.changed.Broadcast()
	})
	defer stop()
	s.mu.RLock()
	defer s.mu.RUnlock()
	for s.rev < rev {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.changed.Wait()
	}
	return nil
}

// waitRevNudged is WaitRev for a writer: if the revision is not in the
// cache at once (the newest write may be outside the watched tree, in a
// shared etcd), it asks etcd for a progress notification, which carries
// the current revision to the watch.
func (s *Store) waitRevNudged(ctx context.Context, rev int64) error {
	if s.Rev() >= rev {
		return nil
	}
	nctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-nctx.Done():
				return
			case <-t.C:
				_ = s.cli.RequestProgress(nctx)
			}
		}
	}()
	return s.WaitRev(ctx, rev)
}

// WaitChange blocks until the cache moves past rev or ctx ends, and returns
// the new revision.
func (s *Store) WaitChange(ctx context.Context, rev int64) (int64, error) {
	if err := s.WaitRev(ctx, rev+1); err != nil {
		return s.Rev(), err
	}
	return s.Rev(), nil
}

// Get returns one cached object.
func (s *Store) Get(k model.Kind, id string) (Entry, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.objs[k][id]
	return e, ok
}

// List returns every cached object of kind k, sorted by id so that output
// is stable. The slice is shared between callers until the kind changes:
// callers must not modify it.
func (s *Store) List(k model.Kind) []Entry {
	s.mu.RLock()
	out, ok := s.sorted[k]
	s.mu.RUnlock()
	if ok {
		return out
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if out, ok := s.sorted[k]; ok {
		return out
	}
	out = make([]Entry, 0, len(s.objs[k]))
	for _, e := range s.objs[k] {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Obj.Base().ID < out[j].Obj.Base().ID })
	s.sorted[k] = out
	return out
}

// Txn collects compares and writes to commit atomically.
type Txn struct {
	cmps []clientv3.Cmp
	ops  []clientv3.Op
	err  error
}

func (t *Txn) put(o model.Object, kind model.Kind) string {
	b, err := json.Marshal(o)
	if err != nil && t.err == nil {
		t.err = err
	}
	key := objKey(kind, o.Base().ID)
	t.ops = append(t.ops, clientv3.OpPut(key, string(b)))
	return key
}

// Create adds a new object; it fails if the id exists.
func (t *Txn) Create(kind model.Kind, o model.Object) *Txn {
	key := t.put(o, kind)
	t.cmps = append(t.cmps, clientv3.Compare(clientv3.CreateRevision(key), "=", 0))
	return t
}

// Update replaces an object last seen at rev.
func (t *Txn) Update(kind model.Kind, o model.Object, rev int64) *Txn {
	key := t.put(o, kind)
	t.cmps = append(t.cmps, clientv3.Compare(clientv3.ModRevision(key), "=", rev))
	return t
}

// Put writes an object whatever its revision (for records only one writer
// owns, like a node's observed state).
func (t *Txn) Put(kind model.Kind, o model.Object) *Txn {
	t.put(o, kind)
	return t
}

// PutWithLease writes an object that disappears when the lease expires
// (a node's liveness record).
func (t *Txn) PutWithLease(kind model.Kind, o model.Object, lease clientv3.LeaseID) *Txn {
	b, err := json.Marshal(o)
	if err != nil && t.err == nil {
		t.err = err
	}
	t.ops = append(t.ops, clientv3.OpPut(objKey(kind, o.Base().ID), string(b), clientv3.WithLease(lease)))
	return t
}

// Delete removes an object last seen at rev.
func (t *Txn) Delete(kind model.Kind, id string, rev int64) *Txn {
	key := objKey(kind, id)
	t.cmps = append(t.cmps, clientv3.Compare(clientv3.ModRevision(key), "=", rev))
	t.ops = append(t.ops, clientv3.OpDelete(key))
	return t
}

// DeleteIfExists removes an object without a revision check.
func (t *Txn) DeleteIfExists(kind model.Kind, id string) *Txn {
	t.ops = append(t.ops, clientv3.OpDelete(objKey(kind, id)))
	return t
}

// Require makes the transaction fail if the object changed since rev (or,
// with rev 0, if it exists).
func (t *Txn) Require(kind model.Kind, id string, rev int64) *Txn {
	t.cmps = append(t.cmps, clientv3.Compare(clientv3.ModRevision(objKey(kind, id)), "=", rev))
	return t
}

// Claim takes a uniqueness key (an address in a subnet, a member's
// address:port in a pool); the transaction fails if someone holds it.
func (t *Txn) Claim(key, owner string) *Txn {
	k := idxPrefix + key
	t.cmps = append(t.cmps, clientv3.Compare(clientv3.CreateRevision(k), "=", 0))
	t.ops = append(t.ops, clientv3.OpPut(k, owner))
	return t
}

// Reclaim takes over a uniqueness key last written at rev (see Claimed)
// whose holder is gone; the transaction fails if it changed since.
func (t *Txn) Reclaim(key, owner string, rev int64) *Txn {
	k := idxPrefix + key
	t.cmps = append(t.cmps, clientv3.Compare(clientv3.ModRevision(k), "=", rev))
	t.ops = append(t.ops, clientv3.OpPut(k, owner))
	return t
}

// Release frees a uniqueness key.
func (t *Txn) Release(key string) *Txn {
	t.ops = append(t.ops, clientv3.OpDelete(idxPrefix+key))
	return t
}

// Empty reports whether the transaction would write nothing.
func (t *Txn) Empty() bool { return len(t.ops) == 0 }

// Mutate runs build against the current cache and commits what it returns,
// retrying when a concurrent writer changed a compared object. build must
// read only through the store and have no side effects.
func (s *Store) Mutate(ctx context.Context, build func() (*Txn, error)) (int64, error) {
	for attempt := 0; ; attempt++ {
		t, err := build()
		if err != nil {
			return 0, err
		}
		if t == nil || t.Empty() {
			return s.Rev(), nil
		}
		rev, err := s.Commit(ctx, t)
		if !errors.Is(err, ErrConflict) || attempt >= 100 {
			return rev, err
		}
		// Spread the retries of writers that collided on one key.
		time.Sleep(time.Duration(rand.IntN(1+min(attempt, 10))) * time.Millisecond)
	}
}

// ClaimHolder returns who holds a uniqueness key, reading etcd directly.
func (s *Store) ClaimHolder(ctx context.Context, key string) (string, bool, error) {
	owner, rev, err := s.Claimed(ctx, key)
	return owner, rev != 0, err
}

// Client exposes the etcd client for leases and elections.
func (s *Store) Client() *clientv3.Client { return s.cli }

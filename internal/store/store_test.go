package store_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"lbaas/internal/model"
	"lbaas/internal/store"
	"lbaas/internal/store/storetest"
)

func newNetwork(name string) *model.Network {
	return &model.Network{Meta: model.Meta{ID: uuid.NewString(), TenantID: "t"}, Name: name}
}

func mustCommit(t *testing.T, txn *store.Txn) int64 {
	t.Helper()
	rev, err := env.Store.Commit(storetest.Ctx(t), txn)
	if err != nil {
		t.Fatalf("commit: %v", err)
	}
	return rev
}

func networkName(t *testing.T, id string) string {
	t.Helper()
	e, ok := env.Store.Get(model.KindNetwork, id)
	if !ok {
		t.Fatalf("network %s is not in the cache", id)
	}
	return e.Obj.(*model.Network).Name
}

func TestCommittedObjectIsReadableAsSoonAsCommitReturns(t *testing.T) {
	n := newNetwork("ryw")
	rev := mustCommit(t, new(store.Txn).Create(model.KindNetwork, n))
	e, ok := env.Store.Get(model.KindNetwork, n.ID)
	if !ok {
		t.Fatal("Get does not see the object Commit just wrote")
	}
	if e.Rev != rev {
		t.Fatalf("entry revision %d, want the commit's %d", e.Rev, rev)
	}
	if env.Store.Rev() < rev {
		t.Fatalf("cache revision %d is behind the commit's %d", env.Store.Rev(), rev)
	}
	if !slices.ContainsFunc(env.Store.List(model.KindNetwork), func(e store.Entry) bool { return e.Obj.Base().ID == n.ID }) {
		t.Fatal("List does not show the object Commit just wrote")
	}
}

func TestCreateOfAnExistingIDConflicts(t *testing.T) {
	n := newNetwork("first")
	mustCommit(t, new(store.Txn).Create(model.KindNetwork, n))
	dup := *n
	dup.Name = "second"
	if _, err := env.Store.Commit(storetest.Ctx(t), new(store.Txn).Create(model.KindNetwork, &dup)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second create of the same id: err %v, want ErrConflict", err)
	}
	if got := networkName(t, n.ID); got != "first" {
		t.Fatalf("name %q after a failed create, want the first one's", got)
	}
}

func TestUpdateWithStaleRevisionConflictsAndWritesNothing(t *testing.T) {
	n := newNetwork("v1")
	rev1 := mustCommit(t, new(store.Txn).Create(model.KindNetwork, n))
	v2 := *n
	v2.Name = "v2"
	mustCommit(t, new(store.Txn).Update(model.KindNetwork, &v2, rev1))

	// A writer that still holds rev1 must lose, and its whole transaction
	// with it: the other object it creates must not appear either.
	stale := *n
	stale.Name = "stale"
	other := newNetwork("side-effect")
	txn := new(store.Txn).Update(model.KindNetwork, &stale, rev1).Create(model.KindNetwork, other)
	if _, err := env.Store.Commit(storetest.Ctx(t), txn); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("update at a stale revision: err %v, want ErrConflict", err)
	}
	if got := networkName(t, n.ID); got != "v2" {
		t.Fatalf("name %q after a conflicting update, want v2", got)
	}
	if _, ok := env.Store.Get(model.KindNetwork, other.ID); ok {
		t.Fatal("the object created in a failed transaction exists")
	}
}

func TestDeleteWithStaleRevisionConflictsAndKeepsTheObject(t *testing.T) {
	n := newNetwork("keep")
	rev1 := mustCommit(t, new(store.Txn).Create(model.KindNetwork, n))
	v2 := *n
	v2.Name = "keep2"
	mustCommit(t, new(store.Txn).Update(model.KindNetwork, &v2, rev1))
	if _, err := env.Store.Commit(storetest.Ctx(t), new(store.Txn).Delete(model.KindNetwork, n.ID, rev1)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("delete at a stale revision: err %v, want ErrConflict", err)
	}
	if _, ok := env.Store.Get(model.KindNetwork, n.ID); !ok {
		t.Fatal("a delete at a stale revision removed the object")
	}
	e, _ := env.Store.Get(model.KindNetwork, n.ID)
	mustCommit(t, new(store.Txn).Delete(model.KindNetwork, n.ID, e.Rev))
	if _, ok := env.Store.Get(model.KindNetwork, n.ID); ok {
		t.Fatal("the object is still cached after a delete at its current revision")
	}
}

func TestRequireFailsTheTransactionWhenTheRequiredObjectChanged(t *testing.T) {
	parent := newNetwork("parent")
	rev := mustCommit(t, new(store.Txn).Create(model.KindNetwork, parent))
	changed := *parent
	changed.Name = "parent2"
	mustCommit(t, new(store.Txn).Update(model.KindNetwork, &changed, rev))
	child := newNetwork("child")
	_, err := env.Store.Commit(storetest.Ctx(t), new(store.Txn).Require(model.KindNetwork, parent.ID, rev).Create(model.KindNetwork, child))
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("require of a changed object: err %v, want ErrConflict", err)
	}
	if _, ok := env.Store.Get(model.KindNetwork, child.ID); ok {
		t.Fatal("the child was written although the required object changed")
	}
	// Rev 0 means "must not exist".
	_, err = env.Store.Commit(storetest.Ctx(t), new(store.Txn).Require(model.KindNetwork, parent.ID, 0).Create(model.KindNetwork, child))
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("require-absent of an existing object: err %v, want ErrConflict", err)
	}
}

func TestMutateRetriesAgainstTheFresherCacheAfterAConcurrentWrite(t *testing.T) {
	n := newNetwork("0")
	mustCommit(t, new(store.Txn).Create(model.KindNetwork, n))
	var calls atomic.Int32
	_, err := env.Store.Mutate(storetest.Ctx(t), func() (*store.Txn, error) {
		e, _ := env.Store.Get(model.KindNetwork, n.ID)
		cur := *e.Obj.(*model.Network)
		if calls.Add(1) == 1 {
			// Another writer slips in between this read and the commit.
			racer := cur
			racer.Name = cur.Name + "+racer"
			if _, err := env.Store.Commit(storetest.Ctx(t), new(store.Txn).Update(model.KindNetwork, &racer, e.Rev)); err != nil {
				t.Errorf("racing commit: %v", err)
			}
		}
		cur.Name += "+mutate"
		return new(store.Txn).Update(model.KindNetwork, &cur, e.Rev), nil
	})
	if err != nil {
		t.Fatalf("Mutate: %v", err)
	}
	if calls.Load() != 2 {
		t.Fatalf("build ran %d times, want 2 (one conflict, one retry)", calls.Load())
	}
	if got := networkName(t, n.ID); got != "0+racer+mutate" {
		t.Fatalf("name %q: the retry did not build on the racer's write", got)
	}
}

func TestMutateStopsAtTheFirstBuildError(t *testing.T) {
	boom := errors.New("invalid request")
	calls := 0
	_, err := env.Store.Mutate(storetest.Ctx(t), func() (*store.Txn, error) {
		calls++
		return nil, boom
	})
	if !errors.Is(err, boom) || calls != 1 {
		t.Fatalf("err %v after %d builds, want the build's error after 1", err, calls)
	}
}

func TestSecondClaimOfTheSameKeyFailsUntilReleased(t *testing.T) {
	key := "test/" + uuid.NewString()
	a, b := newNetwork("a"), newNetwork("b")
	mustCommit(t, new(store.Txn).Claim(key, "a").Create(model.KindNetwork, a))
	if _, err := env.Store.Commit(storetest.Ctx(t), new(store.Txn).Claim(key, "b").Create(model.KindNetwork, b)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second claim: err %v, want ErrConflict", err)
	}
	if _, ok := env.Store.Get(model.KindNetwork, b.ID); ok {
		t.Fatal("the loser of the claim wrote its object")
	}
	holder, held, err := env.Store.ClaimHolder(storetest.Ctx(t), key)
	if err != nil || !held || holder != "a" {
		t.Fatalf("ClaimHolder = %q, %v, %v; want a, true, nil", holder, held, err)
	}

	e, _ := env.Store.Get(model.KindNetwork, a.ID)
	mustCommit(t, new(store.Txn).Release(key).Delete(model.KindNetwork, a.ID, e.Rev))
	if _, held, _ := env.Store.ClaimHolder(storetest.Ctx(t), key); held {
		t.Fatal("the key is still held after Release")
	}
	mustCommit(t, new(store.Txn).Claim(key, "b").Create(model.KindNetwork, b))
	if holder, _, _ := env.Store.ClaimHolder(storetest.Ctx(t), key); holder != "b" {
		t.Fatalf("holder %q after the released key was claimed again, want b", holder)
	}
}

func TestConcurrentClaimsOfOneKeyHaveExactlyOneWinner(t *testing.T) {
	key := "test/" + uuid.NewString()
	const n = 8
	errs := make(chan error, n)
	for i := range n {
		go func() {
			_, err := env.Store.Commit(storetest.Ctx(t), new(store.Txn).Claim(key, "w").Create(model.KindNetwork, newNetwork("w"+string(rune('0'+i)))))
			errs <- err
		}()
	}
	wins := 0
	for range n {
		err := <-errs
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, store.ErrConflict):
			t.Fatalf("claim: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d transactions won the same claim, want exactly 1", wins)
	}
}

func newMember(pool string) *model.Member {
	return &model.Member{Meta: model.Meta{ID: uuid.NewString(), TenantID: "t"}, PoolID: pool, Address: "10.0.0.5", ProtocolPort: 80}
}

func idsOf(es []store.Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Obj.Base().ID
	}
	return out
}

func TestByIndexFollowsCreateMoveAndDeleteOfMembers(t *testing.T) {
	poolA, poolB := uuid.NewString(), uuid.NewString()
	m1, m2 := newMember(poolA), newMember(poolA)
	mustCommit(t, new(store.Txn).Create(model.KindMember, m1).Create(model.KindMember, m2))
	want := []string{m1.ID, m2.ID}
	slices.Sort(want)
	if got := idsOf(env.Store.ByIndex(model.KindMember, store.IdxPool, poolA)); !slices.Equal(got, want) {
		t.Fatalf("members of pool A %v, want %v (sorted by id)", got, want)
	}

	e, _ := env.Store.Get(model.KindMember, m1.ID)
	moved := *m1
	moved.PoolID = poolB
	mustCommit(t, new(store.Txn).Update(model.KindMember, &moved, e.Rev))
	if got := idsOf(env.Store.ByIndex(model.KindMember, store.IdxPool, poolA)); !slices.Equal(got, []string{m2.ID}) {
		t.Fatalf("after the move, members of pool A %v, want only %s", got, m2.ID)
	}
	if got := idsOf(env.Store.ByIndex(model.KindMember, store.IdxPool, poolB)); !slices.Equal(got, []string{m1.ID}) {
		t.Fatalf("after the move, members of pool B %v, want %s", got, m1.ID)
	}

	e2, _ := env.Store.Get(model.KindMember, m2.ID)
	mustCommit(t, new(store.Txn).Delete(model.KindMember, m2.ID, e2.Rev))
	if got := env.Store.ByIndex(model.KindMember, store.IdxPool, poolA); len(got) != 0 {
		t.Fatalf("after deleting its last member, pool A still indexes %v", idsOf(got))
	}
}

func TestByIndexOfPortsFollowsEverySubnetOfTheirFixedIPs(t *testing.T) {
	s1, s2, s3 := uuid.NewString(), uuid.NewString(), uuid.NewString()
	p := &model.Port{Meta: model.Meta{ID: uuid.NewString()}, DeviceID: uuid.NewString(),
		FixedIPs: []model.FixedIP{{SubnetID: s1, IPAddress: "10.1.0.5"}, {SubnetID: s2, IPAddress: "10.2.0.5"}}}
	rev := mustCommit(t, new(store.Txn).Create(model.KindPort, p))
	for _, s := range []string{s1, s2} {
		if got := idsOf(env.Store.ByIndex(model.KindPort, store.IdxSubnet, s)); !slices.Equal(got, []string{p.ID}) {
			t.Fatalf("ports of subnet %s: %v, want %s", s, got, p.ID)
		}
	}
	if got := idsOf(env.Store.ByIndex(model.KindPort, store.IdxDevice, p.DeviceID)); !slices.Equal(got, []string{p.ID}) {
		t.Fatalf("ports of device: %v, want %s", got, p.ID)
	}
	q := *p
	q.FixedIPs = []model.FixedIP{{SubnetID: s3, IPAddress: "10.3.0.5"}}
	mustCommit(t, new(store.Txn).Update(model.KindPort, &q, rev))
	if got := env.Store.ByIndex(model.KindPort, store.IdxSubnet, s1); len(got) != 0 {
		t.Fatalf("subnet s1 still indexes the port after its address moved: %v", idsOf(got))
	}
	if got := idsOf(env.Store.ByIndex(model.KindPort, store.IdxSubnet, s3)); !slices.Equal(got, []string{p.ID}) {
		t.Fatalf("ports of subnet s3: %v, want %s", got, p.ID)
	}
}

func TestListIsSortedByIDAndFollowsChanges(t *testing.T) {
	var want []string
	mine := map[string]bool{}
	txn := new(store.Txn)
	for range 5 {
		h := &model.HealthMonitor{Meta: model.Meta{ID: uuid.NewString()}, Type: model.MonitorTCP}
		want = append(want, h.ID)
		mine[h.ID] = true
		txn.Create(model.KindHealthMonitor, h)
	}
	mustCommit(t, txn)
	slices.Sort(want)
	// Other runs of this test share the store: look at this run's objects.
	ours := func(ids []string) []string {
		return slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return !mine[id] })
	}
	first := idsOf(env.Store.List(model.KindHealthMonitor))
	if !slices.IsSorted(first) || !slices.Equal(ours(first), want) {
		t.Fatalf("List = %v, want ids sorted, including %v", first, want)
	}
	if again := idsOf(env.Store.List(model.KindHealthMonitor)); !slices.Equal(again, first) {
		t.Fatalf("a second List without changes differs: %v vs %v", again, first)
	}
	e, _ := env.Store.Get(model.KindHealthMonitor, want[2])
	mustCommit(t, new(store.Txn).Delete(model.KindHealthMonitor, want[2], e.Rev))
	after := idsOf(env.Store.List(model.KindHealthMonitor))
	if !slices.IsSorted(after) || !slices.Equal(ours(after), slices.Delete(slices.Clone(want), 2, 3)) {
		t.Fatalf("List after a delete = %v; want it sorted, without %s", after, want[2])
	}
}

func TestWaitChangeWakesWhenTheStoreChanges(t *testing.T) {
	rev := env.Store.Rev()
	got := make(chan int64, 1)
	go func() {
		next, err := env.Store.WaitChange(storetest.Ctx(t), rev)
		if err != nil {
			t.Errorf("WaitChange: %v", err)
		}
		got <- next
	}()
	select {
	case next := <-got:
		t.Fatalf("WaitChange returned %d before anything changed", next)
	case <-time.After(200 * time.Millisecond):
	}
	wrote := mustCommit(t, new(store.Txn).Create(model.KindNetwork, newNetwork("wake")))
	select {
	case next := <-got:
		if next <= rev || next > wrote {
			t.Fatalf("WaitChange returned revision %d; want one in (%d, %d]", next, rev, wrote)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("WaitChange did not wake within 3s of a commit")
	}
}

func TestWaitChangeReturnsWhenItsContextIsCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := env.Store.WaitChange(ctx, env.Store.Rev()+1000)
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("WaitChange after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("WaitChange did not return within 2s of its context's cancellation")
	}
}

func TestSecondStoreOnTheSameEtcdSeesTheFirstOnesWrites(t *testing.T) {
	before := newNetwork("before")
	mustCommit(t, new(store.Txn).Create(model.KindNetwork, before))
	other, err := store.Open(storetest.Ctx(t), env.Etcd.Client, storetest.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, ok := other.Get(model.KindNetwork, before.ID); !ok {
		t.Fatal("a newly opened store does not load existing objects")
	}

	after := newNetwork("after")
	rev := mustCommit(t, new(store.Txn).Create(model.KindNetwork, after))
	if err := other.WaitRev(storetest.Ctx(t), rev); err != nil {
		t.Fatalf("the second store's cache never reached revision %d: %v", rev, err)
	}
	if _, ok := other.Get(model.KindNetwork, after.ID); !ok {
		t.Fatal("the second store's watch did not deliver the first store's write")
	}
	e, _ := env.Store.Get(model.KindNetwork, after.ID)
	rev = mustCommit(t, new(store.Txn).Delete(model.KindNetwork, after.ID, e.Rev))
	if err := other.WaitRev(storetest.Ctx(t), rev); err != nil {
		t.Fatal(err)
	}
	if _, ok := other.Get(model.KindNetwork, after.ID); ok {
		t.Fatal("the second store still caches an object the first one deleted")
	}
}

func TestObjectPutWithALeaseDisappearsWhenTheLeaseIsRevoked(t *testing.T) {
	ctx := storetest.Ctx(t)
	cli := env.Store.Client()
	lease, err := cli.Grant(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	node := &model.Node{Meta: model.Meta{ID: "lbt-lease-" + uuid.NewString()[:8]}, Name: "n"}
	mustCommit(t, new(store.Txn).PutWithLease(model.KindNode, node, lease.ID))
	if _, ok := env.Store.Get(model.KindNode, node.ID); !ok {
		t.Fatal("the leased object is not visible after Commit")
	}
	rev := env.Store.Rev()
	if _, err := cli.Revoke(ctx, lease.ID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok := env.Store.Get(model.KindNode, node.ID); !ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the leased object is still cached 5s after its lease was revoked")
		}
		wctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		rev, _ = env.Store.WaitChange(wctx, rev)
		cancel()
	}
}

func TestPutOverwritesWhateverTheRevision(t *testing.T) {
	n := newNetwork("p1")
	mustCommit(t, new(store.Txn).Put(model.KindNetwork, n))
	n2 := *n
	n2.Name = "p2"
	mustCommit(t, new(store.Txn).Put(model.KindNetwork, &n2))
	if got := networkName(t, n.ID); got != "p2" {
		t.Fatalf("name %q after two puts, want p2", got)
	}
}

func TestEmptyMutateWritesNothing(t *testing.T) {
	rev := env.Store.Rev()
	got, err := env.Store.Mutate(storetest.Ctx(t), func() (*store.Txn, error) { return new(store.Txn), nil })
	if err != nil || got != rev {
		t.Fatalf("Mutate of an empty transaction = %d, %v; want the current revision %d, nil", got, err, rev)
	}
}

// A view kept by Follow holds the objects that existed before it was made
// and follows every creation, rename and deletion after, by the time the
// cache has them; the same name gives the same view.
func TestAViewKeptByFollowSeesEveryChangeOfItsKind(t *testing.T) {
	before := newNetwork("lbt-follow-a")
	mustCommit(t, new(store.Txn).Create(model.KindNetwork, before))
	type names struct {
		mu sync.Mutex
		m  map[string]string
	}
	get := func() *names {
		return env.Store.View("test.networkNames", func() any {
			v := &names{}
			env.Store.Follow(model.KindNetwork, func() {
				v.mu.Lock()
				defer v.mu.Unlock()
				v.m = map[string]string{}
				for _, e := range env.Store.List(model.KindNetwork) {
					v.m[e.Obj.Base().ID] = e.Obj.(*model.Network).Name
				}
			}, func(old, new model.Object) {
				v.mu.Lock()
				defer v.mu.Unlock()
				if old != nil {
					delete(v.m, old.Base().ID)
				}
				if new != nil {
					v.m[new.Base().ID] = new.(*model.Network).Name
				}
			})
			return v
		}).(*names)
	}
	v := get()
	if get() != v {
		t.Fatal("a second View of one name made another view")
	}
	name := func(id string) string { v.mu.Lock(); defer v.mu.Unlock(); return v.m[id] }
	if name(before.ID) != "lbt-follow-a" {
		t.Fatalf("the view lacks a network made before it: %q", name(before.ID))
	}
	after := newNetwork("lbt-follow-b")
	rev := mustCommit(t, new(store.Txn).Create(model.KindNetwork, after))
	renamed := *after
	renamed.Name = "lbt-follow-c"
	mustCommit(t, new(store.Txn).Update(model.KindNetwork, &renamed, rev))
	mustCommit(t, new(store.Txn).DeleteIfExists(model.KindNetwork, before.ID))
	if name(after.ID) != "lbt-follow-c" || name(before.ID) != "" {
		t.Fatalf("the view after a create, a rename and a delete: %q and %q", name(after.ID), name(before.ID))
	}
}

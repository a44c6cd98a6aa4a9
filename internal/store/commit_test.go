package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"

	"lbaas/internal/model"
	"lbaas/internal/store"
	"lbaas/internal/store/storetest"
)

// lostAnswer is what a try whose answer never came looks like: a leader
// that died after applying it, a connection cut after the request left.
var lostAnswer = context.DeadlineExceeded

// loseFirst makes the first try of every Commit until the test ends lose
// its answer (after etcd applied it, with sent) or its request (before).
func loseFirst(t *testing.T, afterSent bool) {
	t.Helper()
	env.Store.SetCommitHook(func(try int, sent bool) error {
		if try == 0 && sent == afterSent {
			return lostAnswer
		}
		return nil
	})
	t.Cleanup(func() { env.Store.SetCommitHook(nil) })
}

// TestACreateWhoseAnswerWasLostSucceedsWhenResent: the first try of a
// create with a claim is applied but its answer lost; the resend fails its
// compares (the object and the claim now exist) and Commit must report the
// create as done, not as a conflict with itself.
func TestACreateWhoseAnswerWasLostSucceedsWhenResent(t *testing.T) {
	loseFirst(t, true)
	n := newNetwork("resent")
	rev, err := env.Store.Commit(storetest.Ctx(t), new(store.Txn).Create(model.KindNetwork, n).Claim("test/resent/"+n.ID, n.ID))
	if err != nil {
		t.Fatalf("a create applied by its first try and resent: %v, want success", err)
	}
	e, ok := env.Store.Get(model.KindNetwork, n.ID)
	if !ok || e.Rev != rev {
		t.Fatalf("after Commit returned rev %d the cache holds %v at %d", rev, ok, e.Rev)
	}
}

// TestADeleteWhoseAnswerWasLostSucceedsWhenResent is the same for a
// delete guarded by the object's revision.
func TestADeleteWhoseAnswerWasLostSucceedsWhenResent(t *testing.T) {
	n := newNetwork("to-delete")
	rev := mustCommit(t, new(store.Txn).Create(model.KindNetwork, n))
	loseFirst(t, true)
	if _, err := env.Store.Commit(storetest.Ctx(t), new(store.Txn).Delete(model.KindNetwork, n.ID, rev)); err != nil {
		t.Fatalf("a delete applied by its first try and resent: %v, want success", err)
	}
	if _, ok := env.Store.Get(model.KindNetwork, n.ID); ok {
		t.Fatal("the deleted network is still in the cache")
	}
}

// TestAClaimTakenByAnotherWhileTheFirstTryWasLostIsAConflict: the first
// try never reached etcd, and another writer took the claim meanwhile; the
// resend fails, and what etcd holds is not this write: a conflict.
func TestAClaimTakenByAnotherWhileTheFirstTryWasLostIsAConflict(t *testing.T) {
	key := "test/contested/" + uuid.NewString()
	rival := newNetwork("rival")
	env.Store.SetCommitHook(func(try int, sent bool) error {
		if try == 0 && !sent {
			env.Store.SetCommitHook(nil) // the rival's own commit runs plainly
			mustCommit(t, new(store.Txn).Create(model.KindNetwork, rival).Claim(key, rival.ID))
			return lostAnswer
		}
		return nil
	})
	t.Cleanup(func() { env.Store.SetCommitHook(nil) })
	n := newNetwork("loser")
	_, err := env.Store.Commit(storetest.Ctx(t), new(store.Txn).Create(model.KindNetwork, n).Claim(key, n.ID))
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Commit = %v, want ErrConflict", err)
	}
	if _, ok := env.Store.Get(model.KindNetwork, n.ID); ok {
		t.Fatal("the losing create is in the store")
	}
}

// TestAMissInTheCacheIsConfirmedByEtcd reads, through a store whose watch
// has stopped (a server whose cache is behind), an object another store
// wrote: Get misses it, GetFresh must find it; an id nobody wrote stays
// absent.
func TestAMissInTheCacheIsConfirmedByEtcd(t *testing.T) {
	behind, err := store.Open(storetest.Ctx(t), env.Etcd.Client, storetest.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	behind.Close() // stops its watch; its cache stays as loaded
	n := newNetwork("elsewhere")
	mustCommit(t, new(store.Txn).Create(model.KindNetwork, n))
	if _, ok := behind.Get(model.KindNetwork, n.ID); ok {
		t.Fatal("the stopped store's cache has the new network: the test would not exercise the fallback")
	}
	e, ok, err := behind.GetFresh(storetest.Ctx(t), model.KindNetwork, n.ID)
	if err != nil || !ok || e.Obj.(*model.Network).Name != "elsewhere" {
		t.Fatalf("GetFresh = %v, %v, %v; want the network written a moment ago", e, ok, err)
	}
	if _, ok, err := behind.GetFresh(storetest.Ctx(t), model.KindNetwork, uuid.NewString()); ok || err != nil {
		t.Fatalf("GetFresh of an id nobody wrote = %v, %v; want absent", ok, err)
	}
}

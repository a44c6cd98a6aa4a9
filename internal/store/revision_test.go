package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"lbaas/internal/model"
	"lbaas/internal/store"
	"lbaas/internal/store/storetest"
)

// The cache's revision advances only through events under the object
// prefix; etcd's revision also moves for claim keys and for keys other
// code keeps in the same etcd (the controller's election). Commit waits
// for the cache to reach the revision etcd answered with, so these tests
// check that it does not wait for an object write that may never come.

func TestCommitOfOnlyClaimsReturnsPromptly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	if _, err := env.Store.Commit(ctx, new(store.Txn).Claim("test/"+uuid.NewString(), "a")); err != nil {
		t.Fatalf("claim-only commit: %v after %v", err, time.Since(start))
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("claim-only commit took %v", d)
	}
}

func TestConflictingMutateRetriesPromptlyAfterAWriteOutsideTheObjects(t *testing.T) {
	n := newNetwork("stale")
	rev := mustCommit(t, new(store.Txn).Create(model.KindNetwork, n))
	n2 := *n
	n2.Name = "fresh"
	mustCommit(t, new(store.Txn).Update(model.KindNetwork, &n2, rev))
	// What controller.Run's election does: a key outside the objects.
	if _, err := env.Store.Client().Put(storetest.Ctx(t), "/lbaas/election/lbt-"+uuid.NewString(), "x"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	attempts := 0
	_, err := env.Store.Mutate(ctx, func() (*store.Txn, error) {
		attempts++
		r := rev // the first attempt uses the stale revision, as a racing writer would
		if attempts > 1 {
			e, _ := env.Store.Get(model.KindNetwork, n.ID)
			r = e.Rev
		}
		v := n2
		v.Name = "mutated"
		return new(store.Txn).Update(model.KindNetwork, &v, r), nil
	})
	if err != nil {
		t.Fatalf("Mutate: %v after %v and %d attempts", err, time.Since(start), attempts)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Mutate took %v to retry one conflict", d)
	}
}

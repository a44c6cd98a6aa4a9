// Package storetest starts the real embedded etcd and store that a
// package's tests share (starting etcd costs a second or more).
package storetest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"lbaas/internal/model"
	"lbaas/internal/store"
)

// Env is a running etcd and the store on it.
type Env struct {
	Etcd  *store.Embedded
	Store *store.Store
	dir   string
}

// Start starts etcd in a fresh short directory named after prefix (the
// client listener is a unix socket in it: paths are limited to 107 bytes)
// and opens a store on it.
func Start(prefix string) (*Env, error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e, err := store.StartEmbedded(ctx, dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("embedded etcd: %w", err)
	}
	st, err := store.Open(ctx, e.Client, Quiet())
	if err != nil {
		e.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("open store: %w", err)
	}
	return &Env{Etcd: e, Store: st, dir: dir}, nil
}

// Close stops everything and removes the directory.
func (e *Env) Close() {
	e.Store.Close()
	e.Etcd.Close()
	os.RemoveAll(e.dir)
}

// Main runs a package's tests with an Env, for TestMain.
func Main(m *testing.M, prefix string, with func(*Env)) int {
	env, err := Start(prefix)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer env.Close()
	with(env)
	return m.Run()
}

// Quiet is a logger that drops everything.
func Quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// Ctx bounds every store call of a test so that a lost watch event fails
// the test instead of hanging the suite.
func Ctx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Reset empties the store and revokes every lease (so every node is gone),
// and returns once the store's cache has seen the deletion.
func Reset(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := Ctx(t)
	cli := st.Client()
	leases, err := cli.Leases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range leases.Leases {
		_, _ = cli.Revoke(ctx, l.ID)
	}
	// The marker guarantees the delete removes an object, so the cache
	// sees an event at the delete's revision and WaitRev returns.
	marker := &model.Network{Meta: model.Meta{ID: "lbt-reset-marker"}}
	if _, err := st.Commit(ctx, new(store.Txn).Put(model.KindNetwork, marker)); err != nil {
		t.Fatal(err)
	}
	resp, err := cli.Delete(ctx, "/lbaas/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.WaitRev(ctx, resp.Header.Revision); err != nil {
		t.Fatal(err)
	}
}

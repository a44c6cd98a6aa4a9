package ipam_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"lbaas/internal/store"
)

// env is the one embedded etcd and store the package's tests share:
// starting etcd costs a second or more, so tests keep apart by using ids
// of their own instead of a store each. Set by TestMain, never changed.
var env struct {
	etcd *store.Embedded
	st   *store.Store
}

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	// A short directory: the client listener is a unix socket in it, and
	// socket paths are limited to 107 bytes.
	dir, err := os.MkdirTemp("", "lbt-ipam")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e, err := store.StartEmbedded(ctx, dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "embedded etcd:", err)
		return 1
	}
	defer e.Close()
	st, err := store.Open(ctx, e.Client, quiet())
	if err != nil {
		fmt.Fprintln(os.Stderr, "open store:", err)
		return 1
	}
	defer st.Close()
	env.etcd, env.st = e, st
	return m.Run()
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// testCtx bounds every store call of a test so that a lost watch event
// fails the test instead of hanging the suite.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

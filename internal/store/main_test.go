package store_test

import (
	"context"
	"log/slog"
	"os"
	"testing"

	"lbaas/internal/store/storetest"
)

// env is the one embedded etcd and store the package's tests share:
// starting etcd costs a second or more, so tests keep apart by using ids
// of their own instead of a store each. Set by TestMain, never changed.
var env *storetest.Env

func TestMain(m *testing.M) {
	os.Exit(storetest.Main(m, "lbt-st", func(x *storetest.Env) { env = x }))
}

func quiet() *slog.Logger { return storetest.Quiet() }

// testCtx bounds every store call of a test so that a lost watch event
// fails the test instead of hanging the suite.
func testCtx(t *testing.T) context.Context { t.Helper(); return storetest.Ctx(t) }

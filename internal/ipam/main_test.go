package ipam_test

import (
	"os"
	"testing"

	"lbaas/internal/store/storetest"
)

// env is the one embedded etcd and store the package's tests share:
// starting etcd costs a second or more, so tests keep apart by using ids
// of their own instead of a store each. Set by TestMain, never changed.
var env *storetest.Env

func TestMain(m *testing.M) {
	os.Exit(storetest.Main(m, "lbt-ipam", func(x *storetest.Env) { env = x }))
}

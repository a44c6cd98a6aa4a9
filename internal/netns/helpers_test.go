package netns

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// testPrefix is unique per test binary run, so that the leftover check in
// TestMain only looks at namespaces this run created (other engineers' tests
// may use the lbt prefix concurrently).
var testPrefix = fmt.Sprintf("lbt%x-", os.Getpid())

func TestMain(m *testing.M) {
	code := m.Run()
	if os.Geteuid() == 0 {
		left, err := List(testPrefix)
		if err != nil {
			fmt.Fprintln(os.Stderr, "listing namespaces:", err)
			code = 1
		}
		if len(left) > 0 {
			fmt.Fprintf(os.Stderr, "test namespaces left behind: %v\n", left)
			for _, n := range left {
				_ = Delete(n)
			}
			code = 1
		}
	}
	os.Exit(code)
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces, netlink, nftables)")
	}
}

func requireBinary(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("needs the %s binary", name)
	}
}

// testNamespace creates a namespace named testPrefix+suffix and deletes it
// when the test ends, pass or fail.
func testNamespace(t *testing.T, suffix string) string {
	t.Helper()
	name := testPrefix + suffix
	if err := Ensure(name); err != nil {
		t.Fatalf("Ensure(%q): %v", name, err)
	}
	t.Cleanup(func() {
		if err := Delete(name); err != nil {
			t.Errorf("cleanup Delete(%q): %v", name, err)
		}
	})
	return name
}

// testFabric returns a Fabric in its own lbt namespace with lbt-prefixed
// link names; deleting that namespace removes every bridge and port.
func testFabric(t *testing.T, suffix string) *Fabric {
	t.Helper()
	f, err := NewFabric(FabricOptions{Namespace: testPrefix + suffix, BridgePrefix: "lbtb", PortPrefix: "lbtp"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.Teardown(); err != nil {
			t.Errorf("cleanup fabric: %v", err)
		}
	})
	return f
}

func threadNetnsInode(t *testing.T) string {
	t.Helper()
	s, err := os.Readlink("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

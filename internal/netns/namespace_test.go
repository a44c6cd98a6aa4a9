package netns

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

func TestValidateNameRefusesPathAndControlCharacters(t *testing.T) {
	for _, bad := range []string{"", ".", "..", "a/b", "a b", "a\nb", strings.Repeat("x", 256)} {
		if err := ValidateName(bad); err == nil {
			t.Errorf("ValidateName(%q) accepted", bad)
		}
	}
	long := "vrouter-0b8a3f4e-2c1d-4e5f-9a8b-7c6d5e4f3a2b:5d6e7f80-1a2b-4c3d-8e9f-0a1b2c3d4e5f"
	if err := ValidateName(long); err != nil {
		t.Errorf("agent-style name refused: %v", err)
	}
}

func TestLongColonNameWorksWithIPNetns(t *testing.T) {
	requireRoot(t)
	requireBinary(t, "ip")
	name := testNamespace(t, "vrouter-0b8a3f4e-2c1d-4e5f-9a8b-7c6d5e4f3a2b:5d6e7f80-1a2b-4c3d-8e9f-0a1b2c3d4e5f")
	if err := Ensure(name); err != nil {
		t.Fatalf("second Ensure: %v", err)
	}
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns list: %v: %s", err, out)
	}
	if !strings.Contains(string(out), name) {
		t.Fatalf("ip netns list does not show %q:\n%s", name, out)
	}
	// ip netns exec resolves the same bind mount we created.
	out, err = exec.Command("ip", "netns", "exec", name, "readlink", "/proc/self/ns/net").CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns exec: %v: %s", err, out)
	}
	ino, err := Inode(name)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(string(out)), fmt.Sprintf("net:[%d]", ino); got != want {
		t.Fatalf("ip netns exec ran in %s, want %s", got, want)
	}
	names, err := List(testPrefix + "vrouter-")
	if err != nil || len(names) != 1 || names[0] != name {
		t.Fatalf("List = %v, %v; want [%s]", names, err, name)
	}
}

func TestDeleteIsIdempotentAndExistsFollows(t *testing.T) {
	requireRoot(t)
	name := testNamespace(t, "del")
	if ok, err := Exists(name); err != nil || !ok {
		t.Fatalf("Exists after Ensure = %v, %v", ok, err)
	}
	for i := range 2 {
		if err := Delete(name); err != nil {
			t.Fatalf("Delete #%d: %v", i+1, err)
		}
	}
	if ok, err := Exists(name); err != nil || ok {
		t.Fatalf("Exists after Delete = %v, %v", ok, err)
	}
	if _, err := os.Stat(Path(name)); !os.IsNotExist(err) {
		t.Fatalf("mount point still present: %v", err)
	}
}

func TestEnsureRepairsFileLeftByCrashedCreation(t *testing.T) {
	requireRoot(t)
	name := testPrefix + "crash"
	t.Cleanup(func() { _ = Delete(name) })
	if err := os.MkdirAll(RunDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(Path(name), nil, 0o444); err != nil {
		t.Fatal(err)
	}
	if ok, _ := Exists(name); ok {
		t.Fatal("a plain file must not count as a namespace")
	}
	if err := Ensure(name); err != nil {
		t.Fatal(err)
	}
	if ok, err := Exists(name); err != nil || !ok {
		t.Fatalf("Exists after repair = %v, %v", ok, err)
	}
}

func TestDoRunsInNamespaceAndRestoresThread(t *testing.T) {
	requireRoot(t)
	name := testNamespace(t, "do")
	ino, err := Inode(name)
	if err != nil {
		t.Fatal(err)
	}
	// Lock so that "before" and "after" are read on the same thread Do uses.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before := threadNetnsInode(t)
	var inside string
	if err := Do(name, func() error { inside = threadNetnsInode(t); return nil }); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("net:[%d]", ino); inside != want {
		t.Fatalf("inside Do the thread is in %s, want %s", inside, want)
	}
	if after := threadNetnsInode(t); after != before {
		t.Fatalf("after Do the thread is in %s, want %s", after, before)
	}
}

func TestDoSwitchesBackWhenFnPanics(t *testing.T) {
	requireRoot(t)
	name := testNamespace(t, "panic")
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before := threadNetnsInode(t)
	func() {
		defer func() { _ = recover() }()
		_ = Do(name, func() error { panic("boom") })
	}()
	if after := threadNetnsInode(t); after != before {
		t.Fatalf("after a panicking Do the thread is in %s, want %s", after, before)
	}
}

func TestDoReportsMissingNamespace(t *testing.T) {
	requireRoot(t)
	called := false
	err := Do(testPrefix+"absent", func() error { called = true; return nil })
	if err == nil || called {
		t.Fatalf("Do on a missing namespace: err=%v called=%v", err, called)
	}
}

func TestSetSysctlRefusesNonNetworkKeys(t *testing.T) {
	for _, k := range []string{"kernel.panic", "net", "net..x", "net.ipv4/../../kernel"} {
		if err := SetSysctl("whatever", k, "1"); err == nil {
			t.Errorf("SetSysctl accepted %q", k)
		}
	}
}

func TestSetSysctlChangesOnlyTheNamespace(t *testing.T) {
	requireRoot(t)
	name := testNamespace(t, "sysctl")
	host, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	if err != nil {
		t.Fatal(err)
	}
	want := "1"
	if strings.TrimSpace(string(host)) == "1" {
		want = "0"
	}
	if err := SetSysctl(name, "net.ipv4.ip_forward", want); err != nil {
		t.Fatal(err)
	}
	if got, err := GetSysctl(name, "net.ipv4.ip_forward"); err != nil || got != want {
		t.Fatalf("namespace ip_forward = %q, %v; want %q", got, err, want)
	}
	after, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	if string(after) != string(host) {
		t.Fatalf("host ip_forward changed from %q to %q", host, after)
	}
}

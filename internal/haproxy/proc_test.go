package haproxy

import (
	"lbaas/internal/proc"

	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// A pid file pointing at a live process that is not our haproxy (here: the test
// itself, as after pid reuse) must be neither adopted nor signalled.
func TestStopNeverSignalsAPidThatIsNotOurHAProxy(t *testing.T) {
	dir := t.TempDir()
	paths := DefaultPaths(dir, poolID)
	if err := os.MkdirAll(filepath.Dir(paths.PidFile), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(paths.PidFile, []byte(fmt.Sprintf("%d\n", os.Getpid())), 0o600); err != nil {
		t.Fatal(err)
	}
	m := NewManager(Options{})
	if _, err := m.Adopt(context.Background(), paths); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("adopted a foreign pid: %v", err)
	}
	if err := m.Stop(context.Background(), paths); err != nil {
		t.Fatal(err)
	}
	// Still alive (we are running) and the stale pid file is gone.
	if _, err := os.Stat(paths.PidFile); !errors.Is(err, os.ErrNotExist) {
		t.Error("stale pid file kept")
	}
}

func TestCmdlineCheckWantsOurConfigAndPidFile(t *testing.T) {
	paths := DefaultPaths("/s", poolID)
	ok := []string{"/usr/sbin/haproxy", "-W", "-D", "-p", paths.PidFile, "-S", paths.MasterSocket + ",mode,600", "-f", paths.Config}
	if !proc.HasFlag(ok, "-f", paths.Config) || !proc.HasFlag(ok, "-p", paths.PidFile) {
		t.Error("own command line not recognised")
	}
	other := DefaultPaths("/s", "00000000-0000-4000-8000-000000000000")
	if proc.HasFlag(ok, "-f", other.Config) {
		t.Error("another instance's config matched")
	}
}

func TestStateFileRoundTripsAWholeLoadBalancerWithSlots(t *testing.T) {
	s := baseSpec()
	withSecondPool(&s)
	s.Listeners = append(s.Listeners, otherListener(&s, 443))
	s.lis(1).Protocol, s.lis(1).TLSCertFile, s.lis(1).DefaultPoolID = ProtocolTerminatedHTTPS, "/c.pem", pool2ID
	s.lis(1).TimeoutMemberConnect, s.lis(1).TimeoutTCPInspect = 1500*time.Millisecond, time.Second
	s.pool(0).Monitor = &Monitor{Type: MonitorHTTP, Delay: 2, Timeout: 1, Rise: 3, Fall: 2, ExpectedCodes: "200-204",
		HTTPVersion: "1.1", DomainName: "example.com"}
	s.pool(1).Members[0].Backup = true
	s.pool(1).Members[1].MonitorAddress, s.pool(1).Members[1].MonitorPort = netip.MustParseAddr("10.9.0.1"), 7
	s.pool(1).Persistence = Persistence{Type: PersistenceAppCookie, CookieName: "SID"}
	dir, err := os.MkdirTemp("", "lbt") // short: socket paths are limited to 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s.Paths = DefaultPaths(dir, lbID)
	if err := os.MkdirAll(filepath.Dir(s.Paths.StateFile()), 0o700); err != nil {
		t.Fatal(err)
	}
	b, err := marshalState(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeAtomic(s.Paths.StateFile(), b, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := LoadState(s.Paths)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Render(s)
	again, err := Render(got)
	if err != nil || string(want) != string(again) {
		t.Errorf("state does not render to the same config: %v", err)
	}
	if m := SlotMap(got.pool(0).Members); m[memA] != 1 || m[memB] != 2 {
		t.Errorf("slots %v", m)
	}
	if !reflect.DeepEqual(got, s) {
		t.Errorf("state read back differs:\n got %+v\nwant %+v", got, s)
	}
}

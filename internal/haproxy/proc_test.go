package haproxy

import (
	"lbaas/internal/proc"

	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
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

func TestStateFileRoundTripsTheSpecWithSlots(t *testing.T) {
	s := baseSpec()
	s.Monitor = &Monitor{Type: MonitorHTTP, Delay: 2, Timeout: 1, MaxRetries: 3, ExpectedCodes: "200-204"}
	dir, err := os.MkdirTemp("", "lbt") // short: socket paths are limited to 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s.Paths = DefaultPaths(dir, poolID)
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
	if m := SlotMap(got.Members); m[memA] != 1 || m[memB] != 2 {
		t.Errorf("slots %v", m)
	}
}

package proc

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestRunsRecognisesOnlyTheProcessItStarted(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "marker")
	// A shell that stays (it has work after sleep) and whose command line
	// names our file.
	cmd := exec.Command("sh", "-c", "sleep 30; true", "sh", "-f", marker)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	pid := cmd.Process.Pid
	if !Runs(pid, "sh", [2]string{"-f", marker}) {
		t.Fatal("our process is not recognised")
	}
	if Runs(pid, "sh", [2]string{"-f", marker + "x"}) || Runs(pid, "haproxy", [2]string{"-f", marker}) {
		t.Fatal("a process with another config or program is taken for ours")
	}
	if !Mentions(pid, dir) || Mentions(pid, "/nowhere") {
		t.Fatal("Mentions does not follow the command line")
	}
	var kids []int
	for i := 0; i < 100 && len(kids) == 0; i++ {
		kids = Children(pid)
		time.Sleep(10 * time.Millisecond)
	}
	if len(kids) != 1 {
		t.Fatalf("children of the shell: %v, want its sleep", kids)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if Alive(pid) || Runs(pid, "sh", [2]string{"-f", marker}) {
		t.Fatal("a dead process counts as running")
	}
}

func TestPidFileRejectsGarbage(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.pid")
	for _, content := range []string{"", "abc", "1", "-5"} {
		_ = os.WriteFile(p, []byte(content), 0o600)
		if _, err := ReadPidFile(p); err == nil {
			t.Errorf("pid file %q accepted", content)
		}
	}
	_ = os.WriteFile(p, []byte(" 1234\n"), 0o600)
	if pid, err := ReadPidFile(p); err != nil || pid != 1234 {
		t.Fatalf("got %d %v", pid, err)
	}
}

func TestWriteFileAtomicReplacesWithTheGivenMode(t *testing.T) {
	p := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(p, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	st, _ := os.Stat(p)
	if string(b) != "new" || st.Mode().Perm() != 0o600 {
		t.Fatalf("content %q mode %v", b, st.Mode().Perm())
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(p), ".*"))
	if len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

func TestSweepStopsOnlyTheProcessesNamingTheDirectoryEvenThoseIgnoringSIGTERM(t *testing.T) {
	dir := t.TempDir()
	start := func(script string, args ...string) *exec.Cmd {
		cmd := exec.Command("sh", append([]string{"-c", script}, args...)...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		go func() { _ = cmd.Wait() }()
		return cmd
	}
	polite := start("sleep 30; true", "x", dir+"/a.conf")
	stubborn := start(`trap "" TERM; while :; do sleep 1; done`, "x", dir+"/b.conf")
	other := start("sleep 30; true", "x", t.TempDir()+"/c.conf")
	// Their command lines are readable once exec has happened.
	deadline := time.Now().Add(5 * time.Second)
	for len(Mentioning(dir)) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	got := Sweep(dir, 300*time.Millisecond)
	// The stubborn shell forks a sleep every second: a child caught
	// between fork and exec still shows the shell's command line, and is
	// rightly swept too. The other directory's process never is.
	if !slices.Contains(got, polite.Process.Pid) || !slices.Contains(got, stubborn.Process.Pid) || slices.Contains(got, other.Process.Pid) {
		t.Fatalf("swept %v, want the two processes naming %s (%d, %d) and not %d", got, dir, polite.Process.Pid, stubborn.Process.Pid, other.Process.Pid)
	}
	for _, c := range []*exec.Cmd{polite, stubborn} {
		if Mentions(c.Process.Pid, dir) {
			t.Errorf("pid %d naming the directory survived the sweep", c.Process.Pid)
		}
	}
	if !Alive(other.Process.Pid) {
		t.Errorf("a process naming another directory was stopped")
	}
}

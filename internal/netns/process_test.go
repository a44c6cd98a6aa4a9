package netns

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestStartProcessRunsChildInNamespaceAndOwnSession(t *testing.T) {
	requireRoot(t)
	requireBinary(t, "sleep")
	name := testNamespace(t, "proc")
	cmd := exec.Command("sleep", "30")
	if err := StartProcess(name, cmd); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // by PID: only the process this test started
		_ = cmd.Wait()
	})
	ino, err := Inode(name)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("net:[%d]", ino); got != want {
		t.Fatalf("child is in %s, want %s", got, want)
	}
	sid, err := unix.Getsid(pid)
	if err != nil {
		t.Fatal(err)
	}
	if sid != pid {
		t.Fatalf("child session = %d, want its own (%d) so it outlives the agent", sid, pid)
	}
	if me, _ := os.Readlink("/proc/self/ns/net"); me == got {
		t.Fatal("the test process itself ended up in the namespace")
	}
}

func TestStartProcessKeepsCallerSessionWhenAsked(t *testing.T) {
	requireRoot(t)
	requireBinary(t, "sleep")
	name := testNamespace(t, "procsess")
	cmd := exec.Command("sleep", "30")
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	if err := StartProcess(name, cmd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sid, _ := unix.Getsid(cmd.Process.Pid)
	mine, _ := unix.Getsid(0)
	if sid != mine {
		t.Fatalf("child session = %d, want the caller's %d", sid, mine)
	}
}

func TestStartProcessRefusesPdeathsig(t *testing.T) {
	cmd := exec.Command("true")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := StartProcess("any", cmd); err == nil {
		_ = cmd.Wait()
		t.Fatal("Pdeathsig accepted although it fires when the forking thread exits")
	}
	if cmd.Process != nil {
		t.Fatal("process started despite the error")
	}
}

func TestStartProcessFailsForMissingNamespace(t *testing.T) {
	requireRoot(t)
	cmd := exec.Command("sleep", "1")
	start := time.Now()
	if err := StartProcess(testPrefix+"nope", cmd); err == nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatal("started a process in a namespace that does not exist")
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("failure took too long")
	}
}

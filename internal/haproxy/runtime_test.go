package haproxy

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeCLI is a unix-socket server answering one command per connection from a
// table, recording what it received.
type fakeCLI struct {
	path    string
	replies map[string]string
	mu      sync.Mutex
	got     []string
}

func startFakeCLI(t *testing.T, replies map[string]string) *fakeCLI {
	t.Helper()
	dir, err := os.MkdirTemp("", "lbt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	f := &fakeCLI{path: filepath.Join(dir, "cli.sock"), replies: replies}
	ln, err := net.Listen("unix", f.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				line, err := bufio.NewReader(c).ReadString('\n')
				if err != nil {
					return
				}
				line = strings.TrimSuffix(line, "\n")
				f.mu.Lock()
				f.got = append(f.got, line)
				f.mu.Unlock()
				reply, ok := f.replies[line]
				if !ok {
					reply = "Unknown command, but maybe one of the following ones is a better match:\n  help\n\n"
				}
				_, _ = c.Write([]byte(reply))
			}()
		}
	}()
	return f
}

func (f *fakeCLI) received() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.got...)
}

func TestApplySendsEveryCommandAndAcceptsHaproxySuccessReplies(t *testing.T) {
	cmds := []Command{
		{Op: OpAddr, Backend: "be", Server: "s003", Addr: netip.MustParseAddrPort("10.1.0.3:81")},
		{Op: OpAddr, Backend: "be", Server: "s004", Addr: netip.MustParseAddrPort("10.1.0.4:81")},
		{Op: OpWeight, Backend: "be", Server: "s003", Weight: 3},
		{Op: OpState, Backend: "be", Server: "s003", State: StateReady},
	}
	f := startFakeCLI(t, map[string]string{
		"set server be/s003 addr 10.1.0.3 port 81": "IP changed from '0.0.0.0' to '10.1.0.3', port changed from '1' to '81' by 'stats socket command'\n\n",
		"set server be/s004 addr 10.1.0.4 port 81": "no need to change the addr, no need to change the port by 'stats socket command'\n\n",
		"set weight be/s003 3":                     "\n",
		"set server be/s003 state ready":           "\n",
	})
	if err := (Client{Socket: f.path}).Apply(context.Background(), cmds); err != nil {
		t.Fatal(err)
	}
	if got := f.received(); len(got) != 4 {
		t.Errorf("server received %q", got)
	}
}

func TestApplyStopsAtTheFirstRefusedCommand(t *testing.T) {
	f := startFakeCLI(t, map[string]string{
		"set weight be/s001 3":           "\n",
		"set server be/s009 state ready": "No such server.\n\n",
	})
	err := (Client{Socket: f.path}).Apply(context.Background(), []Command{
		{Op: OpWeight, Backend: "be", Server: "s001", Weight: 3},
		{Op: OpState, Backend: "be", Server: "s009", State: StateReady},
		{Op: OpWeight, Backend: "be", Server: "s002", Weight: 3},
	})
	if err == nil || !strings.Contains(err.Error(), "No such server") {
		t.Fatalf("error %v does not carry HAProxy's message", err)
	}
	if got := f.received(); len(got) != 2 {
		t.Errorf("commands after the failure were sent: %q", got)
	}
}

func TestWeightOutOfRangeReplyIsAnError(t *testing.T) {
	f := startFakeCLI(t, map[string]string{
		"set weight be/s001 300": "Absolute weight can only be between 0 and 256 inclusive.\n\n",
	})
	err := (Client{Socket: f.path}).Apply(context.Background(), []Command{{Op: OpWeight, Backend: "be", Server: "s001", Weight: 300}})
	if err == nil {
		t.Fatal("refusal accepted")
	}
}

func TestExecRefusesToSmuggleASecondCommand(t *testing.T) {
	f := startFakeCLI(t, nil)
	for _, c := range []string{"show stat; disable frontend x", "show stat\nshutdown sessions"} {
		if _, err := (Client{Socket: f.path}).Exec(context.Background(), c); err == nil {
			t.Errorf("%q was sent", c)
		}
	}
	if got := f.received(); len(got) != 0 {
		t.Errorf("server received %q", got)
	}
}

func TestExecTimesOutOnASilentSocket(t *testing.T) {
	dir, err := os.MkdirTemp("", "lbt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ln, err := net.Listen("unix", filepath.Join(dir, "s"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err == nil {
			time.Sleep(2 * time.Second)
			c.Close()
		}
	}()
	start := time.Now()
	_, err = (Client{Socket: filepath.Join(dir, "s"), Timeout: 200 * time.Millisecond}).Exec(context.Background(), "show info")
	if err == nil || time.Since(start) > time.Second {
		t.Errorf("err=%v after %s", err, time.Since(start))
	}
}

func TestShowStatParsesCountersAndServerStates(t *testing.T) {
	raw, err := os.ReadFile("testdata/show_stat.csv")
	if err != nil {
		t.Fatal(err)
	}
	// One exchange: the worker's pid from "show info", then its counters.
	f := startFakeCLI(t, map[string]string{"show info;show stat": "Name: HAProxy\nVersion: 2.6.12\nPid: 4242\nUptime_sec: 7\n\n" + string(raw)})
	st, err := (Client{Socket: f.path}).ShowStat(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.PID != 4242 {
		t.Errorf("counters' worker %d, want 4242", st.PID)
	}
	if len(st.Frontends) != 1 || st.Frontends[0].Counters != (Counters{BytesIn: 12345, BytesOut: 67890, CurrentSessions: 3, TotalSessions: 42}) {
		t.Errorf("frontend %+v", st.Frontends)
	}
	if len(st.Backends) != 1 || st.Backends[0].TotalSessions != 9 || st.Backends[0].Status != "UP" {
		t.Errorf("backend %+v", st.Backends)
	}
	if fe, ok := st.Frontend("fe-x"); !ok || fe.RequestErrors != 2 || fe.TotalSessions != 42 {
		t.Errorf("Frontend(fe-x) = %+v, %v", fe, ok)
	}
	if be, ok := st.Backend("be-x"); !ok || be.ActiveServers != 1 || be.BackupServers != 1 || be.TotalSessions != 9 {
		t.Errorf("Backend(be-x) = %+v, %v", be, ok)
	}
	if _, ok := st.Backend("fe-x"); ok {
		t.Error("a frontend row found as a backend")
	}
	s1, _ := st.Server("be-x", "s001")
	if s1.Status != StatusDown || s1.CheckStatus != "L4CON" || s1.CheckDesc != "Layer4 connection problem" ||
		s1.LastCheck != "Connection refused" || s1.Addr != "127.0.0.3:81" || s1.Weight != 5 {
		t.Errorf("s001 %+v", s1)
	}
	s2, _ := st.Server("be-x", "s002")
	if s2.Status != StatusUp || s2.RawStatus != "UP 1/3" || s2.CheckStatus != "L7OK" || s2.TotalSessions != 7 || s2.BytesOut != 200 {
		t.Errorf("s002 %+v", s2)
	}
	if s3, _ := st.Server("be-x", "s003"); s3.Status != StatusMaint {
		t.Errorf("s003 %+v", s3)
	}
	if s4, _ := st.Server("be-x", "s004"); s4.Status != StatusNoCheck {
		t.Errorf("s004 %+v", s4)
	}
	if _, ok := st.Server("be-x", "s005"); ok {
		t.Error("found a server that is not there")
	}
}

func TestShowStatErrorReplyIsAnError(t *testing.T) {
	if _, err := ParseStat("Permission denied\n"); err == nil {
		t.Error("non-CSV reply parsed")
	}
}

func TestShowProcFindsMasterWorkersAndFailedReloads(t *testing.T) {
	text := "#<PID>          <type>          <reloads>       <uptime>        <version>      \n" +
		"5848            master          2 [failed: 1]   0d00h10m21s     2.6.12-1+deb12u4\n" +
		"# workers\n6333            worker          1               0d00h00m02s     2.6.12-1+deb12u4\n" +
		"# old workers\n5849            worker          2               0d00h10m21s     2.6.12-1+deb12u4\n" +
		"# programs\n\n"
	p, err := parseShowProc(text)
	if err != nil {
		t.Fatal(err)
	}
	if p.MasterPID != 5848 || p.Reloads != 2 || p.FailedReloads != 1 ||
		len(p.Workers) != 1 || p.Workers[0] != 6333 || len(p.OldWorkers) != 1 || p.OldWorkers[0] != 5849 {
		t.Errorf("got %+v", p)
	}
	if _, err := parseShowProc("Unknown command\n"); err == nil {
		t.Error("reply without master parsed")
	}
}

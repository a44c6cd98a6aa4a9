package haproxy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The PING monitor runs Monitor.PingCommand as an HAProxy external check; this
// records how HAProxy really invokes it, which is what the doc comment promises.
func TestRealHAProxyRunsThePingCommandWithServerAddressAndPort(t *testing.T) {
	a, b := startBackend(t, "A"), startBackend(t, "B")
	spec, mgr := realInstance(t, a.member(t, memA), b.member(t, memB))
	rec := t.TempDir()
	script := filepath.Join(rec, "ping")
	downPort := b.addrPort(t).Port()
	// A stand-in for the agent's ICMP prober: records argv and environment,
	// and reports member B unreachable.
	// Files are renamed into place so a reader never sees a half-written one.
	body := fmt.Sprintf("#!/bin/sh\n"+
		"d=%s; n=$HAPROXY_SERVER_NAME\n"+
		"printf '%%s\\n' \"$0\" \"$@\" > $d/.args-$n && /bin/mv $d/.args-$n $d/args-$n\n"+
		"/usr/bin/env > $d/.env-$n && /bin/mv $d/.env-$n $d/env-$n\n"+
		"[ \"$4\" != %d ]\n", rec, downPort)
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	spec.pool(0).Monitor = &Monitor{Type: MonitorPing, Delay: 1, Timeout: 1, Rise: 2, Fall: 1, PingCommand: script}
	if _, err := mgr.Apply(ctx(t), spec); err != nil {
		t.Fatal(err)
	}
	slots := SlotMap(spec.pool(0).Members)
	nameA, nameB := SlotName(slots[memA]), SlotName(slots[memB])
	cli := Client{Socket: spec.Paths.Socket}
	eventually(t, 10*time.Second, "B DOWN and A checked UP by the ping command", func() bool {
		st, err := cli.ShowStat(ctx(t))
		if err != nil {
			return false
		}
		sa, _ := st.Server(BackendName(poolID), nameA)
		sb, _ := st.Server(BackendName(poolID), nameB)
		return sb.Status == StatusDown && sa.Status == StatusUp && strings.HasPrefix(sa.CheckStatus, "PROCOK")
	})
	args, err := os.ReadFile(filepath.Join(rec, "args-"+nameA))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(args), "\n"), "\n")
	ap := a.addrPort(t)
	want := []string{script, "NOT_USED", "NOT_USED", ap.Addr().String(), fmt.Sprint(ap.Port())}
	if strings.Join(lines, " ") != strings.Join(want, " ") {
		t.Errorf("argv %q, want %q", lines, want)
	}
	env, _ := os.ReadFile(filepath.Join(rec, "env-"+nameA))
	for _, kv := range []string{"HAPROXY_SERVER_ADDR=" + ap.Addr().String(), "HAPROXY_SERVER_PORT=" + fmt.Sprint(ap.Port()),
		"HAPROXY_SERVER_NAME=" + nameA, "HAPROXY_PROXY_NAME=" + BackendName(poolID)} {
		if !strings.Contains(string(env), kv+"\n") {
			t.Errorf("environment lacks %s:\n%s", kv, env)
		}
	}
	t.Logf("ping command environment:\n%s", env)
}

package haproxy

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestRealHAProxyRoundRobinsAndChangesMembersWithoutReload(t *testing.T) {
	a, b, c := startBackend(t, "A"), startBackend(t, "B"), startBackend(t, "C")
	spec, _ := realInstance(t, a.member(t, memA), b.member(t, memB))
	var hookCalls atomic.Int32
	mgr := NewManager(Options{Start: func(cmd *exec.Cmd) error { hookCalls.Add(1); return cmd.Start() }})

	res, err := mgr.Apply(ctx(t), spec)
	if err != nil {
		t.Fatal(err)
	}
	if res.Action != ActionStarted || hookCalls.Load() != 1 {
		t.Fatalf("action %s, start hook called %d times", res.Action, hookCalls.Load())
	}
	if p := ppid(t, res.Process.MasterPID); p == os.Getpid() {
		t.Error("master is a child of the agent; it would not survive the agent exiting")
	}
	got := sequence(t, spec, 6)
	for i := 1; i < len(got); i++ {
		if got[i] == got[i-1] {
			t.Fatalf("round robin did not alternate: %v", got)
		}
	}

	// Remove A and add C: C takes A's freed slot through the runtime API.
	next := withMembers(spec, b.member(t, memB), c.member(t, memC))
	if next.pool(0).Slots != spec.pool(0).Slots {
		t.Fatalf("slot count changed %d -> %d", spec.pool(0).Slots, next.pool(0).Slots)
	}
	res2, err := mgr.Apply(ctx(t), next)
	if err != nil {
		t.Fatal(err)
	}
	if res2.Action != ActionRuntime || len(res2.Commands) == 0 {
		t.Fatalf("action %s (%s), commands %v", res2.Action, res2.Reason, res2.Commands)
	}
	if res2.Process.MasterPID != res.Process.MasterPID || !reflect.DeepEqual(res2.Process.Workers, res.Process.Workers) {
		t.Fatalf("processes changed: %+v -> %+v", res.Process, res2.Process)
	}
	aHits := a.hits.Load()
	n := count(sequence(t, next, 6))
	if n["C"] != 3 || n["B"] != 3 || a.hits.Load() != aHits {
		t.Errorf("after runtime change: %v, removed member got %d more", n, a.hits.Load()-aHits)
	}

	// Weights through the runtime API: 3:1 over two full rounds.
	weighted := next.clone()
	for i, m := range weighted.pool(0).Members {
		if m.ID == memC {
			weighted.pool(0).Members[i].Weight = 3
		}
	}
	res3, err := mgr.Apply(ctx(t), weighted)
	if err != nil {
		t.Fatal(err)
	}
	if res3.Action != ActionRuntime || res3.Process.MasterPID != res.Process.MasterPID ||
		!reflect.DeepEqual(res3.Process.Workers, res.Process.Workers) {
		t.Fatalf("weight change: %+v", res3)
	}
	if n := count(sequence(t, weighted, 8)); n["C"] != 6 || n["B"] != 2 {
		t.Errorf("weights 3:1 gave %v", n)
	}

	// The applied spec is recorded and the config on disk matches it.
	st, err := LoadState(spec.Paths)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(SlotMap(st.pool(0).Members), SlotMap(weighted.pool(0).Members)) {
		t.Errorf("recorded slots %v, want %v", SlotMap(st.pool(0).Members), SlotMap(weighted.pool(0).Members))
	}
	onDisk, _ := os.ReadFile(spec.Paths.Config)
	want, _ := Render(weighted)
	if !bytes.Equal(onDisk, want) {
		t.Error("config on disk does not describe the runtime state")
	}
	stats, err := Client{Socket: spec.Paths.Socket}.ShowStat(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	slotC := SlotMap(weighted.pool(0).Members)[memC]
	sv, ok := stats.Server(BackendName(poolID), SlotName(slotC))
	if !ok || sv.Addr != c.addrPort(t).String() || sv.Weight != 3 || sv.TotalSessions == 0 {
		t.Errorf("slot of C in show stat: %+v", sv)
	}
}

func TestRealHAProxyStructuralChangeReloadsWithoutFailedRequests(t *testing.T) {
	a, b := startBackend(t, "A"), startBackend(t, "B")
	spec, mgr := realInstance(t, a.member(t, memA), b.member(t, memB))
	first, err := mgr.Apply(ctx(t), spec)
	if err != nil {
		t.Fatal(err)
	}

	var ok, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := httpClient(nil)
			deadline := time.Now().Add(20 * time.Second)
			for i := 0; i < 5000 && time.Now().Before(deadline); i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, _, err := get(c, vipURL(spec)); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				} else {
					ok.Add(1)
				}
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	changed := spec.clone()
	changed.pool(0).Method = MethodLeastConnections
	r1, err := mgr.Apply(ctx(t), changed)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	changed2 := changed.clone()
	changed2.lis(0).ConnLimit = 500
	r2, err := mgr.Apply(ctx(t), changed2)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()

	t.Logf("%d requests ok, %d failed across two reloads", ok.Load(), failed.Load())
	if r1.Action != ActionReloaded || r2.Action != ActionReloaded {
		t.Fatalf("actions %s, %s", r1.Action, r2.Action)
	}
	if r2.Process.MasterPID != first.Process.MasterPID || reflect.DeepEqual(r2.Process.Workers, first.Process.Workers) {
		t.Errorf("want same master, new worker: %+v -> %+v", first.Process, r2.Process)
	}
	// The counters name the worker that counted them: the new one, whose
	// counters started from zero.
	st, err := Client{Socket: spec.Paths.Socket}.ShowStat(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(r2.Process.Workers, st.PID) || slices.Contains(first.Process.Workers, st.PID) {
		t.Errorf("counters of worker %d, want the new worker of %v (the first was %v)", st.PID, r2.Process.Workers, first.Process.Workers)
	}
	if failed.Load() != 0 || ok.Load() < 20 {
		t.Errorf("%d ok, %d failed during reloads (first: %v)", ok.Load(), failed.Load(), firstErr.Load())
	}
	if last, _ := os.ReadFile(spec.Paths.LastGoodConfig()); !strings.Contains(string(last), "balance leastconn") {
		t.Error("previous config not kept as last-good")
	}
}

// applyRefused runs one member's instance, applies change on top of it,
// which HAProxy must refuse with an error containing want, and checks that
// the live file is the old one and the old worker still serves.
func applyRefused(t *testing.T, change func(*Spec), want string) (Spec, *Manager, Result) {
	t.Helper()
	a := startBackend(t, "A")
	spec, mgr := realInstance(t, a.member(t, memA))
	first, err := mgr.Apply(ctx(t), spec)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(spec.Paths.Config)
	bad := spec.clone()
	change(&bad)
	_, err = mgr.Apply(ctx(t), bad)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("want an error containing %q, got %v", want, err)
	}
	t.Logf("refused with: %v", err)
	if after, _ := os.ReadFile(spec.Paths.Config); !bytes.Equal(before, after) {
		t.Error("live config is not the previous one after the refusal")
	}
	if got := sequence(t, spec, 2); got[0] != "A" {
		t.Errorf("old worker not serving after the refusal: %v", got)
	}
	return spec, mgr, first
}

func TestRealHAProxyRefusesAnInvalidConfigAndKeepsServing(t *testing.T) {
	spec, mgr, first := applyRefused(t, func(s *Spec) {
		s.lis(0).Protocol = ProtocolTerminatedHTTPS
		s.lis(0).TLSCertFile = filepath.Join(s.Paths.Dir, "missing.pem")
	}, "missing.pem")
	if _, err := os.Stat(spec.Paths.Config + ".new"); !errors.Is(err, os.ErrNotExist) {
		t.Error("candidate config left behind")
	}
	p, err := mgr.Adopt(ctx(t), spec.Paths)
	if err != nil || p.MasterPID != first.Process.MasterPID || !reflect.DeepEqual(p.Workers, first.Process.Workers) {
		t.Errorf("process changed: %+v %v", p, err)
	}
}

func TestRealHAProxyIsAdoptedByAFreshManagerAndStops(t *testing.T) {
	a := startBackend(t, "A")
	spec, mgr := realInstance(t, a.member(t, memA))
	first, err := mgr.Apply(ctx(t), spec)
	if err != nil {
		t.Fatal(err)
	}

	fresh := NewManager(Options{Start: func(*exec.Cmd) error { return errors.New("must not start") }})
	p, err := fresh.Adopt(ctx(t), spec.Paths)
	if err != nil || p.MasterPID != first.Process.MasterPID {
		t.Fatalf("adopt: %+v, %v", p, err)
	}
	res, err := fresh.Apply(ctx(t), spec)
	if err != nil || res.Action != ActionNone {
		t.Fatalf("re-apply after adopt: %+v, %v", res, err)
	}

	if err := fresh.Stop(ctx(t), spec.Paths); err != nil {
		t.Fatal(err)
	}
	if alive(first.Process.MasterPID) {
		t.Error("master still alive")
	}
	for _, w := range first.Process.Workers {
		if alive(w) && isOurs(w, spec.Paths) {
			t.Errorf("worker %d still alive", w)
		}
	}
	for _, f := range []string{spec.Paths.PidFile, spec.Paths.Socket, spec.Paths.MasterSocket} {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind", f)
		}
	}
	if _, _, err := get(httpClient(nil), vipURL(spec)); err == nil {
		t.Error("VIP still answers after stop")
	}
	if _, err := fresh.Adopt(ctx(t), spec.Paths); !errors.Is(err, ErrNotRunning) {
		t.Errorf("adopt after stop: %v", err)
	}
}

func TestRealHAProxyHTTPMonitorMarksAStoppedMemberDown(t *testing.T) {
	a, b := startBackend(t, "A"), startBackend(t, "B")
	spec, mgr := realInstance(t, a.member(t, memA), b.member(t, memB))
	spec.pool(0).Monitor = &Monitor{Type: MonitorHTTP, Delay: 1, Timeout: 1, Rise: 2, Fall: 1, HTTPMethod: "GET", URLPath: "/health", ExpectedCodes: "200-204"}
	if _, err := mgr.Apply(ctx(t), spec); err != nil {
		t.Fatal(err)
	}
	status := func(slot int) ServerStats { return serverStats(t, spec, slot) }
	slots := SlotMap(spec.pool(0).Members)
	eventually(t, 10*time.Second, "both members UP by L7 check", func() bool {
		return status(slots[memA]).CheckStatus == "L7OK" && status(slots[memB]).CheckStatus == "L7OK"
	})
	b.srv.Close()
	eventually(t, 10*time.Second, "stopped member DOWN", func() bool { return status(slots[memB]).Status == StatusDown })
	if sv := status(slots[memA]); sv.Status != StatusUp {
		t.Errorf("healthy member %+v", sv)
	}
	if sv := status(slots[memB]); sv.CheckStatus != "L4CON" || sv.CheckDesc == "" {
		t.Errorf("down member check detail %+v", sv)
	}
	if n := count(sequence(t, spec, 4)); n["A"] != 4 {
		t.Errorf("traffic went to a DOWN member: %v", n)
	}
	if sv := status(3); sv.Status != StatusMaint {
		t.Errorf("empty slot %+v", sv)
	}
}

func TestRealHAProxyTerminatesTLSWithTheGivenCertificate(t *testing.T) {
	a := startBackend(t, "A")
	spec, mgr := realInstance(t, a.member(t, memA))
	cert := filepath.Join(spec.Paths.Dir, "vip.pem")
	if err := os.MkdirAll(spec.Paths.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	roots := writeSelfSigned(t, cert, []net.IP{net.ParseIP("127.0.0.1")})
	spec.lis(0).Protocol = ProtocolTerminatedHTTPS
	spec.lis(0).TLSCertFile = cert
	if _, err := mgr.Apply(ctx(t), spec); err != nil {
		t.Fatal(err)
	}
	url := strings.Replace(vipURL(spec), "http:", "https:", 1)
	body, hdr, err := get(httpClient(roots), url)
	if err != nil {
		t.Fatal(err)
	}
	if body != "A" || hdr.Get("X-Seen-Proto") != "https" || hdr.Get("X-Seen-For") != "127.0.0.1" {
		t.Errorf("body %q, member saw proto %q for %q", body, hdr.Get("X-Seen-Proto"), hdr.Get("X-Seen-For"))
	}
	// A client that does not trust the certificate must fail: TLS is really on.
	if _, _, err := get(httpClient(x509NewPool()), url); err == nil {
		t.Error("untrusting client succeeded")
	}
	if _, _, err := get(&http.Client{Timeout: 3 * time.Second}, vipURL(spec)); err == nil {
		t.Error("plain HTTP accepted on the TLS VIP")
	}
}

// A configuration that passes "haproxy -c" can still fail when the new worker
// starts (here: binding an address the host does not have). The old worker
// keeps serving and the previous files are put back.
func TestRealHAProxyFailedReloadKeepsOldWorkerAndRestoresConfig(t *testing.T) {
	spec, mgr, first := applyRefused(t, func(s *Spec) {
		s.lis(0).Address = netipMust("192.0.2.1") // TEST-NET-1, never local
	}, "reload failed")
	res, err := mgr.Apply(ctx(t), spec)
	if err != nil || res.Action != ActionNone || res.Process.MasterPID != first.Process.MasterPID {
		t.Errorf("re-applying the good spec: %+v, %v", res, err)
	}
	// The master accepts a further, valid, reload after the failed one.
	next := spec.clone()
	next.pool(0).Method = MethodSourceIP
	if res, err := mgr.Apply(ctx(t), next); err != nil || res.Action != ActionReloaded {
		t.Errorf("reload after failure: %+v, %v", res, err)
	}
	if got := sequence(t, next, 1); got[0] != "A" {
		t.Errorf("not serving after recovery reload: %v", got)
	}
}

// A structural reload starts a new worker whose servers would all begin UP;
// a member known to be dead must stay DOWN through it, or the first requests
// after, say, a monitor-independent change go to it and its status flaps.
func TestRealHAProxyKeepsADownMemberDownAcrossAStructuralReload(t *testing.T) {
	a, b := startBackend(t, "A"), startBackend(t, "B")
	spec, mgr := realInstance(t, a.member(t, memA), b.member(t, memB))
	// A long interval: after the reload, no new check can decide in time.
	spec.pool(0).Monitor = &Monitor{Type: MonitorHTTP, Delay: 2, Timeout: 1, Rise: 2, Fall: 1, HTTPMethod: "GET", URLPath: "/", ExpectedCodes: "200"}
	if _, err := mgr.Apply(ctx(t), spec); err != nil {
		t.Fatal(err)
	}
	slots := SlotMap(spec.pool(0).Members)
	status := func(slot int) ServerStatus { return serverStats(t, spec, slot).Status }
	b.srv.Close()
	eventually(t, 10*time.Second, "stopped member DOWN", func() bool { return status(slots[memB]) == StatusDown })

	spec.pool(0).Method = MethodLeastConnections
	res, err := mgr.Apply(ctx(t), spec)
	if err != nil || res.Action != ActionReloaded {
		t.Fatalf("apply: %+v %v", res, err)
	}
	if s := status(slots[memB]); s != StatusDown {
		t.Fatalf("dead member is %s right after the reload", s)
	}
	if s := status(slots[memA]); s != StatusUp {
		t.Fatalf("live member is %s right after the reload", s)
	}
	if n := count(sequence(t, spec, 4)); n["A"] != 4 {
		t.Errorf("traffic went to the dead member after the reload: %v", n)
	}
	// Slower probes ask the same question: the verdict stands.
	mon := *spec.pool(0).Monitor
	mon.Delay, mon.Fall, mon.Rise = 3, 2, 3
	spec.pool(0).Monitor = &mon
	if res, err := mgr.Apply(ctx(t), spec); err != nil || res.Action != ActionReloaded {
		t.Fatalf("apply: %+v %v", res, err)
	}
	if s := status(slots[memB]); s != StatusDown {
		t.Fatalf("dead member is %s right after the monitor's delay changed", s)
	}

	// A member that changes address in the same reload is a new server: it
	// does not inherit the DOWN state of the address it replaces.
	c := startBackend(t, "C")
	cm := c.member(t, memB)
	spec.pool(0).Method = MethodRoundRobin
	for i, m := range spec.pool(0).Members {
		if m.ID == memB {
			spec.pool(0).Members[i].Address, spec.pool(0).Members[i].Port = cm.Address, cm.Port
		}
	}
	if res, err := mgr.Apply(ctx(t), spec); err != nil || res.Action != ActionReloaded {
		t.Fatalf("apply: %+v %v", res, err)
	}
	if s := status(slots[memB]); s != StatusUp {
		t.Fatalf("member at a new address is %s right after the reload, want UP", s)
	}
}

func TestRealHAProxyRunsWithoutListenersAndServesTheFirstOneAdded(t *testing.T) {
	a := startBackend(t, "A")
	spec, mgr := realInstance(t, a.member(t, memA))
	empty := spec
	empty.Listeners, empty.Pools = nil, nil
	if _, err := mgr.Apply(ctx(t), empty); err != nil {
		t.Fatalf("a load balancer without listeners: %v", err)
	}
	if _, _, err := get(httpClient(nil), vipURL(spec)); err == nil {
		t.Fatal("something answers on the listener's port before the listener exists")
	}
	res, err := mgr.Apply(ctx(t), spec)
	if err != nil {
		t.Fatal(err)
	}
	if res.Action != ActionReloaded {
		t.Fatalf("the first listener was applied by %s, want a reload of the running process", res.Action)
	}
	if got := sequence(t, spec, 2); got[0] != "A" || got[1] != "A" {
		t.Fatalf("answers through the new listener: %v", got)
	}
}

package haproxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"testing"
	"time"
)

// requestsTo does n sequential requests to a port of 127.0.0.1 and returns the
// answering backends.
func requestsTo(t *testing.T, port, n int) []string {
	t.Helper()
	c := httpClient(nil)
	var out []string
	for i := 0; i < n; i++ {
		body, _, err := get(c, fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err != nil {
			t.Fatalf("request %d to port %d: %v", i, port, err)
		}
		out = append(out, body)
	}
	return out
}

func TestTwoListenersOnOneAddressAreServedByOneProcess(t *testing.T) {
	a, b, c, d := startBackend(t, "A"), startBackend(t, "B"), startBackend(t, "C"), startBackend(t, "D")
	spec, mgr := realInstance(t, a.member(t, memA), b.member(t, memB))
	spec.addPool2(c.member(t, memC))
	spec.Listeners = append(spec.Listeners, Listener{ID: lisB, Address: spec.lis(0).Address, Port: freePort(t),
		Protocol: ProtocolHTTP, ConnLimit: -1, AdminUp: true, DefaultPoolID: pool2ID})
	portA, portB := spec.lis(0).Port, spec.lis(1).Port

	first, err := mgr.Apply(ctx(t), spec)
	if err != nil {
		t.Fatal(err)
	}
	if first.Action != ActionStarted || len(first.Process.Workers) != 1 {
		t.Fatalf("want one started master with one worker: %+v", first)
	}
	if n := count(requestsTo(t, portA, 4)); n["A"] != 2 || n["B"] != 2 {
		t.Errorf("listener A reached %v, want its pool's A and B", n)
	}
	if n := count(requestsTo(t, portB, 3)); n["C"] != 3 {
		t.Errorf("listener B reached %v, want only its pool's C", n)
	}

	// A member added to the second pool reaches that backend alone, at runtime.
	next := spec.clone()
	p := next.pool(1)
	p.Members, p.Slots = AssignSlots(SlotMap(p.Members), []Member{c.member(t, memC), d.member(t, memD)}, p.Slots)
	res, err := mgr.Apply(ctx(t), next)
	if err != nil {
		t.Fatal(err)
	}
	if res.Action != ActionRuntime || !reflect.DeepEqual(res.Process, first.Process) {
		t.Fatalf("member add: %+v", res)
	}
	for _, cmd := range res.Commands {
		if cmd.Backend != BackendName(pool2ID) {
			t.Errorf("command for another backend: %s", cmd)
		}
	}
	if n := count(requestsTo(t, portB, 4)); n["C"] != 2 || n["D"] != 2 {
		t.Errorf("listener B after the add reached %v", n)
	}
	if n := count(requestsTo(t, portA, 2)); n["A"]+n["B"] != 2 {
		t.Errorf("listener A after the add reached %v", n)
	}

	// Counters per listener and per pool.
	st, err := Client{Socket: spec.Paths.Socket}.ShowStat(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	fa, okA := st.Frontend(FrontendName(lisA))
	fb, okB := st.Frontend(FrontendName(lisB))
	b2, okP := st.Backend(BackendName(pool2ID))
	if !okA || !okB || !okP || fa.Status != "OPEN" || fa.TotalSessions != 6 || fb.TotalSessions != 7 ||
		b2.TotalSessions != 7 || b2.ActiveServers != 2 {
		t.Errorf("stats: fe A %+v, fe B %+v, be 2 %+v", fa, fb, b2)
	}
	// The HTTP counters that /metrics exposes: every request answered 200.
	if fa.Requests != 6 || fa.Resp2xx != 6 || fb.Requests != 7 || b2.Resp2xx != 7 || fa.Resp5xx != 0 {
		t.Errorf("HTTP counters: fe A %+v, fe B %+v, be 2 %+v", fa.Counters, fb.Counters, b2.Counters)
	}
}

// A reload re-reads every backend; member verdicts carry over in each of them.
func TestDownMembersOfTwoPoolsStayDownAcrossAReloadThatAddsAListener(t *testing.T) {
	a, b, c, d := startBackend(t, "A"), startBackend(t, "B"), startBackend(t, "C"), startBackend(t, "D")
	spec, mgr := realInstance(t, a.member(t, memA), b.member(t, memB))
	mon := &Monitor{Type: MonitorHTTP, Delay: 2, Timeout: 1, Rise: 2, Fall: 1}
	spec.pool(0).Monitor = mon
	spec.addPool2(c.member(t, memC), d.member(t, memD)).Monitor = mon
	spec.Listeners = append(spec.Listeners, Listener{ID: lisB, Address: spec.lis(0).Address, Port: freePort(t),
		Protocol: ProtocolHTTP, ConnLimit: -1, AdminUp: true, DefaultPoolID: pool2ID})
	if _, err := mgr.Apply(ctx(t), spec); err != nil {
		t.Fatal(err)
	}
	status := func(pool, slot int) ServerStatus {
		st, err := Client{Socket: spec.Paths.Socket}.ShowStat(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		sv, _ := st.Server(BackendName(spec.Pools[pool].ID), SlotName(slot))
		return sv.Status
	}
	slotB, slotD := SlotMap(spec.pool(0).Members)[memB], SlotMap(spec.pool(1).Members)[memD]
	b.srv.Close()
	d.srv.Close()
	eventually(t, 10*time.Second, "B and D DOWN", func() bool {
		return status(0, slotB) == StatusDown && status(1, slotD) == StatusDown
	})

	next := spec.clone()
	next.Listeners = append(next.Listeners, Listener{ID: "cccccccc-0000-4000-8000-00000000000c", Address: spec.lis(0).Address,
		Port: freePort(t), Protocol: ProtocolHTTP, ConnLimit: -1, AdminUp: true, DefaultPoolID: pool2ID})
	res, err := mgr.Apply(ctx(t), next)
	if err != nil || res.Action != ActionReloaded {
		t.Fatalf("apply: %+v %v", res, err)
	}
	if s0, s1 := status(0, slotB), status(1, slotD); s0 != StatusDown || s1 != StatusDown {
		t.Fatalf("right after the reload B is %s and D is %s, want both DOWN", s0, s1)
	}
	if n := count(requestsTo(t, next.lis(2).Port, 3)); n["C"] != 3 {
		t.Errorf("the new listener reached %v, want only the live C", n)
	}
}

func TestBackupMemberGetsTrafficOnlyWhenTheOthersAreDown(t *testing.T) {
	a, b := startBackend(t, "A"), startBackend(t, "B")
	backup := b.member(t, memB)
	backup.Backup = true
	spec, mgr := realInstance(t, a.member(t, memA), backup)
	spec.pool(0).Monitor = &Monitor{Type: MonitorHTTP, Delay: 1, Timeout: 1, Rise: 2, Fall: 1}
	if _, err := mgr.Apply(ctx(t), spec); err != nil {
		t.Fatal(err)
	}
	if n := count(sequence(t, spec, 6)); n["A"] != 6 {
		t.Fatalf("with A up the backup got traffic: %v", n)
	}
	a.srv.Close()
	eventually(t, 10*time.Second, "A DOWN", func() bool {
		return serverStats(t, spec, SlotMap(spec.pool(0).Members)[memA]).Status == StatusDown
	})
	if n := count(sequence(t, spec, 4)); n["B"] != 4 {
		t.Errorf("with A down the backup did not take the traffic: %v", n)
	}
	st, _ := Client{Socket: spec.Paths.Socket}.ShowStat(ctx(t))
	if be, _ := st.Backend(BackendName(poolID)); be.ActiveServers != 0 || be.BackupServers != 1 {
		t.Errorf("backend row %+v, want 0 active and 1 backup server", be)
	}
}

func TestListenerWithoutDefaultPoolAnswers503OrClosesTheConnection(t *testing.T) {
	spec, mgr := realInstance(t)
	spec.lis(0).DefaultPoolID = ""
	spec.Pools = nil
	spec.Listeners = append(spec.Listeners, Listener{ID: lisB, Address: spec.lis(0).Address, Port: freePort(t),
		Protocol: ProtocolTCP, ConnLimit: -1, AdminUp: true})
	if _, err := mgr.Apply(ctx(t), spec); err != nil {
		t.Fatal(err)
	}
	resp, err := httpClient(nil).Get(vipURL(spec))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("http listener without pool answered %d, want 503", resp.StatusCode)
	}
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", spec.lis(1).Port), 3*time.Second)
	if err != nil {
		t.Fatal(err) // the listener itself must accept
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
	fmt.Fprint(conn, "hello\r\n")
	n, err := conn.Read(make([]byte, 64))
	if n != 0 || err == nil || isTimeout(err) {
		t.Errorf("tcp listener without pool: read %d bytes, %v; want the connection closed", n, err)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// fromPort does one HTTP/1.0 request through a TCP listener from a fixed
// local port and returns the answering backend. The socket closes with a
// reset (linger 0), so the port is free again at once, without TIME_WAIT.
func fromPort(t *testing.T, listen, local int) string {
	t.Helper()
	dl := net.Dialer{Timeout: 3 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: local}}
	conn, err := dl.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", listen))
	if err != nil {
		t.Fatalf("dial from port %d: %v", local, err)
	}
	defer conn.Close()
	_ = conn.(*net.TCPConn).SetLinger(0)
	_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
	fmt.Fprint(conn, "GET / HTTP/1.0\r\nHost: lbt\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("from port %d: %v", local, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

func TestSourceIPPortSpreadsOneClientAddressByPortAndKeepsEachPortOnItsMember(t *testing.T) {
	a, b := startBackend(t, "A"), startBackend(t, "B")
	spec, mgr := realInstance(t, a.member(t, memA), b.member(t, memB))
	spec.lis(0).Protocol, spec.pool(0).Protocol = ProtocolTCP, ProtocolTCP
	spec.pool(0).Method = MethodSourceIPPort
	if _, err := mgr.Apply(ctx(t), spec); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for i := 0; i < 16; i++ {
		local := freePort(t)
		first := fromPort(t, spec.lis(0).Port, local)
		for j := 0; j < 2; j++ {
			if again := fromPort(t, spec.lis(0).Port, local); again != first {
				t.Fatalf("port %d went to %s, then to %s", local, first, again)
			}
		}
		seen[first]++
	}
	t.Logf("16 source ports of 127.0.0.1 went to %v", seen)
	if seen["A"] == 0 || seen["B"] == 0 {
		t.Errorf("16 source ports of one address all went to one member: %v", seen)
	}

	// The same client ports under SOURCE_IP stick to one member: the port
	// is what spread them.
	byIP := spec.clone()
	byIP.pool(0).Method = MethodSourceIP
	if _, err := mgr.Apply(ctx(t), byIP); err != nil {
		t.Fatal(err)
	}
	seen = map[string]int{}
	for i := 0; i < 8; i++ {
		seen[fromPort(t, spec.lis(0).Port, freePort(t))]++
	}
	if len(seen) != 1 {
		t.Errorf("SOURCE_IP spread one address over %v", seen)
	}
}

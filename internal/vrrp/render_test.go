package vrrp

import (
	"bytes"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"lbaas/internal/haproxy"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

const (
	vmA  = "0b8a3f4e-2c1d-4e5f-9a8b-7c6d5e4f3a2b"
	vmB  = "7d1e2f30-4a5b-4c6d-8e7f-901a2b3c4d5e"
	siID = "5d6e7f80-1a2b-4c3d-8e9f-0a1b2c3d4e5f"
)

func baseConfig(t *testing.T) Config {
	t.Helper()
	name, err := InstanceName(vmA, siID)
	if err != nil {
		t.Fatal(err)
	}
	vrid, err := VirtualRouterID(siID)
	if err != nil {
		t.Fatal(err)
	}
	return Config{
		InstanceName:    name,
		Interface:       "vip0",
		VirtualRouterID: vrid,
		Priority:        PriorityActive,
		UnicastSrc:      netip.MustParseAddr("20.1.1.254"),
		UnicastPeers:    []netip.Addr{netip.MustParseAddr("20.1.1.253")},
		VIP:             netip.MustParsePrefix("20.1.1.2/24"),
		NotifyScript:    "/var/lib/lbaas/loadbalancer/p1/keepalived/notify.sh",
		NotifyFIFO:      "/var/lib/lbaas/loadbalancer/p1/keepalived/notify.fifo",
	}
}

func TestRenderMatchesGoldenFiles(t *testing.T) {
	hp := haproxy.DefaultPaths("/var/lib/lbaas", "8f0e1d2c-3b4a-4596-8877-665544332211")
	cases := map[string]func(*Config){
		"minimal": func(*Config) {},
		"tracked": func(c *Config) {
			c.TrackProcess = HAProxyProcess("/usr/sbin/haproxy", hp)
			c.TrackFile = "/var/lib/lbaas/loadbalancer/p1/keepalived/health"
			c.AdvertInterval = time.Second
			c.GARP = GARP{Repeat: 5, SecondSetDelay: 2 * time.Second, Refresh: 60 * time.Second}
		},
		// A network node's router: it advertises from a link-local
		// address and moves gateways and floating IPs on several
		// interfaces.
		"router": func(c *Config) {
			c.InstanceName, c.Interface, c.VirtualRouterID, c.Priority = "router-network-1", "ext0", 1, 254
			c.Link = netip.MustParsePrefix("169.254.0.0/16")
			c.UnicastSrc, c.UnicastPeers = netip.MustParseAddr("169.254.1.1"), []netip.Addr{netip.MustParseAddr("169.254.1.2")}
			c.VIP = netip.MustParsePrefix("172.24.4.1/24")
			c.ExtraVIPs = []Address{
				{Prefix: netip.MustParsePrefix("172.24.4.10/32"), Interface: "ext0"},
				{Prefix: netip.MustParsePrefix("10.1.0.1/24"), Interface: "rt1a2b3c4d"},
			}
			c.AdvertInterval = 100 * time.Millisecond
		},
		"standby": func(c *Config) {
			c.Priority = PriorityStandby
			c.UnicastSrc, c.UnicastPeers[0] = c.UnicastPeers[0], c.UnicastSrc
			c.AdvertInterval = 30 * time.Millisecond
		},
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			c := baseConfig(t)
			mutate(&c)
			got, err := Render(c)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := Render(c)
			if !bytes.Equal(got, again) {
				t.Fatal("two renders of one Config differ")
			}
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("render differs from %s:\n%s", golden, got)
			}
		})
	}
}

func TestRenderedConfigHasNoPasswordAndStartsAsNonPreemptingBackup(t *testing.T) {
	out, err := Render(baseConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, bad := range []string{"auth_pass", "authentication", "state MASTER", "vrrp_strict", "preempt_delay"} {
		if strings.Contains(s, bad) {
			t.Errorf("rendered config contains %q", bad)
		}
	}
	for _, want := range []string{"state BACKUP", "nopreempt", "vrrp_version 3", "advert_int 0.03", "vrrp_garp_master_delay 0", "vrrp_no_swap"} {
		if !strings.Contains(s, want) {
			t.Errorf("rendered config lacks %q", want)
		}
	}
}

func TestConfigValuesThatCouldChangeKeepalivedGrammarAreRejected(t *testing.T) {
	cases := map[string]func(*Config){
		"instance name with brace":   func(c *Config) { c.InstanceName = "x}\nvrrp_instance y {" },
		"instance name with space":   func(c *Config) { c.InstanceName = "a b" },
		"interface with hash":        func(c *Config) { c.Interface = "vip#0" },
		"interface too long":         func(c *Config) { c.Interface = "a23456789012345x" },
		"notify script with newline": func(c *Config) { c.NotifyScript = "/x\nnotify_master /bin/evil" },
		"notify script relative":     func(c *Config) { c.NotifyScript = "notify.sh" },
		"notify script with quote":   func(c *Config) { c.NotifyScript = "/x/\"a" },
		"track file with dollar":     func(c *Config) { c.TrackFile = "/x/$HOME" },
		"tracked arg with comment": func(c *Config) {
			c.TrackProcess = &ProcessMatch{Path: "/usr/sbin/haproxy", Args: []string{"-f", "/a#b"}}
		},
		"tracked arg with bang":         func(c *Config) { c.TrackProcess = &ProcessMatch{Path: "/usr/sbin/haproxy", Args: []string{"!x"}} },
		"tracked arg empty":             func(c *Config) { c.TrackProcess = &ProcessMatch{Path: "/usr/sbin/haproxy", Args: []string{""}} },
		"tracked path unclean":          func(c *Config) { c.TrackProcess = &ProcessMatch{Path: "/usr/../sbin/haproxy"} },
		"VRID zero":                     func(c *Config) { c.VirtualRouterID = 0 },
		"address owner priority":        func(c *Config) { c.Priority = 255 },
		"priority zero":                 func(c *Config) { c.Priority = 0 },
		"no peers":                      func(c *Config) { c.UnicastPeers = nil },
		"peer equals source":            func(c *Config) { c.UnicastPeers = []netip.Addr{c.UnicastSrc} },
		"peer is the VIP":               func(c *Config) { c.UnicastPeers = []netip.Addr{c.VIP.Addr()} },
		"peer outside network":          func(c *Config) { c.UnicastPeers = []netip.Addr{netip.MustParseAddr("20.1.2.1")} },
		"IPv6 VIP":                      func(c *Config) { c.VIP = netip.MustParsePrefix("fd00::2/64") },
		"VIP without length":            func(c *Config) { c.VIP = netip.Prefix{} },
		"zero source":                   func(c *Config) { c.UnicastSrc = netip.Addr{} },
		"advert not in centiseconds":    func(c *Config) { c.AdvertInterval = 55 * time.Millisecond },
		"advert beyond VRRPv3 field":    func(c *Config) { c.AdvertInterval = 41 * time.Second },
		"negative advert":               func(c *Config) { c.AdvertInterval = -time.Second },
		"fractional GARP delay":         func(c *Config) { c.GARP.SecondSetDelay = 1500 * time.Millisecond },
		"too many GARPs":                func(c *Config) { c.GARP.Repeat = 1000 },
		"track quorum beyond the limit": func(c *Config) { c.TrackProcess = &ProcessMatch{Path: "/bin/x", Quorum: -1} },
		"peer outside the link": func(c *Config) {
			c.Link, c.UnicastSrc = netip.MustParsePrefix("169.254.0.0/16"), netip.MustParseAddr("169.254.1.1")
		},
		"extra VIP twice": func(c *Config) {
			c.ExtraVIPs = []Address{{Prefix: c.VIP, Interface: "vip0"}}
		},
		"extra VIP on a bad interface": func(c *Config) {
			c.ExtraVIPs = []Address{{Prefix: netip.MustParsePrefix("20.1.1.9/32"), Interface: "x y"}}
		},
		"extra VIP without length": func(c *Config) {
			c.ExtraVIPs = []Address{{Prefix: netip.Prefix{}, Interface: "vip0"}}
		},
	}
	for name, mutate := range cases {
		c := baseConfig(t)
		mutate(&c)
		if out, err := Render(c); err == nil {
			t.Errorf("%s: accepted:\n%s", name, out)
		}
	}
}

func TestVirtualRouterIDIsStableInRangeAndCaseInsensitive(t *testing.T) {
	a, err := VirtualRouterID(siID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := VirtualRouterID(strings.ToUpper(siID))
	if a != b || a == 0 {
		t.Fatalf("VRID %d / %d: want equal and non-zero", a, b)
	}
	if _, err := VirtualRouterID("not-a-uuid"); err == nil {
		t.Fatal("non-UUID accepted")
	}
	// Spread: 2000 random-looking ids must use most of the 255 values.
	seen := map[uint8]bool{}
	for i := range 2000 {
		id := strings.Replace(siID, "0a1b2c3d4e5f", fmtHex12(i), 1)
		v, err := VirtualRouterID(id)
		if err != nil || v == 0 {
			t.Fatalf("id %s: %d %v", id, v, err)
		}
		seen[v] = true
	}
	if len(seen) < 240 {
		t.Fatalf("only %d distinct VRIDs over 2000 ids", len(seen))
	}
}

func fmtHex12(i int) string {
	const hex = "0123456789abcdef"
	b := []byte("000000000000")
	for p := 11; p >= 0 && i > 0; p-- {
		b[p] = hex[i%16]
		i /= 16
	}
	return string(b)
}

func TestNotifyScriptOnlyWritesKnownStates(t *testing.T) {
	s, err := renderNotifyScript("/var/lib/x/state")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(s), "#!/bin/bash\n") || !strings.Contains(string(s), "MASTER|BACKUP|FAULT|STOP") {
		t.Fatalf("script:\n%s", s)
	}
	if _, err := renderNotifyScript("/x/'; rm -rf /"); err == nil {
		t.Fatal("state path with a quote accepted")
	}
}

// The script reads keepalived's FIFO as keepalived would feed it: many
// transitions in a burst, the last one recorded whatever came before, and
// lines that are not a state ignored.
func TestNotifyScriptRecordsTheLastOfABurstOfTransitions(t *testing.T) {
	dir := t.TempDir()
	state, fifo, script := filepath.Join(dir, "state"), filepath.Join(dir, "notify.fifo"), filepath.Join(dir, "notify.sh")
	body, err := renderNotifyScript(state)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(script, body, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// keepalived passes the FIFO as the last argument, after any of its own.
	cmd := exec.Command("/bin/bash", script, "ignored", fifo)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		st := []string{"MASTER", "BACKUP", "FAULT"}[i%3]
		fmt.Fprintf(w, "INSTANCE \"si-a_vm-b\" %s 200\n", st)
	}
	fmt.Fprintf(w, "INSTANCE \"si-a_vm-b\" MASTER 200\n")
	fmt.Fprintf(w, "INSTANCE \"si-a_vm-b\" BACKUP 100\n")
	fmt.Fprintf(w, "INSTANCE \"si-a_vm-b\" $(reboot) 100\n")
	w.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("script: %v", err)
	}
	if r := Recorded(PathsIn(dir)); r.State != StateBackup {
		t.Fatalf("recorded %+v, want the last transition, BACKUP", r)
	}
	// The last departure from MASTER went to BACKUP, and Recorded reads both.
	r := Recorded(PathsIn(dir))
	if r.State != StateBackup || r.Left != StateBackup || r.Since.IsZero() || r.LeftAt.IsZero() {
		t.Fatalf("record %+v, want BACKUP, left MASTER for BACKUP, both timed", r)
	}
}

// A departure from MASTER is recorded with the state it went to and when,
// and later transitions between other states do not move it: the record
// says when the VM last gave up the VIP, which is what a failover's
// duration is measured from.
func TestNotifyScriptRecordsWhenAndHowTheVMLastLeftMaster(t *testing.T) {
	dir := t.TempDir()
	p := PathsIn(dir)
	body, err := renderNotifyScript(p.StateFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p.NotifyScript, body, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(p.NotifyFIFO, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/bash", p.NotifyScript, p.NotifyFIFO)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w, err := os.OpenFile(p.NotifyFIFO, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	settle := func(want string) Record {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			if r := Recorded(p); r.State == want {
				return r
			}
			if time.Now().After(deadline) {
				t.Fatalf("state %q never recorded: %+v", want, Recorded(p))
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	fmt.Fprintf(w, "INSTANCE \"x\" BACKUP 100\n")
	if r := settle(StateBackup); r.Left != "" || !r.LeftAt.IsZero() {
		t.Fatalf("a VM that never held the VIP recorded a departure: %+v", r)
	}
	fmt.Fprintf(w, "INSTANCE \"x\" MASTER 100\n")
	master := settle(StateMaster)
	if d := time.Since(master.Since); d < 0 || d > 5*time.Second {
		t.Fatalf("MASTER recorded at %v, %v from now", master.Since, d)
	}
	time.Sleep(20 * time.Millisecond)
	fmt.Fprintf(w, "INSTANCE \"x\" FAULT 100\n")
	fault := settle(StateFault)
	// Timed to the microsecond, not in the kernel's 4 ms file-time ticks.
	if fault.Left != StateFault || fault.LeftAt.Sub(master.Since) < 20*time.Millisecond || fault.LeftAt.Nanosecond()%1000 != 0 {
		t.Fatalf("after MASTER then FAULT the record is %+v (MASTER since %v)", fault, master.Since)
	}
	time.Sleep(20 * time.Millisecond)
	fmt.Fprintf(w, "INSTANCE \"x\" BACKUP 100\n")
	back := settle(StateBackup)
	if back.Left != StateFault || !back.LeftAt.Equal(fault.LeftAt) {
		t.Fatalf("FAULT to BACKUP moved the departure record: %+v, was %+v", back, fault)
	}
	w.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("script: %v", err)
	}
}

func TestTheArbiterNeverDelaysAStandbyTakingOver(t *testing.T) {
	for _, adv := range []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 30 * time.Millisecond, 100 * time.Millisecond, time.Second} {
		arb, down := ArbiterTimeout(adv), MasterDown(adv, PriorityStandby)
		// Shorter than the standby's wait by a quarter interval of jitter:
		// its first advert as MASTER finds the silent holder timed out.
		// Longer than two adverts: one late or lost advert of a live
		// holder moves nothing.
		if arb > down-adv/4 || arb <= 2*adv {
			t.Errorf("advert %v: arbiter timeout %v, standby's master-down %v", adv, arb, down)
		}
	}
}

func TestRecordTimesReadInEveryLocaleAndFromOldFiles(t *testing.T) {
	for in, want := range map[string]time.Time{
		"1733570000.123456": time.Unix(1733570000, 123456000),
		"1733570000,5":      time.Unix(1733570000, 500000000),
		"1733570000":        time.Unix(1733570000, 0),
	} {
		if got, ok := parseEpoch(in); !ok || !got.Equal(want) {
			t.Errorf("parseEpoch(%q) = %v %v, want %v", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "x.1", "1.x", "1.1234567890"} {
		if _, ok := parseEpoch(bad); ok {
			t.Errorf("parseEpoch(%q) accepted", bad)
		}
	}
	dir := t.TempDir()
	p := PathsIn(dir)
	// An older script wrote the state alone: its time is the file's.
	if err := os.WriteFile(p.StateFile, []byte("MASTER\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := Recorded(p); r.State != StateMaster || time.Since(r.Since) > time.Minute {
		t.Fatalf("old-format record read as %+v", r)
	}
	if err := os.WriteFile(p.StateFile, []byte("$(reboot) 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := Recorded(p); r.State != "" {
		t.Fatalf("a state not in the list read as %+v", r)
	}
}

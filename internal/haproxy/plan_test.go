package haproxy

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

func cmdLines(cs []Command) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.String())
	}
	return out
}

const be = "be-" + poolID

func TestAddingAMemberIntoAFreeSlotIsRuntimeOnly(t *testing.T) {
	old := baseSpec()
	new := baseSpec()
	new.pool(0).Members = append(new.pool(0).Members, Member{ID: memC, Address: netip.MustParseAddr("10.1.0.3"), Port: 81, Weight: 3, AdminUp: true, Slot: 3})
	ch, err := Plan(old, new)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"set server " + be + "/s003 addr 10.1.0.3 port 81",
		"set weight " + be + "/s003 3",
		"set server " + be + "/s003 state ready",
	}
	if ch.Reload || !reflect.DeepEqual(cmdLines(ch.Commands), want) {
		t.Errorf("got reload=%v %q, want %q", ch.Reload, cmdLines(ch.Commands), want)
	}
}

func TestRemovingAMemberPutsItsSlotInMaintenanceFirst(t *testing.T) {
	old := baseSpec()
	new := baseSpec()
	new.pool(0).Members = new.pool(0).Members[:1]
	ch, _ := Plan(old, new)
	want := []string{
		"set server " + be + "/s002 state maint",
		"set server " + be + "/s002 addr 0.0.0.0 port 1",
		"set weight " + be + "/s002 1",
	}
	if ch.Reload || !reflect.DeepEqual(cmdLines(ch.Commands), want) {
		t.Errorf("got %q, want %q", cmdLines(ch.Commands), want)
	}
}

func TestRepurposedSlotIsDisabledBeforeItsAddressChanges(t *testing.T) {
	old := baseSpec()
	new := baseSpec()
	new.pool(0).Members[1] = Member{ID: memC, Address: netip.MustParseAddr("10.1.0.9"), Port: 8080, Weight: 2, AdminUp: true, Slot: 2}
	ch, _ := Plan(old, new)
	want := []string{
		"set server " + be + "/s002 state maint",
		"set server " + be + "/s002 addr 10.1.0.9 port 8080",
		"set server " + be + "/s002 state ready",
	}
	if !reflect.DeepEqual(cmdLines(ch.Commands), want) {
		t.Errorf("got %q, want %q", cmdLines(ch.Commands), want)
	}
}

func TestWeightAndAdminChangesAreRuntimeOnly(t *testing.T) {
	old := baseSpec()
	new := baseSpec()
	new.pool(0).Members[0].Weight = 10
	new.pool(0).Members[1].AdminUp = false
	ch, _ := Plan(old, new)
	want := []string{
		"set weight " + be + "/s001 10",
		"set server " + be + "/s002 state maint",
	}
	if ch.Reload || !reflect.DeepEqual(cmdLines(ch.Commands), want) {
		t.Errorf("got %q, want %q", cmdLines(ch.Commands), want)
	}
	back, _ := Plan(new, old)
	if back.Reload || !reflect.DeepEqual(cmdLines(back.Commands), []string{
		"set weight " + be + "/s001 1",
		"set server " + be + "/s002 state ready",
	}) {
		t.Errorf("reverse got %q", cmdLines(back.Commands))
	}
}

func TestPoolAdminDownMaintainsEveryMemberWithoutReload(t *testing.T) {
	old := baseSpec()
	new := baseSpec()
	new.pool(0).AdminUp = false
	ch, _ := Plan(old, new)
	if ch.Reload || len(ch.Commands) != 2 || ch.Commands[0].State != StateMaint || ch.Commands[1].State != StateMaint {
		t.Errorf("got reload=%v %q", ch.Reload, cmdLines(ch.Commands))
	}
}

func TestIdenticalSpecsNeedNothing(t *testing.T) {
	ch, err := Plan(baseSpec(), baseSpec())
	if err != nil || ch.Reload || len(ch.Commands) != 0 {
		t.Errorf("got %+v, %v", ch, err)
	}
}

func TestStructuralChangesNeedReload(t *testing.T) {
	cases := map[string]func(*Spec){
		"listener port":    func(s *Spec) { s.lis(0).Port = 81 },
		"listener address": func(s *Spec) { s.lis(0).Address = netip.MustParseAddr("10.0.0.11") },
		"conn limit":       func(s *Spec) { s.lis(0).ConnLimit = 10 },
		"listener admin":   func(s *Spec) { s.lis(0).AdminUp = false },
		"client timeout":   func(s *Spec) { s.lis(0).TimeoutClientData = time.Minute },
		"member timeout":   func(s *Spec) { s.lis(0).TimeoutMemberData = time.Minute },
		"default pool":     func(s *Spec) { s.lis(0).DefaultPoolID = "" },
		"listener added":   func(s *Spec) { s.Listeners = append(s.Listeners, otherListener(s, 81)) },
		"pool added":       func(s *Spec) { withSecondPool(s) },
		"method":           func(s *Spec) { s.pool(0).Method = MethodLeastConnections },
		"protocol":         func(s *Spec) { s.lis(0).Protocol, s.pool(0).Protocol = ProtocolTCP, ProtocolTCP },
		"persistence":      func(s *Spec) { s.pool(0).Persistence.Type = PersistenceSourceIP },
		"tls": func(s *Spec) {
			s.lis(0).Protocol, s.lis(0).TLSCertFile = ProtocolTerminatedHTTPS, "/c.pem"
		},
		"monitor":       func(s *Spec) { s.pool(0).Monitor = &Monitor{Type: MonitorTCP, Delay: 1, Timeout: 1, Rise: 1, Fall: 1} },
		"slot growth":   func(s *Spec) { s.pool(0).Slots = 16 },
		"backup member": func(s *Spec) { s.pool(0).Members[1].Backup = true },
		"maxconn":       func(s *Spec) { s.Global.MaxConn = 100 },
		"socket paths":  func(s *Spec) { s.Paths.Socket = "/run/x.sock" },
	}
	for name, mod := range cases {
		t.Run(name, func(t *testing.T) {
			new := baseSpec()
			mod(&new)
			ch, err := Plan(baseSpec(), new)
			if err != nil {
				t.Fatal(err)
			}
			if !ch.Reload || ch.Reason == "" || len(ch.Commands) != 0 {
				t.Errorf("got %+v", ch)
			}
		})
	}
}

func TestMonitorParameterChangeNeedsReload(t *testing.T) {
	old := baseSpec()
	old.pool(0).Monitor = &Monitor{Type: MonitorHTTP, Delay: 5, Timeout: 2, Rise: 2, Fall: 3}
	new := old.clone()
	new.pool(0).Monitor.Delay = 6
	ch, _ := Plan(old, new)
	if !ch.Reload || !strings.Contains(ch.Reason, "monitor") {
		t.Errorf("got %+v", ch)
	}
}

func TestPlanRejectsAnInvalidNewSpec(t *testing.T) {
	new := baseSpec()
	new.pool(0).Members[0].Weight = 1000
	if _, err := Plan(baseSpec(), new); err == nil {
		t.Error("invalid spec planned")
	}
}

func TestMemberChangesInOnePoolOfTwoOnlyCommandThatBackend(t *testing.T) {
	old := baseSpec()
	withSecondPool(&old)
	old.Listeners = append(old.Listeners, otherListener(&old, 81))
	old.lis(1).DefaultPoolID = pool2ID
	new := old.clone()
	new.pool(1).Members[0].Weight = 5
	new.pool(1).Members = append(new.pool(1).Members, Member{ID: memA, Address: netip.MustParseAddr("10.2.0.9"), Port: 9090, Weight: 1, AdminUp: true, Slot: 3})
	ch, err := Plan(old, new)
	if err != nil {
		t.Fatal(err)
	}
	be2 := BackendName(pool2ID)
	want := []string{
		"set weight " + be2 + "/s001 5",
		"set server " + be2 + "/s003 addr 10.2.0.9 port 9090",
		"set server " + be2 + "/s003 state ready",
	}
	if ch.Reload || !reflect.DeepEqual(cmdLines(ch.Commands), want) {
		t.Errorf("got reload=%v (%s) %q, want %q", ch.Reload, ch.Reason, cmdLines(ch.Commands), want)
	}
}

func TestMembersOfTwoPoolsChangeBackendByBackendInPoolIDOrder(t *testing.T) {
	old := baseSpec()
	withSecondPool(&old)
	new := old.clone()
	new.pool(1).Members[1].AdminUp = false
	new.pool(0).Members[0].Weight = 7
	new.Pools[0], new.Pools[1] = new.Pools[1], new.Pools[0] // order must not matter
	ch, _ := Plan(old, new)
	want := []string{
		"set weight " + be + "/s001 7",
		"set server " + BackendName(pool2ID) + "/s002 state maint",
	}
	if ch.Reload || !reflect.DeepEqual(cmdLines(ch.Commands), want) {
		t.Errorf("got reload=%v %q, want %q", ch.Reload, cmdLines(ch.Commands), want)
	}
}

func TestAddingAListenerIsAReloadThatNamesIt(t *testing.T) {
	old := baseSpec()
	new := old.clone()
	l := otherListener(&new, 443)
	l.DefaultPoolID = poolID
	new.Listeners = append(new.Listeners, l)
	ch, err := Plan(old, new)
	if err != nil {
		t.Fatal(err)
	}
	if !ch.Reload || ch.Reason != "listener "+lisB+" added" || len(ch.Commands) != 0 {
		t.Errorf("got %+v", ch)
	}
	back, _ := Plan(new, old)
	if !back.Reload || back.Reason != "listener "+lisB+" removed" {
		t.Errorf("removal: got %+v", back)
	}
}

// HAProxy has no runtime command for "backup", so a backup member can
// neither enter a free slot nor leave one without a reload.
func TestBackupMembersComeAndGoByReload(t *testing.T) {
	old := baseSpec()
	new := old.clone()
	new.pool(0).Members = append(new.pool(0).Members, Member{ID: memC, Address: netip.MustParseAddr("10.1.0.3"),
		Port: 8080, Weight: 1, AdminUp: true, Backup: true, Slot: 3})
	for name, pair := range map[string][2]Spec{"added": {old, new}, "removed": {new, old}} {
		ch, err := Plan(pair[0], pair[1])
		if err != nil {
			t.Fatal(err)
		}
		if !ch.Reload || !strings.Contains(ch.Reason, "backup") {
			t.Errorf("backup member %s: got %+v", name, ch)
		}
	}
	// A backup member's weight and admin state still change at runtime.
	next := new.clone()
	next.pool(0).Members[2].Weight = 4
	next.pool(0).Members[2].AdminUp = false
	ch, _ := Plan(new, next)
	if ch.Reload || len(ch.Commands) != 2 {
		t.Errorf("backup member weight/admin: got %+v", ch)
	}
}

func TestMonitorAddressChangeIsAReloadOnlyWhenAMonitorUsesIt(t *testing.T) {
	old := baseSpec()
	new := old.clone()
	new.pool(0).Members[0].MonitorPort = 9000
	if ch, _ := Plan(old, new); ch.Reload || len(ch.Commands) != 0 {
		t.Errorf("without a monitor the port is not rendered, want no change: %+v", ch)
	}
	old.pool(0).Monitor = &Monitor{Type: MonitorTCP, Delay: 1, Timeout: 1, Rise: 2, Fall: 2}
	new.pool(0).Monitor = &Monitor{Type: MonitorTCP, Delay: 1, Timeout: 1, Rise: 2, Fall: 2}
	if ch, _ := Plan(old, new); !ch.Reload || !strings.Contains(ch.Reason, "monitor address") {
		t.Errorf("monitor port set: got %+v", ch)
	}
}

package haproxy

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
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
	new.Members = append(new.Members, Member{ID: memC, Address: netip.MustParseAddr("10.1.0.3"), Port: 81, Weight: 3, AdminUp: true, Slot: 3})
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
	new.Members = new.Members[:1]
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
	new.Members[1] = Member{ID: memC, Address: netip.MustParseAddr("10.1.0.9"), Port: 8080, Weight: 2, AdminUp: true, Slot: 2}
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
	new.Members[0].Weight = 10
	new.Members[1].AdminUp = false
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
	new.Pool.AdminUp = false
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
		"vip port":    func(s *Spec) { s.VIP.Port = 81 },
		"vip address": func(s *Spec) { s.VIP.Address = netip.MustParseAddr("10.0.0.11") },
		"conn limit":  func(s *Spec) { s.VIP.ConnLimit = 10 },
		"vip admin":   func(s *Spec) { s.VIP.AdminUp = false },
		"method":      func(s *Spec) { s.Pool.Method = MethodLeastConnections },
		"protocol":    func(s *Spec) { s.VIP.Protocol, s.Pool.Protocol = ProtocolTCP, ProtocolTCP },
		"persistence": func(s *Spec) { s.VIP.Persistence.Type = PersistenceSourceIP },
		"tls": func(s *Spec) {
			s.VIP.Protocol, s.Pool.Protocol, s.VIP.TLSCertFile = ProtocolHTTPS, ProtocolHTTPS, "/c.pem"
		},
		"monitor":      func(s *Spec) { s.Monitor = &Monitor{Type: MonitorTCP, Delay: 1, Timeout: 1, MaxRetries: 1} },
		"slot growth":  func(s *Spec) { s.Slots = 16 },
		"maxconn":      func(s *Spec) { s.Global.MaxConn = 100 },
		"socket paths": func(s *Spec) { s.Paths.Socket = "/run/x.sock" },
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
	old.Monitor = &Monitor{Type: MonitorHTTP, Delay: 5, Timeout: 2, MaxRetries: 3}
	new := old
	m := *old.Monitor
	m.Delay = 6
	new.Monitor = &m
	ch, _ := Plan(old, new)
	if !ch.Reload || !strings.Contains(ch.Reason, "monitor") {
		t.Errorf("got %+v", ch)
	}
}

func TestPlanRejectsAnInvalidNewSpec(t *testing.T) {
	new := baseSpec()
	new.Members[0].Weight = 1000
	if _, err := Plan(baseSpec(), new); err == nil {
		t.Error("invalid spec planned")
	}
}

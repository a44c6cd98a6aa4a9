package haproxy

import (
	"net/netip"
	"os"
	"strings"
	"testing"
)

func carriedServers(t *testing.T, old, new Spec) []string {
	t.Helper()
	dump, err := os.ReadFile("testdata/show_servers_state.txt")
	if err != nil {
		t.Fatal(err)
	}
	out := string(carryServerState(string(dump), old, new))
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if lines[0] != serverStateVersion {
		t.Fatalf("first line %q, want the format version", lines[0])
	}
	var servers []string
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l, "#") {
			servers = append(servers, strings.Fields(l)[ssServer])
		}
	}
	return servers
}

func monitored() Spec {
	s := baseSpec()
	s.pool(0).Monitor = &Monitor{Type: MonitorTCP, Delay: 1, Timeout: 1, Rise: 2, Fall: 3}
	return s
}

func TestServerStateCarriesUnchangedMembersInService(t *testing.T) {
	old, new := monitored(), monitored()
	new.pool(0).Method = MethodLeastConnections // the structural change itself
	got := carriedServers(t, old, new)
	if strings.Join(got, ",") != "s001,s002" {
		t.Fatalf("carried %v, want both members and not the empty slot", got)
	}
}

func TestServerStateStartsFreshWhatChanged(t *testing.T) {
	cases := map[string]func(s *Spec){
		"monitor type": func(s *Spec) {
			s.pool(0).Monitor.Type = MonitorPing
			s.pool(0).Monitor.PingCommand = "/x"
		},
		"monitor removed":     func(s *Spec) { s.pool(0).Monitor = nil },
		"monitor domain":      func(s *Spec) { s.pool(0).Monitor.HTTPVersion, s.pool(0).Monitor.DomainName = "1.1", "a.example" },
		"address changed":     func(s *Spec) { s.pool(0).Members[1].Address = netip.MustParseAddr("10.1.0.9") },
		"port changed":        func(s *Spec) { s.pool(0).Members[1].Port = 81 },
		"weight changed":      func(s *Spec) { s.pool(0).Members[1].Weight = 7 },
		"admin down":          func(s *Spec) { s.pool(0).Members[1].AdminUp = false },
		"backup flag":         func(s *Spec) { s.pool(0).Members[1].Backup = true },
		"member monitor port": func(s *Spec) { s.pool(0).Members[1].MonitorPort = 9000 },
		"slot reused":         func(s *Spec) { s.pool(0).Members[1].ID = memC },
		"member removed":      func(s *Spec) { s.pool(0).Members = s.pool(0).Members[:1] },
		"another instance":    func(s *Spec) { s.ID = "7f1c2a9e-3b5d-4c7e-9a1f-0e2d3c4b5a69" },
		"pool replaced":       func(s *Spec) { s.pool(0).ID = pool2ID; s.lis(0).DefaultPoolID = pool2ID },
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			old, new := monitored(), monitored().clone()
			change(&new)
			got := carriedServers(t, old, new)
			want := "s001"
			if strings.HasPrefix(name, "monitor ") || name == "another instance" || name == "pool replaced" {
				want = ""
			}
			if strings.Join(got, ",") != want {
				t.Fatalf("carried %v, want [%s]", got, want)
			}
		})
	}
}

func TestServerStateIgnoresAnUnknownFormat(t *testing.T) {
	out := string(carryServerState("2\n# new columns\n2 be-x 1 s001 10.1.0.1 0 0 1 1", monitored(), monitored()))
	if out != serverStateVersion+"\n" {
		t.Fatalf("carried %q from a dump of another format version", out)
	}
}

func TestServerStateKeepsVerdictsWhenOnlyTheMonitorTimingChanges(t *testing.T) {
	old, new := monitored(), monitored()
	new = new.clone()
	mon := new.pool(0).Monitor
	mon.Delay, mon.Timeout, mon.Rise, mon.Fall = 5, 3, 1, 2
	dump, err := os.ReadFile("testdata/show_servers_state.txt")
	if err != nil {
		t.Fatal(err)
	}
	out := string(carryServerState(string(dump), old, new))
	health := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > ssHealth && !strings.HasPrefix(l, "#") {
			health[f[ssServer]] = f[ssHealth]
		}
	}
	// s002 was UP with health 4 (rise 2 + fall 3 - 1); with rise 1 and
	// fall 2 the counter tops out at 2, so two failed probes mark it DOWN.
	if health["s001"] != "0" || health["s002"] != "2" || len(health) != 2 {
		t.Fatalf("carried health %v, want s001:0 s002:2", health)
	}
}

package haproxy

import (
	"bytes"
	"fmt"
	"net/netip"
	"reflect"
)

// Op is the kind of a runtime API command.
type Op string

// Runtime operations on one server slot.
const (
	OpAddr   Op = "addr"   // set server <be>/<srv> addr <ip> port <port>
	OpWeight Op = "weight" // set weight <be>/<srv> <n>
	OpState  Op = "state"  // set server <be>/<srv> state <ready|maint|drain>
	// OpSSLCert replaces a certificate file's contents in the running
	// process: "set ssl cert <file> <<" with the file's new PEM, then
	// "commit ssl cert <file>". New handshakes use it at once.
	OpSSLCert Op = "ssl-cert"
)

// AdminState is a server's administrative state on the runtime API.
type AdminState string

// Server administrative states.
const (
	StateReady AdminState = "ready"
	StateMaint AdminState = "maint"
	StateDrain AdminState = "drain"
)

// Command is one typed runtime API command on a server slot.
type Command struct {
	Op      Op
	Backend string
	Server  string
	Addr    netip.AddrPort // OpAddr
	Weight  int            // OpWeight
	State   AdminState     // OpState
	File    string         // OpSSLCert
}

// String renders the command line sent to the runtime socket.
func (c Command) String() string {
	target := c.Backend + "/" + c.Server
	switch c.Op {
	case OpAddr:
		return fmt.Sprintf("set server %s addr %s port %d", target, c.Addr.Addr(), c.Addr.Port())
	case OpWeight:
		return fmt.Sprintf("set weight %s %d", target, c.Weight)
	case OpState:
		return fmt.Sprintf("set server %s state %s", target, c.State)
	case OpSSLCert:
		return "set ssl cert " + c.File
	}
	return ""
}

// Change is the outcome of Plan: either a reload is needed (Reload, with a
// Reason) or Commands, possibly empty, bring the running process to the new spec.
type Change struct {
	Reload   bool
	Reason   string
	Commands []Command
}

// Plan compares the spec the running process was configured from (old) with the
// desired one (new). Anything but member changes inside existing slots (address,
// port, weight, admin state, and pool admin state, which only toggles servers)
// needs a reload. Otherwise the commands returned reproduce, on the live
// process, the servers that Render(new) describes, backend by backend in pool
// id order; a backend whose members did not change gets no command.
func Plan(old, new Spec) (Change, error) {
	if _, err := Render(new); err != nil {
		return Change{}, err
	}
	newCfg, err := Render(structureOf(new))
	if err != nil {
		return Change{}, err
	}
	oldCfg, err := Render(structureOf(old))
	if err != nil {
		return Change{Reload: true, Reason: "previous spec is not valid: " + err.Error()}, nil
	}
	if !bytes.Equal(oldCfg, newCfg) {
		return Change{Reload: true, Reason: structuralReason(old, new)}, nil
	}
	var cmds []Command
	for _, np := range new.sortedPools() {
		op, _ := old.PoolByID(np.ID) // present: the structures are equal
		if reason := slotStructureChange(op, np); reason != "" {
			return Change{Reload: true, Reason: reason}, nil
		}
		cmds = append(cmds, slotCommands(op, np)...)
	}
	return Change{Commands: append(cmds, certSwaps(old, new)...)}, nil
}

// certSwaps are the certificate files whose contents changed under the
// same path (the agent keeps one file per listener and place): the
// runtime API swaps them, no reload needed.
func certSwaps(old, new Spec) []Command {
	var cmds []Command
	for _, l := range new.sortedListeners() {
		was, ok := old.ListenerByID(l.ID)
		if !ok || l.TLSCertFile == "" {
			continue
		}
		if was.TLSCertFile == l.TLSCertFile && was.TLSCertSum != l.TLSCertSum {
			cmds = append(cmds, Command{Op: OpSSLCert, File: l.TLSCertFile})
		}
		for i, f := range l.SNICertFiles {
			if i < len(was.SNICertFiles) && was.SNICertFiles[i] == f && i < len(was.SNICertSums) && i < len(l.SNICertSums) && was.SNICertSums[i] != l.SNICertSums[i] {
				cmds = append(cmds, Command{Op: OpSSLCert, File: f})
			}
		}
	}
	return cmds
}

// structureOf keeps what only a reload can change: members (and pool admin
// state, which only affects servers) are dropped, so all slots render as
// placeholders. The few server keywords the runtime API cannot set are
// compared apart, by slotStructureChange.
func structureOf(s Spec) Spec {
	pools := make([]Pool, len(s.Pools))
	for i, p := range s.Pools {
		p.Members = nil
		p.AdminUp = true
		pools[i] = p
	}
	s.Pools = pools
	return s
}

// slotKeywords are the server keywords of a slot that HAProxy 2.6 cannot
// change at runtime: "backup" has no runtime command at all, and a check
// address or port, once set with "set server ... check-addr/check-port",
// cannot be cleared again, so a slot handed to another member would keep
// probing the previous member's monitor address.
type slotKeywords struct {
	backup  bool
	monAddr netip.Addr
	monPort int
}

func slotStructure(p Pool) map[int]slotKeywords {
	out := map[int]slotKeywords{}
	for _, m := range p.Members {
		k := slotKeywords{backup: m.Backup}
		if p.Monitor != nil { // rendered only with a monitor
			k.monAddr, k.monPort = m.MonitorAddress, m.MonitorPort
		}
		if k != (slotKeywords{}) {
			out[m.Slot] = k
		}
	}
	return out
}

func slotStructureChange(old, new Pool) string {
	before, after := slotStructure(old), slotStructure(new)
	for slot := 1; slot <= new.Slots; slot++ {
		o, n := before[slot], after[slot]
		switch {
		case o.backup != n.backup:
			return fmt.Sprintf("pool %s slot %s: backup flag %v -> %v (no runtime command)", new.ID, SlotName(slot), o.backup, n.backup)
		case o != n:
			return fmt.Sprintf("pool %s slot %s: monitor address or port changed (cannot be cleared at runtime)", new.ID, SlotName(slot))
		}
	}
	return ""
}

func structuralReason(old, new Spec) string {
	switch {
	case new.ID != old.ID:
		return "load balancer id changed"
	case new.Paths != old.Paths:
		return "paths changed"
	case new.Global != old.Global:
		return "global settings changed"
	}
	for _, l := range new.sortedListeners() {
		was, ok := old.ListenerByID(l.ID)
		if !ok {
			return "listener " + l.ID + " added"
		}
		if !reflect.DeepEqual(was, l) {
			return "listener " + l.ID + " changed"
		}
	}
	for _, l := range old.sortedListeners() {
		if _, ok := new.ListenerByID(l.ID); !ok {
			return "listener " + l.ID + " removed"
		}
	}
	for _, p := range new.sortedPools() {
		was, ok := old.PoolByID(p.ID)
		switch {
		case !ok:
			return "pool " + p.ID + " added"
		case was.Slots != p.Slots:
			return fmt.Sprintf("pool %s slot count %d -> %d", p.ID, was.Slots, p.Slots)
		case (was.Monitor == nil) != (p.Monitor == nil) || p.Monitor != nil && *was.Monitor != *p.Monitor:
			return "pool " + p.ID + " health monitor changed"
		case was.Method != p.Method || was.Protocol != p.Protocol:
			return "pool " + p.ID + " method or protocol changed"
		case was.Persistence != p.Persistence:
			return "pool " + p.ID + " session persistence changed"
		}
	}
	for _, p := range old.sortedPools() {
		if _, ok := new.PoolByID(p.ID); !ok {
			return "pool " + p.ID + " removed"
		}
	}
	return "configuration structure changed"
}

// slotState is what one server slot looks like to HAProxy.
type slotState struct {
	id     string
	addr   netip.AddrPort
	weight int
	up     bool
}

func slotStates(p Pool) map[int]slotState {
	out := make(map[int]slotState, len(p.Members))
	for _, m := range p.Members {
		out[m.Slot] = slotState{
			id:     m.ID,
			addr:   netip.AddrPortFrom(m.Address, uint16(m.Port)),
			weight: m.Weight,
			up:     p.serverUp(m),
		}
	}
	return out
}

func slotCommands(old, new Pool) []Command {
	empty := slotState{addr: placeholderAddr, weight: 1}
	before, after := slotStates(old), slotStates(new)
	be := BackendName(new.ID)
	var cmds []Command
	for slot := 1; slot <= new.Slots; slot++ {
		o, ok := before[slot]
		if !ok {
			o = empty
		}
		n, ok := after[slot]
		if !ok {
			n = empty
		}
		if o == n {
			continue
		}
		srv := SlotName(slot)
		up := o.up
		// A slot handed to another member stops taking traffic before its
		// address changes, so no request reaches a half-updated server.
		if up && (o.id != n.id || !n.up) {
			cmds = append(cmds, Command{Op: OpState, Backend: be, Server: srv, State: StateMaint})
			up = false
		}
		if o.addr != n.addr {
			cmds = append(cmds, Command{Op: OpAddr, Backend: be, Server: srv, Addr: n.addr})
		}
		if o.weight != n.weight {
			cmds = append(cmds, Command{Op: OpWeight, Backend: be, Server: srv, Weight: n.weight})
		}
		if n.up && !up {
			cmds = append(cmds, Command{Op: OpState, Backend: be, Server: srv, State: StateReady})
		}
	}
	return cmds
}

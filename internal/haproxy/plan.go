package haproxy

import (
	"bytes"
	"fmt"
	"net/netip"
)

// Op is the kind of a runtime API command.
type Op string

// Runtime operations on one server slot.
const (
	OpAddr   Op = "addr"   // set server <be>/<srv> addr <ip> port <port>
	OpWeight Op = "weight" // set weight <be>/<srv> <n>
	OpState  Op = "state"  // set server <be>/<srv> state <ready|maint|drain>
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
// process, the servers that Render(new) describes.
func Plan(old, new Spec) (Change, error) {
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
	if _, err := Render(new); err != nil {
		return Change{}, err
	}
	return Change{Commands: slotCommands(old, new)}, nil
}

// structureOf keeps what only a reload can change: members (and pool admin
// state, which only affects servers) are dropped, so all slots render as
// placeholders.
func structureOf(s Spec) Spec {
	s.Members = nil
	s.Pool.AdminUp = true
	return s
}

func structuralReason(old, new Spec) string {
	switch {
	case new.Slots != old.Slots:
		return fmt.Sprintf("slot count %d -> %d", old.Slots, new.Slots)
	case new.ID != old.ID:
		return "instance id changed"
	case new.VIP != old.VIP:
		return "vip changed"
	case new.Pool.Method != old.Pool.Method || new.Pool.Protocol != old.Pool.Protocol:
		return "pool method or protocol changed"
	case (new.Monitor == nil) != (old.Monitor == nil) ||
		new.Monitor != nil && *new.Monitor != *old.Monitor:
		return "health monitor changed"
	case new.Paths != old.Paths:
		return "paths changed"
	case new.Global != old.Global:
		return "global settings changed"
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

func slotStates(s Spec) map[int]slotState {
	out := make(map[int]slotState, len(s.Members))
	for _, m := range s.Members {
		out[m.Slot] = slotState{
			id:     m.ID,
			addr:   netip.AddrPortFrom(m.Address, uint16(m.Port)),
			weight: m.Weight,
			up:     s.serverUp(m),
		}
	}
	return out
}

func slotCommands(old, new Spec) []Command {
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

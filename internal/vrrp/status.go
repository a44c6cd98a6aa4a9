package vrrp

import (
	"context"
	"errors"
	"os"
	"strings"

	"lbaas/internal/netns"
)

// States reported by Status.
const (
	StateMaster  = "MASTER"
	StateBackup  = "BACKUP"
	StateFault   = "FAULT"
	StateStopped = "STOPPED"
	// StateUnknown: keepalived runs but has not reported a transition yet
	// (the first one follows within about one advert interval of the start).
	StateUnknown = "UNKNOWN"
)

// Status is the observed state of one instance.
type Status struct {
	// State is the last state keepalived reported through the notify script,
	// or StateStopped when no keepalived of ours runs (whatever the file says:
	// a killed keepalived reports nothing).
	State string
	// PID and VRRPPID are the parent and VRRP child (0 when not running).
	PID, VRRPPID int
	// VIPPresent says whether the VIP is on the interface right now. It is
	// the ground truth for traffic; State may lag by the notify script's run.
	VIPPresent bool
}

// Status observes the instance: processes, recorded state and the VIP.
func (m *Manager) Status(ctx context.Context, spec Spec) (Status, error) {
	var st Status
	if err := ctx.Err(); err != nil {
		return st, err
	}
	p := spec.Paths
	st.State = StateStopped
	if pid, ok := livePid(p.PidFile, p); ok {
		st.PID = pid
		st.VRRPPID, _ = livePid(p.VRRPPidFile, p)
		st.State = StateUnknown
		b, err := os.ReadFile(p.StateFile)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return st, err
		}
		switch s := strings.TrimSpace(string(b)); s {
		case StateMaster, StateBackup, StateFault:
			st.State = s
		}
	}
	if ok, err := netns.Exists(spec.Namespace); err != nil || !ok {
		return st, err
	}
	// A missing interface simply carries no VIP.
	addrs, _ := netns.Addresses(spec.Namespace, spec.Config.Interface)
	for _, a := range addrs {
		if a.Addr() == spec.Config.VIP.Addr() {
			st.VIPPresent = true
		}
	}
	return st, nil
}

// State returns Status(ctx, spec).State: MASTER, BACKUP, FAULT, STOPPED or
// UNKNOWN.
func (m *Manager) State(ctx context.Context, spec Spec) (string, error) {
	st, err := m.Status(ctx, spec)
	return st.State, err
}

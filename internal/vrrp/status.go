package vrrp

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"time"

	"lbaas/internal/netns"
)

// States reported by Status.
const (
	StateMaster  = "MASTER"
	StateBackup  = "BACKUP"
	StateFault   = "FAULT"
	StateStopped = "STOPPED"
	// StateStop is what keepalived notifies as it shuts down (recorded,
	// never reported by Status: a stopping keepalived is soon STOPPED).
	StateStop = "STOP"
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
		s, _, err := readRecord(p.StateFile)
		if err != nil {
			return st, err
		}
		switch s {
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

// Record is what an instance's notify script recorded of its transitions:
// the last state and when it was entered, and the last departure from
// MASTER (the state it went to, and when). The times are the script's,
// taken as it read keepalived's line, so they time the transitions
// themselves and not when anybody looked. Zero fields: nothing recorded.
type Record struct {
	State  string
	Since  time.Time
	Left   string
	LeftAt time.Time
}

// Recorded reads the instance's transition record. It reads files only,
// whether keepalived runs or not: a killed keepalived's last record still
// says what it did before it died.
func Recorded(p Paths) Record {
	var r Record
	r.State, r.Since, _ = readRecord(p.StateFile)
	r.Left, r.LeftAt, _ = readRecord(p.LeftFile())
	return r
}

// readRecord reads "<state> <seconds.micros>" as the notify script writes
// it. A file without the time (written by an older script) is timed by
// its modification. A missing file is no record and no error.
func readRecord(path string) (string, time.Time, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", time.Time{}, nil
	}
	if err != nil {
		return "", time.Time{}, err
	}
	defer f.Close()
	b := make([]byte, 64)
	n, _ := f.Read(b)
	fields := strings.Fields(string(b[:n]))
	if len(fields) == 0 {
		return "", time.Time{}, nil
	}
	switch fields[0] {
	case StateMaster, StateBackup, StateFault, StateStop:
	default:
		return "", time.Time{}, nil
	}
	if len(fields) > 1 {
		if t, ok := parseEpoch(fields[1]); ok {
			return fields[0], t, nil
		}
	}
	fi, err := f.Stat()
	if err != nil {
		return fields[0], time.Time{}, nil
	}
	return fields[0], fi.ModTime().UTC(), nil
}

// parseEpoch reads bash's $EPOCHREALTIME: seconds, a decimal point (a
// comma in some locales) and microseconds.
func parseEpoch(s string) (time.Time, bool) {
	sec, frac, _ := strings.Cut(strings.Replace(s, ",", ".", 1), ".")
	secs, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || len(frac) > 9 {
		return time.Time{}, false
	}
	ns := int64(0)
	if frac != "" {
		f, err := strconv.ParseInt(frac, 10, 64)
		if err != nil {
			return time.Time{}, false
		}
		for range 9 - len(frac) {
			f *= 10
		}
		ns = f
	}
	return time.Unix(secs, ns).UTC(), true
}

package haproxy

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// A reload starts a new worker whose servers all begin UP, whatever the old
// worker's checks had found. HAProxy can seed the new worker from a file in
// the format of "show servers state"; Manager writes that file just before
// each reload, keeping only what is still true of the new configuration.

// serverStateVersion is the format version "show servers state" prints and
// the loader expects on the first line.
const serverStateVersion = "1"

// Columns of a "show servers state" line (format version 1), by position:
// the loader reads them by position too.
const (
	ssBackend    = 1
	ssServer     = 3
	ssAddr       = 4
	ssAdminState = 6
	ssUserWeight = 7
	ssHealth     = 12
	ssPort       = 18
	ssMinColumns = 19
)

// ServerStateFile is where the server state handed from one worker to the
// next is written.
func (p Paths) ServerStateFile() string {
	return filepath.Join(filepath.Dir(p.Config), "server-state")
}

// carryServerState returns the lines of dump, a "show servers state" reply
// of the worker running old, that remain true under new: a line survives
// only when its backend's pool is in both specs and probes alike, and its
// slot holds the same member at the same address, port, weight, backup flag
// and monitor address, and is in service in both. Anything else (a new member
// in a recycled slot, another probe, an admin change, a new pool) starts
// fresh, as HAProxy would without the file. The result always holds the
// version line, so the loader never warns about an empty file.
//
// A change of delay, timeout, rise or fall keeps the verdicts: a member
// found dead is still dead. Its check counter is capped to the new range,
// so a lower rise + fall takes effect on the next probes.
func carryServerState(dump string, old, new Spec) []byte {
	out := serverStateVersion + "\n"
	if old.ID != new.ID {
		return []byte(out)
	}
	type backend struct {
		maxHealth     int
		before, after map[string]Member
	}
	bySlot := func(p Pool) map[string]Member {
		m := make(map[string]Member, len(p.Members))
		for _, mem := range p.Members {
			if p.serverUp(mem) {
				m[SlotName(mem.Slot)] = mem
			}
		}
		return m
	}
	backends := map[string]backend{}
	for _, np := range new.Pools {
		op, ok := old.PoolByID(np.ID)
		if !ok || !sameProbe(op.Monitor, np.Monitor) {
			continue
		}
		backends[BackendName(np.ID)] = backend{
			maxHealth: np.Monitor.Rise + np.Monitor.Fall - 1,
			before:    bySlot(op),
			after:     bySlot(np),
		}
	}
	lines := strings.Split(dump, "\n")
	if len(lines) == 0 || strings.TrimSpace(lines[0]) != serverStateVersion {
		return []byte(out)
	}
	for _, line := range lines[1:] {
		if strings.HasPrefix(line, "#") {
			out += line + "\n"
			continue
		}
		f := strings.Fields(line)
		if len(f) < ssMinColumns || f[ssAdminState] != "0" {
			continue
		}
		be, ok := backends[f[ssBackend]]
		if !ok {
			continue
		}
		was, ok1 := be.before[f[ssServer]]
		now, ok2 := be.after[f[ssServer]]
		if !ok1 || !ok2 || was != now {
			continue
		}
		if f[ssAddr] != now.Address.String() || f[ssPort] != strconv.Itoa(now.Port) || f[ssUserWeight] != strconv.Itoa(now.Weight) {
			continue
		}
		if h, err := strconv.Atoi(f[ssHealth]); err != nil || h < 0 {
			continue
		} else if h > be.maxHealth {
			f[ssHealth] = strconv.Itoa(be.maxHealth)
		}
		out += strings.Join(f, " ") + "\n"
	}
	return []byte(out)
}

// sameProbe reports whether two monitors probe alike, timing aside.
func sameProbe(a, b *Monitor) bool {
	if a == nil || b == nil {
		return false
	}
	x, y := *a, *b
	x.Delay, x.Timeout, x.Rise, x.Fall = 0, 0, 0, 0
	y.Delay, y.Timeout, y.Rise, y.Fall = 0, 0, 0, 0
	return x == y
}

// saveServerState writes the state the next worker of the instance starts
// from. Without a trustworthy old spec or a dump it writes an empty state:
// starting fresh is always safe, inheriting a stale address is not. When
// even that cannot be written the file is removed, so nothing stale loads.
func (m *Manager) saveServerState(ctx context.Context, paths Paths, old *Spec, new Spec) {
	content := []byte(serverStateVersion + "\n")
	if old != nil {
		if dump, err := m.client(paths.Socket).Exec(ctx, "show servers state"); err == nil {
			content = carryServerState(dump, *old, new)
		}
	}
	if err := writeAtomic(paths.ServerStateFile(), content, 0o640); err != nil {
		_ = os.Remove(paths.ServerStateFile())
	}
}

package haproxy

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// ProcInfo is the master CLI's "show proc": the master and its workers.
type ProcInfo struct {
	MasterPID     int
	Reloads       int   // reloads so far
	FailedReloads int   // reloads whose new configuration did not load
	Workers       []int // current workers
	OldWorkers    []int // workers of previous generations still draining
}

// ShowProc runs "show proc" on a master CLI socket and parses it.
func (c Client) ShowProc(ctx context.Context) (ProcInfo, error) {
	reply, err := c.Exec(ctx, "show proc")
	if err != nil {
		return ProcInfo{}, err
	}
	return parseShowProc(reply)
}

// parseShowProc reads lines "<pid> <type> <reloads> [failed: N] ..." in the
// sections "# workers", "# old workers" and "# programs".
func parseShowProc(text string) (ProcInfo, error) {
	var p ProcInfo
	section := ""
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "#") {
			section = strings.TrimSpace(strings.TrimPrefix(line, "#"))
			continue
		}
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		pid, err := strconv.Atoi(f[0])
		if err != nil {
			continue
		}
		switch {
		case f[1] == "master":
			p.MasterPID = pid
			p.Reloads, _ = strconv.Atoi(f[2])
			if i := strings.Index(line, "[failed: "); i >= 0 {
				rest := line[i+len("[failed: "):]
				n, _, _ := strings.Cut(rest, "]")
				p.FailedReloads, _ = strconv.Atoi(n)
			}
		case f[1] == "worker" && section == "workers":
			p.Workers = append(p.Workers, pid)
		case f[1] == "worker" && section == "old workers":
			p.OldWorkers = append(p.OldWorkers, pid)
		}
	}
	if p.MasterPID == 0 {
		return p, fmt.Errorf("show proc: no master in reply %q", firstLine(text))
	}
	return p, nil
}

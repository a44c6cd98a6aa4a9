package haproxy

import (
	"context"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"
)

// ServerStatus is a server's operational state as "show stat" reports it.
type ServerStatus string

// Server states. Transitional states ("UP 1/3", going down; "DOWN 1/2", coming
// up) are reported as the state they are leaving.
const (
	StatusUp      ServerStatus = "UP"
	StatusDown    ServerStatus = "DOWN"
	StatusMaint   ServerStatus = "MAINT"
	StatusDrain   ServerStatus = "DRAIN"
	StatusNoLB    ServerStatus = "NOLB"
	StatusNoCheck ServerStatus = "no check"
	StatusUnknown ServerStatus = "UNKNOWN"
)

// Counters are the traffic counters shared by frontends, backends and
// servers. A column a row does not have (a TCP proxy has no HTTP
// responses, a frontend no retries) reads 0.
type Counters struct {
	BytesIn         uint64 // bin
	BytesOut        uint64 // bout
	CurrentSessions uint64 // scur
	TotalSessions   uint64 // stot
	// HTTP requests (req_tot) and responses by status class
	// (hrsp_1xx ... hrsp_5xx, hrsp_other).
	Requests                                               uint64
	Resp1xx, Resp2xx, Resp3xx, Resp4xx, Resp5xx, RespOther uint64
	ConnectionErrors                                       uint64 // econ: connecting to a server failed
	ResponseErrors                                         uint64 // eresp: a server's response failed
	Retries                                                uint64 // wretr
	Redispatches                                           uint64 // wredis
	DeniedRequests                                         uint64 // dreq: refused by a rule (allowed_cidrs, REJECT)
	// Queued (qcur) waits for a server slot now; ResponseTimeMs (rtime) is
	// the mean response time over the last 1,024 requests.
	Queued         uint64
	ResponseTimeMs uint64
}

// ProxyStats is one FRONTEND (a listener) or BACKEND (a pool) row.
type ProxyStats struct {
	Proxy  string // pxname
	Status string // OPEN, STOP, UP, DOWN...
	// RequestErrors (ereq) counts requests the frontend rejected as malformed
	// or that failed while being read; 0 on backends.
	RequestErrors uint64
	// ActiveServers and BackupServers (act, bck) are a backend's usable
	// non-backup and backup servers; 0 on frontends.
	ActiveServers, BackupServers int
	Counters
}

// ServerStats is one server row.
type ServerStats struct {
	Proxy     string       // backend name
	Name      string       // slot name
	Status    ServerStatus // normalised status
	RawStatus string       // status column as sent
	Weight    int
	Addr      string // addr column, "ip:port"
	// CheckStatus is HAProxy's last check code (L4OK, L4CON, L7OK, L7STS, INI...).
	CheckStatus string
	// CheckDesc is the human description (check_desc) of CheckStatus.
	CheckDesc string
	// LastCheck is last_chk: the last check's detail (e.g. "HTTP status check returned code <503>").
	LastCheck string
	Counters
}

// Stats is the parsed "show stat" output.
type Stats struct {
	Frontends []ProxyStats
	Backends  []ProxyStats
	Servers   []ServerStats
	// PID is the worker process that counted them ("show info", read in
	// the same exchange; 0 when not known). A new worker (a restart, a
	// reload) starts every counter again from zero.
	PID int
}

// Frontend returns the row of a frontend, e.g. FrontendName(listenerID).
func (s Stats) Frontend(name string) (ProxyStats, bool) { return findProxy(s.Frontends, name) }

// Backend returns the row of a backend, e.g. BackendName(poolID).
func (s Stats) Backend(name string) (ProxyStats, bool) { return findProxy(s.Backends, name) }

func findProxy(rows []ProxyStats, name string) (ProxyStats, bool) {
	for _, p := range rows {
		if p.Proxy == name {
			return p, true
		}
	}
	return ProxyStats{}, false
}

// Server returns the stats of backend/name (name is a slot, SlotName(n)).
func (s Stats) Server(backend, name string) (ServerStats, bool) {
	for _, sv := range s.Servers {
		if sv.Proxy == backend && sv.Name == name {
			return sv, true
		}
	}
	return ServerStats{}, false
}

// ShowStat runs "show info" and "show stat" in one exchange, so that both
// come from the same worker, and parses the counters and that worker's pid.
func (c Client) ShowStat(ctx context.Context) (Stats, error) {
	reply, err := c.exec(ctx, "show info;show stat")
	if err != nil {
		return Stats{}, err
	}
	info, stat, ok := strings.Cut(reply, "\n# ")
	if !ok {
		return Stats{}, fmt.Errorf("show stat: unexpected reply %q", firstLine(reply))
	}
	st, err := ParseStat("# " + stat)
	st.PID = infoPID(info)
	return st, err
}

// infoPID reads the Pid line of "show info" (0 when it has none).
func infoPID(info string) int {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Pid: "); ok {
			pid, _ := strconv.Atoi(v)
			return pid
		}
	}
	return 0
}

// ParseStat parses "show stat" CSV by column name, so columns HAProxy adds in
// later versions do not shift anything.
func ParseStat(text string) (Stats, error) {
	text = strings.TrimLeft(text, " ")
	if !strings.HasPrefix(text, "# ") {
		return Stats{}, fmt.Errorf("show stat: unexpected reply %q", firstLine(text))
	}
	r := csv.NewReader(strings.NewReader(text[2:]))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		return Stats{}, fmt.Errorf("show stat: %w", err)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	for _, need := range []string{"pxname", "svname", "status", "bin", "bout", "scur", "stot"} {
		if _, ok := col[need]; !ok {
			return Stats{}, fmt.Errorf("show stat: no %q column", need)
		}
	}
	var st Stats
	for _, row := range rows[1:] {
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(row) {
				return row[i]
			}
			return ""
		}
		num := func(name string) uint64 {
			n, _ := strconv.ParseUint(get(name), 10, 64)
			return n
		}
		ctr := Counters{BytesIn: num("bin"), BytesOut: num("bout"), CurrentSessions: num("scur"), TotalSessions: num("stot"),
			Requests: num("req_tot"), Resp1xx: num("hrsp_1xx"), Resp2xx: num("hrsp_2xx"), Resp3xx: num("hrsp_3xx"), Resp4xx: num("hrsp_4xx"),
			Resp5xx: num("hrsp_5xx"), RespOther: num("hrsp_other"), ConnectionErrors: num("econ"), ResponseErrors: num("eresp"),
			Retries: num("wretr"), Redispatches: num("wredis"), DeniedRequests: num("dreq"), Queued: num("qcur"), ResponseTimeMs: num("rtime")}
		atoi := func(name string) int {
			n, _ := strconv.Atoi(get(name))
			return n
		}
		switch sv := get("svname"); sv {
		case "FRONTEND":
			st.Frontends = append(st.Frontends, ProxyStats{Proxy: get("pxname"), Status: get("status"), RequestErrors: num("ereq"), Counters: ctr})
		case "BACKEND":
			st.Backends = append(st.Backends, ProxyStats{Proxy: get("pxname"), Status: get("status"),
				ActiveServers: atoi("act"), BackupServers: atoi("bck"), Counters: ctr})
		default:
			w := atoi("weight")
			st.Servers = append(st.Servers, ServerStats{
				Proxy:       get("pxname"),
				Name:        sv,
				Status:      normaliseStatus(get("status")),
				RawStatus:   get("status"),
				Weight:      w,
				Addr:        get("addr"),
				CheckStatus: strings.TrimPrefix(get("check_status"), "* "),
				CheckDesc:   get("check_desc"),
				LastCheck:   get("last_chk"),
				Counters:    ctr,
			})
		}
	}
	return st, nil
}

func normaliseStatus(s string) ServerStatus {
	switch {
	case s == "no check":
		return StatusNoCheck
	case strings.HasPrefix(s, "UP"):
		return StatusUp
	case strings.HasPrefix(s, "DOWN"):
		return StatusDown
	case strings.HasPrefix(s, "MAINT"):
		return StatusMaint
	case strings.HasPrefix(s, "DRAIN"):
		return StatusDrain
	case strings.HasPrefix(s, "NOLB"):
		return StatusNoLB
	}
	return StatusUnknown
}

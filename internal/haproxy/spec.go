package haproxy

import (
	"net/netip"
	"path/filepath"
	"time"
)

// Protocol is the protocol of a VIP or a pool.
type Protocol string

// Protocols accepted by the Neutron LBaaS v1 API.
const (
	ProtocolTCP   Protocol = "TCP"
	ProtocolHTTP  Protocol = "HTTP"
	ProtocolHTTPS Protocol = "HTTPS"
)

// Method is a pool's load-balancing method.
type Method string

// Methods accepted by the Neutron LBaaS v1 API.
const (
	MethodRoundRobin       Method = "ROUND_ROBIN"
	MethodLeastConnections Method = "LEAST_CONNECTIONS"
	MethodSourceIP         Method = "SOURCE_IP"
)

// PersistenceType is a VIP's session persistence type; the zero value means none.
type PersistenceType string

// Session persistence types.
const (
	PersistenceNone       PersistenceType = ""
	PersistenceSourceIP   PersistenceType = "SOURCE_IP"
	PersistenceHTTPCookie PersistenceType = "HTTP_COOKIE"
	PersistenceAppCookie  PersistenceType = "APP_COOKIE"
)

// MonitorType is a health monitor's type.
type MonitorType string

// Health monitor types.
const (
	MonitorPing  MonitorType = "PING"
	MonitorTCP   MonitorType = "TCP"
	MonitorHTTP  MonitorType = "HTTP"
	MonitorHTTPS MonitorType = "HTTPS"
)

// Spec is everything needed to render one HAProxy instance (one VIP and its pool).
// It holds only typed, already validated values; Render still re-checks every
// string so that nothing can change the structure of the configuration.
type Spec struct {
	// ID is the pool UUID; it names the frontend ("fe-<id>") and backend ("be-<id>").
	ID string `json:"id"`
	// VIP is the listening side.
	VIP VIP `json:"vip"`
	// Pool is the backend side.
	Pool Pool `json:"pool"`
	// Members are the pool's servers, each already placed in a slot (see AssignSlots).
	Members []Member `json:"members"`
	// Monitor is the pool's health monitor; nil means no health checks (also use
	// nil when the monitor is administratively down).
	Monitor *Monitor `json:"monitor,omitempty"`
	// Slots is the number of server slots rendered (members plus free placeholders).
	Slots int `json:"slots"`
	// Paths locate the instance's files and sockets.
	Paths Paths `json:"paths"`
	// Global holds process-wide tunables; zero fields take defaults.
	Global Global `json:"global"`
}

// VIP is the frontend of a load balancer.
type VIP struct {
	// Address is the address HAProxy binds to.
	Address netip.Addr `json:"address"`
	// Port is the listening port (1..65535).
	Port int `json:"port"`
	// Protocol must equal the pool's protocol.
	Protocol Protocol `json:"protocol"`
	// ConnLimit is the frontend maxconn; -1 means unlimited (capped by Global.MaxConn),
	// 0 also means "HAProxy default", which is the global maxconn.
	ConnLimit int `json:"conn_limit"`
	// AdminUp false renders the frontend disabled (it does not listen).
	AdminUp bool `json:"admin_up"`
	// TLSCertFile, when set, terminates TLS on the bind line with this PEM file
	// (certificate chain and key) and speaks plain HTTP to the members.
	// Only valid with ProtocolHTTPS.
	TLSCertFile string `json:"tls_cert_file,omitempty"`
	// Persistence is the session persistence.
	Persistence Persistence `json:"persistence"`
}

// Persistence is a VIP's session persistence setting.
type Persistence struct {
	// Type is the persistence kind; PersistenceNone disables persistence.
	Type PersistenceType `json:"type,omitempty"`
	// CookieName is the application cookie for PersistenceAppCookie (an RFC 6265 token).
	CookieName string `json:"cookie_name,omitempty"`
}

// Pool is the backend of a load balancer.
type Pool struct {
	// Method is the balancing algorithm.
	Method Method `json:"method"`
	// Protocol must equal the VIP's protocol.
	Protocol Protocol `json:"protocol"`
	// AdminUp false puts every server in maintenance (the VIP still listens and
	// answers 503 in HTTP mode, or closes connections in TCP mode).
	AdminUp bool `json:"admin_up"`
}

// Member is one backend server placed in a slot.
type Member struct {
	// ID is the member UUID.
	ID string `json:"id"`
	// Address is the member address.
	Address netip.Addr `json:"address"`
	// Port is the member port (1..65535).
	Port int `json:"port"`
	// Weight is 0..256; 0 receives no new traffic.
	Weight int `json:"weight"`
	// AdminUp false puts the server in maintenance.
	AdminUp bool `json:"admin_up"`
	// Slot is the 1-based server slot (server name SlotName(Slot)).
	Slot int `json:"slot"`
}

// Monitor is a pool health monitor.
//
// Mapping: Delay → inter, Timeout → "timeout check", MaxRetries → fall, and rise
// is fixed at 2 (see Rise): one lucky probe does not bring a flapping member
// back, yet a recovered member returns after two intervals.
type Monitor struct {
	// Type selects the probe.
	Type MonitorType `json:"type"`
	// Delay is the interval between probes in seconds (values below 1 are rendered as 1).
	Delay int `json:"delay"`
	// Timeout is the probe timeout in seconds (values below 1 are rendered as 1).
	Timeout int `json:"timeout"`
	// MaxRetries is the number of consecutive failures before a member is DOWN (1..10).
	MaxRetries int `json:"max_retries"`
	// HTTPMethod is the request method for HTTP/HTTPS probes (upper-case token; default GET).
	HTTPMethod string `json:"http_method,omitempty"`
	// URLPath is the request path for HTTP/HTTPS probes (default "/").
	URLPath string `json:"url_path,omitempty"`
	// ExpectedCodes is "200", "200,202" or "200-204" (no spaces; default "200").
	ExpectedCodes string `json:"expected_codes,omitempty"`
	// PingCommand is the absolute path of the program run for PING probes.
	//
	// HAProxy runs it as an external check (execve, no shell), once per
	// interval per server, with
	//   argv = <PingCommand> NOT_USED NOT_USED <server_addr> <server_port>
	// (the first two are the proxy address and port, which a backend does not
	// have), and an environment holding only PATH="" (so the program must not
	// look anything up in PATH) plus HAPROXY_PROXY_ADDR="", HAPROXY_PROXY_PORT="",
	// HAPROXY_PROXY_NAME (the backend, "be-<id>"), HAPROXY_PROXY_ID,
	// HAPROXY_SERVER_ADDR, HAPROXY_SERVER_PORT, HAPROXY_SERVER_NAME (the slot,
	// "s001"), HAPROXY_SERVER_ID, HAPROXY_SERVER_MAXCONN, HAPROXY_SERVER_CURCONN,
	// HAPROXY_SERVER_SSL, HAPROXY_SERVER_PROTO. Exit status 0 means the member is
	// up, anything else down; HAProxy kills it after "timeout check". It runs in
	// the instance's network namespace with HAProxy's user (root here). Verified
	// against HAProxy 2.6 by TestRealHAProxyRunsThePingCommandWithServerAddressAndPort.
	PingCommand string `json:"ping_command,omitempty"`
}

// Rise is the number of consecutive successful probes that bring a member back UP.
const Rise = 2

// Global holds process-wide settings.
type Global struct {
	// MaxConn is the process maxconn (default DefaultMaxConn); HAProxy needs it
	// explicit because the open-file limit is far above what one instance needs.
	MaxConn int `json:"maxconn,omitempty"`
	// HardStopAfter bounds how long old workers of a reload may keep draining
	// connections (default DefaultHardStopAfter).
	HardStopAfter time.Duration `json:"hard_stop_after,omitempty"`
}

// Defaults for Global.
const (
	DefaultMaxConn       = 4096
	DefaultHardStopAfter = 30 * time.Second
)

// Paths locate one instance's files. Socket paths must fit a unix socket address
// (at most 107 bytes).
type Paths struct {
	// Dir is the instance state directory (<state-dir>/loadbalancer/<pool-id>).
	Dir string `json:"dir"`
	// Config is the live configuration file.
	Config string `json:"config"`
	// Socket is the worker's runtime API (stats) socket.
	Socket string `json:"socket"`
	// MasterSocket is the master CLI socket (used for reloads).
	MasterSocket string `json:"master_socket"`
	// PidFile holds the master's pid.
	PidFile string `json:"pid_file"`
}

// DefaultPaths returns the agent's layout for a pool:
// <stateDir>/loadbalancer/<poolID>/ holding etc/haproxy/haproxy.cfg, haproxy.sock,
// master.sock and haproxy.pid.
func DefaultPaths(stateDir, poolID string) Paths {
	dir := filepath.Join(stateDir, "loadbalancer", poolID)
	return Paths{
		Dir:          dir,
		Config:       filepath.Join(dir, "etc", "haproxy", "haproxy.cfg"),
		Socket:       filepath.Join(dir, "haproxy.sock"),
		MasterSocket: filepath.Join(dir, "master.sock"),
		PidFile:      filepath.Join(dir, "haproxy.pid"),
	}
}

// StateFile is where Manager records the applied Spec (member id → slot included),
// beside the configuration, so that an agent restart can recover it (see LoadState).
func (p Paths) StateFile() string { return filepath.Join(filepath.Dir(p.Config), "spec.json") }

// LastGoodConfig is where the previous working configuration is kept.
func (p Paths) LastGoodConfig() string { return p.Config + ".last-good" }

func (g Global) maxConn() int {
	if g.MaxConn > 0 {
		return g.MaxConn
	}
	return DefaultMaxConn
}

func (g Global) hardStopAfter() time.Duration {
	if g.HardStopAfter > 0 {
		return g.HardStopAfter
	}
	return DefaultHardStopAfter
}

// FrontendName is the frontend's proxy name for a spec ID.
func FrontendName(id string) string { return "fe-" + id }

// BackendName is the backend's proxy name for a spec ID.
func BackendName(id string) string { return "be-" + id }

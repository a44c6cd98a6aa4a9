package haproxy

import (
	"net/netip"
	"path/filepath"
	"time"
)

// Protocol is the protocol of a listener or a pool.
type Protocol string

// Protocols. Listeners accept the first four; pools accept TCP, HTTP,
// HTTPS, PROXY and PROXYV2 (a pool behind a TERMINATED_HTTPS listener
// speaks HTTP to its members).
const (
	// ProtocolProxy and ProtocolProxyV2 (pools) send the PROXY protocol
	// header (v1 text, v2 binary) before what the listener received, and
	// before each health check.
	ProtocolProxy   Protocol = "PROXY"
	ProtocolProxyV2 Protocol = "PROXYV2"
	ProtocolTCP     Protocol = "TCP"
	ProtocolHTTP    Protocol = "HTTP"
	ProtocolHTTPS   Protocol = "HTTPS" // TLS passed through untouched, in tcp mode
	// ProtocolTerminatedHTTPS terminates TLS on the listener (see
	// Listener.TLSCertFile) and speaks HTTP to the pool.
	ProtocolTerminatedHTTPS Protocol = "TERMINATED_HTTPS"
	// ProtocolPrometheus (listeners) serves HAProxy's Prometheus exporter
	// at /metrics and answers 404 elsewhere; it has no default pool.
	ProtocolPrometheus Protocol = "PROMETHEUS"
)

// Method is a pool's load-balancing method.
type Method string

// Load-balancing methods.
const (
	MethodRoundRobin       Method = "ROUND_ROBIN"
	MethodLeastConnections Method = "LEAST_CONNECTIONS"
	MethodSourceIP         Method = "SOURCE_IP"
	// MethodSourceIPPort hashes the client's address and port together, so
	// connections of one client spread over the members.
	MethodSourceIPPort Method = "SOURCE_IP_PORT"
)

// PersistenceType is a pool's session persistence type; the zero value means none.
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
	// MonitorTLSHello checks that the member speaks TLS (HAProxy's "option
	// ssl-hello-chk"): it sends an SSLv3 ClientHello and accepts any TLS
	// handshake or alert record in reply, so a member that refuses SSLv3
	// still passes, and no certificate is looked at. Verified against HAProxy
	// 2.6 by TestTLSHelloMonitorTellsATLSMemberFromAPlainOne.
	MonitorTLSHello MonitorType = "TLS-HELLO"
)

// Spec is everything needed to render the one HAProxy process that serves a
// load balancer: a frontend per listener and a backend per pool.
// It holds only typed, already validated values; Render still re-checks every
// string so that nothing can change the structure of the configuration.
type Spec struct {
	// ID is the load balancer UUID; it names the instance's files (see DefaultPaths).
	ID string `json:"id"`
	// Listeners are the frontends; their order does not matter (Render sorts
	// them by port, then id).
	Listeners []Listener `json:"listeners"`
	// Pools are the backends; their order does not matter (Render sorts them by id).
	Pools []Pool `json:"pools"`
	// Paths locate the instance's files and sockets.
	Paths Paths `json:"paths"`
	// Global holds process-wide tunables; zero fields take defaults.
	Global Global `json:"global"`
}

// Listener is one frontend ("fe-<id>"): an address and port clients connect to.
type Listener struct {
	// ID is the listener UUID.
	ID string `json:"id"`
	// Address is the address HAProxy binds to. Listeners may share it.
	Address netip.Addr `json:"address"`
	// Port is the listening port (1..65535), unique among the spec's listeners.
	Port int `json:"port"`
	// Protocol is what clients speak; it decides the frontend's mode (http
	// for HTTP and TERMINATED_HTTPS, tcp for TCP and HTTPS).
	Protocol Protocol `json:"protocol"`
	// ConnLimit is the frontend maxconn; -1 and 0 mean unlimited, which is the
	// global maxconn, and a larger value is capped by it.
	ConnLimit int `json:"conn_limit"`
	// AdminUp false renders the frontend disabled (it does not listen).
	AdminUp bool `json:"admin_up"`
	// TLSCertFile is the PEM file (certificate chain and key) TLS is
	// terminated with. Required with, and only allowed with, TERMINATED_HTTPS.
	TLSCertFile string `json:"tls_cert_file,omitempty"`
	// DefaultPoolID is the pool that gets the listener's traffic. Empty means
	// none: the listener answers 503 in http mode and closes connections in
	// tcp mode.
	DefaultPoolID string `json:"default_pool_id,omitempty"`
	// TimeoutClientData is the client inactivity timeout (default 50s).
	TimeoutClientData time.Duration `json:"timeout_client_data,omitempty"`
	// TimeoutMemberConnect bounds connecting to a member (default 5s). It
	// applies to the default pool's backend; see Pool.
	TimeoutMemberConnect time.Duration `json:"timeout_member_connect,omitempty"`
	// TimeoutMemberData is the member inactivity timeout (default 50s); it
	// applies to the default pool's backend, as TimeoutMemberConnect.
	TimeoutMemberData time.Duration `json:"timeout_member_data,omitempty"`
	// TimeoutTCPInspect is how long the frontend waits for content to
	// inspect (zero: no wait).
	TimeoutTCPInspect time.Duration `json:"timeout_tcp_inspect,omitempty"`
	// L7Policies route requests before the default pool does, in order
	// (HTTP and TERMINATED_HTTPS listeners only; see L7Policy).
	L7Policies []L7Policy `json:"l7_policies,omitempty"`
	// SNICertFiles are further PEM files of a TERMINATED_HTTPS listener:
	// HAProxy picks among all by the client's server name, TLSCertFile
	// when none has it.
	SNICertFiles []string `json:"sni_cert_files,omitempty"`
	// TLSCertSum and SNICertSums identify the files' contents (the agent
	// sets them): a file whose contents change under the same path is
	// swapped through the runtime API instead of a reload.
	TLSCertSum  string   `json:"tls_cert_sum,omitempty"`
	SNICertSums []string `json:"sni_cert_sums,omitempty"`
	// TLS tunes a TERMINATED_HTTPS listener's handshake (zero: HAProxy's
	// and OpenSSL's defaults).
	TLS TLSOptions `json:"tls,omitempty"`
	// AllowedCIDRs, when not empty, are the only client networks whose
	// connections are accepted; others are closed before any other work.
	AllowedCIDRs []netip.Prefix `json:"allowed_cidrs,omitempty"`
	// Headers are set on each request to the members (http mode; see
	// Header). X-Forwarded-For is always added unless NoForwardedFor.
	Headers        []Header `json:"headers,omitempty"`
	NoForwardedFor bool     `json:"no_forwarded_for,omitempty"`
	// NoForwardedProto stops a TERMINATED_HTTPS listener from setting
	// X-Forwarded-Proto: https, which it does by default.
	NoForwardedProto bool `json:"no_forwarded_proto,omitempty"`
	// HSTS, when set, adds Strict-Transport-Security to every answer.
	HSTS *HSTS `json:"hsts,omitempty"`
}

// TLSOptions are a terminating listener's (or a re-encrypting pool's)
// handshake settings.
type TLSOptions struct {
	// MinVersion and MaxVersion are "TLSv1.0".."TLSv1.3" (HAProxy's
	// spelling), both or neither.
	MinVersion string `json:"min_version,omitempty"`
	MaxVersion string `json:"max_version,omitempty"`
	// Ciphers is an OpenSSL cipher list for TLS 1.2 and below.
	Ciphers string `json:"ciphers,omitempty"`
	// ALPN is the protocols offered, in preference order (h2, http/1.1,
	// http/1.0).
	ALPN []string `json:"alpn,omitempty"`
	// Verify asks a listener's clients for a certificate: "" (no),
	// "optional" or "required"; CAFile holds the CA certificates it must
	// chain to and CRLFile, when set, the revoked ones. On a pool, CAFile
	// makes HAProxy check each member's certificate.
	Verify  string `json:"verify,omitempty"`
	CAFile  string `json:"ca_file,omitempty"`
	CRLFile string `json:"crl_file,omitempty"`
	// CertFile (pools) is the client certificate presented to members.
	CertFile string `json:"cert_file,omitempty"`
}

// HSTS is a Strict-Transport-Security answer header.
type HSTS struct {
	MaxAge            int  `json:"max_age"`
	IncludeSubdomains bool `json:"include_subdomains,omitempty"`
	Preload           bool `json:"preload,omitempty"`
}

// Header is a request header the listener sets from what HAProxy knows
// of the connection (never from a user string).
type Header string

// Headers a listener may set (Octavia's insert_headers less
// X-Forwarded-For, which is on by default; see Listener).
const (
	HeaderForwardedPort  Header = "X-Forwarded-Port"
	HeaderForwardedProto Header = "X-Forwarded-Proto"
	HeaderClientVerify   Header = "X-SSL-Client-Verify"
	HeaderClientHasCert  Header = "X-SSL-Client-Has-Cert"
	HeaderClientDN       Header = "X-SSL-Client-DN"
	HeaderClientCN       Header = "X-SSL-Client-CN"
	HeaderIssuer         Header = "X-SSL-Issuer"
	HeaderClientSHA1     Header = "X-SSL-Client-SHA1"
	HeaderClientNotBefor Header = "X-SSL-Client-Not-Before"
	HeaderClientNotAfter Header = "X-SSL-Client-Not-After"
)

// Persistence is a pool's session persistence setting.
type Persistence struct {
	// Type is the persistence kind; PersistenceNone disables persistence.
	Type PersistenceType `json:"type,omitempty"`
	// CookieName is the application cookie for PersistenceAppCookie (an RFC 6265 token).
	CookieName string `json:"cookie_name,omitempty"`
}

// Pool is one backend ("be-<id>").
//
// The backend's mode follows the listeners whose default pool it is (http
// when they are all HTTP or TERMINATED_HTTPS, tcp when they are all TCP or
// HTTPS; a mix is refused). A pool no listener uses is still rendered, in the
// mode of its own protocol. HAProxy keeps the member timeouts on the backend,
// so a pool shared by listeners takes the largest of their member timeouts.
type Pool struct {
	// ID is the pool UUID.
	ID string `json:"id"`
	// Protocol is what the members speak. A listener accepts: TCP → TCP, HTTP
	// or HTTPS pools; HTTP → HTTP; HTTPS → HTTPS or TCP; TERMINATED_HTTPS → HTTP.
	Protocol Protocol `json:"protocol"`
	// Method is the balancing algorithm.
	Method Method `json:"method"`
	// AdminUp false puts every server in maintenance (listeners still listen
	// and answer 503 in http mode, or close connections in tcp mode).
	AdminUp bool `json:"admin_up"`
	// Persistence is the session persistence; cookie types need an http backend.
	Persistence Persistence `json:"persistence"`
	// Members are the pool's servers, each already placed in a slot of this
	// pool (see AssignSlots).
	Members []Member `json:"members"`
	// Slots is the number of server slots rendered (members plus free placeholders).
	Slots int `json:"slots"`
	// Monitor is the pool's health monitor; nil means no health checks (also
	// use nil when the monitor is administratively down).
	Monitor *Monitor `json:"monitor,omitempty"`
	// TLS, when set, re-encrypts: HAProxy speaks TLS to the members (and
	// its checks do too), verifying them against TLS.CAFile when set.
	TLS *TLSOptions `json:"tls,omitempty"`
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
	// Backup members get traffic only when no non-backup member is up.
	// HAProxy cannot change this flag at runtime: adding, removing or
	// flipping a backup member is a reload.
	Backup bool `json:"backup,omitempty"`
	// MonitorAddress, when set, is where health checks go instead of Address.
	// A change of it is a reload (HAProxy cannot clear a check address at runtime).
	MonitorAddress netip.Addr `json:"monitor_address,omitempty"`
	// MonitorPort, when not 0, is where health checks go instead of Port
	// (1..65535). A change of it is a reload, as MonitorAddress.
	MonitorPort int `json:"monitor_port,omitempty"`
	// Slot is the 1-based server slot in the pool's backend (server name SlotName(Slot)).
	Slot int `json:"slot"`
}

// Monitor is a pool health monitor.
//
// Mapping: Delay → inter, Timeout → "timeout check", Rise → rise, Fall → fall.
// Each API maps its own fields: Neutron v1 has one max_retries (Fall =
// max_retries, Rise = 2, so that one lucky probe does not bring a flapping
// member back), Octavia has two (Rise = max_retries, Fall = max_retries_down).
type Monitor struct {
	// Type selects the probe.
	Type MonitorType `json:"type"`
	// Delay is the interval between probes in seconds (values below 1 are rendered as 1).
	Delay int `json:"delay"`
	// Timeout is the probe timeout in seconds (values below 1 are rendered as 1).
	Timeout int `json:"timeout"`
	// Rise is the number of consecutive successful probes that bring a member UP (1..10).
	Rise int `json:"rise"`
	// Fall is the number of consecutive failed probes that take a member DOWN (1..10).
	Fall int `json:"fall"`
	// HTTPMethod is the request method for HTTP/HTTPS probes (upper-case token; default GET).
	HTTPMethod string `json:"http_method,omitempty"`
	// HTTPVersion is "" (HAProxy's default, HTTP/1.0), "1.0" or "1.1", for HTTP/HTTPS probes.
	HTTPVersion string `json:"http_version,omitempty"`
	// DomainName is sent as the Host header; only with HTTPVersion "1.1".
	// It must be a DNS host name (letters, digits, hyphens, dots).
	DomainName string `json:"domain_name,omitempty"`
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
	// HAPROXY_PROXY_NAME (the backend, "be-<pool-id>"), HAPROXY_PROXY_ID,
	// HAPROXY_SERVER_ADDR, HAPROXY_SERVER_PORT, HAPROXY_SERVER_NAME (the slot,
	// "s001"), HAPROXY_SERVER_ID, HAPROXY_SERVER_MAXCONN, HAPROXY_SERVER_CURCONN,
	// HAPROXY_SERVER_SSL, HAPROXY_SERVER_PROTO. Exit status 0 means the member is
	// up, anything else down; HAProxy kills it after "timeout check". It runs in
	// the instance's network namespace with HAProxy's user (root here). Verified
	// against HAProxy 2.6 by TestRealHAProxyRunsThePingCommandWithServerAddressAndPort.
	PingCommand string `json:"ping_command,omitempty"`
}

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

// Defaults for the listener timeouts left zero.
const (
	DefaultTimeoutClientData    = 50 * time.Second
	DefaultTimeoutMemberConnect = 5 * time.Second
	DefaultTimeoutMemberData    = 50 * time.Second
)

// Paths locate one instance's files. Socket paths must fit a unix socket address
// (at most 107 bytes).
type Paths struct {
	// Dir is the instance state directory (<state-dir>/loadbalancer/<lb-id>).
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

// DefaultPaths returns the agent's layout for a load balancer:
// <stateDir>/loadbalancer/<lbID>/ holding etc/haproxy/haproxy.cfg, haproxy.sock,
// master.sock and haproxy.pid.
func DefaultPaths(stateDir, lbID string) Paths {
	dir := filepath.Join(stateDir, "loadbalancer", lbID)
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

// FrontendName is the frontend's proxy name for a listener ID.
func FrontendName(listenerID string) string { return "fe-" + listenerID }

// BackendName is the backend's proxy name for a pool ID.
func BackendName(poolID string) string { return "be-" + poolID }

// PoolByID returns the spec's pool with this id.
func (s Spec) PoolByID(id string) (Pool, bool) {
	for _, p := range s.Pools {
		if p.ID == id {
			return p, true
		}
	}
	return Pool{}, false
}

// ListenerByID returns the spec's listener with this id.
func (s Spec) ListenerByID(id string) (Listener, bool) {
	for _, l := range s.Listeners {
		if l.ID == id {
			return l, true
		}
	}
	return Listener{}, false
}

func orDuration(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

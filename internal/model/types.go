// Package model holds the API-neutral load-balancer graph (load balancer →
// listeners, pools → members and health monitors; see
// docs/010-load-balancer-model.md), the Neutron network objects, and the
// rules that hold whatever the API: ranges, enums, references, status
// vocabulary. It does no I/O: the APIs decode requests into these types,
// the store persists them, the controller reads them.
package model

import (
	"fmt"
	"time"
)

// Kind names a resource type; it is also the key segment in the store.
type Kind string

// The kinds of objects the store holds.
const (
	KindNetwork         Kind = "network"
	KindSubnet          Kind = "subnet"
	KindPort            Kind = "port"
	KindFloatingIP      Kind = "floatingip"
	KindLoadBalancer    Kind = "loadbalancer"
	KindListener        Kind = "listener"
	KindPool            Kind = "pool"
	KindMember          Kind = "member"
	KindHealthMonitor   Kind = "health_monitor"
	KindCertificate     Kind = "certificate"
	KindServiceInstance Kind = "service_instance"
	KindNode            Kind = "node"
	KindNodeAdmin       Kind = "node_admin"
	KindRouterMember    Kind = "router_member"
	KindObserved        Kind = "observed"
)

// Status values of LBaaS v1 objects (neutron's service constants).
const (
	StatusActive        = "ACTIVE"
	StatusPendingCreate = "PENDING_CREATE"
	StatusPendingUpdate = "PENDING_UPDATE"
	StatusPendingDelete = "PENDING_DELETE"
	StatusInactive      = "INACTIVE"
	StatusError         = "ERROR"
	StatusDown          = "DOWN"
)

// Protocols of listeners and pools. HTTPS is TLS passed through to the
// members untouched; TERMINATED_HTTPS (listeners only) ends TLS at HAProxy
// and speaks HTTP to the members.
const (
	ProtocolTCP             = "TCP"
	ProtocolHTTP            = "HTTP"
	ProtocolHTTPS           = "HTTPS"
	ProtocolTerminatedHTTPS = "TERMINATED_HTTPS"
	// ProtocolPrometheus (listeners only) answers GET /metrics with
	// HAProxy's own counters in Prometheus' text format; it has no pool.
	ProtocolPrometheus = "PROMETHEUS"
	// ProtocolProxy and ProtocolProxyV2 (pools only) speak what the
	// listener receives to the members, preceded by a PROXY protocol
	// header (version 1, text; version 2, binary) that tells them the
	// client's address.
	ProtocolProxy   = "PROXY"
	ProtocolProxyV2 = "PROXYV2"
)

// Load-balancing methods (Octavia's lb_algorithm, v1's lb_method).
const (
	MethodRoundRobin       = "ROUND_ROBIN"
	MethodLeastConnections = "LEAST_CONNECTIONS"
	MethodSourceIP         = "SOURCE_IP"
	MethodSourceIPPort     = "SOURCE_IP_PORT"
)

// Health monitor types.
const (
	MonitorPING     = "PING"
	MonitorTCP      = "TCP"
	MonitorHTTP     = "HTTP"
	MonitorHTTPS    = "HTTPS"
	MonitorTLSHello = "TLS-HELLO"
)

// Session persistence types.
const (
	PersistenceSourceIP   = "SOURCE_IP"
	PersistenceHTTPCookie = "HTTP_COOKIE"
	PersistenceAppCookie  = "APP_COOKIE"
)

// DeviceOwnerLoadBalancer marks the port a VIP owns.
const DeviceOwnerLoadBalancer = "neutron:LOADBALANCER"

// Meta is what every stored object carries.
type Meta struct {
	ID        string    `json:"id"`
	TenantID  string    `json:"tenant_id"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Base returns the object's metadata; every resource embeds Meta.
func (m *Meta) Base() *Meta { return m }

// Object is implemented by every stored resource.
type Object interface {
	Base() *Meta
}

// Network is a Neutron network.
type Network struct {
	Meta
	Name           string `json:"name"`
	AdminStateUp   bool   `json:"admin_state_up"`
	Shared         bool   `json:"shared"`
	RouterExternal bool   `json:"router_external"`
	// NetworkType, PhysicalNetwork and SegmentationID say how the network
	// is carried between hosts (Neutron's provider extension; see
	// internal/segment). An empty type is a network stored before
	// segments existed: a bridge on each host, joined to nothing.
	NetworkType     string `json:"network_type,omitempty"`
	PhysicalNetwork string `json:"physical_network,omitempty"`
	SegmentationID  int    `json:"segmentation_id,omitempty"`
	// MTU is what the network's ports may send: the underlay's MTU less
	// the overlay's headers.
	MTU int `json:"mtu,omitempty"`
}

// SegmentKey names the network's segment: two networks with one key
// would share a wire. Empty for a network without a segment.
func (n *Network) SegmentKey() string {
	switch n.NetworkType {
	case "vxlan":
		return fmt.Sprintf("vxlan/%d", n.SegmentationID)
	case "vlan":
		return fmt.Sprintf("vlan/%s/%d", n.PhysicalNetwork, n.SegmentationID)
	case "flat":
		return "flat/" + n.PhysicalNetwork
	}
	return ""
}

// AllocationPool is an inclusive range of addresses a subnet hands out.
type AllocationPool struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// Subnet is an IPv4 subnet of a network.
type Subnet struct {
	Meta
	NetworkID       string           `json:"network_id"`
	Name            string           `json:"name"`
	CIDR            string           `json:"cidr"`
	IPVersion       int              `json:"ip_version"`
	GatewayIP       string           `json:"gateway_ip"`
	AllocationPools []AllocationPool `json:"allocation_pools"`
	EnableDHCP      bool             `json:"enable_dhcp"`
}

// FixedIP is an address a port holds on a subnet.
type FixedIP struct {
	SubnetID  string `json:"subnet_id"`
	IPAddress string `json:"ip_address"`
}

// Port is a Neutron port; the server creates one for each VIP.
type Port struct {
	Meta
	NetworkID    string    `json:"network_id"`
	Name         string    `json:"name"`
	FixedIPs     []FixedIP `json:"fixed_ips"`
	MACAddress   string    `json:"mac_address"`
	DeviceOwner  string    `json:"device_owner"`
	DeviceID     string    `json:"device_id"`
	AdminStateUp bool      `json:"admin_state_up"`
	// BindingHost is the node the port is plugged in on (Neutron's
	// binding:host_id): a load balancer VM's node, or the host an admin
	// (or a compute service) names for a server's port. Each host gets
	// the networks of the ports bound to it, and its overlay reaches the
	// other hosts of each.
	BindingHost string `json:"binding_host_id,omitempty"`
}

// FloatingIP is an address of an external network mapped 1:1 to a port.
type FloatingIP struct {
	Meta
	FloatingNetworkID string `json:"floating_network_id"`
	FloatingIPAddress string `json:"floating_ip_address"`
	PortID            string `json:"port_id"`
	FixedIPAddress    string `json:"fixed_ip_address"`
}

// LoadBalancer is a virtual address with its port on a subnet: the unit
// the controller schedules (one VRRP pair of VMs) and the agents deploy
// (one HAProxy serving every listener).
type LoadBalancer struct {
	Meta
	Name         string   `json:"name"`
	Description  string   `json:"description"`
	AdminStateUp bool     `json:"admin_state_up"`
	VIPNetworkID string   `json:"vip_network_id"`
	VIPSubnetID  string   `json:"vip_subnet_id"`
	VIPPortID    string   `json:"vip_port_id"`
	VIPAddress   string   `json:"vip_address"`
	Provider     string   `json:"provider"`
	Tags         []string `json:"tags,omitempty"`
	// Failovers counts the failovers asked for (Octavia's PUT .../failover):
	// the controller rebuilds both VMs, one after the other, each time it
	// grows (see ServiceInstance.FailedOver).
	Failovers int64 `json:"failovers,omitempty"`
	// AmphoraFailovers counts the failovers of one VM asked for
	// (Octavia's PUT /v2/octavia/amphorae/{id}/failover), the last of
	// FailoverAmphora: the controller rebuilds that VM alone, on its node
	// (see ServiceInstance.AmphoraFailedOver).
	AmphoraFailovers int64  `json:"amphora_failovers,omitempty"`
	FailoverAmphora  string `json:"failover_amphora,omitempty"`
	// FlavorID and AvailabilityZone (a zone's name) choose the topology
	// and where the VMs run (see model.Flavor, model.AvailabilityZone).
	FlavorID         string `json:"flavor_id,omitempty"`
	AvailabilityZone string `json:"availability_zone,omitempty"`
	// ConfigPushes counts the configuration pushes asked for (PUT
	// .../amphorae/{id}/config): each makes the agents render and reload
	// the load balancer's HAProxy again.
	ConfigPushes int64 `json:"config_pushes,omitempty"`
	// VIPPortGiven: the VIP port is one the tenant made and named
	// (Octavia's vip_port_id); deleting the load balancer gives it back
	// instead of deleting it.
	VIPPortGiven bool `json:"vip_port_given,omitempty"`
}

// Listener is a protocol and port of a load balancer's address.
type Listener struct {
	Meta
	LoadBalancerID string `json:"loadbalancer_id"`
	Name           string `json:"name"`
	Description    string `json:"description"`
	AdminStateUp   bool   `json:"admin_state_up"`
	Protocol       string `json:"protocol"`
	ProtocolPort   int    `json:"protocol_port"`
	// ConnectionLimit is the most concurrent connections; -1 is unlimited.
	ConnectionLimit int `json:"connection_limit"`
	// DefaultPoolID is where traffic goes when no L7 policy sends it
	// elsewhere; empty: HTTP answers 503, TCP closes.
	DefaultPoolID string `json:"default_pool_id"`
	// TLSContainerRef names the certificate that terminates TLS on this
	// listener (Octavia's default_tls_container_ref). Empty on a v1 VIP
	// on port 443 means the project's default certificate.
	TLSContainerRef string `json:"default_tls_container_ref"`
	// Timeouts in milliseconds, as Octavia has them (0: the default).
	TimeoutClientData    int      `json:"timeout_client_data"`
	TimeoutMemberConnect int      `json:"timeout_member_connect"`
	TimeoutMemberData    int      `json:"timeout_member_data"`
	TimeoutTCPInspect    int      `json:"timeout_tcp_inspect"`
	Tags                 []string `json:"tags,omitempty"`
	// AllowedCIDRs, when not empty, are the only client networks the
	// listener accepts connections from.
	AllowedCIDRs []string `json:"allowed_cidrs,omitempty"`
	// InsertHeaders are the headers HAProxy sets on requests to the
	// members (HTTP listeners), by name: "true" or "false" (see
	// InsertableHeaders).
	InsertHeaders map[string]string `json:"insert_headers,omitempty"`
	// SNIContainerRefs are further certificates of a TERMINATED_HTTPS
	// listener, chosen by the client's server name; the default one
	// (TLSContainerRef) answers names none of them has.
	SNIContainerRefs []string `json:"sni_container_refs,omitempty"`
	// TLSVersions, TLSCiphers and ALPNProtocols tune a TERMINATED_HTTPS
	// listener's handshake (empty ciphers: OpenSSL's defaults).
	TLSVersions   []string `json:"tls_versions,omitempty"`
	TLSCiphers    string   `json:"tls_ciphers,omitempty"`
	ALPNProtocols []string `json:"alpn_protocols,omitempty"`
	// HSTSMaxAge, when set, adds Strict-Transport-Security to the
	// answers of a TERMINATED_HTTPS listener.
	HSTSMaxAge            *int `json:"hsts_max_age,omitempty"`
	HSTSIncludeSubdomains bool `json:"hsts_include_subdomains,omitempty"`
	HSTSPreload           bool `json:"hsts_preload,omitempty"`
	// ClientAuthentication asks TLS clients for a certificate signed by
	// the CA certificates of ClientCATLSContainerRef: NONE, OPTIONAL or
	// MANDATORY; ClientCRLContainerRef's revocation list is checked too.
	ClientAuthentication    string `json:"client_authentication,omitempty"`
	ClientCATLSContainerRef string `json:"client_ca_tls_container_ref,omitempty"`
	ClientCRLContainerRef   string `json:"client_crl_container_ref,omitempty"`
}

// Client authentication modes of a TERMINATED_HTTPS listener.
const (
	ClientAuthNone      = "NONE"
	ClientAuthOptional  = "OPTIONAL"
	ClientAuthMandatory = "MANDATORY"
)

// Pool is a set of members behind one or more listeners of a load
// balancer. A v1 pool exists before any VIP: LoadBalancerID is then empty.
type Pool struct {
	Meta
	LoadBalancerID string `json:"loadbalancer_id"`
	Name           string `json:"name"`
	Description    string `json:"description"`
	// SubnetID is v1's pool subnet: where members are reached unless they
	// name their own.
	SubnetID           string              `json:"subnet_id"`
	Protocol           string              `json:"protocol"`
	LBMethod           string              `json:"lb_method"`
	SessionPersistence *SessionPersistence `json:"session_persistence"`
	Provider           string              `json:"provider"`
	AdminStateUp       bool                `json:"admin_state_up"`
	// HealthMonitors are the monitors associated with the pool, in order;
	// the data plane checks the members with the first enabled one. v1
	// allows several; v2 keeps to one.
	HealthMonitors []string `json:"health_monitors"`
	Tags           []string `json:"tags,omitempty"`
	// TLSEnabled re-encrypts: HAProxy speaks TLS to the members, checks
	// their certificate against CATLSContainerRef's CA certificates (and
	// CRLContainerRef's revocation list) when set, and presents
	// TLSContainerRef's certificate when set.
	TLSEnabled        bool     `json:"tls_enabled,omitempty"`
	TLSContainerRef   string   `json:"tls_container_ref,omitempty"`
	CATLSContainerRef string   `json:"ca_tls_container_ref,omitempty"`
	CRLContainerRef   string   `json:"crl_container_ref,omitempty"`
	TLSVersions       []string `json:"tls_versions,omitempty"`
	TLSCiphers        string   `json:"tls_ciphers,omitempty"`
	ALPNProtocols     []string `json:"alpn_protocols,omitempty"`
}

// Member is a backend server of a pool.
type Member struct {
	Meta
	PoolID       string `json:"pool_id"`
	Name         string `json:"name"`
	Address      string `json:"address"`
	ProtocolPort int    `json:"protocol_port"`
	Weight       int    `json:"weight"`
	AdminStateUp bool   `json:"admin_state_up"`
	// Backup members serve only when every other member is down.
	Backup bool `json:"backup"`
	// SubnetID is where the member is reached; empty: the pool's subnet.
	SubnetID string `json:"subnet_id"`
	// MonitorAddress and MonitorPort, when set, are where health checks
	// go instead of the member's own address and port.
	MonitorAddress string   `json:"monitor_address"`
	MonitorPort    int      `json:"monitor_port"`
	Tags           []string `json:"tags,omitempty"`
}

// SessionPersistence says how a pool keeps a client on one member.
type SessionPersistence struct {
	Type       string `json:"type"`
	CookieName string `json:"cookie_name,omitempty"`
}

// HealthMonitor checks the members of the pools it is associated with.
type HealthMonitor struct {
	Meta
	Name    string `json:"name"`
	Type    string `json:"type"`
	Delay   int    `json:"delay"`
	Timeout int    `json:"timeout"`
	// MaxRetries is what the creating API called max_retries (v1: failures
	// before down; Octavia: successes before up); Rise and Fall are what
	// the data plane uses, set by that API.
	MaxRetries     int      `json:"max_retries"`
	MaxRetriesDown int      `json:"max_retries_down"`
	Rise           int      `json:"rise"`
	Fall           int      `json:"fall"`
	HTTPMethod     string   `json:"http_method"`
	HTTPVersion    string   `json:"http_version"`
	DomainName     string   `json:"domain_name"`
	URLPath        string   `json:"url_path"`
	ExpectedCodes  string   `json:"expected_codes"`
	AdminStateUp   bool     `json:"admin_state_up"`
	Tags           []string `json:"tags,omitempty"`
}

// VIP is the Neutron LBaaS v1 view of a load balancer with the listener
// that has its id, and of the pool's session persistence. It is not
// stored: the v1 API builds it with VIPOf and stores what Split returns
// (docs/010-load-balancer-model.md).
type VIP struct {
	Meta
	Name               string              `json:"name"`
	Description        string              `json:"description"`
	SubnetID           string              `json:"subnet_id"`
	NetworkID          string              `json:"-"`
	Address            string              `json:"address"`
	PortID             string              `json:"port_id"`
	ProtocolPort       int                 `json:"protocol_port"`
	Protocol           string              `json:"protocol"`
	PoolID             string              `json:"pool_id"`
	SessionPersistence *SessionPersistence `json:"session_persistence"`
	ConnectionLimit    int                 `json:"connection_limit"`
	AdminStateUp       bool                `json:"admin_state_up"`
	// TLSContainerRef names the certificate that terminates TLS on this
	// VIP (Octavia's attribute name). Empty with protocol_port 443 means
	// the project's default certificate.
	TLSContainerRef string `json:"default_tls_container_ref"`
}

// VIPOf is the v1 view of a load balancer, its listener of the same id and
// the listener's default pool (nil when it has none).
func VIPOf(lb *LoadBalancer, l *Listener, p *Pool) VIP {
	v := VIP{Meta: lb.Meta, Name: lb.Name, Description: lb.Description, SubnetID: lb.VIPSubnetID, NetworkID: lb.VIPNetworkID,
		Address: lb.VIPAddress, PortID: lb.VIPPortID, ProtocolPort: l.ProtocolPort, Protocol: l.Protocol, PoolID: l.DefaultPoolID,
		ConnectionLimit: l.ConnectionLimit, AdminStateUp: l.AdminStateUp, TLSContainerRef: l.TLSContainerRef}
	if v.Protocol == ProtocolTerminatedHTTPS {
		v.Protocol = ProtocolHTTP // v1 has no such protocol: the seed's HTTP VIP on 443
	}
	if p != nil && p.SessionPersistence != nil {
		sp := *p.SessionPersistence
		v.SessionPersistence = &sp
	}
	return v
}

// Split returns the load balancer and the listener a v1 VIP is stored as;
// both carry the VIP's id. The session persistence goes to the pool.
func (v VIP) Split() (*LoadBalancer, *Listener) {
	lb := &LoadBalancer{Meta: v.Meta, Name: v.Name, Description: v.Description, AdminStateUp: true,
		VIPNetworkID: v.NetworkID, VIPSubnetID: v.SubnetID, VIPPortID: v.PortID, VIPAddress: v.Address, Provider: ProviderName}
	l := &Listener{Meta: v.Meta, LoadBalancerID: v.ID, Name: v.Name, Description: v.Description, AdminStateUp: v.AdminStateUp,
		Protocol: v.Protocol, ProtocolPort: v.ProtocolPort, ConnectionLimit: v.ConnectionLimit, DefaultPoolID: v.PoolID,
		TLSContainerRef: v.TLSContainerRef}
	return lb, l
}

// ProviderName is the provider every load balancer here has.
const ProviderName = "lbaas"

// Certificate is a TLS certificate with its private key, or CA
// certificates alone (a CA bundle, maybe with a revocation list). The key
// is stored sealed (package secrets) and leaves the server only towards
// the agents that terminate TLS with it.
type Certificate struct {
	Meta
	Name             string `json:"name"`
	CertificatePEM   string `json:"certificate"`
	PrivateKeyPEM    string `json:"private_key"`
	IntermediatesPEM string `json:"intermediates"`
	// CRLPEM is a certificate revocation list kept with a CA bundle (a
	// certificate without a private key): what client_crl_container_ref
	// and crl_container_ref name.
	CRLPEM            string    `json:"crl,omitempty"`
	FingerprintSHA256 string    `json:"fingerprint_sha256"`
	Subject           string    `json:"subject"`
	NotAfter          time.Time `json:"not_after"`
}

// Observed is what the data plane last reported about one object (a pool,
// a VIP or a member); it is kept apart from the desired object so that
// agents' reports never race with a tenant's update of the same object.
type Observed struct {
	Meta
	Status            string    `json:"status"`
	StatusDescription string    `json:"status_description"`
	ReportedAt        time.Time `json:"reported_at"`
	Stats             *Stats    `json:"stats,omitempty"`
}

// Stats are traffic counters of a load balancer, a listener or a pool.
type Stats struct {
	BytesIn           int64 `json:"bytes_in"`
	BytesOut          int64 `json:"bytes_out"`
	ActiveConnections int64 `json:"active_connections"`
	TotalConnections  int64 `json:"total_connections"`
	RequestErrors     int64 `json:"request_errors"`
	// HTTP only (0 on TCP listeners and pools): requests and responses
	// by status class.
	Requests       int64 `json:"requests,omitempty"`
	Responses1xx   int64 `json:"responses_1xx,omitempty"`
	Responses2xx   int64 `json:"responses_2xx,omitempty"`
	Responses3xx   int64 `json:"responses_3xx,omitempty"`
	Responses4xx   int64 `json:"responses_4xx,omitempty"`
	Responses5xx   int64 `json:"responses_5xx,omitempty"`
	ResponsesOther int64 `json:"responses_other,omitempty"`
	// Pools and members: failed connections and responses, retries and
	// redispatches to another member.
	ConnectionErrors int64 `json:"connection_errors,omitempty"`
	ResponseErrors   int64 `json:"response_errors,omitempty"`
	Retries          int64 `json:"retries,omitempty"`
	Redispatches     int64 `json:"redispatches,omitempty"`
	// DeniedRequests were refused by a rule (an L7 REJECT, allowed_cidrs).
	DeniedRequests int64 `json:"denied_requests,omitempty"`
	// Gauges: requests waiting for a member now, and the mean response
	// time of the last 1,024 requests in milliseconds.
	Queued         int64 `json:"queued,omitempty"`
	ResponseTimeMs int64 `json:"response_time_ms,omitempty"`
}

// Add adds o's counters to s. ResponseTimeMs, a mean, is not summed: the
// larger one is kept (one VM serves at a time).
func (s *Stats) Add(o Stats) {
	s.BytesIn += o.BytesIn
	s.BytesOut += o.BytesOut
	s.ActiveConnections += o.ActiveConnections
	s.TotalConnections += o.TotalConnections
	s.RequestErrors += o.RequestErrors
	s.Requests += o.Requests
	s.Responses1xx += o.Responses1xx
	s.Responses2xx += o.Responses2xx
	s.Responses3xx += o.Responses3xx
	s.Responses4xx += o.Responses4xx
	s.Responses5xx += o.Responses5xx
	s.ResponsesOther += o.ResponsesOther
	s.ConnectionErrors += o.ConnectionErrors
	s.ResponseErrors += o.ResponseErrors
	s.Retries += o.Retries
	s.Redispatches += o.Redispatches
	s.DeniedRequests += o.DeniedRequests
	s.Queued += o.Queued
	s.ResponseTimeMs = max(s.ResponseTimeMs, o.ResponseTimeMs)
}

// Package model holds the resources of the Neutron LBaaS v1 API, their
// validation rules and status vocabulary. It does no I/O: the API decodes
// requests into these types, the store persists them, the controller reads
// them.
package model

import "time"

// Kind names a resource type; it is also the key segment in the store.
type Kind string

// The kinds of objects the store holds.
const (
	KindNetwork         Kind = "network"
	KindSubnet          Kind = "subnet"
	KindPort            Kind = "port"
	KindFloatingIP      Kind = "floatingip"
	KindPool            Kind = "pool"
	KindMember          Kind = "member"
	KindVIP             Kind = "vip"
	KindHealthMonitor   Kind = "health_monitor"
	KindCertificate     Kind = "certificate"
	KindServiceInstance Kind = "service_instance"
	KindNode            Kind = "node"
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

// Protocols accepted for pools and VIPs.
const (
	ProtocolTCP   = "TCP"
	ProtocolHTTP  = "HTTP"
	ProtocolHTTPS = "HTTPS"
)

// Load-balancing methods.
const (
	MethodRoundRobin       = "ROUND_ROBIN"
	MethodLeastConnections = "LEAST_CONNECTIONS"
	MethodSourceIP         = "SOURCE_IP"
)

// Health monitor types.
const (
	MonitorPING  = "PING"
	MonitorTCP   = "TCP"
	MonitorHTTP  = "HTTP"
	MonitorHTTPS = "HTTPS"
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
}

// FloatingIP is an address of an external network mapped 1:1 to a port.
type FloatingIP struct {
	Meta
	FloatingNetworkID string `json:"floating_network_id"`
	FloatingIPAddress string `json:"floating_ip_address"`
	PortID            string `json:"port_id"`
	FixedIPAddress    string `json:"fixed_ip_address"`
}

// Pool is an LBaaS v1 pool.
type Pool struct {
	Meta
	Name           string   `json:"name"`
	Description    string   `json:"description"`
	SubnetID       string   `json:"subnet_id"`
	Protocol       string   `json:"protocol"`
	LBMethod       string   `json:"lb_method"`
	Provider       string   `json:"provider"`
	AdminStateUp   bool     `json:"admin_state_up"`
	HealthMonitors []string `json:"health_monitors"`
}

// Member is a backend server of a pool.
type Member struct {
	Meta
	PoolID       string `json:"pool_id"`
	Address      string `json:"address"`
	ProtocolPort int    `json:"protocol_port"`
	Weight       int    `json:"weight"`
	AdminStateUp bool   `json:"admin_state_up"`
}

// SessionPersistence says how a VIP keeps a client on one member.
type SessionPersistence struct {
	Type       string `json:"type"`
	CookieName string `json:"cookie_name,omitempty"`
}

// VIP is the virtual address in front of a pool.
type VIP struct {
	Meta
	Name               string              `json:"name"`
	Description        string              `json:"description"`
	SubnetID           string              `json:"subnet_id"`
	Address            string              `json:"address"`
	PortID             string              `json:"port_id"`
	ProtocolPort       int                 `json:"protocol_port"`
	Protocol           string              `json:"protocol"`
	PoolID             string              `json:"pool_id"`
	SessionPersistence *SessionPersistence `json:"session_persistence"`
	ConnectionLimit    int                 `json:"connection_limit"`
	AdminStateUp       bool                `json:"admin_state_up"`
	// TLSContainerRef names the certificate that terminates TLS on this VIP
	// (Octavia's attribute name). Empty with protocol_port 443 means the
	// project's default certificate.
	TLSContainerRef string `json:"default_tls_container_ref"`
}

// HealthMonitor checks the members of the pools it is associated with.
type HealthMonitor struct {
	Meta
	Type          string `json:"type"`
	Delay         int    `json:"delay"`
	Timeout       int    `json:"timeout"`
	MaxRetries    int    `json:"max_retries"`
	HTTPMethod    string `json:"http_method"`
	URLPath       string `json:"url_path"`
	ExpectedCodes string `json:"expected_codes"`
	AdminStateUp  bool   `json:"admin_state_up"`
}

// Certificate is a TLS certificate with its private key. The key never
// leaves the server except towards the agents that terminate TLS.
type Certificate struct {
	Meta
	Name              string    `json:"name"`
	CertificatePEM    string    `json:"certificate"`
	PrivateKeyPEM     string    `json:"private_key"`
	IntermediatesPEM  string    `json:"intermediates"`
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

// Stats are traffic counters of a pool, summed over its instances.
type Stats struct {
	BytesIn           int64 `json:"bytes_in"`
	BytesOut          int64 `json:"bytes_out"`
	ActiveConnections int64 `json:"active_connections"`
	TotalConnections  int64 `json:"total_connections"`
}

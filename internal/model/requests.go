package model

// Request bodies. Every field is a pointer so that "not sent" differs from
// "sent as zero"; the lbaas tag says where a field may appear (see DecodeBody).

// NetworkRequest is the body of POST/PUT /v2.0/networks.
type NetworkRequest struct {
	TenantID       *string `json:"tenant_id" lbaas:"create"`
	ProjectID      *string `json:"project_id" lbaas:"create"`
	Name           *string `json:"name" lbaas:"create,update"`
	AdminStateUp   *bool   `json:"admin_state_up" lbaas:"create,update"`
	Shared         *bool   `json:"shared" lbaas:"create,update"`
	RouterExternal *bool   `json:"router:external" lbaas:"create,update"`
	// The provider extension: admin-only, set at creation. Updates are
	// accepted only when they change nothing, as the CLI may resend them.
	NetworkType     *string `json:"provider:network_type" lbaas:"create,update"`
	PhysicalNetwork *string `json:"provider:physical_network" lbaas:"create,update,nullable"`
	SegmentationID  *int    `json:"provider:segmentation_id" lbaas:"create,update,nullable"`
	// MTU is derived from the segment; a request may only restate it.
	MTU *int `json:"mtu" lbaas:"create,update"`
}

// AgentRequest is the body of PUT /v2.0/agents/{id}.
type AgentRequest struct {
	AdminStateUp *bool   `json:"admin_state_up" lbaas:"update"`
	Description  *string `json:"description" lbaas:"update,nullable"`
}

// SubnetRequest is the body of POST/PUT /v2.0/subnets.
type SubnetRequest struct {
	TenantID        *string           `json:"tenant_id" lbaas:"create"`
	ProjectID       *string           `json:"project_id" lbaas:"create"`
	NetworkID       *string           `json:"network_id" lbaas:"create,required"`
	Name            *string           `json:"name" lbaas:"create,update"`
	CIDR            *string           `json:"cidr" lbaas:"create,required"`
	IPVersion       *int              `json:"ip_version" lbaas:"create"`
	GatewayIP       *string           `json:"gateway_ip" lbaas:"create,nullable"`
	AllocationPools *[]AllocationPool `json:"allocation_pools" lbaas:"create"`
	EnableDHCP      *bool             `json:"enable_dhcp" lbaas:"create,update"`
}

// FloatingIPRequest is the body of POST/PUT /v2.0/floatingips.
type FloatingIPRequest struct {
	TenantID          *string `json:"tenant_id" lbaas:"create"`
	ProjectID         *string `json:"project_id" lbaas:"create"`
	FloatingNetworkID *string `json:"floating_network_id" lbaas:"create,required"`
	PortID            *string `json:"port_id" lbaas:"create,update,nullable"`
	FixedIPAddress    *string `json:"fixed_ip_address" lbaas:"create,update,nullable"`
}

// PortRequest is the body of POST/PUT /v2.0/ports: a port a tenant makes,
// for instance to give a load balancer its VIP (Octavia's vip_port_id).
type PortRequest struct {
	TenantID     *string    `json:"tenant_id" lbaas:"create"`
	ProjectID    *string    `json:"project_id" lbaas:"create"`
	Name         *string    `json:"name" lbaas:"create,update"`
	NetworkID    *string    `json:"network_id" lbaas:"create,required"`
	FixedIPs     *[]FixedIP `json:"fixed_ips" lbaas:"create"`
	AdminStateUp *bool      `json:"admin_state_up" lbaas:"create,update"`
	// BindingHost is admin-only (binding:host_id).
	BindingHost *string `json:"binding:host_id" lbaas:"create,update,nullable"`
}

// PoolRequest is the body of POST/PUT /v2.0/lb/pools.
type PoolRequest struct {
	TenantID       *string   `json:"tenant_id" lbaas:"create"`
	Name           *string   `json:"name" lbaas:"create,update"`
	Description    *string   `json:"description" lbaas:"create,update"`
	SubnetID       *string   `json:"subnet_id" lbaas:"create,required"`
	Protocol       *string   `json:"protocol" lbaas:"create,required"`
	LBMethod       *string   `json:"lb_method" lbaas:"create,update,required"`
	Provider       *string   `json:"provider" lbaas:"create"`
	AdminStateUp   *bool     `json:"admin_state_up" lbaas:"create,update"`
	HealthMonitors *[]string `json:"health_monitors" lbaas:"create,update"`
}

// MemberRequest is the body of POST/PUT /v2.0/lb/members.
type MemberRequest struct {
	TenantID     *string `json:"tenant_id" lbaas:"create"`
	PoolID       *string `json:"pool_id" lbaas:"create,update,required"`
	Address      *string `json:"address" lbaas:"create,required"`
	ProtocolPort *int    `json:"protocol_port" lbaas:"create,required"`
	Weight       *int    `json:"weight" lbaas:"create,update"`
	AdminStateUp *bool   `json:"admin_state_up" lbaas:"create,update"`
}

// VIPRequest is the body of POST/PUT /v2.0/lb/vips.
type VIPRequest struct {
	TenantID           *string             `json:"tenant_id" lbaas:"create"`
	Name               *string             `json:"name" lbaas:"create,update"`
	Description        *string             `json:"description" lbaas:"create,update"`
	SubnetID           *string             `json:"subnet_id" lbaas:"create,required"`
	Address            *string             `json:"address" lbaas:"create"`
	ProtocolPort       *int                `json:"protocol_port" lbaas:"create,required"`
	Protocol           *string             `json:"protocol" lbaas:"create,required"`
	PoolID             *string             `json:"pool_id" lbaas:"create,update,required"`
	SessionPersistence *SessionPersistence `json:"session_persistence" lbaas:"create,update,nullable"`
	ConnectionLimit    *int                `json:"connection_limit" lbaas:"create,update"`
	AdminStateUp       *bool               `json:"admin_state_up" lbaas:"create,update"`
	TLSContainerRef    *string             `json:"default_tls_container_ref" lbaas:"create,update,nullable"`
}

// HealthMonitorRequest is the body of POST/PUT /v2.0/lb/health_monitors.
type HealthMonitorRequest struct {
	TenantID      *string `json:"tenant_id" lbaas:"create"`
	Type          *string `json:"type" lbaas:"create,required"`
	Delay         *int    `json:"delay" lbaas:"create,update,required"`
	Timeout       *int    `json:"timeout" lbaas:"create,update,required"`
	MaxRetries    *int    `json:"max_retries" lbaas:"create,update,required"`
	HTTPMethod    *string `json:"http_method" lbaas:"create,update"`
	URLPath       *string `json:"url_path" lbaas:"create,update"`
	ExpectedCodes *string `json:"expected_codes" lbaas:"create,update"`
	AdminStateUp  *bool   `json:"admin_state_up" lbaas:"create,update"`
}

// MonitorAssociation is the body of POST /v2.0/lb/pools/{id}/health_monitors.
type MonitorAssociation struct {
	ID       *string `json:"id" lbaas:"create,required"`
	TenantID *string `json:"tenant_id" lbaas:"create"`
}

// CertificateRequest is the body of POST /v2.0/lbaas-certificates.
type CertificateRequest struct {
	TenantID      *string `json:"tenant_id" lbaas:"create"`
	Name          *string `json:"name" lbaas:"create,update"`
	Certificate   *string `json:"certificate" lbaas:"create,required"`
	PrivateKey    *string `json:"private_key" lbaas:"create"`
	Intermediates *string `json:"intermediates" lbaas:"create"`
	CRL           *string `json:"crl" lbaas:"create"`
}

func setString(dst *string, src *string) {
	if src != nil {
		*dst = *src
	}
}

func setInt(dst *int, src *int) {
	if src != nil {
		*dst = *src
	}
}

func setBool(dst *bool, src *bool) {
	if src != nil {
		*dst = *src
	}
}

// Apply copies the sent attributes onto n.
func (r *NetworkRequest) Apply(n *Network) {
	setString(&n.Name, r.Name)
	setBool(&n.AdminStateUp, r.AdminStateUp)
	setBool(&n.Shared, r.Shared)
	setBool(&n.RouterExternal, r.RouterExternal)
	setString(&n.NetworkType, r.NetworkType)
	setString(&n.PhysicalNetwork, r.PhysicalNetwork)
	if r.SegmentationID != nil {
		n.SegmentationID = *r.SegmentationID
	}
}

// Apply copies the sent attributes onto p.
func (r *PoolRequest) Apply(p *Pool) {
	setString(&p.Name, r.Name)
	setString(&p.Description, r.Description)
	setString(&p.SubnetID, r.SubnetID)
	setString(&p.Protocol, r.Protocol)
	setString(&p.LBMethod, r.LBMethod)
	setString(&p.Provider, r.Provider)
	setBool(&p.AdminStateUp, r.AdminStateUp)
	if r.HealthMonitors != nil {
		p.HealthMonitors = append([]string{}, (*r.HealthMonitors)...)
	}
}

// Apply copies the sent attributes onto m.
func (r *MemberRequest) Apply(m *Member) {
	setString(&m.PoolID, r.PoolID)
	setString(&m.Address, r.Address)
	setInt(&m.ProtocolPort, r.ProtocolPort)
	setInt(&m.Weight, r.Weight)
	setBool(&m.AdminStateUp, r.AdminStateUp)
}

// Apply copies the sent attributes onto v.
func (r *VIPRequest) Apply(v *VIP) {
	setString(&v.Name, r.Name)
	setString(&v.Description, r.Description)
	setString(&v.SubnetID, r.SubnetID)
	setString(&v.Address, r.Address)
	setInt(&v.ProtocolPort, r.ProtocolPort)
	setString(&v.Protocol, r.Protocol)
	setString(&v.PoolID, r.PoolID)
	setInt(&v.ConnectionLimit, r.ConnectionLimit)
	setBool(&v.AdminStateUp, r.AdminStateUp)
	setString(&v.TLSContainerRef, r.TLSContainerRef)
	if r.SessionPersistence != nil {
		if r.SessionPersistence.Type == "" {
			v.SessionPersistence = nil // null or {} clears persistence
		} else {
			sp := *r.SessionPersistence
			v.SessionPersistence = &sp
		}
	}
}

// Apply copies the sent attributes onto h.
func (r *HealthMonitorRequest) Apply(h *HealthMonitor) {
	setString(&h.Type, r.Type)
	setInt(&h.Delay, r.Delay)
	setInt(&h.Timeout, r.Timeout)
	setInt(&h.MaxRetries, r.MaxRetries)
	setString(&h.HTTPMethod, r.HTTPMethod)
	setString(&h.URLPath, r.URLPath)
	setString(&h.ExpectedCodes, r.ExpectedCodes)
	setBool(&h.AdminStateUp, r.AdminStateUp)
}

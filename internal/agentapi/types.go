// Package agentapi is the contract between the API server and the agents:
// the desired state of one node, the reports an agent sends back, and the
// HTTP client the agent uses. Agents never see the store.
package agentapi

import (
	"time"

	"lbaas/internal/model"
)

// Paths of the agent API; every one needs a node credential (or --auth none).
const (
	PathHeartbeat = "/agent/v1/nodes/{node}/heartbeat"
	PathDesired   = "/agent/v1/nodes/{node}/desired"
	PathReport    = "/agent/v1/nodes/{node}/report"
)

// Heartbeat registers the node and renews its liveness lease.
// Roles are "compute" (runs load balancers) and "network" (runs the
// router namespace that holds floating IPs); the rest says how the node
// reaches the other hosts (see model.NodeInfo).
type Heartbeat = model.NodeInfo

// HeartbeatReply tells the agent how often to beat.
type HeartbeatReply struct {
	Interval time.Duration `json:"interval"`
	TTL      time.Duration `json:"ttl"`
}

// Desired is everything one node must run. The agent makes its node match
// it, whole, each time it changes (level-triggered).
type Desired struct {
	// Revision is the store revision this state was computed at; the agent
	// passes it back as `after` to wait for the next change.
	Revision  int64      `json:"revision"`
	Instances []Instance `json:"instances"`
	// Router is set for a node with the network role.
	Router *Router `json:"router,omitempty"`
	// Networks are every network the node carries (its instances', its
	// bound ports', its router's) and how, sorted by id.
	Networks []Segment `json:"networks,omitempty"`
}

// Segment is how a node carries one network: its bridge joined to a VXLAN
// device, a VLAN of a mapped interface, or the mapped interface itself.
type Segment struct {
	NetworkID string `json:"network_id"`
	// CIDR is the network's first subnet's (its bridge records it).
	CIDR            string `json:"cidr"`
	Type            string `json:"type"` // vxlan, vlan or flat; "" a network of before segments: local
	PhysicalNetwork string `json:"physical_network,omitempty"`
	SegmentationID  int    `json:"segmentation_id,omitempty"`
	MTU             int    `json:"mtu,omitempty"`
	// VTEPs are the tunnel addresses of the other live hosts that carry the
	// network, sorted: where the VXLAN device sends broadcast and unknown
	// frames (head-end replication, as Neutron's l2population programs it).
	VTEPs []string `json:"vteps,omitempty"`
}

// Network is a Neutron network with the one subnet an instance uses.
type Network struct {
	ID        string `json:"id"`
	SubnetID  string `json:"subnet_id"`
	CIDR      string `json:"cidr"`
	GatewayIP string `json:"gateway_ip"`
	// MTU of the network's ports (0: the kernel's default).
	MTU int `json:"mtu,omitempty"`
}

// Instance is one VM of a service instance: one HAProxy in one namespace
// serving every listener of one load balancer.
type Instance struct {
	VMID      string `json:"vm_id"`
	SIID      string `json:"si_id"`
	Namespace string `json:"namespace"`
	Role      string `json:"role"`
	Priority  int    `json:"priority"`
	// Hash identifies this exact desired state; the agent reports the hash
	// it applied, so the server knows when the data plane caught up.
	Hash string `json:"hash"`

	LoadBalancer model.LoadBalancer `json:"loadbalancer"`
	// Listeners are sorted by port; Pools by id.
	Listeners []Listener `json:"listeners"`
	Pools     []Pool     `json:"pools"`

	VIPNetwork Network `json:"vip_network"`
	// PoolNetwork is where the members are reached (the VIP network when
	// they are on it).
	PoolNetwork Network `json:"pool_network"`
	// VIPNetAddress and PoolNetAddress are this VM's own addresses (CIDR
	// form) on the two networks.
	VIPNetAddress  string `json:"vip_net_address"`
	PoolNetAddress string `json:"pool_net_address"`
	// VIPNetMAC and PoolNetMAC are the MACs of this VM's ports; the
	// router's arbiter pins the VIP to the holder's VIP-network MAC.
	VIPNetMAC  string `json:"vip_net_mac"`
	PoolNetMAC string `json:"pool_net_mac"`
	// Peers are the other VMs of the service instance.
	Peers []Peer `json:"peers"`
	// ExternalCIDRs are reached through the VIP network's gateway (the
	// router), so that replies to floating-IP clients find their way.
	ExternalCIDRs []string `json:"external_cidrs"`
	// Certificates are those the listeners terminate TLS with, by id.
	Certificates []TLS `json:"certificates,omitempty"`
}

// Listener is a listener with the certificate it terminates TLS with
// resolved (a v1 VIP on 443 names none and uses the project's default).
type Listener struct {
	model.Listener
	// CertificateID is set when the listener terminates TLS: the id of an
	// entry of Instance.Certificates.
	CertificateID string `json:"certificate_id,omitempty"`
	// SNICertificateIDs are the listener's SNI certificates (entries of
	// Instance.Certificates), in the listener's order.
	SNICertificateIDs []string `json:"sni_certificate_ids,omitempty"`
	// L7Policies are the listener's policies in position order, each
	// with its rules.
	L7Policies []L7Policy `json:"l7policies,omitempty"`
}

// L7Policy is an L7 policy with its rules (sorted by id; a policy
// matches when all its enabled rules do).
type L7Policy struct {
	model.L7Policy
	Rules []model.L7Rule `json:"rules"`
}

// TerminatesTLS reports whether the listener ends TLS at HAProxy.
func (l Listener) TerminatesTLS() bool { return l.CertificateID != "" }

// Pool is a pool with its members and the monitor that checks them.
type Pool struct {
	model.Pool
	Members []model.Member `json:"members"`
	// Monitor is the first enabled monitor of the pool, if any.
	Monitor *model.HealthMonitor `json:"monitor,omitempty"`
}

// Peer is another VM of the same service instance.
type Peer struct {
	VMID          string `json:"vm_id"`
	Node          string `json:"node"`
	Priority      int    `json:"priority"`
	VIPNetAddress string `json:"vip_net_address"`
}

// TLS is a certificate and its key, for the one agent that needs them.
type TLS struct {
	CertificateID string `json:"certificate_id"`
	Certificate   string `json:"certificate"`
	PrivateKey    string `json:"private_key"`
	Intermediates string `json:"intermediates"`
	// CRL is the revocation list of a CA bundle (one without a key).
	CRL string `json:"crl,omitempty"`
}

// Router is the network node's floating-IP router.
type Router struct {
	// External is the public network (floating IPs live on it).
	External Network `json:"external"`
	// Internal are the networks that VIPs live on.
	Internal    []Network    `json:"internal"`
	FloatingIPs []FloatingIP `json:"floating_ips"`
	// VIPs are arbitrated: the router sends each one's traffic to the VM
	// that holds it (see internal/arbiter).
	VIPs []RouterVIP `json:"vips"`
	// HA, when set, runs the router on every network node, active/standby:
	// the node's router advertises from its own link-local address on the
	// external interface, and VRRP moves the router's addresses (gateways
	// and floating IPs) to the standby when the active router goes silent.
	// Nil: this is the only network node, and its router holds them alone.
	HA *RouterHA `json:"ha,omitempty"`
}

// RouterHA is one network node's part in the router's VRRP group.
type RouterHA struct {
	// Address is this router's own address with its prefix length
	// (169.254.x.y/16), on the external interface.
	Address string `json:"address"`
	// MAC is the external interface's hardware address, fixed per member
	// (02:00 and the four bytes of Address): a member that comes back has
	// the same MAC, so its peers' neighbour entries for it stay right and
	// it hears the active router's adverts at once (with a new MAC it
	// heard none until their entries timed out, and took over).
	MAC string `json:"mac"`
	// Peers are the other members' addresses, dead ones included: a
	// member that comes back finds its peers unchanged.
	Peers            []string `json:"peers"`
	VirtualRouterID  int      `json:"virtual_router_id"`
	Priority         int      `json:"priority"`
	AdvertIntervalMS int      `json:"advert_interval_ms"`
}

// RouterVIP is a VIP and the VMs that may hold it.
type RouterVIP struct {
	Address   string         `json:"address"`
	NetworkID string         `json:"network_id"`
	SubnetID  string         `json:"subnet_id"`
	Members   []RouterMember `json:"members"`
}

// RouterMember is one VM's address and MAC on the VIP network.
type RouterMember struct {
	Address string `json:"address"`
	MAC     string `json:"mac"`
}

// FloatingIP maps a public address to a fixed one.
type FloatingIP struct {
	ID         string `json:"id"`
	FloatingIP string `json:"floating_ip"`
	FixedIP    string `json:"fixed_ip"`
}

// Report is what an agent observed on its node.
type Report struct {
	VMs []VMStatus `json:"vms"`
	// FloatingIPs maps floating IP ids to ACTIVE once their NAT is in place
	// (network nodes only).
	FloatingIPs map[string]string `json:"floating_ips,omitempty"`
}

// VMStatus is the state of one VM.
type VMStatus struct {
	VMID           string                        `json:"vm_id"`
	SIID           string                        `json:"si_id"`
	LoadBalancerID string                        `json:"loadbalancer_id"`
	State          string                        `json:"state"`
	Error          string                        `json:"error,omitempty"`
	AppliedHash    string                        `json:"applied_hash"`
	HAState        string                        `json:"ha_state,omitempty"`
	Members        map[string]model.MemberHealth `json:"members"`
	// Stats are the load balancer's counters (every listener); Listeners
	// and Pools break them down by listener and pool id.
	Stats     model.Stats            `json:"stats"`
	Listeners map[string]model.Stats `json:"listeners,omitempty"`
	Pools     map[string]model.Stats `json:"pools,omitempty"`
	// MemberStats are each member's counters on this VM.
	MemberStats map[string]model.Stats `json:"member_stats,omitempty"`
	// CountersEpoch names the HAProxy worker that counted them (its pid).
	CountersEpoch int `json:"counters_epoch,omitempty"`
	// LastReload is when this VM's HAProxy last started or reloaded (zero:
	// not since the agent started).
	LastReload time.Time `json:"last_reload,omitzero"`
	// VRRP is what the VM's keepalived recorded of its transitions (empty
	// without keepalived).
	VRRP model.VRRPRecord `json:"vrrp,omitzero"`
}

package model

import (
	"slices"
	"time"
)

// HA roles of the two VMs of a service instance, with the seed's priorities.
const (
	RoleActive  = "active"
	RoleStandby = "standby"

	PriorityActive  = 200
	PriorityStandby = 100
)

// ServiceInstance is what the controller makes of a load balancer: the
// set of VMs (HAProxy instances in namespaces) that serve it. Its id is the
// load balancer's.
type ServiceInstance struct {
	Meta
	Name              string `json:"name"`
	LoadBalancerID    string `json:"loadbalancer_id"`
	VMs               []SIVM `json:"vms"`
	Status            string `json:"status"`
	StatusDescription string `json:"status_description"`
	Generation        int64  `json:"generation"`
	// FailedOver is the load balancer's Failovers count the controller
	// last completed; Rebuilt are the VMs built for the one in progress.
	FailedOver int64    `json:"failed_over,omitempty"`
	Rebuilt    []string `json:"rebuilt,omitempty"`
	// AmphoraFailedOver is the load balancer's AmphoraFailovers count the
	// controller last carried out.
	AmphoraFailedOver int64 `json:"amphora_failed_over,omitempty"`
	// Moving is the VM built to replace one on a drained node, until it
	// serves (see controller.drain).
	Moving      string    `json:"moving,omitempty"`
	ScheduledAt time.Time `json:"scheduled_at"`
}

// SIVM is one HAProxy instance of a service instance, on one node.
type SIVM struct {
	ID       string `json:"id"`
	Node     string `json:"node"`
	Role     string `json:"role"`
	Priority int    `json:"priority"`
}

// NodeAdmin is what an admin decided about a node; unlike the node's
// liveness record it outlives the node's lease. Its id is the node's name.
type NodeAdmin struct {
	Meta
	// AdminStateUp false drains the node (Neutron's agent admin state):
	// no new VM goes there, and the controller moves its VMs off one load
	// balancer at a time.
	AdminStateUp bool `json:"admin_state_up"`
}

// RouterMember is a network node's place in the floating-IP router's VRRP
// group: its own address on the external network's link, from which its
// router advertises. Its id is the node's name. Unlike the node's liveness
// record it outlives the node's lease, so that a network node that dies
// stays its peers' VRRP peer and they need no reconfiguration, neither when
// it dies nor when it comes back.
type RouterMember struct {
	Meta
	// Address is a link-local IPv4 address (RouterLink), unique in the group.
	Address string `json:"address"`
}

// NodeInfo is what an agent says of its node at every beat.
type NodeInfo struct {
	Version string   `json:"version"`
	Roles   []string `json:"roles"`
	// TunnelIP is the node's VXLAN endpoint (its --local-ip); empty: the
	// node carries no overlay.
	TunnelIP string `json:"tunnel_ip,omitempty"`
	// Physnets are the physical networks the node has a working uplink
	// to (its --physical-interface-mappings that check out).
	Physnets []string `json:"physnets,omitempty"`
	// Errors are what the agent found wrong with its own configuration
	// (a mapping to an interface that does not exist).
	Errors []string `json:"errors,omitempty"`
	// Zone is the node's availability zone (a failure domain: a rack, a
	// room); the two VMs of a load balancer go to different zones when
	// live nodes allow.
	Zone string `json:"availability_zone,omitempty"`
	// RouterState is the network node's part in a router pair: "active",
	// "standby" or "fault" (as Neutron's L3 HA says ha_state); empty when
	// its router runs alone or not at all.
	RouterState string `json:"router_state,omitempty"`
}

// Equal reports whether two beats say the same.
func (a NodeInfo) Equal(b NodeInfo) bool {
	return a.Version == b.Version && a.TunnelIP == b.TunnelIP && a.Zone == b.Zone && a.RouterState == b.RouterState && slices.Equal(a.Roles, b.Roles) &&
		slices.Equal(a.Physnets, b.Physnets) && slices.Equal(a.Errors, b.Errors)
}

// Overlay reports whether the node says how it reaches other hosts: a
// tunnel address or a physical network. A node that says neither is a
// single-host node: it shares one fabric with the other agents of its
// machine (the all-in-one), and every network is local to it.
func (n *Node) Overlay() bool { return n.TunnelIP != "" || len(n.Physnets) > 0 || len(n.Errors) > 0 }

// Carries reports whether the node can join the network to other hosts:
// a vxlan network needs a tunnel address, a vlan or flat one a working
// uplink to its physical network. A single-host node carries every
// network (they are all local to its machine).
func (n *Node) Carries(nw *Network) bool {
	if !n.Overlay() {
		return true
	}
	switch nw.NetworkType {
	case "vxlan":
		return n.TunnelIP != ""
	case "vlan", "flat":
		return slices.Contains(n.Physnets, nw.PhysicalNetwork)
	}
	return true
}

// Node is a compute node running an agent. Its liveness is a lease in the
// store; the object itself records what the agent said about itself.
type Node struct {
	Meta
	Name    string `json:"name"`
	Address string `json:"address"`
	NodeInfo
	// LeaseID is the etcd lease the record is attached to; a server that
	// renews another lease re-attaches the record to its own.
	LeaseID    int64     `json:"lease_id"`
	LastSeen   time.Time `json:"last_seen"`
	Alive      bool      `json:"alive"`
	Registered time.Time `json:"registered"`
}

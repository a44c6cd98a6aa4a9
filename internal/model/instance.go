package model

import "time"

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
	FailedOver  int64     `json:"failed_over,omitempty"`
	Rebuilt     []string  `json:"rebuilt,omitempty"`
	ScheduledAt time.Time `json:"scheduled_at"`
}

// SIVM is one HAProxy instance of a service instance, on one node.
type SIVM struct {
	ID       string `json:"id"`
	Node     string `json:"node"`
	Role     string `json:"role"`
	Priority int    `json:"priority"`
}

// Node is a compute node running an agent. Its liveness is a lease in the
// store; the object itself records what the agent said about itself.
type Node struct {
	Meta
	Name    string   `json:"name"`
	Address string   `json:"address"`
	Version string   `json:"version"`
	Roles   []string `json:"roles"`
	// LeaseID is the etcd lease the record is attached to; a server that
	// renews another lease re-attaches the record to its own.
	LeaseID    int64     `json:"lease_id"`
	LastSeen   time.Time `json:"last_seen"`
	Alive      bool      `json:"alive"`
	Registered time.Time `json:"registered"`
}

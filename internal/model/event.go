package model

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"time"
)

// KindEvent is the store kind of Event.
const KindEvent Kind = "event"

// Event types: every state change an operator asks "what just happened"
// about.
const (
	// EventVRRP: a VM took the VIP (MASTER) or gave it up (BACKUP, FAULT).
	EventVRRP = "vrrp_transition"
	// EventMember: a member's health changed on the VM holding the VIP,
	// with the monitor's reason.
	EventMember = "member_status"
	// EventConfigApplied: a VM's HAProxy runs a new configuration (a
	// reload or runtime change).
	EventConfigApplied = "config_applied"
	// EventVMError: a VM could not realise its configuration (a refused
	// config, a dead process), with the agent's reason; EventVMRecovered:
	// it serves again.
	EventVMError     = "vm_error"
	EventVMRecovered = "vm_recovered"
	// EventScheduled: a new load balancer's VM was placed on a node;
	// EventRepair: the controller removed a VM or placed its replacement
	// (its node died or was drained, or a failover was asked for).
	EventScheduled = "vm_scheduled"
	EventRepair    = "repair"
	// EventProvisioningError: the load balancer cannot be placed (or can
	// again), with the reason.
	EventProvisioningError = "provisioning_error"
	// EventNodeLost and EventNodeJoined: a node's agent lost or took its
	// lease.
	EventNodeLost   = "node_lost"
	EventNodeJoined = "node_joined"
	// EventFailover: a VM took the VIP from its peer, with what made the
	// peer let go (Trigger) and, when both ends were recorded, how long
	// the VIP was held by neither (DurationMs).
	EventFailover = "failover"
)

// Failover triggers: what the previous holder of the VIP did.
const (
	// TriggerFault: its keepalived went FAULT (its HAProxy died, its VIP
	// link went down, or its health file said so) and gave the VIP up.
	TriggerFault = "fault"
	// TriggerResigned: its keepalived stopped or stepped down to BACKUP.
	TriggerResigned = "resigned"
	// TriggerVRRPSilent: its node still lives but its keepalived stopped
	// without leaving MASTER (killed or frozen). (Two VMs that both hold
	// the VIP, as a partition between them makes, are no failover: the
	// arbiter keeps the traffic on one.)
	TriggerVRRPSilent = "vrrp_silent"
	// TriggerNodeSilent: its whole node went silent (its lease ran out):
	// a power loss, a crash, a cut link.
	TriggerNodeSilent = "node_silent"
)

// Event severities.
const (
	SeverityInfo    = "info"
	SeverityWarning = "warning"
	SeverityError   = "error"
)

// Event is one recorded state change. Its ID sorts newest first (see
// NewEventID), so the store's id order is the history's, most recent
// first, and paging by marker walks back in time. TenantID is the load
// balancer's project, or "admin" for what concerns the cluster (nodes).
type Event struct {
	Meta
	Time           time.Time `json:"time"`
	Type           string    `json:"type"`
	Severity       string    `json:"severity"`
	LoadBalancerID string    `json:"loadbalancer_id,omitempty"`
	// ObjectID is what changed: a member, a VM, a node's name.
	ObjectID string `json:"object_id,omitempty"`
	Node     string `json:"node,omitempty"`
	// From and To are the states before and after (MASTER, ACTIVE...).
	From    string `json:"from,omitempty"`
	To      string `json:"to,omitempty"`
	Message string `json:"message"`
	// DurationMs is what the event measured, when it measures something:
	// for config_applied, the time from the load balancer's latest change
	// (of it or anything in it) to this VM running it; for failover, from
	// the previous holder leaving MASTER to this VM entering it, as both
	// keepalived processes recorded them.
	DurationMs float64 `json:"duration_ms,omitempty"`
	// Trigger is a failover's cause (one of the Trigger constants).
	Trigger string `json:"trigger,omitempty"`
}

// NewEventID returns an id that sorts before every id made earlier: the
// time counted down from the largest int64, in fixed-width hex, and a
// random suffix so that events of one instant never collide.
func NewEventID(t time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%016x-%s", uint64(math.MaxInt64-t.UnixNano()), hex.EncodeToString(b[:]))
}

// NewEvent returns an event at t with its id.
func NewEvent(t time.Time, project, typ, severity, message string) *Event {
	t = t.UTC()
	return &Event{Meta: Meta{ID: NewEventID(t), TenantID: project, CreatedAt: t, UpdatedAt: t}, Time: t, Type: typ, Severity: severity, Message: message}
}

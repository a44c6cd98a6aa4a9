package model

import "time"

// VM states an agent reports.
const (
	VMServing = "SERVING" // HAProxy runs the desired config and its frontend is open
	VMPending = "PENDING" // being built or updated
	VMError   = "ERROR"   // the agent could not realise the desired config
)

// MemberHealth is what one HAProxy instance sees of a member.
type MemberHealth struct {
	Status      string `json:"status"` // ACTIVE, INACTIVE or PENDING_CREATE (no check yet)
	Description string `json:"description"`
}

// VMReport is the observed state of one VM of a service instance, written
// only by the agent of the VM's node (through the API), never by a tenant.
// Its ID is the VM's id.
type VMReport struct {
	Meta
	Node           string                  `json:"node"`
	SIID           string                  `json:"si_id"`
	LoadBalancerID string                  `json:"loadbalancer_id"`
	State          string                  `json:"state"`
	Error          string                  `json:"error,omitempty"`
	AppliedHash    string                  `json:"applied_hash"`
	HAState        string                  `json:"ha_state,omitempty"`
	Members        map[string]MemberHealth `json:"members"`
	// Stats are the load balancer's counters; Listeners and Pools break
	// them down by id.
	Stats     Stats            `json:"stats"`
	Listeners map[string]Stats `json:"listeners,omitempty"`
	Pools     map[string]Stats `json:"pools,omitempty"`
	// MemberStats are each member's counters on this VM.
	MemberStats map[string]Stats `json:"member_stats,omitempty"`
	// CountersEpoch names the HAProxy worker that counted them (its pid,
	// read with the counters; 0: not known). A new one starts every
	// counter at zero.
	CountersEpoch int `json:"counters_epoch,omitempty"`
	// LastReload is when the VM's HAProxy last started or reloaded, as
	// its agent saw it (zero: not since the agent started).
	LastReload time.Time `json:"last_reload,omitzero"`
	// VRRP is what the VM's keepalived recorded of its transitions.
	VRRP       VRRPRecord `json:"vrrp,omitzero"`
	ReportedAt time.Time  `json:"reported_at"`
}

// VRRPRecord is what a VM's keepalived recorded of its own transitions,
// timed as they happened (not when the agent looked): its last state and
// since when, and its last departure from MASTER (the state it went to:
// FAULT when its HAProxy or its VIP link failed, BACKUP or STOP when it
// resigned). A failover's duration and trigger are read from the new
// holder's Since and its peer's Left.
type VRRPRecord struct {
	State  string    `json:"state,omitempty"`
	Since  time.Time `json:"since,omitzero"`
	Left   string    `json:"left,omitempty"`
	LeftAt time.Time `json:"left_at,omitzero"`
}

// KindVMReport is the store kind of VMReport.
const KindVMReport Kind = "vm_report"

package model

import (
	"fmt"
	"strconv"
	"strings"
)

// KindQuota is the kind of a project's quota record (its id is the
// project's).
const KindQuota Kind = "quota"

// QuotaUnlimited is the limit that never refuses (Octavia's -1).
const QuotaUnlimited = -1

// MaxQuota is the largest limit accepted (Octavia's).
const MaxQuota = 2000000000

// Limits are how many objects of each counted kind a project may hold; a
// nil limit means the deployment's default.
type Limits struct {
	LoadBalancer  *int `json:"load_balancer,omitempty"`
	Listener      *int `json:"listener,omitempty"`
	Pool          *int `json:"pool,omitempty"`
	Member        *int `json:"member,omitempty"`
	HealthMonitor *int `json:"health_monitor,omitempty"`
	L7Policy      *int `json:"l7policy,omitempty"`
	L7Rule        *int `json:"l7rule,omitempty"`
}

// Quota is a project's record: the limits an admin set, and a serial that
// every create counted against a finite limit bumps in its own
// transaction. The serial is what makes a limit hold under concurrent
// creates: two of them read the same serial, so the second commit fails
// and retries with a count that includes the first (see package quota).
type Quota struct {
	Meta
	Limits
	Serial int64 `json:"serial"`
}

// Counted names one limited resource: its kind, its name in the quota
// APIs, and its name in Octavia's "quota has been met" message.
type Counted struct {
	Kind  Kind
	Key   string
	Words string
	limit func(*Limits) **int
}

// CountedKinds are the resources quotas limit, in the order messages list
// them.
var CountedKinds = []Counted{
	{KindLoadBalancer, "load_balancer", "Load Balancer", func(l *Limits) **int { return &l.LoadBalancer }},
	{KindListener, "listener", "Listener", func(l *Limits) **int { return &l.Listener }},
	{KindPool, "pool", "Pool", func(l *Limits) **int { return &l.Pool }},
	{KindMember, "member", "Member", func(l *Limits) **int { return &l.Member }},
	{KindHealthMonitor, "health_monitor", "Health Monitor", func(l *Limits) **int { return &l.HealthMonitor }},
	{KindL7Policy, "l7policy", "L7 Policy", func(l *Limits) **int { return &l.L7Policy }},
	{KindL7Rule, "l7rule", "L7 Rule", func(l *Limits) **int { return &l.L7Rule }},
}

// Field returns the limit slot of c in l.
func (c Counted) Field(l *Limits) **int { return c.limit(l) }

// Of returns the limit of k in l, and whether l sets one.
func (l *Limits) Of(k Kind) (int, bool) {
	for _, c := range CountedKinds {
		if c.Kind == k {
			if p := *c.limit(l); p != nil {
				return *p, true
			}
		}
	}
	return 0, false
}

// Over fills l's unset limits from d.
func (l Limits) Over(d Limits) Limits {
	for _, c := range CountedKinds {
		if f := c.limit(&l); *f == nil {
			*f = *c.limit(&d)
		}
	}
	return l
}

// IsEmpty reports whether l sets no limit.
func (l *Limits) IsEmpty() bool {
	for _, c := range CountedKinds {
		if *c.limit(l) != nil {
			return false
		}
	}
	return true
}

// ValidateLimit checks one limit as Octavia does: -1 (unlimited) through
// MaxQuota.
func ValidateLimit(key string, v int) error {
	if v < QuotaUnlimited || v > MaxQuota {
		return invalid(key, "it must be %d (unlimited) through %d, not %d", QuotaUnlimited, MaxQuota, v)
	}
	return nil
}

// ParseLimits reads "load_balancer=10,member=500" (the server's
// --quota-defaults); the kinds not named stay unlimited.
func ParseLimits(s string) (Limits, error) {
	var l Limits
	unlimited := QuotaUnlimited
	for _, c := range CountedKinds {
		v := unlimited
		*c.limit(&l) = &v
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		key, val, ok := strings.Cut(part, "=")
		if !ok {
			return l, fmt.Errorf("quota %q: want kind=limit", part)
		}
		key = strings.TrimSpace(key)
		var slot **int
		for _, c := range CountedKinds {
			if c.Key == key || strings.ReplaceAll(c.Key, "_", "") == key {
				slot = c.limit(&l)
			}
		}
		if slot == nil {
			return l, fmt.Errorf("quota %q: unknown kind %q (one of load_balancer, listener, pool, member, health_monitor, l7policy, l7rule)", part, key)
		}
		n, err := strconv.Atoi(strings.TrimSpace(val))
		if err != nil {
			return l, fmt.Errorf("quota %q: limit is not a number", part)
		}
		if err := ValidateLimit(key, n); err != nil {
			return l, err
		}
		*slot = &n
	}
	return l, nil
}

// QuotaError reports the resources whose limit a create would exceed.
type QuotaError struct {
	Resources []string
}

func (e *QuotaError) Error() string {
	return "Quota has been met for resources: " + strings.Join(e.Resources, ", ")
}

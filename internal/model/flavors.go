package model

import (
	"encoding/json"
	"sort"
	"strings"
)

// The kinds of Octavia's deployment catalog: flavors and availability
// zones, each a name an admin publishes over a profile only admins see.
// They belong to no project.
const (
	KindFlavorProfile Kind = "flavor_profile"
	KindFlavor        Kind = "flavor"
	KindAZProfile     Kind = "availability_zone_profile"
	KindAZ            Kind = "availability_zone"
)

// Load balancer topologies a flavor may ask for.
const (
	TopologySingle        = "SINGLE"
	TopologyActiveStandby = "ACTIVE_STANDBY"
)

// FlavorCapabilities and AZCapabilities are what this provider honours
// in a profile's data, with Octavia's descriptions' intent.
var (
	FlavorCapabilities = map[string]string{
		"loadbalancer_topology": "The load balancer topology: SINGLE (one VM) or ACTIVE_STANDBY (a VRRP pair, the default).",
	}
	AZCapabilities = map[string]string{
		"compute_zone": "The zone of the nodes (their agents' --availability-zone) the load balancer's VMs run on.",
	}
)

// FlavorProfile is an admin's set of provider settings (flavor_data, a
// JSON object of FlavorCapabilities).
type FlavorProfile struct {
	Meta
	Name         string `json:"name"`
	ProviderName string `json:"provider_name"`
	FlavorData   string `json:"flavor_data"`
}

// Flavor is a published profile tenants choose by id.
type Flavor struct {
	Meta
	Name            string `json:"name"`
	Description     string `json:"description"`
	FlavorProfileID string `json:"flavor_profile_id"`
	Enabled         bool   `json:"enabled"`
}

// AZProfile is an admin's placement settings (availability_zone_data, a
// JSON object of AZCapabilities).
type AZProfile struct {
	Meta
	Name         string `json:"name"`
	ProviderName string `json:"provider_name"`
	Data         string `json:"availability_zone_data"`
}

// AvailabilityZone is a published placement tenants choose by name (its
// id is its name).
type AvailabilityZone struct {
	Meta
	Name        string `json:"name"`
	Description string `json:"description"`
	ProfileID   string `json:"availability_zone_profile_id"`
	Enabled     bool   `json:"enabled"`
}

// ParseProfileData checks a profile's JSON object: known keys, string
// values, the topology one of its two values. It returns the settings.
func ParseProfileData(field, data string, caps map[string]string) (map[string]string, error) {
	var m map[string]any
	if err := json.Unmarshal([]byte(data), &m); err != nil || m == nil {
		return nil, invalid(field, "'%s' is not a JSON object", Clip(data))
	}
	out := map[string]string{}
	for k, v := range m {
		if _, ok := caps[k]; !ok {
			keys := make([]string, 0, len(caps))
			for c := range caps {
				keys = append(keys, c)
			}
			sort.Strings(keys)
			return nil, invalid(field, "'%s' is not a capability of this provider (%s)", Clip(k), strings.Join(keys, ", "))
		}
		s, ok := v.(string)
		if !ok {
			return nil, invalid(field, "the value of %s must be a string", k)
		}
		out[k] = s
	}
	if t, ok := out["loadbalancer_topology"]; ok {
		if err := oneOf(field, t, TopologySingle, TopologyActiveStandby); err != nil {
			return nil, err
		}
	}
	if z, ok := out["compute_zone"]; ok && !ValidNodeName(z) {
		return nil, invalid(field, "compute_zone '%s' is not a zone name", Clip(z))
	}
	return out, nil
}

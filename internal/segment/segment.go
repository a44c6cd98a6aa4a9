// Package segment decides how a network is carried between hosts: the
// network types of Neutron's provider extension, the ranges their ids come
// from, and the MTU a network's ports get. It checks requests and picks
// free ids; the store's claims (Claim) keep two networks off one segment.
//
//   - vxlan: an overlay between the hosts' tunnel addresses (UDP 4789),
//     one VNI per network; tenant networks get one from the configured
//     range. The VXLAN and outer headers take 50 bytes of the underlay MTU.
//   - vlan: a VLAN of a physical network (a host interface each agent maps
//     with --physical-interface-mappings), one id per network.
//   - flat: the physical network itself, untagged; one network per
//     physical network.
package segment

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"lbaas/internal/model"
)

// The network types.
const (
	VXLAN = "vxlan"
	VLAN  = "vlan"
	Flat  = "flat"
)

// Bounds of the ids: a VNI is 24 bits; VLAN ids 0 and 4095 are reserved.
const (
	MaxVNI  = 1<<24 - 1
	MaxVLAN = 4094
	// VXLANOverhead is what VXLAN over IPv4 adds to a frame: outer IP (20),
	// UDP (8), VXLAN (8) and inner Ethernet (14) headers.
	VXLANOverhead = 50
)

// Range is an inclusive range of ids.
type Range struct{ Min, Max int }

func (r Range) String() string { return fmt.Sprintf("%d:%d", r.Min, r.Max) }

// ParseRange reads "MIN:MAX" (Neutron's vni_ranges syntax).
func ParseRange(s string) (Range, error) {
	lo, hi, ok := strings.Cut(s, ":")
	a, err1 := strconv.Atoi(lo)
	b, err2 := strconv.Atoi(hi)
	if !ok || err1 != nil || err2 != nil || a < 1 || b < a || b > MaxVNI {
		return Range{}, fmt.Errorf("segment: range %q is not MIN:MAX with 1 <= MIN <= MAX <= %d", s, MaxVNI)
	}
	return Range{a, b}, nil
}

// Config is the operator's choice of segments.
type Config struct {
	// VNIs are handed to tenant networks from this range. Admins may
	// name any VNI.
	VNIs Range
	// PhysicalNetworks are the names that flat and vlan networks may use;
	// each agent maps them to its own interfaces.
	PhysicalNetworks []string
	// MTU is the underlay's MTU (Neutron's global_physnet_mtu).
	MTU int
}

// DefaultVNIs is the tenant range when none is configured.
var DefaultVNIs = Range{1, 65535}

// WithDefaults fills the zero fields.
func (c Config) WithDefaults() Config {
	if c.VNIs == (Range{}) {
		c.VNIs = DefaultVNIs
	}
	if c.MTU == 0 {
		c.MTU = 1500
	}
	return c
}

// MTU is the MTU of a network of the given type.
func (c Config) NetworkMTU(typ string) int {
	if typ == VXLAN {
		return c.MTU - VXLANOverhead
	}
	return c.MTU
}

func bad(format string, args ...any) error {
	return &model.InputError{Type: "InvalidInput", Message: "Invalid input for operation: " + fmt.Sprintf(format, args...)}
}

// Check validates the provider attributes of a network to create (type
// empty: a tenant network, which gets the VXLAN type and its VNI from
// Allocate) and fills its MTU. A zero SegmentationID of a vxlan network
// means "allocate one".
func (c Config) Check(n *model.Network) error {
	if n.NetworkType == "" {
		n.NetworkType = VXLAN
	}
	switch n.NetworkType {
	case VXLAN:
		if n.PhysicalNetwork != "" {
			return bad("provider:physical_network must not be set for a vxlan network.")
		}
		if n.SegmentationID < 0 || n.SegmentationID > MaxVNI {
			return bad("provider:segmentation_id %d is out of the VNI range 1 to %d.", n.SegmentationID, MaxVNI)
		}
	case VLAN:
		if err := c.checkPhysnet(n); err != nil {
			return err
		}
		if n.SegmentationID < 1 || n.SegmentationID > MaxVLAN {
			return bad("provider:segmentation_id is required for a vlan network and must be a VLAN id from 1 to %d, not %d.", MaxVLAN, n.SegmentationID)
		}
	case Flat:
		if err := c.checkPhysnet(n); err != nil {
			return err
		}
		if n.SegmentationID != 0 {
			return bad("provider:segmentation_id must not be set for a flat network.")
		}
	default:
		return bad("provider:network_type %q is not one of vxlan, vlan, flat.", n.NetworkType)
	}
	n.MTU = c.NetworkMTU(n.NetworkType)
	return nil
}

func (c Config) checkPhysnet(n *model.Network) error {
	if n.PhysicalNetwork == "" {
		return bad("provider:physical_network is required for a %s network; configured physical networks: %s.", n.NetworkType, c.physnets())
	}
	if !slices.Contains(c.PhysicalNetworks, n.PhysicalNetwork) {
		return bad("physical network %q is not configured; configured physical networks: %s.", n.PhysicalNetwork, c.physnets())
	}
	return nil
}

func (c Config) physnets() string {
	if len(c.PhysicalNetworks) == 0 {
		return "none"
	}
	return strings.Join(c.PhysicalNetworks, ", ")
}

// Allocate returns the lowest VNI of the tenant range for which inUse
// says no. The caller claims it (Claim) in the transaction that stores the
// network, so two concurrent creates cannot both take it.
func (c Config) Allocate(inUse func(key string) bool) (int, error) {
	for vni := c.VNIs.Min; vni <= c.VNIs.Max; vni++ {
		if !inUse(fmt.Sprintf("vxlan/%d", vni)) {
			return vni, nil
		}
	}
	return 0, &model.ConflictError{Type: "NoNetworkAvailable",
		Message: fmt.Sprintf("Unable to create the network. No tenant network is available for allocation: every VNI of %s is in use.", c.VNIs)}
}

// InUse is the error for a segment another network holds, in Neutron's
// words.
func InUse(n *model.Network) error {
	var msg string
	switch n.NetworkType {
	case VXLAN:
		return &model.ConflictError{Type: "TunnelIdInUse", Message: fmt.Sprintf("Unable to create the network. The tunnel ID %d is in use.", n.SegmentationID)}
	case VLAN:
		msg = fmt.Sprintf("Unable to create the network. The VLAN %d on physical network %s is in use.", n.SegmentationID, n.PhysicalNetwork)
		return &model.ConflictError{Type: "VlanIdInUse", Message: msg}
	default:
		msg = fmt.Sprintf("Unable to create the flat network. Physical network %s is in use.", n.PhysicalNetwork)
		return &model.ConflictError{Type: "FlatNetworkInUse", Message: msg}
	}
}

// Claim is the store's uniqueness key of a network's segment.
func Claim(n *model.Network) string { return "segment/" + n.SegmentKey() }

package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/netip"
	"slices"

	"lbaas/internal/agentapi"
	"lbaas/internal/netns"
)

// checkNode works out what the heartbeat says of the node: its roles, its
// tunnel address, which of its physical-network mappings work, and what is
// wrong with its configuration. The server schedules onto a node only the
// load balancers whose networks it can carry.
func (a *Agent) checkNode() {
	info := agentapi.Heartbeat{Version: "lbaas", Roles: a.o.Roles, Zone: a.o.Zone}
	if a.o.TunnelIP.IsValid() {
		info.TunnelIP = a.o.TunnelIP.String()
	}
	info.Physnets, info.Errors = a.o.Fabric.CheckMappings()
	info.RouterState = a.routerState()
	a.mu.Lock()
	changed := !a.info.Equal(info)
	a.info = info
	a.mu.Unlock()
	if changed && len(info.Errors) > 0 {
		a.log.Error("the node's network configuration is wrong; load balancers that need it go elsewhere", "errors", info.Errors)
	}
}

// applyNetworks builds each network the node carries (its bridge and its
// uplink to the other hosts) and removes the uplinks of networks it no
// longer carries. Skipped when nothing changed since the last full pass.
func (a *Agent) applyNetworks(segs []agentapi.Segment, full bool) {
	b, _ := json.Marshal(segs)
	sum := sha256.Sum256(b)
	hash := hex.EncodeToString(sum[:12])
	if !full && hash == a.uplinks {
		return
	}
	keep := map[string]bool{}
	ok := true
	for _, s := range segs {
		keep[s.NetworkID] = true
		if err := a.applySegment(s); err != nil {
			ok = false
			a.log.Error("network apply failed", "network", s.NetworkID, "type", s.Type, "err", err)
		}
	}
	if err := a.o.Fabric.PruneUplinks(keep); err != nil {
		ok = false
		a.log.Error("removing uplinks of networks no longer carried failed", "err", err)
	}
	if ok {
		a.uplinks = hash
	} else {
		a.uplinks = ""
	}
}

func (a *Agent) applySegment(s agentapi.Segment) error {
	if err := a.ensureNetwork(agentapi.Network{ID: s.NetworkID, CIDR: s.CIDR}); err != nil {
		return err
	}
	seg := netns.Segment{Type: s.Type, PhysicalNetwork: s.PhysicalNetwork, SegmentationID: s.SegmentationID, MTU: s.MTU}
	for _, v := range s.VTEPs {
		if ip, err := netip.ParseAddr(v); err == nil && !slices.Contains(seg.VTEPs, ip) {
			seg.VTEPs = append(seg.VTEPs, ip)
		}
	}
	return a.o.Fabric.EnsureUplink(s.NetworkID, seg)
}

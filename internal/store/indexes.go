package store

import "lbaas/internal/model"

// Names of the secondary indexes.
const (
	// IdxPool indexes members by pool id, and listeners by default pool.
	IdxPool = "pool"
	// IdxLB indexes listeners, pools, L7 policies and rules, service
	// instances and events by load balancer id.
	IdxLB = "loadbalancer"
	// IdxMonitor indexes pools by the monitors associated with them.
	IdxMonitor = "monitor"
	// IdxNetwork indexes subnets and ports by network id.
	IdxNetwork = "network"
	// IdxSubnet indexes ports by the subnets of their fixed IPs.
	IdxSubnet = "subnet"
	// IdxDevice indexes ports by device id (the VIP or VM that owns them).
	IdxDevice = "device"
	// IdxPort indexes floating IPs by the port they map to.
	IdxPort = "port"
	// IdxSI indexes VM reports by service instance.
	IdxSI = "si"
	// IdxNode indexes service instances by the nodes of their VMs.
	IdxNode = "node"
	// IdxAddr indexes the addresses things hold: ports by
	// "<subnet>/<address>", floating IPs by "<network>/<address>",
	// members by "<address>" (their subnet may be unknown), so that an
	// allocation asks about an address instead of scanning a subnet.
	IdxAddr = "addr"
	// IdxCert indexes listeners and pools by the certificates they name.
	IdxCert = "cert"
	// IdxSegment indexes networks by their segment (Network.SegmentKey),
	// so that a VNI or VLAN id in use is found without a scan.
	IdxSegment = "segment"
	// IdxHost indexes ports by the host they are bound to.
	IdxHost = "host"
	// IdxProject indexes the objects quotas count by their project.
	IdxProject = "project"
	// IdxListener indexes L7 policies by listener.
	IdxListener = "listener"
	// IdxL7Policy indexes L7 rules by policy.
	IdxL7Policy = "l7policy"
	// IdxProfile indexes flavors and availability zones by profile.
	IdxProfile = "profile"
	// IdxFlavor and IdxAZ index load balancers by flavor and zone.
	IdxFlavor = "flavor"
	IdxAZ     = "az"
)

func project(o model.Object) []string { return one(o.Base().TenantID) }

func one(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

var indexers = map[model.Kind]map[string]IndexFunc{
	model.KindMember: {
		IdxPool:    func(o model.Object) []string { return one(o.(*model.Member).PoolID) },
		IdxAddr:    func(o model.Object) []string { return one(o.(*model.Member).Address) },
		IdxProject: project,
	},
	model.KindListener: {
		IdxLB:   func(o model.Object) []string { return one(o.(*model.Listener).LoadBalancerID) },
		IdxPool: func(o model.Object) []string { return one(o.(*model.Listener).DefaultPoolID) },
		// Every certificate it names (default, SNI, client CA and CRL): a
		// certificate in use.
		IdxCert: func(o model.Object) []string {
			l := o.(*model.Listener)
			out := append(one(l.TLSContainerRef), l.SNIContainerRefs...)
			return append(append(out, one(l.ClientCATLSContainerRef)...), one(l.ClientCRLContainerRef)...)
		},
		IdxProject: project,
	},
	model.KindPool: {
		IdxLB: func(o model.Object) []string { return one(o.(*model.Pool).LoadBalancerID) },
		// The certificates it re-encrypts with: in use.
		IdxCert: func(o model.Object) []string {
			p := o.(*model.Pool)
			return append(append(one(p.TLSContainerRef), one(p.CATLSContainerRef)...), one(p.CRLContainerRef)...)
		},
		IdxMonitor: func(o model.Object) []string { return o.(*model.Pool).HealthMonitors },
		IdxProject: project,
	},
	model.KindFlavor: {IdxProfile: func(o model.Object) []string { return one(o.(*model.Flavor).FlavorProfileID) }},
	model.KindAZ:     {IdxProfile: func(o model.Object) []string { return one(o.(*model.AvailabilityZone).ProfileID) }},
	model.KindLoadBalancer: {
		IdxProject: project,
		IdxFlavor:  func(o model.Object) []string { return one(o.(*model.LoadBalancer).FlavorID) },
		IdxAZ:      func(o model.Object) []string { return one(o.(*model.LoadBalancer).AvailabilityZone) },
		IdxSubnet:  func(o model.Object) []string { return one(o.(*model.LoadBalancer).VIPSubnetID) },
	},
	model.KindNetwork:       {IdxSegment: func(o model.Object) []string { return one(o.(*model.Network).SegmentKey()) }},
	model.KindHealthMonitor: {IdxProject: project},
	model.KindEvent:         {IdxLB: func(o model.Object) []string { return one(o.(*model.Event).LoadBalancerID) }},
	model.KindL7Policy: {
		IdxListener: func(o model.Object) []string { return one(o.(*model.L7Policy).ListenerID) },
		IdxLB:       func(o model.Object) []string { return one(o.(*model.L7Policy).LoadBalancerID) },
		// The pool a policy sends requests to: such a pool is in use.
		IdxPool:    func(o model.Object) []string { return one(o.(*model.L7Policy).RedirectPoolID) },
		IdxProject: project,
	},
	model.KindL7Rule: {
		IdxL7Policy: func(o model.Object) []string { return one(o.(*model.L7Rule).PolicyID) },
		IdxLB:       func(o model.Object) []string { return one(o.(*model.L7Rule).LoadBalancerID) },
		IdxProject:  project,
	},
	model.KindSubnet: {IdxNetwork: func(o model.Object) []string { return one(o.(*model.Subnet).NetworkID) }},
	model.KindPort: {
		IdxNetwork: func(o model.Object) []string { return one(o.(*model.Port).NetworkID) },
		IdxDevice:  func(o model.Object) []string { return one(o.(*model.Port).DeviceID) },
		IdxHost:    func(o model.Object) []string { return one(o.(*model.Port).BindingHost) },
		IdxSubnet: func(o model.Object) []string {
			var out []string
			for _, f := range o.(*model.Port).FixedIPs {
				out = append(out, f.SubnetID)
			}
			return out
		},
		IdxAddr: func(o model.Object) []string {
			var out []string
			for _, f := range o.(*model.Port).FixedIPs {
				out = append(out, f.SubnetID+"/"+f.IPAddress)
			}
			return out
		},
	},
	model.KindFloatingIP: {
		IdxPort: func(o model.Object) []string { return one(o.(*model.FloatingIP).PortID) },
		IdxAddr: func(o model.Object) []string {
			f := o.(*model.FloatingIP)
			if f.FloatingIPAddress == "" {
				return nil
			}
			return []string{f.FloatingNetworkID + "/" + f.FloatingIPAddress}
		},
	},
	model.KindVMReport: {IdxSI: func(o model.Object) []string { return one(o.(*model.VMReport).SIID) }},
	model.KindServiceInstance: {
		IdxLB: func(o model.Object) []string { return one(o.(*model.ServiceInstance).LoadBalancerID) },
		// Its VMs' ids: which instance a VM's port belongs to.
		IdxDevice: func(o model.Object) []string {
			var out []string
			for _, vm := range o.(*model.ServiceInstance).VMs {
				out = append(out, vm.ID)
			}
			return out
		},
		IdxNode: func(o model.Object) []string {
			var out []string
			for _, vm := range o.(*model.ServiceInstance).VMs {
				out = append(out, vm.Node)
			}
			return out
		},
	},
}

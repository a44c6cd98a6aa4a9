// Package controller turns pools with a VIP into service instances, keeps
// each instance's VMs on live nodes, and derives from the agents' reports
// the status the API shows. It never renders a config or touches a node.
package controller

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"

	"lbaas/internal/agentapi"
	"lbaas/internal/model"
	"lbaas/internal/store"
)

// Namespace is the network namespace of a VM, named as OpenContrail did.
func Namespace(vmID, siID string) string { return "vrouter-" + vmID + ":" + siID }

// DefaultCertificateName is the name of the certificate a project's VIPs on
// port 443 use when they name none.
const DefaultCertificateName = "default"

// network returns the network and subnet an instance attaches to.
func network(st *store.Store, subnetID string) (agentapi.Network, error) {
	se, ok := st.Get(model.KindSubnet, subnetID)
	if !ok {
		return agentapi.Network{}, fmt.Errorf("subnet %s is gone", subnetID)
	}
	sn := se.Obj.(*model.Subnet)
	return agentapi.Network{ID: sn.NetworkID, SubnetID: sn.ID, CIDR: sn.CIDR, GatewayIP: sn.GatewayIP}, nil
}

// vmAddress returns the address (CIDR form) of a VM's port on a subnet.
func vmAddress(st *store.Store, vmID string, nw agentapi.Network) string {
	a, _ := vmPort(st, vmID, nw)
	return a
}

// vmPort returns the address (CIDR form) and MAC of a VM's port on a subnet.
func vmPort(st *store.Store, vmID string, nw agentapi.Network) (string, string) {
	for _, pe := range st.ByIndex(model.KindPort, store.IdxDevice, vmID) {
		p := pe.Obj.(*model.Port)
		for _, f := range p.FixedIPs {
			if f.SubnetID == nw.SubnetID {
				return f.IPAddress + "/" + prefixLen(nw.CIDR), p.MACAddress
			}
		}
	}
	return "", ""
}

func prefixLen(cidr string) string {
	for i := len(cidr) - 1; i >= 0; i-- {
		if cidr[i] == '/' {
			return cidr[i+1:]
		}
	}
	return "32"
}

// TerminatesTLS reports whether a VIP terminates TLS: it names a
// certificate, or it is the seed's HTTP VIP on port 443.
func TerminatesTLS(v *model.VIP) bool {
	return v.TLSContainerRef != "" || (v.ProtocolPort == 443 && v.Protocol == model.ProtocolHTTP)
}

// certificateFor finds the certificate a VIP terminates TLS with.
func certificateFor(st *store.Store, v *model.VIP) (*model.Certificate, error) {
	if v.TLSContainerRef != "" {
		ce, ok := st.Get(model.KindCertificate, v.TLSContainerRef)
		if !ok {
			return nil, fmt.Errorf("certificate %s is gone", v.TLSContainerRef)
		}
		return ce.Obj.(*model.Certificate), nil
	}
	var found *model.Certificate
	for _, ce := range st.List(model.KindCertificate) {
		c := ce.Obj.(*model.Certificate)
		if c.TenantID == v.TenantID && c.Name == DefaultCertificateName && (found == nil || c.CreatedAt.After(found.CreatedAt)) {
			found = c
		}
	}
	if found == nil {
		return nil, fmt.Errorf("VIP %s listens on 443 with protocol HTTP, so it terminates TLS, but project %s has no certificate named %q (upload one with `lbaas cert-create --name default`) and the VIP names none (default_tls_container_ref)", v.ID, v.TenantID, DefaultCertificateName)
	}
	return found, nil
}

// BuildInstance assembles everything one VM needs. The result is complete
// and self-contained: the agent needs nothing else to realise it.
func BuildInstance(st *store.Store, si *model.ServiceInstance, vm model.SIVM) (agentapi.Instance, error) {
	in := agentapi.Instance{VMID: vm.ID, SIID: si.ID, Namespace: Namespace(vm.ID, si.ID), Role: vm.Role, Priority: vm.Priority}
	pe, ok := st.Get(model.KindPool, si.PoolID)
	if !ok {
		return in, fmt.Errorf("pool %s is gone", si.PoolID)
	}
	ve, ok := st.Get(model.KindVIP, si.VIPID)
	if !ok {
		return in, fmt.Errorf("VIP %s is gone", si.VIPID)
	}
	in.Pool = *pe.Obj.(*model.Pool)
	in.VIP = *ve.Obj.(*model.VIP)
	in.Members = []model.Member{}
	for _, me := range st.ByIndex(model.KindMember, store.IdxPool, si.PoolID) {
		in.Members = append(in.Members, *me.Obj.(*model.Member))
	}
	in.Monitors = []model.HealthMonitor{}
	for _, id := range in.Pool.HealthMonitors {
		if he, ok := st.Get(model.KindHealthMonitor, id); ok {
			in.Monitors = append(in.Monitors, *he.Obj.(*model.HealthMonitor))
		}
	}
	var err error
	if in.VIPNetwork, err = network(st, in.VIP.SubnetID); err != nil {
		return in, err
	}
	if in.PoolNetwork, err = network(st, in.Pool.SubnetID); err != nil {
		return in, err
	}
	in.VIPNetAddress, in.VIPNetMAC = vmPort(st, vm.ID, in.VIPNetwork)
	in.PoolNetAddress, in.PoolNetMAC = vmPort(st, vm.ID, in.PoolNetwork)
	if in.VIPNetAddress == "" || in.PoolNetAddress == "" {
		return in, fmt.Errorf("VM %s has no port yet", vm.ID)
	}
	for _, other := range si.VMs {
		if other.ID != vm.ID {
			in.Peers = append(in.Peers, agentapi.Peer{VMID: other.ID, Node: other.Node, Priority: other.Priority, VIPNetAddress: vmAddress(st, other.ID, in.VIPNetwork)})
		}
	}
	in.ExternalCIDRs = externalCIDRs(st)
	if TerminatesTLS(&in.VIP) {
		c, err := certificateFor(st, &in.VIP)
		if err != nil {
			return in, err
		}
		in.TLS = &agentapi.TLS{CertificateID: c.ID, Certificate: c.CertificatePEM, PrivateKey: c.PrivateKeyPEM, Intermediates: c.IntermediatesPEM}
	}
	in.Hash = hashInstance(in)
	return in, nil
}

func externalCIDRs(st *store.Store) []string {
	var out []string
	for _, ne := range st.List(model.KindNetwork) {
		if !ne.Obj.(*model.Network).RouterExternal {
			continue
		}
		for _, se := range st.ByIndex(model.KindSubnet, store.IdxNetwork, ne.Obj.Base().ID) {
			out = append(out, se.Obj.(*model.Subnet).CIDR)
		}
	}
	sort.Strings(out)
	return out
}

// hashInstance identifies a desired state: equal inputs give equal hashes.
// The private key is left out (the certificate id stands for it) so that no
// digest of key material is ever reported or stored.
func hashInstance(in agentapi.Instance) string {
	in.Hash = ""
	if in.TLS != nil {
		t := *in.TLS
		t.PrivateKey = ""
		in.TLS = &t
	}
	b, _ := json.Marshal(in)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

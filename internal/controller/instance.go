// Package controller turns load balancers into service instances, keeps
// each instance's VMs on live nodes, and derives from the agents' reports
// the status the API shows. It never renders a config or touches a node.
package controller

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
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
	nw := agentapi.Network{ID: sn.NetworkID, SubnetID: sn.ID, CIDR: sn.CIDR, GatewayIP: sn.GatewayIP}
	if ne, ok := st.Get(model.KindNetwork, sn.NetworkID); ok {
		nw.MTU = ne.Obj.(*model.Network).MTU
	}
	return nw, nil
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

// TerminatesTLS reports whether a listener terminates TLS: it is
// TERMINATED_HTTPS, it names a certificate, or it is the seed's HTTP VIP on
// port 443. That last rule is v1's alone (a v1 VIP's listener has its load
// balancer's id): an Octavia HTTP listener on 443 is plain HTTP.
func TerminatesTLS(l *model.Listener) bool {
	v1VIP := l.ID == l.LoadBalancerID
	return l.Protocol == model.ProtocolTerminatedHTTPS || l.TLSContainerRef != "" ||
		(v1VIP && l.ProtocolPort == 443 && l.Protocol == model.ProtocolHTTP)
}

// certificateFor finds the certificate a listener terminates TLS with.
func certificateFor(st *store.Store, l *model.Listener) (*model.Certificate, error) {
	if l.TLSContainerRef != "" {
		ce, ok := st.Get(model.KindCertificate, l.TLSContainerRef)
		if !ok {
			return nil, fmt.Errorf("certificate %s is gone", l.TLSContainerRef)
		}
		return ce.Obj.(*model.Certificate), nil
	}
	var found *model.Certificate
	for _, ce := range st.List(model.KindCertificate) {
		c := ce.Obj.(*model.Certificate)
		if c.TenantID == l.TenantID && c.Name == DefaultCertificateName && (found == nil || c.CreatedAt.After(found.CreatedAt)) {
			found = c
		}
	}
	if found == nil {
		return nil, fmt.Errorf("listener %s on port %d terminates TLS, but names no certificate (default_tls_container_ref) and project %s has none named %q (upload one with `lbaas cert-create --name default`)", l.ID, l.ProtocolPort, l.TenantID, DefaultCertificateName)
	}
	return found, nil
}

// addCertificates adds the named certificates (empty names skipped) to
// certs, or says which one of whose is gone.
func addCertificates(st *store.Store, certs map[string]*model.Certificate, whose string, refs ...string) error {
	for _, ref := range refs {
		if ref == "" {
			continue
		}
		ce, ok := st.Get(model.KindCertificate, ref)
		if !ok {
			return fmt.Errorf("certificate %s of %s is gone", ref, whose)
		}
		certs[ref] = ce.Obj.(*model.Certificate)
	}
	return nil
}

// Listeners returns a load balancer's listeners sorted by port.
func Listeners(st *store.Store, lbID string) []*model.Listener {
	var out []*model.Listener
	for _, e := range st.ByIndex(model.KindListener, store.IdxLB, lbID) {
		out = append(out, e.Obj.(*model.Listener))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ProtocolPort != out[j].ProtocolPort {
			return out[i].ProtocolPort < out[j].ProtocolPort
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// L7Policies returns a listener's policies in position order, each with
// its rules sorted by id.
func L7Policies(st *store.Store, listenerID string) []agentapi.L7Policy {
	var out []agentapi.L7Policy
	for _, e := range st.ByIndex(model.KindL7Policy, store.IdxListener, listenerID) {
		p := agentapi.L7Policy{L7Policy: *e.Obj.(*model.L7Policy), Rules: []model.L7Rule{}}
		for _, re := range st.ByIndex(model.KindL7Rule, store.IdxL7Policy, p.ID) {
			p.Rules = append(p.Rules, *re.Obj.(*model.L7Rule))
		}
		sort.Slice(p.Rules, func(i, j int) bool { return p.Rules[i].ID < p.Rules[j].ID })
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Position != out[j].Position {
			return out[i].Position < out[j].Position
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Pools returns a load balancer's pools sorted by id.
func Pools(st *store.Store, lbID string) []*model.Pool {
	var out []*model.Pool
	for _, e := range st.ByIndex(model.KindPool, store.IdxLB, lbID) {
		out = append(out, e.Obj.(*model.Pool))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Members returns a pool's members sorted by id.
func Members(st *store.Store, poolID string) []model.Member {
	out := []model.Member{}
	for _, me := range st.ByIndex(model.KindMember, store.IdxPool, poolID) {
		out = append(out, *me.Obj.(*model.Member))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// memberSubnet is the one subnet a load balancer's members are reached on:
// its pools' (v1) or its members' own (v2), else the VIP's. Members on
// several subnets would need a port on each; that is refused for now.
func memberSubnet(st *store.Store, lb *model.LoadBalancer, pools []*model.Pool) (string, error) {
	subnets := map[string]bool{}
	for _, p := range pools {
		if p.SubnetID != "" {
			subnets[p.SubnetID] = true
		}
		for _, m := range Members(st, p.ID) {
			if m.SubnetID != "" && m.SubnetID != p.SubnetID {
				subnets[m.SubnetID] = true
			}
		}
	}
	switch len(subnets) {
	case 0:
		return lb.VIPSubnetID, nil
	case 1:
		for s := range subnets {
			return s, nil
		}
	}
	names := make([]string, 0, len(subnets))
	for s := range subnets {
		names = append(names, s)
	}
	sort.Strings(names)
	return "", fmt.Errorf("the members of load balancer %s are on %d subnets (%v); this provider reaches members on one subnet per load balancer", lb.ID, len(names), names)
}

// ErrNoPortYet says a VM waits for the controller to give it an address on
// a network it now needs (a member on a new subnet): a moment's work, not
// a fault.
var ErrNoPortYet = errors.New("has no port on every network it needs yet")

// BuildInstance assembles everything one VM needs. The result is complete
// and self-contained: the agent needs nothing else to realise it.
func BuildInstance(st *store.Store, si *model.ServiceInstance, vm model.SIVM) (agentapi.Instance, error) {
	in := agentapi.Instance{VMID: vm.ID, SIID: si.ID, Namespace: Namespace(vm.ID, si.ID), Role: vm.Role, Priority: vm.Priority}
	le, ok := st.Get(model.KindLoadBalancer, si.LoadBalancerID)
	if !ok {
		return in, fmt.Errorf("load balancer %s is gone", si.LoadBalancerID)
	}
	in.LoadBalancer = *le.Obj.(*model.LoadBalancer)
	pools := Pools(st, si.LoadBalancerID)
	in.Listeners = []agentapi.Listener{}
	certs := map[string]*model.Certificate{}
	for _, l := range Listeners(st, si.LoadBalancerID) {
		al := agentapi.Listener{Listener: *l, L7Policies: L7Policies(st, l.ID)}
		if TerminatesTLS(l) {
			c, err := certificateFor(st, l)
			if err != nil {
				return in, err
			}
			al.CertificateID = c.ID
			certs[c.ID] = c
			for _, ref := range l.SNIContainerRefs {
				al.SNICertificateIDs = append(al.SNICertificateIDs, ref)
			}
			refs := append(append([]string{}, l.SNIContainerRefs...), l.ClientCATLSContainerRef, l.ClientCRLContainerRef)
			if err := addCertificates(st, certs, "listener "+l.ID, refs...); err != nil {
				return in, err
			}
		}
		in.Listeners = append(in.Listeners, al)
	}
	in.Pools = []agentapi.Pool{}
	for _, p := range pools {
		ap := agentapi.Pool{Pool: *p, Members: Members(st, p.ID)}
		if p.TLSEnabled {
			if err := addCertificates(st, certs, "pool "+p.ID, p.TLSContainerRef, p.CATLSContainerRef, p.CRLContainerRef); err != nil {
				return in, err
			}
		}
		for _, id := range p.HealthMonitors {
			if he, ok := st.Get(model.KindHealthMonitor, id); ok && he.Obj.(*model.HealthMonitor).AdminStateUp {
				// HAProxy checks a server one way: the first enabled
				// monitor wins.
				h := *he.Obj.(*model.HealthMonitor)
				ap.Monitor = &h
				break
			}
		}
		in.Pools = append(in.Pools, ap)
	}
	ids := make([]string, 0, len(certs))
	for id := range certs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		c := certs[id]
		in.Certificates = append(in.Certificates, agentapi.TLS{CertificateID: c.ID, Certificate: c.CertificatePEM, PrivateKey: c.PrivateKeyPEM,
			Intermediates: c.IntermediatesPEM, CRL: c.CRLPEM})
	}
	poolSubnet, err := memberSubnet(st, &in.LoadBalancer, pools)
	if err != nil {
		return in, err
	}
	if in.VIPNetwork, err = network(st, in.LoadBalancer.VIPSubnetID); err != nil {
		return in, err
	}
	if in.PoolNetwork, err = network(st, poolSubnet); err != nil {
		return in, err
	}
	in.VIPNetAddress, in.VIPNetMAC = vmPort(st, vm.ID, in.VIPNetwork)
	in.PoolNetAddress, in.PoolNetMAC = vmPort(st, vm.ID, in.PoolNetwork)
	if in.VIPNetAddress == "" || in.PoolNetAddress == "" {
		return in, fmt.Errorf("VM %s: %w", vm.ID, ErrNoPortYet)
	}
	for _, other := range si.VMs {
		if other.ID != vm.ID {
			in.Peers = append(in.Peers, agentapi.Peer{VMID: other.ID, Node: other.Node, Priority: other.Priority, VIPNetAddress: vmAddress(st, other.ID, in.VIPNetwork)})
		}
	}
	in.ExternalCIDRs = externalCIDRs(st)
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
	certs := make([]agentapi.TLS, len(in.Certificates))
	for i, c := range in.Certificates {
		c.PrivateKey = ""
		certs[i] = c
	}
	in.Certificates = certs
	b, _ := json.Marshal(in)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

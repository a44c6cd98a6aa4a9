package ipam

import (
	"fmt"
	"net/netip"
	"time"

	"lbaas/internal/model"
	"lbaas/internal/store"
)

// LastAddr is the broadcast address of an IPv4 prefix.
func LastAddr(p netip.Prefix) netip.Addr {
	a := p.Addr().As4()
	n := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	n |= (1 << (32 - p.Bits())) - 1
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

// Allocate returns the wanted address of sn if it is free, or the lowest
// free one when want is empty; the caller claims it (Claim) in the
// transaction that uses it. Errors are the model's: a bad or foreign
// address is an input error, a taken one or a full subnet a conflict.
func Allocate(st *store.Store, sn *model.Subnet, want string) (netip.Addr, error) {
	return allocate(st, sn, want, true)
}

// AllocateServerPort is Allocate for a server's port: an address asked
// for may be one that members already name, since a member is the address
// of a server, and this port is that server's.
func AllocateServerPort(st *store.Store, sn *model.Subnet, want string) (netip.Addr, error) {
	return allocate(st, sn, want, false)
}

func allocate(st *store.Store, sn *model.Subnet, want string, membersHold bool) (netip.Addr, error) {
	if want == "" {
		a, err := Next(st, sn)
		if err != nil {
			return a, &model.ConflictError{Type: "IpAddressGenerationFailure", Message: err.Error()}
		}
		return a, nil
	}
	a, err := model.ParseIPv4("address", want)
	if err != nil {
		return a, err
	}
	if p := netip.MustParsePrefix(sn.CIDR); !p.Contains(a) || a == p.Addr() || a == LastAddr(p) {
		return a, &model.InputError{Type: "InvalidIpForSubnet", Message: fmt.Sprintf("IP address %s is not a valid IP for the specified subnet %s.", a, sn.CIDR)}
	}
	taken := InUse(st, sn, a)
	if !membersHold {
		taken = heldByPort(st, sn, a)
	}
	if taken || a.String() == sn.GatewayIP {
		return a, &model.ConflictError{Type: "IpAddressInUse", Message: fmt.Sprintf("Unable to complete operation for network %s. The IP address %s is in use.", sn.NetworkID, a)}
	}
	return a, nil
}

// AddVIPPort allocates the VIP address of load balancer lb on the subnet
// se (want: a requested address, or "") and adds to t the subnet's
// revision, the address's claim and the port that holds it (id
// lb.VIPPortID, device lb.ID). It fills lb's VIP address and network.
// Both APIs create load balancers through it.
func AddVIPPort(st *store.Store, t *store.Txn, se store.Entry, lb *model.LoadBalancer, want string) (*model.Port, error) {
	sn := se.Obj.(*model.Subnet)
	addr, err := Allocate(st, sn, want)
	if err != nil {
		return nil, err
	}
	lb.VIPAddress, lb.VIPNetworkID, lb.VIPSubnetID = addr.String(), sn.NetworkID, sn.ID
	port := &model.Port{Meta: lb.Meta, Name: "vip-" + lb.ID, NetworkID: sn.NetworkID, DeviceOwner: model.DeviceOwnerLoadBalancer,
		DeviceID: lb.ID, AdminStateUp: true, MACAddress: RandomMAC(), FixedIPs: []model.FixedIP{{SubnetID: sn.ID, IPAddress: lb.VIPAddress}}}
	port.ID = lb.VIPPortID
	t.Require(model.KindSubnet, sn.ID, se.Rev).
		Claim(Claim(sn.ID, addr), port.ID).
		Create(model.KindPort, port)
	return port, nil
}

// ReleaseVIPPort adds to t what deleting a load balancer's VIP port
// takes: the port, the claims of its addresses, and the floating IPs that
// mapped it, which are unmapped.
func ReleaseVIPPort(st *store.Store, t *store.Txn, portID string, now time.Time) {
	if pe, ok := st.Get(model.KindPort, portID); ok {
		t.Delete(model.KindPort, portID, pe.Rev)
		for _, f := range pe.Obj.(*model.Port).FixedIPs {
			if a, err := netip.ParseAddr(f.IPAddress); err == nil {
				t.Release(Claim(f.SubnetID, a))
			}
		}
	}
	UnmapFloatingIPs(st, t, portID, now)
}

// UnmapFloatingIPs adds to t the unmapping of the floating IPs that map a
// port being deleted.
func UnmapFloatingIPs(st *store.Store, t *store.Txn, portID string, now time.Time) {
	for _, fe := range st.ByIndex(model.KindFloatingIP, store.IdxPort, portID) {
		f := *fe.Obj.(*model.FloatingIP)
		f.PortID, f.FixedIPAddress, f.UpdatedAt = "", "", now
		t.Update(model.KindFloatingIP, &f, fe.Rev)
	}
}

// TakeVIPPort adds to t what making a tenant's port (pe) the VIP port of
// load balancer lb takes: the port marked as the load balancer's, and
// lb's VIP address, subnet and network set from it. The port must be free
// (no device) and hold an address.
func TakeVIPPort(t *store.Txn, pe store.Entry, lb *model.LoadBalancer, now time.Time) error {
	p := *pe.Obj.(*model.Port)
	if p.DeviceID != "" {
		return &model.ConflictError{Type: "PortInUse", Message: fmt.Sprintf("Port %s is already used by %s %s.", p.ID, p.DeviceOwner, p.DeviceID)}
	}
	if len(p.FixedIPs) == 0 {
		return &model.InputError{Type: "ValidationException", Message: fmt.Sprintf("Validation failure: Port %s has no fixed IP.", p.ID)}
	}
	lb.VIPPortID, lb.VIPPortGiven = p.ID, true
	lb.VIPAddress, lb.VIPSubnetID, lb.VIPNetworkID = p.FixedIPs[0].IPAddress, p.FixedIPs[0].SubnetID, p.NetworkID
	p.DeviceOwner, p.DeviceID, p.UpdatedAt = model.DeviceOwnerLoadBalancer, lb.ID, now
	t.Update(model.KindPort, &p, pe.Rev)
	return nil
}

// GiveBackVIPPort adds to t the return of a tenant's port that a deleted
// load balancer held: it stays, with its address, free for another use.
func GiveBackVIPPort(st *store.Store, t *store.Txn, portID string, now time.Time) {
	pe, ok := st.Get(model.KindPort, portID)
	if !ok {
		return
	}
	p := *pe.Obj.(*model.Port)
	p.DeviceOwner, p.DeviceID, p.UpdatedAt = "", "", now
	t.Update(model.KindPort, &p, pe.Rev)
}

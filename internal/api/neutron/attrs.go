package neutron

import (
	"lbaas/internal/controller"
	"lbaas/internal/model"
	"lbaas/internal/store"
)

type attrFuncs = map[string]func(model.Object) any

// The cheap attributes of each collection: the ones clients filter on
// (names, parents) and ask for with `fields` in name-or-id lookups.
func init() {
	networkRes.attrs = attrFuncs{
		"name":            func(o model.Object) any { return o.(*model.Network).Name },
		"shared":          func(o model.Object) any { return o.(*model.Network).Shared },
		"router:external": func(o model.Object) any { return o.(*model.Network).RouterExternal },
		"admin_state_up":  func(o model.Object) any { return o.(*model.Network).AdminStateUp },
	}
	subnetRes.attrs = attrFuncs{
		"name":       func(o model.Object) any { return o.(*model.Subnet).Name },
		"network_id": func(o model.Object) any { return o.(*model.Subnet).NetworkID },
		"cidr":       func(o model.Object) any { return o.(*model.Subnet).CIDR },
	}
	subnetRes.indexed = map[string]string{"network_id": store.IdxNetwork}
	portRes.attrs = attrFuncs{
		"name":         func(o model.Object) any { return o.(*model.Port).Name },
		"network_id":   func(o model.Object) any { return o.(*model.Port).NetworkID },
		"device_id":    func(o model.Object) any { return o.(*model.Port).DeviceID },
		"device_owner": func(o model.Object) any { return o.(*model.Port).DeviceOwner },
	}
	portRes.indexed = map[string]string{"device_id": store.IdxDevice, "network_id": store.IdxNetwork}
	floatingIPRes.attrs = attrFuncs{
		"floating_network_id": func(o model.Object) any { return o.(*model.FloatingIP).FloatingNetworkID },
		"floating_ip_address": func(o model.Object) any { return o.(*model.FloatingIP).FloatingIPAddress },
		"port_id":             func(o model.Object) any { return nullable(o.(*model.FloatingIP).PortID) },
		"fixed_ip_address":    func(o model.Object) any { return nullable(o.(*model.FloatingIP).FixedIPAddress) },
	}
	floatingIPRes.indexed = map[string]string{"port_id": store.IdxPort}
	poolRes.attrs = attrFuncs{
		"name":        func(o model.Object) any { return o.(*model.Pool).Name },
		"description": func(o model.Object) any { return o.(*model.Pool).Description },
		"subnet_id":   func(o model.Object) any { return o.(*model.Pool).SubnetID },
		"protocol":    func(o model.Object) any { return o.(*model.Pool).Protocol },
		"lb_method":   func(o model.Object) any { return o.(*model.Pool).LBMethod },
		"provider":    func(o model.Object) any { return o.(*model.Pool).Provider },
	}
	memberRes.attrs = attrFuncs{
		"pool_id":        func(o model.Object) any { return o.(*model.Member).PoolID },
		"address":        func(o model.Object) any { return o.(*model.Member).Address },
		"protocol_port":  func(o model.Object) any { return o.(*model.Member).ProtocolPort },
		"weight":         func(o model.Object) any { return o.(*model.Member).Weight },
		"admin_state_up": func(o model.Object) any { return o.(*model.Member).AdminStateUp },
	}
	memberRes.indexed = map[string]string{"pool_id": store.IdxPool}
	memberRes.typed = typedMember
	// A VIP's attributes are read from its projection (see projectVIP);
	// pool_id is its listener's default pool, which that index answers.
	vipRes.attrs = attrFuncs{
		"name":          func(o model.Object) any { return o.(*v1VIP).Name },
		"pool_id":       func(o model.Object) any { return o.(*v1VIP).PoolID },
		"subnet_id":     func(o model.Object) any { return o.(*v1VIP).SubnetID },
		"address":       func(o model.Object) any { return o.(*v1VIP).Address },
		"port_id":       func(o model.Object) any { return o.(*v1VIP).PortID },
		"protocol":      func(o model.Object) any { return o.(*v1VIP).Protocol },
		"protocol_port": func(o model.Object) any { return o.(*v1VIP).ProtocolPort },
	}
	vipRes.indexed = map[string]string{"pool_id": store.IdxPool}
	monitorRes.attrs = attrFuncs{
		"type": func(o model.Object) any { return o.(*model.HealthMonitor).Type },
	}
	certRes.attrs = attrFuncs{
		"name": func(o model.Object) any { return o.(*model.Certificate).Name },
	}
}

// MemberView is viewMember as a struct: a list of 10,000 members encodes
// several times faster than the same list of maps. The API benchmark's
// baseline decodes and re-encodes the same type.
type MemberView struct {
	ID                string `json:"id"`
	TenantID          string `json:"tenant_id"`
	ProjectID         string `json:"project_id"`
	CreatedAt         string `json:"created_at"`
	UpdatedAt         string `json:"updated_at"`
	PoolID            string `json:"pool_id"`
	Address           string `json:"address"`
	ProtocolPort      int    `json:"protocol_port"`
	Weight            int    `json:"weight"`
	AdminStateUp      bool   `json:"admin_state_up"`
	Status            string `json:"status"`
	StatusDescription string `json:"status_description"`
}

func typedMember(s *Server, e store.Entry) any {
	m := e.Obj.(*model.Member)
	st := controller.MemberStatus(s.st, m)
	return &MemberView{
		ID: m.ID, TenantID: m.TenantID, ProjectID: m.TenantID,
		CreatedAt: m.CreatedAt.Format(timeFormat), UpdatedAt: m.UpdatedAt.Format(timeFormat),
		PoolID: m.PoolID, Address: m.Address, ProtocolPort: m.ProtocolPort, Weight: m.Weight,
		AdminStateUp: m.AdminStateUp, Status: st.Status, StatusDescription: st.Description,
	}
}

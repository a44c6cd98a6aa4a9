package model

import "fmt"

// New returns an empty object of kind k, for decoding stored values.
func New(k Kind) (Object, error) {
	switch k {
	case KindNetwork:
		return &Network{}, nil
	case KindSubnet:
		return &Subnet{}, nil
	case KindPort:
		return &Port{}, nil
	case KindFloatingIP:
		return &FloatingIP{}, nil
	case KindPool:
		return &Pool{}, nil
	case KindMember:
		return &Member{}, nil
	case KindLoadBalancer:
		return &LoadBalancer{}, nil
	case KindListener:
		return &Listener{}, nil
	case KindHealthMonitor:
		return &HealthMonitor{}, nil
	case KindL7Policy:
		return &L7Policy{}, nil
	case KindL7Rule:
		return &L7Rule{}, nil
	case KindFlavorProfile:
		return &FlavorProfile{}, nil
	case KindFlavor:
		return &Flavor{}, nil
	case KindAZProfile:
		return &AZProfile{}, nil
	case KindAZ:
		return &AvailabilityZone{}, nil
	case KindCertificate:
		return &Certificate{}, nil
	case KindServiceInstance:
		return &ServiceInstance{}, nil
	case KindNode:
		return &Node{}, nil
	case KindNodeAdmin:
		return &NodeAdmin{}, nil
	case KindRouterMember:
		return &RouterMember{}, nil
	case KindObserved:
		return &Observed{}, nil
	case KindVMReport:
		return &VMReport{}, nil
	case KindEvent:
		return &Event{}, nil
	case KindQuota:
		return &Quota{}, nil
	case KindProject:
		return &Project{}, nil
	case KindUser:
		return &User{}, nil
	case KindRole:
		return &Role{}, nil
	case KindAssignment:
		return &Assignment{}, nil
	case KindToken:
		return &Token{}, nil
	case KindAppCred:
		return &AppCred{}, nil
	}
	return nil, fmt.Errorf("unknown kind %q", k)
}

// KindOf returns the kind of a stored object.
func KindOf(o Object) Kind {
	switch o.(type) {
	case *Network:
		return KindNetwork
	case *Subnet:
		return KindSubnet
	case *Port:
		return KindPort
	case *FloatingIP:
		return KindFloatingIP
	case *Pool:
		return KindPool
	case *Member:
		return KindMember
	case *LoadBalancer:
		return KindLoadBalancer
	case *Listener:
		return KindListener
	case *HealthMonitor:
		return KindHealthMonitor
	case *L7Policy:
		return KindL7Policy
	case *L7Rule:
		return KindL7Rule
	case *FlavorProfile:
		return KindFlavorProfile
	case *Flavor:
		return KindFlavor
	case *AZProfile:
		return KindAZProfile
	case *AvailabilityZone:
		return KindAZ
	case *Certificate:
		return KindCertificate
	case *ServiceInstance:
		return KindServiceInstance
	case *Node:
		return KindNode
	case *NodeAdmin:
		return KindNodeAdmin
	case *RouterMember:
		return KindRouterMember
	case *Observed:
		return KindObserved
	case *VMReport:
		return KindVMReport
	case *Event:
		return KindEvent
	case *Quota:
		return KindQuota
	case *Project:
		return KindProject
	case *User:
		return KindUser
	case *Role:
		return KindRole
	case *Assignment:
		return KindAssignment
	case *Token:
		return KindToken
	case *AppCred:
		return KindAppCred
	}
	return ""
}

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
	case KindVIP:
		return &VIP{}, nil
	case KindHealthMonitor:
		return &HealthMonitor{}, nil
	case KindCertificate:
		return &Certificate{}, nil
	case KindServiceInstance:
		return &ServiceInstance{}, nil
	case KindNode:
		return &Node{}, nil
	case KindObserved:
		return &Observed{}, nil
	}
	return nil, fmt.Errorf("unknown kind %q", k)
}

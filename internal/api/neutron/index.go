package neutron

import (
	"sync"

	"lbaas/internal/model"
)

// relations are the derived, read-only attributes (a pool's members, its
// VIP, a monitor's pools). They are rebuilt once per store revision and
// shared by all readers, so listing 100 pools with 10,000 members costs one
// pass over the members, not one per pool.
type relations struct {
	rev            int64
	membersByPool  map[string][]string
	vipByPool      map[string]string
	poolsByMonitor map[string][]string
	observed       map[string]*model.Observed
	subnetsByNet   map[string][]string
	instanceByPool map[string]*model.ServiceInstance
}

type relCache struct {
	mu  sync.Mutex
	cur *relations
}

func (s *Server) rel() *relations {
	rev := s.st.Rev()
	s.rels.mu.Lock()
	defer s.rels.mu.Unlock()
	if s.rels.cur != nil && s.rels.cur.rev == rev {
		return s.rels.cur
	}
	r := &relations{
		rev:            rev,
		membersByPool:  map[string][]string{},
		vipByPool:      map[string]string{},
		poolsByMonitor: map[string][]string{},
		observed:       map[string]*model.Observed{},
		subnetsByNet:   map[string][]string{},
		instanceByPool: map[string]*model.ServiceInstance{},
	}
	for _, e := range s.st.List(model.KindMember) {
		m := e.Obj.(*model.Member)
		r.membersByPool[m.PoolID] = append(r.membersByPool[m.PoolID], m.ID)
	}
	for _, e := range s.st.List(model.KindVIP) {
		v := e.Obj.(*model.VIP)
		r.vipByPool[v.PoolID] = v.ID
	}
	for _, e := range s.st.List(model.KindPool) {
		p := e.Obj.(*model.Pool)
		for _, hm := range p.HealthMonitors {
			r.poolsByMonitor[hm] = append(r.poolsByMonitor[hm], p.ID)
		}
	}
	for _, e := range s.st.List(model.KindObserved) {
		o := e.Obj.(*model.Observed)
		r.observed[o.ID] = o
	}
	for _, e := range s.st.List(model.KindSubnet) {
		sn := e.Obj.(*model.Subnet)
		r.subnetsByNet[sn.NetworkID] = append(r.subnetsByNet[sn.NetworkID], sn.ID)
	}
	for _, e := range s.st.List(model.KindServiceInstance) {
		si := e.Obj.(*model.ServiceInstance)
		r.instanceByPool[si.PoolID] = si
	}
	s.rels.cur = r
	return r
}

// observed returns what the data plane last reported for an object.
func (s *Server) observed(id string) (string, string) {
	if o := s.rel().observed[id]; o != nil {
		return o.Status, o.StatusDescription
	}
	return "", ""
}

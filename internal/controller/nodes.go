package controller

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"lbaas/internal/model"
	"lbaas/internal/store"
)

// Node roles.
const (
	RoleCompute = "compute"
	RoleNetwork = "network"
	// RoleHost runs no load balancer and no router: the node only
	// carries the networks of the ports bound to it (a hypervisor of
	// tenants' servers, as a Neutron L2 agent does).
	RoleHost = "host"
)

// Liveness defaults: an agent beats every HeartbeatInterval; a node whose
// lease (NodeTTL) runs out is dead and its VMs are rescheduled.
const (
	HeartbeatInterval = 500 * time.Millisecond
	NodeTTL           = 2 * time.Second
)

// Nodes keeps each node's liveness record attached to an etcd lease that
// its heartbeats renew, so a node that stops beating vanishes from the
// store by itself, whichever server it talked to.
type Nodes struct {
	st  *store.Store
	ttl time.Duration

	mu     sync.Mutex // guards the maps, never held across a call to etcd
	leases map[string]clientv3.LeaseID
	infos  map[string]model.NodeInfo
	locks  map[string]*sync.Mutex
}

// NewNodes returns the liveness keeper.
func NewNodes(st *store.Store, ttl time.Duration) *Nodes {
	if ttl <= 0 {
		ttl = NodeTTL
	}
	return &Nodes{st: st, ttl: ttl, leases: map[string]clientv3.LeaseID{}, infos: map[string]model.NodeInfo{}, locks: map[string]*sync.Mutex{}}
}

// TTL is the lease length.
func (n *Nodes) TTL() time.Duration { return n.ttl }

// Beat renews (or creates) the node's lease and record.
func (n *Nodes) Beat(ctx context.Context, name string, info model.NodeInfo) error {
	// Bounded, and refused at once by a member without a leader: while
	// the store has no quorum a beat fails fast instead of holding the
	// lock (and every other node's beat) until the agent gives up.
	ctx, cancel := context.WithTimeout(clientv3.WithRequireLeader(ctx), n.ttl)
	defer cancel()
	// One node's beats in turn; different nodes' at once. (One lock for
	// all, held across the etcd calls, made beats wait in one line: at a
	// thousand agents they timed out and the nodes never registered.)
	lock := n.lockOf(name)
	lock.Lock()
	defer lock.Unlock()
	cli := n.st.Client()
	n.mu.Lock()
	id, ok := n.leases[name]
	same := n.infos[name].Equal(info)
	n.mu.Unlock()
	if ok && same {
		if _, err := cli.KeepAliveOnce(ctx, id); err == nil {
			// Renewing our lease keeps the node alive only if the record
			// is attached to it (another server may have re-attached it).
			if e, ok := n.st.Get(model.KindNode, name); ok && e.Obj.(*model.Node).LeaseID == int64(id) {
				return nil
			}
			now := time.Now().UTC()
			node := &model.Node{Meta: model.Meta{ID: name, TenantID: "admin", CreatedAt: now, UpdatedAt: now}, Name: name, NodeInfo: info, Alive: true, Registered: now, LastSeen: now, LeaseID: int64(id)}
			_, err := n.st.Commit(ctx, new(store.Txn).PutWithLease(model.KindNode, node, id))
			return err
		}
	}
	lease, err := cli.Grant(ctx, int64((n.ttl+time.Second-1)/time.Second))
	if err != nil {
		return fmt.Errorf("grant lease: %w", err)
	}
	now := time.Now().UTC()
	node := &model.Node{Meta: model.Meta{ID: name, TenantID: "admin", CreatedAt: now, UpdatedAt: now}, Name: name, NodeInfo: info, Alive: true, Registered: now, LastSeen: now, LeaseID: int64(lease.ID)}
	if _, err := n.st.Commit(ctx, new(store.Txn).PutWithLease(model.KindNode, node, lease.ID)); err != nil {
		return err
	}
	n.mu.Lock()
	n.leases[name] = lease.ID
	n.infos[name] = info
	n.mu.Unlock()
	return nil
}

// lockOf returns the lock of one node's beats.
func (n *Nodes) lockOf(name string) *sync.Mutex {
	n.mu.Lock()
	defer n.mu.Unlock()
	l := n.locks[name]
	if l == nil {
		l = &sync.Mutex{}
		n.locks[name] = l
	}
	return l
}

// Drained reports whether an admin took the node out of service
// (admin_state_up false): it gets no new VMs and its VMs move off.
func Drained(st *store.Store, node string) bool {
	e, ok := st.Get(model.KindNodeAdmin, node)
	return ok && !e.Obj.(*model.NodeAdmin).AdminStateUp
}

// Alive returns the live nodes with a role, sorted by name.
func Alive(st *store.Store, role string) []*model.Node {
	var out []*model.Node
	for _, e := range st.List(model.KindNode) {
		nd := e.Obj.(*model.Node)
		if slices.Contains(nd.Roles, role) {
			out = append(out, nd)
		}
	}
	slices.SortFunc(out, func(a, b *model.Node) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out
}

package controller

import clientv3 "go.etcd.io/etcd/client/v3"

// LeaseOf lets tests kill a node at once by revoking its lease instead of
// waiting out the TTL.
func (n *Nodes) LeaseOf(name string) clientv3.LeaseID {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.leases[name]
}

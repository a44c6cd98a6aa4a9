package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"time"

	"github.com/google/uuid"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"lbaas/internal/ipam"
	"lbaas/internal/model"
	"lbaas/internal/store"
)

// DeviceOwnerVM marks the ports of service-instance VMs.
const DeviceOwnerVM = "lbaas:vm"

// VMsPerInstance is the size of a whole pair: one active, one standby.
const VMsPerInstance = 2

// Placement is where and how many VMs a load balancer gets: its
// flavor's topology (SINGLE: one VM; ACTIVE_STANDBY, the default: a pair)
// and its availability zone's compute zone (empty: any node).
type Placement struct {
	VMs  int
	Zone string
	AZ   string
}

// PlacementOf reads a load balancer's flavor and availability zone. A
// flavor or zone that is gone or unreadable leaves the default (the API
// refuses deleting ones in use).
func PlacementOf(st *store.Store, lb *model.LoadBalancer) Placement {
	pl := Placement{VMs: VMsPerInstance, AZ: lb.AvailabilityZone}
	if fe, ok := st.Get(model.KindFlavor, lb.FlavorID); ok {
		if pe, ok := st.Get(model.KindFlavorProfile, fe.Obj.(*model.Flavor).FlavorProfileID); ok {
			if d, err := model.ParseProfileData("flavor_data", pe.Obj.(*model.FlavorProfile).FlavorData, model.FlavorCapabilities); err == nil && d["loadbalancer_topology"] == model.TopologySingle {
				pl.VMs = 1
			}
		}
	}
	if ze, ok := st.Get(model.KindAZ, lb.AvailabilityZone); ok {
		if pe, ok := st.Get(model.KindAZProfile, ze.Obj.(*model.AvailabilityZone).ProfileID); ok {
			if d, err := model.ParseProfileData("availability_zone_data", pe.Obj.(*model.AZProfile).Data, model.AZCapabilities); err == nil {
				pl.Zone = d["compute_zone"]
			}
		}
	}
	return pl
}

// Controller keeps service instances in line with the VIPs and the live
// nodes. Several servers may share a store: only the elected one acts.
type Controller struct {
	st  *store.Store
	log *slog.Logger
	// store says since when the store has answered without a gap; until
	// StartupGrace has passed in such a run (after taking over, after a
	// store outage, after this process was frozen), a node missing from
	// the store may just not have beaten yet, so its VMs are not moved.
	store continuity
	// stale are leases of ended sessions not yet revoked (see revokeStale).
	stale []clientv3.LeaseID
	// knownNodes are the nodes alive at the last pass of this term (nil
	// before the first): what nodeEvents compares with.
	knownNodes map[string]bool
}

// StartupGrace is how long a new leader, or a leader whose store has just
// come back from a gap (see continuity.go), waits before it believes a
// node is dead: agents need a heartbeat or two to re-register after the
// server (and its embedded store) restarted, thawed or regained quorum.
const StartupGrace = 2 * NodeTTL

// New returns a controller.
func New(st *store.Store, log *slog.Logger) *Controller {
	return &Controller{st: st, log: log}
}

// Campaign backoff: the pause after a term (or a try) ends grows from
// minCampaignPause to maxCampaignPause while etcd stays unreachable, and
// starts over after a term in which this server led.
const (
	minCampaignPause = 100 * time.Millisecond
	maxCampaignPause = 2 * time.Second
)

// sessionTTL is the lease of the controller's etcd session, in seconds: a
// leader that stops renewing it (dead, cut off) loses the election after it.
const sessionTTL = 5

// Run campaigns for leadership and, once leader, reconciles after every
// store change until ctx ends. Whenever its etcd session ends (a lost
// quorum, an etcd restart, a partition longer than the session's TTL) it
// campaigns again, with a growing pause between tries, for as long as ctx
// lasts: a server that merely outlived a store fault must not leave the
// control plane without a controller. It returns ctx's error.
func (c *Controller) Run(ctx context.Context) error {
	pause := minCampaignPause
	for {
		led, err := c.term(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if led {
			pause = minCampaignPause
		}
		c.log.Warn("controller term ended; campaigning again", "err", err, "after", pause)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		pause = min(2*pause, maxCampaignPause)
	}
}

// term opens an etcd session, campaigns with it and, once elected, leads
// until the session ends. It reports whether it led.
func (c *Controller) term(ctx context.Context) (bool, error) {
	// The lease is granted under a bounded context so that a store without
	// quorum ends this try (and it is logged) instead of hanging in it;
	// the session itself lives on ctx.
	gctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	lease, err := c.st.Client().Grant(clientv3.WithRequireLeader(gctx), sessionTTL)
	cancel()
	if err != nil {
		return false, fmt.Errorf("controller session: %w", err)
	}
	c.revokeStale(ctx)
	sess, err := concurrency.NewSession(c.st.Client(), concurrency.WithLease(lease.ID), concurrency.WithTTL(sessionTTL), concurrency.WithContext(ctx))
	if err != nil {
		c.stale = append(c.stale, lease.ID)
		return false, fmt.Errorf("controller session: %w", err)
	}
	defer func() {
		// Revoke under a fresh context: on shutdown ctx is already done,
		// and a lease left to expire would hold the next leader back for
		// its TTL.
		sess.Orphan()
		c.stale = append(c.stale, lease.ID)
		c.revokeStale(context.Background())
	}()
	// Everything of this term stops when the session ends: the campaign
	// (it would wait forever for a key that cannot win) and the writes of
	// a leader that no longer is one.
	tctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		select {
		case <-sess.Done():
			stop()
		case <-tctx.Done():
		}
	}()
	c.log.Info("controller campaigning for leadership")
	el := concurrency.NewElection(sess, "/lbaas/election/controller")
	if err := el.Campaign(tctx, uuid.NewString()); err != nil {
		if ctx.Err() == nil && sessionEnded(sess) {
			err = errSessionEnded
		}
		return false, fmt.Errorf("campaign: %w", err)
	}
	c.log.Info("controller is leader")
	c.knownNodes = nil // a new term takes the roll afresh
	c.store.restart(time.Now())
	go c.store.probe(tctx, c.st.Client())
	rev := int64(0)
	for tctx.Err() == nil {
		if err := c.Reconcile(tctx); err != nil && tctx.Err() == nil {
			c.log.Warn("reconcile", "err", err)
			select {
			case <-tctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
		next := c.st.Rev()
		if next == rev {
			wctx, cancel := context.WithTimeout(tctx, 5*time.Second)
			next, _ = c.st.WaitChange(wctx, rev)
			cancel()
		}
		rev = next
	}
	if ctx.Err() != nil {
		return true, ctx.Err()
	}
	return true, errSessionEnded
}

var errSessionEnded = errors.New("controller lost its etcd session")

// revokeStale revokes the leases of this controller's ended sessions. A
// session that ends because the store lost its quorum cannot revoke its
// lease then; etcd extends every lease when a new leader takes over, so
// that lease, and the election key on it, would hold every server's new
// campaign back for a whole TTL after the quorum returns.
func (c *Controller) revokeStale(ctx context.Context) {
	kept := c.stale[:0]
	for _, id := range c.stale {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := c.st.Client().Revoke(clientv3.WithRequireLeader(rctx), id)
		cancel()
		if err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
			kept = append(kept, id)
		}
	}
	c.stale = kept
}

func sessionEnded(sess *concurrency.Session) bool {
	select {
	case <-sess.Done():
		return true
	default:
		return false
	}
}

// Reconcile makes one level-triggered pass over every load balancer and
// instance.
func (c *Controller) Reconcile(ctx context.Context) error {
	var errs []error
	if err := c.ensureRouterMembers(ctx); err != nil {
		errs = append(errs, fmt.Errorf("router group: %w", err))
	}
	ps := c.newPass()
	for _, le := range c.st.List(model.KindLoadBalancer) {
		id := le.Obj.Base().ID
		if err := c.reconcileLB(ctx, id, ps); err != nil {
			errs = append(errs, fmt.Errorf("load balancer %s: %w", id, err))
		}
	}
	for _, se := range c.st.List(model.KindServiceInstance) {
		si := se.Obj.(*model.ServiceInstance)
		if _, ok := c.st.Get(model.KindLoadBalancer, si.LoadBalancerID); !ok {
			if err := c.deleteInstance(ctx, si.ID); err != nil {
				errs = append(errs, err)
			}
		}
	}
	errs = append(errs, c.collectGarbage(ctx))
	now := time.Now().UTC()
	if err := c.nodeEvents(ctx, now); err != nil {
		errs = append(errs, fmt.Errorf("node events: %w", err))
	}
	if err := c.pruneEvents(ctx, now); err != nil {
		errs = append(errs, fmt.Errorf("prune events: %w", err))
	}
	return errors.Join(errs...)
}

// ConnectionsPerVM is how many open connections weigh as much as one VM
// when new VMs are placed: a node whose load balancers are busy gets
// fewer new ones than its VM count alone would give it.
const ConnectionsPerVM = 1000

// load is each node's weight for placing new VMs: the VMs it runs, plus
// the connections they hold as their agents last reported, in VMs
// (ConnectionsPerVM).
func (c *Controller) load() map[string]float64 {
	n := map[string]float64{}
	for _, se := range c.st.List(model.KindServiceInstance) {
		for _, vm := range se.Obj.(*model.ServiceInstance).VMs {
			n[vm.Node]++
			if re, ok := c.st.Get(model.KindVMReport, vm.ID); ok {
				n[vm.Node] += float64(re.Obj.(*model.VMReport).Stats.ActiveConnections) / ConnectionsPerVM
			}
		}
	}
	return n
}

// pass is what one reconcile pass reads once and shares across the load
// balancers: the live compute nodes, each node's load and the moves under
// way. A placement made in the pass counts at once, so the next load
// balancer of the same pass sees it (the store's cache may not yet).
type pass struct {
	all     []*model.Node
	drained map[string]bool
	zoneOf  map[string]string
	load    map[string]float64
	moving  int
}

func (c *Controller) newPass() *pass {
	all := Alive(c.st, RoleCompute)
	drained := map[string]bool{}
	for _, n := range all {
		drained[n.Name] = Drained(c.st, n.Name)
	}
	return &pass{all: all, drained: drained, zoneOf: zonesOf(all), load: c.load(), moving: c.moving()}
}

func (c *Controller) reconcileLB(ctx context.Context, lbID string, ps *pass) error {
	_, err := c.st.Mutate(ctx, func() (*store.Txn, error) {
		le, ok := c.st.Get(model.KindLoadBalancer, lbID)
		if !ok {
			return nil, nil
		}
		lb := le.Obj.(*model.LoadBalancer)
		t := new(store.Txn).Require(model.KindLoadBalancer, lb.ID, le.Rev)
		var si model.ServiceInstance
		rev := int64(0)
		if old := instanceOf(c.st, lb.ID); old != nil {
			si = *old
			si.VMs = append([]model.SIVM(nil), old.VMs...)
			e, _ := c.st.Get(model.KindServiceInstance, si.ID)
			rev = e.Rev
		} else {
			now := time.Now().UTC()
			// Named as OpenContrail named it, after the object it
			// serves: the namespace is vrouter-<vm>:<load balancer>.
			si = model.ServiceInstance{
				Meta:           model.Meta{ID: lb.ID, TenantID: lb.TenantID, CreatedAt: now, UpdatedAt: now},
				Name:           "default-domain:" + lb.TenantID + ":" + lb.ID,
				LoadBalancerID: lb.ID,
			}
		}
		changed := rev == 0
		if c.schedule(&si, lbNetworks(c.st, lb), PlacementOf(c.st, lb), ps) {
			changed = true
		}
		if c.rebuild(&si, lb) {
			changed = true
		}
		if c.rebuildOne(&si, lb) {
			changed = true
		}
		if c.drain(&si, lb, ps) {
			changed = true
		}
		portsChanged, err := c.ensurePorts(t, &si, lb)
		if err != nil {
			return nil, err
		}
		if !changed && !portsChanged {
			return nil, nil
		}
		si.UpdatedAt = time.Now().UTC()
		si.Generation++
		for _, e := range instanceEvents(instanceOf(c.st, lb.ID), &si, si.UpdatedAt) {
			t.Put(model.KindEvent, e)
		}
		if rev == 0 {
			t.Create(model.KindServiceInstance, &si)
		} else {
			t.Update(model.KindServiceInstance, &si, rev)
		}
		return t, nil
	})
	return err
}

// schedule drops VMs on dead nodes, promotes a survivor when the active is
// gone, and adds standbys on the least loaded live nodes that the
// instance does not use yet. It reports whether anything changed.
func (c *Controller) schedule(si *model.ServiceInstance, nets []*model.Network, pl Placement, ps *pass) bool {
	alive := map[string]bool{}
	all := ps.all
	var live []*model.Node // the live nodes that carry every network of the LB, in its zone
	carriers := make([]int, len(nets))
	inZone := 0
	for _, n := range all {
		alive[n.Name] = true
		ok := !ps.drained[n.Name]
		if pl.Zone != "" && n.Zone != pl.Zone {
			continue
		}
		inZone++
		for i, nw := range nets {
			if n.Carries(nw) {
				carriers[i]++
			} else {
				ok = false
			}
		}
		if ok {
			live = append(live, n)
		}
	}
	// The network fewest nodes carry explains an empty choice best.
	var missing *model.Network
	for i, nw := range nets {
		if missing == nil || carriers[i] < carriers[slices.Index(nets, missing)] {
			missing = nw
		}
	}
	before := fmt.Sprint(si.VMs, si.Status, si.StatusDescription)
	kept := si.VMs[:0]
	for _, vm := range si.VMs {
		if alive[vm.Node] || !c.store.trusted(time.Now(), StartupGrace) {
			kept = append(kept, vm)
		} else {
			c.log.Info("node is not alive: dropping its VM", "pool", si.LoadBalancerID, "vm", vm.ID, "node", vm.Node, "role", vm.Role)
		}
	}
	si.VMs = kept
	if len(si.VMs) > 0 && !slices.ContainsFunc(si.VMs, func(vm model.SIVM) bool { return vm.Role == model.RoleActive }) {
		// The survivor already holds the VIP (VRRP moved it); the record
		// follows the traffic.
		si.VMs[0].Role, si.VMs[0].Priority = model.RoleActive, model.PriorityActive
		c.log.Info("promoting the surviving VM to active", "pool", si.LoadBalancerID, "vm", si.VMs[0].ID, "node", si.VMs[0].Node)
	}
	load := ps.load
	for len(si.VMs) < pl.VMs {
		best := pickNode(live, ps.zoneOf, si.VMs, load)
		if best == "" {
			break
		}
		role, prio := model.RoleStandby, model.PriorityStandby
		if len(si.VMs) == 0 {
			role, prio = model.RoleActive, model.PriorityActive
		}
		si.VMs = append(si.VMs, model.SIVM{ID: uuid.NewString(), Node: best, Role: role, Priority: prio})
		c.log.Info("scheduled a VM", "pool", si.LoadBalancerID, "vm", si.VMs[len(si.VMs)-1].ID, "node", best, "role", role)
		load[best]++
	}
	switch {
	case len(si.VMs) == 0 && pl.Zone != "" && inZone == 0:
		si.Status, si.StatusDescription = model.StatusError, fmt.Sprintf("no live compute node in zone %s (availability zone %s): start agents with --availability-zone %s", pl.Zone, pl.AZ, pl.Zone)
	case len(si.VMs) == 0:
		si.Status, si.StatusDescription = model.StatusError, "no live compute node to run the load balancer on"
		if len(all) > 0 && missing != nil {
			how := "--local-ip"
			if missing.PhysicalNetwork != "" {
				how = "--physical-interface-mappings for " + missing.PhysicalNetwork
			}
			si.StatusDescription = fmt.Sprintf("no live compute node carries network %s (%s) and the load balancer's other networks: check the agents' %s", missing.ID, missing.NetworkType, how)
		}
	case len(si.VMs) < pl.VMs:
		si.Status, si.StatusDescription = model.StatusActive, "DEGRADED: only one live compute node, running without a standby"
	default:
		si.Status, si.StatusDescription = model.StatusActive, ""
	}
	return fmt.Sprint(si.VMs, si.Status, si.StatusDescription) != before
}

// ensurePorts gives every VM an address on the VIP network and on the
// members' network. Ports of VMs that left the instance go in
// collectGarbage.
func (c *Controller) ensurePorts(t *store.Txn, si *model.ServiceInstance, lb *model.LoadBalancer) (bool, error) {
	// Members on several subnets: BuildInstance refuses them and the
	// status says why; the VIP side is still placed.
	ms, err := memberSubnet(c.st, lb, Pools(c.st, lb.ID))
	subnets := []string{lb.VIPSubnetID}
	if err == nil && ms != lb.VIPSubnetID {
		subnets = append(subnets, ms)
	}
	changed := false
	taken := map[string]map[netip.Addr]bool{}
	for _, vm := range si.VMs {
		have := map[string]bool{}
		for _, pe := range c.st.ByIndex(model.KindPort, store.IdxDevice, vm.ID) {
			for _, f := range pe.Obj.(*model.Port).FixedIPs {
				have[f.SubnetID] = true
			}
		}
		for _, sid := range subnets {
			if have[sid] {
				continue
			}
			se, ok := c.st.Get(model.KindSubnet, sid)
			if !ok {
				return false, fmt.Errorf("subnet %s is gone", sid)
			}
			sn := se.Obj.(*model.Subnet)
			a, err := ipam.NextFromTop(c.st, sn, taken[sid])
			if err != nil {
				return false, err
			}
			if taken[sid] == nil {
				taken[sid] = map[netip.Addr]bool{}
			}
			taken[sid][a] = true
			now := time.Now().UTC()
			port := &model.Port{
				Meta: model.Meta{ID: uuid.NewString(), TenantID: si.TenantID, CreatedAt: now, UpdatedAt: now},
				Name: "lbaas-vm-" + vm.ID[:8], NetworkID: sn.NetworkID, DeviceOwner: DeviceOwnerVM, DeviceID: vm.ID, BindingHost: vm.Node,
				AdminStateUp: true, MACAddress: ipam.RandomMAC(), FixedIPs: []model.FixedIP{{SubnetID: sn.ID, IPAddress: a.String()}},
			}
			t.Require(model.KindSubnet, sn.ID, se.Rev).Claim(ipam.Claim(sn.ID, a), port.ID).Create(model.KindPort, port)
			changed = true
		}
	}
	return changed, nil
}

// pickNode chooses the node for a new VM of an instance whose VMs are vms:
// among the live nodes that carry its networks and run none of its VMs,
// one in an availability zone none of them is in, if any, then the least
// loaded. Empty: none fits.
func pickNode(live []*model.Node, zoneOf map[string]string, vms []model.SIVM, load map[string]float64) string {
	zones := map[string]bool{}
	used := map[string]bool{}
	for _, vm := range vms {
		used[vm.Node] = true
		if z := zoneOf[vm.Node]; z != "" {
			zones[z] = true
		}
	}
	var best *model.Node
	better := func(n *model.Node) bool {
		if best == nil {
			return true
		}
		nz, bz := n.Zone != "" && zones[n.Zone], best.Zone != "" && zones[best.Zone]
		if nz != bz {
			return !nz // another failure domain first
		}
		return load[n.Name] < load[best.Name]
	}
	for _, n := range live {
		if !used[n.Name] && better(n) {
			best = n
		}
	}
	if best == nil {
		return ""
	}
	return best.Name
}

func zonesOf(nodes []*model.Node) map[string]string {
	out := make(map[string]string, len(nodes))
	for _, n := range nodes {
		out[n.Name] = n.Zone
	}
	return out
}

// lbNetworks are the networks a load balancer's VMs join: its VIP's and
// its members'.
func lbNetworks(st *store.Store, lb *model.LoadBalancer) []*model.Network {
	subnets := []string{lb.VIPSubnetID}
	if ms, err := memberSubnet(st, lb, Pools(st, lb.ID)); err == nil && ms != lb.VIPSubnetID {
		subnets = append(subnets, ms)
	}
	var out []*model.Network
	for _, sid := range subnets {
		se, ok := st.Get(model.KindSubnet, sid)
		if !ok {
			continue
		}
		if ne, ok := st.Get(model.KindNetwork, se.Obj.(*model.Subnet).NetworkID); ok {
			out = append(out, ne.Obj.(*model.Network))
		}
	}
	return out
}

func releasePort(t *store.Txn, p *model.Port, rev int64) {
	t.Delete(model.KindPort, p.ID, rev)
	for _, f := range p.FixedIPs {
		if a, err := netip.ParseAddr(f.IPAddress); err == nil {
			t.Release(ipam.Claim(f.SubnetID, a))
		}
	}
}

func (c *Controller) deleteInstance(ctx context.Context, siID string) error {
	_, err := c.st.Mutate(ctx, func() (*store.Txn, error) {
		se, ok := c.st.Get(model.KindServiceInstance, siID)
		if !ok {
			return nil, nil
		}
		si := se.Obj.(*model.ServiceInstance)
		t := new(store.Txn).Delete(model.KindServiceInstance, siID, se.Rev)
		for _, vm := range si.VMs {
			for _, pe := range c.st.ByIndex(model.KindPort, store.IdxDevice, vm.ID) {
				releasePort(t, pe.Obj.(*model.Port), pe.Rev)
			}
		}
		return t, nil
	})
	return err
}

// collectGarbage removes reports of VMs that no instance has, ports of
// such VMs, and observations of floating IPs that are gone.
func (c *Controller) collectGarbage(ctx context.Context) error {
	vms := map[string]bool{}
	for _, se := range c.st.List(model.KindServiceInstance) {
		for _, vm := range se.Obj.(*model.ServiceInstance).VMs {
			vms[vm.ID] = true
		}
	}
	t := new(store.Txn)
	for _, re := range c.st.List(model.KindVMReport) {
		if !vms[re.Obj.Base().ID] {
			t.Delete(model.KindVMReport, re.Obj.Base().ID, re.Rev)
		}
	}
	for _, pe := range c.st.List(model.KindPort) {
		p := pe.Obj.(*model.Port)
		if p.DeviceOwner == DeviceOwnerVM && !vms[p.DeviceID] {
			releasePort(t, p, pe.Rev)
		}
	}
	for _, oe := range c.st.List(model.KindObserved) {
		if _, ok := c.st.Get(model.KindFloatingIP, oe.Obj.Base().ID); !ok {
			t.Delete(model.KindObserved, oe.Obj.Base().ID, oe.Rev)
		}
	}
	if t.Empty() {
		return nil
	}
	_, err := c.st.Commit(ctx, t)
	if errors.Is(err, store.ErrConflict) {
		return nil // the next pass sees the newer state
	}
	return err
}

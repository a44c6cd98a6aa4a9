package metrics

import (
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"lbaas/internal/controller"
	"lbaas/internal/model"
	"lbaas/internal/store"
)

// storeCollector derives every load-balancer, VM, node and certificate
// series from the store at scrape time: the agents' reports are already
// there (written at most every few seconds per VM), so a scrape reads
// memory and never calls an agent or an HAProxy.
type storeCollector struct {
	st  *store.Store
	mon *monotonic
	now func() time.Time

	info        map[string]*prometheus.Desc // per object kind
	counters    map[string][]*prometheus.Desc
	active      map[string]*prometheus.Desc
	queued      map[string]*prometheus.Desc
	rtime       map[string]*prometheus.Desc
	memberUp    *prometheus.Desc
	memberW     *prometheus.Desc
	amphora     *prometheus.Desc
	vrrpMaster  *prometheus.Desc
	haproxyUp   *prometheus.Desc
	reportAge   *prometheus.Desc
	lastReload  *prometheus.Desc
	nodeAlive   *prometheus.Desc
	nodeAge     *prometheus.Desc
	certDays    *prometheus.Desc
	failovers   *prometheus.Desc
	lbByStatus  *prometheus.Desc
	scrapeStore *prometheus.Desc
}

// Object kinds of the traffic series, and the labels each carries.
var objectLabels = map[string][]string{
	"loadbalancer": {"loadbalancer_id", "project_id"},
	"listener":     {"loadbalancer_id", "listener_id", "project_id"},
	"pool":         {"loadbalancer_id", "pool_id", "project_id"},
	"member":       {"loadbalancer_id", "pool_id", "member_id", "project_id"},
}

var infoLabels = map[string][]string{
	"loadbalancer": {"loadbalancer_id", "project_id", "name", "vip_address", "provisioning_status", "operating_status"},
	"listener":     {"loadbalancer_id", "listener_id", "project_id", "name", "protocol", "port"},
	"pool":         {"loadbalancer_id", "pool_id", "project_id", "name", "protocol", "lb_algorithm"},
	"member":       {"loadbalancer_id", "pool_id", "member_id", "project_id", "name", "address", "port"},
}

func newStoreCollector(st *store.Store) *storeCollector {
	c := &storeCollector{st: st, mon: newMonotonic(), now: time.Now,
		info: map[string]*prometheus.Desc{}, counters: map[string][]*prometheus.Desc{},
		active: map[string]*prometheus.Desc{}, queued: map[string]*prometheus.Desc{}, rtime: map[string]*prometheus.Desc{}}
	for kind, labels := range objectLabels {
		c.info[kind] = prometheus.NewDesc("lbaas_"+kind+"_info", "One per "+kind+", with its names and state as labels (join on the id).", infoLabels[kind], nil)
		for _, f := range counterFields {
			if f.side&sideOf(kind) == 0 {
				c.counters[kind] = append(c.counters[kind], nil)
				continue
			}
			l := labels
			if f.class != "" {
				l = append(append([]string{}, labels...), "code_class")
			}
			help := f.help
			if help == "" {
				help = "HTTP responses by status class."
			}
			c.counters[kind] = append(c.counters[kind], prometheus.NewDesc("lbaas_"+kind+"_"+f.name, help+" Summed over the VMs, never going backwards across reloads and failovers.", l, nil))
		}
		c.active[kind] = prometheus.NewDesc("lbaas_"+kind+"_active_connections", "Connections open now.", labels, nil)
		c.queued[kind] = prometheus.NewDesc("lbaas_"+kind+"_queued_requests", "Requests waiting for a free member now.", labels, nil)
		c.rtime[kind] = prometheus.NewDesc("lbaas_"+kind+"_response_time_seconds", "Mean response time of the last 1,024 requests (HTTP).", labels, nil)
	}
	vm := []string{"amphora_id", "loadbalancer_id", "node", "project_id"}
	c.memberUp = prometheus.NewDesc("lbaas_member_up", "1 when the member's health check passes (or it has none), 0 when it fails or is down by admin.", objectLabels["member"], nil)
	c.memberW = prometheus.NewDesc("lbaas_member_weight", "The member's weight.", objectLabels["member"], nil)
	c.amphora = prometheus.NewDesc("lbaas_amphora_info", "One per VM (amphora) of a load balancer, with its role and the configuration it applied.", append(vm, "role", "applied_hash"), nil)
	c.vrrpMaster = prometheus.NewDesc("lbaas_amphora_vrrp_master", "1 when the VM holds the VIP (VRRP MASTER), 0 when it stands by.", vm, nil)
	c.haproxyUp = prometheus.NewDesc("lbaas_amphora_haproxy_up", "1 when the VM's HAProxy serves its configuration with every frontend open.", vm, nil)
	c.reportAge = prometheus.NewDesc("lbaas_amphora_report_age_seconds", "Seconds since the VM's agent last reported a change (reports repeat at least every few seconds while counters move).", vm, nil)
	c.lastReload = prometheus.NewDesc("lbaas_amphora_last_reload_timestamp_seconds", "When the VM's HAProxy last started or reloaded (absent when its agent has not done either since it started).", vm, nil)
	c.nodeAlive = prometheus.NewDesc("lbaas_node_alive", "1 when the node's agent holds its lease.", []string{"node", "availability_zone"}, nil)
	c.nodeAge = prometheus.NewDesc("lbaas_node_heartbeat_age_seconds", "Seconds since the node's agent last beat.", []string{"node"}, nil)
	c.certDays = prometheus.NewDesc("lbaas_certificate_days_left", "Days until the certificate expires (negative: expired).", []string{"certificate_id", "project_id", "name"}, nil)
	c.failovers = prometheus.NewDesc("lbaas_loadbalancer_failovers_requested_total", "Failovers asked for through the API (whole load balancer or one amphora).", []string{"loadbalancer_id", "project_id", "scope"}, nil)
	c.lbByStatus = prometheus.NewDesc("lbaas_loadbalancers", "Load balancers by provisioning and operating status.", []string{"provisioning_status", "operating_status"}, nil)
	c.scrapeStore = prometheus.NewDesc("lbaas_store_objects", "Objects in the store by kind.", []string{"kind"}, nil)
	return c
}

// Describe sends nothing: the collector is unchecked, its series come and
// go with the objects.
func (c *storeCollector) Describe(chan<- *prometheus.Desc) {}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	now := c.now()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	traffic := func(p *pass, kind, series string, labels ...string) {
		t := p.total(series)
		for i, f := range counterFields {
			if c.counters[kind][i] == nil {
				continue // the other side of HAProxy counts it
			}
			l := labels
			if f.class != "" {
				l = append(append([]string{}, labels...), f.class)
			}
			ch <- prometheus.MustNewConstMetric(c.counters[kind][i], prometheus.CounterValue, float64(*f.get(&t)), l...)
		}
		gauge(c.active[kind], float64(t.ActiveConnections), labels...)
		if sideOf(kind) == back {
			gauge(c.queued[kind], float64(t.Queued), labels...)
			gauge(c.rtime[kind], float64(t.ResponseTimeMs)/1000, labels...)
		}
	}

	byStatus := map[[2]string]int{}
	live := map[string]bool{}
	p := c.mon.begin()
	for _, e := range c.st.List(model.KindLoadBalancer) {
		lb := e.Obj.(*model.LoadBalancer)
		prov := controller.InstanceStatus(c.st, lb.ID).Status
		op := controller.OperatingOf(c.st, lb.ID)
		byStatus[[2]string{prov, op.LoadBalancer}]++
		project := lb.TenantID
		gauge(c.info["loadbalancer"], 1, lb.ID, project, lb.Name, lb.VIPAddress, prov, op.LoadBalancer)
		ch <- prometheus.MustNewConstMetric(c.failovers, prometheus.CounterValue, float64(lb.Failovers), lb.ID, project, "loadbalancer")
		ch <- prometheus.MustNewConstMetric(c.failovers, prometheus.CounterValue, float64(lb.AmphoraFailovers), lb.ID, project, "amphora")

		var reps []*model.VMReport
		for _, re := range c.st.ByIndex(model.KindVMReport, store.IdxSI, lb.ID) {
			reps = append(reps, re.Obj.(*model.VMReport))
		}
		lbSeries := "lb/" + lb.ID
		live[lbSeries] = true
		p.touch(lbSeries)
		for _, r := range reps {
			p.vm(r.ID, r.CountersEpoch)
			if r.State != model.VMServing {
				continue // its counters say nothing now
			}
			p.observe(lbSeries, r.ID, r.Stats)
			for id, s := range r.Listeners {
				p.observe("listener/"+id, r.ID, s)
			}
			for id, s := range r.Pools {
				p.observe("pool/"+id, r.ID, s)
			}
			for id, s := range r.MemberStats {
				p.observe("member/"+id, r.ID, s)
			}
		}
		traffic(p, "loadbalancer", lbSeries, lb.ID, project)

		if si := instanceOfLB(c.st, lb.ID); si != nil {
			role := map[string]string{}
			for _, vm := range si.VMs {
				role[vm.ID] = vm.Role
			}
			for _, r := range reps {
				l := []string{r.ID, lb.ID, r.Node, project}
				gauge(c.amphora, 1, append(l, role[r.ID], r.AppliedHash)...)
				gauge(c.vrrpMaster, b2f(r.HAState == "MASTER"), l...)
				gauge(c.haproxyUp, b2f(r.State == model.VMServing), l...)
				gauge(c.reportAge, now.Sub(r.ReportedAt).Seconds(), l...)
				if !r.LastReload.IsZero() {
					gauge(c.lastReload, float64(r.LastReload.UnixNano())/1e9, l...)
				}
			}
		}

		for _, le := range c.st.ByIndex(model.KindListener, store.IdxLB, lb.ID) {
			l := le.Obj.(*model.Listener)
			live["listener/"+l.ID] = true
			p.touch("listener/" + l.ID)
			gauge(c.info["listener"], 1, lb.ID, l.ID, project, l.Name, l.Protocol, strconv.Itoa(l.ProtocolPort))
			traffic(p, "listener", "listener/"+l.ID, lb.ID, l.ID, project)
		}
		for _, pe := range c.st.ByIndex(model.KindPool, store.IdxLB, lb.ID) {
			pool := pe.Obj.(*model.Pool)
			live["pool/"+pool.ID] = true
			p.touch("pool/" + pool.ID)
			gauge(c.info["pool"], 1, lb.ID, pool.ID, project, pool.Name, pool.Protocol, pool.LBMethod)
			traffic(p, "pool", "pool/"+pool.ID, lb.ID, pool.ID, project)
			for _, me := range c.st.ByIndex(model.KindMember, store.IdxPool, pool.ID) {
				m := me.Obj.(*model.Member)
				live["member/"+m.ID] = true
				p.touch("member/" + m.ID)
				ml := []string{lb.ID, pool.ID, m.ID, project}
				gauge(c.info["member"], 1, append(ml, m.Name, m.Address, strconv.Itoa(m.ProtocolPort))...)
				traffic(p, "member", "member/"+m.ID, ml...)
				gauge(c.memberUp, b2f(op.Members[m.ID] == controller.OperatingOnline || op.Members[m.ID] == controller.OperatingNoMonitor), ml...)
				gauge(c.memberW, float64(m.Weight), ml...)
			}
		}
	}
	p.end(func(series string) bool { return live[series] })
	for k, n := range byStatus {
		gauge(c.lbByStatus, float64(n), k[0], k[1])
	}

	for _, e := range c.st.List(model.KindNode) {
		n := e.Obj.(*model.Node)
		gauge(c.nodeAlive, b2f(n.Alive), n.Name, n.Zone)
		gauge(c.nodeAge, now.Sub(n.LastSeen).Seconds(), n.Name)
	}
	for _, e := range c.st.List(model.KindCertificate) {
		cert := e.Obj.(*model.Certificate)
		if cert.NotAfter.IsZero() {
			continue
		}
		gauge(c.certDays, cert.NotAfter.Sub(now).Hours()/24, cert.ID, cert.TenantID, cert.Name)
	}
	for _, k := range []model.Kind{model.KindLoadBalancer, model.KindListener, model.KindPool, model.KindMember, model.KindServiceInstance, model.KindVMReport, model.KindCertificate, model.KindNode} {
		gauge(c.scrapeStore, float64(len(c.st.List(k))), string(k))
	}
}

// loadBalancerTraffic is each load balancer's monotonic totals, with
// its VMs' gauges (the dashboard's numbers, the same as /metrics').
func (c *storeCollector) loadBalancerTraffic() map[string]model.Stats {
	out := map[string]model.Stats{}
	p := c.mon.begin()
	for _, e := range c.st.List(model.KindLoadBalancer) {
		id := e.Obj.Base().ID
		series := "lb/" + id
		p.touch(series)
		for _, re := range c.st.ByIndex(model.KindVMReport, store.IdxSI, id) {
			r := re.Obj.(*model.VMReport)
			p.vm(r.ID, r.CountersEpoch)
			if r.State == model.VMServing {
				p.observe(series, r.ID, r.Stats)
			}
		}
		out[id] = p.total(series)
	}
	p.end(func(series string) bool {
		if id, ok := strings.CutPrefix(series, "lb/"); ok {
			_, live := c.st.Get(model.KindLoadBalancer, id)
			return live
		}
		return true
	})
	return out
}

func instanceOfLB(st *store.Store, lbID string) *model.ServiceInstance {
	if e, ok := st.Get(model.KindServiceInstance, lbID); ok {
		return e.Obj.(*model.ServiceInstance)
	}
	return nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

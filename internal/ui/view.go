package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"lbaas/internal/api/auth"
	"lbaas/internal/api/policy"
	"lbaas/internal/controller"
	"lbaas/internal/model"
	"lbaas/internal/store"
)

// maxEvents is how many of the newest events a view carries; the page
// filters them.
const maxEvents = 200

// View is what the page draws: the caller's load balancers with their
// pairs, the nodes (admins only), traffic and the latest events.
type View struct {
	Who           map[string]any `json:"who"`
	Time          time.Time      `json:"time"`
	Nodes         []NodeView     `json:"nodes"`
	LoadBalancers []LBView       `json:"loadbalancers"`
	Events        []EventView    `json:"events"`
}

// NodeView is a node and its agent.
type NodeView struct {
	Name         string   `json:"name"`
	Alive        bool     `json:"alive"`
	Zone         string   `json:"zone,omitempty"`
	Roles        []string `json:"roles"`
	HeartbeatAge float64  `json:"heartbeat_age_s"`
}

// LBView is one load balancer as the page shows it.
type LBView struct {
	ID                 string         `json:"id"`
	Name               string         `json:"name"`
	Project            string         `json:"project_id"`
	VIP                string         `json:"vip_address"`
	FloatingIPs        []string       `json:"floating_ips"`
	ProvisioningStatus string         `json:"provisioning_status"`
	StatusDescription  string         `json:"status_description,omitempty"`
	OperatingStatus    string         `json:"operating_status"`
	VMs                []VMView       `json:"vms"`
	Listeners          []ListenerView `json:"listeners"`
	Pools              []PoolView     `json:"pools"`
	Traffic            TrafficView    `json:"traffic"`
}

// VMView is one VM of the pair.
type VMView struct {
	ID      string `json:"id"`
	Node    string `json:"node"`
	Role    string `json:"role"`
	HAState string `json:"ha_state"` // MASTER, BACKUP or "" (not reported yet)
	State   string `json:"state"`
	Error   string `json:"error,omitempty"`
}

// ListenerView is a listener.
type ListenerView struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Protocol  string `json:"protocol"`
	Port      int    `json:"port"`
	Operating string `json:"operating_status"`
}

// PoolView is a pool with its members.
type PoolView struct {
	ID        string       `json:"id"`
	Name      string       `json:"name"`
	Protocol  string       `json:"protocol"`
	Algorithm string       `json:"lb_algorithm"`
	Operating string       `json:"operating_status"`
	Members   []MemberView `json:"members"`
}

// MemberView is a member and its health as the VIP's holder sees it.
type MemberView struct {
	ID          string `json:"id"`
	Name        string `json:"name,omitempty"`
	Address     string `json:"address"`
	Port        int    `json:"port"`
	Weight      int    `json:"weight"`
	Operating   string `json:"operating_status"`
	Description string `json:"description,omitempty"`
}

// TrafficView is a load balancer's counters; the page turns successive
// totals into rates (they never go backwards, see package metrics).
type TrafficView struct {
	Requests       int64 `json:"requests"`
	Connections    int64 `json:"connections"`
	Errors         int64 `json:"errors"` // request errors, 5xx, failed connections and responses
	BytesIn        int64 `json:"bytes_in"`
	BytesOut       int64 `json:"bytes_out"`
	Active         int64 `json:"active_connections"`
	ResponseTimeMs int64 `json:"response_time_ms"`
}

// EventView is an event as the page lists it.
type EventView struct {
	ID             string    `json:"id"`
	Time           time.Time `json:"time"`
	Type           string    `json:"type"`
	Severity       string    `json:"severity"`
	LoadBalancerID string    `json:"loadbalancer_id,omitempty"`
	Node           string    `json:"node,omitempty"`
	Message        string    `json:"message"`
}

// view builds the caller's view from the store.
func (s *server) view(caller auth.Caller) View {
	st := s.c.Store
	now := time.Now().UTC()
	v := View{Who: whoView(caller), Time: now, Nodes: []NodeView{}, LoadBalancers: []LBView{}, Events: []EventView{}}
	if policy.Allowed(caller, "agent:get", "") {
		for _, e := range st.List(model.KindNode) {
			n := e.Obj.(*model.Node)
			v.Nodes = append(v.Nodes, NodeView{Name: n.Name, Alive: n.Alive, Zone: n.Zone, Roles: n.Roles, HeartbeatAge: now.Sub(n.LastSeen).Seconds()})
		}
	}
	var traffic map[string]model.Stats
	if s.c.Traffic != nil {
		traffic = s.c.Traffic()
	}
	for _, e := range st.List(model.KindLoadBalancer) {
		lb := e.Obj.(*model.LoadBalancer)
		if !policy.Allowed(caller, "service_instance:get", lb.TenantID) {
			continue
		}
		v.LoadBalancers = append(v.LoadBalancers, lbView(st, lb, traffic[lb.ID]))
	}
	slices.SortFunc(v.LoadBalancers, func(a, b LBView) int { return strings.Compare(a.Name+a.ID, b.Name+b.ID) })
	for _, e := range st.List(model.KindEvent) { // newest first
		ev := e.Obj.(*model.Event)
		if !policy.Allowed(caller, "event:get", ev.TenantID) {
			continue
		}
		v.Events = append(v.Events, EventView{ID: ev.ID, Time: ev.Time, Type: ev.Type, Severity: ev.Severity, LoadBalancerID: ev.LoadBalancerID, Node: ev.Node, Message: ev.Message})
		if len(v.Events) == maxEvents {
			break
		}
	}
	return v
}

func lbView(st *store.Store, lb *model.LoadBalancer, t model.Stats) LBView {
	// The response time is counted on the pools' side (HAProxy's
	// backends): the slowest pool's.
	for _, r := range st.ByIndex(model.KindVMReport, store.IdxSI, lb.ID) {
		for _, ps := range r.Obj.(*model.VMReport).Pools {
			t.ResponseTimeMs = max(t.ResponseTimeMs, ps.ResponseTimeMs)
		}
	}
	status := controller.InstanceStatus(st, lb.ID)
	op := controller.OperatingOf(st, lb.ID)
	lv := LBView{ID: lb.ID, Name: lb.Name, Project: lb.TenantID, VIP: lb.VIPAddress, FloatingIPs: []string{},
		ProvisioningStatus: status.Status, StatusDescription: status.Description, OperatingStatus: op.LoadBalancer,
		VMs: []VMView{}, Listeners: []ListenerView{}, Pools: []PoolView{},
		Traffic: TrafficView{Requests: t.Requests, Connections: t.TotalConnections, BytesIn: t.BytesIn, BytesOut: t.BytesOut,
			Errors: t.RequestErrors + t.Responses5xx + t.ConnectionErrors + t.ResponseErrors, Active: t.ActiveConnections, ResponseTimeMs: t.ResponseTimeMs}}
	for _, e := range st.ByIndex(model.KindFloatingIP, store.IdxPort, lb.VIPPortID) {
		lv.FloatingIPs = append(lv.FloatingIPs, e.Obj.(*model.FloatingIP).FloatingIPAddress)
	}
	var holder *model.VMReport
	if se, ok := st.Get(model.KindServiceInstance, lb.ID); ok {
		for _, vm := range se.Obj.(*model.ServiceInstance).VMs {
			vv := VMView{ID: vm.ID, Node: vm.Node, Role: vm.Role}
			if re, ok := st.Get(model.KindVMReport, vm.ID); ok {
				r := re.Obj.(*model.VMReport)
				vv.HAState, vv.State, vv.Error = r.HAState, r.State, r.Error
				if r.HAState == "MASTER" {
					holder = r
				}
			}
			lv.VMs = append(lv.VMs, vv)
		}
	}
	for _, e := range st.ByIndex(model.KindListener, store.IdxLB, lb.ID) {
		l := e.Obj.(*model.Listener)
		lv.Listeners = append(lv.Listeners, ListenerView{ID: l.ID, Name: l.Name, Protocol: l.Protocol, Port: l.ProtocolPort, Operating: op.Listeners[l.ID]})
	}
	slices.SortFunc(lv.Listeners, func(a, b ListenerView) int { return a.Port - b.Port })
	for _, e := range st.ByIndex(model.KindPool, store.IdxLB, lb.ID) {
		p := e.Obj.(*model.Pool)
		pv := PoolView{ID: p.ID, Name: p.Name, Protocol: p.Protocol, Algorithm: p.LBMethod, Operating: op.Pools[p.ID], Members: []MemberView{}}
		for _, me := range st.ByIndex(model.KindMember, store.IdxPool, p.ID) {
			m := me.Obj.(*model.Member)
			mv := MemberView{ID: m.ID, Name: m.Name, Address: m.Address, Port: m.ProtocolPort, Weight: m.Weight, Operating: op.Members[m.ID]}
			if holder != nil {
				mv.Description = holder.Members[m.ID].Description
			}
			pv.Members = append(pv.Members, mv)
		}
		slices.SortFunc(pv.Members, func(a, b MemberView) int {
			return strings.Compare(a.Address+fmt.Sprint(a.Port), b.Address+fmt.Sprint(b.Port))
		})
		lv.Pools = append(lv.Pools, pv)
	}
	slices.SortFunc(lv.Pools, func(a, b PoolView) int { return strings.Compare(a.Name+a.ID, b.Name+b.ID) })
	return lv
}

func (s *server) viewJSON(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.view(callerOf(r.Context())))
}

// stream sends the caller's view as a server-sent event at once, then
// whenever the store changes (at most every 250 ms) and at least every
// Every, until the client goes away. A browser's EventSource reconnects
// by itself after a server restart.
func (s *server) stream(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		writeErr(w, http.StatusInternalServerError, "streaming unsupported")
		return
	}
	caller := callerOf(r.Context())
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	ctx := r.Context()
	rev := int64(-1)
	for ctx.Err() == nil {
		cur := s.c.Store.Rev()
		b, err := json.Marshal(s.view(caller))
		if err != nil {
			return
		}
		if _, err := fmt.Fprintf(w, "event: view\ndata: %s\n\n", b); err != nil {
			return
		}
		fl.Flush()
		rev = cur
		// Wait for a change or the period, then let a burst of changes
		// settle for a moment.
		wctx, cancel := context.WithTimeout(ctx, s.c.Every)
		_, _ = s.c.Store.WaitChange(wctx, rev)
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-time.After(250 * time.Millisecond):
		}
	}
}

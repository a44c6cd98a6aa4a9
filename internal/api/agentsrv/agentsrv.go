// Package agentsrv serves the agent API: heartbeats, the desired state of
// a node (a long poll that answers when it changes) and the agents'
// reports. Only node credentials bound to the node in the path (or admin)
// may use it.
package agentsrv

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"net/netip"
	"strings"
	"time"
	"unicode"

	"lbaas/internal/agentapi"
	"lbaas/internal/api/httpapi"
	"lbaas/internal/api/neutron"
	"lbaas/internal/api/policy"
	"lbaas/internal/controller"
	"lbaas/internal/model"
	"lbaas/internal/secrets"
	"lbaas/internal/store"
)

// statsEvery bounds how often counters alone cause a store write.
const statsEvery = 2 * time.Second

// maxWait bounds one long poll; the agent simply asks again.
const maxWait = 25 * time.Second

// recheck bounds how long a long poll trusts controller.Affected: it
// recomputes its node's desired state at least this often whatever the
// changes said, so that a change Affected does not foresee reaches the
// agent late rather than never.
const recheck = 10 * time.Second

// Handler serves the agent API.
type Handler struct {
	st      *store.Store
	nodes   *controller.Nodes
	wakes   *wakes
	secrets *secrets.Keyring
	log     *slog.Logger
	// takeovers are the VIPs taken whose failover is not recorded yet.
	takeovers *takeovers
}

// Register adds the agent routes to the API's mux.
func Register(api *neutron.Server, st *store.Store, nodes *controller.Nodes) {
	h := &Handler{st: st, nodes: nodes, wakes: newWakes(st), secrets: api.Secrets(), log: api.Logger(), takeovers: newTakeovers()}
	mux := api.Mux()
	mux.HandleFunc("POST "+agentapi.PathHeartbeat, h.guard(h.heartbeat))
	mux.HandleFunc("GET "+agentapi.PathDesired, h.guard(h.desired))
	mux.HandleFunc("POST "+agentapi.PathReport, h.guard(h.report))
}

func writeErr(w http.ResponseWriter, code int, msg string) {
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"NeutronError": map[string]string{"type": "AgentAPIError", "message": msg, "detail": ""}})
}

// guard admits the node itself and admins.
func (h *Handler) guard(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := httpapi.CallerFrom(r.Context())
		node := r.PathValue("node")
		if !model.ValidNodeName(node) {
			writeErr(w, http.StatusBadRequest, "node names are 1-63 letters, digits, '-' or '_'")
			return
		}
		if !(c.Node == node || policy.Allowed(c, "agent:act_as_node", "")) {
			writeErr(w, http.StatusForbidden, "this credential may not act for node "+node)
			return
		}
		next(w, r)
	}
}

func (h *Handler) heartbeat(w http.ResponseWriter, r *http.Request) {
	var hb agentapi.Heartbeat
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&hb); err != nil {
		writeErr(w, http.StatusBadRequest, "malformed heartbeat: "+err.Error())
		return
	}
	for _, role := range hb.Roles {
		if role != controller.RoleCompute && role != controller.RoleNetwork && role != controller.RoleHost {
			writeErr(w, http.StatusBadRequest, "unknown role "+role)
			return
		}
	}
	if hb.TunnelIP != "" {
		if a, err := netip.ParseAddr(hb.TunnelIP); err != nil || !a.Is4() || a.IsUnspecified() || a.IsMulticast() {
			writeErr(w, http.StatusBadRequest, "tunnel_ip "+hb.TunnelIP+" is not a unicast IPv4 address")
			return
		}
	}
	if len(hb.Zone) > 255 || strings.ContainsFunc(hb.Zone, unicode.IsControl) {
		writeErr(w, http.StatusBadRequest, "availability_zone must be at most 255 printable characters")
		return
	}
	if err := h.nodes.Beat(r.Context(), r.PathValue("node"), hb); err != nil {
		writeErr(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	_ = json.NewEncoder(w).Encode(agentapi.HeartbeatReply{Interval: controller.HeartbeatInterval, TTL: h.nodes.TTL()})
}

// desired answers at once when the node's desired state differs from the
// hash the agent knows, else when it changes, else after maxWait.
func (h *Handler) desired(w http.ResponseWriter, r *http.Request) {
	node := r.PathValue("node")
	known := r.URL.Query().Get("known")
	ctx, cancel := context.WithTimeout(r.Context(), maxWait)
	defer cancel()
	for {
		woken := h.wakes.next(node)
		d, hash := controller.DesiredFor(h.st, node)
		if hash != known || ctx.Err() != nil {
			h.openKeys(node, &d)
			w.Header().Set("X-Lbaas-Desired-Hash", hash)
			_ = json.NewEncoder(w).Encode(d)
			return
		}
		select {
		case <-woken:
		case <-time.After(recheck):
		case <-ctx.Done():
			if r.Context().Err() != nil {
				return
			}
		}
	}
}

func (h *Handler) report(w http.ResponseWriter, r *http.Request) {
	node := r.PathValue("node")
	var rep agentapi.Report
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<20)).Decode(&rep); err != nil {
		writeErr(w, http.StatusBadRequest, "malformed report: "+err.Error())
		return
	}
	now := time.Now().UTC()
	t := new(store.Txn)
	var timed []string // VMs whose failover this report records
	for _, vs := range rep.VMs {
		si, ok := h.st.Get(model.KindServiceInstance, vs.SIID)
		if !ok || !hasVM(si.Obj.(*model.ServiceInstance), vs.VMID, node) {
			continue // a VM this node no longer runs: the agent will remove it
		}
		next := &model.VMReport{
			Meta: model.Meta{ID: vs.VMID, TenantID: si.Obj.Base().TenantID, CreatedAt: now, UpdatedAt: now},
			Node: node, SIID: vs.SIID, LoadBalancerID: si.Obj.(*model.ServiceInstance).LoadBalancerID, State: vs.State, Error: vs.Error,
			AppliedHash: vs.AppliedHash, HAState: vs.HAState, Members: vs.Members, Stats: vs.Stats,
			Listeners: vs.Listeners, Pools: vs.Pools, MemberStats: vs.MemberStats, CountersEpoch: vs.CountersEpoch, LastReload: vs.LastReload, VRRP: vs.VRRP, ReportedAt: now,
		}
		// Looked at on every report, stored or not: a takeover waits for
		// its previous holder's word, which may come reports later.
		if e := h.takeovers.failoverEvent(h.st, next, now); e != nil {
			t.Put(model.KindEvent, e)
			timed = append(timed, next.ID)
		}
		var prev *model.VMReport
		if old, ok := h.st.Get(model.KindVMReport, vs.VMID); ok {
			prev = old.Obj.(*model.VMReport)
			next.CreatedAt = prev.CreatedAt
			if sameHealth(prev, next) && (sameStats(prev, next) || now.Sub(prev.ReportedAt) < statsEvery) {
				continue
			}
		}
		t.Put(model.KindVMReport, next)
		for _, e := range reportEvents(h.st, prev, next, now) {
			t.Put(model.KindEvent, e)
		}
	}
	for id, status := range rep.FloatingIPs {
		if _, ok := h.st.Get(model.KindFloatingIP, id); !ok {
			continue
		}
		if old, ok := h.st.Get(model.KindObserved, id); ok && old.Obj.(*model.Observed).Status == status {
			continue
		}
		t.Put(model.KindObserved, &model.Observed{Meta: model.Meta{ID: id, TenantID: "admin", CreatedAt: now, UpdatedAt: now}, Status: status, ReportedAt: now})
	}
	if !t.Empty() {
		if _, err := h.st.Commit(r.Context(), t); err != nil {
			for _, vm := range timed {
				h.takeovers.forget(vm)
			}
			writeErr(w, http.StatusServiceUnavailable, err.Error())
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func hasVM(si *model.ServiceInstance, vmID, node string) bool {
	for _, vm := range si.VMs {
		if vm.ID == vmID && vm.Node == node {
			return true
		}
	}
	return false
}

func sameStats(a, b *model.VMReport) bool {
	return a.Stats == b.Stats && maps.Equal(a.Listeners, b.Listeners) && maps.Equal(a.Pools, b.Pools) && maps.Equal(a.MemberStats, b.MemberStats)
}

func sameHealth(a, b *model.VMReport) bool {
	return a.State == b.State && a.Error == b.Error && a.AppliedHash == b.AppliedHash &&
		a.HAState == b.HAState && a.LastReload.Equal(b.LastReload) && maps.Equal(a.Members, b.Members) &&
		// A new HAProxy worker's counters start from zero: stored at once,
		// so that the sums lose as little as they can of the old one's.
		a.CountersEpoch == b.CountersEpoch &&
		sameVRRP(a.VRRP, b.VRRP)
}

// sameVRRP compares two transition records (their times by instant: one
// comes back from the store through JSON).
func sameVRRP(a, b model.VRRPRecord) bool {
	return a.State == b.State && a.Since.Equal(b.Since) && a.Left == b.Left && a.LeftAt.Equal(b.LeftAt)
}

// openKeys decrypts the private keys of the certificates in d, which the
// store holds sealed: here, on their way to the one agent that uses them,
// is the only place they are in the clear. A key that does not open is
// left out (HAProxy then refuses the listener, and the load balancer's
// status says why); the log names the certificate, never the key.
func (h *Handler) openKeys(node string, d *agentapi.Desired) {
	for i := range d.Instances {
		certs := d.Instances[i].Certificates
		for j := range certs {
			plain, err := h.secrets.Open(certs[j].PrivateKey, certs[j].CertificateID)
			if err != nil {
				h.log.Error("a certificate's private key does not open: check that every server has the same key file", "certificate", certs[j].CertificateID, "node", node, "err", err)
				certs[j].PrivateKey = ""
				continue
			}
			certs[j].PrivateKey = string(plain)
		}
	}
}

package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"lbaas/internal/agentapi"
	"lbaas/internal/haproxy"
	"lbaas/internal/model"
	"lbaas/internal/netns"
	"lbaas/internal/proc"
	"lbaas/internal/vrrp"
)

// Interface names inside an instance's namespace.
const (
	ifVIP  = "vip0"
	ifPool = "pool0"
)

// localVM is what the agent records about an instance it built, so that
// after a restart it knows what is its own (several agents may share a
// machine, and namespaces are global).
type localVM struct {
	VMID           string `json:"vm_id"`
	SIID           string `json:"si_id"`
	LoadBalancerID string `json:"loadbalancer_id"`
	Namespace      string `json:"namespace"`
}

// paths puts an instance's files under the state dir, except its sockets:
// a unix socket path must fit in 107 bytes, so they live in a short
// per-agent run directory.
func (a *Agent) paths(lbID string) haproxy.Paths {
	p := haproxy.DefaultPaths(a.o.StateDir, lbID)
	p.Socket = filepath.Join(a.runDir, lbID+".sock")
	p.MasterSocket = filepath.Join(a.runDir, lbID+".master")
	return p
}

func (a *Agent) manager(namespace string) *haproxy.Manager {
	return haproxy.NewManager(haproxy.Options{Start: func(cmd *exec.Cmd) error { return netns.StartProcess(namespace, cmd) }})
}

// localVMs lists the instances this agent built.
func (a *Agent) localVMs() []localVM {
	dirs, _ := filepath.Glob(filepath.Join(a.o.StateDir, "loadbalancer", "*"))
	var out []localVM
	for _, d := range dirs {
		if vm, ok := readLocalVM(d); ok {
			out = append(out, vm)
		}
	}
	return out
}

// readLocalVM reads an instance directory's record.
func readLocalVM(dir string) (localVM, bool) {
	var vm localVM
	b, err := os.ReadFile(filepath.Join(dir, "vm.json"))
	if err != nil || json.Unmarshal(b, &vm) != nil || !model.IsUUID(vm.LoadBalancerID) {
		return localVM{}, false
	}
	return vm, true
}

// applyInstance makes one VM match its desired state. Every step is
// idempotent; a step that is already right costs a netlink read.
func (a *Agent) applyInstance(ctx context.Context, in agentapi.Instance) error {
	if !model.IsUUID(in.LoadBalancer.ID) || !model.IsUUID(in.VMID) || !model.IsUUID(in.SIID) {
		return errors.New("desired state carries a malformed id")
	}
	paths := a.paths(in.LoadBalancer.ID)
	// The node ran another VM of this load balancer before (it was dropped while the
	// node seemed dead, and now a new one is scheduled here): remove the old
	// one first, or its namespace and processes would be left behind and
	// the new VM would adopt an HAProxy living in the old namespace.
	if old, ok := readLocalVM(paths.Dir); ok && old.VMID != in.VMID {
		a.log.Info("replacing an older VM of the load balancer on this node", "old_vm", old.VMID, "vm", in.VMID, "loadbalancer", in.LoadBalancer.ID)
		if err := a.removeInstance(old); err != nil {
			return fmt.Errorf("remove the older VM %s: %w", old.VMID, err)
		}
	}
	if err := os.MkdirAll(paths.Dir, 0o700); err != nil {
		return err
	}
	rec, _ := json.Marshal(localVM{VMID: in.VMID, SIID: in.SIID, LoadBalancerID: in.LoadBalancer.ID, Namespace: in.Namespace})
	if err := writeFileAtomic(filepath.Join(paths.Dir, "vm.json"), rec, 0o600); err != nil {
		return err
	}
	netKey := fmt.Sprint(in.Namespace, in.VIPNetwork, in.PoolNetwork, in.VIPNetAddress, in.PoolNetAddress, in.VIPNetMAC, in.PoolNetMAC, in.ExternalCIDRs)
	a.mu.Lock()
	done := a.plumbed[in.VMID] == netKey
	a.mu.Unlock()
	started := time.Now()
	if !done {
		if err := a.plumb(in); err != nil {
			return fmt.Errorf("network: %w", err)
		}
		a.mu.Lock()
		a.plumbed[in.VMID] = netKey
		a.mu.Unlock()
	}
	plumbed := time.Now()
	spec, err := a.spec(in, paths)
	if err != nil {
		return err
	}
	// keepalived starts beside HAProxy, not after it: it tracks the HAProxy
	// processes by command line and stays in FAULT, claiming nothing, until
	// one runs. Its own start (tens of milliseconds) and VRRP's master-down
	// wait then overlap HAProxy's start instead of following it, which is
	// most of the time a new load balancer takes to serve. The VIP may come
	// up a moment before HAProxy listens; nothing was served there before.
	vrrpDone := make(chan error, 1)
	go func() { vrrpDone <- a.applyVRRP(ctx, in, paths) }()
	res, err := a.manager(in.Namespace).Apply(ctx, spec)
	haproxyMS := time.Since(plumbed).Milliseconds()
	verr := <-vrrpDone
	if err != nil {
		return fmt.Errorf("haproxy: %w", err)
	}
	if res.Action == haproxy.ActionStarted || res.Action == haproxy.ActionReloaded {
		a.mu.Lock()
		a.reloaded[in.VMID] = time.Now().UTC()
		a.mu.Unlock()
	}
	if res.Action != haproxy.ActionNone {
		// The durations say where a slow provisioning spends its time.
		a.log.Info("instance applied", "vm", in.VMID, "loadbalancer", in.LoadBalancer.ID, "action", res.Action, "reason", res.Reason,
			"runtime_commands", len(res.Commands), "network_ms", plumbed.Sub(started).Milliseconds(), "haproxy_ms", haproxyMS,
			"vrrp_ms", time.Since(plumbed).Milliseconds())
	}
	if verr != nil {
		return fmt.Errorf("vrrp: %w", verr)
	}
	return nil
}

// applyVRRP hands the VIP to keepalived, which moves it between the two
// VMs by itself (VRRP, unicast, priorities 200/100, nopreempt, tracking
// this VM's HAProxy process). A VM without a peer holds the VIP itself,
// unless its keepalived already does (the survivor of a failover keeps
// its VIP untouched until a new standby arrives).
func (a *Agent) applyVRRP(ctx context.Context, in agentapi.Instance, hp haproxy.Paths) error {
	vpaths := vrrp.DefaultPaths(a.o.StateDir, in.LoadBalancer.ID)
	var peers []netip.Addr
	for _, p := range in.Peers {
		if pp, err := netip.ParsePrefix(p.VIPNetAddress); err == nil {
			peers = append(peers, pp.Addr())
		}
	}
	// The router listens too: its arbiter follows the adverts to decide
	// which VM gets the VIP's traffic (internal/arbiter).
	if gw, err := netip.ParseAddr(in.VIPNetwork.GatewayIP); err == nil && len(peers) > 0 {
		peers = append(peers, gw)
	}
	if a.vrrp == nil || len(peers) == 0 {
		if a.vrrp != nil {
			if _, err := a.vrrp.Adopt(vpaths); err == nil {
				return nil
			}
		}
		return a.placeVIP(in)
	}
	own, err := netip.ParsePrefix(in.VIPNetAddress)
	if err != nil {
		return err
	}
	vip, err := netip.ParseAddr(in.LoadBalancer.VIPAddress)
	if err != nil {
		return err
	}
	vrid, err := vrrp.VirtualRouterID(in.SIID)
	if err != nil {
		return err
	}
	name, err := vrrp.InstanceName(in.VMID, in.SIID)
	if err != nil {
		return err
	}
	cfg := vrrp.Config{
		InstanceName:    name,
		Interface:       ifVIP,
		VirtualRouterID: vrid,
		Priority:        vrrp.PriorityFor(in.Priority >= model.PriorityActive),
		UnicastSrc:      own.Addr(),
		UnicastPeers:    peers,
		VIP:             netip.PrefixFrom(vip, own.Bits()),
		AdvertInterval:  a.o.AdvertInterval,
		TrackProcess:    vrrp.HAProxyProcess(a.haproxyBin, hp),
	}
	if in.Priority < model.PriorityActive {
		// Long enough for the active (started at about the same time) to
		// win the first election, short enough not to delay a repair.
		cfg.StartupDelay = 300 * time.Millisecond
	}
	// keepalived keeps its sockets on the vip0 it started with; when the
	// link was re-created (deleted by hand, repaired by us) it must start
	// again on the new one, or it neither hears nor sends adverts.
	idx := linkIndex(in.Namespace, ifVIP)
	a.mu.Lock()
	seen, known := a.vipIndex[in.VMID]
	a.vipIndex[in.VMID] = idx
	a.mu.Unlock()
	if known && seen != idx && idx != 0 {
		a.log.Info("vip0 was re-created: restarting keepalived", "vm", in.VMID, "loadbalancer", in.LoadBalancer.ID)
		if err := a.vrrp.Stop(ctx, vpaths); err != nil && !errors.Is(err, vrrp.ErrNotRunning) {
			return err
		}
	}
	res, err := a.vrrp.Apply(ctx, vrrp.Spec{Namespace: in.Namespace, Paths: vpaths, Config: cfg})
	if err != nil {
		return err
	}
	if res.Action != "none" {
		a.log.Info("vrrp applied", "vm", in.VMID, "loadbalancer", in.LoadBalancer.ID, "action", res.Action, "priority", in.Priority)
	}
	return nil
}

// plumb builds the namespace and its links: vip0 on the VIP network (with
// a route to the external networks through the router), pool0 on the pool
// network.
func (a *Agent) plumb(in agentapi.Instance) error {
	if err := netns.Ensure(in.Namespace); err != nil {
		return err
	}
	// The standby binds the VIP before it holds it, so that taking over
	// is only moving an address.
	if err := netns.SetSysctl(in.Namespace, "net.ipv4.ip_nonlocal_bind", "1"); err != nil {
		return err
	}
	if err := a.attach(in.Namespace, ifVIP, in.VIPNetwork, in.VIPNetAddress, in.VIPNetMAC, in.ExternalCIDRs); err != nil {
		return err
	}
	if in.PoolNetwork.ID != in.VIPNetwork.ID {
		if err := a.attach(in.Namespace, ifPool, in.PoolNetwork, in.PoolNetAddress, in.PoolNetMAC, nil); err != nil {
			return err
		}
	}
	return nil
}

func (a *Agent) attach(ns, ifname string, nw agentapi.Network, addr, mac string, routes []string) error {
	if err := a.ensureNetwork(nw); err != nil {
		return err
	}
	p, err := netip.ParsePrefix(addr)
	if err != nil {
		return fmt.Errorf("address %q: %w", addr, err)
	}
	spec := netns.AttachSpec{Namespace: ns, IfName: ifname, NetworkID: nw.ID, Address: p, MTU: nw.MTU}
	if hw, err := net.ParseMAC(mac); err == nil {
		spec.MAC = hw // the port's MAC: the router's arbiter pins the VIP to it
	}
	if gw, err := netip.ParseAddr(nw.GatewayIP); err == nil {
		own := netip.MustParsePrefix(nw.CIDR)
		for _, r := range routes {
			rp, err := netip.ParsePrefix(r)
			if err == nil && !rp.Overlaps(own) {
				spec.Gateway = gw
				spec.ExtraRoutes = append(spec.ExtraRoutes, rp)
			}
		}
	}
	return a.o.Fabric.Attach(spec)
}

// placeVIP puts the VIP on the active VM only. (VRRP takes this job over
// when it runs; see internal/vrrp.)
func (a *Agent) placeVIP(in agentapi.Instance) error {
	vip, err := netip.ParseAddr(in.LoadBalancer.VIPAddress)
	if err != nil {
		return fmt.Errorf("VIP address %q: %w", in.LoadBalancer.VIPAddress, err)
	}
	p := netip.PrefixFrom(vip, netip.MustParsePrefix(in.VIPNetwork.CIDR).Bits())
	if in.Role == model.RoleActive {
		return netns.AddAddress(in.Namespace, ifVIP, p)
	}
	return netns.DelAddress(in.Namespace, ifVIP, p)
}

// spec turns the desired instance into HAProxy's typed spec: a frontend
// per listener, a backend per pool, each member kept in the slot it had so
// that membership changes need no reload.
func (a *Agent) spec(in agentapi.Instance, paths haproxy.Paths) (haproxy.Spec, error) {
	vip, err := netip.ParseAddr(in.LoadBalancer.VIPAddress)
	if err != nil {
		return haproxy.Spec{}, fmt.Errorf("VIP address %q: %w", in.LoadBalancer.VIPAddress, err)
	}
	s := haproxy.Spec{ID: in.LoadBalancer.ID, Paths: paths}
	certs, err := a.writeCertificates(paths, in.Certificates)
	if err != nil {
		return s, err
	}
	// A pool behind a listener that ends TLS gets plain HTTP, whatever
	// its own protocol says (a v1 HTTPS pool behind a terminating VIP).
	plain := map[string]bool{}
	for _, l := range in.Listeners {
		hl := haproxy.Listener{
			ID: l.ID, Address: vip, Port: l.ProtocolPort, Protocol: haproxy.Protocol(l.Protocol),
			ConnLimit: l.ConnectionLimit, AdminUp: l.AdminStateUp && in.LoadBalancer.AdminStateUp, DefaultPoolID: l.DefaultPoolID,
			TimeoutClientData:    ms(l.TimeoutClientData),
			TimeoutMemberConnect: ms(l.TimeoutMemberConnect),
			TimeoutMemberData:    ms(l.TimeoutMemberData),
			TimeoutTCPInspect:    ms(l.TimeoutTCPInspect),
			L7Policies:           l7Policies(l.L7Policies),
		}
		if l.TerminatesTLS() {
			// HTTPS to its clients whatever its protocol says (the
			// seed's HTTP VIP on 443), HTTP to the members.
			hl.Protocol = haproxy.ProtocolTerminatedHTTPS
			if hl.TLSCertFile, hl.TLSCertSum, err = a.listenerCert(paths, &certs, "listener-"+l.ID, l.CertificateID); err != nil {
				return s, err
			}
			plain[l.DefaultPoolID] = true
			for i, id := range l.SNICertificateIDs {
				f, sum, err := a.listenerCert(paths, &certs, fmt.Sprintf("listener-%s-sni-%d", l.ID, i+1), id)
				if err != nil {
					return s, err
				}
				hl.SNICertFiles, hl.SNICertSums = append(hl.SNICertFiles, f), append(hl.SNICertSums, sum)
			}
			hl.TLS = tlsOptions(l.TLSVersions, l.TLSCiphers, l.ALPNProtocols)
			switch l.ClientAuthentication {
			case model.ClientAuthOptional, model.ClientAuthMandatory:
				hl.TLS.Verify = map[string]string{model.ClientAuthOptional: "optional", model.ClientAuthMandatory: "required"}[l.ClientAuthentication]
				hl.TLS.CAFile, hl.TLS.CRLFile = certs.pem(l.ClientCATLSContainerRef), certs.crl(l.ClientCRLContainerRef)
			}
			if l.HSTSMaxAge != nil {
				hl.HSTS = &haproxy.HSTS{MaxAge: *l.HSTSMaxAge, IncludeSubdomains: l.HSTSIncludeSubdomains, Preload: l.HSTSPreload}
			}
		}
		listenerHeaders(&hl, &l.Listener)
		for _, c := range l.AllowedCIDRs {
			p, err := netip.ParsePrefix(c)
			if err != nil {
				return s, fmt.Errorf("listener %s: allowed CIDR %q: %w", l.ID, c, err)
			}
			hl.AllowedCIDRs = append(hl.AllowedCIDRs, p)
		}
		s.Listeners = append(s.Listeners, hl)
	}
	prev, _ := haproxy.LoadState(paths)
	for _, ap := range in.Pools {
		p := haproxy.Pool{ID: ap.ID, Method: haproxy.Method(ap.LBMethod), Protocol: haproxy.Protocol(ap.Protocol), AdminUp: ap.AdminStateUp}
		if plain[ap.ID] && ap.Protocol != model.ProtocolProxy && ap.Protocol != model.ProtocolProxyV2 {
			p.Protocol = haproxy.ProtocolHTTP
		}
		if ap.TLSEnabled {
			t := tlsOptions(ap.TLSVersions, ap.TLSCiphers, ap.ALPNProtocols)
			t.CertFile, t.CAFile, t.CRLFile = certs.pem(ap.TLSContainerRef), certs.pem(ap.CATLSContainerRef), certs.crl(ap.CRLContainerRef)
			p.TLS = &t
		}
		if sp := ap.SessionPersistence; sp != nil {
			p.Persistence = haproxy.Persistence{Type: haproxy.PersistenceType(sp.Type), CookieName: sp.CookieName}
		}
		for _, m := range ap.Members {
			hm, err := member(m)
			if err != nil {
				return s, err
			}
			p.Members = append(p.Members, hm)
		}
		if h := ap.Monitor; h != nil {
			mon := &haproxy.Monitor{Type: haproxy.MonitorType(h.Type), Delay: h.Delay, Timeout: h.Timeout, Rise: h.Rise, Fall: h.Fall,
				HTTPMethod: h.HTTPMethod, HTTPVersion: h.HTTPVersion, DomainName: h.DomainName, URLPath: h.URLPath,
				ExpectedCodes: strings.ReplaceAll(h.ExpectedCodes, " ", "")}
			if h.Type == model.MonitorPING {
				cmd, err := a.writePingCheck(paths, h.Timeout)
				if err != nil {
					return s, err
				}
				mon.PingCommand = cmd
			}
			p.Monitor = mon
		}
		prevSlots, slots := map[string]int{}, 0
		if pp, ok := prev.PoolByID(p.ID); ok {
			prevSlots, slots = haproxy.SlotMap(pp.Members), pp.Slots
		}
		p.Members, p.Slots = haproxy.AssignSlots(prevSlots, p.Members, slots)
		s.Pools = append(s.Pools, p)
	}
	if certs.err != nil {
		return s, certs.err
	}
	removeCertificates(paths, certs.keep)
	return s, nil
}

func member(m model.Member) (haproxy.Member, error) {
	addr, err := netip.ParseAddr(m.Address)
	if err != nil {
		return haproxy.Member{}, fmt.Errorf("member %s: %w", m.ID, err)
	}
	hm := haproxy.Member{ID: m.ID, Address: addr, Port: m.ProtocolPort, Weight: m.Weight, AdminUp: m.AdminStateUp,
		Backup: m.Backup, MonitorPort: m.MonitorPort}
	if m.MonitorAddress != "" {
		if hm.MonitorAddress, err = netip.ParseAddr(m.MonitorAddress); err != nil {
			return hm, fmt.Errorf("member %s monitor address: %w", m.ID, err)
		}
	}
	return hm, nil
}

// ms is a timeout given in milliseconds (0: HAProxy's default here).
func ms(v int) time.Duration { return time.Duration(v) * time.Millisecond }

// writeCertificates writes each certificate the listeners use and removes
// the others; it returns each one's file by certificate id.
func (a *Agent) writeCertificates(paths haproxy.Paths, certs []agentapi.TLS) (certFiles, error) {
	files := certFiles{a: a, paths: paths, byID: map[string]*agentapi.TLS{}, keep: map[string]bool{}}
	for i := range certs {
		files.byID[certs[i].CertificateID] = &certs[i]
	}
	return files, nil
}

// certFiles writes certificate files as the spec names them: by
// certificate id what is named by id (CA bundles, CRLs, a pool's client
// certificate), by listener place what a listener terminates TLS with
// (see listenerCert), so that no key is on disk twice; keep is every file
// written, whose directory spec then clears of others.
type certFiles struct {
	a     *Agent
	paths haproxy.Paths
	byID  map[string]*agentapi.TLS
	keep  map[string]bool
	err   error
}

// pem writes certificate id's PEM and returns its path ("" for none).
func (c *certFiles) pem(id string) string {
	f, _ := c.write(id)
	return f
}

// crl writes certificate id's revocation list and returns its path.
func (c *certFiles) crl(id string) string {
	_, f := c.write(id)
	return f
}

func (c *certFiles) write(id string) (string, string) {
	if id == "" {
		return "", ""
	}
	t, ok := c.byID[id]
	if !ok {
		c.err = fmt.Errorf("certificate %s is not in the desired state", id)
		return "", ""
	}
	f, crl, err := c.a.writeCertificate(c.paths, id, t)
	if err != nil {
		c.err = err
		return "", ""
	}
	c.keep[f] = true
	if crl != "" {
		c.keep[crl] = true
	}
	return f, crl
}

// listenerCert writes certificate id again under a name of the listener's
// own place (its default, or its i-th SNI certificate), so that a new
// certificate there keeps the path HAProxy knows, which the runtime API
// can then swap without a reload. It returns the path and a digest of the
// contents.
func (a *Agent) listenerCert(paths haproxy.Paths, files *certFiles, place, id string) (string, string, error) {
	t, ok := files.byID[id]
	if !ok {
		return "", "", fmt.Errorf("certificate %s is not in the desired state", id)
	}
	f, _, err := a.writeCertificate(paths, place, &agentapi.TLS{Certificate: t.Certificate, Intermediates: t.Intermediates, PrivateKey: t.PrivateKey})
	if err != nil {
		return "", "", err
	}
	files.keep[f] = true
	b, err := os.ReadFile(f)
	if err != nil {
		return "", "", err
	}
	sum := sha256.Sum256(b)
	return f, hex.EncodeToString(sum[:12]), nil
}

// writeCertificate writes a listener's certificate, chain and key as one PEM
// file readable by root only, named after the certificate so that a
// replaced certificate is a new file (and a reload), never a half-written
// one.
func (a *Agent) writeCertificate(paths haproxy.Paths, name string, t *agentapi.TLS) (pemFile, crlFile string, err error) {
	if !fileNameRE.MatchString(name) {
		return "", "", errors.New("malformed certificate file name")
	}
	dir := filepath.Join(paths.Dir, "tls")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", err
	}
	write := func(name, text string) error {
		if old, err := os.ReadFile(name); err == nil && string(old) == text {
			return nil
		}
		return writeFileAtomic(name, []byte(text), 0o600)
	}
	pemFile = filepath.Join(dir, name+".pem")
	var b strings.Builder
	b.WriteString(strings.TrimSpace(t.Certificate) + "\n")
	if c := strings.TrimSpace(t.Intermediates); c != "" {
		b.WriteString(c + "\n")
	}
	if k := strings.TrimSpace(t.PrivateKey); k != "" { // a CA bundle has none
		b.WriteString(k + "\n")
	}
	if err := write(pemFile, b.String()); err != nil {
		return "", "", err
	}
	if c := strings.TrimSpace(t.CRL); c != "" {
		crlFile = filepath.Join(dir, name+"-crl.pem")
		if err := write(crlFile, c+"\n"); err != nil {
			return "", "", err
		}
	}
	return pemFile, crlFile, nil
}

// fileNameRE is what a certificate file's name may be: a certificate id
// or a listener's place ("listener-<id>", "listener-<id>-sni-<n>").
var fileNameRE = regexp.MustCompile(`^[A-Za-z0-9-]{1,80}$`)

// removeCertificates deletes certificate files not in keep.
func removeCertificates(paths haproxy.Paths, keep map[string]bool) {
	old, _ := filepath.Glob(filepath.Join(paths.Dir, "tls", "*.pem"))
	for _, p := range old {
		if !keep[p] {
			_ = os.Remove(p)
		}
	}
}

// writePingCheck writes the command HAProxy runs for a PING monitor: our
// own binary doing one ICMP echo. HAProxy passes no timeout to external
// checks, so the script carries it.
func (a *Agent) writePingCheck(paths haproxy.Paths, timeout int) (string, error) {
	exe := a.o.Executable
	if exe == "" || strings.ContainsAny(exe, "'\n") {
		return "", errors.New("no usable path to the lbaas binary for the PING check")
	}
	// Leave HAProxy time to collect the result within its own timeout.
	d := time.Duration(timeout)*time.Second - 200*time.Millisecond
	d = max(d, 300*time.Millisecond)
	script := fmt.Sprintf("#!/bin/sh\nexec '%s' ping-check -timeout %s \"$@\"\n", exe, d)
	// One script per timeout: pools of one load balancer may differ.
	p := filepath.Join(paths.Dir, fmt.Sprintf("ping-check-%ds", timeout))
	if old, err := os.ReadFile(p); err == nil && string(old) == script {
		return p, nil
	}
	return p, writeFileAtomic(p, []byte(script), 0o700)
}

// removeInstance stops the VM's HAProxy and deletes its namespace (which
// takes its links with it) and files.
func (a *Agent) removeInstance(vm localVM) error {
	paths := a.paths(vm.LoadBalancerID)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// keepalived first: the peer takes the VIP over at once.
	if a.vrrp != nil {
		if err := a.vrrp.Stop(ctx, vrrp.DefaultPaths(a.o.StateDir, vm.LoadBalancerID)); err != nil && !errors.Is(err, vrrp.ErrNotRunning) {
			return fmt.Errorf("stop keepalived: %w", err)
		}
	}
	if err := a.manager(vm.Namespace).Stop(ctx, paths); err != nil && !errors.Is(err, haproxy.ErrNotRunning) {
		return fmt.Errorf("stop haproxy: %w", err)
	}
	if vm.Namespace != "" {
		if err := netns.Delete(vm.Namespace); err != nil {
			return fmt.Errorf("delete namespace: %w", err)
		}
	}
	a.log.Info("instance removed", "vm", vm.VMID, "loadbalancer", vm.LoadBalancerID)
	return os.RemoveAll(paths.Dir)
}

// observeInstance reads HAProxy's view: is the frontend open, what does
// each member's check say, and the traffic counters.
func (a *Agent) observeInstance(in agentapi.Instance, st agentapi.VMStatus) agentapi.VMStatus {
	paths := a.paths(in.LoadBalancer.ID)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	stats, err := haproxy.Client{Socket: paths.Socket}.ShowStat(ctx)
	if err != nil {
		st.State, st.Error = model.VMError, "HAProxy does not answer on its runtime socket: "+err.Error()
		return st
	}
	if msg := a.checkVRRP(in); msg != "" {
		st.State, st.Error = model.VMError, msg
		return st
	}
	st.HAState = "BACKUP"
	if vip, err := netip.ParseAddr(in.LoadBalancer.VIPAddress); err == nil {
		addrs, err := netns.Addresses(in.Namespace, ifVIP)
		if err != nil {
			st.State, st.Error = model.VMError, "the VIP network link is missing: "+err.Error()
			return st
		}
		for _, p := range addrs {
			if p.Addr() == vip {
				st.HAState = "MASTER"
			}
		}
	}
	// Every enabled listener's frontend must be open; the counters are
	// kept per listener and per pool, and summed for the load balancer.
	st.Listeners, st.Pools, st.CountersEpoch = map[string]model.Stats{}, map[string]model.Stats{}, stats.PID
	for _, l := range in.Listeners {
		f, ok := stats.Frontend(haproxy.FrontendName(l.ID))
		if l.AdminStateUp && in.LoadBalancer.AdminStateUp && (!ok || f.Status != "OPEN") {
			st.State, st.Error = model.VMError, fmt.Sprintf("HAProxy's frontend of listener %s (port %d) is not open", l.ID, l.ProtocolPort)
			return st
		}
		ls := counters(f)
		st.Listeners[l.ID] = ls
		st.Stats.Add(ls)
	}
	st.State = model.VMServing
	prev, _ := haproxy.LoadState(paths)
	st.Members = map[string]model.MemberHealth{}
	st.MemberStats = map[string]model.Stats{}
	for _, p := range in.Pools {
		be := haproxy.BackendName(p.ID)
		if b, ok := stats.Backend(be); ok {
			st.Pools[p.ID] = counters(b)
		}
		hp, _ := prev.PoolByID(p.ID)
		slots := haproxy.SlotMap(hp.Members)
		for _, m := range p.Members {
			slot, ok := slots[m.ID]
			if !ok {
				continue
			}
			if sv, ok := stats.Server(be, haproxy.SlotName(slot)); ok {
				st.Members[m.ID] = memberHealth(sv)
				st.MemberStats[m.ID] = serverCounters(sv.Counters)
			}
		}
	}
	return st
}

func counters(p haproxy.ProxyStats) model.Stats {
	s := serverCounters(p.Counters)
	s.RequestErrors = int64(p.RequestErrors)
	return s
}

func serverCounters(c haproxy.Counters) model.Stats {
	i := func(v uint64) int64 { return int64(v) }
	return model.Stats{BytesIn: i(c.BytesIn), BytesOut: i(c.BytesOut), ActiveConnections: i(c.CurrentSessions),
		TotalConnections: i(c.TotalSessions), Requests: i(c.Requests),
		Responses1xx: i(c.Resp1xx), Responses2xx: i(c.Resp2xx), Responses3xx: i(c.Resp3xx), Responses4xx: i(c.Resp4xx),
		Responses5xx: i(c.Resp5xx), ResponsesOther: i(c.RespOther), ConnectionErrors: i(c.ConnectionErrors),
		ResponseErrors: i(c.ResponseErrors), Retries: i(c.Retries), Redispatches: i(c.Redispatches),
		DeniedRequests: i(c.DeniedRequests), Queued: i(c.Queued), ResponseTimeMs: i(c.ResponseTimeMs)}
}

func memberHealth(sv haproxy.ServerStats) model.MemberHealth {
	desc := strings.TrimSpace(strings.Join(nonEmpty(sv.CheckDesc, sv.LastCheck), ": "))
	switch sv.Status {
	case haproxy.StatusUp, haproxy.StatusDrain:
		return model.MemberHealth{Status: model.StatusActive, Description: orText(desc, "health check passed")}
	case haproxy.StatusNoCheck:
		return model.MemberHealth{Status: model.StatusActive, Description: "no health monitor: assumed up"}
	case haproxy.StatusMaint:
		return model.MemberHealth{Status: model.StatusInactive, Description: "administratively down"}
	case haproxy.StatusDown:
		return model.MemberHealth{Status: model.StatusInactive, Description: orText(desc, "health check failed")}
	}
	return model.MemberHealth{Status: model.StatusPendingCreate, Description: "waiting for the first health check"}
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	return proc.WriteFileAtomic(path, data, perm)
}

// linkIndex returns the index of a link inside a namespace (0 if absent).
func linkIndex(ns, ifname string) int {
	idx := 0
	_ = netns.Do(ns, func() error {
		if ifc, err := net.InterfaceByName(ifname); err == nil {
			idx = ifc.Index
		}
		return nil
	})
	return idx
}

// vrrpRecord is what the VM's keepalived recorded of its transitions (a
// VM in error too: its departure from MASTER is what a failover is timed
// from).
func (a *Agent) vrrpRecord(in agentapi.Instance) model.VRRPRecord {
	if a.vrrp == nil || len(in.Peers) == 0 {
		return model.VRRPRecord{}
	}
	r := vrrp.Recorded(vrrp.DefaultPaths(a.o.StateDir, in.LoadBalancer.ID))
	return model.VRRPRecord{State: r.State, Since: r.Since, Left: r.Left, LeftAt: r.LeftAt}
}

// checkVRRP says what is wrong with the VM's keepalived, if anything, so
// that the instance is rebuilt at once rather than at the next periodic
// pass: a keepalived that died (a crash, a kill) is started again, and one
// that is stopped (SIGSTOP, a debugger) is killed first. A stopped MASTER
// has lost the VIP to its peer already; resumed, it would still think
// itself MASTER and its priority would take the VIP back, a second outage.
// Restarted, it comes back as BACKUP.
func (a *Agent) checkVRRP(in agentapi.Instance) string {
	if a.vrrp == nil || len(in.Peers) == 0 {
		return ""
	}
	vp := vrrp.DefaultPaths(a.o.StateDir, in.LoadBalancer.ID)
	running, stuck := a.vrrp.Check(vp)
	switch {
	case !running:
		return "keepalived is not running"
	case !stuck:
		return ""
	}
	a.log.Warn("keepalived is stopped: killing it, to be started again as BACKUP", "vm", in.VMID, "loadbalancer", in.LoadBalancer.ID)
	if err := a.vrrp.Kill(vp); err != nil {
		return "keepalived is stopped and could not be killed: " + err.Error()
	}
	return "keepalived was stopped; killed, to be started again"
}

// l7Policies is what HAProxy enforces of a listener's policies: the
// enabled ones, in position order, each with its enabled rules (one left
// without any matches nothing, and Render leaves it out). Nil when there
// are none, as a spec read back from the state file has it.
func l7Policies(in []agentapi.L7Policy) []haproxy.L7Policy {
	var out []haproxy.L7Policy
	for _, p := range in {
		if !p.AdminStateUp {
			continue
		}
		hp := haproxy.L7Policy{ID: p.ID, Action: haproxy.L7Action(p.Action), PoolID: p.RedirectPoolID, Code: p.RedirectHTTPCode}
		switch p.Action {
		case model.L7RedirectToURL:
			hp.URL = p.RedirectURL
		case model.L7RedirectPrefix:
			hp.URL = p.RedirectPrefix
		}
		for _, r := range p.Rules {
			if r.AdminStateUp {
				hp.Rules = append(hp.Rules, haproxy.L7Rule{ID: r.ID, Type: r.Type, Compare: r.CompareType, Key: r.Key, Value: r.Value, Invert: r.Invert})
			}
		}
		out = append(out, hp)
	}
	return out
}

// tlsOptions maps handshake settings to HAProxy's (its version names
// spell TLS 1.0 "TLSv1.0").
func tlsOptions(versions []string, ciphers string, alpn []string) haproxy.TLSOptions {
	t := haproxy.TLSOptions{Ciphers: ciphers, ALPN: alpn}
	if lo, hi, ok := model.TLSVersionRange(versions); ok {
		name := func(i int) string {
			if v := model.TLSVersionsAllowed[i]; v != "TLSv1" {
				return v
			}
			return "TLSv1.0"
		}
		t.MinVersion, t.MaxVersion = name(lo), name(hi)
	}
	return t
}

// listenerHeaders maps insert_headers: X-Forwarded-For is on unless
// turned off, X-Forwarded-Proto is on for a terminating listener unless
// turned off, the others are on when asked for.
func listenerHeaders(hl *haproxy.Listener, l *model.Listener) {
	off := func(h string) bool {
		v, ok := l.InsertHeaders[h]
		return ok && strings.EqualFold(v, "false")
	}
	hl.NoForwardedFor = off("X-Forwarded-For")
	hl.NoForwardedProto = off("X-Forwarded-Proto") && l.Protocol == model.ProtocolTerminatedHTTPS
	names := make([]string, 0, len(l.InsertHeaders))
	for h := range l.InsertHeaders {
		names = append(names, h)
	}
	sort.Strings(names)
	for _, h := range names {
		if h != "X-Forwarded-For" && l.InsertsHeader(h) {
			hl.Headers = append(hl.Headers, haproxy.Header(h))
		}
	}
}

package octavia

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"

	"lbaas/internal/api/httpapi"
	"lbaas/internal/controller"
	"lbaas/internal/model"
	"lbaas/internal/store"
)

var listenerRes = &resource{kind: model.KindListener, singular: "listener", plural: "listeners", what: "Listener", view: viewListener,
	extra: func(o model.Object) map[string]any {
		return map[string]any{"loadbalancer_id": o.(*model.Listener).LoadBalancerID}
	}}

// Octavia's default timeouts, in milliseconds.
const (
	defaultTimeoutClientData    = 50000
	defaultTimeoutMemberConnect = 5000
	defaultTimeoutMemberData    = 50000
)

// listenerRequest is the body of POST/PUT .../listeners.
type listenerRequest struct {
	ProjectID               *string            `json:"project_id" lbaas:"create"`
	TenantID                *string            `json:"tenant_id" lbaas:"create"`
	Name                    *string            `json:"name" lbaas:"create,update,nullable"`
	Description             *string            `json:"description" lbaas:"create,update,nullable"`
	AdminStateUp            *bool              `json:"admin_state_up" lbaas:"create,update"`
	LoadBalancerID          *string            `json:"loadbalancer_id" lbaas:"create,required"`
	Protocol                *string            `json:"protocol" lbaas:"create,required"`
	ProtocolPort            *int               `json:"protocol_port" lbaas:"create,required"`
	ConnectionLimit         *int               `json:"connection_limit" lbaas:"create,update,nullable"`
	DefaultPoolID           *string            `json:"default_pool_id" lbaas:"create,update,nullable"`
	DefaultTLSContainerRef  *string            `json:"default_tls_container_ref" lbaas:"create,update,nullable"`
	TimeoutClientData       *int               `json:"timeout_client_data" lbaas:"create,update,nullable"`
	TimeoutMemberConnect    *int               `json:"timeout_member_connect" lbaas:"create,update,nullable"`
	TimeoutMemberData       *int               `json:"timeout_member_data" lbaas:"create,update,nullable"`
	TimeoutTCPInspect       *int               `json:"timeout_tcp_inspect" lbaas:"create,update,nullable"`
	Tags                    *[]string          `json:"tags" lbaas:"create,update,nullable"`
	SNIContainerRefs        *[]string          `json:"sni_container_refs" lbaas:"create,update,nullable"`
	InsertHeaders           *map[string]string `json:"insert_headers" lbaas:"create,update,nullable"`
	L7Policies              *[]json.RawMessage `json:"l7policies" lbaas:"create,nullable"`
	AllowedCIDRs            *[]string          `json:"allowed_cidrs" lbaas:"create,update,nullable"`
	ClientAuthentication    *string            `json:"client_authentication" lbaas:"create,update,nullable"`
	ClientCATLSContainerRef *string            `json:"client_ca_tls_container_ref" lbaas:"create,update,nullable"`
	ClientCRLContainerRef   *string            `json:"client_crl_container_ref" lbaas:"create,update,nullable"`
	TLSCiphers              *string            `json:"tls_ciphers" lbaas:"create,update,nullable"`
	TLSVersions             *[]string          `json:"tls_versions" lbaas:"create,update,nullable"`
	ALPNProtocols           *[]string          `json:"alpn_protocols" lbaas:"create,update,nullable"`
	HSTSMaxAge              *int               `json:"hsts_max_age" lbaas:"create,update,nullable"`
	HSTSIncludeSubdomains   *bool              `json:"hsts_include_subdomains" lbaas:"create,update,nullable"`
	HSTSPreload             *bool              `json:"hsts_preload" lbaas:"create,update,nullable"`
	// nullHSTSMaxAge records an explicit null (HSTS off), which the
	// decoder turns into a pointer to 0.
	nullHSTSMaxAge bool
}

// read decodes a listener body, noting an explicit null hsts_max_age.
func (req *listenerRequest) read(r *http.Request, op model.Op) error {
	body, err := httpapi.ReadBody(r)
	if err != nil {
		return err
	}
	if err := model.DecodeBody(body, "listener", op, req); err != nil {
		return err
	}
	var outer map[string]map[string]json.RawMessage
	if json.Unmarshal(body, &outer) == nil {
		req.noteNulls(outer["listener"])
	}
	return nil
}

// noteNulls records which nullable numbers were sent as null.
func (req *listenerRequest) noteNulls(fields map[string]json.RawMessage) {
	req.nullHSTSMaxAge = string(fields["hsts_max_age"]) == "null"
}

// unsupportedOptions refuses what Octavia has and this provider does not.
func (req *listenerRequest) unsupportedOptions() error {
	switch {
	case req.L7Policies != nil && len(*req.L7Policies) > 0:
		// Octavia takes them in a fully populated load balancer's
		// listeners; here they are made one by one afterwards.
		return unsupported("l7policies inside a listener (create them with POST /l7policies)")
	}
	return nil
}

// checkProtocol refuses Octavia's protocols this provider does not serve
// before the model's enum reports them as unknown.
func checkProtocol(field, p string) error {
	switch p {
	case "UDP", "SCTP":
		return &model.InputError{Type: "ValidationException", Message: "Invalid input for " + field + ". Reason: protocol " + p + " is not supported by this provider."}
	}
	return nil
}

func orDefault(v, d int) int {
	if v == 0 {
		return d
	}
	return v
}

func viewListener(s *Server, c *statuses, e store.Entry) map[string]any {
	l := e.Obj.(*model.Listener)
	st := c.of(l.LoadBalancerID)
	v := common(&l.Meta)
	v["name"] = l.Name
	v["description"] = l.Description
	v["admin_state_up"] = l.AdminStateUp
	v["provisioning_status"] = st.prov.Status
	v["operating_status"] = operating(st.op.Listeners, l.ID)
	v["protocol"] = l.Protocol
	v["protocol_port"] = l.ProtocolPort
	v["connection_limit"] = l.ConnectionLimit
	v["default_pool_id"] = nullable(l.DefaultPoolID)
	v["default_tls_container_ref"] = nullable(l.TLSContainerRef)
	v["sni_container_refs"] = list(l.SNIContainerRefs)
	ih := map[string]string{}
	for k, x := range l.InsertHeaders {
		ih[k] = x
	}
	v["insert_headers"] = ih
	v["timeout_client_data"] = orDefault(l.TimeoutClientData, defaultTimeoutClientData)
	v["timeout_member_connect"] = orDefault(l.TimeoutMemberConnect, defaultTimeoutMemberConnect)
	v["timeout_member_data"] = orDefault(l.TimeoutMemberData, defaultTimeoutMemberData)
	v["timeout_tcp_inspect"] = l.TimeoutTCPInspect
	v["loadbalancers"] = refs(l.LoadBalancerID)
	v["l7policies"] = refs(entryIDs(s.policiesOf(l.ID))...)
	v["client_authentication"] = cmp.Or(l.ClientAuthentication, model.ClientAuthNone)
	v["client_ca_tls_container_ref"] = nullable(l.ClientCATLSContainerRef)
	v["client_crl_container_ref"] = nullable(l.ClientCRLContainerRef)
	v["allowed_cidrs"] = nullList(l.AllowedCIDRs)
	v["tls_ciphers"] = nullable(l.TLSCiphers)
	v["tls_versions"] = nullList(l.TLSVersions)
	v["alpn_protocols"] = nullList(l.ALPNProtocols)
	if l.HSTSMaxAge != nil {
		v["hsts_max_age"] = *l.HSTSMaxAge
	} else {
		v["hsts_max_age"] = nil
	}
	v["hsts_include_subdomains"] = l.HSTSIncludeSubdomains
	v["hsts_preload"] = l.HSTSPreload
	v["tags"] = tags(l.Tags)
	return v
}

// listenerClaim makes a port unique on a load balancer's address.
func listenerClaim(l *model.Listener) string {
	return "listener/" + l.LoadBalancerID + "/" + strconv.Itoa(l.ProtocolPort)
}

func applyListener(l *model.Listener, req *listenerRequest) {
	setStr := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	setInt := func(dst *int, src *int, d int) {
		if src != nil {
			*dst = *src
			if *src == 0 && d != 0 {
				*dst = d // null: back to the default
			}
		}
	}
	setStr(&l.Name, req.Name)
	setStr(&l.Description, req.Description)
	if req.AdminStateUp != nil {
		l.AdminStateUp = *req.AdminStateUp
	}
	if req.ConnectionLimit != nil {
		l.ConnectionLimit = *req.ConnectionLimit
	}
	setStr(&l.DefaultPoolID, req.DefaultPoolID)
	if req.DefaultTLSContainerRef != nil {
		l.TLSContainerRef = refID(*req.DefaultTLSContainerRef)
	}
	setInt(&l.TimeoutClientData, req.TimeoutClientData, defaultTimeoutClientData)
	setInt(&l.TimeoutMemberConnect, req.TimeoutMemberConnect, defaultTimeoutMemberConnect)
	setInt(&l.TimeoutMemberData, req.TimeoutMemberData, defaultTimeoutMemberData)
	setInt(&l.TimeoutTCPInspect, req.TimeoutTCPInspect, 0)
	if req.Tags != nil {
		l.Tags = append([]string{}, (*req.Tags)...)
	}
	setList := func(dst *[]string, src *[]string) {
		if src != nil {
			*dst = nil
			if len(*src) > 0 {
				*dst = append([]string{}, (*src)...)
			}
		}
	}
	setList(&l.AllowedCIDRs, req.AllowedCIDRs)
	setList(&l.SNIContainerRefs, req.SNIContainerRefs)
	if req.SNIContainerRefs != nil {
		for i, r := range l.SNIContainerRefs {
			l.SNIContainerRefs[i] = refID(r)
		}
	}
	setList(&l.TLSVersions, req.TLSVersions)
	setStr(&l.ClientAuthentication, req.ClientAuthentication)
	for _, r := range []struct{ dst, src *string }{{&l.ClientCATLSContainerRef, req.ClientCATLSContainerRef}, {&l.ClientCRLContainerRef, req.ClientCRLContainerRef}} {
		if r.src != nil {
			*r.dst = refID(*r.src)
		}
	}
	setList(&l.ALPNProtocols, req.ALPNProtocols)
	setStr(&l.TLSCiphers, req.TLSCiphers)
	if req.InsertHeaders != nil {
		l.InsertHeaders = nil
		for k, v := range *req.InsertHeaders {
			if l.InsertHeaders == nil {
				l.InsertHeaders = map[string]string{}
			}
			l.InsertHeaders[k] = v
		}
	}
	if req.HSTSMaxAge != nil {
		v := *req.HSTSMaxAge
		l.HSTSMaxAge = &v
		if req.nullHSTSMaxAge {
			l.HSTSMaxAge = nil
		}
	}
	if req.HSTSIncludeSubdomains != nil {
		l.HSTSIncludeSubdomains = *req.HSTSIncludeSubdomains
	}
	if req.HSTSPreload != nil {
		l.HSTSPreload = *req.HSTSPreload
	}
}

// nullList renders an unset list as null, as Octavia does.
func nullList(xs []string) any {
	if len(xs) == 0 {
		return nil
	}
	return xs
}

// list renders a list that is never null.
func list(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

func (s *Server) createListener(w http.ResponseWriter, r *http.Request) {
	caller := httpapi.WhoFrom(r.Context())
	var req listenerRequest
	if err := req.read(r, model.OpCreate); err != nil {
		s.fail(w, r, err)
		return
	}
	l, err := s.prepareListener(caller, &req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.mutateAndShow(w, r, listenerRes, http.StatusCreated, l.ID, func() (*store.Txn, error) {
		t := new(store.Txn)
		if err := s.guardQuota(t, l.TenantID, model.KindListener, 1); err != nil {
			return nil, err
		}
		if err := s.addListener(t, caller, l); err != nil {
			return nil, err
		}
		return t, nil
	})
}

func (s *Server) prepareListener(caller httpapi.Who, req *listenerRequest) (*model.Listener, error) {
	tenant, err := tenantFor(caller, req.ProjectID, req.TenantID)
	if err != nil {
		return nil, err
	}
	if err := req.unsupportedOptions(); err != nil {
		return nil, err
	}
	if err := checkProtocol("protocol", *req.Protocol); err != nil {
		return nil, err
	}
	if *req.Protocol == model.ProtocolPrometheus && str(req.DefaultPoolID) != "" {
		return nil, validation("A PROMETHEUS listener answers /metrics itself; it takes no default_pool_id.")
	}
	l := &model.Listener{Meta: s.newMeta(tenant), LoadBalancerID: *req.LoadBalancerID, Protocol: *req.Protocol, ProtocolPort: *req.ProtocolPort,
		AdminStateUp: true, ConnectionLimit: -1, TimeoutClientData: defaultTimeoutClientData,
		TimeoutMemberConnect: defaultTimeoutMemberConnect, TimeoutMemberData: defaultTimeoutMemberData}
	applyListener(l, req)
	model.DefaultListenerOptions(l)
	if err := model.ValidateListener(l); err != nil {
		return nil, err
	}
	return l, nil
}

// addListener adds to t a new listener after checking its load balancer,
// default pool and certificate, with the claim of its port.
func (s *Server) addListener(t *store.Txn, caller httpapi.Who, l *model.Listener) error {
	lbe, err := s.get(caller, model.KindLoadBalancer, lbRes.what, l.LoadBalancerID)
	if err != nil {
		return err
	}
	t.Require(model.KindLoadBalancer, l.LoadBalancerID, lbe.Rev)
	for _, le := range s.st.ByIndex(model.KindListener, store.IdxLB, l.LoadBalancerID) {
		// v1 VIPs' listeners hold no claim: see them in the cache.
		if o := le.Obj.(*model.Listener); o.ProtocolPort == l.ProtocolPort {
			return portTaken(l)
		}
	}
	if err := s.checkListenerRefs(t, caller, l); err != nil {
		return err
	}
	t.Claim(listenerClaim(l), l.ID).Create(model.KindListener, l)
	return nil
}

func portTaken(l *model.Listener) error {
	return conflict("Another Listener on this Load Balancer is already using protocol_port %d", l.ProtocolPort)
}

// checkListenerRefs checks the default pool (same load balancer, a
// protocol the listener can send to) and the certificate, and makes t
// depend on them.
func (s *Server) checkListenerRefs(t *store.Txn, caller httpapi.Who, l *model.Listener) error {
	if l.DefaultPoolID != "" {
		pe, err := s.get(caller, model.KindPool, poolRes.what, l.DefaultPoolID)
		if err != nil {
			return validation("Pool %s could not be used as the default pool: %v", l.DefaultPoolID, err)
		}
		p := pe.Obj.(*model.Pool)
		if p.LoadBalancerID != l.LoadBalancerID {
			return validation("Pool %s is not on Load Balancer %s.", p.ID, l.LoadBalancerID)
		}
		if err := model.ValidateListenerPool(l.Protocol, p.Protocol); err != nil {
			return err
		}
		t.Require(model.KindPool, p.ID, pe.Rev)
	}
	return s.checkCertRefs(t, caller, listenerCertRefs(l)...)
}

// listenerCertRefs are the certificates a listener names.
func listenerCertRefs(l *model.Listener) []certRef {
	refs := []certRef{{"default_tls_container_ref", l.TLSContainerRef, needKey},
		{"client_ca_tls_container_ref", l.ClientCATLSContainerRef, needCA}, {"client_crl_container_ref", l.ClientCRLContainerRef, needCRL}}
	for _, r := range l.SNIContainerRefs {
		refs = append(refs, certRef{"sni_container_refs", r, needKey})
	}
	return refs
}

// certRef is a certificate an object names, and what it must hold.
type certRef struct {
	field, id string
	need      certNeed
}

type certNeed int

const (
	needKey certNeed = iota // a certificate with its private key
	needCA                  // CA certificates (any certificate upload)
	needCRL                 // a CA bundle with a revocation list
)

// checkCertRefs checks that each named certificate exists, is the
// caller's, and holds what its use needs; t depends on them.
func (s *Server) checkCertRefs(t *store.Txn, caller httpapi.Who, refs ...certRef) error {
	for _, r := range refs {
		if r.id == "" {
			continue
		}
		ce, err := s.get(caller, model.KindCertificate, "Certificate", r.id)
		if err != nil {
			return validation("Could not retrieve certificate: %s", r.id)
		}
		c := ce.Obj.(*model.Certificate)
		switch {
		case r.need == needKey && c.PrivateKeyPEM == "":
			return validation("%s: certificate %s has no private key (it is a CA bundle)", r.field, r.id)
		case r.need == needCRL && c.CRLPEM == "":
			return validation("%s: certificate %s holds no revocation list (upload CA certificates with a crl)", r.field, r.id)
		}
		t.Require(model.KindCertificate, r.id, ce.Rev)
	}
	return nil
}

func one(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func (s *Server) updateListener(w http.ResponseWriter, r *http.Request) {
	caller := httpapi.WhoFrom(r.Context())
	var req listenerRequest
	if err := req.read(r, model.OpUpdate); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := req.unsupportedOptions(); err != nil {
		s.fail(w, r, err)
		return
	}
	id := r.PathValue("id")
	s.mutateAndShow(w, r, listenerRes, http.StatusOK, id, func() (*store.Txn, error) {
		e, err := s.get(caller, model.KindListener, listenerRes.what, id)
		if err != nil {
			return nil, err
		}
		old := e.Obj.(*model.Listener)
		l := *old
		applyListener(&l, &req)
		if err := model.ValidateListener(&l); err != nil {
			return nil, err
		}
		t := new(store.Txn)
		if l.DefaultPoolID != old.DefaultPoolID || !slices.Equal(listenerCertRefs(&l), listenerCertRefs(old)) {
			check := l
			if l.DefaultPoolID == old.DefaultPoolID {
				check.DefaultPoolID = ""
			}
			if err := s.checkListenerRefs(t, caller, &check); err != nil {
				return nil, err
			}
		}
		l.UpdatedAt = s.now()
		return t.Update(model.KindListener, &l, e.Rev), nil
	})
}

func (s *Server) deleteListener(w http.ResponseWriter, r *http.Request) {
	caller := httpapi.WhoFrom(r.Context())
	id := r.PathValue("id")
	_, err := s.st.Mutate(r.Context(), func() (*store.Txn, error) {
		e, err := s.get(caller, model.KindListener, listenerRes.what, id)
		if err != nil {
			return nil, err
		}
		l := e.Obj.(*model.Listener)
		if l.ID == l.LoadBalancerID {
			return nil, conflict("Listener %s is a v1 VIP's; delete the VIP through the Neutron API", id)
		}
		t := new(store.Txn).Delete(model.KindListener, id, e.Rev).Release(listenerClaim(l))
		s.removeListenerPolicies(t, id)
		return t, nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listenerStats(w http.ResponseWriter, r *http.Request) {
	e, err := s.get(httpapi.WhoFrom(r.Context()), model.KindListener, listenerRes.what, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	l := e.Obj.(*model.Listener)
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"stats": statsView(controller.ListenerStats(s.st, l.LoadBalancerID, l.ID))})
}

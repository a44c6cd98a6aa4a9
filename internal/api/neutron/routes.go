package neutron

import (
	"net/http"
	"strconv"
	"strings"

	"lbaas/internal/api/httpapi"
)

// Policy operations that are not a route: attributes only some may set or
// see (policy table, docs/011).
const (
	opNetworkAdmin = "network:external_shared_provider"
	opPortBinding  = "port:binding"
)

// handle registers the handler of one operation of the policy table. As
// Neutron does, only a create is refused outright (403) when the caller
// may do it nowhere; any other request finds only what the caller may see
// (another project's object is as absent as a missing one: 404), and a
// change to an object it sees but may not change is 403 (lookupOwned).
func (s *Server) handle(pattern, op string, h http.HandlerFunc) {
	if !strings.HasSuffix(op, ":create") {
		s.mux.HandleFunc(pattern, httpapi.AuthorizeFiltered(op, h))
		return
	}
	s.mux.HandleFunc(pattern, httpapi.Authorize(errorWriter{}, op, h))
}

func itoa(n int) string { return strconv.Itoa(n) }

func (s *Server) routes() {
	// crud registers a collection; ops names the policy operation of each
	// verb: prefix + ":get", ":create", ":update", ":delete".
	crud := func(base string, res *resource, create, update, del http.HandlerFunc) {
		prefix := res.policy
		s.handle("GET "+base, prefix+":get", s.handleList(res))
		s.handle("GET "+base+"/{id}", prefix+":get", s.handleShow(res))
		if create != nil {
			s.handle("POST "+base, prefix+":create", create)
		}
		if update != nil {
			s.handle("PUT "+base+"/{id}", prefix+":update", update)
		}
		if del != nil {
			s.handle("DELETE "+base+"/{id}", prefix+":delete", del)
		}
	}
	crud("/v2.0/networks", networkRes, s.createNetwork(), s.updateNetwork(), s.deleteNetwork())
	crud("/v2.0/subnets", subnetRes, s.createSubnet(), s.updateSubnet(), s.deleteSubnet())
	crud("/v2.0/ports", portRes, s.createPort(), s.updatePort(), s.deletePort())
	crud("/v2.0/floatingips", floatingIPRes, s.createFloatingIP(), s.updateFloatingIP(), s.deleteFloatingIP())
	crud("/v2.0/lb/pools", poolRes, s.createPool(), s.updatePool(), s.deletePool())
	crud("/v2.0/lb/members", memberRes, s.createMember(), s.updateMember(), s.deleteMember())
	crud("/v2.0/lb/vips", vipRes, s.createVIP(), s.updateVIP(), s.deleteVIP())
	crud("/v2.0/lb/health_monitors", monitorRes, s.createMonitor(), s.updateMonitor(), s.deleteMonitor())
	crud("/v2.0/lbaas-certificates", certRes, s.createCertificate(), nil, s.deleteCertificate())
	crud("/v2.0/lbaas-service-instances", instanceRes, nil, nil, nil)
	crud("/v2.0/agents", agentRes, nil, s.updateAgent(), nil)
	crud("/v2.0/lbaas-events", eventRes, nil, nil, nil)
	s.analyticsRoutes()
	s.handle("GET /v2.0/lb/pools/{id}/stats", "lb_v1:get", s.poolStats)
	s.handle("POST /v2.0/lb/pools/{id}/health_monitors", "lb_v1:create", s.associateMonitor)
	s.handle("DELETE /v2.0/lb/pools/{id}/health_monitors/{hm}", "lb_v1:delete", s.disassociateMonitor)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "HTTPNotFound", "The resource could not be found.")
	})
}

package neutron

import (
	"net/http"
	"strconv"
)

func itoa(n int) string { return strconv.Itoa(n) }

func (s *Server) routes() {
	crud := func(base string, res *resource, create, update, del http.HandlerFunc) {
		s.mux.HandleFunc("GET "+base, s.handleList(res))
		s.mux.HandleFunc("GET "+base+"/{id}", s.handleShow(res))
		if create != nil {
			s.mux.HandleFunc("POST "+base, create)
		}
		if update != nil {
			s.mux.HandleFunc("PUT "+base+"/{id}", update)
		}
		if del != nil {
			s.mux.HandleFunc("DELETE "+base+"/{id}", del)
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
	s.analyticsRoutes()
	s.mux.HandleFunc("GET /v2.0/lb/pools/{id}/stats", s.poolStats)
	s.mux.HandleFunc("POST /v2.0/lb/pools/{id}/health_monitors", s.associateMonitor)
	s.mux.HandleFunc("DELETE /v2.0/lb/pools/{id}/health_monitors/{hm}", s.disassociateMonitor)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "HTTPNotFound", "The resource could not be found.")
	})
}

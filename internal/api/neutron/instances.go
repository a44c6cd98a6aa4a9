package neutron

import (
	"fmt"
	"net/http"
	"strings"

	"lbaas/internal/api/httpapi"
	"lbaas/internal/controller"
	"lbaas/internal/model"
	"lbaas/internal/store"
)

var instanceRes = &resource{policy: "service_instance", kind: model.KindServiceInstance, singular: "service_instance", plural: "service_instances",
	what: "Service instance", notFound: "ServiceInstanceNotFound", view: viewInstance}

func init() {
	// pool_id is read from the VIP's listener, so the view answers
	// filters on it.
	instanceRes.attrs = attrFuncs{
		"name":            func(o model.Object) any { return o.(*model.ServiceInstance).Name },
		"vip_id":          func(o model.Object) any { return o.(*model.ServiceInstance).LoadBalancerID },
		"loadbalancer_id": func(o model.Object) any { return o.(*model.ServiceInstance).LoadBalancerID },
	}
}

// viewInstance is the read-only service-instance resource: the pair of
// HAProxy VMs of a load balancer, as observed. v1 knows it as the VIP's
// (the load balancer's id) and its pool's.
func viewInstance(s *Server, e store.Entry) map[string]any {
	si := e.Obj.(*model.ServiceInstance)
	iv := controller.ViewInstance(s.st, si)
	v := commonView(&si.Meta)
	v["name"] = iv.Name
	v["loadbalancer_id"] = iv.LoadBalancerID
	v["vip_id"] = iv.LoadBalancerID
	v["pool_id"] = ""
	if le, ok := s.st.Get(model.KindListener, iv.LoadBalancerID); ok {
		v["pool_id"] = le.Obj.(*model.Listener).DefaultPoolID
	}
	v["status"] = iv.Status
	v["status_description"] = iv.StatusDescription
	vms := make([]map[string]any, 0, len(iv.VMs))
	var ha []string
	for _, vm := range iv.VMs {
		vms = append(vms, map[string]any{"id": vm.ID, "node": vm.Node, "ha": vm.HA, "state": vm.State, "namespace": vm.Namespace})
		ha = append(ha, fmt.Sprintf("%s (%s)", vm.HA, vm.Node))
	}
	v["vms"] = vms
	v["ha"] = strings.Join(ha, ", ")
	return v
}

// uve is OpenContrail's service-instance view (UveSvcInstanceConfig).
func uve(iv controller.InstanceView) map[string]any {
	vmList := make([]map[string]any, 0, len(iv.VMs))
	for _, vm := range iv.VMs {
		vmList = append(vmList, map[string]any{"ha": vm.HA, "uuid": vm.ID, "vr_name": vm.Node})
	}
	return map[string]any{"UveSvcInstanceConfig": map[string]any{
		"status":             iv.Status,
		"status_description": iv.StatusDescription,
		"vm_list":            vmList,
		"create_ts":          iv.CreatedAt,
		"st_name":            controller.TemplateName,
	}}
}

// AnalyticsPrefix starts every analytics path.
const AnalyticsPrefix = "/analytics/"

func (s *Server) analyticsRoutes() {
	s.handle("GET /analytics/uves/service-instance/{fqname}", "service_instance:get", s.uveShow)
	s.handle("GET /analytics/uves/service-instances", "service_instance:get", s.uveList)
}

func (s *Server) uveShow(w http.ResponseWriter, r *http.Request) {
	caller := httpapi.WhoFrom(r.Context())
	fq := r.PathValue("fqname")
	for _, e := range s.st.List(model.KindServiceInstance) {
		si := e.Obj.(*model.ServiceInstance)
		if si.Name == fq && s.visible(instanceRes, caller, si) {
			writeJSON(w, http.StatusOK, uve(controller.ViewInstance(s.st, si)))
			return
		}
	}
	writeError(w, http.StatusNotFound, "ServiceInstanceNotFound", "Service instance "+fq+" could not be found")
}

func (s *Server) uveList(w http.ResponseWriter, r *http.Request) {
	caller := httpapi.WhoFrom(r.Context())
	out := []map[string]any{}
	for _, e := range s.st.List(model.KindServiceInstance) {
		si := e.Obj.(*model.ServiceInstance)
		if !s.visible(instanceRes, caller, si) {
			continue
		}
		item := map[string]any{"name": si.Name, "href": "/analytics/uves/service-instance/" + si.Name + "?flat"}
		if _, flat := r.URL.Query()["flat"]; flat {
			item["value"] = uve(controller.ViewInstance(s.st, si))
		}
		out = append(out, item)
	}
	writeJSON(w, http.StatusOK, out)
}

// Analytics returns a handler that serves only the analytics paths (with
// the API's authentication), for the analytics port.
func (s *Server) Analytics() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, AnalyticsPrefix) {
			w.Header().Set("Content-Type", "application/json")
			writeError(w, http.StatusNotFound, "HTTPNotFound", "The analytics API serves /analytics/ only.")
			return
		}
		s.ServeHTTP(w, r)
	})
}

package neutron

import (
	"time"

	"lbaas/internal/model"
	"lbaas/internal/store"
)

// eventRes is the event history (read only): newest first, since event
// ids sort that way, so `limit` gives the latest and `marker` pages back
// in time. A project sees its load balancers' events; cluster events
// (nodes) belong to the admin project.
var eventRes = &resource{policy: "event", kind: model.KindEvent, singular: "event", plural: "events", what: "Event", notFound: "EventNotFound",
	view: viewEvent, indexed: map[string]string{"loadbalancer_id": store.IdxLB}}

func init() {
	eventRes.attrs = attrFuncs{
		"loadbalancer_id": func(o model.Object) any { return o.(*model.Event).LoadBalancerID },
		"type":            func(o model.Object) any { return o.(*model.Event).Type },
		"severity":        func(o model.Object) any { return o.(*model.Event).Severity },
		"object_id":       func(o model.Object) any { return o.(*model.Event).ObjectID },
		"node":            func(o model.Object) any { return o.(*model.Event).Node },
		"trigger":         func(o model.Object) any { return o.(*model.Event).Trigger },
	}
}

func viewEvent(_ *Server, e store.Entry) map[string]any {
	ev := e.Obj.(*model.Event)
	v := commonView(&ev.Meta)
	v["time"] = ev.Time.UTC().Format(time.RFC3339Nano)
	v["type"] = ev.Type
	v["severity"] = ev.Severity
	v["loadbalancer_id"] = ev.LoadBalancerID
	v["object_id"] = ev.ObjectID
	v["node"] = ev.Node
	v["from"] = ev.From
	v["to"] = ev.To
	v["message"] = ev.Message
	v["duration_ms"] = ev.DurationMs
	v["trigger"] = ev.Trigger
	return v
}

package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// fakeNeutron is a small stateful in-memory Neutron (networks, subnets,
// ports, floating IPs, LBaaS v1) used to run the real seed script against
// the CLI. It keeps only what the script observes.
type fakeNeutron struct {
	mu     sync.Mutex
	tokens map[string]bool
	seq    int
	colls  map[string]map[string]map[string]any // collection path → id → object
	order  map[string][]string
	srv    *httptest.Server
}

// fakeCollections maps collection path → singular envelope key.
func fakeCollections() map[string]string {
	return map[string]string{
		"networks": "network", "subnets": "subnet", "ports": "port", "floatingips": "floatingip",
		"lb/pools": "pool", "lb/members": "member", "lb/vips": "vip", "lb/health_monitors": "health_monitor",
	}
}

func newFakeNeutron(t *testing.T, tokens ...string) *fakeNeutron {
	f := &fakeNeutron{tokens: map[string]bool{}, colls: map[string]map[string]map[string]any{}, order: map[string][]string{}}
	for _, tk := range tokens {
		f.tokens[tk] = true
	}
	for c := range fakeCollections() {
		f.colls[c] = map[string]map[string]any{}
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeNeutron) newID() string {
	f.seq++
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", f.seq)
}

func neutronErr(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]any{"NeutronError": map[string]any{"type": typ, "message": msg, "detail": ""}})
	_, _ = w.Write(b)
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeNeutron) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.tokens[r.Header.Get("X-Auth-Token")] {
		neutronErr(w, 401, "HTTPUnauthorized", "The request you have made requires authentication.")
		return
	}
	p := strings.TrimPrefix(r.URL.Path, "/v2.0/")
	var body map[string]any
	if data, _ := io.ReadAll(r.Body); len(data) > 0 {
		_ = json.Unmarshal(data, &body)
	}
	// Sub-resources first.
	if strings.HasPrefix(p, "lb/pools/") && strings.Count(p, "/") >= 3 {
		f.poolSub(w, r, strings.Split(p, "/")[2:], body)
		return
	}
	coll, id := p, ""
	if i := strings.LastIndex(p, "/"); i >= 0 {
		if _, ok := fakeCollections()[p[:i]]; ok {
			coll, id = p[:i], p[i+1:]
		}
	}
	sing, ok := fakeCollections()[coll]
	if !ok {
		neutronErr(w, 404, "HTTPNotFound", "no such resource "+p)
		return
	}
	switch {
	case r.Method == http.MethodGet && id == "":
		f.list(w, coll, r.URL.Query())
	case r.Method == http.MethodGet:
		if o := f.colls[coll][id]; o != nil {
			reply(w, 200, map[string]any{sing: f.view(coll, o)})
		} else {
			neutronErr(w, 404, "NotFound", fmt.Sprintf("%s %s could not be found", sing, id))
		}
	case r.Method == http.MethodPost && id == "":
		obj, _ := body[sing].(map[string]any)
		o, err := f.create(coll, obj)
		if err != nil {
			neutronErr(w, 409, "Conflict", err.Error())
			return
		}
		reply(w, 201, map[string]any{sing: f.view(coll, o)})
	case r.Method == http.MethodPut && f.colls[coll][id] != nil:
		obj, _ := body[sing].(map[string]any)
		o := f.colls[coll][id]
		for k, v := range obj {
			o[k] = v
		}
		if coll == "floatingips" {
			o["fixed_ip_address"] = nil
			if port, _ := o["port_id"].(string); port != "" {
				o["fixed_ip_address"] = f.colls["ports"][port]["ip"]
			}
		}
		reply(w, 200, map[string]any{sing: f.view(coll, o)})
	case r.Method == http.MethodDelete && f.colls[coll][id] != nil:
		if coll == "lb/pools" {
			for _, v := range f.colls["lb/vips"] {
				if v["pool_id"] == id {
					neutronErr(w, 409, "PoolInUse", "Pool "+id+" is still in use")
					return
				}
			}
		}
		f.remove(coll, id)
		w.WriteHeader(204)
	default:
		neutronErr(w, 404, "NotFound", fmt.Sprintf("%s %s could not be found", sing, id))
	}
}

func (f *fakeNeutron) remove(coll, id string) {
	delete(f.colls[coll], id)
	child := map[string][2]string{"lb/pools": {"lb/members", "pool_id"}, "networks": {"subnets", "network_id"}}
	if c, ok := child[coll]; ok {
		for cid, o := range f.colls[c[0]] {
			if o[c[1]] == id {
				delete(f.colls[c[0]], cid)
			}
		}
	}
}

func (f *fakeNeutron) create(coll string, in map[string]any) (map[string]any, error) {
	o := map[string]any{"id": f.newID(), "tenant_id": "t1"}
	defaults := map[string]map[string]any{
		"networks":           {"subnets": []any{}, "router:external": false, "status": "ACTIVE"},
		"lb/pools":           {"description": "", "health_monitors": []any{}, "provider": nil, "status": "ACTIVE"},
		"lb/members":         {"weight": 1, "status": "ACTIVE"},
		"lb/vips":            {"connection_limit": -1, "session_persistence": nil, "status": "ACTIVE", "description": ""},
		"lb/health_monitors": {"http_method": "GET", "url_path": "/", "expected_codes": "200", "status": "ACTIVE"},
		"floatingips":        {"port_id": nil, "fixed_ip_address": nil},
	}
	for k, v := range defaults[coll] {
		o[k] = v
	}
	for k, v := range in {
		o[k] = v
	}
	switch coll {
	case "lb/vips":
		sub := f.colls["subnets"][fmt.Sprint(o["subnet_id"])]
		if sub == nil {
			return nil, fmt.Errorf("subnet not found")
		}
		ip := strings.TrimSuffix(fmt.Sprint(sub["cidr"]), ".0/24") + ".2"
		port := map[string]any{"id": f.newID(), "ip": ip, "name": "", "mac_address": "fa:16:3e:00:00:01",
			"fixed_ips": []any{map[string]any{"subnet_id": sub["id"], "ip_address": ip}}}
		f.put("ports", port)
		o["address"], o["port_id"] = ip, port["id"]
	case "floatingips":
		o["floating_ip_address"] = fmt.Sprintf("172.24.4.%d", 100+f.seq)
	}
	f.put(coll, o)
	return o, nil
}

func (f *fakeNeutron) put(coll string, o map[string]any) {
	id := o["id"].(string)
	f.colls[coll][id] = o
	f.order[coll] = append(f.order[coll], id)
}

// view adds the derived relations the real server computes.
func (f *fakeNeutron) view(coll string, o map[string]any) map[string]any {
	v := map[string]any{}
	for k, x := range o {
		if k != "ip" {
			v[k] = x
		}
	}
	ids := func(c, key, val string) []any {
		out := []any{}
		for _, id := range f.order[c] {
			if x := f.colls[c][id]; x != nil && x[key] == val {
				out = append(out, id)
			}
		}
		return out
	}
	id := o["id"].(string)
	switch coll {
	case "networks":
		v["subnets"] = ids("subnets", "network_id", id)
	case "lb/pools":
		v["members"] = ids("lb/members", "pool_id", id)
		v["vip_id"] = nil
		if vs := ids("lb/vips", "pool_id", id); len(vs) > 0 {
			v["vip_id"] = vs[0]
		}
	case "lb/health_monitors":
		pools := []any{}
		for _, pid := range f.order["lb/pools"] {
			p := f.colls["lb/pools"][pid]
			for _, hm := range asList(p["health_monitors"]) {
				if hm == id {
					pools = append(pools, map[string]any{"pool_id": pid, "status": "ACTIVE"})
				}
			}
		}
		v["pools"] = pools
	}
	return v
}

func asList(v any) []any { l, _ := v.([]any); return l }

func (f *fakeNeutron) list(w http.ResponseWriter, coll string, q url.Values) {
	out := []any{}
	for _, id := range f.order[coll] {
		o := f.colls[coll][id]
		if o == nil {
			continue
		}
		v := f.view(coll, o)
		match := true
		for k, vals := range q {
			if k == "fields" {
				continue
			}
			hit := false
			for _, want := range vals {
				hit = hit || fmt.Sprint(v[k]) == want
			}
			match = match && hit
		}
		if !match {
			continue
		}
		if fields := q["fields"]; len(fields) > 0 {
			proj := map[string]any{}
			for _, k := range fields {
				proj[k] = v[k]
			}
			v = proj
		}
		out = append(out, v)
	}
	plural := strings.TrimPrefix(coll, "lb/")
	reply(w, 200, map[string]any{plural: out})
}

func (f *fakeNeutron) poolSub(w http.ResponseWriter, r *http.Request, parts []string, body map[string]any) {
	pool := f.colls["lb/pools"][parts[0]]
	if pool == nil {
		neutronErr(w, 404, "PoolNotFound", "Pool "+parts[0]+" could not be found")
		return
	}
	switch {
	case parts[1] == "stats" && r.Method == http.MethodGet:
		reply(w, 200, map[string]any{"stats": map[string]any{"bytes_in": 0, "bytes_out": 0, "active_connections": 0, "total_connections": 0}})
	case parts[1] == "health_monitors" && r.Method == http.MethodPost:
		hm, _ := body["health_monitor"].(map[string]any)
		pool["health_monitors"] = append(asList(pool["health_monitors"]), hm["id"])
		reply(w, 201, map[string]any{"health_monitor": map[string]any{"id": hm["id"]}})
	case parts[1] == "health_monitors" && r.Method == http.MethodDelete && len(parts) == 3:
		var kept []any
		found := false
		for _, x := range asList(pool["health_monitors"]) {
			if x == parts[2] {
				found = true
			} else {
				kept = append(kept, x)
			}
		}
		if !found {
			neutronErr(w, 404, "PoolMonitorAssociationNotFound", "Monitor "+parts[2]+" is not associated with Pool "+parts[0])
			return
		}
		pool["health_monitors"] = append([]any{}, kept...)
		w.WriteHeader(204)
	default:
		neutronErr(w, 404, "NotFound", "no such resource")
	}
}

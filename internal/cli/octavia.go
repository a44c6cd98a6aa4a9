package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// The Octavia v2 side of the CLI: `lbaas loadbalancer ...` verbs with the
// arguments of python-octaviaclient, talking to the load-balancer
// endpoint (see resolveLBConnection). They reuse the generic machinery
// (fields, resources, name lookup, output) and add octaviaclient's
// behaviour: no "Created a new" banner, list relations shown as ids,
// admin_state_up sent on create, and --wait.

// lbaasRes builds an Octavia collection below /v2.0/lbaas. Lookups use
// ?name= and GET /{id} (direct), which is what octaviaclient sends.
func lbaasRes(singular, plural, path string) *resource {
	return &resource{singular: singular, plural: plural, path: "/lbaas/" + path, direct: true, octavia: true}
}

// memberRes is the member collection of one pool.
func memberRes(poolID string) *resource {
	return lbaasRes("member", "members", "pools/"+pathEscape(poolID)+"/members")
}

// l7ruleRes is the collection of one L7 policy's rules (their envelope
// is "rule", as Octavia has it).
func l7ruleRes(policyID string) *resource {
	return lbaasRes("rule", "rules", "l7policies/"+pathEscape(policyID)+"/rules")
}

// defaultWaitTimeout bounds --wait. octaviaclient waits forever for
// ACTIVE and 300 s for a delete; a script should fail rather than hang,
// and a first deployment on a fresh node can take minutes.
const defaultWaitTimeout = 600

func addWaitFlags(fs *pflag.FlagSet) {
	fs.Bool("wait", false, "wait for the action to complete: provisioning_status ACTIVE, or gone after a delete")
	fs.Int("wait-timeout", defaultWaitTimeout, "seconds --wait waits before giving up")
}

func (e *env) waitTimeout() time.Duration {
	n, err := e.fs.GetInt("wait-timeout")
	if err != nil || n <= 0 {
		n = defaultWaitTimeout
	}
	return time.Duration(n) * time.Second
}

func (e *env) sleep() error {
	t := time.NewTimer(e.poll)
	defer t.Stop()
	select {
	case <-e.ctx.Done():
		return e.ctx.Err()
	case <-t.C:
		return nil
	}
}

// waitActive polls r/id until its provisioning_status is ACTIVE, like
// osc-lib's wait_for_status (first read at once), failing on ERROR with
// the reason the service instance gives, and giving up after
// --wait-timeout. Status changes are reported on stderr so that a long
// wait is visibly alive while stdout stays parseable.
func (e *env) waitActive(r *resource, id string) error {
	c := e.client(r)
	start := time.Now()
	last := ""
	for {
		obj, err := r.show(e.ctx, c, id, nil)
		if err != nil {
			return err
		}
		st := obj.str("provisioning_status")
		switch {
		case st == "ACTIVE":
			if last != "" {
				fmt.Fprintf(e.errw, "%s %s is ACTIVE after %s\n", r.singular, id, since(start))
			}
			return nil
		case st == "ERROR" && last != "ERROR":
			// Our status is derived from the data plane's reports, and a
			// change the controller has not scheduled yet (a member on a
			// subnet the VMs have no port on) reads as ERROR for a moment:
			// an ERROR counts when a second read confirms it.
			fmt.Fprintf(e.errw, "%s %s: provisioning_status ERROR, reading it again to confirm\n", r.singular, id)
			last = st
			if err := e.sleep(); err != nil {
				return err
			}
			continue
		case st == "ERROR":
			return plainError(fmt.Sprintf("The %s %s did not reach ACTIVE status: its provisioning_status is ERROR%s",
				r.singular, id, e.errorReason(r, obj)))
		}
		if st != last {
			fmt.Fprintf(e.errw, "waiting for %s %s to become ACTIVE: provisioning_status %s\n", r.singular, id, st)
			last = st
		}
		if time.Since(start) >= e.waitTimeout() {
			return plainError(fmt.Sprintf("Gave up after %s waiting for %s %s to become ACTIVE: its provisioning_status is still %s (see --wait-timeout)",
				since(start), r.singular, id, st))
		}
		if err := e.sleep(); err != nil {
			return err
		}
	}
}

// waitDeleted polls r/id until it answers 404, like osc-lib's
// wait_for_delete: DELETED does not end the wait (Octavia hides deleted
// objects), ERROR fails it.
func (e *env) waitDeleted(r *resource, id string) error {
	c := e.client(r)
	start := time.Now()
	last := ""
	for {
		obj, err := r.show(e.ctx, c, id, nil)
		if isNotFound(err) {
			if last != "" {
				fmt.Fprintf(e.errw, "%s %s is gone after %s\n", r.singular, id, since(start))
			}
			return nil
		}
		if err != nil {
			return err
		}
		st := obj.str("provisioning_status")
		if st == "ERROR" {
			return plainError(fmt.Sprintf("The %s %s could not be successfully deleted: its provisioning_status is ERROR%s",
				r.singular, id, e.errorReason(r, obj)))
		}
		if st != last {
			fmt.Fprintf(e.errw, "waiting for %s %s to be deleted: provisioning_status %s\n", r.singular, id, st)
			last = st
		}
		if time.Since(start) >= e.waitTimeout() {
			return plainError(fmt.Sprintf("Gave up after %s waiting for %s %s to be deleted: its provisioning_status is still %s (see --wait-timeout)",
				since(start), r.singular, id, st))
		}
		if err := e.sleep(); err != nil {
			return err
		}
	}
}

func since(t time.Time) string { return time.Since(t).Round(time.Second).String() }

// errorReason finds why a load balancer is in ERROR. Octavia objects have
// no status description, but the service instance that deploys a load
// balancer has its id and says what failed; it is read from the Neutron
// endpoint's extension, best effort (it may be admin-only).
func (e *env) errorReason(r *resource, obj *object) string {
	lbID := ""
	if r.singular == "loadbalancer" {
		lbID = obj.str("id")
	} else {
		lbID = firstRef(obj, "loadbalancers")
	}
	if lbID == "" {
		return ""
	}
	si := &resource{singular: "service_instance", plural: "service_instances", path: "/lbaas-service-instances", direct: true}
	o, err := si.show(e.ctx, e.cl, lbID, nil)
	if err != nil {
		return ""
	}
	if d := o.str("status_description"); d != "" {
		return ": " + d
	}
	return ""
}

// firstRef reads the id of the first {"id": ...} in a relation list.
func firstRef(obj *object, key string) string {
	raw, ok := obj.get(key)
	if !ok {
		return ""
	}
	var refs []struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &refs) != nil || len(refs) == 0 {
		return ""
	}
	return refs[0].ID
}

// idLists rewrites relation lists of {"id": X} objects as lists of ids
// for the table, as octaviaclient's format_list does, so that a `listeners`
// row reads as ids rather than JSON.
func idLists(obj *object) *object {
	out := &object{keys: obj.keys, vals: map[string]json.RawMessage{}}
	for k, v := range obj.vals {
		out.vals[k] = v
		if kindOf(v) != 'a' {
			continue
		}
		var refs []map[string]any
		if json.Unmarshal(v, &refs) != nil || len(refs) == 0 {
			continue
		}
		ids := make([]string, 0, len(refs))
		for _, r := range refs {
			id, ok := r["id"].(string)
			if !ok || len(r) != 1 {
				ids = nil
				break
			}
			ids = append(ids, id)
		}
		if ids != nil {
			b, _ := json.Marshal(ids)
			out.vals[k] = b
		}
	}
	return out
}

// emitV2 prints one Octavia object the way octaviaclient does.
func emitV2(e *env, obj *object) error {
	if e.fmt.format == "table" {
		obj = idLists(obj)
	}
	return emitOne(e.out, obj, e.fmt)
}

// subObject reads GET path on the Octavia endpoint and unwraps key.
func subObject(e *env, path, key string) (*object, json.RawMessage, error) {
	resp, err := e.lb.do(e.ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return nil, nil, err
	}
	raw, ok := resp[key]
	if !ok {
		return nil, nil, fmt.Errorf("the server's response has no %q object", key)
	}
	obj, err := parseObject(raw)
	return obj, raw, err
}

// exclusive rejects two flags of one argparse mutually exclusive group.
func exclusive(e *env, pairs ...[2]string) error {
	for _, p := range pairs {
		if e.set(p[0]) && e.set(p[1]) {
			return usagef("argument --%s: not allowed with argument --%s", p[1], p[0])
		}
	}
	return nil
}

func upper(s string) string { return strings.ToUpper(s) }

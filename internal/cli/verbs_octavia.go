package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/spf13/pflag"
)

// v2kind is one Octavia collection and what its verbs need to know.
type v2kind struct {
	res *resource // nil for members and rules, whose collection is per parent
	// parent resolves the first positional (POOL of the member verbs,
	// L7POLICY of the rule verbs); sub is the collection under it and
	// child the noun of its objects.
	parent    *resource
	parentArg string
	child     string
	sub       func(parentID string) *resource
	columns   []string // list columns, octaviaclient's
	// enableOnCreate sends admin_state_up true when neither --enable nor
	// --disable is given, as octaviaclient does for everything but members.
	enableOnCreate bool
	// lbOf names the load balancer whose status --wait follows after a
	// create (octaviaclient polls the parent load balancer, then reads the
	// object once more).
	lbOf func(e *env, obj *object) (string, error)
}

// scope returns the collection a verb works on and the positionals left
// after the POOL of a member verb.
func (k *v2kind) scope(e *env) (*resource, []string, error) {
	if k.res != nil {
		return k.res, e.args, nil
	}
	id, err := k.parent.findID(e.ctx, e.lb, e.args[0])
	if err != nil {
		return nil, nil, err
	}
	return k.sub(id), e.args[1:], nil
}

func (k *v2kind) noun() string {
	if k.res == nil {
		return k.child
	}
	return k.res.singular
}

// scopeArgs prepends the parent (POOL, L7POLICY) for the verbs of a
// collection under one.
func (k *v2kind) scopeArgs(rest ...argSpec) []argSpec {
	if k.res == nil {
		return append([]argSpec{{name: k.parentArg}}, rest...)
	}
	return rest
}

// Fields shared by several kinds.
func enableFields() []field {
	return []field{
		{flag: "enable", key: "admin_state_up", kind: fTrue, help: "enable the object (default)"},
		{flag: "disable", key: "admin_state_up", kind: fFalse, help: "disable the object"},
	}
}

func tagField() field {
	return field{flag: "tag", key: "tags", kind: fList, help: "tag to be added, can be repeated"}
}

func nameField(what string) field {
	return field{flag: "name", key: "name", help: "name of the " + what}
}
func descField(what string) field {
	return field{flag: "description", key: "description", help: "description of the " + what}
}

// v2 choices, Octavia's.
func v2Protocols() []string {
	return []string{"HTTP", "HTTPS", "TCP", "TERMINATED_HTTPS", "UDP", "SCTP", "PROMETHEUS", "PROXY", "PROXYV2"}
}
func v2Algorithms() []string {
	return []string{"ROUND_ROBIN", "LEAST_CONNECTIONS", "SOURCE_IP", "SOURCE_IP_PORT"}
}
func v2MonitorTypes() []string {
	return []string{"HTTP", "HTTPS", "PING", "TCP", "TLS-HELLO", "UDP-CONNECT", "SCTP"}
}

// octaviaVerbs builds the `loadbalancer` command tree.
func octaviaVerbs(c *catalog) []*verb {
	lbs, listeners, pools, monitors := c.lbs, c.listeners, c.lbPools, c.lbMonitors
	self := func(_ *env, obj *object) (string, error) { return obj.str("id"), nil }
	parentLB := func(_ *env, obj *object) (string, error) {
		if id := firstRef(obj, "loadbalancers"); id != "" {
			return id, nil
		}
		return "", fmt.Errorf("the server's answer names no load balancer to wait for")
	}
	poolLB := func(e *env, poolID string) (string, error) {
		p, err := pools.show(e.ctx, e.lb, poolID, nil)
		if err != nil {
			return "", err
		}
		return parentLB(e, p)
	}
	lbK := &v2kind{res: lbs, enableOnCreate: true, lbOf: self,
		columns: []string{"id", "name", "project_id", "vip_address", "provisioning_status", "operating_status", "provider"}}
	listenerK := &v2kind{res: listeners, enableOnCreate: true, lbOf: parentLB,
		columns: []string{"id", "default_pool_id", "name", "project_id", "protocol", "protocol_port", "admin_state_up"}}
	poolK := &v2kind{res: pools, enableOnCreate: true, lbOf: parentLB,
		columns: []string{"id", "name", "project_id", "provisioning_status", "protocol", "lb_algorithm", "admin_state_up"}}
	memberK := &v2kind{parent: pools, parentArg: "POOL", child: "member", sub: memberRes,
		columns: []string{"id", "name", "project_id", "provisioning_status", "address", "protocol_port", "operating_status", "weight"}}
	monitorK := &v2kind{res: monitors, enableOnCreate: true,
		columns: []string{"id", "name", "project_id", "type", "admin_state_up"},
		lbOf: func(e *env, obj *object) (string, error) {
			pool := firstRef(obj, "pools")
			if pool == "" {
				return "", fmt.Errorf("the server's answer names no pool to wait for")
			}
			return poolLB(e, pool)
		}}
	listenerLB := func(e *env, listenerID string) (string, error) {
		l, err := listeners.show(e.ctx, e.lb, listenerID, nil)
		if err != nil {
			return "", err
		}
		return parentLB(e, l)
	}
	policies := c.l7policies
	policyK := &v2kind{res: policies, enableOnCreate: true,
		columns: []string{"id", "name", "project_id", "provisioning_status", "action", "position", "admin_state_up"},
		lbOf:    func(e *env, obj *object) (string, error) { return listenerLB(e, obj.str("listener_id")) }}
	ruleK := &v2kind{parent: policies, parentArg: "L7POLICY", child: "l7rule", sub: l7ruleRes, enableOnCreate: true,
		columns: []string{"id", "project_id", "provisioning_status", "compare_type", "type", "key", "value", "invert", "admin_state_up"},
		lbOf: func(e *env, _ *object) (string, error) {
			id, err := policies.findID(e.ctx, e.lb, e.args[0])
			if err != nil {
				return "", err
			}
			p, err := policies.show(e.ctx, e.lb, id, nil)
			if err != nil {
				return "", err
			}
			return listenerLB(e, p.str("listener_id"))
		}}
	memberK.lbOf = func(e *env, _ *object) (string, error) {
		// The member's pool was resolved from the first positional.
		id, err := pools.findID(e.ctx, e.lb, e.args[0])
		if err != nil {
			return "", err
		}
		return poolLB(e, id)
	}

	lbSet := append([]field{nameField("load balancer"), descField("load balancer"),
		{flag: "vip-qos-policy-id", key: "vip_qos_policy_id", help: "QoS policy ID of the VIP port"},
		tagField()}, enableFields()...)
	listenerSet := append([]field{nameField("listener"), descField("listener"),
		{flag: "connection-limit", key: "connection_limit", kind: fInt, help: "maximum number of connections permitted for this listener (-1: unlimited)"},
		{flag: "default-pool", key: "default_pool_id", kind: fRef, ref: pools, help: "the pool (name or id) used by default"},
		{flag: "default-tls-container-ref", key: "default_tls_container_ref", help: "the URI (or id) of the certificate of a TERMINATED_HTTPS listener"},
		{flag: "sni-container-refs", key: "sni_container_refs", kind: fList, help: "certificate URI (or id) for SNI, can be repeated"},
		{flag: "timeout-client-data", key: "timeout_client_data", kind: fInt, help: "frontend client inactivity timeout in milliseconds"},
		{flag: "timeout-member-connect", key: "timeout_member_connect", kind: fInt, help: "backend member connection timeout in milliseconds"},
		{flag: "timeout-member-data", key: "timeout_member_data", kind: fInt, help: "backend member inactivity timeout in milliseconds"},
		{flag: "timeout-tcp-inspect", key: "timeout_tcp_inspect", kind: fInt, help: "time in milliseconds to wait for TCP content inspection"},
		{flag: "allowed-cidr", key: "allowed_cidrs", kind: fList, help: "CIDR allowed to reach the listener, can be repeated"},
		{flag: "insert-headers", key: "insert_headers", kind: fKV, help: "headers set for the members: X-Forwarded-Port=true,X-SSL-Client-CN=true,..."},
		{flag: "tls-version", key: "tls_versions", kind: fList, help: "TLS version offered (TLSv1.2, TLSv1.3, ...), can be repeated"},
		{flag: "tls-ciphers", key: "tls_ciphers", help: "OpenSSL cipher list for TLS 1.2 and below"},
		{flag: "alpn-protocol", key: "alpn_protocols", kind: fList, help: "ALPN protocol offered (h2, http/1.1, http/1.0), can be repeated"},
		{flag: "hsts-max-age", key: "hsts_max_age", kind: fInt, help: "send Strict-Transport-Security with this max-age (seconds)"},
		{flag: "hsts-include-subdomains", key: "hsts_include_subdomains", kind: fTrue, help: "HSTS covers the subdomains too"},
		{flag: "hsts-preload", key: "hsts_preload", kind: fTrue, help: "HSTS asks to be preloaded"},
		{flag: "client-authentication", key: "client_authentication", choices: []string{"NONE", "OPTIONAL", "MANDATORY"}, help: "ask TLS clients for a certificate"},
		{flag: "client-ca-tls-container-ref", key: "client_ca_tls_container_ref", help: "CA certificates (URI or id) clients' certificates must chain to"},
		{flag: "client-crl-container-ref", key: "client_crl_container_ref", help: "CA bundle (URI or id) whose revocation list is checked"},
		tagField()}, enableFields()...)
	poolSet := append([]field{nameField("pool"), descField("pool"),
		{flag: "lb-algorithm", key: "lb_algorithm", choices: v2Algorithms(), help: "load balancing algorithm"},
		{flag: "session-persistence", key: "session_persistence", kind: fKV, help: "type=SOURCE_IP|HTTP_COOKIE|APP_COOKIE[,cookie_name=NAME]"},
		{flag: "tls-container-ref", key: "tls_container_ref", help: "certificate (URI or id) the pool presents to its members"},
		{flag: "ca-tls-container-ref", key: "ca_tls_container_ref", help: "CA certificate (URI or id) checking the members"},
		{flag: "enable-tls", key: "tls_enabled", kind: fTrue, help: "use TLS towards the members"},
		{flag: "disable-tls", key: "tls_enabled", kind: fFalse, help: "do not use TLS towards the members"},
		{flag: "crl-container-ref", key: "crl_container_ref", help: "CA bundle (URI or id) whose revocation list members' certificates are checked against"},
		{flag: "tls-version", key: "tls_versions", kind: fList, help: "TLS version towards the members, can be repeated"},
		{flag: "tls-ciphers", key: "tls_ciphers", help: "OpenSSL cipher list towards the members"},
		{flag: "alpn-protocol", key: "alpn_protocols", kind: fList, help: "ALPN protocol offered to the members, can be repeated"},
		tagField()}, enableFields()...)
	memberSet := append([]field{nameField("member"),
		{flag: "weight", key: "weight", kind: fInt, help: "weight of the member in the pool (default 1, [0..256])"},
		{flag: "enable-backup", key: "backup", kind: fTrue, help: "the member is a backup, used only when every other is down"},
		{flag: "backup", key: "backup", kind: fTrue, help: "same as --enable-backup"},
		{flag: "disable-backup", key: "backup", kind: fFalse, help: "the member is not a backup (default)"},
		{flag: "monitor-address", key: "monitor_address", help: "IP address the health monitor probes instead of the member's"},
		{flag: "monitor-port", key: "monitor_port", kind: fInt, help: "port the health monitor probes instead of the member's"},
		tagField()}, enableFields()...)
	monitorSet := append([]field{nameField("health monitor"),
		{flag: "delay", key: "delay", kind: fInt, help: "seconds between probes"},
		{flag: "timeout", key: "timeout", kind: fInt, help: "seconds a probe may take"},
		{flag: "max-retries", key: "max_retries", kind: fInt, help: "successful probes before a member is up [1..10]"},
		{flag: "max-retries-down", key: "max_retries_down", kind: fInt, help: "failed probes before a member is down [1..10]"},
		{flag: "http-method", key: "http_method", help: "HTTP method of the probes (default GET)"},
		{flag: "http-version", key: "http_version", kind: fNumber, choices: []string{"1.0", "1.1"}, help: "HTTP version of the probes"},
		{flag: "domain-name", key: "domain_name", help: "Host header of HTTP/1.1 probes"},
		{flag: "url-path", key: "url_path", help: "path of the probes (default /)"},
		{flag: "expected-codes", key: "expected_codes", help: "HTTP status codes meaning up: 200, 200-202 or 200,202 (default 200)"},
		tagField()}, enableFields()...)

	policySet := append([]field{nameField("L7 policy"), descField("L7 policy"),
		{flag: "action", key: "action", choices: []string{"REDIRECT_TO_POOL", "REDIRECT_TO_URL", "REDIRECT_PREFIX", "REJECT"}, help: "what the policy does with a request its rules all match"},
		{flag: "redirect-pool", key: "redirect_pool_id", kind: fRef, ref: pools, help: "pool (name or id) of REDIRECT_TO_POOL"},
		{flag: "redirect-url", key: "redirect_url", help: "URL of REDIRECT_TO_URL"},
		{flag: "redirect-prefix", key: "redirect_prefix", help: "URL prefix of REDIRECT_PREFIX"},
		{flag: "redirect-http-code", key: "redirect_http_code", kind: fInt, help: "status of a redirect: 301, 302 (default), 303, 307 or 308"},
		{flag: "position", key: "position", kind: fInt, help: "1-based place among the listener's policies (default: last)"},
		tagField()}, enableFields()...)
	ruleSet := append([]field{
		{flag: "type", key: "type", choices: []string{"HOST_NAME", "PATH", "FILE_TYPE", "HEADER", "COOKIE", "SSL_CONN_HAS_CERT", "SSL_VERIFY_RESULT", "SSL_DN_FIELD"}, help: "what part of the request the rule looks at"},
		{flag: "compare-type", key: "compare_type", choices: []string{"REGEX", "STARTS_WITH", "ENDS_WITH", "CONTAINS", "EQUAL_TO"}, help: "how it compares"},
		{flag: "key", key: "key", help: "header or cookie name (HEADER, COOKIE), subject field (SSL_DN_FIELD)"},
		{flag: "value", key: "value", help: "the value compared with"},
		{flag: "invert", key: "invert", kind: fTrue, help: "match what the rule would not"},
		{flag: "no-invert", key: "invert", kind: fFalse, help: "match what the rule says (default)"},
		tagField()}, enableFields()...)

	required := func(f field) field { f.required = true; return f }
	verbs := []*verb{
		v2CreateVerb(lbK, "Create a load balancer", append([]field{
			{flag: "vip-subnet-id", key: "vip_subnet_id", kind: fRef, ref: c.subnets, help: "subnet (name or id, resolved on the Neutron endpoint) for the VIP"},
			{flag: "vip-network-id", key: "vip_network_id", kind: fRef, ref: c.networks, help: "network (name or id) for the VIP"},
			{flag: "vip-port-id", key: "vip_port_id", kind: fRef, ref: c.ports, help: "existing port (name or id) for the VIP"},
			{flag: "vip-address", key: "vip_address", help: "the VIP's IP address"},
			{flag: "project", key: "project_id", help: "owner project (admin only)"},
			{flag: "provider", key: "provider", help: "provider name"},
			{flag: "flavor", key: "flavor_id", help: "flavor id"},
			{flag: "availability-zone", key: "availability_zone", help: "availability zone"},
		}, lbSet...)),
		v2ListVerb(lbK, "List load balancers", []field{nameField("load balancer"),
			{flag: "project", key: "project_id", help: "only this project's"},
			{flag: "provisioning-status", key: "provisioning_status", help: "only with this provisioning status"},
			{flag: "operating-status", key: "operating_status", help: "only with this operating status"},
			{flag: "vip-subnet-id", key: "vip_subnet_id", kind: fRef, ref: c.subnets, help: "only on this subnet (name or id)"},
		}),
		v2ShowVerb(lbK, "Show a load balancer"),
		v2SetVerb(lbK, "Update a load balancer", lbSet),
		v2DeleteVerb(lbK, "Delete a load balancer", true),
		failoverVerb(lbs),
		lbSubVerb(lbs, []string{"loadbalancer", "stats"}, "show", "Show the statistics of a load balancer", "stats", false),
		lbSubVerb(lbs, []string{"loadbalancer", "status"}, "show", "Show the status tree of a load balancer (JSON)", "status", true),

		v2CreateVerb(listenerK, "Create a listener", append([]field{
			{pos: "LOADBALANCER", key: "loadbalancer_id", kind: fRef, ref: lbs},
			required(field{flag: "protocol", key: "protocol", choices: v2Protocols(), help: "the listener's protocol"}),
			required(field{flag: "protocol-port", key: "protocol_port", kind: fInt, help: "the port it listens on"}),
		}, listenerSet...)),
		v2ListVerb(listenerK, "List listeners", []field{nameField("listener"),
			{flag: "loadbalancer", key: "loadbalancer_id", kind: fRef, ref: lbs, help: "only this load balancer's (name or id)"},
			{flag: "project", key: "project_id", help: "only this project's"},
		}),
		v2ShowVerb(listenerK, "Show a listener"),
		v2SetVerb(listenerK, "Update a listener", listenerSet),
		v2DeleteVerb(listenerK, "Delete a listener", false),
		lbSubVerb(listeners, []string{"loadbalancer", "listener", "stats"}, "show", "Show the statistics of a listener", "stats", false),

		v2CreateVerb(poolK, "Create a pool", append([]field{
			required(field{flag: "protocol", key: "protocol", choices: v2Protocols(), help: "protocol towards the members"}),
			{flag: "listener", key: "listener_id", kind: fRef, ref: listeners, help: "listener (name or id) whose default pool this becomes"},
			{flag: "loadbalancer", key: "loadbalancer_id", kind: fRef, ref: lbs, help: "load balancer (name or id) of a pool without a listener"},
		}, requiredFlags(poolSet, "lb-algorithm")...)),
		v2ListVerb(poolK, "List pools", []field{nameField("pool"),
			{flag: "loadbalancer", key: "loadbalancer_id", kind: fRef, ref: lbs, help: "only this load balancer's (name or id)"},
			{flag: "project", key: "project_id", help: "only this project's"},
		}),
		v2ShowVerb(poolK, "Show a pool"),
		v2SetVerb(poolK, "Update a pool", poolSet),
		v2DeleteVerb(poolK, "Delete a pool", false),

		v2CreateVerb(memberK, "Create a member of a pool", append([]field{
			required(field{flag: "address", key: "address", help: "the member's IP address"}),
			required(field{flag: "protocol-port", key: "protocol_port", kind: fInt, help: "the port the member serves on"}),
			{flag: "subnet-id", key: "subnet_id", kind: fRef, ref: c.subnets, help: "subnet (name or id, resolved on the Neutron endpoint) the member is reached on"},
		}, memberSet...)),
		v2ListVerb(memberK, "List the members of a pool", []field{nameField("member"),
			{flag: "address", key: "address", help: "only with this address"},
			{flag: "protocol-port", key: "protocol_port", help: "only on this port"},
		}),
		v2ShowVerb(memberK, "Show a member of a pool"),
		v2SetVerb(memberK, "Update a member of a pool", memberSet),
		v2DeleteVerb(memberK, "Delete a member of a pool", false),
		memberBatchVerb(pools),

		v2CreateVerb(monitorK, "Create a health monitor of a pool", append([]field{
			{pos: "POOL", key: "pool_id", kind: fRef, ref: pools},
			required(field{flag: "type", key: "type", choices: v2MonitorTypes(), help: "the kind of probe"}),
		}, requiredFlags(monitorSet, "delay", "timeout", "max-retries")...)),
		v2ListVerb(monitorK, "List health monitors", []field{nameField("health monitor"),
			{flag: "project", key: "project_id", help: "only this project's"},
			{flag: "type", key: "type", help: "only of this type"},
		}),
		v2ShowVerb(monitorK, "Show a health monitor"),
		v2SetVerb(monitorK, "Update a health monitor", monitorSet),
		v2DeleteVerb(monitorK, "Delete a health monitor", false),

		v2CreateVerb(policyK, "Create an L7 policy of a listener", append([]field{
			{pos: "LISTENER", key: "listener_id", kind: fRef, ref: listeners},
		}, requiredFlags(policySet, "action")...)),
		v2ListVerb(policyK, "List L7 policies", []field{nameField("L7 policy"),
			{flag: "listener", key: "listener_id", kind: fRef, ref: listeners, help: "only this listener's (name or id)"},
			{flag: "action", key: "action", help: "only with this action"},
			{flag: "project", key: "project_id", help: "only this project's"},
		}),
		v2ShowVerb(policyK, "Show an L7 policy"),
		v2SetVerb(policyK, "Update an L7 policy", policySet),
		v2DeleteVerb(policyK, "Delete an L7 policy", false),

		v2CreateVerb(ruleK, "Create a rule of an L7 policy", requiredFlags(ruleSet, "type", "compare-type", "value")),
		v2ListVerb(ruleK, "List the rules of an L7 policy", []field{
			{flag: "type", key: "type", help: "only of this type"},
			{flag: "compare-type", key: "compare_type", help: "only with this compare type"},
		}),
		v2ShowVerb(ruleK, "Show a rule of an L7 policy"),
		v2SetVerb(ruleK, "Update a rule of an L7 policy", ruleSet),
		v2DeleteVerb(ruleK, "Delete a rule of an L7 policy", false),

		v2ListVerb(&v2kind{res: c.amphorae, columns: []string{"id", "loadbalancer_id", "status", "role", "lb_network_ip", "ha_ip"}}, "List amphorae (admin)", []field{
			{flag: "loadbalancer", key: "loadbalancer_id", kind: fRef, ref: lbs, help: "only this load balancer's (name or id)"},
			{flag: "role", key: "role", choices: []string{"MASTER", "BACKUP", "STANDALONE"}, help: "only with this role"},
			{flag: "status", key: "status", help: "only with this status"},
		}),
		v2ShowVerb(&v2kind{res: c.amphorae}, "Show an amphora (admin)"),
		amphoraActionVerb(c.amphorae, "failover", "Rebuild one amphora on its node (admin)", "failover"),
		amphoraActionVerb(c.amphorae, "configure", "Send an amphora's load balancer configuration again (admin)", "config"),
		amphoraStatsVerb(c.amphorae),

		quotaListVerb(), quotaShowVerb(), quotaSetVerb(), quotaUnsetVerb(), quotaResetVerb(), quotaDefaultsVerb(), providerListVerb(),
	}
	return verbs
}

// requiredFlags returns fields with the named flags required (on create).
func requiredFlags(fields []field, flags ...string) []field {
	out := append([]field(nil), fields...)
	for i := range out {
		for _, f := range flags {
			if out[i].flag == f {
				out[i].required = true
			}
		}
	}
	return out
}

// groupOf is the command path of a kind's verbs.
func groupOf(k *v2kind) []string {
	if n := k.noun(); n != "loadbalancer" {
		return []string{"loadbalancer", n}
	}
	return []string{"loadbalancer"}
}

func checkV2Flags(e *env) error {
	return exclusive(e, [2]string{"enable", "disable"}, [2]string{"enable-backup", "disable-backup"}, [2]string{"invert", "no-invert"},
		[2]string{"backup", "disable-backup"}, [2]string{"enable-tls", "disable-tls"})
}

func v2CreateVerb(k *v2kind, short string, fields []field) *verb {
	args := k.scopeArgs(positionals(fields)...)
	return &verb{
		group: groupOf(k), name: "create", short: short, args: args, output: true,
		flags: func(fs *pflag.FlagSet) { defineFields(fs, fields); addWaitFlags(fs) },
		run: func(e *env) error {
			if err := checkV2Flags(e); err != nil {
				return err
			}
			if k.noun() == "pool" && !e.set("listener") && !e.set("loadbalancer") {
				return usagef("one of the arguments --listener --loadbalancer is required")
			}
			r, rest, err := k.scope(e)
			if err != nil {
				return err
			}
			sub := *e
			sub.args = rest
			body, err := buildBody(&sub, fields)
			if err != nil {
				return err
			}
			if _, ok := body["admin_state_up"]; !ok && k.enableOnCreate {
				body["admin_state_up"] = true
			}
			obj, err := r.create(e.ctx, e.lb, body)
			if err != nil {
				return err
			}
			if e.set("wait") {
				lb, err := k.lbOf(e, obj)
				if err != nil {
					return err
				}
				if err := e.waitActive(lbsRes(), lb); err != nil {
					return err
				}
				if obj, err = r.show(e.ctx, e.lb, obj.str("id"), nil); err != nil {
					return err
				}
			}
			return emitV2(e, obj)
		},
	}
}

// lbsRes is the load balancer collection, for waits.
func lbsRes() *resource { return lbaasRes("loadbalancer", "loadbalancers", "loadbalancers") }

func v2ListVerb(k *v2kind, short string, filters []field) *verb {
	return &verb{
		group: groupOf(k), name: "list", short: short, args: k.scopeArgs(), output: true,
		flags: func(fs *pflag.FlagSet) {
			defineFields(fs, filters)
			fs.Bool("long", false, "show every column")
		},
		run: func(e *env) error {
			r, rest, err := k.scope(e)
			if err != nil {
				return err
			}
			sub := *e
			sub.args = rest
			body, err := buildBody(&sub, filters)
			if err != nil {
				return err
			}
			var query []param
			for _, f := range filters {
				if v, ok := body[f.key]; ok {
					query = append(query, param{f.key, fmt.Sprint(v)})
				}
			}
			items, err := r.list(e.ctx, e.lb, query)
			if err != nil {
				return err
			}
			cols := k.columns
			if e.set("long") {
				cols = nil
			}
			if e.fmt.format == "table" {
				for i, it := range items {
					items[i] = idLists(it)
				}
			}
			return emitList(e.out, items, cols, nil, e.fmt)
		},
	}
}

// resolve finds the object a show/set/delete names.
func (k *v2kind) resolve(e *env) (*resource, string, error) {
	r, rest, err := k.scope(e)
	if err != nil {
		return nil, "", err
	}
	id, err := r.findID(e.ctx, e.lb, rest[0])
	return r, id, err
}

func v2ShowVerb(k *v2kind, short string) *verb {
	return &verb{
		group: groupOf(k), name: "show", short: short, args: k.scopeArgs(argSpec{name: upper(k.noun())}), output: true,
		run: func(e *env) error {
			r, id, err := k.resolve(e)
			if err != nil {
				return err
			}
			obj, err := r.show(e.ctx, e.lb, id, nil)
			if err != nil {
				return err
			}
			return emitV2(e, obj)
		},
	}
}

func v2SetVerb(k *v2kind, short string, fields []field) *verb {
	return &verb{
		group: groupOf(k), name: "set", short: short, args: k.scopeArgs(argSpec{name: upper(k.noun())}),
		flags: func(fs *pflag.FlagSet) {
			defineFields(fs, fields)
			fs.Bool("no-tag", false, "clear the tags (with --tag: replace them)")
			addWaitFlags(fs)
		},
		run: func(e *env) error {
			if err := checkV2Flags(e); err != nil {
				return err
			}
			r, id, err := k.resolve(e)
			if err != nil {
				return err
			}
			body, err := buildBody(e, fields)
			if err != nil {
				return err
			}
			if err := mergeTags(e, r, id, body); err != nil {
				return err
			}
			if len(body) == 0 {
				return usagef("Must specify new values to update %s", k.noun())
			}
			if err := r.update(e.ctx, e.lb, id, body); err != nil {
				return err
			}
			if e.set("wait") {
				// octaviaclient polls the object itself after a set.
				return e.waitActive(r, id)
			}
			return nil
		},
	}
}

// mergeTags gives --tag/--no-tag octaviaclient's meaning on set: --tag
// adds to the current tags, --no-tag clears them first.
func mergeTags(e *env, r *resource, id string, body map[string]any) error {
	added, _ := body["tags"].([]any)
	if e.set("no-tag") {
		if added == nil {
			added = []any{}
		}
		body["tags"] = added
		return nil
	}
	if added == nil {
		return nil
	}
	cur, err := r.show(e.ctx, e.lb, id, []param{{"fields", "tags"}})
	if err != nil {
		return err
	}
	var tags []string
	if raw, ok := cur.get("tags"); ok {
		_ = json.Unmarshal(raw, &tags)
	}
	out := []any{}
	seen := map[string]bool{}
	for _, t := range tags {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	for _, t := range added {
		if s, _ := t.(string); !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	body["tags"] = out
	return nil
}

func v2DeleteVerb(k *v2kind, short string, cascade bool) *verb {
	return &verb{
		group: groupOf(k), name: "delete", short: short, args: k.scopeArgs(argSpec{name: upper(k.noun())}),
		flags: func(fs *pflag.FlagSet) {
			if cascade {
				fs.Bool("cascade", false, "also delete every listener, pool, member and health monitor of the load balancer")
			}
			addWaitFlags(fs)
		},
		run: func(e *env) error {
			r, id, err := k.resolve(e)
			if err != nil {
				return err
			}
			var query []param
			if cascade && e.set("cascade") {
				query = []param{{"cascade", "True"}}
			}
			if _, err := e.lb.do(e.ctx, http.MethodDelete, r.itemPath(id), query, nil); err != nil {
				return err
			}
			if e.set("wait") {
				return e.waitDeleted(r, id)
			}
			return nil
		},
	}
}

// failoverVerb is `loadbalancer failover LB`: PUT .../failover, then with
// --wait the load balancer's way back to ACTIVE.
func failoverVerb(lbs *resource) *verb {
	return &verb{
		group: []string{"loadbalancer"}, name: "failover", short: "Trigger a load balancer failover",
		args:  []argSpec{{name: "LOADBALANCER"}},
		flags: addWaitFlags,
		run: func(e *env) error {
			id, err := lbs.findID(e.ctx, e.lb, e.args[0])
			if err != nil {
				return err
			}
			if _, err := e.lb.do(e.ctx, http.MethodPut, lbs.itemPath(id)+"/failover", nil, nil); err != nil {
				return err
			}
			if e.set("wait") {
				return e.waitActive(lbs, id)
			}
			return nil
		},
	}
}

// amphoraActionVerb is `amphora failover|configure AMPHORA`: a PUT to
// the amphora's /failover or /config (202).
func amphoraActionVerb(r *resource, name, short, sub string) *verb {
	return &verb{
		group: []string{"loadbalancer", "amphora"}, name: name, short: short, args: []argSpec{{name: "AMPHORA"}},
		run: func(e *env) error {
			id, err := r.findByID(e.ctx, e.lb, e.args[0])
			if err != nil {
				return err
			}
			_, err = e.lb.do(e.ctx, http.MethodPut, r.itemPath(id)+"/"+sub, nil, nil)
			return err
		},
	}
}

// amphoraStatsVerb is `amphora stats show AMPHORA`: its counters per
// listener.
func amphoraStatsVerb(r *resource) *verb {
	return &verb{
		group: []string{"loadbalancer", "amphora", "stats"}, name: "show", short: "Show an amphora's counters per listener (admin)",
		args: []argSpec{{name: "AMPHORA"}}, output: true,
		run: func(e *env) error {
			id, err := r.findByID(e.ctx, e.lb, e.args[0])
			if err != nil {
				return err
			}
			resp, err := e.lb.do(e.ctx, http.MethodGet, r.itemPath(id)+"/stats", nil, nil)
			if err != nil {
				return err
			}
			var raws []json.RawMessage
			if err := json.Unmarshal(resp["amphora_stats"], &raws); err != nil {
				return fmt.Errorf("the server's response has no amphora_stats list")
			}
			items := make([]*object, 0, len(raws))
			for _, raw := range raws {
				o, err := parseObject(raw)
				if err != nil {
					return err
				}
				items = append(items, o)
			}
			return emitList(e.out, items, []string{"listener_id", "active_connections", "total_connections", "bytes_in", "bytes_out", "request_errors"}, nil, e.fmt)
		},
	}
}

// lbSubVerb reads /<id>/stats or /<id>/status: stats as a table, the
// status tree as JSON (octaviaclient prints it with json.dumps).
func lbSubVerb(r *resource, group []string, name, short, sub string, tree bool) *verb {
	return &verb{
		group: group, name: name, short: short, args: []argSpec{{name: upper(r.singular)}}, output: !tree,
		run: func(e *env) error {
			id, err := r.findID(e.ctx, e.lb, e.args[0])
			if err != nil {
				return err
			}
			key := "stats"
			if tree {
				key = "statuses"
			}
			obj, raw, err := subObject(e, r.itemPath(id)+"/"+sub, key)
			if err != nil {
				return err
			}
			if tree {
				var b bytes.Buffer
				if err := json.Indent(&b, raw, "", "    "); err != nil {
					return err
				}
				e.printf("%s\n", b.String())
				return nil
			}
			return emitOne(e.out, obj, e.fmt)
		},
	}
}

// memberBatchVerb replaces the members of a pool in one request (PUT
// .../pools/<id>/members), which octaviaclient has no command for: the
// file holds {"members": [...]} or the bare list.
func memberBatchVerb(pools *resource) *verb {
	return &verb{
		group: []string{"loadbalancer", "member"}, name: "batch-update",
		short: "Replace every member of a pool with those of a JSON file ({\"members\": [...]} or a list)",
		args:  []argSpec{{name: "POOL"}},
		flags: func(fs *pflag.FlagSet) {
			fs.String("file", "", "JSON file with the new members, - for stdin (required)")
			addWaitFlags(fs)
		},
		run: func(e *env) error {
			path, ok := e.str("file")
			if !ok {
				return usagef("the following arguments are required: --file")
			}
			var data []byte
			var err error
			if path == "-" {
				data, err = io.ReadAll(os.Stdin)
			} else {
				data, err = os.ReadFile(path)
			}
			if err != nil {
				return err
			}
			var members []any
			var env struct {
				Members *[]any `json:"members"`
			}
			if json.Unmarshal(data, &members) != nil {
				if err := json.Unmarshal(data, &env); err != nil || env.Members == nil {
					return usagef("%s: want {\"members\": [...]} or a JSON list of members", path)
				}
				members = *env.Members
			}
			id, err := pools.findID(e.ctx, e.lb, e.args[0])
			if err != nil {
				return err
			}
			if _, err := e.lb.do(e.ctx, http.MethodPut, pools.itemPath(id)+"/members", nil, map[string]any{"members": members}); err != nil {
				return err
			}
			if e.set("wait") {
				p, err := pools.show(e.ctx, e.lb, id, nil)
				if err != nil {
					return err
				}
				if lb := firstRef(p, "loadbalancers"); lb != "" {
					return e.waitActive(lbsRes(), lb)
				}
			}
			return nil
		},
	}
}

func quotaListVerb() *verb {
	r := lbaasRes("quota", "quotas", "quotas")
	return &verb{
		group: []string{"loadbalancer", "quota"}, name: "list", short: "List quotas", output: true,
		run: func(e *env) error {
			items, err := r.list(e.ctx, e.lb, nil)
			if err != nil {
				return err
			}
			return emitList(e.out, items, []string{"project_id", "load_balancer", "listener", "pool", "health_monitor", "member", "l7policy", "l7rule"}, nil, e.fmt)
		},
	}
}

func quotaShowVerb() *verb {
	return &verb{
		group: []string{"loadbalancer", "quota"}, name: "show", short: "Show the quotas of a project (\"defaults\" for the defaults)",
		args: []argSpec{{name: "PROJECT"}}, output: true,
		run: func(e *env) error {
			obj, _, err := subObject(e, "/lbaas/quotas/"+pathEscape(e.args[0]), "quota")
			if err != nil {
				return err
			}
			return emitOne(e.out, obj, e.fmt)
		},
	}
}

// quotaFlags are octaviaclient's names of the limits, with the key each
// sends.
var quotaFlags = [][2]string{
	{"loadbalancer", "loadbalancer"}, {"listener", "listener"}, {"pool", "pool"}, {"member", "member"},
	{"healthmonitor", "healthmonitor"}, {"l7policy", "l7policy"}, {"l7rule", "l7rule"},
}

// putQuota sends PUT /quotas/<project> and shows the answer.
func putQuota(e *env, body map[string]any) error {
	resp, err := e.lb.do(e.ctx, http.MethodPut, "/lbaas/quotas/"+pathEscape(e.args[0]), nil, map[string]any{"quota": body})
	if err != nil {
		return err
	}
	raw, ok := resp["quota"]
	if !ok {
		return fmt.Errorf("the server's response has no \"quota\" object")
	}
	obj, err := parseObject(raw)
	if err != nil {
		return err
	}
	return emitOne(e.out, obj, e.fmt)
}

func quotaSetVerb() *verb {
	return &verb{
		group: []string{"loadbalancer", "quota"}, name: "set", short: "Set limits of a project (admin; -1 is unlimited)",
		args: []argSpec{{name: "PROJECT"}}, output: true,
		flags: func(fs *pflag.FlagSet) {
			for _, f := range quotaFlags {
				fs.Int(f[0], 0, "new limit of "+f[0]+"s (-1: unlimited)")
			}
		},
		run: func(e *env) error {
			body := map[string]any{}
			for _, f := range quotaFlags {
				if e.set(f[0]) {
					n, _ := e.fs.GetInt(f[0])
					body[f[1]] = n
				}
			}
			if len(body) == 0 {
				return usagef("at least one of --loadbalancer, --listener, --pool, --member, --healthmonitor, --l7policy, --l7rule is required")
			}
			return putQuota(e, body)
		},
	}
}

func quotaUnsetVerb() *verb {
	return &verb{
		group: []string{"loadbalancer", "quota"}, name: "unset", short: "Return limits of a project to the defaults (admin)",
		args: []argSpec{{name: "PROJECT"}}, output: true,
		flags: func(fs *pflag.FlagSet) {
			for _, f := range quotaFlags {
				fs.Bool(f[0], false, "return the limit of "+f[0]+"s to the default")
			}
		},
		run: func(e *env) error {
			body := map[string]any{}
			for _, f := range quotaFlags {
				if e.set(f[0]) {
					body[f[1]] = nil
				}
			}
			if len(body) == 0 {
				return usagef("name at least one limit to unset, e.g. --loadbalancer")
			}
			return putQuota(e, body)
		},
	}
}

func quotaResetVerb() *verb {
	return &verb{
		group: []string{"loadbalancer", "quota"}, name: "reset", short: "Return every limit of a project to the defaults (admin)",
		args: []argSpec{{name: "PROJECT"}},
		run: func(e *env) error {
			_, err := e.lb.do(e.ctx, http.MethodDelete, "/lbaas/quotas/"+pathEscape(e.args[0]), nil, nil)
			return err
		},
	}
}

func quotaDefaultsVerb() *verb {
	return &verb{
		group: []string{"loadbalancer", "quota", "defaults"}, name: "show", short: "Show the limits of projects that have none of their own",
		output: true,
		run: func(e *env) error {
			obj, _, err := subObject(e, "/lbaas/quotas/defaults", "quota")
			if err != nil {
				return err
			}
			return emitOne(e.out, obj, e.fmt)
		},
	}
}

func providerListVerb() *verb {
	r := lbaasRes("provider", "providers", "providers")
	return &verb{
		group: []string{"loadbalancer", "provider"}, name: "list", short: "List providers", output: true,
		run: func(e *env) error {
			items, err := r.list(e.ctx, e.lb, nil)
			if err != nil {
				return err
			}
			return emitList(e.out, items, []string{"name", "description"}, nil, e.fmt)
		},
	}
}

package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// The choices neutron's argparse enforces client-side.
func lbMethods() []string   { return []string{"ROUND_ROBIN", "LEAST_CONNECTIONS", "SOURCE_IP"} }
func lbProtocols() []string { return []string{"HTTP", "HTTPS", "TCP"} }
func hmTypes() []string     { return []string{"PING", "TCP", "HTTP", "HTTPS"} }

func adminDown() field {
	return field{flag: "admin-state-down", key: "admin_state_up", kind: fAdminDown, help: "set admin state up to false"}
}

func lbVerbs(c *catalog) []*verb {
	return []*verb{
		createVerb(c.pools, "lb-pool-create", "Create a pool", []field{
			adminDown(),
			{flag: "description", key: "description", help: "description of the pool"},
			{flag: "lb-method", key: "lb_method", required: true, choices: lbMethods(), help: "the algorithm used to distribute load between the members of the pool"},
			{flag: "name", key: "name", required: true, help: "the name of the pool"},
			{flag: "protocol", key: "protocol", required: true, choices: lbProtocols(), help: "protocol for balancing"},
			{flag: "subnet-id", key: "subnet_id", kind: fRef, ref: c.subnets, required: true, help: "the subnet (name or id) on which the members of the pool will be located"},
			{flag: "provider", key: "provider", help: "provider name of the loadbalancer service"},
		}),
		listVerb(c.pools, "lb-pool-list", "List pools", listOptions{
			columns:    []string{"id", "name", "provider", "lb_method", "protocol", "admin_state_up", "status"},
			formatters: map[string]cellFormatter{"provider": formatProvider},
		}),
		showVerb(c.pools, "lb-pool-show", "Show information of a given pool", true),
		updateVerb(c.pools, "lb-pool-update", "Update a given pool (--key value attributes)", true, nil),
		deleteVerb(c.pools, "lb-pool-delete", "Delete a given pool", true),
		poolStatsVerb(c.pools),

		createVerb(c.members, "lb-member-create", "Create a member", []field{
			{pos: "POOL", key: "pool_id", kind: fRef, ref: c.pools},
			adminDown(),
			{flag: "weight", key: "weight", kind: fInt, help: "weight of pool member in the pool (default:1, [0..256])"},
			{flag: "address", key: "address", required: true, help: "IP address of the pool member on the pool network"},
			{flag: "protocol-port", key: "protocol_port", kind: fInt, required: true, help: "port on which the pool member listens for requests or connections"},
		}),
		listVerb(c.members, "lb-member-list", "List members", listOptions{
			columns: []string{"id", "address", "protocol_port", "weight", "admin_state_up", "status"},
		}),
		showVerb(c.members, "lb-member-show", "Show information of a given member", false),
		updateVerb(c.members, "lb-member-update", "Update a given member (--key value attributes)", true, nil),
		deleteVerb(c.members, "lb-member-delete", "Delete a given member", true),

		createVerb(c.vips, "lb-vip-create", "Create a vip", []field{
			{pos: "POOL", key: "pool_id", kind: fRef, ref: c.pools},
			{flag: "address", key: "address", help: "IP address of the vip"},
			adminDown(),
			{flag: "connection-limit", key: "connection_limit", kind: fInt, help: "the maximum number of connections allowed for the vip, -1 for unlimited (default)"},
			{flag: "description", key: "description", help: "description of the vip to be created"},
			{flag: "name", key: "name", required: true, help: "name of the vip to be created"},
			{flag: "protocol-port", key: "protocol_port", kind: fInt, required: true, help: "TCP port on which to listen for client traffic"},
			{flag: "protocol", key: "protocol", required: true, choices: lbProtocols(), help: "protocol for balancing"},
			{flag: "subnet-id", key: "subnet_id", kind: fRef, ref: c.subnets, required: true, help: "the subnet (name or id) on which to allocate the vip address"},
			{flag: "session-persistence", key: "session_persistence", kind: fKV, help: "type=SOURCE_IP|HTTP_COOKIE|APP_COOKIE[,cookie_name=NAME]"},
		}),
		listVerb(c.vips, "lb-vip-list", "List vips", listOptions{
			columns: []string{"id", "name", "algorithm", "address", "protocol", "admin_state_up", "status"},
		}),
		showVerb(c.vips, "lb-vip-show", "Show information of a given vip", true),
		updateVerb(c.vips, "lb-vip-update", "Update a given vip (--key value attributes)", true, nil),
		deleteVerb(c.vips, "lb-vip-delete", "Delete a given vip", true),

		createVerb(c.monitors, "lb-healthmonitor-create", "Create a health monitor", []field{
			adminDown(),
			{flag: "expected-codes", key: "expected_codes", help: "the list of HTTP status codes expected in response from the member, e.g. 200, 200-202 or 200,202 (default: 200)"},
			{flag: "http-method", key: "http_method", help: "the HTTP method used for requests by the monitor of type HTTP (default: GET)"},
			{flag: "url-path", key: "url_path", help: "the HTTP path used in the HTTP request used by the monitor (default: /)"},
			{flag: "delay", key: "delay", kind: fInt, required: true, help: "the time in seconds between sending probes to members"},
			{flag: "max-retries", key: "max_retries", kind: fInt, required: true, help: "number of permissible connection failures before changing the member status to INACTIVE [1..10]"},
			{flag: "timeout", key: "timeout", kind: fInt, required: true, help: "maximum number of seconds for a monitor to wait for a connection to be established before it times out"},
			{flag: "type", key: "type", required: true, choices: hmTypes(), help: "one of the predefined health monitor types"},
		}),
		listVerb(c.monitors, "lb-healthmonitor-list", "List health monitors", listOptions{
			columns: []string{"id", "type", "admin_state_up"},
		}),
		showVerb(c.monitors, "lb-healthmonitor-show", "Show information of a given health monitor", false),
		updateVerb(c.monitors, "lb-healthmonitor-update", "Update a given health monitor (--key value attributes)", false, nil),
		deleteVerb(c.monitors, "lb-healthmonitor-delete", "Delete a given health monitor", false),
		monitorLinkVerb(c, true),
		monitorLinkVerb(c, false),
	}
}

func formatProvider(raw json.RawMessage) string {
	if s := cellText(raw); s != "" {
		return s
	}
	return "N/A"
}

// poolStatsVerb is `lb-pool-stats POOL`: GET pools/{id}/stats, printed
// like a show of the "stats" object.
func poolStatsVerb(pools *resource) *verb {
	return &verb{
		name: "lb-pool-stats", short: "Retrieve stats for a given pool",
		args: []argSpec{{name: "POOL"}}, output: true,
		run: func(e *env) error {
			id, err := pools.findID(e.ctx, e.cl, e.args[0])
			if err != nil {
				return err
			}
			resp, err := e.cl.do(e.ctx, http.MethodGet, pools.itemPath(id)+"/stats", nil, nil)
			if err != nil {
				return err
			}
			raw, ok := resp["stats"]
			if !ok {
				return fmt.Errorf("the server's response has no \"stats\" object")
			}
			obj, err := parseObject(raw)
			if err != nil {
				return err
			}
			return emitOne(e.out, obj, e.fmt)
		},
	}
}

// monitorLinkVerb is lb-healthmonitor-associate / -disassociate
// HEALTH_MONITOR_ID POOL: the monitor id is sent as given, the pool is
// resolved by name or id.
func monitorLinkVerb(c *catalog, associate bool) *verb {
	name, short, done := "lb-healthmonitor-disassociate", "Remove a mapping from a health monitor to a pool", "Disassociated"
	if associate {
		name, short, done = "lb-healthmonitor-associate", "Create a mapping between a health monitor and a pool", "Associated"
	}
	return &verb{
		name: name, short: short,
		args: []argSpec{{name: "HEALTH_MONITOR_ID"}, {name: "POOL"}},
		run: func(e *env) error {
			hm := e.args[0]
			pool, err := c.pools.findID(e.ctx, e.cl, e.args[1])
			if err != nil {
				return err
			}
			path := c.pools.itemPath(pool) + "/health_monitors"
			if associate {
				_, err = e.cl.do(e.ctx, http.MethodPost, path, nil, map[string]any{"health_monitor": map[string]any{"id": hm}})
			} else {
				_, err = e.cl.do(e.ctx, http.MethodDelete, path+"/"+pathEscape(hm), nil, nil)
			}
			if err != nil {
				return err
			}
			e.printf("%s health monitor %s\n", done, hm)
			return nil
		},
	}
}

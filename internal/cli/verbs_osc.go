package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"
)

// openstackNetworkVerbs are the few `openstack network|subnet|floating ip`
// commands an Octavia workflow needs around its load balancers, with the
// openstack CLI's arguments, so that a script written for `openstack`
// runs with `lbaas` in its place. They talk to the Neutron endpoint and
// print like the openstack CLI: the object as a Field/Value table, no
// banner, nothing after set and delete.
func openstackNetworkVerbs(c *catalog) []*verb {
	net := []string{"network"}
	sub := []string{"subnet"}
	fip := []string{"floating", "ip"}
	return []*verb{
		oscCreateVerb(c.networks, net, "Create a network", []field{
			{pos: "NAME", key: "name"},
			{flag: "description", key: "description", help: "description of the network"},
			{flag: "enable", key: "admin_state_up", kind: fTrue, help: "enable the network (default)"},
			{flag: "disable", key: "admin_state_up", kind: fFalse, help: "disable the network"},
			{flag: "share", key: "shared", kind: fTrue, help: "share the network between projects"},
			{flag: "no-share", key: "shared", kind: fFalse, help: "do not share the network (default)"},
			{flag: "external", key: "router:external", kind: fTrue, help: "the network is external (floating IPs come from it)"},
			{flag: "internal", key: "router:external", kind: fFalse, help: "the network is internal (default)"},
		}, map[string]any{"admin_state_up": true}),
		oscListVerb(c.networks, net, "List networks", []string{"id", "name", "subnets"}),
		oscShowVerb(c.networks, net, "Show a network", true),
		oscDeleteVerb(c.networks, net, "Delete networks", true),

		oscCreateVerb(c.subnets, sub, "Create a subnet", []field{
			{pos: "NAME", key: "name"},
			{flag: "network", key: "network_id", kind: fRef, ref: c.networks, required: true, help: "network (name or id) the subnet belongs to"},
			{flag: "subnet-range", key: "cidr", help: "the subnet's CIDR"},
			{flag: "ip-version", key: "ip_version", kind: fInt, def: "4", choices: []string{"4", "6"}, help: "IP version (default 4)"},
			{flag: "gateway", key: "gateway_ip", help: "gateway IP, 'auto' (default) or 'none'"},
			{flag: "description", key: "description", help: "description of the subnet"},
			{flag: "dhcp", key: "enable_dhcp", kind: fTrue, help: "enable DHCP (default)"},
			{flag: "no-dhcp", key: "enable_dhcp", kind: fFalse, help: "disable DHCP"},
			{flag: "allocation-pool", key: "allocation_pools", kind: fKVList, help: "start=IP,end=IP, can be repeated"},
			{flag: "dns-nameserver", key: "dns_nameservers", kind: fList, help: "DNS server, can be repeated"},
		}, nil),
		oscListVerb(c.subnets, sub, "List subnets", []string{"id", "name", "network_id", "cidr"}),
		oscShowVerb(c.subnets, sub, "Show a subnet", true),
		oscDeleteVerb(c.subnets, sub, "Delete subnets", true),

		oscCreateVerb(c.floatingIPs, fip, "Create a floating IP", []field{
			{pos: "NETWORK", key: "floating_network_id", kind: fRef, ref: c.networks},
			{flag: "port", key: "port_id", kind: fRef, ref: c.ports, help: "port (name or id) to map the floating IP to"},
			{flag: "fixed-ip-address", key: "fixed_ip_address", help: "IP address on the port"},
			{flag: "floating-ip-address", key: "floating_ip_address", help: "the floating IP address"},
			{flag: "subnet", key: "subnet_id", kind: fRef, ref: c.subnets, help: "subnet (name or id) of the external network to take it from"},
			{flag: "description", key: "description", help: "description of the floating IP"},
		}, nil),
		oscListVerb(c.floatingIPs, fip, "List floating IPs", []string{"id", "floating_ip_address", "fixed_ip_address", "port_id", "floating_network_id"}),
		oscShowVerb(c.floatingIPs, fip, "Show a floating IP", false),
		oscDeleteVerb(c.floatingIPs, fip, "Delete floating IPs", false),
		fipSetVerb(c),
		fipUnsetVerb(c),
	}
}

func oscCreateVerb(r *resource, group []string, short string, fields []field, defaults map[string]any) *verb {
	return &verb{
		group: group, name: "create", short: short, args: positionals(fields), output: true,
		flags: func(fs *pflag.FlagSet) { defineFields(fs, fields) },
		run: func(e *env) error {
			body, err := buildBody(e, fields)
			if err != nil {
				return err
			}
			for k, v := range defaults {
				if _, ok := body[k]; !ok {
					body[k] = v
				}
			}
			// The openstack CLI's --gateway: auto lets the server choose,
			// none means no gateway.
			switch g, _ := body["gateway_ip"].(string); g {
			case "auto":
				delete(body, "gateway_ip")
			case "none":
				body["gateway_ip"] = nil
			}
			obj, err := r.create(e.ctx, e.cl, body)
			if err != nil {
				return err
			}
			return emitOne(e.out, obj, e.fmt)
		},
	}
}

func oscListVerb(r *resource, group []string, short string, columns []string) *verb {
	return &verb{
		group: group, name: "list", short: short, output: true,
		flags: func(fs *pflag.FlagSet) { fs.String("name", "", "only objects with this name") },
		run: func(e *env) error {
			var query []param
			if n, ok := e.str("name"); ok {
				query = append(query, param{"name", n})
			}
			items, err := r.list(e.ctx, e.cl, query)
			if err != nil {
				return err
			}
			return emitList(e.out, items, columns, nil, e.fmt)
		},
	}
}

func oscShowVerb(r *resource, group []string, short string, allowNames bool) *verb {
	return &verb{
		group: group, name: "show", short: short, args: []argSpec{{name: strings.ToUpper(r.singular)}}, output: true,
		run: func(e *env) error {
			id, err := oscFind(e, r, e.args[0], allowNames)
			if err != nil {
				return err
			}
			obj, err := r.show(e.ctx, e.cl, id, nil)
			if err != nil {
				return err
			}
			return emitOne(e.out, obj, e.fmt)
		},
	}
}

func oscFind(e *env, r *resource, arg string, allowNames bool) (string, error) {
	if allowNames {
		return r.findID(e.ctx, e.cl, arg)
	}
	return r.findByID(e.ctx, e.cl, arg)
}

// oscDeleteVerb deletes every argument and, like the openstack CLI, fails
// at the end saying how many of them could not be deleted.
func oscDeleteVerb(r *resource, group []string, short string, allowNames bool) *verb {
	return &verb{
		group: group, name: "delete", short: short, args: []argSpec{{name: strings.ToUpper(r.singular), variadic: true}},
		run: func(e *env) error {
			failed := 0
			for _, arg := range e.args {
				err := deleteOne(e, r, arg, allowNames)
				if err != nil {
					failed++
					fmt.Fprintf(e.errw, "Failed to delete %s with name or ID '%s': %v\n", r.singular, arg, err)
				}
			}
			if failed > 0 {
				return plainError(fmt.Sprintf("%d of %d %ss failed to delete.", failed, len(e.args), r.singular))
			}
			return nil
		},
	}
}

// fipSetVerb is `floating ip set --port PORT [--fixed-ip-address IP] FIP`.
func fipSetVerb(c *catalog) *verb {
	return &verb{
		group: []string{"floating", "ip"}, name: "set", short: "Map a floating IP to a port",
		args: []argSpec{{name: "FLOATING_IP"}},
		flags: func(fs *pflag.FlagSet) {
			fs.String("port", "", "port (name or id) to map the floating IP to")
			fs.String("fixed-ip-address", "", "IP address on the port (when it has several)")
			fs.String("description", "", "description of the floating IP")
		},
		run: func(e *env) error {
			body := map[string]any{}
			if p, ok := e.str("port"); ok {
				id, err := c.ports.findID(e.ctx, e.cl, p)
				if err != nil {
					return err
				}
				body["port_id"] = id
			}
			if ip, ok := e.str("fixed-ip-address"); ok {
				body["fixed_ip_address"] = ip
			}
			if d, ok := e.str("description"); ok {
				body["description"] = d
			}
			if len(body) == 0 {
				return usagef("nothing to set: give --port, --fixed-ip-address or --description")
			}
			id, err := c.floatingIPs.findByID(e.ctx, e.cl, e.args[0])
			if err != nil {
				return err
			}
			return c.floatingIPs.update(e.ctx, e.cl, id, body)
		},
	}
}

// fipUnsetVerb is `floating ip unset --port FIP`.
func fipUnsetVerb(c *catalog) *verb {
	return &verb{
		group: []string{"floating", "ip"}, name: "unset", short: "Unmap a floating IP from its port",
		args:  []argSpec{{name: "FLOATING_IP"}},
		flags: func(fs *pflag.FlagSet) { fs.Bool("port", false, "unmap the floating IP from its port") },
		run: func(e *env) error {
			if !e.set("port") {
				return usagef("nothing to unset: give --port")
			}
			id, err := c.floatingIPs.findByID(e.ctx, e.cl, e.args[0])
			if err != nil {
				return err
			}
			return c.floatingIPs.update(e.ctx, e.cl, id, map[string]any{"port_id": nil})
		},
	}
}

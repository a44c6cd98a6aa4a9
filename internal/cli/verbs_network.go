package cli

import (
	"encoding/json"
	"strings"

	"github.com/spf13/pflag"
)

func networkVerbs(c *catalog) []*verb {
	nameDesc := []field{
		{flag: "name", key: "name", help: "name of the network"},
		{flag: "description", key: "description", help: "description of the network"},
	}
	return []*verb{
		createVerb(c.networks, "net-create", "Create a network", []field{
			{pos: "NAME", key: "name"},
			{flag: "admin-state-down", key: "admin_state_up", kind: fAdminDown, help: "set admin state up to false"},
			{flag: "shared", key: "shared", kind: fTrue, help: "set the network as shared"},
			{flag: "description", key: "description", help: "description of the network"},
		}),
		listVerb(c.networks, "net-list", "List networks", listOptions{
			columns:    []string{"id", "name", "subnets"},
			formatters: map[string]cellFormatter{"subnets": formatSubnets},
			decorate:   func(e *env, items []*object) error { return decorateSubnets(e, c.subnets, items) },
		}),
		showVerb(c.networks, "net-show", "Show information of a given network", true),
		updateVerb(c.networks, "net-update", "Update a network's information", true, nameDesc),
		deleteVerb(c.networks, "net-delete", "Delete a given network", true),

		createVerb(c.subnets, "subnet-create", "Create a subnet", []field{
			{pos: "NETWORK", key: "network_id", kind: fRef, ref: c.networks},
			{pos: "CIDR", key: "cidr", optional: true},
			{flag: "ip-version", key: "ip_version", kind: fInt, def: "4", choices: []string{"4", "6"}, help: "IP version to use"},
			{flag: "name", key: "name", help: "name of the subnet"},
			{flag: "description", key: "description", help: "description of the subnet"},
			{flag: "gateway", key: "gateway_ip", help: "gateway IP of the subnet"},
			{flag: "no-gateway", key: "gateway_ip", kind: fNull, help: "do not configure a gateway"},
			{flag: "allocation-pool", key: "allocation_pools", kind: fKVList, help: "start=IP_ADDR,end=IP_ADDR, can be repeated"},
			{flag: "host-route", key: "host_routes", kind: fKVList, help: "destination=CIDR,nexthop=IP_ADDR, can be repeated"},
			{flag: "dns-nameserver", key: "dns_nameservers", kind: fList, help: "DNS name server, can be repeated"},
			{flag: "disable-dhcp", key: "enable_dhcp", kind: fFalse, help: "disable DHCP"},
			{flag: "enable-dhcp", key: "enable_dhcp", kind: fTrue, help: "enable DHCP"},
		}),
		listVerb(c.subnets, "subnet-list", "List subnets", listOptions{
			columns: []string{"id", "name", "cidr", "allocation_pools"},
		}),
		showVerb(c.subnets, "subnet-show", "Show information of a given subnet", true),
		updateVerb(c.subnets, "subnet-update", "Update a subnet's information", true, []field{
			{flag: "name", key: "name", help: "name of the subnet"},
			{flag: "description", key: "description", help: "description of the subnet"},
			{flag: "gateway", key: "gateway_ip", help: "gateway IP of the subnet"},
			{flag: "no-gateway", key: "gateway_ip", kind: fNull, help: "remove the gateway"},
		}),
		deleteVerb(c.subnets, "subnet-delete", "Delete a given subnet", true),

		listVerb(c.ports, "port-list", "List ports", listOptions{
			columns: []string{"id", "name", "mac_address", "fixed_ips"},
		}),
		showVerb(c.ports, "port-show", "Show information of a given port", true),

		createVerb(c.floatingIPs, "floatingip-create", "Create a floating IP", []field{
			{pos: "FLOATING_NETWORK", key: "floating_network_id", kind: fRef, ref: c.networks},
			{flag: "description", key: "description", help: "description of the floating IP"},
			{flag: "port-id", key: "port_id", help: "ID of the port to be associated with the floating IP"},
			{flag: "fixed-ip-address", key: "fixed_ip_address", help: "IP address on the port"},
			{flag: "floating-ip-address", key: "floating_ip_address", help: "floating IP address"},
			{flag: "subnet", key: "subnet_id", help: "subnet ID on which to create the floating IP"},
		}),
		listVerb(c.floatingIPs, "floatingip-list", "List floating IPs", listOptions{
			columns: []string{"id", "fixed_ip_address", "floating_ip_address", "port_id"},
		}),
		showVerb(c.floatingIPs, "floatingip-show", "Show information of a given floating IP", false),
		deleteVerb(c.floatingIPs, "floatingip-delete", "Delete a given floating IP", false),
		fipAssociateVerb(c.floatingIPs),
		fipDisassociateVerb(c.floatingIPs),
	}
}

// fipAssociateVerb is `floatingip-associate FLOATINGIP_ID PORT`; like
// neutron it sends both ids unresolved.
func fipAssociateVerb(r *resource) *verb {
	return &verb{
		name: "floatingip-associate", short: "Create a mapping between a floating IP and a fixed IP",
		args: []argSpec{{name: "FLOATINGIP_ID"}, {name: "PORT"}},
		flags: func(fs *pflag.FlagSet) {
			fs.String("fixed-ip-address", "", "IP address on the port (only required if port has multiple IPs)")
		},
		run: func(e *env) error {
			body := map[string]any{"port_id": e.args[1]}
			if ip, ok := e.str("fixed-ip-address"); ok {
				body["fixed_ip_address"] = ip
			}
			if err := r.update(e.ctx, e.cl, e.args[0], body); err != nil {
				return err
			}
			e.printf("Associated floating IP %s\n", e.args[0])
			return nil
		},
	}
}

func fipDisassociateVerb(r *resource) *verb {
	return &verb{
		name: "floatingip-disassociate", short: "Remove a mapping from a floating IP to a fixed IP",
		args: []argSpec{{name: "FLOATINGIP_ID"}},
		run: func(e *env) error {
			if err := r.update(e.ctx, e.cl, e.args[0], map[string]any{"port_id": nil}); err != nil {
				return err
			}
			e.printf("Disassociated floating IP %s\n", e.args[0])
			return nil
		},
	}
}

// decorateSubnets replaces each network's subnet ids with {id, cidr}
// objects from one filtered subnet list, as neutron's net-list does.
func decorateSubnets(e *env, subnets *resource, nets []*object) error {
	var ids []string
	for _, n := range nets {
		var list []string
		if raw, ok := n.get("subnets"); ok && json.Unmarshal(raw, &list) == nil {
			ids = append(ids, list...)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	query := []param{{"fields", "id"}, {"fields", "cidr"}}
	for _, id := range ids {
		query = append(query, param{"id", id})
	}
	subs, err := subnets.list(e.ctx, e.cl, query)
	if err != nil {
		return err
	}
	byID := map[string]string{}
	for _, s := range subs {
		byID[s.str("id")] = s.str("cidr")
	}
	for _, n := range nets {
		var list []string
		raw, ok := n.get("subnets")
		if !ok || json.Unmarshal(raw, &list) != nil {
			continue
		}
		dec := make([]map[string]string, len(list))
		for i, id := range list {
			dec[i] = map[string]string{"id": id}
			if cidr, ok := byID[id]; ok {
				dec[i]["cidr"] = cidr
			}
		}
		b, _ := json.Marshal(dec)
		n.vals["subnets"] = b
	}
	return nil
}

// formatSubnets prints decorated subnets as "<id> <cidr>" lines.
func formatSubnets(raw json.RawMessage) string {
	var subs []struct{ ID, Cidr string }
	if json.Unmarshal(raw, &subs) != nil {
		return cellText(raw)
	}
	lines := make([]string, len(subs))
	for i, s := range subs {
		lines[i] = strings.TrimSpace(s.ID + " " + s.Cidr)
	}
	return strings.Join(lines, "\n")
}

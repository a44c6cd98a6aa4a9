package cli

import (
	"strconv"
	"strings"
)

// Attributes whose value-spec strings are sent as JSON ints, bools or
// dicts. neutron sends everything as strings and the server converts;
// typed values are friendlier to strict servers. Anything not parseable
// stays a string so the server's validation message reaches the user.
func specKind(key string) byte {
	switch key {
	case "protocol_port", "weight", "connection_limit", "delay", "timeout",
		"max_retries", "ip_version", "mtu", "prefixlen":
		return 'i'
	case "admin_state_up", "router:external", "shared", "enable_dhcp",
		"port_security_enabled", "vlan_transparent":
		return 'b'
	case "session_persistence":
		return 'd'
	}
	return 's'
}

// coerce converts a string for key according to specKind.
func coerce(key, v string) any {
	switch specKind(key) {
	case 'i':
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	case 'b':
		switch strings.ToLower(v) {
		case "true":
			return true
		case "false":
			return false
		}
	case 'd':
		if strings.Contains(v, "=") {
			return parseKV(v)
		}
	}
	return v
}

// parseKV reads neutron's "k1=v1,k2=v2" dict syntax.
func parseKV(s string) map[string]any {
	out := map[string]any{}
	for _, part := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(part, "=")
		if k = strings.TrimSpace(k); k != "" {
			out[k] = v
		}
	}
	return out
}

type specArg struct {
	typ    string
	list   bool
	clear  bool
	values []string
	eq     bool // given as --key=value
}

// parseValueSpecs implements neutron's trailing "--key value" syntax:
// `--key value`, `--key=value`, `--key` (true), `--key v1 v2` (list),
// `--key type=int|bool|dict|str value`, `--key list=true v`,
// `--key action=clear` (null). Keys keep ':' and turn '-' into '_'.
func parseValueSpecs(specs []string) (map[string]any, []string, error) {
	if len(specs) > 0 && specs[0] == "--" {
		specs = specs[1:]
	}
	args := map[string]*specArg{}
	var order []string
	var cur *specArg
	bad := func() error { return usagef("Invalid values_specs %s", strings.Join(specs, " ")) }
	for _, item := range specs {
		if strings.HasPrefix(item, "---") {
			return nil, nil, bad()
		}
		if strings.HasPrefix(item, "--") {
			name, val, eq := strings.Cut(item[2:], "=")
			key := strings.ReplaceAll(name, "-", "_")
			if key == "" {
				return nil, nil, bad()
			}
			if _, dup := args[key]; dup {
				return nil, nil, usagef("Duplicated options %s", strings.Join(specs, " "))
			}
			cur = &specArg{eq: eq}
			if eq {
				cur.values = []string{val}
			}
			args[key] = cur
			order = append(order, key)
			continue
		}
		if cur == nil {
			return nil, nil, bad()
		}
		if t, ok := strings.CutPrefix(item, "type="); ok && cur.typ == "" {
			switch t {
			case "int", "bool", "dict", "str":
				cur.typ = t
				continue
			}
			// Not a type name: a value such as "type=SOURCE_IP" for a dict.
		}
		switch item {
		case "list=true":
			cur.list = true
			continue
		case "action=clear":
			cur.clear = true
			continue
		}
		if cur.eq {
			return nil, nil, bad()
		}
		cur.values = append(cur.values, item)
	}
	out := map[string]any{}
	for _, key := range order {
		a := args[key]
		conv := func(v string) (any, error) {
			switch a.typ {
			case "int":
				n, err := strconv.Atoi(v)
				if err != nil {
					return nil, usagef("invalid int value: '%s'", v)
				}
				return n, nil
			case "bool":
				return strings.ToLower(v) == "true", nil
			case "dict":
				return parseKV(v), nil
			case "str":
				return v, nil
			}
			return coerce(key, v), nil
		}
		switch {
		case a.clear && len(a.values) == 0:
			out[key] = nil
		case len(a.values) == 0:
			if a.typ != "" || a.list {
				return nil, nil, bad()
			}
			out[key] = true
		case len(a.values) == 1 && !a.list:
			v, err := conv(a.values[0])
			if err != nil {
				return nil, nil, err
			}
			out[key] = v
		default:
			list := make([]any, 0, len(a.values))
			for _, s := range a.values {
				v, err := conv(s)
				if err != nil {
					return nil, nil, err
				}
				list = append(list, v)
			}
			out[key] = list
		}
	}
	return out, order, nil
}

// specsToQuery turns value specs into list filters (`-- --name=x`).
func specsToQuery(specs map[string]any, order []string) []param {
	var ps []param
	add := func(k string, v any) {
		switch t := v.(type) {
		case nil:
		case bool:
			ps = append(ps, param{k, pyBool(t)})
		case int:
			ps = append(ps, param{k, strconv.Itoa(t)})
		case string:
			ps = append(ps, param{k, t})
		}
	}
	for _, k := range order {
		if list, ok := specs[k].([]any); ok {
			for _, v := range list {
				add(k, v)
			}
			continue
		}
		add(k, specs[k])
	}
	return ps
}

func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

package cli

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// fieldKind says how a flag or positional becomes a body attribute.
type fieldKind int

const (
	fString    fieldKind = iota // sent as given
	fInt                        // JSON int when it parses, else the string (server validates)
	fTrue                       // boolean flag: attribute true when given
	fFalse                      // boolean flag: attribute false when given
	fNull                       // boolean flag: attribute null when given (--no-gateway)
	fAdminDown                  // --admin-state-down: admin_state_up always sent
	fRef                        // name or id resolved through ref
	fKV                         // one k=v,k=v dict
	fKVList                     // repeatable k=v,k=v, a list of dicts
	fList                       // repeatable, a list of strings
	fNumber                     // JSON number when it parses (http_version 1.1), else the string
)

// field maps one flag (or positional, when pos is set) to a body key.
type field struct {
	flag     string // long flag name without dashes
	pos      string // positional metavar instead of a flag
	key      string
	kind     fieldKind
	ref      *resource
	required bool
	optional bool   // for positionals
	def      string // sent when the flag is absent (e.g. ip_version 4)
	choices  []string
	help     string
}

func defineFields(fs *pflag.FlagSet, fields []field) {
	for _, f := range fields {
		if f.pos != "" {
			continue
		}
		help := f.help
		if len(f.choices) > 0 {
			help += " {" + strings.Join(f.choices, ",") + "}"
		}
		if f.required {
			help += " (required)"
		}
		switch f.kind {
		case fTrue, fFalse, fNull, fAdminDown:
			fs.Bool(f.flag, false, help)
		case fKVList, fList:
			fs.StringArray(f.flag, nil, help)
		default:
			fs.String(f.flag, f.def, help)
		}
	}
}

func positionals(fields []field) []argSpec {
	var out []argSpec
	for _, f := range fields {
		if f.pos != "" {
			out = append(out, argSpec{name: f.pos, optional: f.optional})
		}
	}
	return out
}

// buildBody turns the parsed flags and positionals into attributes,
// resolving names, checking required flags and choices like argparse.
func buildBody(e *env, fields []field) (map[string]any, error) {
	var missing []string
	for _, f := range fields {
		if f.required && f.pos == "" && !e.set(f.flag) {
			missing = append(missing, "--"+f.flag)
		}
	}
	if len(missing) > 0 {
		return nil, usagef("the following arguments are required: %s", strings.Join(missing, ", "))
	}
	body := map[string]any{}
	posIdx := 0
	for _, f := range fields {
		var val string
		given := false
		if f.pos != "" {
			if posIdx < len(e.args) {
				val, given = e.args[posIdx], true
			}
			posIdx++
		} else {
			val, given = e.str(f.flag)
			if !given && f.def != "" {
				val, given = f.def, true
			}
		}
		if f.kind == fAdminDown {
			body[f.key] = !e.set(f.flag)
			continue
		}
		if !given {
			continue
		}
		if len(f.choices) > 0 && !contains(f.choices, val) {
			return nil, usagef("argument --%s: invalid choice: '%s' (choose from %s)", f.flag, val, quoteList(f.choices))
		}
		switch f.kind {
		case fString:
			body[f.key] = val
		case fInt:
			if n, err := strconv.Atoi(val); err == nil {
				body[f.key] = n
			} else {
				body[f.key] = val
			}
		case fNumber:
			if _, err := strconv.ParseFloat(val, 64); err == nil {
				body[f.key] = json.Number(val)
			} else {
				body[f.key] = val
			}
		case fTrue:
			body[f.key] = true
		case fFalse:
			body[f.key] = false
		case fNull:
			body[f.key] = nil
		case fRef:
			id, err := f.ref.findID(e.ctx, e.client(f.ref), val)
			if err != nil {
				return nil, err
			}
			body[f.key] = id
		case fKV:
			body[f.key] = parseKV(val)
		case fKVList:
			var list []any
			for _, s := range e.strs(f.flag) {
				list = append(list, parseKV(s))
			}
			body[f.key] = list
		case fList:
			var list []any
			for _, s := range e.strs(f.flag) {
				list = append(list, s)
			}
			body[f.key] = list
		}
	}
	return body, nil
}

// mergeSpecs adds the trailing value specs to body.
func mergeSpecs(e *env, body map[string]any) error {
	if len(e.specs) == 0 {
		return nil
	}
	extra, _, err := parseValueSpecs(e.specs)
	if err != nil {
		return err
	}
	for k, v := range extra {
		body[k] = v
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func quoteList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = fmt.Sprintf("'%s'", s)
	}
	return strings.Join(q, ", ")
}

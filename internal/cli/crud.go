package cli

import (
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// tenantField is the --tenant-id every neutron create command has.
func tenantField() field {
	return field{flag: "tenant-id", key: "tenant_id", help: "the owner tenant ID"}
}

// createVerb is neutron's CreateCommand: POST the body built from fields
// (plus value specs) and print the returned object.
func createVerb(r *resource, name, short string, fields []field) *verb {
	fields = append(append([]field(nil), fields...), tenantField())
	return &verb{
		name: name, short: short, args: positionals(fields), specs: true, output: true,
		flags: func(fs *pflag.FlagSet) { defineFields(fs, fields) },
		run: func(e *env) error {
			body, err := buildBody(e, fields)
			if err != nil {
				return err
			}
			if err := mergeSpecs(e, body); err != nil {
				return err
			}
			obj, err := r.create(e.ctx, e.cl, body)
			if err != nil {
				return err
			}
			return printCreated(e, r, obj)
		},
	}
}

func printCreated(e *env, r *resource, obj *object) error {
	if e.fmt.format == "table" {
		e.printf("Created a new %s:\n", r.singular)
	}
	return emitOne(e.out, obj, e.fmt)
}

// listOptions tune a list verb.
type listOptions struct {
	// latest adds --limit N: the first N the server lists (for the event
	// history, newest first), without following further pages.
	latest     bool
	columns    []string
	formatters map[string]cellFormatter
	// decorate may enrich the items before printing (net-list subnets).
	decorate func(e *env, items []*object) error
}

func addListFlags(fs *pflag.FlagSet) {
	fs.BoolP("show-details", "D", false, "show detailed information")
	fs.StringArrayP("field", "F", nil, "specify the field(s) to be returned by server, can be repeated")
}

// listVerb is neutron's ListCommand.
func listVerb(r *resource, name, short string, lo listOptions) *verb {
	flags := addListFlags
	if lo.latest {
		flags = func(fs *pflag.FlagSet) {
			addListFlags(fs)
			fs.Int("limit", 0, "show only the first N (the newest); 0: all")
		}
	}
	return &verb{
		name: name, short: short, specs: true, output: true,
		flags: flags,
		run: func(e *env) error {
			var query []param
			pages := maxPages
			if lo.latest {
				if n, _ := e.fs.GetInt("limit"); n > 0 {
					query, pages = append(query, param{"limit", strconv.Itoa(n)}), 0
				}
			}
			for _, f := range e.strs("field") {
				query = append(query, param{"fields", f})
			}
			if e.set("show-details") {
				query = append(query, param{"verbose", "True"})
			}
			if len(e.specs) > 0 {
				filters, order, err := parseValueSpecs(e.specs)
				if err != nil {
					return err
				}
				query = append(query, specsToQuery(filters, order)...)
			}
			items, err := r.listPages(e.ctx, e.cl, query, pages)
			if err != nil {
				return err
			}
			if lo.decorate != nil {
				if err := lo.decorate(e, items); err != nil {
					return err
				}
			}
			fmts := lo.formatters
			if e.fmt.format != "table" {
				fmts = nil
			}
			return emitList(e.out, items, lo.columns, fmts, e.fmt)
		},
	}
}

// showVerb is neutron's ShowCommand; allowNames=false skips the lookup.
func showVerb(r *resource, name, short string, allowNames bool) *verb {
	return &verb{
		name: name, short: short, args: []argSpec{{name: strings.ToUpper(r.singular)}}, output: true,
		flags: addListFlags,
		run: func(e *env) error {
			id := e.args[0]
			if allowNames {
				var err error
				if id, err = r.findID(e.ctx, e.cl, id); err != nil {
					return err
				}
			}
			var query []param
			if e.set("show-details") {
				query = []param{{"verbose", "True"}}
			}
			if fields := e.strs("field"); len(fields) > 0 {
				query = nil
				for _, f := range fields {
					query = append(query, param{"fields", f})
				}
			}
			obj, err := r.show(e.ctx, e.cl, id, query)
			if err != nil {
				return err
			}
			return emitOne(e.out, obj, e.fmt)
		},
	}
}

// updateVerb is neutron's UpdateCommand: known fields plus value specs,
// PUT to the resolved id, print "Updated <res>: <arg>".
func updateVerb(r *resource, name, short string, allowNames bool, fields []field) *verb {
	return &verb{
		name: name, short: short, args: []argSpec{{name: strings.ToUpper(r.singular)}}, specs: true,
		flags: func(fs *pflag.FlagSet) { defineFields(fs, fields) },
		run: func(e *env) error {
			body, err := buildBody(e, fields)
			if err != nil {
				return err
			}
			if err := mergeSpecs(e, body); err != nil {
				return err
			}
			if len(body) == 0 {
				return usagef("Must specify new values to update %s", r.singular)
			}
			var id string
			if allowNames {
				id, err = r.findID(e.ctx, e.cl, e.args[0])
			} else {
				id, err = r.findByID(e.ctx, e.cl, e.args[0])
			}
			if err != nil {
				return err
			}
			if err := r.update(e.ctx, e.cl, id, body); err != nil {
				return err
			}
			e.printf("Updated %s: %s\n", r.singular, e.args[0])
			return nil
		},
	}
}

// deleteVerb is neutron's bulk DeleteCommand: every argument is tried,
// successes are reported, then the not-found and ambiguous ones.
func deleteVerb(r *resource, name, short string, allowNames bool) *verb {
	return &verb{
		name: name, short: short, args: []argSpec{{name: strings.ToUpper(r.singular), variadic: true}},
		run: func(e *env) error {
			var deleted, missing, multiple []string
			for _, arg := range e.args {
				err := deleteOne(e, r, arg, allowNames)
				switch {
				case err == nil:
					deleted = append(deleted, arg)
				case isNotFound(err):
					missing = append(missing, arg)
				case isAmbiguous(err):
					multiple = append(multiple, arg)
				default:
					if len(deleted) > 0 {
						e.printf("Deleted %s(s): %s\n", r.singular, strings.Join(deleted, ", "))
					}
					return err
				}
			}
			if len(deleted) > 0 {
				e.printf("Deleted %s(s): %s\n", r.singular, strings.Join(deleted, ", "))
			}
			var msgs []string
			if len(missing) > 0 {
				msgs = append(msgs, "Unable to find "+r.singular+"(s) with id(s) '"+strings.Join(missing, ", ")+"'.")
			}
			if len(multiple) > 0 {
				msgs = append(msgs, "Multiple "+r.singular+"(s) matches found for name(s) '"+strings.Join(multiple, ", ")+"'. Please use an ID to be more specific.")
			}
			if len(msgs) > 0 {
				return plainError(strings.Join(msgs, "\n"))
			}
			return nil
		},
	}
}

func deleteOne(e *env, r *resource, arg string, allowNames bool) error {
	id := arg
	if allowNames {
		var err error
		if id, err = r.findID(e.ctx, e.cl, arg); err != nil {
			return err
		}
	}
	return r.remove(e.ctx, e.cl, id)
}

// plainError is a runtime failure with a ready-made message.
type plainError string

func (p plainError) Error() string { return string(p) }

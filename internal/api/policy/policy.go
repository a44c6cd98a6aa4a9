// Package policy decides who may do what, for every API of the server, from
// one table (policy.md, embedded; docs/011 shows the same table): rules
// name roles and a scope, access levels name rules, operations name an
// access level. It follows Octavia's default policy with Keystone's default
// roles honoured beside the load-balancer_* ones (as Octavia does while
// enforce_new_defaults is off), and Neutron's defaults for the networking
// resources.
//
// A decision is a Grant: which projects' objects the caller may act on for
// one operation. Handlers ask the grant about each object's project, so
// no handler decides by role.
package policy

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"

	"lbaas/internal/api/auth"
)

//go:embed policy.md
var tableText string

// Table returns the policy table as the docs show it.
func Table() string { return tableText }

type rule struct {
	roles []string
	all   bool
}

var (
	rules      = map[string]rule{}
	access     = map[string][]string{}
	operations = map[string]string{}
)

func init() {
	if err := parse(tableText); err != nil {
		panic("policy table: " + err.Error())
	}
}

// parse reads the three markdown tables of policy.md, told apart by their
// header rows.
func parse(text string) error {
	var table string
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			table = ""
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if strings.HasPrefix(cells[0], "---") {
			continue
		}
		if table == "" {
			table = cells[0]
			continue
		}
		if len(cells) < 2 {
			return fmt.Errorf("line %d: too few cells", n+1)
		}
		switch table {
		case "Rule":
			if len(cells) != 3 || (cells[2] != "all" && cells[2] != "own") {
				return fmt.Errorf("line %d: a rule has roles and a scope of all or own", n+1)
			}
			rules[cells[0]] = rule{roles: list(cells[1]), all: cells[2] == "all"}
		case "Access":
			for _, r := range list(cells[1]) {
				if _, ok := rules[r]; !ok {
					return fmt.Errorf("line %d: access %s names rule %q, which the rules table lacks", n+1, cells[0], r)
				}
			}
			access[cells[0]] = list(cells[1])
		case "Operation":
			if _, ok := access[cells[1]]; !ok {
				return fmt.Errorf("line %d: operation %s names access %q, which the access table lacks", n+1, cells[0], cells[1])
			}
			if _, dup := operations[cells[0]]; dup {
				return fmt.Errorf("line %d: operation %s twice", n+1, cells[0])
			}
			operations[cells[0]] = cells[1]
		default:
			return fmt.Errorf("line %d: unknown table %q", n+1, table)
		}
	}
	if len(operations) == 0 {
		return fmt.Errorf("no operations")
	}
	return nil
}

func list(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// Known reports whether op is in the table; routes are registered only
// with known operations (a typo panics at start, in every test).
func Known(op string) bool {
	_, ok := operations[op]
	return ok
}

// Operations lists the table's operations, sorted.
func Operations() []string {
	out := make([]string, 0, len(operations))
	for op := range operations {
		out = append(out, op)
	}
	slices.Sort(out)
	return out
}

// Grant is what a caller may do for one operation: act on every project's
// objects, on its own project's, or on none.
type Grant struct {
	all     bool
	project string
}

// Of decides op for c. A node credential holds no roles, so it is granted
// nothing here (the agent API admits it for its own node by name).
func Of(c auth.Caller, op string) Grant {
	acc, ok := operations[op]
	if !ok {
		panic("policy: unknown operation " + op)
	}
	var g Grant
	for _, name := range access[acc] {
		r := rules[name]
		if !slices.ContainsFunc(r.roles, c.HasRole) {
			continue
		}
		if r.all {
			return Grant{all: true}
		}
		if c.Project != "" {
			g.project = c.Project
		}
	}
	return g
}

// Allowed reports whether c may do op on an object of project.
func Allowed(c auth.Caller, op, project string) bool { return Of(c, op).Covers(project) }

// Any reports whether the grant covers any project: a caller without it is
// refused before the request is looked at.
func (g Grant) Any() bool { return g.all || g.project != "" }

// All reports whether the grant covers every project.
func (g Grant) All() bool { return g.all }

// Covers reports whether the grant covers objects of project.
func (g Grant) Covers(project string) bool {
	return g.all || (g.project != "" && g.project == project)
}

package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/spf13/pflag"
)

// identityVerbs are the openstack CLI's `project`, `user` and `role`
// commands, with its arguments and its output (a Field/Value table for one
// object, ID/Name tables for lists, nothing after add, remove, set and
// delete), on the identity endpoint. Names or ids are accepted wherever
// the openstack CLI accepts them. Passwords are read from a prompt,
// standard input or a file, never taken from the command line.
func identityVerbs() []*verb {
	return []*verb{
		projectCreateVerb(),
		projectListVerb(),
		ksShowVerb([]string{"project"}, ksProjects, "Show a project"),
		ksDeleteVerb([]string{"project"}, ksProjects, "Delete projects (their role assignments and tokens go with them)"),

		userCreateVerb(),
		userListVerb(),
		ksShowVerb([]string{"user"}, ksUsers, "Show a user"),
		userSetVerb(),
		ksDeleteVerb([]string{"user"}, ksUsers, "Delete users (their role assignments, credentials and tokens go with them)"),

		roleChangeVerb("add", "Grant a user a role on a project", http.MethodPut),
		roleChangeVerb("remove", "Take a role on a project from a user (and revoke the user's tokens on it)", http.MethodDelete),
		roleListVerb(),
		ksShowVerb([]string{"role"}, ksRoles, "Show a role"),
		roleAssignmentListVerb(),
	}
}

func addOrShowFlag(fs *pflag.FlagSet, what string) {
	fs.Bool("or-show", false, "show the existing "+what+" of that name instead of failing")
}

func addDomainFlag(fs *pflag.FlagSet, what string) {
	fs.String("domain", "", "domain (name or id) of the "+what+"; there is one, Default")
}

// domainOf resolves --domain into body["domain_id"].
func (e *env) domainOf(body map[string]any) error {
	d, ok := e.str("domain")
	if !ok {
		return nil
	}
	id, err := e.ksID(ksDomains, d)
	if err != nil {
		return err
	}
	body["domain_id"] = id
	return nil
}

// ksCreate POSTs one object; with --or-show an existing one of that name
// is shown instead.
func (e *env) ksCreate(k ksKind, body map[string]any) (obj *object, existed bool, err error) {
	resp, err := e.ks(http.MethodPost, "/"+k.plural, nil, map[string]any{k.singular: body})
	if err != nil {
		if isConflict(err) && e.set("or-show") {
			obj, err = e.ksFind(k, fmt.Sprint(body["name"]))
			return obj, true, err
		}
		return nil, false, err
	}
	obj, err = ksObject(resp, k.singular)
	return obj, false, err
}

func projectCreateVerb() *verb {
	return &verb{
		group: []string{"project"}, name: "create", short: "Create a project",
		args: []argSpec{{name: "NAME"}}, output: true,
		flags: func(fs *pflag.FlagSet) {
			fs.String("description", "", "description of the project")
			addDomainFlag(fs, "project")
			addOrShowFlag(fs, "project")
		},
		run: func(e *env) error {
			body := map[string]any{"name": e.args[0]}
			if d, ok := e.str("description"); ok {
				body["description"] = d
			}
			if err := e.domainOf(body); err != nil {
				return err
			}
			obj, _, err := e.ksCreate(ksProjects, body)
			if err != nil {
				return err
			}
			return emitOne(e.out, obj, e.fmt)
		},
	}
}

// assignmentsOf lists the role assignments matching query.
func (e *env) assignmentsOf(query []param) ([]ksAssignment, error) {
	resp, err := e.ks(http.MethodGet, "/role_assignments", query, nil)
	if err != nil {
		return nil, err
	}
	var out []ksAssignment
	if err := json.Unmarshal(resp["role_assignments"], &out); err != nil {
		return nil, fmt.Errorf("the server's response has no valid \"role_assignments\" list: %v", err)
	}
	return out, nil
}

type ksRef struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Domain *struct {
		Name string `json:"name"`
	} `json:"domain"`
}

// label is the ref as `role assignment list --names` shows it: name@domain.
func (r ksRef) label(names, withDomain bool) string {
	if !names || r.Name == "" {
		return r.ID
	}
	if withDomain && r.Domain != nil && r.Domain.Name != "" {
		return r.Name + "@" + r.Domain.Name
	}
	return r.Name
}

type ksAssignment struct {
	Role  ksRef `json:"role"`
	User  ksRef `json:"user"`
	Scope struct {
		Project ksRef `json:"project"`
	} `json:"scope"`
}

// assignedTo reads the list filter flag (a name or id of coll): nil when
// it is not given, else the ids pick finds in the role assignments whose
// key is that object's id (the projects of a user, the users of a project).
func (e *env) assignedTo(flag string, coll ksKind, key string, pick func(ksAssignment) string) (map[string]bool, error) {
	ref, ok := e.str(flag)
	if !ok {
		return nil, nil
	}
	id, err := e.ksID(coll, ref)
	if err != nil {
		return nil, err
	}
	as, err := e.assignmentsOf([]param{{key, id}})
	if err != nil {
		return nil, err
	}
	keep := map[string]bool{}
	for _, a := range as {
		keep[pick(a)] = true
	}
	return keep, nil
}

func sortByName(items []*object) {
	sort.SliceStable(items, func(i, j int) bool { return items[i].str("name") < items[j].str("name") })
}

func projectListVerb() *verb {
	return &verb{
		group: []string{"project"}, name: "list", short: "List projects", output: true,
		flags: func(fs *pflag.FlagSet) {
			fs.String("user", "", "only the projects this user (name or id) has a role on")
			fs.Bool("long", false, "list more fields")
		},
		run: func(e *env) error {
			keep, err := e.assignedTo("user", ksUsers, "user.id", func(a ksAssignment) string { return a.Scope.Project.ID })
			if err != nil {
				return err
			}
			items, err := e.ksList(ksProjects, nil)
			if err != nil {
				return err
			}
			sortByName(items)
			long := e.set("long")
			cols := []string{"ID", "Name"}
			if long {
				cols = append(cols, "Domain ID", "Description", "Enabled")
			}
			var rows []*object
			for _, p := range items {
				if keep != nil && !keep[p.str("id")] {
					continue
				}
				if long {
					enabled, _ := p.get("enabled")
					rows = append(rows, ksRow("ID", p.str("id"), "Name", p.str("name"), "Domain ID", p.str("domain_id"),
						"Description", p.str("description"), "Enabled", enabled))
				} else {
					rows = append(rows, ksRow("ID", p.str("id"), "Name", p.str("name")))
				}
			}
			return emitList(e.out, rows, cols, nil, e.fmt)
		},
	}
}

func ksShowVerb(group []string, k ksKind, short string) *verb {
	return &verb{
		group: group, name: "show", short: short, args: []argSpec{{name: upper(k.singular)}}, output: true,
		run: func(e *env) error {
			obj, err := e.ksFind(k, e.args[0])
			if err != nil {
				return err
			}
			return emitOne(e.out, obj, e.fmt)
		},
	}
}

// ksDeleteVerb deletes every argument and, like the openstack CLI, fails
// at the end saying how many could not be deleted.
func ksDeleteVerb(group []string, k ksKind, short string) *verb {
	return &verb{
		group: group, name: "delete", short: short, args: []argSpec{{name: upper(k.singular), variadic: true}},
		run: func(e *env) error {
			failed := 0
			for _, arg := range e.args {
				id, err := e.ksID(k, arg)
				if err == nil {
					_, err = e.ks(http.MethodDelete, "/"+k.plural+"/"+pathEscape(id), nil, nil)
				}
				if err != nil {
					failed++
					fmt.Fprintf(e.errw, "Failed to delete %s with name or ID '%s': %v\n", k.singular, arg, err)
				}
			}
			if failed > 0 {
				return plainError(fmt.Sprintf("%d of %d %ss failed to delete.", failed, len(e.args), k.singular))
			}
			return nil
		},
	}
}

func addEnableFlags(fs *pflag.FlagSet, what string) {
	fs.Bool("enable", false, "enable the "+what+" (default)")
	fs.Bool("disable", false, "disable the "+what+": it can no longer log in")
}

// enabledFlag reads --enable/--disable: nil when neither is given.
func (e *env) enabledFlag() (*bool, error) {
	if err := exclusive(e, [2]string{"enable", "disable"}); err != nil {
		return nil, err
	}
	switch {
	case e.set("enable"):
		t := true
		return &t, nil
	case e.set("disable"):
		f := false
		return &f, nil
	}
	return nil, nil
}

const passwordRequired = "a password is required: give --" + flagPasswordPrompt + ", --" + flagPasswordStdin + " or --" + flagPasswordFile +
	" (users of this identity service log in with a password)"

func userCreateVerb() *verb {
	return &verb{
		group: []string{"user"}, name: "create", short: "Create a user with a password",
		args: []argSpec{{name: "NAME"}}, output: true,
		flags: func(fs *pflag.FlagSet) {
			addPasswordFlags(fs)
			fs.String("project", "", "default project (name or id) of the user: where its logins without a scope go (grant it a role there with role add)")
			addDomainFlag(fs, "user")
			addEnableFlags(fs, "user")
			addOrShowFlag(fs, "user")
		},
		run: func(e *env) error {
			enabled, err := e.enabledFlag()
			if err != nil {
				return err
			}
			if !passwordFlagGiven(e) {
				return usagef(passwordRequired)
			}
			body := map[string]any{"name": e.args[0]}
			if p, ok := e.str("project"); ok {
				id, err := e.ksID(ksProjects, p)
				if err != nil {
					return err
				}
				body["default_project_id"] = id
			}
			if err := e.domainOf(body); err != nil {
				return err
			}
			// The password is read once the references are known good, so
			// that a mistake does not cost a prompt.
			pw, _, err := e.password()
			if err != nil {
				return err
			}
			body["password"] = pw
			if enabled != nil {
				body["enabled"] = *enabled
			}
			obj, existed, err := e.ksCreate(ksUsers, body)
			if err != nil {
				return err
			}
			if got, ok := obj.get("enabled"); enabled != nil && !existed && ok && (scalarText(got, "") == "True") != *enabled {
				// A service that ignores "enabled" on create takes it in
				// an update.
				resp, err := e.ks(http.MethodPatch, "/users/"+pathEscape(obj.str("id")), nil, map[string]any{"user": map[string]any{"enabled": *enabled}})
				if err != nil {
					return err
				}
				if obj, err = ksObject(resp, "user"); err != nil {
					return err
				}
			}
			return emitOne(e.out, obj, e.fmt)
		},
	}
}

func passwordFlagGiven(e *env) bool {
	return e.set(flagPassword) || e.set(flagPasswordPrompt) || e.set(flagPasswordStdin) || e.set(flagPasswordFile)
}

func userListVerb() *verb {
	return &verb{
		group: []string{"user"}, name: "list", short: "List users", output: true,
		flags: func(fs *pflag.FlagSet) {
			fs.String("project", "", "only the users with a role on this project (name or id)")
			fs.Bool("long", false, "list more fields")
		},
		run: func(e *env) error {
			keep, err := e.assignedTo("project", ksProjects, "scope.project.id", func(a ksAssignment) string { return a.User.ID })
			if err != nil {
				return err
			}
			items, err := e.ksList(ksUsers, nil)
			if err != nil {
				return err
			}
			sortByName(items)
			long := e.set("long")
			cols := []string{"ID", "Name"}
			if long {
				cols = append(cols, "Project", "Domain", "Description", "Email", "Enabled")
			}
			var rows []*object
			for _, u := range items {
				if keep != nil && !keep[u.str("id")] {
					continue
				}
				if long {
					enabled, _ := u.get("enabled")
					rows = append(rows, ksRow("ID", u.str("id"), "Name", u.str("name"), "Project", u.str("default_project_id"),
						"Domain", u.str("domain_id"), "Description", u.str("description"), "Email", u.str("email"), "Enabled", enabled))
				} else {
					rows = append(rows, ksRow("ID", u.str("id"), "Name", u.str("name")))
				}
			}
			return emitList(e.out, rows, cols, nil, e.fmt)
		},
	}
}

func userSetVerb() *verb {
	return &verb{
		group: []string{"user"}, name: "set", short: "Change a user's password (which revokes its tokens) or enable or disable it",
		args: []argSpec{{name: "USER"}},
		flags: func(fs *pflag.FlagSet) {
			addPasswordFlags(fs)
			addEnableFlags(fs, "user")
		},
		run: func(e *env) error {
			enabled, err := e.enabledFlag()
			if err != nil {
				return err
			}
			if enabled == nil && !passwordFlagGiven(e) {
				return usagef("nothing to set: give --%s, --%s, --%s, --enable or --disable", flagPasswordPrompt, flagPasswordStdin, flagPasswordFile)
			}
			id, err := e.ksID(ksUsers, e.args[0])
			if err != nil {
				return err
			}
			body := map[string]any{}
			if pw, given, err := e.password(); err != nil {
				return err
			} else if given {
				body["password"] = pw
			}
			if enabled != nil {
				body["enabled"] = *enabled
			}
			_, err = e.ks(http.MethodPatch, "/users/"+pathEscape(id), nil, map[string]any{"user": body})
			return err
		},
	}
}

// roleChangeVerb is `role add` and `role remove`: --user U --project P ROLE.
func roleChangeVerb(name, short, method string) *verb {
	return &verb{
		group: []string{"role"}, name: name, short: short, args: []argSpec{{name: "ROLE"}},
		flags: func(fs *pflag.FlagSet) {
			fs.String("user", "", "the user (name or id)")
			fs.String("project", "", "the project (name or id)")
		},
		run: func(e *env) error {
			var missing []string
			for _, f := range []string{"user", "project"} {
				if !e.set(f) {
					missing = append(missing, "--"+f)
				}
			}
			if len(missing) > 0 {
				return usagef("the following arguments are required: %s", strings.Join(missing, ", "))
			}
			u, _ := e.str("user")
			p, _ := e.str("project")
			userID, err := e.ksID(ksUsers, u)
			if err != nil {
				return err
			}
			projectID, err := e.ksID(ksProjects, p)
			if err != nil {
				return err
			}
			roleID, err := e.ksID(ksRoles, e.args[0])
			if err != nil {
				return err
			}
			_, err = e.ks(method, "/projects/"+pathEscape(projectID)+"/users/"+pathEscape(userID)+"/roles/"+pathEscape(roleID), nil, nil)
			return err
		},
	}
}

func roleListVerb() *verb {
	return &verb{
		group: []string{"role"}, name: "list", short: "List roles", output: true,
		run: func(e *env) error {
			items, err := e.ksList(ksRoles, nil)
			if err != nil {
				return err
			}
			sortByName(items)
			rows := make([]*object, 0, len(items))
			for _, r := range items {
				rows = append(rows, ksRow("ID", r.str("id"), "Name", r.str("name")))
			}
			return emitList(e.out, rows, []string{"ID", "Name"}, nil, e.fmt)
		},
	}
}

func roleAssignmentListVerb() *verb {
	return &verb{
		group: []string{"role", "assignment"}, name: "list", short: "List role assignments", output: true,
		flags: func(fs *pflag.FlagSet) {
			fs.String("user", "", "only this user's (name or id)")
			fs.String("project", "", "only on this project (name or id)")
			fs.String("role", "", "only of this role (name or id)")
			fs.Bool("names", false, "show names instead of ids")
		},
		run: func(e *env) error {
			var query []param
			for _, f := range []struct {
				flag, key string
				kind      ksKind
			}{{"user", "user.id", ksUsers}, {"project", "scope.project.id", ksProjects}, {"role", "role.id", ksRoles}} {
				v, ok := e.str(f.flag)
				if !ok {
					continue
				}
				id, err := e.ksID(f.kind, v)
				if err != nil {
					return err
				}
				query = append(query, param{f.key, id})
			}
			names := e.set("names")
			if names {
				query = append(query, param{"include_names", "True"})
			}
			as, err := e.assignmentsOf(query)
			if err != nil {
				return err
			}
			rows := make([]*object, 0, len(as))
			for _, a := range as {
				rows = append(rows, ksRow("Role", a.Role.label(names, false), "User", a.User.label(names, true), "Group", "",
					"Project", a.Scope.Project.label(names, true), "Domain", "", "System", "", "Inherited", false))
			}
			return emitList(e.out, rows, []string{"Role", "User", "Group", "Project", "Domain", "System", "Inherited"}, nil, e.fmt)
		},
	}
}

package cli

import (
	"strings"

	"github.com/spf13/cobra"
)

// Register adds every client verb (net-*, subnet-*, port-*, floatingip-*,
// lb-*, cert-*, si-*, and the openstack-style loadbalancer, network,
// subnet, floating ip, project, user and role groups) to root, plus the
// persistent --os-url/--os-token/--os-load-balancer-endpoint/--os-auth-url
// flags. Each verb prints its own errors; main should exit with
// ExitCode(err) and print err only when !Reported(err).
func Register(root *cobra.Command) {
	RegisterWithOptions(root, Options{})
}

// RegisterWithOptions is Register with an injected environment and HTTP
// client (tests).
func RegisterWithOptions(root *cobra.Command, opts Options) {
	addConnectionFlags(root.PersistentFlags())
	c := newCatalog()
	var verbs []*verb
	verbs = append(verbs, networkVerbs(c)...)
	verbs = append(verbs, lbVerbs(c)...)
	verbs = append(verbs, extensionVerbs(c)...)
	verbs = append(verbs, octaviaVerbs(c)...)
	verbs = append(verbs, openstackNetworkVerbs(c)...)
	verbs = append(verbs, identityVerbs()...)
	groups := map[string]*cobra.Command{}
	for _, v := range verbs {
		parent := root
		for i := range v.group {
			key := strings.Join(v.group[:i+1], " ")
			g, ok := groups[key]
			if !ok {
				g = &cobra.Command{Use: v.group[i], Short: groupShort(key)}
				groups[key] = g
				parent.AddCommand(g)
			}
			parent = g
		}
		parent.AddCommand(v.build(opts))
	}
}

// groupShort describes the openstack-style command groups.
func groupShort(path string) string {
	switch path {
	case "loadbalancer":
		return "Octavia v2 load balancers and their listeners, pools, members and health monitors"
	case "network", "subnet", "floating", "floating ip":
		return "openstack-style " + path + " commands on the Neutron endpoint"
	case "project", "user", "role":
		return "openstack-style " + path + " commands on the identity endpoint (--os-auth-url)"
	case "role assignment":
		return "Role assignments of users on projects"
	}
	return path + " commands"
}

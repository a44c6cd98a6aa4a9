package cli

import "github.com/spf13/cobra"

// Register adds every client verb (net-*, subnet-*, port-*, floatingip-*,
// lb-*, cert-*, si-*) to root, plus the persistent --os-url/--os-token
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
	for _, v := range verbs {
		root.AddCommand(v.build(opts))
	}
}

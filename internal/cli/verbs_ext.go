package cli

import (
	"os"
	"strings"

	"github.com/spf13/pflag"
)

// extensionVerbs are the lbaas-specific verbs: TLS certificates and the
// read-only view of service instances (the HAProxy pairs).
func extensionVerbs(c *catalog) []*verb {
	return []*verb{
		certCreateVerb(c.certificates),
		listVerb(c.certificates, "cert-list", "List TLS certificates", listOptions{
			columns: []string{"id", "name", "subject", "not_after", "fingerprint_sha256"},
		}),
		showVerb(c.certificates, "cert-show", "Show a TLS certificate (never its key)", true),
		deleteVerb(c.certificates, "cert-delete", "Delete a TLS certificate", true),
		listVerb(c.serviceInstances, "si-list", "List service instances", listOptions{
			columns: []string{"id", "name", "status", "ha"},
		}),
		showVerb(c.serviceInstances, "si-show", "Show a service instance and its VMs", true),
		listVerb(c.agents, "agent-list", "List the nodes' agents", listOptions{
			columns: []string{"id", "agent_type", "host", "availability_zone", "alive", "admin_state_up", "binary"},
		}),
		showVerb(c.agents, "agent-show", "Show a node's agent: roles, tunnel address, physical networks, configuration errors", false),
		listVerb(c.events, "event-list", "List the event history, newest first (--limit N for the latest N; filter after --: --loadbalancer_id, --type, --severity, --node, --trigger)", listOptions{
			latest:  true,
			columns: []string{"time", "severity", "type", "loadbalancer_id", "node", "message"},
		}),
		showVerb(c.events, "event-show", "Show one event", false),
		nodeAdminVerb(c.agents, "node-drain", false, "Drain a node: no new load balancer VMs go there, and its VMs move to other nodes one load balancer at a time (one failover window each)",
			"Draining node %s: its load balancers move off one at a time; `si-list` shows where they are\n"),
		nodeAdminVerb(c.agents, "node-enable", true, "Take a drained node back into service",
			"Node %s takes new load balancer VMs again\n"),
	}
}

// nodeAdminVerb sets a node's admin state (its agent's admin_state_up,
// which neutron agent-update --admin-state-down sets too).
func nodeAdminVerb(r *resource, name string, up bool, short, done string) *verb {
	return &verb{
		name: name, short: short, args: []argSpec{{name: "NODE"}},
		run: func(e *env) error {
			// Agents are named by their node, not by a UUID.
			id, err := r.idExists(e.ctx, e.cl, e.args[0])
			if err != nil {
				return err
			}
			if err := r.update(e.ctx, e.cl, id, map[string]any{"admin_state_up": up}); err != nil {
				return err
			}
			e.printf(done, id)
			return nil
		},
	}
}

// certCreateVerb uploads PEM files; the files are read client-side so
// the key never appears on a command line.
func certCreateVerb(r *resource) *verb {
	return &verb{
		name: "cert-create", short: "Upload a TLS certificate and its private key, or CA certificates (and a CRL)", output: true,
		flags: func(fs *pflag.FlagSet) {
			fs.String("name", "", "name of the certificate (required)")
			fs.String("cert-file", "", "PEM file with the certificate, or the CA certificates when there is no --key-file (required)")
			fs.String("key-file", "", "PEM file with the private key (none: a CA bundle, to check clients or members against)")
			fs.String("chain-file", "", "PEM file with intermediate certificates")
			fs.String("crl-file", "", "PEM file with a revocation list of the CA bundle")
		},
		run: func(e *env) error {
			var missing []string
			for _, f := range []string{"name", "cert-file"} {
				if !e.set(f) {
					missing = append(missing, "--"+f)
				}
			}
			if len(missing) > 0 {
				return usagef("the following arguments are required: %s", strings.Join(missing, ", "))
			}
			read := func(flag string) (string, error) {
				path, ok := e.str(flag)
				if !ok {
					return "", nil
				}
				b, err := os.ReadFile(path)
				return string(b), err
			}
			name, _ := e.str("name")
			body := map[string]any{"name": name}
			for flag, key := range map[string]string{"cert-file": "certificate", "key-file": "private_key", "chain-file": "intermediates", "crl-file": "crl"} {
				if !e.set(flag) {
					continue
				}
				v, err := read(flag)
				if err != nil {
					return err
				}
				body[key] = v
			}
			obj, err := r.create(e.ctx, e.cl, body)
			if err != nil {
				return err
			}
			return printCreated(e, r, obj)
		},
	}
}

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
	}
}

// certCreateVerb uploads PEM files; the files are read client-side so
// the key never appears on a command line.
func certCreateVerb(r *resource) *verb {
	return &verb{
		name: "cert-create", short: "Upload a TLS certificate and its private key", output: true,
		flags: func(fs *pflag.FlagSet) {
			fs.String("name", "", "name of the certificate (required)")
			fs.String("cert-file", "", "PEM file with the certificate (required)")
			fs.String("key-file", "", "PEM file with the private key (required)")
			fs.String("chain-file", "", "PEM file with intermediate certificates")
		},
		run: func(e *env) error {
			var missing []string
			for _, f := range []string{"name", "cert-file", "key-file"} {
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
			for flag, key := range map[string]string{"cert-file": "certificate", "key-file": "private_key", "chain-file": "intermediates"} {
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

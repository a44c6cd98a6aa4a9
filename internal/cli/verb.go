package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// verb describes one command; build turns it into a cobra command.
type verb struct {
	// group is the command path above the verb (["loadbalancer",
	// "listener"] for `loadbalancer listener create`); empty for the
	// neutron-style top-level verbs.
	group  []string
	name   string
	short  string
	args   []argSpec // positionals, in order
	specs  bool      // accepts trailing value specs
	output bool      // has the -f/-c formatter flags
	flags  func(fs *pflag.FlagSet)
	run    func(e *env) error
}

type argSpec struct {
	name     string
	optional bool
	variadic bool // one or more (bulk delete)
}

// env is what a running verb sees.
type env struct {
	ctx   context.Context
	cl    *client   // the Neutron endpoint
	lb    *client   // the Octavia endpoint
	id    *client   // the identity (Keystone v3) endpoint
	in    io.Reader // passwords of --password-prompt and --password-stdin
	out   io.Writer
	errw  io.Writer // progress of --wait
	poll  time.Duration
	fs    *pflag.FlagSet
	args  []string
	specs []string
	fmt   *outputOptions
}

func (e *env) str(name string) (string, bool) {
	f := e.fs.Lookup(name)
	if f == nil || !f.Changed {
		return "", false
	}
	return f.Value.String(), true
}

func (e *env) set(name string) bool {
	f := e.fs.Lookup(name)
	return f != nil && f.Changed
}

func (e *env) strs(name string) []string {
	v, _ := e.fs.GetStringArray(name)
	return v
}

// client is the endpoint that serves r: Octavia for the v2 resources,
// Neutron for everything else.
func (e *env) client(r *resource) *client {
	if r.octavia {
		return e.lb
	}
	return e.cl
}

func (e *env) printf(format string, a ...any) {
	fmt.Fprintf(e.out, format, a...)
}

func (v *verb) usage() string {
	parts := []string{v.name}
	if v.output {
		parts = append(parts, "[-f FORMAT] [-c COLUMN]")
	}
	for _, a := range v.args {
		switch {
		case a.variadic:
			parts = append(parts, a.name+" ["+a.name+" ...]")
		case a.optional:
			parts = append(parts, "["+a.name+"]")
		default:
			parts = append(parts, a.name)
		}
	}
	if v.specs {
		parts = append(parts, "[-- --key value ...]")
	}
	return strings.Join(parts, " ")
}

func (v *verb) checkArgs(pos []string) error {
	var missing []string
	n := 0
	for _, a := range v.args {
		switch {
		case a.variadic:
			if len(pos) <= n {
				missing = append(missing, a.name)
			}
			n = len(pos)
		case n < len(pos):
			n++
		case !a.optional:
			missing = append(missing, a.name)
		}
	}
	if len(missing) > 0 {
		return usagef("the following arguments are required: %s", strings.Join(missing, ", "))
	}
	if n < len(pos) {
		return usagef("unrecognized arguments: %s", strings.Join(pos[n:], " "))
	}
	return nil
}

func (v *verb) build(opts Options) *cobra.Command {
	out := &outputOptions{}
	cmd := &cobra.Command{
		Use:                v.usage(),
		Short:              v.short,
		DisableFlagParsing: true,
		// The verb prints its own error in neutron's words.
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	if v.output {
		addOutputFlags(cmd.Flags(), out)
	}
	if v.flags != nil {
		v.flags(cmd.Flags())
	}
	cmd.RunE = func(cmd *cobra.Command, argv []string) error {
		err := v.execute(cmd, argv, out, opts)
		if err == nil {
			return nil
		}
		e := finalize(err)
		if e.Code == ExitUsage {
			fmt.Fprintf(cmd.ErrOrStderr(), "usage: %s\n%s: error: %s\n", cmd.UseLine(), cmd.CommandPath(), e.Message)
		} else {
			fmt.Fprintln(cmd.ErrOrStderr(), e.Message)
		}
		return e
	}
	return cmd
}

func (v *verb) execute(cmd *cobra.Command, argv []string, out *outputOptions, opts Options) error {
	fs := pflag.NewFlagSet(v.name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.AddFlagSet(cmd.Flags())
	fs.AddFlagSet(cmd.InheritedFlags())
	if fs.Lookup("help") == nil {
		fs.BoolP("help", "h", false, "help for "+v.name)
	}
	pos, specs, err := splitArgv(fs, argv, v.specs)
	if err != nil {
		return err
	}
	if h, _ := fs.GetBool("help"); h {
		return cmd.Help()
	}
	if err := v.checkArgs(pos); err != nil {
		return err
	}
	if v.output {
		if err := out.validate(); err != nil {
			return err
		}
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	conn := resolveConnection(fs, opts)
	hc := opts.httpClient()
	e := &env{
		ctx:   ctx,
		cl:    &client{http: hc, conn: conn, agent: "lbaas-cli"},
		lb:    &client{http: hc, conn: resolveLBConnection(fs, opts, conn), agent: "lbaas-cli", octavia: true},
		id:    &client{http: hc, conn: resolveAuthConnection(fs, opts, conn), agent: "lbaas-cli", octavia: true}, // keystoneauth words errors as octaviaclient does
		in:    cmd.InOrStdin(),
		out:   cmd.OutOrStdout(),
		errw:  cmd.ErrOrStderr(),
		poll:  opts.pollInterval(),
		fs:    fs,
		args:  pos,
		specs: specs,
		fmt:   out,
	}
	return v.run(e)
}

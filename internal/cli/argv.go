package cli

import (
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// splitArgv separates a verb's raw arguments into flags we know (parsed
// into fs), positionals, and neutron-style value specs: everything after
// a bare "--" and any unknown "--key [values...]". Cobra's own parsing is
// off for the verbs because pflag cannot keep unknown flags' values.
func splitArgv(fs *pflag.FlagSet, argv []string, acceptSpecs bool) (positional, specs []string, err error) {
	var known []string
	isNumber := func(s string) bool {
		_, err := strconv.ParseFloat(s, 64)
		return err == nil
	}
	for i := 0; i < len(argv); i++ {
		tok := argv[i]
		switch {
		case tok == "--":
			specs = append(specs, argv[i+1:]...)
			i = len(argv)
		case strings.HasPrefix(tok, "--"):
			name, _, hasEq := strings.Cut(tok[2:], "=")
			if f := fs.Lookup(name); f != nil {
				known = append(known, tok)
				if !hasEq && f.NoOptDefVal == "" && i+1 < len(argv) {
					known = append(known, argv[i+1])
					i++
				}
				continue
			}
			specs = append(specs, tok)
			for !hasEq && i+1 < len(argv) && (!strings.HasPrefix(argv[i+1], "-") || isNumber(argv[i+1])) {
				specs = append(specs, argv[i+1])
				i++
			}
		case len(tok) > 1 && strings.HasPrefix(tok, "-") && !isNumber(tok):
			f := fs.ShorthandLookup(tok[1:2])
			if f == nil {
				return nil, nil, usagef("unrecognized arguments: %s", tok)
			}
			known = append(known, tok)
			if len(tok) == 2 && f.NoOptDefVal == "" && i+1 < len(argv) {
				known = append(known, argv[i+1])
				i++
			}
		default:
			positional = append(positional, tok)
		}
	}
	if len(specs) > 0 && !acceptSpecs {
		return nil, nil, usagef("unrecognized arguments: %s", strings.Join(specs, " "))
	}
	if err := fs.Parse(known); err != nil {
		return nil, nil, usagef("%v", err)
	}
	return positional, specs, nil
}

package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/pflag"
)

// outputOptions are cliff's formatter flags shared by create, show and list.
type outputOptions struct {
	format   string
	columns  []string
	noIndent bool
}

func addOutputFlags(fs *pflag.FlagSet, o *outputOptions) {
	fs.StringVarP(&o.format, "format", "f", "table", "the output format: table, json or value")
	fs.StringArrayVarP(&o.columns, "column", "c", nil, "specify the column(s) to include, can be repeated")
	fs.BoolVar(&o.noIndent, "noindent", false, "whether to disable indenting the JSON")
}

func (o *outputOptions) validate() error {
	switch o.format {
	case "table", "json", "value":
		return nil
	}
	return usagef("argument -f/--format: invalid choice: '%s' (choose from 'json', 'table', 'value')", o.format)
}

// cellFormatter replaces the generic table rendering of one list column,
// like neutronclient's per-command _formatters.
type cellFormatter func(raw json.RawMessage) string

// selectColumns applies -c to the available columns, keeping their order.
func selectColumns(avail, wanted []string) ([]string, error) {
	if len(wanted) == 0 {
		return avail, nil
	}
	var out []string
	for _, c := range avail {
		for _, w := range wanted {
			if c == w {
				out = append(out, c)
				break
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("No recognized column names in %s. Recognized columns are %s.",
			pyList(wanted), pyList(avail))
	}
	return out, nil
}

func pyList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = pyQuote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// emitOne prints a single object the way cliff's ShowOne does.
func emitOne(w io.Writer, obj *object, o *outputOptions) error {
	keys := append([]string(nil), obj.keys...)
	sort.Strings(keys)
	cols, err := selectColumns(keys, o.columns)
	if err != nil {
		return err
	}
	switch o.format {
	case "json":
		var b bytes.Buffer
		b.WriteByte('{')
		for i, k := range cols {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(jsonQuote(k) + ":")
			b.Write(obj.vals[k])
		}
		b.WriteByte('}')
		return writeJSON(w, b.Bytes(), o.noIndent)
	case "value":
		var b strings.Builder
		for _, k := range cols {
			b.WriteString(valueText(obj.vals[k], "None") + "\n")
		}
		_, err := io.WriteString(w, b.String())
		return err
	}
	t := &textTable{headers: []string{"Field", "Value"}}
	for _, k := range cols {
		t.rows = append(t.rows, []string{k, cellText(obj.vals[k])})
	}
	return t.render(w)
}

// listColumns picks the columns of a list the way neutronclient does:
// the keys of the first item, narrowed by -c (in -c order) or else by the
// command's default columns (in their order).
func listColumns(items []*object, defaults, wanted []string) []string {
	if len(items) == 0 {
		return nil
	}
	avail := append([]string(nil), items[0].keys...)
	sort.Strings(avail)
	has := func(c string) bool {
		_, ok := items[0].vals[c]
		return ok
	}
	pick := defaults
	if len(wanted) > 0 {
		pick = wanted
	} else if len(defaults) == 0 {
		return avail
	}
	var out []string
	for _, c := range pick {
		if has(c) {
			out = append(out, c)
		}
	}
	return out
}

// emitList prints a list the way cliff's Lister does.
func emitList(w io.Writer, items []*object, defaults []string, fmts map[string]cellFormatter, o *outputOptions) error {
	cols := listColumns(items, defaults, o.columns)
	if len(o.columns) > 0 && len(items) > 0 && len(cols) == 0 {
		return fmt.Errorf("No recognized column names in %s.", pyList(o.columns))
	}
	raw := func(it *object, c string) json.RawMessage {
		v, ok := it.vals[c]
		if !ok || kindOf(v) == 'n' {
			// neutronclient's get_item_properties turns None/missing into ''.
			return json.RawMessage(`""`)
		}
		return v
	}
	switch o.format {
	case "json":
		var b bytes.Buffer
		b.WriteByte('[')
		for i, it := range items {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('{')
			for j, c := range cols {
				if j > 0 {
					b.WriteByte(',')
				}
				b.WriteString(jsonQuote(c) + ":")
				b.Write(raw(it, c))
			}
			b.WriteByte('}')
		}
		b.WriteByte(']')
		return writeJSON(w, b.Bytes(), o.noIndent)
	case "value":
		var b strings.Builder
		for _, it := range items {
			vals := make([]string, len(cols))
			for j, c := range cols {
				vals[j] = valueText(raw(it, c), "")
			}
			b.WriteString(strings.Join(vals, " ") + "\n")
		}
		_, err := io.WriteString(w, b.String())
		return err
	}
	if len(items) == 0 || len(cols) == 0 {
		return nil
	}
	t := &textTable{headers: cols, right: make([]bool, len(cols))}
	for j, c := range cols {
		t.right[j] = kindOf(raw(items[0], c)) == '0'
	}
	for _, it := range items {
		row := make([]string, len(cols))
		for j, c := range cols {
			if f := fmts[c]; f != nil {
				row[j] = f(it.vals[c])
			} else {
				row[j] = cellText(raw(it, c))
			}
		}
		t.rows = append(t.rows, row)
	}
	return t.render(w)
}

// writeJSON pretty-prints like Python's json.dump(indent=2), keeping order.
func writeJSON(w io.Writer, compact []byte, noIndent bool) error {
	var out bytes.Buffer
	if noIndent {
		out.WriteString(flatten(compact, jsonStyle()))
	} else if err := json.Indent(&out, compact, "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err := w.Write(out.Bytes())
	return err
}

package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// object is a JSON object that remembers the server's key order, so that
// nested dicts print the way neutron prints them (Python dicts keep order).
type object struct {
	keys []string
	vals map[string]json.RawMessage
}

func parseObject(raw json.RawMessage) (*object, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("expected a JSON object, got %s", abbreviate(raw))
	}
	o := &object{vals: map[string]json.RawMessage{}}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, _ := kt.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		if _, dup := o.vals[k]; !dup {
			o.keys = append(o.keys, k)
		}
		o.vals[k] = v
	}
	return o, nil
}

// get returns the raw value for key and whether it exists.
func (o *object) get(key string) (json.RawMessage, bool) {
	v, ok := o.vals[key]
	return v, ok
}

// str returns the value of key if it is a JSON string, else "".
func (o *object) str(key string) string {
	var s string
	if v, ok := o.vals[key]; ok {
		_ = json.Unmarshal(v, &s)
	}
	return s
}

func abbreviate(raw []byte) string {
	s := strings.TrimSpace(string(raw))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// kindOf classifies a raw JSON value by its first byte.
func kindOf(raw json.RawMessage) byte {
	s := bytes.TrimSpace(raw)
	if len(s) == 0 {
		return 'n'
	}
	switch c := s[0]; {
	case c == '"':
		return 's'
	case c == '{':
		return 'o'
	case c == '[':
		return 'a'
	case c == 't' || c == 'f':
		return 'b'
	case c == 'n':
		return 'n'
	default:
		return '0'
	}
}

// style says how scalars are spelled when a nested value is flattened.
type style struct {
	quote      func(string) string
	null, t, f string
}

// jsonStyle is Python's json.dumps: `{"a": 1, "b": null}`.
func jsonStyle() style {
	return style{quote: jsonQuote, null: "null", t: "true", f: "false"}
}

// reprStyle is Python's repr(): `{'a': 1, 'b': None}`.
func reprStyle() style {
	return style{quote: pyQuote, null: "None", t: "True", f: "False"}
}

func jsonQuote(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

func pyQuote(s string) string {
	q := "'"
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		q = `"`
	}
	r := strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\t", `\t`, "\r", `\r`, q, `\`+q)
	return q + r.Replace(s) + q
}

// flatten renders raw on one line in the given style, keeping key order.
func flatten(raw json.RawMessage, st style) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var b strings.Builder
	if err := flattenNext(dec, &b, st); err != nil {
		return string(raw)
	}
	return b.String()
}

func flattenNext(dec *json.Decoder, b *strings.Builder, st style) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		closer := "]"
		if t == '{' {
			closer = "}"
		}
		b.WriteString(string(t))
		first := true
		for dec.More() {
			if !first {
				b.WriteString(", ")
			}
			first = false
			if t == '{' {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				k, _ := kt.(string)
				b.WriteString(st.quote(k) + ": ")
			}
			if err := flattenNext(dec, b, st); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil && err != io.EOF {
			return err
		}
		b.WriteString(closer)
	case string:
		b.WriteString(st.quote(t))
	case json.Number:
		b.WriteString(t.String())
	case bool:
		if t {
			b.WriteString(st.t)
		} else {
			b.WriteString(st.f)
		}
	case nil:
		b.WriteString(st.null)
	}
	return nil
}

// scalarText spells a non-container value like Python's str().
func scalarText(raw json.RawMessage, null string) string {
	switch kindOf(raw) {
	case 's':
		var s string
		_ = json.Unmarshal(raw, &s)
		return s
	case 'n':
		return null
	case 'b':
		if bytes.HasPrefix(bytes.TrimSpace(raw), []byte("t")) {
			return "True"
		}
		return "False"
	default:
		return string(bytes.TrimSpace(raw))
	}
}

// cellText is how neutron's table output shows a field: lists one item per
// line (dict items as JSON), dicts as JSON, null as empty.
func cellText(raw json.RawMessage) string {
	switch kindOf(raw) {
	case 'o':
		return flatten(raw, jsonStyle())
	case 'a':
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return string(raw)
		}
		lines := make([]string, 0, len(items))
		for _, it := range items {
			switch kindOf(it) {
			case 'o', 'a':
				lines = append(lines, flatten(it, jsonStyle()))
			default:
				lines = append(lines, scalarText(it, "None"))
			}
		}
		return strings.Join(lines, "\n")
	default:
		return scalarText(raw, "")
	}
}

// valueText is how cliff's "value" formatter shows a raw field: Python
// str() of the decoded value.
func valueText(raw json.RawMessage, null string) string {
	switch kindOf(raw) {
	case 'o', 'a':
		return flatten(raw, reprStyle())
	default:
		return scalarText(raw, null)
	}
}

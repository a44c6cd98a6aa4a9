package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Op is the kind of write a request body is decoded for.
type Op int

// The two write operations that carry a body.
const (
	OpCreate Op = iota
	OpUpdate
)

func (o Op) String() string {
	if o == OpCreate {
		return "POST"
	}
	return "PUT"
}

// MaxBodyBytes bounds every request body; larger bodies are refused before
// they are parsed.
const MaxBodyBytes = 256 << 10

// InputError is a client mistake in a request. The API turns it into a 400
// NeutronError whose message is Message.
type InputError struct {
	Type    string
	Message string
}

func (e *InputError) Error() string { return e.Message }

func badInput(format string, args ...any) *InputError {
	return &InputError{Type: "HTTPBadRequest", Message: fmt.Sprintf(format, args...)}
}

func invalid(field, format string, args ...any) *InputError {
	return badInput("Invalid input for %s. Reason: %s.", field, fmt.Sprintf(format, args...))
}

// DecodeBody parses `{"<envelope>": {...}}` into dst, a pointer to a request
// struct whose fields are all pointers (nil = not sent). Field tags:
//
//	json:"name"              the attribute name on the wire
//	lbaas:"create,update"    in which operations the attribute may be sent
//	lbaas:"...,required"     must be sent on create
//	lbaas:"...,nullable"     JSON null is accepted (and sets the pointer to a zero value)
//
// The neutron CLI sends numbers and booleans as strings ("80", "True"); both
// forms are accepted. Unknown attributes and attributes not allowed in op are
// refused, so nothing a client invents is stored.
func DecodeBody(body []byte, envelope string, op Op, dst any) error {
	if len(body) > MaxBodyBytes {
		return badInput("Request body is larger than %d bytes", MaxBodyBytes)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return badInput("Request body is empty; expected {\"%s\": {...}}", envelope)
	}
	var outer map[string]json.RawMessage
	if err := strictUnmarshal(body, &outer); err != nil {
		return badInput("Malformed JSON in request body: %s", jsonReason(err))
	}
	inner, ok := outer[envelope]
	if !ok || len(outer) != 1 {
		return badInput("Unable to find '%s' in request body", envelope)
	}
	var fields map[string]json.RawMessage
	if err := strictUnmarshal(inner, &fields); err != nil || fields == nil {
		return badInput("Body of '%s' must be a JSON object", envelope)
	}
	return decodeFields(fields, op, dst)
}

func decodeFields(fields map[string]json.RawMessage, op Op, dst any) error {
	rv := reflect.ValueOf(dst).Elem()
	rt := rv.Type()
	known := make(map[string]int, rt.NumField())
	for i := 0; i < rt.NumField(); i++ {
		known[wireName(rt.Field(i))] = i
	}
	var unknown []string
	for name := range fields {
		if _, ok := known[name]; !ok {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return badInput("Unrecognized attribute(s) '%s'", Clip(strings.Join(unknown, ", ")))
	}
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names) // report the first problem deterministically
	for _, name := range names {
		sf := rt.Field(known[name])
		tags := tagSet(sf)
		if op == OpCreate && !tags["create"] {
			return badInput("Attribute '%s' not allowed in POST", name)
		}
		if op == OpUpdate && !tags["update"] {
			return badInput("Cannot update read-only attribute %s", name)
		}
		if err := decodeValue(name, fields[name], tags["nullable"], rv.Field(known[name])); err != nil {
			return err
		}
	}
	if op == OpCreate {
		for i := 0; i < rt.NumField(); i++ {
			sf := rt.Field(i)
			if tagSet(sf)["required"] && rv.Field(i).IsNil() {
				return badInput("Failed to parse request. Required attribute '%s' not specified", wireName(sf))
			}
		}
	}
	return nil
}

func wireName(sf reflect.StructField) string {
	name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
	return name
}

func tagSet(sf reflect.StructField) map[string]bool {
	set := map[string]bool{}
	for _, t := range strings.Split(sf.Tag.Get("lbaas"), ",") {
		set[t] = true
	}
	return set
}

// decodeValue fills the pointer field f from raw.
func decodeValue(name string, raw json.RawMessage, nullable bool, f reflect.Value) error {
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" {
		if !nullable {
			return invalid(name, "'None' is not a valid value")
		}
		f.Set(reflect.New(f.Type().Elem()))
		return nil
	}
	target := reflect.New(f.Type().Elem())
	switch target.Elem().Kind() {
	case reflect.String:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return invalid(name, "'%s' is not a valid string", clip(raw))
		}
		target.Elem().SetString(s)
	case reflect.Int:
		n, err := parseInt(raw)
		if err != nil {
			return invalid(name, "'%s' is not an integer", unquote(raw))
		}
		target.Elem().SetInt(n)
	case reflect.Bool:
		b, err := parseBool(raw)
		if err != nil {
			return invalid(name, "'%s' is not a valid boolean value", unquote(raw))
		}
		target.Elem().SetBool(b)
	default:
		if err := strictUnmarshal(raw, target.Interface()); err != nil {
			return invalid(name, "%s", jsonReason(err))
		}
	}
	f.Set(target)
	return nil
}

func parseInt(raw json.RawMessage) (int64, error) {
	s := string(raw)
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, err
		}
		s = strings.TrimSpace(s)
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, err
	}
	return n, nil
}

func parseBool(raw json.RawMessage) (bool, error) {
	s := string(raw)
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(raw, &s); err != nil {
			return false, err
		}
	}
	switch strings.ToLower(s) {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean")
}

func unquote(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return Clip(s)
	}
	return clip(raw)
}

func clip(raw json.RawMessage) string { return Clip(string(raw)) }

// Clip keeps error messages short and printable whatever the client sent.
func Clip(s string) string {
	const max = 64
	s = strconv.QuoteToASCII(s) // ASCII, so that clipping below cannot split a rune
	s = s[1 : len(s)-1]
	if len(s) > max {
		s = s[:max] + "..."
	}
	return s
}

func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}

func jsonReason(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case asErr(err, &se):
		return fmt.Sprintf("%s at offset %d", se.Error(), se.Offset)
	case asErr(err, &te):
		if te.Field != "" {
			return fmt.Sprintf("field %s must be %s, not %s", te.Field, te.Type, te.Value)
		}
		return fmt.Sprintf("expected %s, got %s", te.Type, te.Value)
	}
	return Clip(err.Error()) // e.g. a nested unknown field: never echo it whole
}

// DecodeObject parses one JSON object without an envelope (an item of a
// list such as a batch of members) into dst, as DecodeBody does the
// envelope's content; what names the item in messages.
func DecodeObject(raw []byte, what string, op Op, dst any) error {
	fields, err := ObjectFields(raw, what)
	if err != nil {
		return err
	}
	return decodeFields(fields, op, dst)
}

// ObjectFields splits one JSON object into its attributes, for a caller
// that takes some of them out (a nested object) before DecodeFields.
func ObjectFields(raw []byte, what string) (map[string]json.RawMessage, error) {
	var fields map[string]json.RawMessage
	if err := strictUnmarshal(raw, &fields); err != nil || fields == nil {
		return nil, badInput("Each item of '%s' must be a JSON object", what)
	}
	return fields, nil
}

// DecodeFields decodes attributes into dst as DecodeBody does.
func DecodeFields(fields map[string]json.RawMessage, op Op, dst any) error {
	return decodeFields(fields, op, dst)
}

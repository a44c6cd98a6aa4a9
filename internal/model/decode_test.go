package model

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// inputError asserts err is a non-empty *InputError and returns its message.
func inputError(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		t.Fatal("accepted; want an *InputError")
	}
	var in *InputError
	if !errors.As(err, &in) {
		t.Fatalf("error %T %q is not an *InputError", err, err)
	}
	if in.Message == "" || in.Type == "" {
		t.Fatalf("InputError with empty type or message: %+v", in)
	}
	return in.Message
}

func TestDecodeAcceptsNumbersAndBooleansSentAsStrings(t *testing.T) {
	body := `{"member": {"pool_id": "p", "address": "10.1.1.2", "protocol_port": "80", "weight": " 5 ", "admin_state_up": "False"}}`
	var req MemberRequest
	if err := DecodeBody([]byte(body), "member", OpCreate, &req); err != nil {
		t.Fatal(err)
	}
	if *req.ProtocolPort != 80 || *req.Weight != 5 || *req.AdminStateUp {
		t.Fatalf("decoded port %d weight %d admin %v", *req.ProtocolPort, *req.Weight, *req.AdminStateUp)
	}
	var net NetworkRequest
	if err := DecodeBody([]byte(`{"network": {"router:external": "True", "shared": true, "admin_state_up": "0"}}`), "network", OpCreate, &net); err != nil {
		t.Fatal(err)
	}
	if !*net.RouterExternal || !*net.Shared || *net.AdminStateUp {
		t.Fatalf("decoded %+v", net)
	}
}

func TestDecodeLeavesUnsentFieldsNil(t *testing.T) {
	var req PoolRequest
	if err := DecodeBody([]byte(`{"pool": {"description": "x"}}`), "pool", OpUpdate, &req); err != nil {
		t.Fatal(err)
	}
	if req.Description == nil || *req.Description != "x" {
		t.Fatalf("description not decoded: %+v", req)
	}
	if req.Name != nil || req.LBMethod != nil || req.AdminStateUp != nil || req.HealthMonitors != nil {
		t.Fatalf("unsent fields were set: %+v", req)
	}
}

func TestDecodeNullClearsSessionPersistence(t *testing.T) {
	var req VIPRequest
	if err := DecodeBody([]byte(`{"vip": {"session_persistence": null}}`), "vip", OpUpdate, &req); err != nil {
		t.Fatal(err)
	}
	v := VIP{SessionPersistence: &SessionPersistence{Type: PersistenceSourceIP}}
	req.Apply(&v)
	if v.SessionPersistence != nil {
		t.Fatalf("null did not clear persistence: %+v", v.SessionPersistence)
	}
}

func TestDecodeRefusesBadBodiesNamingTheProblem(t *testing.T) {
	validMember := `"pool_id": "p", "address": "10.0.0.1", "protocol_port": 80`
	cases := []struct {
		name string
		body string
		env  string
		op   Op
		want string // substring of the message
	}{
		{"empty body", ``, "member", OpCreate, "empty"},
		{"whitespace body", " \n\t", "member", OpCreate, "empty"},
		{"truncated JSON", `{"member": {`, "member", OpCreate, "Malformed JSON"},
		{"not JSON", `member=1`, "member", OpCreate, "Malformed JSON"},
		{"trailing data", `{"member": {}} {}`, "member", OpCreate, "Malformed JSON"},
		{"top level array", `[{"member": {}}]`, "member", OpCreate, "Malformed JSON"},
		{"top level null", `null`, "member", OpCreate, "'member'"},
		{"wrong envelope", `{"pool": {}}`, "member", OpCreate, "'member'"},
		{"extra envelope", `{"member": {` + validMember + `}, "pool": {}}`, "member", OpCreate, "'member'"},
		{"inner not object", `{"member": [1]}`, "member", OpCreate, "JSON object"},
		{"inner null", `{"member": null}`, "member", OpCreate, "JSON object"},
		{"unknown attribute", `{"member": {` + validMember + `, "color": "red"}}`, "member", OpCreate, "color"},
		{"two unknown attributes listed", `{"member": {` + validMember + `, "zz": 1, "aa": 2}}`, "member", OpCreate, "aa, zz"},
		{"read-only on update", `{"member": {"address": "10.0.0.2"}}`, "member", OpUpdate, "address"},
		{"tenant on update", `{"pool": {"tenant_id": "x"}}`, "pool", OpUpdate, "tenant_id"},
		{"missing required", `{"member": {"pool_id": "p", "address": "10.0.0.1"}}`, "member", OpCreate, "protocol_port"},
		{"int not a number", `{"member": {"pool_id": "p", "address": "10.0.0.1", "protocol_port": "abc"}}`, "member", OpCreate, "Invalid input for protocol_port. Reason: 'abc' is not an integer"},
		{"int is a float", `{"member": {"pool_id": "p", "address": "10.0.0.1", "protocol_port": 80.5}}`, "member", OpCreate, "protocol_port"},
		{"int overflows", `{"member": {"pool_id": "p", "address": "10.0.0.1", "protocol_port": "99999999999"}}`, "member", OpCreate, "protocol_port"},
		{"int is a bool", `{"member": {"pool_id": "p", "address": "10.0.0.1", "protocol_port": true}}`, "member", OpCreate, "protocol_port"},
		{"int is null", `{"member": {"pool_id": "p", "address": "10.0.0.1", "protocol_port": null}}`, "member", OpCreate, "protocol_port"},
		{"bool is a word", `{"member": {` + validMember + `, "admin_state_up": "yes"}}`, "member", OpCreate, "admin_state_up"},
		{"bool is a number", `{"member": {` + validMember + `, "admin_state_up": 2}}`, "member", OpCreate, "admin_state_up"},
		{"string is a number", `{"member": {"pool_id": 7, "address": "10.0.0.1", "protocol_port": 80}}`, "member", OpCreate, "pool_id"},
		{"string is an object", `{"pool": {"name": {"a": 1}}}`, "pool", OpUpdate, "name"},
		{"list is a string", `{"pool": {"health_monitors": "abc"}}`, "pool", OpUpdate, "health_monitors"},
		{"list holds numbers", `{"pool": {"health_monitors": [1]}}`, "pool", OpUpdate, "health_monitors"},
		{"nested unknown field", `{"vip": {"session_persistence": {"type": "SOURCE_IP", "x": 1}}}`, "vip", OpUpdate, "session_persistence"},
		{"allocation pool unknown field", `{"subnet": {"network_id": "n", "cidr": "10.0.0.0/24", "allocation_pools": [{"from": "10.0.0.2"}]}}`, "subnet", OpCreate, "allocation_pools"},
		{"null for non-nullable string", `{"pool": {"name": null}}`, "pool", OpUpdate, "name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dst := requestFor(tc.env)
			msg := inputError(t, DecodeBody([]byte(tc.body), tc.env, tc.op, dst))
			if !strings.Contains(msg, tc.want) {
				t.Fatalf("message %q does not mention %q", msg, tc.want)
			}
		})
	}
}

func TestDecodeRefusesOversizedBodyBeforeParsing(t *testing.T) {
	body := `{"pool": {"name": "` + strings.Repeat("a", MaxBodyBytes) + `"}}`
	var req PoolRequest
	msg := inputError(t, DecodeBody([]byte(body), "pool", OpUpdate, &req))
	if !strings.Contains(msg, "larger than") {
		t.Fatalf("message %q does not say the body is too large", msg)
	}
	if req.Name != nil {
		t.Fatal("oversized body was decoded")
	}
}

func TestDecodeErrorMessagesStayShortAndPrintable(t *testing.T) {
	long := strings.Repeat("\x01x", 500)
	body := `{"member": {"pool_id": "p", "address": "10.0.0.1", "protocol_port": "` + long + `"}}`
	var req MemberRequest
	// The JSON string holds a raw control character, which is invalid JSON;
	// escape it so that the value reaches the integer parser.
	body = strings.ReplaceAll(body, "\x01", `\u0001`)
	msg := inputError(t, DecodeBody([]byte(body), "member", OpCreate, &req))
	if len(msg) > 200 {
		t.Fatalf("message is %d bytes long: %q", len(msg), msg)
	}
	if strings.ContainsRune(msg, '\x01') {
		t.Fatalf("message carries a raw control character: %q", msg)
	}
}

func TestUnknownAttributeNameIsNotEchoedRawOrWhole(t *testing.T) {
	name := "evil\\n" + strings.Repeat("k", 100000)
	body := `{"pool": {"` + name + `": 1}}`
	var req PoolRequest
	msg := inputError(t, DecodeBody([]byte(body), "pool", OpUpdate, &req))
	if len(msg) > 200 || strings.ContainsRune(msg, '\n') {
		t.Fatalf("message of %d bytes echoes the attribute name: %.100q", len(msg), msg)
	}
	if !strings.Contains(msg, "Unrecognized attribute") {
		t.Fatalf("message %q does not say the attribute is unknown", msg)
	}
}

func TestNestedUnknownFieldIsNotEchoedWhole(t *testing.T) {
	body := `{"vip": {"session_persistence": {"type": "SOURCE_IP", "` + strings.Repeat("z", 5000) + `\u0007": 1}}}`
	var req VIPRequest
	msg := inputError(t, DecodeBody([]byte(body), "vip", OpUpdate, &req))
	if len(msg) > 200 || strings.ContainsRune(msg, '\a') {
		t.Fatalf("message of %d bytes echoes the nested field: %.100q", len(msg), msg)
	}
	if !strings.Contains(msg, "session_persistence") {
		t.Fatalf("message %q does not name session_persistence", msg)
	}
}

func TestLongNonASCIIValueIsClippedToValidUTF8(t *testing.T) {
	body := `{"pool": {"name": "a` + strings.Repeat("é", MaxNameLen) + `"}}` // odd offset: a byte cut splits a rune
	var req PoolRequest
	if err := DecodeBody([]byte(body), "pool", OpUpdate, &req); err != nil {
		t.Fatal(err)
	}
	p := goodPool()
	req.Apply(&p)
	msg := inputError(t, ValidatePool(&p))
	if !utf8.ValidString(msg) {
		t.Fatalf("message is not valid UTF-8: %q", msg)
	}
}

// requestFor returns an empty request struct for an envelope.
func requestFor(env string) any {
	switch env {
	case "network":
		return &NetworkRequest{}
	case "subnet":
		return &SubnetRequest{}
	case "floatingip":
		return &FloatingIPRequest{}
	case "pool":
		return &PoolRequest{}
	case "member":
		return &MemberRequest{}
	case "vip":
		return &VIPRequest{}
	case "health_monitor":
		return &HealthMonitorRequest{}
	}
	panic("no request type for envelope " + env)
}

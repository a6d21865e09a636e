package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"time"
)

// jsonProblem describes a decoding error without quoting the body: the body can
// hold a transcript or a phone number, which must not reach logs or responses.
func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var pe *time.ParseError
	switch {
	case errors.As(err, &syntax):
		return "malformed JSON at byte " + strconv.FormatInt(syntax.Offset, 10)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return "the body is not a JSON object"
		}
		return "field " + typ.Field + " has the wrong type"
	case errors.As(err, &pe):
		return "a time is not in RFC 3339 form"
	}
	return "a field has an unexpected value"
}

// Notes are Razorpay's merchant key-value pairs. Razorpay sends an empty set as
// the JSON array [] rather than {}; both decode to an empty map. Values that
// are not strings keep their JSON text.
type Notes map[string]string

// UnmarshalJSON accepts an object, [] or null.
func (n *Notes) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*n = nil
		return nil
	case len(b) > 0 && b[0] == '[':
		var items []json.RawMessage
		if err := json.Unmarshal(b, &items); err != nil {
			return err
		}
		if len(items) != 0 {
			return &json.UnmarshalTypeError{Value: "non-empty array", Type: notesType}
		}
		*n = Notes{}
		return nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make(Notes, len(raw))
	for k, v := range raw {
		var s string
		if json.Unmarshal(v, &s) == nil {
			out[k] = s
		} else {
			out[k] = string(v)
		}
	}
	*n = out
	return nil
}

var notesType = reflect.TypeFor[Notes]()

// Flag is a boolean that Razorpay sometimes sends as a string: `captured` is
// true or false in payment webhooks and "1" in subscription webhooks.
type Flag bool

// UnmarshalJSON accepts true, false, null, 1, 0 and their string forms.
func (f *Flag) UnmarshalJSON(b []byte) error {
	switch string(bytes.TrimSpace(b)) {
	case "true", `"true"`, "1", `"1"`:
		*f = true
	case "false", `"false"`, "0", `"0"`, `""`, "null":
		*f = false
	default:
		return &json.UnmarshalTypeError{Value: "flag", Type: flagType}
	}
	return nil
}

var flagType = reflect.TypeFor[Flag]()

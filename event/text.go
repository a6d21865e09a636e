package event

import (
	"bytes"
	"reflect"
	"strings"
	"unicode/utf8"
)

// The store keeps text that both SQLite and PostgreSQL accept: PostgreSQL
// refuses NUL and invalid UTF-8. encoding/json already turns invalid UTF-8
// inside a JSON string into U+FFFD; the parsers do the same with the NUL
// character (\u0000), and with both in conversationContext, which is kept as
// raw JSON. An event is never refused for its free text: a refusal would be
// retried by the sender for a day and then disable the webhook, and its
// other fields are still worth having.

// cleanText replaces NUL characters with U+FFFD in every string field of
// each struct that entities point to (nil pointers are skipped): every field,
// so that one added later cannot bring the NUL back.
func cleanText(entities ...any) {
	for _, e := range entities {
		v := reflect.ValueOf(e)
		if v.IsNil() {
			continue
		}
		v = v.Elem()
		for i := range v.NumField() {
			if f := v.Field(i); f.Kind() == reflect.String && strings.IndexByte(f.String(), 0) >= 0 {
				f.SetString(strings.ReplaceAll(f.String(), "\x00", "\uFFFD"))
			}
		}
	}
}

// cleanRawJSON returns raw, a valid JSON text, with invalid UTF-8 and the
// escape \u0000 replaced by U+FFFD (invalid bytes can only stand inside
// strings of valid JSON, so the result is valid JSON too).
func cleanRawJSON(raw []byte) []byte {
	if !utf8.Valid(raw) {
		raw = bytes.ToValidUTF8(raw, []byte("\uFFFD"))
	}
	if bytes.Contains(raw, []byte(`\u0000`)) {
		raw = bytes.ReplaceAll(raw, []byte(`\u0000`), []byte(`\ufffd`))
	}
	return raw
}

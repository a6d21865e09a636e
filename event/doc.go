// Package event holds the payloads that the voice platform and Razorpay send,
// how they are decoded from the raw body, and what makes one valid.
//
// It sits between signature verification and the hand-off to Temporal: the
// receiver calls ParseCall or ParseRazorpay on a body whose signature it has
// already checked, and sends what comes back to a workflow. Only the fields
// the system uses are decoded; personal data the system does not need (the
// caller's number, the payer's e-mail, contact and card) is dropped here, so
// it never reaches workflow history.
//
// The package imports nothing else of this module.
package event

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ErrInvalid marks a body that is not valid JSON, or a known event that lacks
// the fields needed to route it. The receiver answers 400.
var ErrInvalid = errors.New("invalid event")

// ErrUnhandled marks a well-formed event of a type the system does not handle.
// The receiver answers 200 "ignored" so that the sender stops retrying it.
var ErrUnhandled = errors.New("unhandled event type")

// MaxIDLength bounds every identifier used as a workflow id or event key part.
const MaxIDLength = 255

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// checkTime reports whether t can be stored and encoded everywhere downstream
// (JSON, SQLite text, PostgreSQL): years 1 to 9999 in UTC.
func checkTime(field string, t time.Time) error {
	if y := t.UTC().Year(); y < 1 || y > 9999 {
		return invalid("%s is outside the years 1 to 9999", field)
	}
	return nil
}

// MaxLabelLength bounds the other fields that become search attributes or
// summaries (agent, platform, plan, customer, status): SQL visibility keeps
// Keyword values in 255-byte columns.
const MaxLabelLength = 255

// checkLabel reports whether an optional s fits a search attribute.
func checkLabel(field, s string) error {
	if len(s) > MaxLabelLength {
		return invalid("%s is longer than %d bytes", field, MaxLabelLength)
	}
	return nil
}

// eventName decodes only the "event" member of body: what a body whose other
// members do not decode says it is, so that an event type the system does
// not handle is ignored whatever its fields look like.
func eventName(body []byte) string {
	var e struct {
		Event string `json:"event"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	return e.Event
}

// checkID reports whether s can name a workflow: 1 to MaxIDLength bytes of
// printable ASCII without spaces.
func checkID(field, s string) error {
	if s == "" {
		return invalid("%s is missing", field)
	}
	if len(s) > MaxIDLength {
		return invalid("%s is longer than %d bytes", field, MaxIDLength)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e {
			return invalid("%s has a character outside printable ASCII", field)
		}
	}
	return nil
}

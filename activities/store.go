package activities

import (
	"context"
	"errors"
	"time"
)

// Sources of webhook events, as stored in webhook_events.source.
const (
	SourceCalls    = "calls"
	SourceRazorpay = "razorpay"
)

// EventRecord is one accepted webhook event: a row of webhook_events, keyed by
// Source and EventKey.
type EventRecord struct {
	Source        string
	EventKey      string
	EventType     string
	WorkflowID    string
	PayloadSHA256 string // lowercase hex SHA-256 of the raw body as received
	OccurredAt    time.Time
	ReceivedAt    time.Time
}

// Store is the system of record as the activities see it. The store package
// implements it on SQLite and PostgreSQL.
type Store interface {
	// RecordEvent inserts e once. Recording the same source and key again
	// changes nothing and reports inserted == false.
	RecordEvent(ctx context.Context, e EventRecord) (inserted bool, err error)
}

// ErrRejected marks a store error caused by the data rather than by the
// database being unavailable: retrying the same write cannot succeed.
// Store implementations wrap it; activities turn it into a non-retryable error.
var ErrRejected = errors.New("rejected by the database")

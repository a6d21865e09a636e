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
	// SaveCall writes a call snapshot in one transaction: the event's
	// webhook_events row (once), the calls row and the call's transfers. A
	// snapshot older than the stored one (by Revision) leaves the calls and
	// call_transfers rows as they are; the event row is still recorded.
	SaveCall(ctx context.Context, s CallSnapshot) error
}

// ErrRejected marks a store error caused by the data rather than by the
// database being unavailable: retrying the same write cannot succeed.
// Store implementations wrap it; activities turn it into a non-retryable error.
var ErrRejected = errors.New("rejected by the database")

// CallRecord is the calls row of one call: a snapshot of the call's workflow
// state. Zero times and an empty Status-specific field mean "not known yet".
type CallRecord struct {
	CallID string
	// AgentID is the voice agent the call belongs to (who picked it up);
	// CurrentAgentID is the agent holding it now, after any transfers.
	AgentID             string
	CurrentAgentID      string
	InstanceID          string
	Platform            string
	Status              string // in_progress, transferred, ended, abandoned
	StartedAt           time.Time
	EndedAt             time.Time
	DurationSeconds     float64
	Transcript          string
	Sentiment           string
	Summary             string
	DisconnectionReason string
	// Revision grows with every change the workflow makes to the call. A
	// write carrying a lower revision than the stored row is stale (a retried
	// attempt that lost a race) and changes nothing.
	Revision  int64
	UpdatedAt time.Time
}

// TransferRecord is one call_transfers row. Sequence numbers a call's
// transfers 1, 2, … in the order of their event time.
type TransferRecord struct {
	CallID        string
	Sequence      int
	EventKey      string
	FromAgentID   string
	ToAgentID     string
	Reason        string
	Context       string // the conversation context as JSON text, or ""
	TransferredAt time.Time
}

// CallSnapshot is everything the store keeps about a call, written at once.
type CallSnapshot struct {
	Call      CallRecord
	Transfers []TransferRecord // the call's whole list, in sequence order
	// Event is the webhook_events row of the event that produced this
	// snapshot, or nil when the change came from the workflow itself (a call
	// declared abandoned).
	Event *EventRecord
}

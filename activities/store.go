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
	// SaveSubscription writes a subscription snapshot in one transaction: the
	// event's webhook_events row (once), the subscriptions row (unless the
	// stored Revision is higher) and the charge's payments row, if any.
	SaveSubscription(ctx context.Context, s SubscriptionSnapshot) error
	// SavePayment writes a payments row, and the event's webhook_events row
	// if event is not nil, in one transaction. A payment once captured stays
	// captured whatever failure is written after it; empty fields never
	// overwrite known ones.
	SavePayment(ctx context.Context, p PaymentRecord, event *EventRecord) error
	// FindSubscription names the subscription a payment belongs to from what
	// earlier charges taught the store: the same invoice, else the same token,
	// else the same customer, each only when it names exactly one
	// subscription. It returns "" when nothing (or nothing unambiguous) is
	// known.
	FindSubscription(ctx context.Context, hints PaymentHints) (string, error)
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

// SubscriptionRecord is the subscriptions row of one subscription: a snapshot
// of its workflow's state. Zero times mean NULL.
type SubscriptionRecord struct {
	SubscriptionID string
	PlanID         string
	CustomerID     string
	Status         string // Razorpay's status: authenticated, active, pending, halted, paused, cancelled, completed, …
	Access         string // granted, grace, suspended, revoked
	CurrentStart   time.Time
	CurrentEnd     time.Time
	PaidCount      int64
	GraceUntil     time.Time // when a grace period ends, while access is grace
	// LastFailurePaymentID and LastFailureReason describe the last failed
	// charge, if any.
	LastFailurePaymentID string
	LastFailureReason    string
	// Revision grows with every change; a lower one than stored is stale.
	Revision  int64
	UpdatedAt time.Time
}

// Payment statuses in the payments table.
const (
	PaymentCaptured = "captured"
	PaymentFailed   = "failed"
)

// PaymentRecord is one payments row. Amount is in the currency's smallest
// unit, exactly as Razorpay sent it.
type PaymentRecord struct {
	PaymentID      string
	SubscriptionID string // "" while unknown
	Amount         int64
	Currency       string
	Status         string // PaymentCaptured or PaymentFailed
	FailureReason  string
	// What links a payment to its subscription, kept to resolve later
	// failures.
	InvoiceID  string
	CustomerID string
	TokenID    string
	OrderID    string
	CreatedAt  time.Time // Razorpay's created_at of the payment
	UpdatedAt  time.Time
}

// SubscriptionSnapshot is everything the store keeps about one change of a
// subscription, written at once.
type SubscriptionSnapshot struct {
	Subscription SubscriptionRecord
	Payment      *PaymentRecord // the charge the event carried, if any
	Event        *EventRecord   // nil when the change came from the workflow itself (grace expired)
}

// PaymentHints are the fields of a payment that can name its subscription.
type PaymentHints struct {
	InvoiceID  string
	TokenID    string
	CustomerID string
}

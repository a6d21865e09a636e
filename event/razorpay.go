package event

import (
	"encoding/json"
	"strings"
	"time"
)

// Razorpay events routed to workflows. Every "subscription." event goes to the
// subscription's workflow; of the payment events only a failure is handled.
const (
	SubscriptionPrefix = "subscription."
	PaymentFailed      = "payment.failed"
)

// Razorpay is one Razorpay webhook: the envelope
// {entity, account_id, event, contains, payload, created_at}, with the
// subscription and payment entities decoded when present.
type Razorpay struct {
	Event     string   `json:"event"`
	AccountID string   `json:"account_id"`
	Contains  []string `json:"contains,omitempty"`
	// CreatedAt is when Razorpay created the event (zero if it did not say).
	CreatedAt time.Time `json:"created_at"`

	Subscription *Subscription `json:"subscription,omitempty"`
	Payment      *Payment      `json:"payment,omitempty"`
}

// Subscription is the subscription entity as of the event (a snapshot, not the
// current state). Times are Unix seconds; zero means null.
type Subscription struct {
	ID             string `json:"id"`
	PlanID         string `json:"plan_id,omitempty"`
	CustomerID     string `json:"customer_id,omitempty"`
	Status         string `json:"status,omitempty"`
	Quantity       int64  `json:"quantity,omitempty"`
	TotalCount     int64  `json:"total_count,omitempty"`
	PaidCount      int64  `json:"paid_count"`
	RemainingCount int64  `json:"remaining_count,omitempty"`
	AuthAttempts   int64  `json:"auth_attempts,omitempty"`
	CurrentStart   int64  `json:"current_start,omitempty"`
	CurrentEnd     int64  `json:"current_end,omitempty"`
	ChargeAt       int64  `json:"charge_at,omitempty"`
	StartAt        int64  `json:"start_at,omitempty"`
	EndAt          int64  `json:"end_at,omitempty"`
	EndedAt        int64  `json:"ended_at,omitempty"`
	CreatedAt      int64  `json:"created_at,omitempty"`
	Notes          Notes  `json:"notes,omitempty"`
}

// Payment is the payment entity as of the event. The payer's e-mail, phone
// number and card are not decoded.
type Payment struct {
	ID               string `json:"id"`
	Amount           int64  `json:"amount"`
	Currency         string `json:"currency,omitempty"`
	Status           string `json:"status,omitempty"`
	Captured         Flag   `json:"captured,omitempty"`
	Method           string `json:"method,omitempty"`
	OrderID          string `json:"order_id,omitempty"`
	InvoiceID        string `json:"invoice_id,omitempty"`
	CustomerID       string `json:"customer_id,omitempty"`
	TokenID          string `json:"token_id,omitempty"`
	ErrorCode        string `json:"error_code,omitempty"`
	ErrorDescription string `json:"error_description,omitempty"`
	ErrorSource      string `json:"error_source,omitempty"`
	ErrorStep        string `json:"error_step,omitempty"`
	ErrorReason      string `json:"error_reason,omitempty"`
	CreatedAt        int64  `json:"created_at,omitempty"`
	Notes            Notes  `json:"notes,omitempty"`
}

// razorpayWire is the shape on the wire: entities nest under payload.X.entity.
// JSON null leaves a Go string or integer at its zero value, so nullable
// fields need no pointers.
type razorpayWire struct {
	Event     string   `json:"event"`
	AccountID string   `json:"account_id"`
	Contains  []string `json:"contains"`
	CreatedAt int64    `json:"created_at"`
	Payload   struct {
		Subscription struct {
			Entity *Subscription `json:"entity"`
		} `json:"subscription"`
		Payment struct {
			Entity *Payment `json:"entity"`
		} `json:"payment"`
	} `json:"payload"`
}

// ParseRazorpay decodes and validates a Razorpay webhook from the raw body.
// It returns an error wrapping ErrInvalid for a body that is not an event or a
// handled event without the entity id that routes it, and ErrUnhandled (with
// the decoded envelope) for an event the system does not handle.
func ParseRazorpay(body []byte) (Razorpay, error) {
	var w razorpayWire
	if err := json.Unmarshal(body, &w); err != nil {
		if name := eventName(body); name != "" && !isRazorpayEvent(name) {
			return Razorpay{Event: name}, ErrUnhandled
		}
		return Razorpay{}, invalid("body is not a Razorpay event: %s", jsonProblem(err))
	}
	switch {
	case w.Event == "":
		return Razorpay{}, invalid("event is missing")
	case !isRazorpayEvent(w.Event):
		return Razorpay{Event: w.Event, AccountID: w.AccountID, Contains: w.Contains}, ErrUnhandled
	}
	r := Razorpay{
		Event:        w.Event,
		AccountID:    w.AccountID,
		Contains:     w.Contains,
		Subscription: w.Payload.Subscription.Entity,
		Payment:      w.Payload.Payment.Entity,
	}
	if w.CreatedAt > 0 {
		r.CreatedAt = time.Unix(w.CreatedAt, 0).UTC()
		if err := checkTime("created_at", r.CreatedAt); err != nil {
			return Razorpay{}, err
		}
	}
	if err := checkEventName(r.Event); err != nil {
		return Razorpay{}, err
	}
	switch {
	case strings.HasPrefix(r.Event, SubscriptionPrefix):
		if r.Subscription == nil {
			return Razorpay{}, invalid("payload.subscription.entity is missing")
		}
		if err := checkID("payload.subscription.entity.id", r.Subscription.ID); err != nil {
			return Razorpay{}, err
		}
		for _, f := range []struct{ name, value string }{
			{"payload.subscription.entity.plan_id", r.Subscription.PlanID},
			{"payload.subscription.entity.customer_id", r.Subscription.CustomerID},
			{"payload.subscription.entity.status", r.Subscription.Status},
		} {
			if err := checkLabel(f.name, f.value); err != nil {
				return Razorpay{}, err
			}
		}
		if r.Payment != nil && r.Payment.ID != "" {
			if err := checkID("payload.payment.entity.id", r.Payment.ID); err != nil {
				return Razorpay{}, err
			}
		}
	case r.Event == PaymentFailed:
		if r.Payment == nil {
			return Razorpay{}, invalid("payload.payment.entity is missing")
		}
		if err := checkID("payload.payment.entity.id", r.Payment.ID); err != nil {
			return Razorpay{}, err
		}
	}
	cleanText(r.Subscription, r.Payment)
	return r, nil
}

// isRazorpayEvent reports whether the system handles the event: every
// subscription.* event and payment.failed.
func isRazorpayEvent(name string) bool {
	return strings.HasPrefix(name, SubscriptionPrefix) || name == PaymentFailed
}

// checkEventName refuses event names that could not be stored or shown: the
// same alphabet and bound as ids.
func checkEventName(name string) error {
	if len(name) > 100 {
		return invalid("event is longer than 100 bytes")
	}
	return checkID("event", name)
}

// CheckEventID validates the x-razorpay-event-id header, the delivery's
// idempotency key.
func CheckEventID(id string) error {
	return checkID("x-razorpay-event-id", id)
}

// WorkflowID names the workflow that owns the event: the subscription for
// every subscription event, the payment for a failed payment.
func (r Razorpay) WorkflowID() string {
	if strings.HasPrefix(r.Event, SubscriptionPrefix) {
		return r.Subscription.ID
	}
	return r.Payment.ID
}

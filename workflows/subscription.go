package workflows

import (
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/zentrix/webhooks/activities"
	"github.com/zentrix/webhooks/temporal"
)

// Access states: what the customer may use of Zentrix.
const (
	AccessGranted   = "granted"
	AccessGrace     = "grace"
	AccessSuspended = "suspended"
	AccessRevoked   = "revoked"
)

// SubscriptionState is the answer to the state query of a SubscriptionWorkflow.
type SubscriptionState struct {
	SubscriptionID    string     `json:"subscriptionId"`
	Status            string     `json:"status"`
	PlanID            string     `json:"planId"`
	CustomerID        string     `json:"customerId"`
	PaidCount         int64      `json:"paidCount"`
	Payments          []string   `json:"payments"`
	LastFailure       *Failure   `json:"lastFailure"`
	Access            string     `json:"access"`
	EventsApplied     int        `json:"eventsApplied"`
	DuplicatesIgnored int        `json:"duplicatesIgnored"`
	RejectedEvents    []Rejected `json:"rejectedEvents,omitempty"`
}

// Failure is the last failed charge of a subscription.
type Failure struct {
	PaymentID string `json:"paymentId"`
	Reason    string `json:"reason"`
}

// SubscriptionWorkflow follows one Razorpay subscription, its id the
// subscription id. It applies each event once (keyed by x-razorpay-event-id),
// records it, and completes SubscriptionLinger after a terminal status.
func (w *Workflows) SubscriptionWorkflow(ctx workflow.Context, in SubscriptionInput) (SubscriptionState, error) {
	st := &SubscriptionState{SubscriptionID: in.SubscriptionID, Payments: []string{}}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (SubscriptionState, error) { return *st, nil }); err != nil {
		return *st, err
	}
	seen := seenKeys{}
	handle := func(sig RazorpaySignal) error {
		if !seen.add(sig.Key) {
			st.DuplicatesIgnored++
			workflow.GetLogger(ctx).Info("duplicate event dropped", "workflow_id", in.SubscriptionID, "event_type", sig.Type)
			return nil
		}
		st.apply(sig)
		if err := workflow.UpsertTypedSearchAttributes(ctx,
			temporal.SubscriptionStatus.ValueSet(st.Status),
			temporal.PlanID.ValueSet(st.PlanID),
			temporal.CustomerID.ValueSet(st.CustomerID),
			temporal.AccessState.ValueSet(st.Access),
		); err != nil {
			return err
		}
		workflow.SetCurrentDetails(ctx, fmt.Sprintf("**%s** · access %s · %d paid", st.Status, st.Access, st.PaidCount))
		return recordEvent(ctx, activities.SourceRazorpay, in.SubscriptionID, sig.Delivery, &st.RejectedEvents)
	}
	ch := workflow.GetSignalChannel(ctx, SignalRazorpayEvent)
	err := receiveLoop(ctx, ch, loopOptions{Linger: w.cfg.SubscriptionLinger}, handle, st.terminal)
	return *st, err
}

func (st *SubscriptionState) terminal() bool {
	return st.Status == "cancelled" || st.Status == "completed"
}

// apply folds one new event into the state from the entity snapshots it
// carries. A terminal status is never left.
func (st *SubscriptionState) apply(sig RazorpaySignal) {
	st.EventsApplied++
	if s := sig.Event.Subscription; s != nil {
		if s.Status != "" && !st.terminal() {
			st.Status = s.Status
		}
		if s.PlanID != "" {
			st.PlanID = s.PlanID
		}
		if s.CustomerID != "" {
			st.CustomerID = s.CustomerID
		}
		st.PaidCount = max(st.PaidCount, s.PaidCount)
	}
	if p := sig.Event.Payment; p != nil && p.ID != "" && strings.HasPrefix(sig.Type, "subscription.") &&
		(p.Status == "captured" || bool(p.Captured)) && !slices.Contains(st.Payments, p.ID) {
		st.Payments = append(st.Payments, p.ID)
	}
	st.Access = accessFor(st.Status)
}

// accessFor maps Razorpay's status to the customer's access.
func accessFor(status string) string {
	switch status {
	case "active", "authenticated":
		return AccessGranted
	case "pending", "halted":
		return AccessGrace
	case "cancelled", "completed":
		return AccessRevoked
	case "paused":
		return AccessSuspended
	}
	return ""
}

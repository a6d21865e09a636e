package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/zentrix/webhooks/activities"
)

// PaymentState is the answer to the state query of a PaymentWorkflow.
type PaymentState struct {
	PaymentID         string     `json:"paymentId"`
	SubscriptionID    string     `json:"subscriptionId"` // empty while unknown
	Reason            string     `json:"reason"`
	Status            string     `json:"status"`
	EventsApplied     int        `json:"eventsApplied"`
	DuplicatesIgnored int        `json:"duplicatesIgnored"`
	RejectedEvents    []Rejected `json:"rejectedEvents,omitempty"`
}

// PaymentWorkflow handles a failed payment, its id the payment id. It records
// the failure and completes PaymentLinger later; a redelivery after that is
// answered "duplicate" by the receiver.
func (w *Workflows) PaymentWorkflow(ctx workflow.Context, in PaymentInput) (PaymentState, error) {
	st := &PaymentState{PaymentID: in.PaymentID}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (PaymentState, error) { return *st, nil }); err != nil {
		return *st, err
	}
	seen := seenKeys{}
	handle := func(sig RazorpaySignal) error {
		if !seen.add(sig.Key) {
			st.DuplicatesIgnored++
			return nil
		}
		st.EventsApplied++
		if p := sig.Event.Payment; p != nil {
			st.Status = p.Status
			st.Reason = p.ErrorReason
			if st.Reason == "" {
				st.Reason = p.ErrorCode
			}
		}
		return recordEvent(ctx, activities.SourceRazorpay, in.PaymentID, sig.Delivery, &st.RejectedEvents)
	}
	ch := workflow.GetSignalChannel(ctx, SignalRazorpayEvent)
	err := receiveLoop(ctx, ch, loopOptions{Linger: w.cfg.PaymentLinger}, handle, func() bool { return st.EventsApplied > 0 })
	return *st, err
}

package workflows

import (
	"errors"
	"fmt"
	"time"

	sdktemporal "go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/zentrix/webhooks/activities"
	"github.com/zentrix/webhooks/temporal"
)

// How a failed payment's subscription was found, in PaymentState.Resolution
// and the PaymentResolution search attribute.
const (
	ResolutionPending    = "resolving"
	ResolutionHandedOver = "handed_over" // the subscription's workflow has the failure
	ResolutionOneOff     = "one_off"     // no invoice: not a subscription charge
	ResolutionUnresolved = "unresolved"  // not found yet; retried while the workflow lingers
)

// resolveRetry is how often an unresolved payment tries again to find its
// subscription: an earlier charge of the same card or customer may teach the
// store in the meantime.
const resolveRetry = time.Hour

// retryTimerKept is the change id of PaymentWorkflow keeping one retry timer
// across redeliveries (workflow.GetVersion).
const retryTimerKept = "payment-retry-timer-kept"

// PaymentState is the answer to the state query of a PaymentWorkflow.
type PaymentState struct {
	PaymentID         string     `json:"paymentId"`
	SubscriptionID    string     `json:"subscriptionId"` // empty while unknown
	Reason            string     `json:"reason"`
	Status            string     `json:"status"` // the payment's status: failed
	Resolution        string     `json:"resolution"`
	ResolutionError   string     `json:"resolutionError,omitempty"`
	EventsApplied     int        `json:"eventsApplied"`
	DuplicatesIgnored int        `json:"duplicatesIgnored"`
	RejectedEvents    []Rejected `json:"rejectedEvents,omitempty"`
}

// Razorpay API calls are retried on 5xx and timeouts for a while; a 4xx fails
// at once. Past the schedule-to-close bound the payment stays unresolved and
// is tried again later.
var razorpayActivity = workflow.ActivityOptions{
	StartToCloseTimeout:    15 * time.Second,
	ScheduleToCloseTimeout: 30 * time.Minute,
	RetryPolicy: &sdktemporal.RetryPolicy{
		InitialInterval:        2 * time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        2 * time.Minute,
		NonRetryableErrorTypes: []string{activities.ErrTypeRazorpayRejected},
	},
}

// PaymentWorkflow handles a failed payment, its id the payment id. It records
// the failure, finds the payment's subscription (from the store, then from
// Razorpay's invoices API) and hands the failure to the subscription's
// workflow. A payment without an invoice is a one-off: recorded, nothing else.
// One that cannot be resolved stays visible and is retried while the workflow
// lingers; it completes PaymentLinger after the failure.
func (w *Workflows) PaymentWorkflow(ctx workflow.Context, in PaymentInput) (PaymentState, error) {
	st := &PaymentState{PaymentID: in.PaymentID, Status: activities.PaymentFailed, Resolution: ResolutionPending}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (PaymentState, error) { return *st, nil }); err != nil {
		return *st, err
	}
	seen := seenKeys{}
	var failure *RazorpaySignal
	handle := func(sig RazorpaySignal) error {
		if !seen.add(sig.Key) {
			st.DuplicatesIgnored++
			count(ctx, workflowTagPayment, metricDuplicatesDropped)
			return nil
		}
		st.EventsApplied++
		count(ctx, workflowTagPayment, metricEventsApplied)
		p := sig.Event.Payment
		st.Reason = failureReason(*p)
		if failure == nil {
			failure = &sig
		}
		rec := paymentRecord(*p, st.SubscriptionID, activities.PaymentFailed, workflow.Now(ctx))
		return savePayment(ctx, fmt.Sprintf("payment.failed: %s (%s)", p.ID, st.Reason), *rec,
			eventRecord(activities.SourceRazorpay, in.PaymentID, sig.Delivery), st)
	}
	ch := workflow.GetSignalChannel(ctx, SignalRazorpayEvent)
	for failure == nil {
		var sig RazorpaySignal
		ch.Receive(ctx, &sig)
		if err := handle(sig); err != nil {
			return *st, err
		}
	}

	resolve := func() error { return resolvePayment(ctx, st, *failure) }
	if err := resolve(); err != nil {
		return *st, err
	}

	// Linger for redeliveries; while unresolved, try again every resolveRetry.
	lingerCtx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	linger := workflow.NewTimerWithOptions(lingerCtx, w.cfg.PaymentLinger, workflow.TimerOptions{Summary: "linger for late redeliveries"})
	// retry is the pending attempt's timer while unresolved. Runs from before
	// retryTimerKept made a new one on every pass of the loop, so that each
	// redelivery put the next attempt off by resolveRetry.
	var retry workflow.Future
	keepRetry := workflow.Version(-2) // not asked yet
	for done := false; !done; {
		var err error
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(linger, func(workflow.Future) { done = true })
		sel.AddReceive(ch, func(c workflow.ReceiveChannel, _ bool) {
			var sig RazorpaySignal
			c.Receive(ctx, &sig)
			err = handle(sig)
		})
		if st.Resolution == ResolutionUnresolved {
			if keepRetry == -2 {
				keepRetry = workflow.GetVersion(ctx, retryTimerKept, workflow.DefaultVersion, 1)
			}
			if retry == nil || keepRetry == workflow.DefaultVersion {
				retry = workflow.NewTimerWithOptions(lingerCtx, resolveRetry, workflow.TimerOptions{Summary: "try again to find the subscription"})
			}
			sel.AddFuture(retry, func(workflow.Future) {
				retry = nil
				err = resolve()
			})
		}
		sel.Select(ctx)
		if err != nil {
			return *st, err
		}
	}
	return *st, drain(ch, handle)
}

// resolvePayment finds the failed payment's subscription and hands the failure
// over, updating st.Resolution.
func resolvePayment(ctx workflow.Context, st *PaymentState, sig RazorpaySignal) error {
	p := *sig.Event.Payment
	if p.InvoiceID == "" {
		return setResolution(ctx, st, ResolutionOneOff)
	}
	subscriptionID := ""
	find := withSummary(ctx, storeActivity, "find the subscription of invoice "+p.InvoiceID+" in the store")
	if err := workflow.ExecuteActivity(find, acts.FindSubscription, activities.PaymentHints{
		InvoiceID: p.InvoiceID, TokenID: p.TokenID, CustomerID: p.CustomerID,
	}).Get(find, &subscriptionID); err != nil {
		return err
	}
	if subscriptionID == "" {
		var lookup activities.InvoiceLookup
		ask := withSummary(ctx, razorpayActivity, "ask Razorpay for invoice "+p.InvoiceID)
		err := workflow.ExecuteActivity(ask, acts.LookupInvoice, p.InvoiceID).Get(ask, &lookup)
		var appErr *sdktemporal.ApplicationError
		switch {
		case err == nil:
			subscriptionID = lookup.SubscriptionID
			if !lookup.Configured {
				st.ResolutionError = "not in the store, and no Razorpay API credentials to ask"
			}
		case errors.As(err, &appErr) || errors.Is(err, workflow.ErrCanceled) || isTimeout(err):
			// A 4xx, or Razorpay unreachable for the whole retry window: stay
			// unresolved and visible, and try again later.
			st.ResolutionError = err.Error()
		default:
			return err
		}
	}
	if subscriptionID == "" {
		return setResolution(ctx, st, ResolutionUnresolved)
	}
	st.SubscriptionID, st.ResolutionError = subscriptionID, ""
	rec := paymentRecord(p, subscriptionID, activities.PaymentFailed, workflow.Now(ctx))
	if err := savePayment(ctx, "payment "+p.ID+" belongs to "+subscriptionID, *rec, nil, st); err != nil {
		return err
	}
	notify := withSummary(ctx, storeActivity, "hand the failure to subscription "+subscriptionID)
	if err := workflow.ExecuteActivity(notify, acts.NotifySubscription, activities.NotifyInput{
		SubscriptionID: subscriptionID,
		Failure: activities.PaymentFailure{
			Key: sig.Key, OccurredAt: sig.OccurredAt, ReceivedAt: sig.ReceivedAt,
			PayloadSHA256: sig.PayloadSHA256, Payment: p,
		},
	}).Get(notify, nil); err != nil {
		return err
	}
	return setResolution(ctx, st, ResolutionHandedOver)
}

func setResolution(ctx workflow.Context, st *PaymentState, resolution string) error {
	st.Resolution = resolution
	workflow.SetCurrentDetails(ctx, fmt.Sprintf("**%s** · %s · subscription `%s`", st.Reason, st.Resolution, st.SubscriptionID))
	return workflow.UpsertTypedSearchAttributes(ctx, temporal.PaymentResolution.ValueSet(resolution))
}

func savePayment(ctx workflow.Context, summary string, rec activities.PaymentRecord, ev *activities.EventRecord, st *PaymentState) error {
	actx := withSummary(ctx, storeActivity, summary)
	err := workflow.ExecuteActivity(actx, acts.SavePayment, activities.SavePaymentInput{Payment: rec, Event: ev}).Get(actx, nil)
	key, typ := "", "payment"
	if ev != nil {
		key, typ = ev.EventKey, ev.EventType
	}
	return rejection(ctx, err, st.PaymentID, key, typ, &st.RejectedEvents)
}

func withSummary(ctx workflow.Context, opts workflow.ActivityOptions, summary string) workflow.Context {
	opts.Summary = summary
	return workflow.WithActivityOptions(ctx, opts)
}

func isTimeout(err error) bool {
	var t *sdktemporal.TimeoutError
	return errors.As(err, &t)
}

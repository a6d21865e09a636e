package workflows

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/zentrix/webhooks/activities"
	"github.com/zentrix/webhooks/event"
	"github.com/zentrix/webhooks/temporal"
)

// Access states: what the customer may use of Zentrix.
const (
	AccessGranted   = "granted"
	AccessGrace     = "grace"
	AccessSuspended = "suspended"
	AccessRevoked   = "revoked"
)

// recentKeysKept bounds the event keys a SubscriptionWorkflow remembers (and
// carries over continue-as-new) to drop redeliveries. Razorpay redelivers for
// 24 hours; a subscription sees a handful of events a month.
const recentKeysKept = 500

// SubscriptionState is the answer to the state query of a SubscriptionWorkflow.
type SubscriptionState struct {
	SubscriptionID    string     `json:"subscriptionId"`
	Status            string     `json:"status"`
	PlanID            string     `json:"planId"`
	CustomerID        string     `json:"customerId"`
	PaidCount         int64      `json:"paidCount"`
	Payments          []string   `json:"payments"` // ids of successful charges, in the order received
	LastFailure       *Failure   `json:"lastFailure"`
	Access            string     `json:"access"`
	GraceUntil        time.Time  `json:"graceUntil,omitzero"`
	CurrentStart      time.Time  `json:"currentStart,omitzero"`
	CurrentEnd        time.Time  `json:"currentEnd,omitzero"`
	EventsApplied     int        `json:"eventsApplied"`
	DuplicatesIgnored int        `json:"duplicatesIgnored"`
	RejectedEvents    []Rejected `json:"rejectedEvents,omitempty"`
}

// Failure is the last failed charge of a subscription.
type Failure struct {
	PaymentID string `json:"paymentId"`
	Reason    string `json:"reason"`
}

// SubscriptionCarry is what a SubscriptionWorkflow hands to its next run when
// it continues as new: its state, what orders events, the grace deadline (the
// new run re-arms the timer) and the recent event keys.
type SubscriptionCarry struct {
	State    SubscriptionState `json:"state"`
	LastAt   time.Time         `json:"lastAt"`   // event time of the newest snapshot applied
	LastPaid int64             `json:"lastPaid"` // its paid_count
	// LastFailureAt is the event time of the failure in State.LastFailure.
	LastFailureAt time.Time `json:"lastFailureAt"`
	RecentKeys    []string  `json:"recentKeys"` // oldest first, at most recentKeysKept
	Revision      int64     `json:"revision"`
}

// SubscriptionWorkflow follows one Razorpay subscription for its whole life,
// its id the subscription id. It applies each event once (keyed by
// x-razorpay-event-id, a charge also by its payment id), never moves the
// status backwards, keeps the customer's access in step (with a grace period
// on a durable timer after a failed charge), writes the subscription after
// every change, continues as new when Temporal suggests it, and completes
// SubscriptionLinger after a terminal status.
func (w *Workflows) SubscriptionWorkflow(ctx workflow.Context, in SubscriptionInput) (SubscriptionState, error) {
	s := &subscription{cfg: w.cfg, carry: SubscriptionCarry{State: SubscriptionState{SubscriptionID: in.SubscriptionID, Payments: []string{}}}}
	if in.Carry != nil {
		s.carry = *in.Carry
	}
	s.seen = seenKeys{}
	for _, k := range s.carry.RecentKeys {
		s.seen.add(k)
	}
	st := &s.carry.State
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (SubscriptionState, error) { return *st, nil }); err != nil {
		return *st, err
	}
	ch := workflow.GetSignalChannel(ctx, SignalRazorpayEvent)
	handle := func(sig RazorpaySignal) error { return s.handle(ctx, sig) }

	var grace, linger workflow.Future
	var cancelGrace workflow.CancelFunc
	graceArmedFor := time.Time{}
	lingered := false
	for !lingered {
		// Keep the grace timer in step with the state: armed while access is
		// grace (re-armed after continue-as-new), cancelled when it is not.
		if st.Access == AccessGrace && !graceArmedFor.Equal(st.GraceUntil) {
			if cancelGrace != nil {
				cancelGrace()
			}
			var timerCtx workflow.Context
			timerCtx, cancelGrace = workflow.WithCancel(ctx)
			wait := max(st.GraceUntil.Sub(workflow.Now(ctx)), time.Millisecond)
			grace = workflow.NewTimerWithOptions(timerCtx, wait, workflow.TimerOptions{
				Summary: "grace period: suspend access at " + st.GraceUntil.UTC().Format(time.RFC3339) + " unless a charge succeeds",
			})
			graceArmedFor = st.GraceUntil
		} else if st.Access != AccessGrace && grace != nil {
			cancelGrace()
			grace, cancelGrace, graceArmedFor = nil, nil, time.Time{}
		}
		if s.terminal() && linger == nil {
			linger = workflow.NewTimerWithOptions(ctx, w.cfg.SubscriptionLinger, workflow.TimerOptions{
				Summary: "linger for late redeliveries",
			})
		}

		var err error
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(ch, func(c workflow.ReceiveChannel, _ bool) {
			var sig RazorpaySignal
			c.Receive(ctx, &sig)
			err = handle(sig)
		})
		if grace != nil {
			sel.AddFuture(grace, func(workflow.Future) {
				grace, graceArmedFor = nil, time.Time{}
				err = s.graceEnded(ctx)
			})
		}
		if linger != nil {
			sel.AddFuture(linger, func(workflow.Future) { lingered = true })
		}
		sel.Select(ctx)
		if err != nil {
			return *st, err
		}

		if !lingered && workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			if err := drain(ch, handle); err != nil {
				return *st, err
			}
			s.carry.RecentKeys = s.recentKeys()
			workflow.GetLogger(ctx).Info("continuing as new", "workflow_id", in.SubscriptionID)
			return *st, workflow.NewContinueAsNewError(ctx, SubscriptionWorkflowType,
				SubscriptionInput{SubscriptionID: in.SubscriptionID, Carry: &s.carry})
		}
	}
	return *st, drain(ch, handle)
}

// subscription is a SubscriptionWorkflow's state while it runs.
type subscription struct {
	cfg   Config
	carry SubscriptionCarry
	seen  seenKeys
	keys  []string // keys added in this run, oldest first
}

func (s *subscription) terminal() bool {
	return isTerminal(s.carry.State.Status)
}

func isTerminal(status string) bool { return status == "cancelled" || status == "completed" }

func (s *subscription) recentKeys() []string {
	all := append(slices.Clone(s.carry.RecentKeys), s.keys...)
	return all[max(0, len(all)-recentKeysKept):]
}

// handle applies one signal: a subscription event from Razorpay, or a failed
// payment handed over by its PaymentWorkflow.
func (s *subscription) handle(ctx workflow.Context, sig RazorpaySignal) error {
	st := &s.carry.State
	if !s.seen.add(sig.Key) {
		st.DuplicatesIgnored++
		count(ctx, workflowTagSubscription, metricDuplicatesDropped)
		workflow.GetLogger(ctx).Info("duplicate event dropped", "workflow_id", st.SubscriptionID, "event_type", sig.Type)
		return nil
	}
	s.keys = append(s.keys, sig.Key)
	st.EventsApplied++
	count(ctx, workflowTagSubscription, metricEventsApplied)
	if at := sig.OccurredAt; at.Before(s.carry.LastAt) {
		count(ctx, workflowTagSubscription, metricOutOfOrder)
	}
	wasGrace := st.Access == AccessGrace
	now := workflow.Now(ctx)
	var charge *activities.PaymentRecord
	var story string
	if sig.Type == event.PaymentFailed {
		story = s.failed(sig, now)
	} else {
		charge, story = s.applyEvent(sig, now)
	}
	if !wasGrace && st.Access == AccessGrace {
		count(ctx, workflowTagSubscription, metricGraceStarted)
	}
	var ev *activities.EventRecord
	if sig.Type != event.PaymentFailed { // a failure's row was written by its PaymentWorkflow
		ev = eventRecord(activities.SourceRazorpay, st.SubscriptionID, sig.Delivery)
	}
	return s.publish(ctx, story, charge, ev, sig.Key, sig.Type)
}

// applyEvent folds a subscription.* event into the state and returns the
// charge it carried, if new.
func (s *subscription) applyEvent(sig RazorpaySignal, now time.Time) (*activities.PaymentRecord, string) {
	st := &s.carry.State
	sub := sig.Event.Subscription
	at := sig.OccurredAt
	if at.IsZero() {
		at = sig.ReceivedAt
	}
	st.PaidCount = max(st.PaidCount, sub.PaidCount)

	var charge *activities.PaymentRecord
	if p := sig.Event.Payment; p != nil && p.ID != "" && (p.Status == "captured" || (p.Status == "" && bool(p.Captured))) {
		if !slices.Contains(st.Payments, p.ID) {
			st.Payments = append(st.Payments, p.ID)
		}
		charge = paymentRecord(*p, st.SubscriptionID, activities.PaymentCaptured, now)
	}

	// Razorpay does not promise order: a snapshot older than the one applied
	// (fewer cycles paid, or an earlier event time) must not move the state
	// back. A terminal status is never left.
	newer := sub.PaidCount > s.carry.LastPaid ||
		(sub.PaidCount == s.carry.LastPaid && !at.Before(s.carry.LastAt))
	story := fmt.Sprintf("%s: %s", sig.Type, sub.Status)
	if !newer || s.terminal() {
		if charge != nil {
			story += fmt.Sprintf(", charge %s recorded", charge.PaymentID)
		}
		return charge, story + " (older than the state: status kept)"
	}
	s.carry.LastAt, s.carry.LastPaid = at, sub.PaidCount
	if sub.Status != "" {
		st.Status = sub.Status
	}
	st.PlanID = cmp.Or(sub.PlanID, st.PlanID)
	st.CustomerID = cmp.Or(sub.CustomerID, st.CustomerID)
	if sub.CurrentStart > 0 {
		st.CurrentStart = time.Unix(sub.CurrentStart, 0).UTC()
	}
	if sub.CurrentEnd > 0 {
		st.CurrentEnd = time.Unix(sub.CurrentEnd, 0).UTC()
	}
	switch st.Status {
	case "active", "authenticated":
		s.setAccess(AccessGranted, time.Time{})
	case "pending":
		s.startGrace(now)
	case "halted":
		// Razorpay has stopped retrying: grace ends GracePeriod from now at
		// the latest.
		s.startGrace(now)
		if st.Access == AccessGrace && now.Add(s.cfg.GracePeriod).Before(st.GraceUntil) {
			st.GraceUntil = now.Add(s.cfg.GracePeriod)
		}
	case "paused":
		s.setAccess(AccessSuspended, time.Time{})
	case "cancelled", "completed":
		s.setAccess(AccessRevoked, time.Time{})
	}
	if charge != nil {
		story += fmt.Sprintf(", paid %d (%s)", st.PaidCount, charge.PaymentID)
	}
	return charge, story + ", access " + st.Access
}

// failed applies a failed charge handed over by its PaymentWorkflow.
func (s *subscription) failed(sig RazorpaySignal, now time.Time) string {
	st := &s.carry.State
	p := sig.Event.Payment
	if slices.Contains(st.Payments, p.ID) {
		// Captured after all: a late failure does not undo a charge.
		return fmt.Sprintf("payment.failed: %s was captured since; ignored", p.ID)
	}
	reason := failureReason(*p)
	at := sig.OccurredAt
	if at.IsZero() {
		at = sig.ReceivedAt // as applyEvent does for an event without created_at
	}
	if st.LastFailure == nil || !at.Before(s.carry.LastFailureAt) {
		st.LastFailure, s.carry.LastFailureAt = &Failure{PaymentID: p.ID, Reason: reason}, at
	}
	if at.Before(s.carry.LastAt) {
		// Razorpay has told of the subscription since (a later charge or
		// status): the failure is history, not news.
		return fmt.Sprintf("payment.failed: %s (%s), older than the state: access kept %s", p.ID, reason, st.Access)
	}
	if !s.terminal() {
		s.startGrace(now)
	}
	return fmt.Sprintf("payment.failed: %s (%s), access %s", p.ID, reason, st.Access)
}

// startGrace enters grace from granted, for Razorpay's retries plus the grace
// period; grace keeps its deadline and a suspended or revoked access stays as
// it is.
func (s *subscription) startGrace(now time.Time) {
	if a := s.carry.State.Access; a == AccessGranted || a == "" {
		s.setAccess(AccessGrace, now.Add(RazorpayRetryWindow+s.cfg.GracePeriod))
	}
}

func (s *subscription) setAccess(access string, graceUntil time.Time) {
	s.carry.State.Access, s.carry.State.GraceUntil = access, graceUntil
}

// graceEnded suspends access when the grace period ran out without a charge.
func (s *subscription) graceEnded(ctx workflow.Context) error {
	if s.carry.State.Access != AccessGrace {
		return nil
	}
	s.setAccess(AccessSuspended, time.Time{})
	count(ctx, workflowTagSubscription, metricGraceExpired)
	return s.publish(ctx, "grace period over without a successful charge: access suspended", nil, nil, "", "grace-expired")
}

// publish makes a change visible (search attributes, current details) and
// writes it.
func (s *subscription) publish(ctx workflow.Context, story string, charge *activities.PaymentRecord,
	ev *activities.EventRecord, key, typ string,
) error {
	st := &s.carry.State
	// Revisions grow across runs as well as within one: a fresh run (after
	// a terminate or a failure) learns the subscription from Razorpay's next
	// snapshot, and its writes must not be dropped as older than those of the
	// run before it, whose count it does not know.
	s.carry.Revision = max(s.carry.Revision+1, workflow.Now(ctx).UnixMicro())
	if err := workflow.UpsertTypedSearchAttributes(ctx,
		temporal.SubscriptionStatus.ValueSet(st.Status),
		temporal.PlanID.ValueSet(st.PlanID),
		temporal.CustomerID.ValueSet(st.CustomerID),
		temporal.AccessState.ValueSet(st.Access),
	); err != nil {
		return err
	}
	workflow.SetCurrentDetails(ctx, s.details())
	rec := activities.SubscriptionRecord{
		SubscriptionID: st.SubscriptionID, PlanID: st.PlanID, CustomerID: st.CustomerID, Status: st.Status,
		Access: st.Access, CurrentStart: st.CurrentStart, CurrentEnd: st.CurrentEnd, PaidCount: st.PaidCount,
		GraceUntil: st.GraceUntil, Revision: s.carry.Revision, UpdatedAt: workflow.Now(ctx),
	}
	if f := st.LastFailure; f != nil {
		rec.LastFailurePaymentID, rec.LastFailureReason = f.PaymentID, f.Reason
	}
	opts := storeActivity
	opts.Summary = story
	actx := workflow.WithActivityOptions(ctx, opts)
	err := workflow.ExecuteActivity(actx, acts.SaveSubscription,
		activities.SubscriptionSnapshot{Subscription: rec, Payment: charge, Event: ev}).Get(actx, nil)
	return rejection(ctx, err, st.SubscriptionID, key, typ, &st.RejectedEvents)
}

func (s *subscription) details() string {
	st := &s.carry.State
	d := fmt.Sprintf("**%s** · access **%s**", st.Status, st.Access)
	if st.Access == AccessGrace {
		d += " until " + st.GraceUntil.UTC().Format(time.RFC3339)
	}
	d += fmt.Sprintf(" · %d paid", st.PaidCount)
	if f := st.LastFailure; f != nil {
		d += fmt.Sprintf(" · last failure `%s` (%s)", f.PaymentID, f.Reason)
	}
	return d
}

// paymentRecord is the payments row of a payment entity.
func paymentRecord(p event.Payment, subscriptionID, status string, now time.Time) *activities.PaymentRecord {
	rec := &activities.PaymentRecord{
		PaymentID: p.ID, SubscriptionID: subscriptionID, Amount: p.Amount, Currency: p.Currency, Status: status,
		InvoiceID: p.InvoiceID, CustomerID: p.CustomerID, TokenID: p.TokenID, OrderID: p.OrderID, UpdatedAt: now,
	}
	if status == activities.PaymentFailed {
		rec.FailureReason = failureReason(p)
	}
	if p.CreatedAt > 0 {
		rec.CreatedAt = time.Unix(p.CreatedAt, 0).UTC()
	}
	return rec
}

// failureReason is the most specific reason Razorpay gave for a failure.
func failureReason(p event.Payment) string {
	return cmp.Or(p.ErrorReason, p.ErrorCode, p.ErrorDescription, "unknown")
}

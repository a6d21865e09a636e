package workflows_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/zentrix/webhooks/activities"
	"github.com/zentrix/webhooks/event"
	"github.com/zentrix/webhooks/workflows"
)

// rz builds Razorpay subscription events for one subscription; at is the
// event time as an offset from t0.
func rz(key, typ, status string, paid int64, at time.Duration, payment string) workflows.RazorpaySignal {
	sub := &event.Subscription{ID: "sub_1", PlanID: "plan_1", CustomerID: "cust_1", Status: status, PaidCount: paid}
	var pay *event.Payment
	if payment != "" {
		pay = &event.Payment{ID: payment, Amount: 99900, Currency: "INR", Status: "captured", Captured: true,
			InvoiceID: "inv_" + payment, TokenID: "token_1", CustomerID: "cust_1"}
	}
	return workflows.RazorpaySignal{
		Delivery: workflows.Delivery{Key: key, Type: typ, OccurredAt: t0.Add(at), ReceivedAt: t0.Add(at),
			PayloadSHA256: "00000000000000000000000000000000000000000000000000000000000000cc"},
		Event: event.Razorpay{Event: typ, CreatedAt: t0.Add(at), Subscription: sub, Payment: pay},
	}
}

func failedPayment(key, payment, reason string) workflows.RazorpaySignal {
	return workflows.RazorpaySignal{
		Delivery: workflows.Delivery{Key: key, Type: event.PaymentFailed, OccurredAt: t0, ReceivedAt: t0,
			PayloadSHA256: "00000000000000000000000000000000000000000000000000000000000000dd"},
		Event: event.Razorpay{Event: event.PaymentFailed, CreatedAt: t0, Payment: &event.Payment{
			ID: payment, Status: "failed", Amount: 99900, Currency: "INR", ErrorReason: reason,
			InvoiceID: "inv_" + payment, TokenID: "token_1", CustomerID: "cust_1"}},
	}
}

// recovery is the documented life of a subscription whose charge fails and
// recovers after the card is changed: charged arrives before activated.
func recovery() []workflows.RazorpaySignal {
	h := time.Hour
	return []workflows.RazorpaySignal{
		rz("evt_auth", "subscription.authenticated", "authenticated", 0, 0, ""),
		rz("evt_act1", "subscription.activated", "active", 0, 1*h, ""),
		rz("evt_chg1", "subscription.charged", "active", 1, 2*h, "pay_1"),
		rz("evt_pend1", "subscription.pending", "pending", 1, 720*h, ""),
		rz("evt_pend2", "subscription.pending", "pending", 1, 744*h, ""),
		rz("evt_halt", "subscription.halted", "halted", 1, 768*h, ""),
		rz("evt_chg2", "subscription.charged", "active", 2, 800*h, "pay_2"),
		rz("evt_act2", "subscription.activated", "active", 2, 800*h+time.Second, ""),
	}
}

type subRun struct {
	e     *env
	final workflows.SubscriptionState
	seen  []workflows.SubscriptionState // after each step
}

// runSubscription delivers sigs one a minute, querying the state after each,
// then lets the workflow run to its end (or the test env's time limit).
func runSubscription(t *testing.T, e *env, sigs []workflows.RazorpaySignal, in workflows.SubscriptionInput) *subRun {
	t.Helper()
	r := &subRun{e: e}
	for i, sig := range sigs {
		e.at(time.Duration(i+1)*time.Minute, func() { e.SignalWorkflow(workflows.SignalRazorpayEvent, sig) })
		e.at(time.Duration(i+1)*time.Minute+time.Second, func() {
			var st workflows.SubscriptionState
			e.query(t, &st)
			r.seen = append(r.seen, st)
		})
	}
	if in.SubscriptionID == "" {
		in.SubscriptionID = "sub_1"
	}
	e.ExecuteWorkflow(wf.SubscriptionWorkflow, in)
	return r
}

func (r *subRun) result(t *testing.T) workflows.SubscriptionState {
	t.Helper()
	if err := r.e.GetWorkflowResult(&r.final); err != nil {
		t.Fatal(err)
	}
	return r.final
}

func TestSubscriptionDocumentedSequences(t *testing.T) {
	h := time.Hour
	cases := []struct {
		name    string
		sigs    []workflows.RazorpaySignal
		access  []string // after each event
		status  string
		paid    int64
		charges int
	}{
		{
			name: "authenticated, activated, charged, cancelled",
			sigs: []workflows.RazorpaySignal{
				rz("e1", "subscription.authenticated", "authenticated", 0, 0, ""),
				rz("e2", "subscription.activated", "active", 0, h, ""),
				rz("e3", "subscription.charged", "active", 1, 2*h, "pay_1"),
				rz("e4", "subscription.charged", "active", 2, 720*h, "pay_2"),
				rz("e5", "subscription.cancelled", "cancelled", 2, 800*h, ""),
			},
			access: []string{"granted", "granted", "granted", "granted", "revoked"},
			status: "cancelled", paid: 2, charges: 2,
		},
		{
			name:   "failed charges, halted, card changed: charged then activated",
			sigs:   recovery(),
			access: []string{"granted", "granted", "granted", "grace", "grace", "grace", "granted", "granted"},
			status: "active", paid: 2, charges: 2,
		},
		{
			name: "paused and resumed",
			sigs: []workflows.RazorpaySignal{
				rz("e1", "subscription.activated", "active", 1, 0, ""),
				rz("e2", "subscription.paused", "paused", 1, h, ""),
				rz("e3", "subscription.resumed", "active", 1, 2*h, ""),
			},
			access: []string{"granted", "suspended", "granted"},
			status: "active", paid: 1,
		},
		{
			name: "completed with its last charge",
			sigs: []workflows.RazorpaySignal{
				rz("e1", "subscription.activated", "active", 11, 0, ""),
				rz("e2", "subscription.completed", "completed", 12, h, "pay_12"),
				rz("e3", "subscription.charged", "active", 12, h, "pay_12"), // same charge, another event id
			},
			access: []string{"granted", "revoked", "revoked"},
			status: "completed", paid: 12, charges: 1,
		},
		{
			name: "updated keeps the status and takes the new plan",
			sigs: []workflows.RazorpaySignal{
				rz("e1", "subscription.activated", "active", 1, 0, ""),
				func() workflows.RazorpaySignal {
					s := rz("e2", "subscription.updated", "active", 1, h, "")
					s.Event.Subscription.PlanID = "plan_2"
					return s
				}(),
			},
			access: []string{"granted", "granted"},
			status: "active", paid: 1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			r := runSubscription(t, e, tc.sigs, workflows.SubscriptionInput{})
			var got []string
			for _, st := range r.seen {
				got = append(got, st.Access)
			}
			if !slices.Equal(got, tc.access) {
				t.Errorf("access after each event = %v, want %v", got, tc.access)
			}
			last := r.seen[len(r.seen)-1]
			if last.Status != tc.status || last.PaidCount != tc.paid || len(last.Payments) != tc.charges ||
				last.EventsApplied != len(tc.sigs) {
				t.Errorf("state = %+v", last)
			}
			if tc.name == "updated keeps the status and takes the new plan" && last.PlanID != "plan_2" {
				t.Errorf("plan = %s", last.PlanID)
			}
		})
	}
}

// Swapping any two events of the recovery sequence leaves the same
// subscription at the end.
func TestSubscriptionAnyPairSwapped(t *testing.T) {
	type outcome struct {
		Status, Access, Plan, Customer string
		Paid                           int64
		Payments                       []string
	}
	summarise := func(st workflows.SubscriptionState) outcome {
		p := slices.Clone(st.Payments)
		slices.Sort(p)
		return outcome{st.Status, st.Access, st.PlanID, st.CustomerID, st.PaidCount, p}
	}
	base := recovery()
	want := outcome{"active", "granted", "plan_1", "cust_1", 2, []string{"pay_1", "pay_2"}}
	for i := range base {
		for j := i + 1; j < len(base); j++ {
			sigs := slices.Clone(base)
			sigs[i], sigs[j] = sigs[j], sigs[i]
			e := newEnv(t)
			r := runSubscription(t, e, sigs, workflows.SubscriptionInput{})
			if got := summarise(r.seen[len(r.seen)-1]); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("swap %s and %s: %+v, want %+v", base[i].Key, base[j].Key, got, want)
			}
		}
	}
}

func TestSamePaymentUnderNewEventIDsIsOneCharge(t *testing.T) {
	e := newEnv(t)
	sigs := []workflows.RazorpaySignal{
		rz("evt_a", "subscription.charged", "active", 1, 0, "pay_1"),
		rz("evt_b", "subscription.charged", "active", 1, 0, "pay_1"), // the same charge, redelivered under a new id
		rz("evt_a", "subscription.charged", "active", 1, 0, "pay_1"), // and the first delivery again
	}
	r := runSubscription(t, e, sigs, workflows.SubscriptionInput{})
	last := r.seen[len(r.seen)-1]
	if len(last.Payments) != 1 || last.PaidCount != 1 || last.EventsApplied != 2 || last.DuplicatesIgnored != 1 {
		t.Errorf("state = %+v", last)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range e.payments {
		if p.PaymentID != "pay_1" || p.Amount != 99900 || p.Currency != "INR" || p.Status != activities.PaymentCaptured {
			t.Errorf("payment row %+v", p)
		}
	}
}

func TestGraceExpiresIntoSuspension(t *testing.T) {
	cfg := workflows.DefaultConfig()
	day := 24 * time.Hour
	cases := []struct {
		name     string
		haltedAt time.Duration // after the first failure
	}{
		{"halted after Razorpay's three daily retries", 3 * day},
		{"halted early", 12 * time.Hour},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			var inGrace, before, after workflows.SubscriptionState
			e.at(time.Minute, func() {
				e.SignalWorkflow(workflows.SignalRazorpayEvent, rz("e1", "subscription.activated", "active", 1, 0, ""))
			})
			e.at(2*time.Minute, func() {
				e.SignalWorkflow(workflows.SignalRazorpayEvent, rz("e2", "subscription.pending", "pending", 1, time.Hour, ""))
			})
			halted := 2*time.Minute + tc.haltedAt
			e.at(halted, func() {
				e.SignalWorkflow(workflows.SignalRazorpayEvent, rz("e3", "subscription.halted", "halted", 1, 2*time.Hour, ""))
			})
			e.at(halted+time.Minute, func() { e.query(t, &inGrace) })
			e.at(halted+cfg.GracePeriod-time.Minute, func() { e.query(t, &before) })
			// A four-day silence after halted.
			e.at(halted+4*day, func() { e.query(t, &after) })
			e.ExecuteWorkflow(wf.SubscriptionWorkflow, workflows.SubscriptionInput{SubscriptionID: "sub_1"})
			if inGrace.Access != workflows.AccessGrace || before.Access != workflows.AccessGrace {
				t.Errorf("access before the grace ends: %s, %s", inGrace.Access, before.Access)
			}
			if after.Access != workflows.AccessSuspended || after.Status != "halted" {
				t.Errorf("four days after halted: access %s, status %s", after.Access, after.Status)
			}
			e.mu.Lock()
			last := e.subs[len(e.subs)-1]
			e.mu.Unlock()
			if last.Subscription.Access != workflows.AccessSuspended || last.Event != nil {
				t.Errorf("last write = %+v", last)
			}
		})
	}
}

func TestRecoveryInsideGraceCancelsSuspension(t *testing.T) {
	e := newEnv(t)
	h := time.Hour
	var later workflows.SubscriptionState
	sigs := []workflows.RazorpaySignal{
		rz("e1", "subscription.activated", "active", 1, 0, ""),
		rz("e2", "subscription.pending", "pending", 1, h, ""),
		rz("e3", "subscription.charged", "active", 2, 2*h, "pay_2"),
	}
	e.at(10*24*h, func() { e.query(t, &later) })
	r := runSubscription(t, e, sigs, workflows.SubscriptionInput{})
	if r.seen[1].Access != workflows.AccessGrace || r.seen[2].Access != workflows.AccessGranted {
		t.Errorf("access: %s then %s", r.seen[1].Access, r.seen[2].Access)
	}
	if later.Access != workflows.AccessGranted || !later.GraceUntil.IsZero() {
		t.Errorf("ten days later: %+v", later)
	}
}

// A failure handed over after a later charge was applied (the payment's
// workflow took its time) is kept as the last failure but does not take
// access away.
func TestLateFailureAfterRecoveryKeepsAccess(t *testing.T) {
	e := newEnv(t)
	late := failedPayment("evt_fail", "pay_2", "insufficient_funds")
	late.OccurredAt = t0.Add(time.Hour)
	sigs := []workflows.RazorpaySignal{
		rz("e1", "subscription.charged", "active", 2, 2*time.Hour, "pay_3"),
		late,
	}
	r := runSubscription(t, e, sigs, workflows.SubscriptionInput{})
	st := r.seen[1]
	if st.Access != workflows.AccessGranted || st.LastFailure == nil || st.LastFailure.PaymentID != "pay_2" {
		t.Errorf("state = %+v", st)
	}
}

func TestFailedPaymentHandedOverEntersGrace(t *testing.T) {
	e := newEnv(t)
	sigs := []workflows.RazorpaySignal{
		rz("e1", "subscription.charged", "active", 1, 0, "pay_1"),
		failedPayment("evt_fail", "pay_2", "insufficient_funds"),
		failedPayment("evt_fail", "pay_2", "insufficient_funds"), // the hand-over retried
		failedPayment("evt_late", "pay_1", "card_declined"),      // pay_1 was captured: not a failure for good
	}
	r := runSubscription(t, e, sigs, workflows.SubscriptionInput{})
	st := r.seen[1]
	if st.Access != workflows.AccessGrace || st.LastFailure == nil || st.LastFailure.PaymentID != "pay_2" ||
		st.LastFailure.Reason != "insufficient_funds" {
		t.Errorf("after the failure: %+v", st)
	}
	last := r.seen[3]
	if last.LastFailure.PaymentID != "pay_2" || last.DuplicatesIgnored != 1 {
		t.Errorf("after the late failure of a captured payment: %+v", last)
	}
}

// Continue-as-new carries the state, the grace deadline and the keys, and
// signals that arrive during the hand-over are applied before it.
func TestContinueAsNewCarriesEverything(t *testing.T) {
	e := newEnv(t)
	e.SetContinueAsNewSuggested(true)
	e.at(time.Minute, func() {
		e.SignalWorkflowSkippingWorkflowTask(workflows.SignalRazorpayEvent, rz("e2", "subscription.pending", "pending", 1, time.Hour, ""))
		e.SignalWorkflow(workflows.SignalRazorpayEvent, rz("e1", "subscription.charged", "active", 1, 0, "pay_1"))
	})
	e.ExecuteWorkflow(wf.SubscriptionWorkflow, workflows.SubscriptionInput{SubscriptionID: "sub_1"})
	var can *workflow.ContinueAsNewError
	if err := e.GetWorkflowError(); !asContinueAsNew(err, &can) {
		t.Fatalf("workflow ended with %v, want continue-as-new", err)
	}
	var next workflows.SubscriptionInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	c := next.Carry
	if c == nil || c.State.EventsApplied != 2 || c.State.Access != workflows.AccessGrace || c.State.GraceUntil.IsZero() ||
		!slices.Contains(c.RecentKeys, "e1") || !slices.Contains(c.RecentKeys, "e2") || len(c.State.Payments) != 1 {
		t.Fatalf("carried %+v", c)
	}

	// The next run re-arms the grace timer and still drops the old keys.
	e2 := newEnv(t)
	var st workflows.SubscriptionState
	e2.at(time.Minute, func() {
		e2.SignalWorkflow(workflows.SignalRazorpayEvent, rz("e1", "subscription.charged", "active", 1, 0, "pay_1"))
	})
	e2.at(c.State.GraceUntil.Sub(t0)+time.Minute, func() { e2.query(t, &st) })
	e2.ExecuteWorkflow(wf.SubscriptionWorkflow, next)
	if st.Access != workflows.AccessSuspended || st.DuplicatesIgnored != 1 || st.EventsApplied != 2 {
		t.Errorf("after the carried grace ran out: %+v", st)
	}
}

func asContinueAsNew(err error, target **workflow.ContinueAsNewError) bool {
	for err != nil {
		if c, ok := err.(*workflow.ContinueAsNewError); ok {
			*target = c
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

// A fresh run (after a terminate, say) must not have its writes dropped as
// older than those of the run before it: revisions grow with workflow time
// across runs, and by one at least within a run.
func TestSubscriptionRevisionsGrowAcrossRuns(t *testing.T) {
	e := newEnv(t)
	// Whatever a run before this one wrote: a count of its changes, or a
	// time before this run began.
	previous := e.Now().UnixMicro() - 1
	e.at(time.Minute, func() {
		e.SignalWorkflow(workflows.SignalRazorpayEvent, rz("e1", "subscription.activated", "active", 1, 0, ""))
		e.SignalWorkflow(workflows.SignalRazorpayEvent, rz("e2", "subscription.charged", "active", 2, time.Hour, "pay_2"))
	})
	e.ExecuteWorkflow(wf.SubscriptionWorkflow, workflows.SubscriptionInput{SubscriptionID: "sub_1"})
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.subs) < 2 {
		t.Fatalf("%d writes, want 2 at least", len(e.subs))
	}
	last := previous
	for i, s := range e.subs {
		if s.Subscription.Revision <= last {
			t.Errorf("write %d has revision %d, not above %d", i, s.Subscription.Revision, last)
		}
		last = s.Subscription.Revision
	}
}

// A failure without created_at is dated by its arrival, as every other
// event is: it is news, not history, and starts the grace period.
func TestFailureWithoutEventTimeEntersGrace(t *testing.T) {
	e := newEnv(t)
	undated := failedPayment("evt_fail", "pay_2", "insufficient_funds")
	undated.OccurredAt, undated.Event.CreatedAt, undated.ReceivedAt = time.Time{}, time.Time{}, t0.Add(time.Hour)
	r := runSubscription(t, e, []workflows.RazorpaySignal{rz("e1", "subscription.charged", "active", 1, 0, "pay_1"), undated},
		workflows.SubscriptionInput{})
	if st := r.seen[1]; st.Access != workflows.AccessGrace || st.LastFailure == nil || st.LastFailure.PaymentID != "pay_2" {
		t.Errorf("after an undated failure: %+v", st)
	}
}

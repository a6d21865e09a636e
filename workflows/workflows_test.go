package workflows_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	sdklog "go.temporal.io/sdk/log"
	sdktemporal "go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/zentrix/webhooks/activities"
	"github.com/zentrix/webhooks/event"
	"github.com/zentrix/webhooks/workflows"
)

// env is a test workflow environment whose activities are mocked: it
// remembers every event row and call snapshot it was asked to write, and
// fail, if set, decides an activity's error first.
type env struct {
	*testsuite.TestWorkflowEnvironment
	mu        sync.Mutex
	recorded  []activities.EventRecord
	snapshots []activities.CallSnapshot
	subs      []activities.SubscriptionSnapshot
	payments  []activities.PaymentRecord
	notified  []activities.NotifyInput
	attempts  map[string]int // per activity and event key: how often it ran
	fail      func(activity string, ev *activities.EventRecord, attempt int) error
	// find and lookup answer FindSubscription and LookupInvoice.
	find   func(activities.PaymentHints) string
	lookup func(invoiceID string) (activities.InvoiceLookup, error)
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{TestWorkflowEnvironment: newSuite().NewTestWorkflowEnvironment(), attempts: map[string]int{}}
	e.SetStartTime(t0) // workflow.Now, and so every record's UpdatedAt, is the same in every run
	e.RegisterActivity(&activities.Activities{})
	e.OnActivity("RecordEvent", mock.Anything, mock.Anything).Return(
		func(_ context.Context, rec activities.EventRecord) error {
			return e.write("RecordEvent", &rec, nil)
		}).Maybe()
	e.OnActivity("SaveCall", mock.Anything, mock.Anything).Return(
		func(_ context.Context, snap activities.CallSnapshot) error {
			return e.write("SaveCall", snap.Event, &snap)
		}).Maybe()
	e.OnActivity("SaveSubscription", mock.Anything, mock.Anything).Return(
		func(_ context.Context, snap activities.SubscriptionSnapshot) error {
			if err := e.write("SaveSubscription", snap.Event, nil); err != nil {
				return err
			}
			e.mu.Lock()
			defer e.mu.Unlock()
			e.subs = append(e.subs, snap)
			if snap.Payment != nil {
				e.payments = append(e.payments, *snap.Payment)
			}
			return nil
		}).Maybe()
	e.OnActivity("SavePayment", mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SavePaymentInput) error {
			if err := e.write("SavePayment", in.Event, nil); err != nil {
				return err
			}
			e.mu.Lock()
			defer e.mu.Unlock()
			e.payments = append(e.payments, in.Payment)
			return nil
		}).Maybe()
	e.OnActivity("FindSubscription", mock.Anything, mock.Anything).Return(
		func(_ context.Context, h activities.PaymentHints) (string, error) {
			if e.find == nil {
				return "", nil
			}
			return e.find(h), nil
		}).Maybe()
	e.OnActivity("LookupInvoice", mock.Anything, mock.Anything).Return(
		func(_ context.Context, id string) (activities.InvoiceLookup, error) {
			if e.lookup == nil {
				return activities.InvoiceLookup{}, nil
			}
			return e.lookup(id)
		}).Maybe()
	e.OnActivity("NotifySubscription", mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.NotifyInput) error {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.notified = append(e.notified, in)
			return nil
		}).Maybe()
	return e
}

func (e *env) write(activity string, ev *activities.EventRecord, snap *activities.CallSnapshot) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	key := activity
	if ev != nil {
		key += " " + ev.EventKey
	}
	e.attempts[key]++
	if e.fail != nil {
		if err := e.fail(activity, ev, e.attempts[key]); err != nil {
			return err
		}
	}
	if ev != nil {
		e.recorded = append(e.recorded, *ev)
	}
	if snap != nil {
		e.snapshots = append(e.snapshots, *snap)
	}
	return nil
}

func (e *env) records() []activities.EventRecord {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]activities.EventRecord(nil), e.recorded...)
}

func (e *env) lastSnapshot(t *testing.T) activities.CallSnapshot {
	t.Helper()
	e.mu.Lock()
	n := len(e.snapshots)
	e.mu.Unlock()
	return e.snapshot(t, n-1)
}

// snapshot returns the i-th call snapshot written.
func (e *env) snapshot(t *testing.T, i int) activities.CallSnapshot {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if i < 0 || i >= len(e.snapshots) {
		t.Fatalf("no call snapshot #%d (%d written)", i, len(e.snapshots))
	}
	return e.snapshots[i]
}

func newSuite() *testsuite.WorkflowTestSuite {
	s := &testsuite.WorkflowTestSuite{}
	s.SetLogger(sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	return s
}

// at schedules fn at offset d of workflow time.
func (e *env) at(d time.Duration, fn func()) { e.RegisterDelayedCallback(fn, d) }

func (e *env) query(t *testing.T, into any) {
	t.Helper()
	v, err := e.QueryWorkflow(workflows.QueryState)
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	if err := v.Get(into); err != nil {
		t.Fatal(err)
	}
}

var wf = workflows.New(workflows.DefaultConfig())

var t0 = time.Date(2026, 3, 5, 14, 25, 0, 0, time.UTC)

func callSignal(typ string, at time.Duration, data event.CallData) workflows.CallSignal {
	c := event.Call{Event: typ, Timestamp: t0.Add(at), Data: data}
	return workflows.CallSignal{
		Delivery: workflows.Delivery{Key: c.Key(), Type: typ, OccurredAt: c.Timestamp, ReceivedAt: c.Timestamp,
			PayloadSHA256: "00000000000000000000000000000000000000000000000000000000000000aa"},
		Call: data,
	}
}

func started() workflows.CallSignal {
	return callSignal(event.CallStarted, 0, event.CallData{CallID: "call_1", AgentID: "agent_a", Platform: "phone"})
}

func transferred(at time.Duration, from, to string) workflows.CallSignal {
	return callSignal(event.CallTransferred, at, event.CallData{CallID: "call_1", FromAgentID: from, ToAgentID: to, TransferReason: "escalation"})
}

func ended() workflows.CallSignal {
	return callSignal(event.CallEnded, 5*time.Minute, event.CallData{CallID: "call_1", AgentID: "agent_a", Duration: 300,
		Sentiment: "positive", DisconnectionReason: "agent_ended", Transcript: "Agent: hello"})
}

func TestCallLifecycleWithDuplicates(t *testing.T) {
	e := newEnv(t)
	var mid workflows.CallState
	e.at(time.Second, func() { e.SignalWorkflow(workflows.SignalCallEvent, started()) })
	e.at(2*time.Second, func() { e.SignalWorkflow(workflows.SignalCallEvent, started()) }) // redelivery
	e.at(3*time.Second, func() { e.query(t, &mid) })
	e.at(4*time.Second, func() { e.SignalWorkflow(workflows.SignalCallEvent, transferred(time.Minute, "agent_a", "human_1")) })
	e.at(5*time.Second, func() { e.SignalWorkflow(workflows.SignalCallEvent, ended()) })
	e.at(6*time.Second, func() { e.SignalWorkflow(workflows.SignalCallEvent, ended()) }) // redelivery while lingering
	e.ExecuteWorkflow(wf.CallWorkflow, workflows.CallInput{CallID: "call_1"})

	if !e.IsWorkflowCompleted() || e.GetWorkflowError() != nil {
		t.Fatalf("completed %v, error %v", e.IsWorkflowCompleted(), e.GetWorkflowError())
	}
	if mid.Status != workflows.CallInProgress || mid.AgentID != "agent_a" || mid.EventsApplied != 1 || mid.DuplicatesIgnored != 1 {
		t.Errorf("state after start = %+v", mid)
	}
	var final workflows.CallState
	if err := e.GetWorkflowResult(&final); err != nil {
		t.Fatal(err)
	}
	if final.Status != workflows.CallEnded || final.AgentID != "human_1" || len(final.Transfers) != 1 ||
		final.Duration != 300 || final.Sentiment != "positive" || final.DisconnectionReason != "agent_ended" ||
		final.EventsApplied != 3 || final.DuplicatesIgnored != 2 || final.Platform != "phone" {
		t.Errorf("final state = %+v", final)
	}
	recs := e.records()
	if len(recs) != 3 {
		t.Fatalf("%d events recorded, want 3: %+v", len(recs), recs)
	}
	for _, r := range recs {
		if r.Source != activities.SourceCalls || r.WorkflowID != "call_1" || r.EventKey == "" || len(r.PayloadSHA256) != 64 {
			t.Errorf("record %+v", r)
		}
	}
}

func TestCallLingersAfterTheEnd(t *testing.T) {
	e := newEnv(t)
	var lingering workflows.CallState
	e.at(time.Second, func() { e.SignalWorkflow(workflows.SignalCallEvent, ended()) })
	// A transfer delivered a day late still lands in the same run.
	e.at(24*time.Hour, func() { e.SignalWorkflow(workflows.SignalCallEvent, transferred(time.Minute, "agent_a", "human_1")) })
	e.at(24*time.Hour+time.Second, func() { e.query(t, &lingering) })
	e.ExecuteWorkflow(wf.CallWorkflow, workflows.CallInput{CallID: "call_1"})
	if !e.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete after the linger window")
	}
	if lingering.Status != workflows.CallEnded || len(lingering.Transfers) != 1 || lingering.EventsApplied != 2 {
		t.Errorf("state while lingering = %+v", lingering)
	}
}

func TestCallOutOfOrder(t *testing.T) {
	e := newEnv(t)
	// Ended first, then the second transfer, then the first, then the start.
	e.at(time.Second, func() { e.SignalWorkflow(workflows.SignalCallEvent, ended()) })
	e.at(2*time.Second, func() { e.SignalWorkflow(workflows.SignalCallEvent, transferred(2*time.Minute, "human_1", "human_2")) })
	e.at(3*time.Second, func() { e.SignalWorkflow(workflows.SignalCallEvent, transferred(time.Minute, "agent_a", "human_1")) })
	e.at(4*time.Second, func() { e.SignalWorkflow(workflows.SignalCallEvent, started()) })
	e.ExecuteWorkflow(wf.CallWorkflow, workflows.CallInput{CallID: "call_1"})
	var final workflows.CallState
	if err := e.GetWorkflowResult(&final); err != nil {
		t.Fatal(err)
	}
	if final.Status != workflows.CallEnded || final.AgentID != "human_2" || final.EventsApplied != 4 {
		t.Errorf("final state = %+v", final)
	}
	if len(final.Transfers) != 2 || final.Transfers[0].ToAgentID != "human_1" || final.Transfers[1].ToAgentID != "human_2" {
		t.Errorf("transfers not in event-time order: %+v", final.Transfers)
	}
	if !final.StartedAt.Equal(t0) {
		t.Errorf("late start not filled in: %v", final.StartedAt)
	}
}

func TestRejectedWriteIsKeptAndLaterEventsStillLand(t *testing.T) {
	e := newEnv(t)
	e.fail = func(_ string, ev *activities.EventRecord, _ int) error {
		if ev != nil && ev.EventType == "call.started" {
			return sdktemporal.NewNonRetryableApplicationError("save call call_1: rejected by the database: transcript contains a NUL byte",
				activities.ErrTypeRejected, nil)
		}
		return nil
	}
	e.at(time.Second, func() { e.SignalWorkflow(workflows.SignalCallEvent, started()) })
	e.at(2*time.Second, func() { e.SignalWorkflow(workflows.SignalCallEvent, ended()) })
	e.ExecuteWorkflow(wf.CallWorkflow, workflows.CallInput{CallID: "call_1"})
	var final workflows.CallState
	if err := e.GetWorkflowResult(&final); err != nil {
		t.Fatalf("a rejected write failed the workflow: %v", err)
	}
	if len(final.RejectedEvents) != 1 || final.RejectedEvents[0].Key != "call_1/call.started" ||
		!strings.Contains(final.RejectedEvents[0].Reason, "rejected by the database") {
		t.Errorf("rejected events = %+v", final.RejectedEvents)
	}
	if recs := e.records(); len(recs) != 1 || recs[0].EventType != "call.ended" {
		t.Errorf("the event after the rejected one was not recorded: %+v", recs)
	}
	// The later snapshot still carries what the rejected event brought.
	if snap := e.lastSnapshot(t); snap.Call.Status != workflows.CallEnded || snap.Call.StartedAt.IsZero() {
		t.Errorf("last snapshot = %+v", snap.Call)
	}
	if final.Status != workflows.CallEnded || final.EventsApplied != 2 {
		t.Errorf("final state = %+v", final)
	}
}

func TestFailingWritesAreRetriedUntilTheyLand(t *testing.T) {
	e := newEnv(t)
	e.fail = func(activity string, ev *activities.EventRecord, attempt int) error {
		if attempt <= 3 {
			return errors.New("database is down")
		}
		return nil
	}
	e.at(time.Second, func() { e.SignalWorkflow(workflows.SignalCallEvent, started()) })
	e.at(2*time.Second, func() { e.SignalWorkflow(workflows.SignalCallEvent, ended()) })
	e.ExecuteWorkflow(wf.CallWorkflow, workflows.CallInput{CallID: "call_1"})
	var final workflows.CallState
	if err := e.GetWorkflowResult(&final); err != nil {
		t.Fatalf("workflow failed while the database was down: %v", err)
	}
	if final.Status != workflows.CallEnded || len(final.RejectedEvents) != 0 {
		t.Errorf("final state = %+v", final)
	}
	if got := e.attempts["SaveCall call_1/call.started"]; got != 4 {
		t.Errorf("call.started written in %d attempts, want 4 (3 failures, then success)", got)
	}
	if n := len(e.records()); n != 2 {
		t.Errorf("%d events recorded, want 2", n)
	}
}

func razorpaySignal(key, typ string, sub *event.Subscription, pay *event.Payment) workflows.RazorpaySignal {
	return workflows.RazorpaySignal{
		Delivery: workflows.Delivery{Key: key, Type: typ, OccurredAt: t0, ReceivedAt: t0,
			PayloadSHA256: "00000000000000000000000000000000000000000000000000000000000000bb"},
		Event: event.Razorpay{Event: typ, CreatedAt: t0, Subscription: sub, Payment: pay},
	}
}

func TestSubscriptionEventsAndDuplicates(t *testing.T) {
	e := newEnv(t)
	sub := func(status string, paid int64) *event.Subscription {
		return &event.Subscription{ID: "sub_1", PlanID: "plan_1", CustomerID: "cust_1", Status: status, PaidCount: paid}
	}
	activated := razorpaySignal("evt_1", "subscription.activated", sub("active", 1), nil)
	charged := razorpaySignal("evt_2", "subscription.charged", sub("active", 2),
		&event.Payment{ID: "pay_2", Status: "captured", Captured: true, Amount: 99900})
	var afterDup, afterCharge workflows.SubscriptionState
	e.at(time.Second, func() { e.SignalWorkflow(workflows.SignalRazorpayEvent, activated) })
	e.at(2*time.Second, func() { e.SignalWorkflow(workflows.SignalRazorpayEvent, activated) })
	e.at(3*time.Second, func() { e.query(t, &afterDup) })
	e.at(4*time.Second, func() { e.SignalWorkflow(workflows.SignalRazorpayEvent, charged) })
	e.at(5*time.Second, func() { e.query(t, &afterCharge) })
	e.at(6*time.Second, func() {
		e.SignalWorkflow(workflows.SignalRazorpayEvent, razorpaySignal("evt_3", "subscription.cancelled", sub("cancelled", 2), nil))
	})
	e.ExecuteWorkflow(wf.SubscriptionWorkflow, workflows.SubscriptionInput{SubscriptionID: "sub_1"})

	if afterDup.Status != "active" || afterDup.Access != workflows.AccessGranted || afterDup.EventsApplied != 1 ||
		afterDup.DuplicatesIgnored != 1 || afterDup.PlanID != "plan_1" || afterDup.CustomerID != "cust_1" {
		t.Errorf("state after duplicate = %+v", afterDup)
	}
	if afterCharge.PaidCount != 2 || len(afterCharge.Payments) != 1 || afterCharge.Payments[0] != "pay_2" {
		t.Errorf("state after charge = %+v", afterCharge)
	}
	var final workflows.SubscriptionState
	if err := e.GetWorkflowResult(&final); err != nil {
		t.Fatal(err)
	}
	if final.Status != "cancelled" || final.Access != workflows.AccessRevoked || final.EventsApplied != 3 {
		t.Errorf("final state = %+v", final)
	}
	if n := len(e.records()); n != 3 {
		t.Errorf("%d events recorded, want 3", n)
	}
}

func TestPaymentWorkflowRecordsTheFailureAndCompletes(t *testing.T) {
	e := newEnv(t)
	failed := razorpaySignal("evt_9", event.PaymentFailed, nil,
		&event.Payment{ID: "pay_9", Status: "failed", ErrorCode: "BAD_REQUEST_ERROR", ErrorReason: "insufficient_funds"})
	e.at(time.Second, func() { e.SignalWorkflow(workflows.SignalRazorpayEvent, failed) })
	e.at(time.Hour, func() { e.SignalWorkflow(workflows.SignalRazorpayEvent, failed) }) // redelivery while lingering
	e.ExecuteWorkflow(wf.PaymentWorkflow, workflows.PaymentInput{PaymentID: "pay_9"})
	var final workflows.PaymentState
	if err := e.GetWorkflowResult(&final); err != nil {
		t.Fatal(err)
	}
	if final.PaymentID != "pay_9" || final.Status != "failed" || final.Reason != "insufficient_funds" || final.EventsApplied != 1 ||
		final.DuplicatesIgnored != 1 || final.Resolution != workflows.ResolutionOneOff {
		t.Errorf("final state = %+v", final)
	}
	recs := e.records()
	if len(recs) != 1 || recs[0].Source != activities.SourceRazorpay || recs[0].EventKey != "evt_9" || recs[0].WorkflowID != "pay_9" {
		t.Errorf("records = %+v", recs)
	}
}

// A signal delivered in the same workflow task as the end of the linger
// window is applied before the workflow completes, not lost.
func TestSignalAtTheEndOfTheLingerIsApplied(t *testing.T) {
	e := newEnv(t)
	cfg := workflows.DefaultConfig()
	e.at(time.Second, func() { e.SignalWorkflow(workflows.SignalCallEvent, ended()) })
	e.at(time.Second+cfg.CallLinger-time.Millisecond, func() {
		e.SignalWorkflowSkippingWorkflowTask(workflows.SignalCallEvent, transferred(time.Minute, "agent_a", "human_1"))
	})
	e.ExecuteWorkflow(wf.CallWorkflow, workflows.CallInput{CallID: "call_1"})
	var final workflows.CallState
	if err := e.GetWorkflowResult(&final); err != nil {
		t.Fatal(err)
	}
	if len(final.Transfers) != 1 || final.EventsApplied != 2 || len(e.records()) != 2 {
		t.Errorf("the last-moment transfer was lost: %+v", final)
	}
}

// permutations returns every order of xs.
func permutations[T any](xs []T) [][]T {
	if len(xs) <= 1 {
		return [][]T{append([]T(nil), xs...)}
	}
	var out [][]T
	for i := range xs {
		rest := append(append([]T(nil), xs[:i]...), xs[i+1:]...)
		for _, p := range permutations(rest) {
			out = append(out, append([]T{xs[i]}, p...))
		}
	}
	return out
}

// Whatever the order of a call's four events, each delivered twice, the
// final state, the final record written and the set of event rows are those
// of the ordered sequence.
func TestCallEventsInEveryOrder(t *testing.T) {
	events := []workflows.CallSignal{
		started(),
		transferred(time.Minute, "agent_a", "human_1"),
		transferred(2*time.Minute, "human_1", "human_2"),
		ended(),
	}
	type outcome struct {
		State  workflows.CallState
		Record activities.CallSnapshot
		Keys   []string
	}
	run := func(order []workflows.CallSignal) outcome {
		e := newEnv(t)
		for i, sig := range order {
			e.at(time.Duration(2*i+1)*time.Second, func() { e.SignalWorkflow(workflows.SignalCallEvent, sig) })
			e.at(time.Duration(2*i+2)*time.Second, func() { e.SignalWorkflow(workflows.SignalCallEvent, sig) })
		}
		e.ExecuteWorkflow(wf.CallWorkflow, workflows.CallInput{CallID: "call_1"})
		var o outcome
		if err := e.GetWorkflowResult(&o.State); err != nil {
			t.Fatal(err)
		}
		o.Record = e.lastSnapshot(t)
		o.Record.Event = nil // the event that came last differs by order
		for _, r := range e.records() {
			o.Keys = append(o.Keys, r.EventKey)
		}
		slices.Sort(o.Keys)
		return o
	}
	want := run(events)
	if want.State.Status != workflows.CallEnded || want.State.AgentID != "human_2" || len(want.State.Transfers) != 2 ||
		want.State.EventsApplied != 4 || want.State.DuplicatesIgnored != 4 || len(want.Keys) != 4 ||
		want.Record.Call.Revision != 4 || want.Record.Call.Transcript != "Agent: hello" || len(want.Record.Transfers) != 2 {
		t.Fatalf("ordered run: %+v", want)
	}
	wantJSON, _ := json.Marshal(want)
	for _, order := range permutations(events)[1:] {
		got := run(order)
		if gotJSON, _ := json.Marshal(got); string(gotJSON) != string(wantJSON) {
			var names []string
			for _, s := range order {
				names = append(names, s.Key)
			}
			t.Errorf("order %v:\n got %s\nwant %s", names, gotJSON, wantJSON)
		}
	}
}

func TestSilentCallIsAbandonedThenCompletes(t *testing.T) {
	e := newEnv(t)
	cfg := workflows.DefaultConfig()
	var before, after workflows.CallState
	e.at(time.Second, func() { e.SignalWorkflow(workflows.SignalCallEvent, started()) })
	e.at(cfg.CallMaxDuration-time.Minute, func() { e.query(t, &before) })
	e.at(cfg.CallMaxDuration+time.Minute, func() { e.query(t, &after) })
	e.ExecuteWorkflow(wf.CallWorkflow, workflows.CallInput{CallID: "call_1"})
	if !e.IsWorkflowCompleted() || e.GetWorkflowError() != nil {
		t.Fatalf("completed %v, error %v", e.IsWorkflowCompleted(), e.GetWorkflowError())
	}
	if before.Status != workflows.CallInProgress || after.Status != workflows.CallAbandoned {
		t.Errorf("status %q before the maximum duration, %q after", before.Status, after.Status)
	}
	snap := e.lastSnapshot(t)
	if snap.Call.Status != workflows.CallAbandoned || snap.Event != nil || snap.Call.Revision != 2 {
		t.Errorf("abandoned record = %+v (event %v)", snap.Call, snap.Event)
	}
}

func TestEndAfterAbandonmentIsStillApplied(t *testing.T) {
	e := newEnv(t)
	e.at(time.Second, func() { e.SignalWorkflow(workflows.SignalCallEvent, started()) })
	e.at(10*time.Hour, func() { e.SignalWorkflow(workflows.SignalCallEvent, ended()) })
	e.ExecuteWorkflow(wf.CallWorkflow, workflows.CallInput{CallID: "call_1"})
	var final workflows.CallState
	if err := e.GetWorkflowResult(&final); err != nil {
		t.Fatal(err)
	}
	if final.Status != workflows.CallEnded || final.Duration != 300 || final.EventsApplied != 2 {
		t.Errorf("final state = %+v", final)
	}
	if snap := e.lastSnapshot(t); snap.Call.Status != workflows.CallEnded || snap.Call.Revision != 3 {
		t.Errorf("last record = %+v", snap.Call)
	}
}

func TestEveryTransition(t *testing.T) {
	cases := []struct {
		name   string
		events []workflows.CallSignal
		status string
		agent  string
	}{
		{"started", []workflows.CallSignal{started()}, workflows.CallInProgress, "agent_a"},
		{"transferred", []workflows.CallSignal{started(), transferred(time.Minute, "agent_a", "human_1")}, workflows.CallTransferred, "human_1"},
		{"transfer before start", []workflows.CallSignal{transferred(time.Minute, "agent_a", "human_1")}, workflows.CallTransferred, "human_1"},
		{"ended", []workflows.CallSignal{started(), ended()}, workflows.CallEnded, "agent_a"},
		{"ended alone", []workflows.CallSignal{ended()}, workflows.CallEnded, "agent_a"},
		{"start after end does not reopen", []workflows.CallSignal{ended(), started()}, workflows.CallEnded, "agent_a"},
		{"transfer after end", []workflows.CallSignal{started(), ended(), transferred(time.Minute, "agent_a", "human_1")}, workflows.CallEnded, "human_1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			var st workflows.CallState
			for i, sig := range tc.events {
				e.at(time.Duration(i+1)*time.Second, func() { e.SignalWorkflow(workflows.SignalCallEvent, sig) })
			}
			e.at(time.Duration(len(tc.events)+1)*time.Second, func() { e.query(t, &st) })
			e.ExecuteWorkflow(wf.CallWorkflow, workflows.CallInput{CallID: "call_1"})
			if st.Status != tc.status || st.AgentID != tc.agent || st.EventsApplied != len(tc.events) {
				t.Errorf("state = %+v, want status %s, agent %s", st, tc.status, tc.agent)
			}
			if snap := e.snapshot(t, len(tc.events)-1); snap.Call.Status != tc.status || snap.Call.CurrentAgentID != tc.agent {
				t.Errorf("record = %+v", snap.Call)
			}
		})
	}
}

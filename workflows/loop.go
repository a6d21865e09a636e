package workflows

import (
	"errors"
	"time"

	sdktemporal "go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/zentrix/webhooks/activities"
)

// Side-effect activities are retried until the database takes the write: an
// outage delays events, it never loses them. A write the database rejects for
// its data fails at once (activities.ErrTypeRejected).
var storeActivity = workflow.ActivityOptions{
	// A write takes milliseconds; an attempt lost with a crashed worker is
	// retried elsewhere after this long.
	StartToCloseTimeout: 10 * time.Second,
	RetryPolicy: &sdktemporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        time.Minute,
		NonRetryableErrorTypes: []string{activities.ErrTypeRejected},
	},
}

// acts names the activities for ExecuteActivity; the worker registers the real
// value.
var acts *activities.Activities

// Rejected is an event whose write the database refused for its data. The
// workflow keeps it in its state and goes on with the next event; the failed
// activity and its message stay in the history for an operator.
type Rejected struct {
	Key    string `json:"key"`
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

// recordEvent writes the webhook_events row of an accepted event. A write the
// database rejects is appended to rejected instead of failing the workflow,
// which would strand the events buffered behind it.
func recordEvent(ctx workflow.Context, source, workflowID string, d Delivery, rejected *[]Rejected) error {
	opts := storeActivity
	opts.Summary = "record " + d.Type
	ctx = workflow.WithActivityOptions(ctx, opts)
	err := workflow.ExecuteActivity(ctx, acts.RecordEvent, *eventRecord(source, workflowID, d)).Get(ctx, nil)
	return rejection(ctx, err, workflowID, d.Key, d.Type, rejected)
}

// eventRecord is the webhook_events row of a delivery.
func eventRecord(source, workflowID string, d Delivery) *activities.EventRecord {
	return &activities.EventRecord{
		Source:        source,
		EventKey:      d.Key,
		EventType:     d.Type,
		WorkflowID:    workflowID,
		PayloadSHA256: d.PayloadSHA256,
		OccurredAt:    d.OccurredAt,
		ReceivedAt:    d.ReceivedAt,
	}
}

// drain handles every signal already buffered on ch.
func drain[T any](ch workflow.ReceiveChannel, handle func(T) error) error {
	for {
		var sig T
		if !ch.ReceiveAsync(&sig) {
			return nil
		}
		if err := handle(sig); err != nil {
			return err
		}
	}
}

// saveCall writes a call's snapshot under the given activity summary.
func saveCall(ctx workflow.Context, summary string, snap activities.CallSnapshot, rejected *[]Rejected) error {
	opts := storeActivity
	opts.Summary = summary
	ctx = workflow.WithActivityOptions(ctx, opts)
	err := workflow.ExecuteActivity(ctx, acts.SaveCall, snap).Get(ctx, nil)
	key, typ := "", "abandoned"
	if snap.Event != nil {
		key, typ = snap.Event.EventKey, snap.Event.EventType
	}
	return rejection(ctx, err, snap.Call.CallID, key, typ, rejected)
}

// rejection turns a write the database rejected into an entry of rejected and
// lets the workflow go on; any other error is returned.
func rejection(ctx workflow.Context, err error, workflowID, key, typ string, rejected *[]Rejected) error {
	var appErr *sdktemporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeRejected {
		workflow.GetLogger(ctx).Error("write rejected by the database", "workflow_id", workflowID,
			"event_key", key, "error", appErr.Message())
		*rejected = append(*rejected, Rejected{Key: key, Type: typ, Reason: appErr.Message()})
		return nil
	}
	return err
}

// The workflows' own metrics, reported through the worker's metrics handler
// (replay-safe) with a "workflow" tag: call, subscription or payment.
const (
	metricEventsApplied     = "zentrix_events_applied"
	metricDuplicatesDropped = "zentrix_duplicates_dropped"
	metricOutOfOrder        = "zentrix_out_of_order_events"
	metricGraceStarted      = "zentrix_grace_periods_started"
	metricGraceExpired      = "zentrix_grace_periods_expired"
	workflowTagCall         = "call"
	workflowTagSubscription = "subscription"
	workflowTagPayment      = "payment"
)

// MetricHelp describes the workflows' own metrics, for the worker's
// metrics handler.
var MetricHelp = map[string]string{
	metricEventsApplied:     "Events applied by the workflows, by workflow (call, subscription, payment).",
	metricDuplicatesDropped: "Events dropped by the workflows as already applied (same event key, or a charge's payment id seen before).",
	metricOutOfOrder:        "Subscription events older than the state applied, which did not move it back.",
	metricGraceStarted:      "Grace periods started after a failed charge.",
	metricGraceExpired:      "Grace periods that ended without a successful charge: access suspended.",
}

// count bumps one of the workflows' counters.
func count(ctx workflow.Context, workflowTag, name string) {
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"workflow": workflowTag}).Counter(name).Inc(1)
}

// seenKeys remembers the event keys a workflow has applied, to drop
// redeliveries.
type seenKeys map[string]struct{}

// add records key and reports whether it is new.
func (s seenKeys) add(key string) bool {
	if _, ok := s[key]; ok {
		return false
	}
	s[key] = struct{}{}
	return true
}

// loopOptions shape a workflow's life around its signals.
type loopOptions struct {
	// Linger is how long the workflow keeps taking signals once closed.
	Linger time.Duration
	// Deadline, if positive, fires OnDeadline that long after the loop starts
	// unless the workflow has closed by then.
	Deadline        time.Duration
	DeadlineSummary string
	OnDeadline      func() error
}

// receiveLoop feeds every signal on ch to handle until closed reports true
// (or the deadline passes and OnDeadline closes it); then it keeps handling
// late signals for the linger window, drains what is buffered and returns.
// Late redeliveries thus land in the same run, and a signal that arrives as
// the workflow completes is handled rather than lost.
func receiveLoop[T any](ctx workflow.Context, ch workflow.ReceiveChannel, opts loopOptions,
	handle func(T) error, closed func() bool,
) error {
	var deadline workflow.Future
	deadlineCtx, cancelDeadline := workflow.WithCancel(ctx)
	if opts.Deadline > 0 {
		deadline = workflow.NewTimerWithOptions(deadlineCtx, opts.Deadline, workflow.TimerOptions{Summary: opts.DeadlineSummary})
	}
	receive := func(sel workflow.Selector, err *error) {
		sel.AddReceive(ch, func(c workflow.ReceiveChannel, _ bool) {
			var sig T
			c.Receive(ctx, &sig)
			*err = handle(sig)
		})
	}

	for !closed() {
		var err error
		sel := workflow.NewSelector(ctx)
		receive(sel, &err)
		if deadline != nil {
			sel.AddFuture(deadline, func(workflow.Future) {
				deadline = nil
				err = opts.OnDeadline()
			})
		}
		sel.Select(ctx)
		if err != nil {
			cancelDeadline()
			return err
		}
	}
	cancelDeadline() // closed before the deadline: its timer is no longer needed

	if opts.Linger > 0 {
		lingering := true
		timer := workflow.NewTimerWithOptions(ctx, opts.Linger, workflow.TimerOptions{
			Summary: "linger for late redeliveries",
		})
		var err error
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(timer, func(workflow.Future) { lingering = false })
		receive(sel, &err)
		for lingering && err == nil {
			sel.Select(ctx)
		}
		if err != nil {
			return err
		}
	}
	return drain(ch, handle)
}

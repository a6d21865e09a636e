package workflows

import (
	"time"

	sdktemporal "go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/zentrix/webhooks/activities"
)

// Side-effect activities are retried until the database takes the write: an
// outage delays events, it never loses them. A write the database rejects for
// its data fails at once (activities.ErrTypeRejected).
var storeActivity = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
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

// recordEvent writes the webhook_events row of an accepted event.
func recordEvent(ctx workflow.Context, source, workflowID string, d Delivery) error {
	opts := storeActivity
	opts.Summary = "record " + d.Type
	ctx = workflow.WithActivityOptions(ctx, opts)
	return workflow.ExecuteActivity(ctx, acts.RecordEvent, activities.EventRecord{
		Source:        source,
		EventKey:      d.Key,
		EventType:     d.Type,
		WorkflowID:    workflowID,
		PayloadSHA256: d.PayloadSHA256,
		OccurredAt:    d.OccurredAt,
		ReceivedAt:    d.ReceivedAt,
	}).Get(ctx, nil)
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

// receiveLoop feeds every signal on ch to handle until closed reports true;
// then it keeps handling late signals for linger, drains what is buffered and
// returns. Late redeliveries thus land in the same run, and a signal that
// arrives as the workflow completes is handled rather than lost.
func receiveLoop[T any](ctx workflow.Context, ch workflow.ReceiveChannel, linger time.Duration,
	handle func(T) error, closed func() bool,
) error {
	for !closed() {
		var sig T
		ch.Receive(ctx, &sig)
		if err := handle(sig); err != nil {
			return err
		}
	}
	if linger > 0 {
		timerCtx, cancel := workflow.WithCancel(ctx)
		defer cancel()
		timer := workflow.NewTimerWithOptions(timerCtx, linger, workflow.TimerOptions{
			Summary: "linger for late redeliveries",
		})
		lingering := true
		var handleErr error
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(timer, func(workflow.Future) { lingering = false })
		sel.AddReceive(ch, func(c workflow.ReceiveChannel, _ bool) {
			var sig T
			c.Receive(ctx, &sig)
			handleErr = handle(sig)
		})
		for lingering && handleErr == nil {
			sel.Select(ctx)
		}
		if handleErr != nil {
			return handleErr
		}
	}
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

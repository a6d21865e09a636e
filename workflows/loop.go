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
	err := workflow.ExecuteActivity(ctx, acts.RecordEvent, activities.EventRecord{
		Source:        source,
		EventKey:      d.Key,
		EventType:     d.Type,
		WorkflowID:    workflowID,
		PayloadSHA256: d.PayloadSHA256,
		OccurredAt:    d.OccurredAt,
		ReceivedAt:    d.ReceivedAt,
	}).Get(ctx, nil)
	var appErr *sdktemporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeRejected {
		workflow.GetLogger(ctx).Error("event rejected by the database", "workflow_id", workflowID,
			"event_key", d.Key, "error", appErr.Message())
		*rejected = append(*rejected, Rejected{Key: d.Key, Type: d.Type, Reason: appErr.Message()})
		return nil
	}
	return err
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

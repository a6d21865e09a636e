package worker

import (
	"context"
	"errors"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/zentrix/webhooks/activities"
	"github.com/zentrix/webhooks/event"
	"github.com/zentrix/webhooks/workflows"
)

// Notifier hands failed payments to their subscriptions' workflows with
// SignalWithStart, as the receiver hands events: the failure becomes a
// payment.failed signal keyed by its delivery's event id.
type Notifier struct {
	Client    client.Client
	TaskQueue string
}

var _ activities.Notifier = Notifier{}

// NotifyPaymentFailure signals the subscription's workflow, starting it if it
// is not running. A subscription whose workflow has completed (it ended long
// ago) takes nothing more: the failure is dropped.
func (n Notifier) NotifyPaymentFailure(ctx context.Context, subscriptionID string, f activities.PaymentFailure) error {
	p := f.Payment
	sig := workflows.RazorpaySignal{
		Delivery: workflows.Delivery{
			Key: f.Key, Type: event.PaymentFailed, OccurredAt: f.OccurredAt, ReceivedAt: f.ReceivedAt,
			PayloadSHA256: f.PayloadSHA256,
		},
		Event: event.Razorpay{Event: event.PaymentFailed, CreatedAt: f.OccurredAt, Payment: &p},
	}
	_, err := n.Client.SignalWithStartWorkflow(ctx, subscriptionID, workflows.SignalRazorpayEvent, sig,
		workflows.StartOptions(subscriptionID, n.TaskQueue, "Subscription "+subscriptionID),
		workflows.SubscriptionWorkflowType, workflows.SubscriptionInput{SubscriptionID: subscriptionID})
	var done *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &done) {
		return nil
	}
	return err
}

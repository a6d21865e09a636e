// Package workflows holds the durable state machines that webhook events drive:
// CallWorkflow for a voice call, SubscriptionWorkflow for a Razorpay
// subscription and PaymentWorkflow for a failed payment. The receiver starts
// and signals them (it imports this package for names, ids and signal types);
// the worker runs them. Side effects are activities, called by name.
package workflows

import (
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/zentrix/webhooks/event"
)

// DefaultTaskQueue is the task queue the receiver starts workflows on and the
// worker polls, unless TEMPORAL_TASK_QUEUE says otherwise.
const DefaultTaskQueue = "zentrix-webhooks"

// Workflow types.
const (
	CallWorkflowType         = "CallWorkflow"
	SubscriptionWorkflowType = "SubscriptionWorkflow"
	PaymentWorkflowType      = "PaymentWorkflow"
)

// Signal and query names.
const (
	// SignalCallEvent carries a CallSignal to a CallWorkflow.
	SignalCallEvent = "call-event"
	// SignalRazorpayEvent carries a RazorpaySignal to a SubscriptionWorkflow
	// or a PaymentWorkflow.
	SignalRazorpayEvent = "razorpay-event"
	// QueryState answers the workflow's state as JSON.
	QueryState = "state"
)

// Workflow ids are the senders' own ids, so that every delivery about the same
// call, subscription or payment reaches the same workflow.

// CallWorkflowID is the id of the workflow of a call.
func CallWorkflowID(callID string) string { return callID }

// RazorpayWorkflowID is the id of the workflow that owns a Razorpay event: the
// subscription for subscription events, the payment for a failed payment.
func RazorpayWorkflowID(r event.Razorpay) string { return r.WorkflowID() }

// RazorpayWorkflowType is the workflow type that owns a Razorpay event.
func RazorpayWorkflowType(r event.Razorpay) string {
	if r.Event == event.PaymentFailed {
		return PaymentWorkflowType
	}
	return SubscriptionWorkflowType
}

// Delivery is what every event signal carries besides its payload: enough for
// the workflow to drop duplicates, order events and record them.
type Delivery struct {
	// Key identifies the event across redeliveries: x-razorpay-event-id for
	// Razorpay, derived from the event itself for calls.
	Key  string `json:"key"`
	Type string `json:"type"`
	// OccurredAt is when the sender says the event happened.
	OccurredAt time.Time `json:"occurredAt"`
	// ReceivedAt is when the receiver accepted the delivery.
	ReceivedAt time.Time `json:"receivedAt"`
	// PayloadSHA256 is the lowercase hex SHA-256 of the raw body.
	PayloadSHA256 string `json:"payloadSha256"`
}

// CallSignal is one voice-platform event for a CallWorkflow.
type CallSignal struct {
	Delivery
	Call event.CallData `json:"call"`
}

// RazorpaySignal is one Razorpay event for a SubscriptionWorkflow or a
// PaymentWorkflow.
type RazorpaySignal struct {
	Delivery
	Event event.Razorpay `json:"event"`
}

// CallInput starts a CallWorkflow.
type CallInput struct {
	CallID string `json:"callId"`
}

// SubscriptionInput starts a SubscriptionWorkflow. Carry is nil on a fresh
// start and holds the state handed over by continue-as-new.
type SubscriptionInput struct {
	SubscriptionID string             `json:"subscriptionId"`
	Carry          *SubscriptionCarry `json:"carry,omitempty"`
}

// PaymentInput starts a PaymentWorkflow.
type PaymentInput struct {
	PaymentID string `json:"paymentId"`
}

// StartOptions are the options of every SignalWithStart into a workflow id.
// The reuse policy ALLOW_DUPLICATE_FAILED_ONLY refuses a new run once a run
// under the id has completed, so a late event cannot start a fresh workflow
// that replays it (the caller gets *serviceerror.WorkflowExecutionAlreadyStarted);
// after a failed or terminated run a new one may start, which is how an
// operator repairs a workflow.
func StartOptions(workflowID, taskQueue, summary string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                    workflowID,
		TaskQueue:             taskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		StaticSummary:         summary,
	}
}

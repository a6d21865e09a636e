package workflows

import (
	"cmp"

	"github.com/zentrix/webhooks/event"
)

// CallSummary is the static summary shown in the Web UI for a call's
// workflow: the call and its agent, nothing personal.
func CallSummary(d event.CallData) string {
	agent := cmp.Or(d.AgentID, d.FromAgentID, d.ToAgentID)
	if agent == "" {
		return "Call " + d.CallID
	}
	return "Call " + d.CallID + " with agent " + agent
}

// RazorpaySummary is the static summary of the workflow that owns a Razorpay
// event.
func RazorpaySummary(r event.Razorpay) string {
	if r.Event == event.PaymentFailed {
		return "Failed payment " + r.Payment.ID
	}
	s := "Subscription " + r.Subscription.ID
	if r.Subscription.PlanID != "" {
		s += " on plan " + r.Subscription.PlanID
	}
	return s
}

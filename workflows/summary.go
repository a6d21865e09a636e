package workflows

import (
	"cmp"
	"unicode/utf8"

	"github.com/zentrix/webhooks/event"
)

// CallSummary is the static summary shown in the Web UI for a call's
// workflow: the call and its agent, nothing personal.
func CallSummary(d event.CallData) string {
	agent := cmp.Or(d.AgentID, d.FromAgentID, d.ToAgentID)
	if agent == "" {
		return clampSummary("Call " + d.CallID)
	}
	return clampSummary("Call " + d.CallID + " with agent " + agent)
}

// RazorpaySummary is the static summary of the workflow that owns a Razorpay
// event.
func RazorpaySummary(r event.Razorpay) string {
	if r.Event == event.PaymentFailed {
		return clampSummary("Failed payment " + r.Payment.ID)
	}
	s := "Subscription " + r.Subscription.ID
	if r.Subscription.PlanID != "" {
		s += " on plan " + r.Subscription.PlanID
	}
	return clampSummary(s)
}

// MaxSummaryLength bounds a static summary in bytes. Temporal refuses a
// start whose summary payload is over 400 bytes (limit.userMetadataSummarySize),
// and ids may be 255 bytes each.
const MaxSummaryLength = 300

// clampSummary cuts s to MaxSummaryLength bytes on a rune boundary, marking
// the cut with an ellipsis.
func clampSummary(s string) string {
	if len(s) <= MaxSummaryLength {
		return s
	}
	const more = "…"
	cut := MaxSummaryLength - len(more)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + more
}

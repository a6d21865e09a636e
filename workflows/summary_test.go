package workflows_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/zentrix/webhooks/event"
	"github.com/zentrix/webhooks/workflows"
)

// Ids of the longest kind still make a summary Temporal takes (400 bytes at
// most), cut on a rune boundary.
func TestSummariesFitTemporalsLimit(t *testing.T) {
	t.Parallel()
	id := strings.Repeat("c", event.MaxIDLength)
	agent := strings.Repeat("é", event.MaxLabelLength/2)
	for _, s := range []string{
		workflows.CallSummary(event.CallData{CallID: id, AgentID: agent}),
		workflows.RazorpaySummary(event.Razorpay{Event: "subscription.charged", Subscription: &event.Subscription{ID: id, PlanID: id}}),
	} {
		if len(s) > workflows.MaxSummaryLength || !utf8.ValidString(s) || !strings.HasSuffix(s, "…") {
			t.Errorf("summary of %d bytes (valid UTF-8 %v): %q", len(s), utf8.ValidString(s), s)
		}
	}
	if s := workflows.CallSummary(event.CallData{CallID: "call_1", AgentID: "agent_1"}); s != "Call call_1 with agent agent_1" {
		t.Errorf("short summary cut: %q", s)
	}
}

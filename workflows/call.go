package workflows

import (
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/zentrix/webhooks/activities"
	"github.com/zentrix/webhooks/event"
	"github.com/zentrix/webhooks/temporal"
)

// Call statuses.
const (
	CallInProgress  = "in_progress"
	CallTransferred = "transferred"
	CallEnded       = "ended"
	CallAbandoned   = "abandoned"
)

// CallState is the answer to the state query of a CallWorkflow.
type CallState struct {
	CallID              string     `json:"callId"`
	Status              string     `json:"status"`
	AgentID             string     `json:"agentId"` // the agent holding the call now
	InstanceID          string     `json:"instanceId,omitempty"`
	Platform            string     `json:"platform"`
	StartedAt           time.Time  `json:"startedAt,omitzero"`
	EndedAt             time.Time  `json:"endedAt,omitzero"`
	Transfers           []Transfer `json:"transfers"`
	Duration            float64    `json:"duration"`
	Sentiment           string     `json:"sentiment"`
	DisconnectionReason string     `json:"disconnectionReason"`
	EventsApplied       int        `json:"eventsApplied"`
	DuplicatesIgnored   int        `json:"duplicatesIgnored"`
	RejectedEvents      []Rejected `json:"rejectedEvents,omitempty"`

	startedAgent string // the agent who picked the call up
}

// Transfer is one hand-off of a call, kept in the order of its event time.
type Transfer struct {
	FromAgentID string    `json:"fromAgentId"`
	ToAgentID   string    `json:"toAgentId"`
	Reason      string    `json:"reason"`
	At          time.Time `json:"at"`
}

// CallWorkflow follows one voice call, its id the callId. It applies each call
// event once, records it, and completes CallLinger after the call ended.
func (w *Workflows) CallWorkflow(ctx workflow.Context, in CallInput) (CallState, error) {
	st := &CallState{CallID: in.CallID, Transfers: []Transfer{}}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (CallState, error) { return *st, nil }); err != nil {
		return *st, err
	}
	seen := seenKeys{}
	handle := func(sig CallSignal) error {
		if !seen.add(sig.Key) {
			st.DuplicatesIgnored++
			workflow.GetLogger(ctx).Info("duplicate event dropped", "workflow_id", in.CallID, "event_type", sig.Type)
			return nil
		}
		st.apply(sig)
		if err := workflow.UpsertTypedSearchAttributes(ctx,
			temporal.CallStatus.ValueSet(st.Status),
			temporal.AgentID.ValueSet(st.AgentID),
			temporal.Platform.ValueSet(st.Platform),
		); err != nil {
			return err
		}
		workflow.SetCurrentDetails(ctx, st.details())
		return recordEvent(ctx, activities.SourceCalls, in.CallID, sig.Delivery, &st.RejectedEvents)
	}
	ch := workflow.GetSignalChannel(ctx, SignalCallEvent)
	err := receiveLoop(ctx, ch, w.cfg.CallLinger, handle, func() bool { return st.Status == CallEnded })
	return *st, err
}

// apply folds one new event into the state. Events may come in any order: the
// end is final, transfers are ordered by their time, and a late start only
// fills in what it knows.
func (st *CallState) apply(sig CallSignal) {
	st.EventsApplied++
	d := sig.Call
	if st.Platform == "" {
		st.Platform = d.Platform
	}
	if st.InstanceID == "" {
		st.InstanceID = d.InstanceID
	}
	switch sig.Type {
	case event.CallStarted:
		st.StartedAt = sig.OccurredAt
		st.startedAgent = d.AgentID
		if st.Status == "" {
			st.Status = CallInProgress
		}
	case event.CallTransferred:
		t := Transfer{FromAgentID: d.FromAgentID, ToAgentID: d.ToAgentID, Reason: d.TransferReason, At: sig.OccurredAt}
		i, _ := slices.BinarySearchFunc(st.Transfers, t.At, func(x Transfer, at time.Time) int {
			if x.At.After(at) {
				return 1
			}
			return -1 // equal times keep arrival order
		})
		st.Transfers = slices.Insert(st.Transfers, i, t)
		if st.Status != CallEnded {
			st.Status = CallTransferred
		}
	case event.CallEnded:
		st.Status = CallEnded
		st.EndedAt = sig.OccurredAt
		st.Duration = d.Duration
		st.Sentiment = d.Sentiment
		st.DisconnectionReason = d.DisconnectionReason
		if st.startedAgent == "" {
			st.startedAgent = d.AgentID
		}
	}
	st.AgentID = st.startedAgent
	if n := len(st.Transfers); n > 0 {
		st.AgentID = st.Transfers[n-1].ToAgentID
	}
}

// details is the one-line markdown the Web UI shows as current details.
func (st *CallState) details() string {
	s := fmt.Sprintf("**%s** · agent `%s` · %d transfers", st.Status, st.AgentID, len(st.Transfers))
	if st.Status == CallEnded {
		s += fmt.Sprintf(" · %.0fs · %s", st.Duration, st.DisconnectionReason)
	}
	return s
}

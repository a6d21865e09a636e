package workflows

import (
	"cmp"
	"encoding/json"
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

// CallState is the answer to the state query of a CallWorkflow. It holds no
// transcript and no phone number.
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
}

// Transfer is one hand-off of a call. A call's transfers are kept in the order
// of their event time.
type Transfer struct {
	FromAgentID string          `json:"fromAgentId"`
	ToAgentID   string          `json:"toAgentId"`
	Reason      string          `json:"reason"`
	Context     json.RawMessage `json:"conversationContext,omitempty"`
	At          time.Time       `json:"at"`
}

// call is what a CallWorkflow knows: the events it applied, kept by kind. The
// state and the database row are derived from it alone, so any order of
// arrival gives the same result.
type call struct {
	id        string
	started   *CallSignal
	ended     *CallSignal
	transfers []CallSignal // sorted by event time, then key
	abandoned bool
	revision  int64     // grows with every change
	latest    time.Time // the latest event time applied
}

// CallWorkflow follows one voice call, its id the callId. It applies each call
// event once, writes the call's record after each change, declares the call
// abandoned if no call.ended comes within CallMaxDuration, and completes
// CallLinger after the call ended or was abandoned.
func (w *Workflows) CallWorkflow(ctx workflow.Context, in CallInput) (CallState, error) {
	c := &call{id: in.CallID}
	st := c.state()
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (CallState, error) { return st, nil }); err != nil {
		return st, err
	}
	seen := seenKeys{}
	// changed publishes a change: query state, search attributes, current
	// details, then the record in the database.
	changed := func(story string, d *Delivery) error {
		c.revision++
		next := c.state()
		next.DuplicatesIgnored, next.RejectedEvents = st.DuplicatesIgnored, st.RejectedEvents
		st = next
		if err := workflow.UpsertTypedSearchAttributes(ctx,
			temporal.CallStatus.ValueSet(st.Status),
			temporal.AgentID.ValueSet(st.AgentID),
			temporal.Platform.ValueSet(st.Platform),
		); err != nil {
			return err
		}
		workflow.SetCurrentDetails(ctx, st.details())
		return saveCall(ctx, story, c.snapshot(workflow.Now(ctx), d), &st.RejectedEvents)
	}
	handle := func(sig CallSignal) error {
		if !seen.add(sig.Key) {
			st.DuplicatesIgnored++
			count(ctx, workflowTagCall, metricDuplicatesDropped)
			workflow.GetLogger(ctx).Info("duplicate event dropped", "workflow_id", in.CallID, "event_type", sig.Type)
			return nil
		}
		count(ctx, workflowTagCall, metricEventsApplied)
		if sig.OccurredAt.Before(c.latest) {
			count(ctx, workflowTagCall, metricOutOfOrder)
		}
		c.latest = maxTime(c.latest, sig.OccurredAt)
		c.apply(sig)
		return changed(storyOf(sig), &sig.Delivery)
	}
	abandon := func() error {
		c.abandoned = true
		return changed(fmt.Sprintf("no call.ended within %s: abandoned", w.cfg.CallMaxDuration), nil)
	}
	ch := workflow.GetSignalChannel(ctx, SignalCallEvent)
	err := receiveLoop(ctx, ch, loopOptions{
		Linger:          w.cfg.CallLinger,
		Deadline:        w.cfg.CallMaxDuration,
		DeadlineSummary: "abandon the call if no call.ended comes",
		OnDeadline:      abandon,
	}, handle, func() bool { return c.ended != nil || c.abandoned })
	return st, err
}

// apply records one new event.
func (c *call) apply(sig CallSignal) {
	switch sig.Type {
	case event.CallStarted:
		c.started = &sig
	case event.CallEnded:
		c.ended = &sig
	case event.CallTransferred:
		i, _ := slices.BinarySearchFunc(c.transfers, sig, func(x, y CallSignal) int {
			return cmp.Or(x.OccurredAt.Compare(y.OccurredAt), cmp.Compare(x.Key, y.Key))
		})
		c.transfers = slices.Insert(c.transfers, i, sig)
	}
}

// status follows from what is known: the end is final, then abandonment,
// then any transfer, then the start.
func (c *call) status() string {
	switch {
	case c.ended != nil:
		return CallEnded
	case c.abandoned:
		return CallAbandoned
	case len(c.transfers) > 0:
		return CallTransferred
	case c.started != nil:
		return CallInProgress
	}
	return ""
}

// first returns the first non-empty value of field over the events, in a fixed
// order (start, end, transfers by time) rather than the order of arrival.
func (c *call) first(field func(event.CallData) string) string {
	for _, s := range c.events() {
		if v := field(s.Call); v != "" {
			return v
		}
	}
	return ""
}

func (c *call) events() []*CallSignal {
	var out []*CallSignal
	for _, s := range []*CallSignal{c.started, c.ended} {
		if s != nil {
			out = append(out, s)
		}
	}
	for i := range c.transfers {
		out = append(out, &c.transfers[i])
	}
	return out
}

// owner is the agent the call belongs to: who picked it up.
func (c *call) owner() string {
	if c.started != nil && c.started.Call.AgentID != "" {
		return c.started.Call.AgentID
	}
	if c.ended != nil && c.ended.Call.AgentID != "" {
		return c.ended.Call.AgentID
	}
	if len(c.transfers) > 0 {
		return c.transfers[0].Call.FromAgentID
	}
	return ""
}

// holder is the agent holding the call now: the last transfer's target.
func (c *call) holder() string {
	if n := len(c.transfers); n > 0 {
		return c.transfers[n-1].Call.ToAgentID
	}
	return c.owner()
}

func (c *call) state() CallState {
	st := CallState{
		CallID:     c.id,
		Status:     c.status(),
		AgentID:    c.holder(),
		InstanceID: c.first(func(d event.CallData) string { return d.InstanceID }),
		Platform:   c.first(func(d event.CallData) string { return d.Platform }),
		Transfers:  make([]Transfer, 0, len(c.transfers)),
	}
	if c.started != nil {
		st.StartedAt = c.started.OccurredAt
	}
	if e := c.ended; e != nil {
		st.EndedAt = e.OccurredAt
		st.Duration = e.Call.Duration
		st.Sentiment = e.Call.Sentiment
		st.DisconnectionReason = e.Call.DisconnectionReason
	}
	for _, t := range c.transfers {
		st.Transfers = append(st.Transfers, Transfer{
			FromAgentID: t.Call.FromAgentID, ToAgentID: t.Call.ToAgentID, Reason: t.Call.TransferReason,
			Context: t.Call.ConversationContext, At: t.OccurredAt,
		})
	}
	st.EventsApplied = len(c.events())
	return st
}

// snapshot is the call's record for the database; d is the delivery that
// caused the change, if any.
func (c *call) snapshot(now time.Time, d *Delivery) activities.CallSnapshot {
	st := c.state()
	rec := activities.CallRecord{
		CallID: c.id, AgentID: c.owner(), CurrentAgentID: st.AgentID, InstanceID: st.InstanceID,
		Platform: st.Platform, Status: st.Status, StartedAt: st.StartedAt, EndedAt: st.EndedAt,
		DurationSeconds: st.Duration, Sentiment: st.Sentiment, DisconnectionReason: st.DisconnectionReason,
		Revision: c.revision, UpdatedAt: now,
	}
	if e := c.ended; e != nil {
		rec.Transcript, rec.Summary = e.Call.Transcript, e.Call.Summary
	}
	snap := activities.CallSnapshot{Call: rec, Transfers: make([]activities.TransferRecord, 0, len(c.transfers))}
	for i, t := range c.transfers {
		snap.Transfers = append(snap.Transfers, activities.TransferRecord{
			CallID: c.id, Sequence: i + 1, EventKey: t.Key, FromAgentID: t.Call.FromAgentID,
			ToAgentID: t.Call.ToAgentID, Reason: t.Call.TransferReason,
			Context: string(t.Call.ConversationContext), TransferredAt: t.OccurredAt,
		})
	}
	if d != nil {
		snap.Event = eventRecord(activities.SourceCalls, c.id, *d)
	}
	return snap
}

// storyOf is the activity summary of an event: one line of the call's story
// in the Web UI, with agents and reasons but nothing personal.
func storyOf(sig CallSignal) string {
	d := sig.Call
	switch sig.Type {
	case event.CallStarted:
		return fmt.Sprintf("call.started: agent %s on %s", d.AgentID, d.Platform)
	case event.CallTransferred:
		return fmt.Sprintf("call.transferred: %s → %s (%s)", d.FromAgentID, d.ToAgentID, d.TransferReason)
	case event.CallEnded:
		return fmt.Sprintf("call.ended: %.0fs, %s, %s", d.Duration, d.Sentiment, d.DisconnectionReason)
	}
	return sig.Type
}

// details is the one-line markdown the Web UI shows as current details.
func (st *CallState) details() string {
	s := fmt.Sprintf("**%s** · agent `%s` · %d transfers", st.Status, st.AgentID, len(st.Transfers))
	if st.Status == CallEnded {
		s += fmt.Sprintf(" · %.0fs · %s", st.Duration, st.DisconnectionReason)
	}
	return s
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

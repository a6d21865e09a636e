//go:build chaos

package chaos_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/zentrix/webhooks/activities"
	"github.com/zentrix/webhooks/internal/proc"
	"github.com/zentrix/webhooks/store"
	"github.com/zentrix/webhooks/workflows"
)

const (
	// landWait bounds how long the store may take to hold every accepted
	// event after the sender is done: activities back off up to a minute.
	landWait = 4 * time.Minute
	// settleWait bounds how long the workflows' states may take to match.
	settleWait = time.Minute
)

// outcome is what the store and the workflows hold against the ledger.
type outcome struct {
	rowsWant, rowsFound int
	lost                []string // accepted events with no row
	unaccepted          []string // events never answered 2xx
	appliedTwice        int
	dropped             int      // duplicates the workflows counted and dropped
	activityRetries     int      // activity attempts after a first that failed or timed out
	wrong               []string // entities whose state is not what their events add up to
}

// check waits until the store holds every event the ledger says was
// accepted, then compares every entity's workflow state and rows with its
// plan.
func (c *cluster) check(ctx context.Context, p *plan, l *ledger) (outcome, error) {
	var out outcome
	db, err := c.openStore(ctx)
	if err != nil {
		return out, err
	}
	defer db.Close()

	var accepted []*plannedEvent
	for _, e := range p.entities {
		for _, ev := range e.events {
			if l.wasAccepted(ev) {
				accepted = append(accepted, ev)
			} else {
				out.unaccepted = append(out.unaccepted, ev.key)
			}
		}
	}
	out.rowsWant = len(accepted)
	missing, err := waitRows(ctx, db, accepted)
	if err != nil {
		return out, err
	}
	for _, ev := range missing {
		out.lost = append(out.lost, ev.key)
	}
	if out.rowsFound, err = db.EventCount(ctx); err != nil {
		return out, fmt.Errorf("count webhook_events: %w", err)
	}
	// One row per (source, key): more rows than events would mean one event
	// stored under two keys.
	out.appliedTwice += max(0, out.rowsFound-p.events)

	// Every row is in; the states follow from the same transactions, but a
	// restarted worker may need a moment before it answers queries.
	deadline := time.Now().Add(settleWait)
	for _, e := range p.entities {
		for {
			r, err := c.checkEntity(ctx, db, e)
			if err == nil && (len(r.problems) == 0 || time.Now().After(deadline)) {
				out.appliedTwice += r.appliedTwice
				out.dropped += r.dropped
				out.activityRetries += r.activityRetries
				for _, pr := range r.problems {
					out.wrong = append(out.wrong, e.id+": "+pr)
				}
				break
			}
			if err != nil && time.Now().After(deadline) {
				return out, fmt.Errorf("check %s: %w", e.id, err)
			}
			if err := proc.Sleep(ctx, 500*time.Millisecond); err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

// waitRows polls webhook_events until every event has its row or landWait
// passes, and returns those still missing.
func waitRows(ctx context.Context, db *store.Store, events []*plannedEvent) ([]*plannedEvent, error) {
	deadline := time.Now().Add(landWait)
	missing := events
	for {
		var still []*plannedEvent
		for _, ev := range missing {
			_, err := db.Event(ctx, ev.source, ev.key)
			switch {
			case errors.Is(err, store.ErrNotFound):
				still = append(still, ev)
			case err != nil:
				return nil, fmt.Errorf("read webhook_events: %w", err)
			}
		}
		missing = still
		if len(missing) == 0 || time.Now().After(deadline) {
			return missing, nil
		}
		if err := proc.Sleep(ctx, 500*time.Millisecond); err != nil {
			return missing, err
		}
	}
}

// entityReport is what one entity's workflow and rows show.
type entityReport struct {
	appliedTwice    int
	dropped         int
	activityRetries int
	problems        []string
}

func (r *entityReport) expect(ok bool, format string, args ...any) {
	if !ok {
		r.problems = append(r.problems, fmt.Sprintf(format, args...))
	}
}

// checkEntity compares an entity's workflow (still running, its state query)
// and its rows with what its events add up to. An error means it could not
// look (e.g. no worker polling yet).
func (c *cluster) checkEntity(ctx context.Context, db *store.Store, e *entity) (entityReport, error) {
	var r entityReport
	desc, err := c.client.DescribeWorkflowExecution(ctx, e.id, "")
	if err != nil {
		return r, fmt.Errorf("describe workflow: %w", err)
	}
	status := desc.GetWorkflowExecutionInfo().GetStatus()
	r.expect(status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, "workflow %s, want running (lingering)", status)
	if r.activityRetries, err = c.activityRetries(ctx, e.id); err != nil {
		return r, err
	}
	v, err := c.client.QueryWorkflow(ctx, e.id, "", workflows.QueryState)
	if err != nil {
		return r, fmt.Errorf("query state: %w", err)
	}
	if e.call != nil {
		var st workflows.CallState
		if err := v.Get(&st); err != nil {
			return r, fmt.Errorf("decode call state: %w", err)
		}
		return r, r.checkCall(ctx, db, e, st)
	}
	var st workflows.SubscriptionState
	if err := v.Get(&st); err != nil {
		return r, fmt.Errorf("decode subscription state: %w", err)
	}
	return r, r.checkSubscription(ctx, db, e, st)
}

// activityRetries counts, in a workflow's history, the attempts of its
// activities beyond the first: each started activity records its attempt.
func (c *cluster) activityRetries(ctx context.Context, workflowID string) (int, error) {
	n := 0
	it := c.client.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return 0, fmt.Errorf("history of %s: %w", workflowID, err)
		}
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil {
			n += max(0, int(a.GetAttempt())-1)
		}
	}
	return n, nil
}

func (r *entityReport) checkCall(ctx context.Context, db *store.Store, e *entity, st workflows.CallState) error {
	want := e.call
	r.appliedTwice += max(0, st.EventsApplied-len(e.events))
	r.dropped += st.DuplicatesIgnored
	r.expect(st.EventsApplied == len(e.events), "eventsApplied %d, want %d", st.EventsApplied, len(e.events))
	r.expect(len(st.RejectedEvents) == 0, "rejected events %v", st.RejectedEvents)
	r.expect(st.Status == workflows.CallEnded, "status %q, want ended", st.Status)
	r.expect(st.AgentID == want.holder, "agentId %q, want %q", st.AgentID, want.holder)
	r.expect(st.Duration == want.duration && st.Sentiment == want.sentiment, "duration %v sentiment %q, want %v %q",
		st.Duration, st.Sentiment, want.duration, want.sentiment)
	r.expect(slices.EqualFunc(st.Transfers, want.transfers, sameTransfer), "transfers %+v, want %+v", st.Transfers, want.transfers)

	row, err := db.Call(ctx, e.id)
	if err != nil {
		return fmt.Errorf("calls row: %w", err)
	}
	r.expect(row.Status == workflows.CallEnded && row.AgentID == want.owner && row.CurrentAgentID == want.holder,
		"calls row status %q agent %q current %q, want ended %q %q", row.Status, row.AgentID, row.CurrentAgentID, want.owner, want.holder)
	rows, err := db.CallTransfers(ctx, e.id)
	if err != nil {
		return fmt.Errorf("call_transfers rows: %w", err)
	}
	r.appliedTwice += max(0, len(rows)-len(want.transfers))
	r.expect(slices.EqualFunc(rows, want.transfers, func(a activities.TransferRecord, b workflows.Transfer) bool {
		return a.FromAgentID == b.FromAgentID && a.ToAgentID == b.ToAgentID && a.TransferredAt.Equal(b.At)
	}), "call_transfers %+v, want %+v", rows, want.transfers)
	return nil
}

func sameTransfer(a, b workflows.Transfer) bool {
	return a.FromAgentID == b.FromAgentID && a.ToAgentID == b.ToAgentID && a.At.Equal(b.At)
}

func (r *entityReport) checkSubscription(ctx context.Context, db *store.Store, e *entity, st workflows.SubscriptionState) error {
	want := e.sub
	r.appliedTwice += max(0, st.EventsApplied-len(e.events))
	r.dropped += st.DuplicatesIgnored
	r.expect(st.EventsApplied == len(e.events), "eventsApplied %d, want %d", st.EventsApplied, len(e.events))
	r.expect(len(st.RejectedEvents) == 0, "rejected events %v", st.RejectedEvents)
	r.expect(st.Status == want.status && st.Access == want.access, "status %q access %q, want %q %q",
		st.Status, st.Access, want.status, want.access)
	r.expect(st.PlanID == want.planID && st.CustomerID == want.customerID, "plan %q customer %q", st.PlanID, st.CustomerID)
	r.expect(st.PaidCount == want.paidCount, "paidCount %d, want %d", st.PaidCount, want.paidCount)
	r.appliedTwice += max(0, len(st.Payments)-len(want.payments))
	r.expect(sameSet(st.Payments, want.payments), "payments %v, want %v", st.Payments, want.payments)
	r.expect(st.CurrentStart.Equal(want.currentStart), "currentStart %s, want %s (the newest event's)", st.CurrentStart, want.currentStart)

	row, err := db.Subscription(ctx, e.id)
	if err != nil {
		return fmt.Errorf("subscriptions row: %w", err)
	}
	r.expect(row.Status == want.status && row.Access == want.access && row.PaidCount == want.paidCount,
		"subscriptions row status %q access %q paid %d", row.Status, row.Access, row.PaidCount)
	payments, err := db.Payments(ctx, e.id)
	if err != nil {
		return fmt.Errorf("payments rows: %w", err)
	}
	r.appliedTwice += max(0, len(payments)-len(want.payments))
	ids := make([]string, 0, len(payments))
	for _, p := range payments {
		ids = append(ids, p.PaymentID)
		r.expect(p.Status == activities.PaymentCaptured, "payment %s %s, want captured", p.PaymentID, p.Status)
	}
	r.expect(sameSet(ids, want.payments), "payments rows %v, want %v", ids, want.payments)
	return nil
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

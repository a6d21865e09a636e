//go:build chaos

package chaos_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zentrix/webhooks/activities"
	"github.com/zentrix/webhooks/event"
	"github.com/zentrix/webhooks/internal/sample"
	"github.com/zentrix/webhooks/receiver"
	"github.com/zentrix/webhooks/workflows"
)

// planSize is how much a scenario sends.
type planSize struct {
	calls     int // calls, each started, transferred, ended
	transfers int // transfers per call
	subs      int // subscriptions, each authenticated, activated, charged; every other one cancelled
	charges   int // charges per subscription
}

// plannedEvent is one webhook as its sender would deliver it, with where it
// must land: the webhook_events row (source, key).
type plannedEvent struct {
	entity *entity
	source string
	key    string
	typ    string
	path   string
	header http.Header
	body   []byte
}

// entity is one call or subscription: its events in the order they happened,
// and the state they add up to.
type entity struct {
	id     string
	events []*plannedEvent
	call   *callWant         // nil for a subscription
	sub    *subscriptionWant // nil for a call
}

// callWant is the state of a call whose events were all applied once.
type callWant struct {
	owner, holder string
	transfers     []workflows.Transfer // from, to, time
	duration      float64
	sentiment     string
}

// subscriptionWant is the state of a subscription whose events were all
// applied once.
type subscriptionWant struct {
	status, access     string
	planID, customerID string
	paidCount          int64
	payments           []string
	currentStart       time.Time
}

// plan is what a scenario delivers.
type plan struct {
	entities []*entity
	events   int
}

// newPlan builds the events of a scenario. Ids carry the scenario's name and
// a random tag, so no two scenarios or runs share a workflow or a row.
func newPlan(t *testing.T, scenario string, size planSize) *plan {
	t.Helper()
	var b [3]byte
	_, _ = rand.Read(b[:])
	tag := strings.NewReplacer("-", "", "/", "").Replace(scenario) + hex.EncodeToString(b[:])
	p := &plan{}
	base := time.Now().Add(-30 * time.Minute).UTC().Truncate(time.Millisecond)
	for i := range size.calls {
		p.add(t, newCall(t, fmt.Sprintf("call_%s_%03d", tag, i), base.Add(time.Duration(i)*time.Second), size.transfers, i))
	}
	for i := range size.subs {
		p.add(t, newSubscription(t, fmt.Sprintf("sub_%s%03d", tag, i), size.charges, i%2 == 0))
	}
	return p
}

func (p *plan) add(t *testing.T, e *entity) {
	t.Helper()
	for _, ev := range e.events {
		ev.entity = e
	}
	p.entities = append(p.entities, e)
	p.events += len(e.events)
}

// newCall is a call answered by its own agent, transferred n times along a
// chain of agents ten seconds apart, then ended.
func newCall(t *testing.T, id string, at time.Time, n, i int) *entity {
	t.Helper()
	owner := "agent_" + id
	want := &callWant{owner: owner, holder: owner, duration: float64(10 * (n + 1)), sentiment: []string{"positive", "neutral", "negative"}[i%3]}
	e := &entity{id: id, call: want}
	e.events = append(e.events, callEvent(t, event.CallStarted, sample.CallFields{CallID: id, AgentID: owner, Time: at}))
	for j := 1; j <= n; j++ {
		tr := workflows.Transfer{FromAgentID: want.holder, ToAgentID: fmt.Sprintf("human_%d_%s", j, id), At: at.Add(time.Duration(j) * 10 * time.Second)}
		e.events = append(e.events, callEvent(t, event.CallTransferred, sample.CallFields{
			CallID: id, AgentID: owner, FromAgentID: tr.FromAgentID, ToAgentID: tr.ToAgentID, Time: tr.At}))
		want.transfers = append(want.transfers, tr)
		want.holder = tr.ToAgentID
	}
	e.events = append(e.events, callEvent(t, event.CallEnded, sample.CallFields{
		CallID: id, AgentID: owner, Time: at.Add(time.Duration(want.duration) * time.Second),
		Duration: &want.duration, Sentiment: want.sentiment}))
	return e
}

func callEvent(t *testing.T, typ string, f sample.CallFields) *plannedEvent {
	t.Helper()
	body := sample.Call(typ, f)
	parsed, err := event.ParseCall(body)
	if err != nil {
		t.Fatalf("plan: %s of %s does not parse: %v", typ, f.CallID, err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(receiver.HeaderCallSignature, sample.Sign(callSecret, body))
	return &plannedEvent{source: activities.SourceCalls, key: parsed.Key(), typ: typ, path: receiver.CallsPath, header: h, body: body}
}

// newSubscription is a monthly subscription: authenticated, activated,
// charged n times a month apart and, if cancel, cancelled after the last
// charge.
func newSubscription(t *testing.T, id string, n int, cancel bool) *entity {
	t.Helper()
	const month = 30 * 24 * time.Hour
	start := time.Now().Add(-time.Duration(n+1) * month).UTC().Truncate(time.Second)
	want := &subscriptionWant{status: "active", access: workflows.AccessGranted, planID: "plan_" + id, customerID: "cust_" + id,
		paidCount: int64(n), payments: []string{}}
	e := &entity{id: id, sub: want}
	add := func(typ string, paid int64, at time.Time, charge *sample.PaymentFields) {
		f := sample.SubscriptionFields{ID: id, PlanID: want.planID, CustomerID: want.customerID, PaidCount: &paid, EventTime: at}
		body := sample.Subscription(typ, f, charge)
		eventID := fmt.Sprintf("evt_%s_%02d", id, len(e.events))
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		h.Set(receiver.HeaderRazorpaySignature, sample.Sign(razorpaySecret, body))
		h.Set(receiver.HeaderRazorpayEventID, eventID)
		e.events = append(e.events, &plannedEvent{source: activities.SourceRazorpay, key: eventID, typ: typ,
			path: receiver.PaymentsPath, header: h, body: body})
		want.currentStart = at // the period of the newest event starts at it (sample's rule)
	}
	add("subscription.authenticated", 0, start, nil)
	add("subscription.activated", 0, start.Add(time.Minute), nil)
	for j := 1; j <= n; j++ {
		payment := fmt.Sprintf("pay_%sc%02d", strings.TrimPrefix(id, "sub_"), j)
		add("subscription.charged", int64(j), start.Add(time.Duration(j)*month), &sample.PaymentFields{ID: payment})
		want.payments = append(want.payments, payment)
	}
	if cancel {
		add("subscription.cancelled", int64(n), start.Add(time.Duration(n)*month+time.Hour), nil)
		want.status, want.access = "cancelled", workflows.AccessRevoked
	}
	return e
}

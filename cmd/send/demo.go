package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sethvargo/go-envconfig"
	"go.temporal.io/sdk/client"

	"github.com/zentrix/webhooks/event"
	"github.com/zentrix/webhooks/internal/sample"
	"github.com/zentrix/webhooks/internal/service"
	"github.com/zentrix/webhooks/temporal"
	"github.com/zentrix/webhooks/workflows"
)

// states is what the demo needs of Temporal: a workflow's state query and
// whether it has activities in flight.
type states interface {
	State(ctx context.Context, workflowID string, out any) error
	PendingActivities(ctx context.Context, workflowID string) (int, error)
	Close()
}

// temporalStates answers through a Temporal client.
type temporalStates struct{ c client.Client }

func dialTemporal(ctx context.Context, cfg temporal.Config) (states, error) {
	c, err := temporal.Dial(ctx, cfg, discardLogger())
	if err != nil {
		return nil, err
	}
	return temporalStates{c}, nil
}

func (t temporalStates) State(ctx context.Context, workflowID string, out any) error {
	v, err := t.c.QueryWorkflow(ctx, workflowID, "", workflows.QueryState)
	if err != nil {
		return fmt.Errorf("query %s: %w", workflowID, err)
	}
	if err := v.Get(out); err != nil {
		return fmt.Errorf("decode the state of %s: %w", workflowID, err)
	}
	return nil
}

func (t temporalStates) PendingActivities(ctx context.Context, workflowID string) (int, error) {
	d, err := t.c.DescribeWorkflowExecution(ctx, workflowID, "")
	if err != nil {
		return 0, fmt.Errorf("describe %s: %w", workflowID, err)
	}
	return len(d.GetPendingActivities()), nil
}

func (t temporalStates) Close() { t.c.Close() }

// loadEnv reads cfg (go-envconfig fields) from env.
func loadEnv(ctx context.Context, cfg service.Validator, env func(string) string) error {
	return service.Load(ctx, cfg, envconfig.LookuperFunc(func(key string) (string, bool) {
		v := env(key)
		return v, v != ""
	}))
}

// demoIDs are the fresh ids of one demo run.
type demoIDs struct {
	call, sub, customer, token string
	pay1, pay2, pay3           string // charge, failure, charge
}

func newDemoIDs() demoIDs {
	r := newID("", 10)
	return demoIDs{
		call: "call_demo_" + r, sub: "sub_Demo" + r, customer: "cust_Demo" + r, token: "token_Demo" + r,
		pay1: "pay_Demo" + r + "1", pay2: "pay_Demo" + r + "2", pay3: "pay_Demo" + r + "3",
	}
}

// demo is one run of the demo subcommand.
type demo struct {
	o      options
	env    func(string) string
	d      deps
	post   func(ctx context.Context, dl delivery) (result, error)
	st     states
	ids    demoIDs
	stdout io.Writer
}

func runDemo(ctx context.Context, o options, stdout, stderr io.Writer, env func(string) string, d deps) int {
	if len(o.eventSet) > 0 {
		fmt.Fprintf(stderr, "%s: demo makes its own ids and fields; ignoring --%s\n", name, strings.Join(o.eventSet, ", --"))
	}
	cfg, err := temporalConfig(ctx, env)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return exitUsage
	}
	dialCtx, cancel := context.WithTimeout(ctx, o.timeout)
	st, err := d.dial(dialCtx, cfg)
	cancel()
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v (is `make run` running?)\n", name, err)
		return exitFail
	}
	defer st.Close()
	hc := newClient(o.timeout)
	dm := &demo{o: o, env: env, d: d, st: st, ids: newDemoIDs(), stdout: stdout,
		post: func(ctx context.Context, dl delivery) (result, error) { return post(ctx, hc, o.url, dl) }}
	if err := dm.play(ctx, stderr); err != nil {
		fmt.Fprintf(stderr, "%s: demo: %v\n", name, err)
		return exitFail
	}
	if !dm.verify(ctx) {
		return exitFail
	}
	return exitOK
}

// play posts the call and the subscription's life.
func (dm *demo) play(ctx context.Context, stderr io.Writer) error {
	anchor := dm.o.at
	if anchor.IsZero() {
		anchor = time.Now()
	}
	fmt.Fprintf(dm.stdout, "call %s: started, transferred, ended, each delivered twice\n", dm.ids.call)
	for _, dl := range dm.callEvents(anchor) {
		if err := dm.deliver(ctx, dl, 2); err != nil {
			return err
		}
	}
	fmt.Fprintf(dm.stdout, "subscription %s: authenticated, activated, charged, payment.failed, pending, charged, cancelled\n", dm.ids.sub)
	before, after := dm.subscriptionEvents(anchor)
	for _, dl := range before {
		if err := dm.deliver(ctx, dl, 1); err != nil {
			return err
		}
	}
	// The failed payment's workflow finds its subscription from the stored
	// charge of the same card: it must be stored first.
	if err := dm.waitChargeStored(ctx); err != nil {
		fmt.Fprintf(stderr, "%s: demo: %v; the failed payment may stay unresolved\n", name, err)
	}
	for _, dl := range after {
		if err := dm.deliver(ctx, dl, 1); err != nil {
			return err
		}
	}
	return nil
}

// callEvents are a call of about four minutes that ended a minute ago.
func (dm *demo) callEvents(anchor time.Time) []delivery {
	t0 := anchor.Add(-5 * time.Minute).Truncate(time.Millisecond)
	c := sample.CallFields{CallID: dm.ids.call}
	started, transferred, ended := c, c, c
	started.Time = t0
	transferred.Time = t0.Add(70*time.Second + 250*time.Millisecond)
	ended.Time = t0.Add(245 * time.Second)
	return []delivery{
		callDelivery(event.CallStarted, sample.Call(event.CallStarted, started), dm.o, dm.env),
		callDelivery(event.CallTransferred, sample.Call(event.CallTransferred, transferred), dm.o, dm.env),
		callDelivery(event.CallEnded, sample.Call(event.CallEnded, ended), dm.o, dm.env),
	}
}

// subscriptionEvents are two months of a monthly subscription, ending with
// its cancellation a minute ago: the events up to the first charge, and the
// ones after it.
func (dm *demo) subscriptionEvents(anchor time.Time) (before, after []delivery) {
	const day = 24 * time.Hour
	s0 := anchor.Add(-61 * day)
	sub := func(ev string, at time.Time, paid int64, p *sample.PaymentFields) delivery {
		s := sample.SubscriptionFields{ID: dm.ids.sub, CustomerID: dm.ids.customer, PaidCount: &paid, EventTime: at}
		return razorpayDelivery(ev, sample.Subscription(ev, s, p), dm.o, dm.env)
	}
	charge := func(id string) *sample.PaymentFields {
		return &sample.PaymentFields{ID: id, CustomerID: dm.ids.customer, TokenID: dm.ids.token}
	}
	failedAt := s0.Add(30 * day)
	failed := sample.PaymentFailed(sample.PaymentFields{ID: dm.ids.pay2, CustomerID: dm.ids.customer,
		TokenID: dm.ids.token, EventTime: failedAt})
	before = []delivery{
		sub("subscription.authenticated", s0, 0, nil),
		sub("subscription.activated", s0.Add(time.Minute), 1, nil),
		sub("subscription.charged", s0.Add(2*time.Minute), 1, charge(dm.ids.pay1)),
	}
	after = []delivery{
		razorpayDelivery(event.PaymentFailed, failed, dm.o, dm.env),
		sub("subscription.pending", failedAt.Add(time.Minute), 1, nil),
		sub("subscription.charged", s0.Add(31*day), 2, charge(dm.ids.pay3)),
		sub("subscription.cancelled", anchor.Add(-time.Minute), 2, nil),
	}
	return before, after
}

// deliver posts dl times times (the same bytes: a redelivery) and prints
// each answer.
func (dm *demo) deliver(ctx context.Context, dl delivery, times int) error {
	for i := range times {
		res, err := dm.post(ctx, dl)
		if err != nil {
			return err
		}
		label := "  " + dl.label
		if i > 0 {
			label += " (redelivery)"
		}
		r := res
		r.answer.WorkflowID = "" // the links come with the table
		fmt.Fprintln(dm.stdout, describe(label, r, dm.o)+idSuffix(res))
		if !res.ok() {
			return fmt.Errorf("%s answered %d", dl.label, res.code)
		}
	}
	return nil
}

func idSuffix(r result) string {
	if r.answer.WorkflowID == "" {
		return ""
	}
	return " · " + r.answer.WorkflowID
}

// waitChargeStored waits until the subscription's workflow has applied the
// first charge and no activity is in flight: its row is in the store.
func (dm *demo) waitChargeStored(ctx context.Context) error {
	var last error
	done := poll(ctx, dm.d.pollEvery, dm.d.pollFor, func(ctx context.Context) bool {
		var st workflows.SubscriptionState
		if last = dm.st.State(ctx, dm.ids.sub, &st); last != nil {
			return false
		}
		if !slices.Contains(st.Payments, dm.ids.pay1) {
			last = fmt.Errorf("charge %s not applied yet", dm.ids.pay1)
			return false
		}
		n, err := dm.st.PendingActivities(ctx, dm.ids.sub)
		if last = err; err == nil && n > 0 {
			last = fmt.Errorf("%d activities of %s in flight", n, dm.ids.sub)
		}
		return last == nil
	})
	if !done {
		return fmt.Errorf("charge %s not stored within %s: %w", dm.ids.pay1, dm.d.pollFor, last)
	}
	return nil
}

// check is one workflow the demo expects in a state.
type check struct {
	id, typ, expected string
	probe             func(ctx context.Context) (string, error)
	actual            string
	ok                bool
}

func (dm *demo) checks() []*check {
	ids := dm.ids
	return []*check{
		{id: ids.call, typ: workflows.CallWorkflowType, expected: callSummary("ended", 1, 3, 3),
			probe: func(ctx context.Context) (string, error) {
				var st workflows.CallState
				err := dm.st.State(ctx, ids.call, &st)
				return callSummary(st.Status, len(st.Transfers), st.EventsApplied, st.DuplicatesIgnored), err
			}},
		{id: ids.sub, typ: workflows.SubscriptionWorkflowType,
			expected: subscriptionSummary("cancelled", workflows.AccessRevoked, 2, 2, ids.pay2),
			probe: func(ctx context.Context) (string, error) {
				var st workflows.SubscriptionState
				err := dm.st.State(ctx, ids.sub, &st)
				failure := "none"
				if st.LastFailure != nil {
					failure = st.LastFailure.PaymentID
				}
				return subscriptionSummary(st.Status, st.Access, st.PaidCount, len(st.Payments), failure), err
			}},
		{id: ids.pay2, typ: workflows.PaymentWorkflowType, expected: paymentSummary(workflows.ResolutionHandedOver, ids.sub),
			probe: func(ctx context.Context) (string, error) {
				var st workflows.PaymentState
				err := dm.st.State(ctx, ids.pay2, &st)
				return paymentSummary(st.Resolution, st.SubscriptionID), err
			}},
	}
}

func callSummary(status string, transfers, applied, duplicates int) string {
	return fmt.Sprintf("%s, transfers %d, eventsApplied %d, duplicatesIgnored %d", status, transfers, applied, duplicates)
}

func subscriptionSummary(status, access string, paid int64, payments int, lastFailure string) string {
	return fmt.Sprintf("%s, access %s, paidCount %d, payments %d, lastFailure %s", status, access, paid, payments, lastFailure)
}

func paymentSummary(resolution, subscriptionID string) string {
	return fmt.Sprintf("%s, subscription %s", resolution, orDefault(subscriptionID, "none"))
}

// verify polls every workflow's state until each is as expected or pollFor
// passes, prints the table, and reports whether all are.
func (dm *demo) verify(ctx context.Context) bool {
	checks := dm.checks()
	poll(ctx, dm.d.pollEvery, dm.d.pollFor, func(ctx context.Context) bool {
		all := true
		for _, c := range checks {
			if c.ok {
				continue
			}
			actual, err := c.probe(ctx)
			if err != nil {
				actual = "error: " + truncate(oneLine(err), 80)
			}
			c.actual, c.ok = actual, err == nil && actual == c.expected
			all = all && c.ok
		}
		return all
	})
	fmt.Fprintln(dm.stdout)
	tw := tabwriter.NewWriter(dm.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKFLOW ID\tTYPE\tEXPECTED\tACTUAL\tRESULT")
	failed := 0
	for _, c := range checks {
		verdict := "OK"
		if !c.ok {
			verdict = "FAIL"
			failed++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.id, c.typ, c.expected, c.actual, verdict)
	}
	tw.Flush()
	fmt.Fprintln(dm.stdout, "\nWeb UI:")
	for _, c := range checks {
		fmt.Fprintf(dm.stdout, "  %s\n", uiLink(dm.o, c.id))
	}
	if failed > 0 {
		fmt.Fprintf(dm.stdout, "\n%d of %d workflows did not reach their state within %s\n", failed, len(checks), dm.d.pollFor)
		return false
	}
	return true
}

// poll calls try every `every` until it returns true or `within` passes (or
// ctx ends), each call bounded by what is left (at most 5 s). It reports
// whether try succeeded.
func poll(ctx context.Context, every, within time.Duration, try func(ctx context.Context) bool) bool {
	deadline := time.Now().Add(within)
	for {
		left := time.Until(deadline)
		attempt, cancel := context.WithTimeout(ctx, max(min(left, 5*time.Second), every))
		ok := try(attempt)
		cancel()
		if ok {
			return true
		}
		if time.Until(deadline) <= 0 {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(every):
		}
	}
}

// oneLine flattens an error for a table cell.
func oneLine(err error) string {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	if errors.Is(err, context.DeadlineExceeded) {
		return "no answer in time: " + msg
	}
	return msg
}

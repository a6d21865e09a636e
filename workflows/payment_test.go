package workflows_test

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdktemporal "go.temporal.io/sdk/temporal"

	"github.com/zentrix/webhooks/activities"
	"github.com/zentrix/webhooks/workflows"
)

func TestPaymentResolution(t *testing.T) {
	rejected := sdktemporal.NewNonRetryableApplicationError("look up invoice inv_pay_2: razorpay api: 404 BAD_REQUEST_ERROR: The id provided does not exist",
		activities.ErrTypeRazorpayRejected, nil)
	cases := []struct {
		name       string
		find       func(activities.PaymentHints) string
		lookup     func(string) (activities.InvoiceLookup, error)
		resolution string
		sub        string
		errPart    string
	}{
		{name: "known from earlier charges", find: func(h activities.PaymentHints) string {
			if h.TokenID == "token_1" {
				return "sub_1"
			}
			return ""
		}, resolution: workflows.ResolutionHandedOver, sub: "sub_1"},
		{name: "found through the invoices API", lookup: func(id string) (activities.InvoiceLookup, error) {
			return activities.InvoiceLookup{Configured: true, SubscriptionID: "sub_api"}, nil
		}, resolution: workflows.ResolutionHandedOver, sub: "sub_api"},
		{name: "no credentials", resolution: workflows.ResolutionUnresolved, errPart: "no Razorpay API credentials"},
		{name: "unknown invoice", lookup: func(string) (activities.InvoiceLookup, error) {
			return activities.InvoiceLookup{}, rejected
		}, resolution: workflows.ResolutionUnresolved, errPart: "404"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.find, e.lookup = tc.find, tc.lookup
			var st workflows.PaymentState
			e.at(time.Second, func() {
				e.SignalWorkflow(workflows.SignalRazorpayEvent, failedPayment("evt_f", "pay_2", "insufficient_funds"))
			})
			e.at(time.Minute, func() { e.query(t, &st) })
			e.ExecuteWorkflow(wf.PaymentWorkflow, workflows.PaymentInput{PaymentID: "pay_2"})
			if err := e.GetWorkflowError(); err != nil {
				t.Fatalf("workflow failed: %v", err)
			}
			if st.Resolution != tc.resolution || st.SubscriptionID != tc.sub || st.Reason != "insufficient_funds" {
				t.Errorf("state = %+v", st)
			}
			if tc.errPart != "" && !strings.Contains(st.ResolutionError, tc.errPart) {
				t.Errorf("resolution error %q, want it to mention %q", st.ResolutionError, tc.errPart)
			}
			e.mu.Lock()
			defer e.mu.Unlock()
			if tc.sub != "" {
				if len(e.notified) != 1 || e.notified[0].SubscriptionID != tc.sub || e.notified[0].Failure.Key != "evt_f" ||
					e.notified[0].Failure.Payment.ErrorReason != "insufficient_funds" {
					t.Errorf("notified %+v", e.notified)
				}
				if last := e.payments[len(e.payments)-1]; last.SubscriptionID != tc.sub || last.Status != activities.PaymentFailed {
					t.Errorf("payment row %+v", last)
				}
			} else if len(e.notified) != 0 {
				t.Errorf("notified without a subscription: %+v", e.notified)
			}
			if first := e.payments[0]; first.Status != activities.PaymentFailed || first.FailureReason != "insufficient_funds" ||
				first.Amount != 99900 || first.InvoiceID != "inv_pay_2" {
				t.Errorf("failure row %+v", first)
			}
		})
	}
}

// An unresolved payment tries again while it lingers, and hands the failure
// over once a later charge has taught the store its subscription.
func TestUnresolvedPaymentIsRetried(t *testing.T) {
	e := newEnv(t)
	var learned atomic.Bool
	e.find = func(activities.PaymentHints) string {
		if learned.Load() {
			return "sub_1"
		}
		return ""
	}
	var early, late workflows.PaymentState
	e.at(time.Second, func() {
		e.SignalWorkflow(workflows.SignalRazorpayEvent, failedPayment("evt_f", "pay_2", "card_declined"))
	})
	e.at(time.Minute, func() { e.query(t, &early); learned.Store(true) })
	e.at(3*time.Hour, func() { e.query(t, &late) })
	e.ExecuteWorkflow(wf.PaymentWorkflow, workflows.PaymentInput{PaymentID: "pay_2"})
	if early.Resolution != workflows.ResolutionUnresolved || late.Resolution != workflows.ResolutionHandedOver || late.SubscriptionID != "sub_1" {
		t.Errorf("resolution %s then %s (%s)", early.Resolution, late.Resolution, late.SubscriptionID)
	}
	if len(e.notified) != 1 {
		t.Errorf("notified %d times", len(e.notified))
	}
}

// A redelivery while the payment is unresolved does not put the next
// attempt off: it comes resolveRetry after the last one.
func TestRedeliveryKeepsTheRetryTime(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	var finds []time.Duration // when FindSubscription ran, after the start
	start := e.Now()
	e.find = func(activities.PaymentHints) string {
		mu.Lock()
		defer mu.Unlock()
		finds = append(finds, e.Now().Sub(start))
		return ""
	}
	failed := failedPayment("evt_f", "pay_2", "card_declined")
	e.at(time.Second, func() { e.SignalWorkflow(workflows.SignalRazorpayEvent, failed) })
	for _, at := range []time.Duration{20 * time.Minute, 40 * time.Minute, 50 * time.Minute} {
		e.at(at, func() { e.SignalWorkflow(workflows.SignalRazorpayEvent, failed) })
	}
	e.at(3*time.Hour, func() { e.CancelWorkflow() })
	e.ExecuteWorkflow(wf.PaymentWorkflow, workflows.PaymentInput{PaymentID: "pay_2"})
	mu.Lock()
	defer mu.Unlock()
	if len(finds) < 3 || finds[1] > time.Hour+time.Minute || finds[2] > 2*time.Hour+time.Minute {
		t.Errorf("FindSubscription ran at %v, want the second about 1h after the first despite redeliveries", finds)
	}
}

func TestRazorpayOutageIsRetriedThenVisible(t *testing.T) {
	e := newEnv(t)
	var calls atomic.Int32
	e.lookup = func(string) (activities.InvoiceLookup, error) {
		calls.Add(1)
		return activities.InvoiceLookup{}, errors.New("razorpay api: 503")
	}
	var st workflows.PaymentState
	e.at(time.Second, func() {
		e.SignalWorkflow(workflows.SignalRazorpayEvent, failedPayment("evt_f", "pay_2", "card_declined"))
	})
	e.at(45*time.Minute, func() { e.query(t, &st) })
	e.ExecuteWorkflow(wf.PaymentWorkflow, workflows.PaymentInput{PaymentID: "pay_2"})
	if err := e.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if calls.Load() < 5 || st.Resolution != workflows.ResolutionUnresolved || st.ResolutionError == "" {
		t.Errorf("%d calls; state %+v", calls.Load(), st)
	}
}

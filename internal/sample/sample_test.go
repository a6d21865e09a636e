package sample_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/zentrix/webhooks/event"
	"github.com/zentrix/webhooks/internal/sample"
	"github.com/zentrix/webhooks/workflows"
)

var at = time.Date(2026, 3, 5, 14, 25, 55, 250_000_000, time.FixedZone("IST", 19800))

func TestCallBodiesParseAndRoute(t *testing.T) {
	t.Parallel()
	zero := 0.0
	cases := []struct {
		ev string
		f  sample.CallFields
	}{
		{event.CallStarted, sample.CallFields{}},
		{event.CallStarted, sample.CallFields{CallID: "call_x1", Time: at, Platform: "web"}},
		{event.CallTransferred, sample.CallFields{CallID: "call_x1", Time: at}},
		{event.CallTransferred, sample.CallFields{CallID: "call_x1", ConversationContext: json.RawMessage("not json")}},
		{event.CallEnded, sample.CallFields{CallID: "call_x1", Time: at}},
		{event.CallEnded, sample.CallFields{CallID: "call_x1", Duration: &zero}},
	}
	for _, tc := range cases {
		body := sample.Call(tc.ev, tc.f)
		c, err := event.ParseCall(body)
		if err != nil {
			t.Fatalf("%s %+v: %v\n%s", tc.ev, tc.f, err, body)
		}
		want := tc.f.CallID
		if want == "" {
			want = sample.DefaultCallID
		}
		if c.Event != tc.ev || workflows.CallWorkflowID(c.Data.CallID) != want {
			t.Errorf("%s routed to %q, want %q", tc.ev, c.Data.CallID, want)
		}
		if !tc.f.Time.IsZero() && !c.Timestamp.Equal(tc.f.Time) {
			t.Errorf("%s: timestamp %v, want %v", tc.ev, c.Timestamp, tc.f.Time)
		}
		// The caller's number travels in the body like the real sender's
		// (the parser must drop it), but never on a transfer.
		if has := bytes.Contains(body, []byte(sample.DefaultCallerNumber)); has == (tc.ev == event.CallTransferred) {
			t.Errorf("%s: caller number present = %v\n%s", tc.ev, has, body)
		}
	}

	ended, _ := event.ParseCall(sample.Call(event.CallEnded, sample.CallFields{}))
	d := ended.Data
	if d.Duration != sample.DefaultDuration || d.Sentiment == "" || d.Summary == "" || d.DisconnectionReason == "" ||
		d.AgentID != sample.DefaultAgentID || d.Platform != "phone" {
		t.Errorf("call.ended defaults: %+v", d)
	}
	tr, _ := event.ParseCall(sample.Call(event.CallTransferred, sample.CallFields{AgentID: "agent_a"}))
	if tr.Data.FromAgentID != "agent_a" || tr.Data.ToAgentID != sample.DefaultToAgentID || len(tr.Data.ConversationContext) == 0 {
		t.Errorf("call.transferred defaults: %+v", tr.Data)
	}
	zeroEnded, _ := event.ParseCall(sample.Call(event.CallEnded, sample.CallFields{Duration: &zero}))
	if !bytes.Contains(sample.Call(event.CallEnded, sample.CallFields{Duration: &zero}), []byte(`"duration":0`)) || zeroEnded.Data.Duration != 0 {
		t.Errorf("an explicit zero duration is not sent")
	}
}

func TestCallTimestampShape(t *testing.T) {
	t.Parallel()
	var raw struct {
		Timestamp string `json:"timestamp"`
	}
	if err := json.Unmarshal(sample.Call(event.CallStarted, sample.CallFields{Time: at}), &raw); err != nil {
		t.Fatal(err)
	}
	if raw.Timestamp != "2026-03-05T08:55:55.250Z" {
		t.Errorf("timestamp = %q, want UTC with milliseconds", raw.Timestamp)
	}
}

var subscriptionEvents = []string{
	"subscription.authenticated", "subscription.activated", "subscription.charged", "subscription.completed",
	"subscription.updated", "subscription.pending", "subscription.halted", "subscription.cancelled",
	"subscription.paused", "subscription.resumed",
}

func TestSubscriptionBodiesParseAndRoute(t *testing.T) {
	t.Parallel()
	for _, ev := range subscriptionEvents {
		var p *sample.PaymentFields
		if ev == "subscription.charged" {
			p = &sample.PaymentFields{}
		}
		body := sample.Subscription(ev, sample.SubscriptionFields{ID: "sub_T1", EventTime: at}, p)
		r, err := event.ParseRazorpay(body)
		if err != nil {
			t.Fatalf("%s: %v\n%s", ev, err, body)
		}
		if r.Event != ev || workflows.RazorpayWorkflowID(r) != "sub_T1" ||
			workflows.RazorpayWorkflowType(r) != workflows.SubscriptionWorkflowType {
			t.Errorf("%s routed to %s %s", ev, workflows.RazorpayWorkflowType(r), workflows.RazorpayWorkflowID(r))
		}
		if r.Subscription.Status != sample.ImpliedStatus(ev) {
			t.Errorf("%s: status %q, want %q", ev, r.Subscription.Status, sample.ImpliedStatus(ev))
		}
		if !r.CreatedAt.Equal(at.Truncate(time.Second)) || r.AccountID != sample.DefaultAccountID {
			t.Errorf("%s: envelope %+v", ev, r)
		}
		if (p != nil) != (r.Payment != nil) {
			t.Errorf("%s: payment entity present = %v", ev, r.Payment != nil)
		}
	}
}

func TestImpliedStatus(t *testing.T) {
	t.Parallel()
	want := map[string]string{
		"activated": "active", "charged": "active", "pending": "pending", "halted": "halted", "cancelled": "cancelled",
		"paused": "paused", "resumed": "active", "authenticated": "authenticated", "completed": "completed", "updated": "active",
	}
	for ev, status := range want {
		if got := sample.ImpliedStatus("subscription." + ev); got != status {
			t.Errorf("ImpliedStatus(subscription.%s) = %q, want %q", ev, got, status)
		}
	}
}

func TestSubscriptionCharge(t *testing.T) {
	t.Parallel()
	two := int64(2)
	body := sample.Subscription("subscription.charged",
		sample.SubscriptionFields{ID: "sub_T2", CustomerID: "cust_T2", PaidCount: &two, EventTime: at},
		&sample.PaymentFields{ID: "pay_T2a", TokenID: "token_T2"})
	r, err := event.ParseRazorpay(body)
	if err != nil {
		t.Fatal(err)
	}
	s, p := r.Subscription, r.Payment
	if s.PaidCount != 2 || s.RemainingCount != 10 || s.CustomerID != "cust_T2" || s.PlanID != sample.DefaultPlanID ||
		s.CurrentStart != at.Unix() || s.CurrentEnd <= s.CurrentStart || s.Notes == nil || len(s.Notes) != 0 || s.EndedAt != 0 {
		t.Errorf("subscription %+v", s)
	}
	if p.ID != "pay_T2a" || p.Amount != 99900 || p.Currency != "INR" || p.Status != "captured" || !bool(p.Captured) ||
		p.InvoiceID != "inv_T2a" || p.OrderID != "order_T2a" || p.CustomerID != "cust_T2" || p.TokenID != "token_T2" ||
		p.ErrorReason != "" || p.CreatedAt >= at.Unix() {
		t.Errorf("payment %+v", p)
	}

	// Razorpay's quirks are on the wire: captured "1", notes [], extra
	// fields, nullable fields as null, the payer's e-mail.
	raw := string(body)
	for _, quirk := range []string{`"captured":"1"`, `"notes":[]`, `"ended_at":null`, `"error_reason":null`,
		`"acquirer_data":{"auth_code":"123456"}`, `"type":3`, `"entity":"event"`, `"contains":["subscription","payment"]`,
		`"email":"customer@example.com"`, `"card":{`} {
		if !strings.Contains(raw, quirk) {
			t.Errorf("body lacks %s:\n%s", quirk, raw)
		}
	}
}

func TestSubscriptionShapes(t *testing.T) {
	t.Parallel()
	auth := sample.Subscription("subscription.authenticated", sample.SubscriptionFields{EventTime: at}, nil)
	r, err := event.ParseRazorpay(auth)
	if err != nil {
		t.Fatal(err)
	}
	if r.Subscription.PaidCount != 0 || r.Subscription.CurrentStart != 0 || !bytes.Contains(auth, []byte(`"current_start":null`)) {
		t.Errorf("authenticated: %+v", r.Subscription)
	}
	cancelled, _ := event.ParseRazorpay(sample.Subscription("subscription.cancelled", sample.SubscriptionFields{EventTime: at}, nil))
	if cancelled.Subscription.EndedAt != at.Unix() || cancelled.Subscription.ChargeAt != 0 {
		t.Errorf("cancelled: %+v", cancelled.Subscription)
	}
	noted, _ := event.ParseRazorpay(sample.Subscription("subscription.activated",
		sample.SubscriptionFields{Notes: map[string]string{"workspace_id": "ws_42"}, Status: "active"}, nil))
	if noted.Subscription.Notes["workspace_id"] != "ws_42" {
		t.Errorf("notes: %v", noted.Subscription.Notes)
	}
}

func TestPaymentFailed(t *testing.T) {
	t.Parallel()
	for _, f := range []sample.PaymentFields{{}, {ID: "pay_F1", ErrorReason: "card_declined", Amount: 4900, Currency: "USD", EventTime: at}} {
		body := sample.PaymentFailed(f)
		r, err := event.ParseRazorpay(body)
		if err != nil {
			t.Fatalf("%+v: %v\n%s", f, err, body)
		}
		wantID := f.ID
		if wantID == "" {
			wantID = sample.DefaultFailedPaymentID
		}
		if r.Event != event.PaymentFailed || workflows.RazorpayWorkflowID(r) != wantID ||
			workflows.RazorpayWorkflowType(r) != workflows.PaymentWorkflowType {
			t.Errorf("routed to %s %s", workflows.RazorpayWorkflowType(r), workflows.RazorpayWorkflowID(r))
		}
		p := r.Payment
		if p.Status != "failed" || bool(p.Captured) || p.ErrorReason == "" || p.ErrorCode != sample.DefaultErrorCode ||
			p.InvoiceID == "" || p.TokenID != sample.DefaultTokenID || p.CustomerID != sample.DefaultCustomerID || r.Subscription != nil {
			t.Errorf("payment %+v", p)
		}
		if f.ErrorReason != "" && (p.ErrorReason != f.ErrorReason || p.Amount != 4900 || p.Currency != "USD") {
			t.Errorf("fields not kept: %+v", p)
		}
		if !bytes.Contains(body, []byte(`"captured":false`)) || !bytes.Contains(body, []byte(`"fee":null`)) {
			t.Errorf("failed payment shape:\n%s", body)
		}
	}
}

func TestSign(t *testing.T) {
	t.Parallel()
	body := sample.Call(event.CallStarted, sample.CallFields{Time: at})
	m := hmac.New(sha256.New, []byte("s3cret"))
	m.Write(body)
	want := hex.EncodeToString(m.Sum(nil))
	if got := sample.Sign("s3cret", body); got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
	if got := sample.Sign("s3cret", body); got != strings.ToLower(got) || len(got) != 64 {
		t.Errorf("Sign = %q, want 64 lowercase hex digits", got)
	}
	if sample.Sign("other", body) == want {
		t.Error("the signature does not depend on the secret")
	}
}

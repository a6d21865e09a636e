package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/zentrix/webhooks/activities"
	"github.com/zentrix/webhooks/workflows"
)

// razorpayEvent builds a Razorpay webhook body shaped like the documented
// samples: the subscription entity, and a payment entity when given.
func razorpayEvent(t *testing.T, typ, status string, paid int64, createdAt int64, payment map[string]any) []byte {
	t.Helper()
	sub := map[string]any{
		"id": "sub_E2eLife0001", "entity": "subscription", "plan_id": "plan_E2e", "customer_id": "cust_E2e",
		"status": status, "type": 3, "current_start": createdAt, "current_end": createdAt + 30*86400,
		"ended_at": nil, "quantity": 1, "notes": []any{}, "charge_at": createdAt + 30*86400,
		"total_count": 12, "paid_count": paid, "remaining_count": 12 - paid, "customer_notify": true,
		"created_at": 1772719000, "expire_by": nil, "short_url": nil, "has_scheduled_changes": false,
	}
	contains := []string{"subscription"}
	payload := map[string]any{"subscription": map[string]any{"entity": sub}}
	if payment != nil {
		contains = append(contains, "payment")
		payload["payment"] = map[string]any{"entity": payment}
	}
	if typ == "payment.failed" {
		contains = []string{"payment"}
		payload = map[string]any{"payment": map[string]any{"entity": payment}}
	}
	b, err := json.Marshal(map[string]any{
		"entity": "event", "account_id": "acc_E2e", "event": typ, "contains": contains,
		"payload": payload, "created_at": createdAt,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func charge(id string, createdAt int64) map[string]any {
	return map[string]any{
		"id": id, "entity": "payment", "amount": 99900, "currency": "INR", "status": "captured",
		"order_id": "order_" + id, "invoice_id": "inv_" + id, "method": "card", "captured": "1",
		"email": "customer@example.com", "contact": "+919876543210", "customer_id": "cust_E2e",
		"token_id": "token_E2e", "notes": []any{}, "created_at": createdAt,
	}
}

func failure(id string, createdAt int64) map[string]any {
	return map[string]any{
		"id": id, "entity": "payment", "amount": 99900, "currency": "INR", "status": "failed",
		"order_id": "order_" + id, "invoice_id": "inv_" + id, "method": "card", "captured": false,
		"customer_id": "cust_E2e", "token_id": "token_E2e", "notes": []any{}, "fee": nil, "tax": nil,
		"error_code": "BAD_REQUEST_ERROR", "error_description": "Payment failed due to insufficient balance.",
		"error_source": "customer", "error_step": "payment_authorization", "error_reason": "insufficient_funds",
		"created_at": createdAt,
	}
}

// A subscription's life as signed Razorpay webhooks, each delivered twice and
// some out of order, ends cancelled and revoked with both charges and the
// failure recorded, in the workflow and in the tables.
func TestSubscriptionLifeEndToEnd(t *testing.T) {
	cfg := workflows.DefaultConfig()
	cfg.SubscriptionLinger, cfg.PaymentLinger = 3*time.Second, 3*time.Second
	s := start(t, options{workflows: &cfg})
	ctx := context.Background()
	const day = 86400
	t0 := int64(1772720000)
	type delivery struct {
		id   string
		body []byte
	}
	life := []delivery{
		{"evt_auth", razorpayEvent(t, "subscription.authenticated", "authenticated", 0, t0, nil)},
		{"evt_act1", razorpayEvent(t, "subscription.activated", "active", 0, t0+60, nil)},
		{"evt_chg1", razorpayEvent(t, "subscription.charged", "active", 1, t0+120, charge("pay_E2eCharge1", t0+110))},
		{"evt_fail", razorpayEvent(t, "payment.failed", "", 0, t0+30*day, failure("pay_E2eFailed1", t0+30*day))},
		{"evt_pend", razorpayEvent(t, "subscription.pending", "pending", 1, t0+30*day+60, nil)},
		{"evt_halt", razorpayEvent(t, "subscription.halted", "halted", 1, t0+33*day, nil)},
		{"evt_chg2", razorpayEvent(t, "subscription.charged", "active", 2, t0+34*day, charge("pay_E2eCharge2", t0+34*day-10))},
		{"evt_act2", razorpayEvent(t, "subscription.activated", "active", 2, t0+34*day+1, nil)},
		{"evt_cncl", razorpayEvent(t, "subscription.cancelled", "cancelled", 2, t0+40*day, nil)},
	}
	// Deliver in order with a few swaps (halted before pending, activated
	// before charged), then everything again.
	order := []int{0, 1, 2, 3, 5, 4, 7, 6}
	for _, round := range [][]int{order, order} {
		for _, i := range round {
			if r := s.postRazorpay(t, life[i].body, life[i].id); r.Status != 202 {
				t.Fatalf("%s: %+v", life[i].id, r)
			}
		}
	}
	// Before cancelling, the failure has been handed over and access restored.
	eventually(t, "failure handed over and recovered", func() error {
		st := query[workflows.SubscriptionState](t, s.client, "sub_E2eLife0001")
		if st.LastFailure == nil || st.Access != workflows.AccessGranted || st.PaidCount != 2 {
			return errors.New("state " + jsonString(st))
		}
		return nil
	})
	for range 2 {
		if r := s.postRazorpay(t, life[8].body, life[8].id); r.Status != 202 {
			t.Fatalf("cancelled: %+v", r)
		}
	}

	var final workflows.SubscriptionState
	if err := s.client.GetWorkflow(ctx, "sub_E2eLife0001", "").Get(ctx, &final); err != nil {
		t.Fatal(err)
	}
	if final.Status != "cancelled" || final.Access != workflows.AccessRevoked || final.PaidCount != 2 ||
		fmt.Sprint(final.Payments) != "[pay_E2eCharge1 pay_E2eCharge2]" || final.LastFailure == nil ||
		final.LastFailure.PaymentID != "pay_E2eFailed1" || final.LastFailure.Reason != "insufficient_funds" ||
		final.EventsApplied != 9 || final.DuplicatesIgnored != 8 { // payment.failed redeliveries go to its PaymentWorkflow
		t.Errorf("final state %s", jsonString(final))
	}
	var pay workflows.PaymentState
	if err := s.client.GetWorkflow(ctx, "pay_E2eFailed1", "").Get(ctx, &pay); err != nil {
		t.Fatal(err)
	}
	if pay.SubscriptionID != "sub_E2eLife0001" || pay.Resolution != workflows.ResolutionHandedOver || pay.DuplicatesIgnored != 1 {
		t.Errorf("payment state %s", jsonString(pay))
	}

	row, err := s.store.Subscription(ctx, "sub_E2eLife0001")
	if err != nil {
		t.Fatal(err)
	}
	if row.Status != "cancelled" || row.Access != workflows.AccessRevoked || row.PaidCount != 2 ||
		row.LastFailurePaymentID != "pay_E2eFailed1" || row.LastFailureReason != "insufficient_funds" || row.PlanID != "plan_E2e" {
		t.Errorf("subscriptions row %+v", row)
	}
	payments, err := s.store.Payments(ctx, "sub_E2eLife0001")
	if err != nil {
		t.Fatal(err)
	}
	statuses := map[string]string{}
	for _, p := range payments {
		statuses[p.PaymentID] = p.Status
		if p.Amount != 99900 || p.Currency != "INR" {
			t.Errorf("payment %+v", p)
		}
	}
	if len(payments) != 3 || statuses["pay_E2eCharge1"] != activities.PaymentCaptured ||
		statuses["pay_E2eCharge2"] != activities.PaymentCaptured || statuses["pay_E2eFailed1"] != activities.PaymentFailed {
		t.Errorf("payments %+v", payments)
	}
	if n := s.rows(t); n != 9 {
		t.Errorf("%d webhook_events rows, want 9", n)
	}
	recordHistory(t, s, "sub_E2eLife0001", "subscription_life")
	recordHistory(t, s, "pay_E2eFailed1", "payment_failed_handed_over")
}

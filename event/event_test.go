package event_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/converter"

	"github.com/zentrix/webhooks/event"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseCall(t *testing.T) {
	t.Parallel()
	ended, err := event.ParseCall(readFixture(t, "call_ended.json"))
	if err != nil {
		t.Fatal(err)
	}
	if ended.Event != event.CallEnded || ended.Data.CallID != "call_abc123" || ended.Data.Duration != 245 ||
		ended.Data.Sentiment != "positive" || ended.Data.DisconnectionReason != "agent_ended" {
		t.Errorf("call.ended decoded as %+v", ended)
	}
	if want := time.Date(2026, 3, 5, 14, 30, 0, 0, time.UTC); !ended.Timestamp.Equal(want) {
		t.Errorf("timestamp = %v, want %v", ended.Timestamp, want)
	}
	if got := ended.Key(); got != "call_abc123/call.ended" {
		t.Errorf("key = %q", got)
	}
	// The caller's number is never decoded, so it cannot reach a workflow.
	out, _ := json.Marshal(ended)
	if strings.Contains(string(out), "9876543210") {
		t.Errorf("the caller's number survived parsing: %s", out)
	}

	tr, err := event.ParseCall(readFixture(t, "call_transferred.json"))
	if err != nil {
		t.Fatal(err)
	}
	if tr.Data.ToAgentID != "human_support_7" || string(tr.Data.ConversationContext) != `{"topic": "returns", "turns": 6}` {
		t.Errorf("call.transferred decoded as %+v", tr.Data)
	}
	wantKey := "call_abc123/call.transferred/2026-03-05T14:27:10.25Z/bbf5098cf0c5e2d6"
	if tr.Key() != wantKey {
		t.Errorf("transfer key = %q, want %q", tr.Key(), wantKey)
	}
}

func TestCallKeyStableAcrossRedeliveries(t *testing.T) {
	t.Parallel()
	body := readFixture(t, "call_transferred.json")
	a, _ := event.ParseCall(body)
	// A redelivery may reorder keys and use another time-zone offset.
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	m["timestamp"] = "2026-03-05T19:57:10.250+05:30"
	again, _ := json.Marshal(m)
	b, err := event.ParseCall(again)
	if err != nil {
		t.Fatal(err)
	}
	if a.Key() != b.Key() {
		t.Errorf("keys differ: %q vs %q", a.Key(), b.Key())
	}
	// Agent ids cannot be chosen so that two transfers share a key.
	x := event.Call{Event: event.CallTransferred, Timestamp: a.Timestamp, Data: event.CallData{CallID: "c", FromAgentID: "a>b", ToAgentID: "c"}}
	y := event.Call{Event: event.CallTransferred, Timestamp: a.Timestamp, Data: event.CallData{CallID: "c", FromAgentID: "a", ToAgentID: "b>c"}}
	if x.Key() == y.Key() {
		t.Errorf("two transfers between different agents share the key %q", x.Key())
	}
	// Another transfer of the same call has another key.
	m["timestamp"] = "2026-03-05T14:28:00Z"
	other, _ := json.Marshal(m)
	c, _ := event.ParseCall(other)
	if c.Key() == a.Key() {
		t.Errorf("two transfers share the key %q", a.Key())
	}
}

func TestParseCallErrors(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", event.MaxIDLength+1)
	cases := []struct {
		name string
		body string
		want error
		msg  string
	}{
		{"empty body", ``, event.ErrInvalid, "body is not a call event"},
		{"not json", `hello`, event.ErrInvalid, "malformed JSON"},
		{"array", `[1,2]`, event.ErrInvalid, "not a JSON object"},
		{"truncated", `{"event":"call.started","data":{"callId":"c1"`, event.ErrInvalid, "malformed JSON"},
		{"no event", `{"timestamp":"2026-03-05T14:30:00Z","data":{"callId":"c1"}}`, event.ErrInvalid, "event is missing"},
		{"no callId", `{"event":"call.started","timestamp":"2026-03-05T14:30:00Z","data":{}}`, event.ErrInvalid, "data.callId is missing"},
		{"callId with space", `{"event":"call.started","timestamp":"2026-03-05T14:30:00Z","data":{"callId":"a b"}}`, event.ErrInvalid, "printable ASCII"},
		{"callId too long", `{"event":"call.started","timestamp":"2026-03-05T14:30:00Z","data":{"callId":"` + long + `"}}`, event.ErrInvalid, "longer than"},
		{"no timestamp", `{"event":"call.started","data":{"callId":"c1"}}`, event.ErrInvalid, "timestamp is missing"},
		{"year past 9999 in UTC", `{"event":"call.started","timestamp":"9999-12-31T23:30:00-01:00","data":{"callId":"c1"}}`, event.ErrInvalid, "years 1 to 9999"},
		{"year 0", `{"event":"call.started","timestamp":"0000-06-01T00:00:00Z","data":{"callId":"c1"}}`, event.ErrInvalid, "years 1 to 9999"},
		{"bad timestamp", `{"event":"call.started","timestamp":"yesterday","data":{"callId":"c1"}}`, event.ErrInvalid, "RFC 3339"},
		{"callId a number", `{"event":"call.started","timestamp":"2026-03-05T14:30:00Z","data":{"callId":42}}`, event.ErrInvalid, "data.callId has the wrong type"},
		{"transfer without toAgentId", `{"event":"call.transferred","timestamp":"2026-03-05T14:30:00Z","data":{"callId":"c1"}}`, event.ErrInvalid, "data.toAgentId is missing"},
		{"negative duration", `{"event":"call.ended","timestamp":"2026-03-05T14:30:00Z","data":{"callId":"c1","duration":-1}}`, event.ErrInvalid, "negative"},
		{"unknown event", `{"event":"call.ringing","timestamp":"2026-03-05T14:30:00Z","data":{}}`, event.ErrUnhandled, ""},
		// An event the system does not handle is ignored whatever its other
		// members look like: a 400 would be retried by the sender.
		{"unknown event, numeric timestamp", `{"event":"call.recording_ready","timestamp":1741185000,"data":{"callId":7}}`, event.ErrUnhandled, ""},
		{"known event, numeric timestamp", `{"event":"call.started","timestamp":1741185000,"data":{"callId":"c1"}}`, event.ErrInvalid, "body is not a call event"},
		// Fields that become search attributes fit SQL visibility's columns.
		{"platform too long", `{"event":"call.started","timestamp":"2026-03-05T14:30:00Z","data":{"callId":"c1","platform":"` + long + `"}}`, event.ErrInvalid, "data.platform is longer than 255 bytes"},
		{"agentId too long", `{"event":"call.ended","timestamp":"2026-03-05T14:30:00Z","data":{"callId":"c1","agentId":"` + long + `"}}`, event.ErrInvalid, "data.agentId is longer than 255 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := event.ParseCall([]byte(tc.body))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %q, want it to mention %q", err, tc.msg)
			}
		})
	}
}

func TestParseRazorpay(t *testing.T) {
	t.Parallel()
	charged, err := event.ParseRazorpay(readFixture(t, "razorpay_subscription_charged.json"))
	if err != nil {
		t.Fatal(err)
	}
	s, p := charged.Subscription, charged.Payment
	if s == nil || p == nil {
		t.Fatalf("entities missing: %+v", charged)
	}
	if charged.WorkflowID() != "sub_Nq4xR2sT9uVwXy" || s.PaidCount != 2 || s.PlanID != "plan_Nq4vB1cD2eF3gH" ||
		s.Notes == nil || len(s.Notes) != 0 || s.EndedAt != 0 {
		t.Errorf("subscription decoded as %+v", s)
	}
	if p.ID != "pay_Nz8aB7cD6eF5gH" || !bool(p.Captured) || p.Amount != 99900 || p.InvoiceID != "inv_Nz8a9Z8y7X6w5V" {
		t.Errorf("payment decoded as %+v", p)
	}
	if want := time.Unix(1775398420, 0).UTC(); !charged.CreatedAt.Equal(want) {
		t.Errorf("created_at = %v", charged.CreatedAt)
	}
	out, _ := json.Marshal(charged)
	for _, personal := range []string{"customer@example.com", "9876543210", "A Customer"} {
		if strings.Contains(string(out), personal) {
			t.Errorf("%q survived parsing", personal)
		}
	}

	activated, err := event.ParseRazorpay(readFixture(t, "razorpay_subscription_activated.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := activated.Subscription.Notes; got["workspace_id"] != "ws_42" || got["seats"] != "5" {
		t.Errorf("notes = %v", got)
	}

	failed, err := event.ParseRazorpay(readFixture(t, "razorpay_payment_failed.json"))
	if err != nil {
		t.Fatal(err)
	}
	if failed.WorkflowID() != "pay_Oa1bC2dE3fG4hI" || failed.Payment.ErrorReason != "insufficient_funds" || bool(failed.Payment.Captured) {
		t.Errorf("payment.failed decoded as %+v", failed.Payment)
	}

	if _, err := event.ParseRazorpay(readFixture(t, "razorpay_order_paid.json")); !errors.Is(err, event.ErrUnhandled) {
		t.Errorf("order.paid: err = %v, want ErrUnhandled", err)
	}
}

func TestParseRazorpayErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		body string
		want error
		msg  string
	}{
		{"empty", ``, event.ErrInvalid, "not a Razorpay event"},
		{"no event", `{"entity":"event","payload":{}}`, event.ErrInvalid, "event is missing"},
		{"subscription without entity", `{"event":"subscription.activated","payload":{}}`, event.ErrInvalid, "payload.subscription.entity is missing"},
		{"subscription without id", `{"event":"subscription.activated","payload":{"subscription":{"entity":{"status":"active"}}}}`, event.ErrInvalid, "payload.subscription.entity.id is missing"},
		{"payment.failed without payment", `{"event":"payment.failed","payload":{"subscription":{"entity":{"id":"sub_1"}}}}`, event.ErrInvalid, "payload.payment.entity is missing"},
		{"payment.failed without id", `{"event":"payment.failed","payload":{"payment":{"entity":{"status":"failed"}}}}`, event.ErrInvalid, "payload.payment.entity.id is missing"},
		{"notes not empty array", `{"event":"subscription.activated","payload":{"subscription":{"entity":{"id":"sub_1","notes":[1]}}}}`, event.ErrInvalid, "notes has the wrong type"},
		{"captured garbage", `{"event":"payment.failed","payload":{"payment":{"entity":{"id":"pay_1","captured":"maybe"}}}}`, event.ErrInvalid, "captured has the wrong type"},
		{"created_at past 9999", `{"event":"subscription.activated","created_at":253402300800,"payload":{"subscription":{"entity":{"id":"sub_1"}}}}`, event.ErrInvalid, "years 1 to 9999"},
		{"NUL in the event name", `{"event":"subscription.\u0000x","payload":{"subscription":{"entity":{"id":"sub_1"}}}}`, event.ErrInvalid, "printable ASCII"},
		{"unknown event", `{"event":"refund.processed","payload":{}}`, event.ErrUnhandled, ""},
		{"unknown event, odd members", `{"event":"order.paid","created_at":"today","payload":{"payment":{"entity":{"amount":"12"}}}}`, event.ErrUnhandled, ""},
		{"unknown event, created_at past 9999", `{"event":"invoice.paid","created_at":253402300800,"payload":{}}`, event.ErrUnhandled, ""},
		{"plan_id too long", `{"event":"subscription.activated","payload":{"subscription":{"entity":{"id":"sub_1","plan_id":"` + strings.Repeat("p", 256) + `"}}}}`, event.ErrInvalid, "plan_id is longer than 255 bytes"},
		{"customer_id too long", `{"event":"subscription.charged","payload":{"subscription":{"entity":{"id":"sub_1","customer_id":"` + strings.Repeat("c", 256) + `"}}}}`, event.ErrInvalid, "customer_id is longer than 255 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := event.ParseRazorpay([]byte(tc.body))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %q, want it to mention %q", err, tc.msg)
			}
		})
	}
}

// NUL characters and invalid UTF-8, which PostgreSQL would refuse, reach no
// workflow: they become U+FFFD, as encoding/json does with invalid UTF-8 in
// strings.
func TestTextTheStoreCannotKeepIsReplaced(t *testing.T) {
	t.Parallel()
	call, err := event.ParseCall([]byte(`{"event":"call.transferred","timestamp":"2026-03-05T14:30:00Z","data":{"callId":"c1","toAgentId":"a2",` +
		`"transferReason":"x\u0000y","conversationContext":{"said":"a\u0000b` + "\xff" + `c","n":1}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if call.Data.TransferReason != "x\uFFFDy" {
		t.Errorf("transferReason = %q", call.Data.TransferReason)
	}
	var ctx map[string]any
	if err := json.Unmarshal(call.Data.ConversationContext, &ctx); err != nil || !utf8.Valid(call.Data.ConversationContext) ||
		ctx["said"] != "a\uFFFDb\uFFFDc" || ctx["n"] != 1.0 {
		t.Errorf("conversationContext = %s (%v), want valid JSON with U+FFFD in place of NUL and the bad byte", call.Data.ConversationContext, err)
	}
	ended, err := event.ParseCall([]byte(`{"event":"call.ended","timestamp":"2026-03-05T14:30:00Z","data":{"callId":"c1","transcript":"hi\u0000","summary":"\u0000"}}`))
	if err != nil || ended.Data.Transcript != "hi\uFFFD" || ended.Data.Summary != "\uFFFD" {
		t.Errorf("call.ended = %+v, %v", ended.Data, err)
	}
	failed, err := event.ParseRazorpay([]byte(`{"event":"payment.failed","payload":{"payment":{"entity":{"id":"pay_1","error_description":"card\u0000declined","error_reason":"\u0000"}}}}`))
	if err != nil || failed.Payment.ErrorDescription != "card\uFFFDdeclined" || failed.Payment.ErrorReason != "\uFFFD" {
		t.Errorf("payment.failed = %+v, %v", failed.Payment, err)
	}
}

func TestFlag(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{`true`: true, `"1"`: true, `1`: true, `"true"`: true, `false`: false, `"0"`: false, `null`: false, `""`: false} {
		var f event.Flag
		if err := json.Unmarshal([]byte(in), &f); err != nil || bool(f) != want {
			t.Errorf("%s: got %v, %v; want %v", in, f, err, want)
		}
	}
}

// FuzzParseCall checks that no body makes the parser panic, and that what it
// accepts is routable.
func FuzzParseCall(f *testing.F) {
	for _, name := range []string{"call_started.json", "call_transferred.json", "call_ended.json"} {
		f.Add(readFixture(f, name))
	}
	f.Add([]byte(`{"event":"call.started","timestamp":"2026-03-05T14:30:00Z","data":{"callId":"c"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := event.ParseCall(body)
		if err != nil {
			if !errors.Is(err, event.ErrInvalid) && !errors.Is(err, event.ErrUnhandled) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if c.Data.CallID == "" || len(c.Data.CallID) > event.MaxIDLength || c.Key() == "" || c.Timestamp.IsZero() {
			t.Fatalf("accepted an unroutable event: %+v", c)
		}
		mustEncode(t, c)
	})
}

// FuzzParseRazorpay checks that no body makes the parser panic, and that what
// it accepts names its workflow.
func FuzzParseRazorpay(f *testing.F) {
	for _, name := range []string{"razorpay_subscription_activated.json", "razorpay_subscription_charged.json",
		"razorpay_payment_failed.json", "razorpay_order_paid.json"} {
		f.Add(readFixture(f, name))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := event.ParseRazorpay(body)
		if err != nil {
			if !errors.Is(err, event.ErrInvalid) && !errors.Is(err, event.ErrUnhandled) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if id := r.WorkflowID(); id == "" || len(id) > event.MaxIDLength {
			t.Fatalf("accepted an event without a workflow id: %+v", r)
		}
		if !utf8.ValidString(r.Event) || strings.ContainsRune(r.Event, 0) {
			t.Fatalf("accepted an event name the store would refuse: %q", r.Event)
		}
		mustEncode(t, r)
	})
}

// mustEncode checks that an accepted event can travel to a workflow: the SDK's
// data converter must encode it.
func mustEncode(t *testing.T, v any) {
	t.Helper()
	if _, err := converter.GetDefaultDataConverter().ToPayload(v); err != nil {
		t.Fatalf("accepted an event Temporal cannot encode: %v", err)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zentrix/webhooks/event"
	"github.com/zentrix/webhooks/receiver"
	"github.com/zentrix/webhooks/temporal"
	"github.com/zentrix/webhooks/workflows"
)

const (
	callSecret     = "test-call-secret-4f1b"
	razorpaySecret = "test-razorpay-secret-9c2d"
)

// testEnv is an environment holding the two test secrets.
func testEnv(key string) string {
	return map[string]string{"CALL_WEBHOOK_SECRET": callSecret, "RAZORPAY_WEBHOOK_SECRET": razorpaySecret}[key]
}

// received is one request the fake receiver accepted.
type received struct {
	path    string
	header  http.Header
	body    []byte
	call    event.Call
	rzp     event.Razorpay
	eventID string
}

// fakeReceiver checks requests as the real receiver does: the signature with
// the receiver's own verifier, then the event with package event. It answers
// 202 with the workflow id, or status when set.
type fakeReceiver struct {
	t        *testing.T
	srv      *httptest.Server
	status   int
	mu       sync.Mutex
	requests []received
}

func newFakeReceiver(t *testing.T, callSecrets, razorpaySecrets []string) *fakeReceiver {
	t.Helper()
	toBytes := func(ss []string) [][]byte {
		var out [][]byte
		for _, s := range ss {
			out = append(out, []byte(s))
		}
		return out
	}
	calls, rzp := receiver.NewVerifier(toBytes(callSecrets)), receiver.NewVerifier(toBytes(razorpaySecrets))
	f := &fakeReceiver{t: t}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec := received{path: r.URL.Path, header: r.Header.Clone(), body: body}
		var id string
		switch r.URL.Path {
		case receiver.CallsPath:
			if err := calls.Verify(body, []byte(r.Header.Get(receiver.HeaderCallSignature))); err != nil {
				reply(w, http.StatusUnauthorized, `{"error":"invalid signature"}`)
				return
			}
			c, err := event.ParseCall(body)
			if err != nil {
				reply(w, http.StatusBadRequest, `{"error":"bad event"}`)
				return
			}
			rec.call, id = c, workflows.CallWorkflowID(c.Data.CallID)
		case receiver.PaymentsPath:
			if err := rzp.Verify(body, []byte(r.Header.Get(receiver.HeaderRazorpaySignature))); err != nil {
				reply(w, http.StatusUnauthorized, `{"error":"invalid signature"}`)
				return
			}
			ev, err := event.ParseRazorpay(body)
			rec.eventID = r.Header.Get(receiver.HeaderRazorpayEventID)
			if err != nil || event.CheckEventID(rec.eventID) != nil {
				reply(w, http.StatusBadRequest, `{"error":"bad event"}`)
				return
			}
			rec.rzp, id = ev, workflows.RazorpayWorkflowID(ev)
		default:
			reply(w, http.StatusNotFound, `{"error":"not found"}`)
			return
		}
		f.mu.Lock()
		f.requests = append(f.requests, rec)
		status := f.status
		f.mu.Unlock()
		if status != 0 {
			w.Header().Set("Retry-After", "5")
			reply(w, status, `{"error":"temporarily unable to accept events, retry later"}`)
			return
		}
		reply(w, http.StatusAccepted, `{"status":"accepted","workflowId":"`+id+`"}`)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func reply(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func (f *fakeReceiver) all() []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

func (f *fakeReceiver) only(t *testing.T) received {
	t.Helper()
	all := f.all()
	if len(all) != 1 {
		t.Fatalf("the receiver got %d requests, want 1", len(all))
	}
	return all[0]
}

// runCmd runs the command and returns its exit status and outputs.
func runCmd(env func(string) string, args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr, env)
	return code, stdout.String(), stderr.String()
}

func TestEachEventIsPostedSignedAndParses(t *testing.T) {
	t.Parallel()
	cases := []struct {
		ev, path, workflowID string
	}{
		{"call.started", receiver.CallsPath, "call_demo1"},
		{"call.transferred", receiver.CallsPath, "call_demo1"},
		{"call.ended", receiver.CallsPath, "call_demo1"},
		{"payment.failed", receiver.PaymentsPath, "pay_Oa1bC2dE3fG4hI"},
	}
	for _, s := range subscriptionEvents {
		cases = append(cases, struct{ ev, path, workflowID string }{"subscription." + s, receiver.PaymentsPath, "sub_Nq4xR2sT9uVwXy"})
	}
	for _, tc := range cases {
		t.Run(tc.ev, func(t *testing.T) {
			t.Parallel()
			f := newFakeReceiver(t, []string{callSecret}, []string{razorpaySecret})
			code, stdout, stderr := runCmd(testEnv, "--url", f.srv.URL, tc.ev)
			if code != 0 {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			r := f.only(t)
			if r.path != tc.path || r.header.Get("Content-Type") != "application/json" {
				t.Errorf("posted to %s with %v", r.path, r.header)
			}
			if tc.path == receiver.CallsPath {
				if r.call.Event != tc.ev || r.header.Get(receiver.HeaderCallSignature) == "" {
					t.Errorf("call %+v", r.call)
				}
			} else {
				if r.rzp.Event != tc.ev || !strings.HasPrefix(r.eventID, "evt_") || len(r.eventID) != len("evt_")+14 {
					t.Errorf("razorpay event %q, event id %q", r.rzp.Event, r.eventID)
				}
				if strings.HasPrefix(tc.ev, "subscription.") {
					if want := impliedStatus(tc.ev); r.rzp.Subscription.Status != want {
						t.Errorf("status %q, want %q", r.rzp.Subscription.Status, want)
					}
					if (r.rzp.Payment != nil) != (tc.ev == "subscription.charged") {
						t.Errorf("payment entity present = %v", r.rzp.Payment != nil)
					}
				}
			}
			want := "202 Accepted · status accepted · workflowId " + tc.workflowID +
				" · http://127.0.0.1:8233/namespaces/default/workflows/" + tc.workflowID
			if strings.TrimSpace(stdout) != tc.ev+": "+want {
				t.Errorf("stdout %q, want %q", stdout, want)
			}
		})
	}
}

// impliedStatus is the status table of the brief, spelled out again.
func impliedStatus(ev string) string {
	return map[string]string{
		"activated": "active", "charged": "active", "pending": "pending", "halted": "halted", "cancelled": "cancelled",
		"paused": "paused", "resumed": "active", "authenticated": "authenticated", "completed": "completed", "updated": "active",
	}[strings.TrimPrefix(ev, "subscription.")]
}

func TestFlagsShapeTheEvent(t *testing.T) {
	t.Parallel()
	f := newFakeReceiver(t, []string{callSecret}, []string{razorpaySecret})
	code, _, stderr := runCmd(testEnv, "--url", f.srv.URL, "--call-id", "call_flags1", "--from-agent", "agent_a",
		"--to-agent", "human_9", "--reason", "needs_human", "--platform", "web", "--time", "2026-03-05T19:57:10.25+05:30",
		"call.transferred")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// Flags after EVENT count too.
	code, _, stderr = runCmd(testEnv, "call.ended", "--url", f.srv.URL, "--call-id", "call_flags1", "--duration", "12.5",
		"--reason", "customer_hung_up", "--sentiment", "negative", "--summary", "short", "--transcript", "hi", "--agent-id", "agent_b")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	code, _, stderr = runCmd(testEnv, "--url", f.srv.URL, "--subscription-id", "sub_F1", "--plan-id", "plan_F", "--customer-id", "cust_F",
		"--status", "halted", "--paid-count", "0", "--payment-id", "pay_F1", "--amount", "4900", "--currency", "USD",
		"--invoice-id", "inv_F1", "--token-id", "token_F", "--event-id", "evt_Fixed1", "--time", "2026-03-05T14:30:00Z",
		"subscription.charged")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	code, _, stderr = runCmd(testEnv, "--url", f.srv.URL, "--payment-id", "pay_F2", "--error-reason", "card_declined",
		"--customer-id", "cust_F", "payment.failed")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}

	all := f.all()
	tr, end, chg, fail := all[0].call, all[1].call, all[2].rzp, all[3].rzp
	if tr.Data.CallID != "call_flags1" || tr.Data.FromAgentID != "agent_a" || tr.Data.ToAgentID != "human_9" ||
		tr.Data.TransferReason != "needs_human" || tr.Data.Platform != "web" ||
		!tr.Timestamp.Equal(time.Date(2026, 3, 5, 14, 27, 10, 250e6, time.UTC)) {
		t.Errorf("call.transferred %+v", tr)
	}
	if d := end.Data; d.Duration != 12.5 || d.DisconnectionReason != "customer_hung_up" || d.Sentiment != "negative" ||
		d.Summary != "short" || d.Transcript != "hi" || d.AgentID != "agent_b" {
		t.Errorf("call.ended %+v", d)
	}
	if s, p := chg.Subscription, chg.Payment; s.ID != "sub_F1" || s.PlanID != "plan_F" || s.CustomerID != "cust_F" ||
		s.Status != "halted" || s.PaidCount != 0 || p.ID != "pay_F1" || p.Amount != 4900 || p.Currency != "USD" ||
		p.InvoiceID != "inv_F1" || p.TokenID != "token_F" || p.CustomerID != "cust_F" || p.ErrorReason != "" ||
		all[2].eventID != "evt_Fixed1" || chg.CreatedAt.Unix() != time.Date(2026, 3, 5, 14, 30, 0, 0, time.UTC).Unix() {
		t.Errorf("subscription.charged %+v %+v (event id %s)", s, p, all[2].eventID)
	}
	if p := fail.Payment; p.ID != "pay_F2" || p.ErrorReason != "card_declined" || p.CustomerID != "cust_F" || bool(p.Captured) {
		t.Errorf("payment.failed %+v", p)
	}
	if all[3].eventID == all[2].eventID {
		t.Error("two sends shared an event id")
	}
}

func TestSecrets(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		env       map[string]string
		args      []string
		call, rzp string // the secrets the receiver holds
	}{
		{"development secrets by default", nil, nil, "dev-call-secret", "dev-razorpay-secret"},
		{"the first of rotating secrets", map[string]string{"CALL_WEBHOOK_SECRET": " new-c , old-c", "RAZORPAY_WEBHOOK_SECRET": "new-r,old-r"}, nil, "new-c", "new-r"},
		{"--secret wins", map[string]string{"CALL_WEBHOOK_SECRET": "c", "RAZORPAY_WEBHOOK_SECRET": "r"}, []string{"--secret", "flag-s"}, "flag-s", "flag-s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeReceiver(t, []string{tc.call}, []string{tc.rzp})
			env := func(k string) string { return tc.env[k] }
			for _, ev := range []string{"call.started", "subscription.activated"} {
				args := append([]string{"--url", f.srv.URL, ev}, tc.args...)
				if code, stdout, stderr := runCmd(env, args...); code != 0 {
					t.Errorf("%s: exit %d: %s %s", ev, code, stdout, stderr)
				}
			}
		})
	}
}

func TestFileIsSentUnchanged(t *testing.T) {
	t.Parallel()
	f := newFakeReceiver(t, []string{callSecret}, []string{razorpaySecret})
	for _, tc := range []struct{ fixture, path string }{
		{"call_transferred.json", receiver.CallsPath},
		{"razorpay_subscription_charged.json", receiver.PaymentsPath},
		{"razorpay_payment_failed.json", receiver.PaymentsPath},
	} {
		want, err := os.ReadFile(filepath.Join("..", "..", "event", "testdata", tc.fixture))
		if err != nil {
			t.Fatal(err)
		}
		before := len(f.all())
		code, stdout, stderr := runCmd(testEnv, "--url", f.srv.URL, "--file", filepath.Join("..", "..", "event", "testdata", tc.fixture))
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", tc.fixture, code, stderr)
		}
		got := f.all()[before]
		if !bytes.Equal(got.body, want) || got.path != tc.path {
			t.Errorf("%s: sent %d bytes to %s, want the file's %d bytes to %s", tc.fixture, len(got.body), got.path, len(want), tc.path)
		}
		if !strings.Contains(stdout, "202 Accepted") {
			t.Errorf("%s: stdout %q", tc.fixture, stdout)
		}
	}

	// An event the system does not handle still goes where its name says.
	dir := t.TempDir()
	unhandled := filepath.Join(dir, "ringing.json")
	os.WriteFile(unhandled, []byte(`{"event":"call.ringing","timestamp":"2026-03-05T14:30:00Z","data":{"callId":"c1"}}`), 0o600)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != receiver.CallsPath {
			reply(w, http.StatusNotFound, `{"error":"not found"}`)
			return
		}
		reply(w, http.StatusOK, `{"status":"ignored"}`)
	}))
	defer srv.Close()
	if code, stdout, _ := runCmd(testEnv, "--url", srv.URL, "--file", unhandled); code != 0 || !strings.Contains(stdout, "200 OK · status ignored") {
		t.Errorf("call.ringing: exit %d, %q", code, stdout)
	}
}

func TestNon2xxFails(t *testing.T) {
	t.Parallel()
	f := newFakeReceiver(t, []string{callSecret}, []string{razorpaySecret})
	f.status = http.StatusServiceUnavailable
	code, stdout, _ := runCmd(testEnv, "--url", f.srv.URL, "call.started")
	if code != 1 || !strings.Contains(stdout, "503 Service Unavailable · error: temporarily unable") {
		t.Errorf("503: exit %d, stdout %q", code, stdout)
	}

	wrong := newFakeReceiver(t, []string{"another-secret"}, []string{razorpaySecret})
	code, stdout, _ = runCmd(testEnv, "--url", wrong.srv.URL, "call.ended")
	if code != 1 || !strings.Contains(stdout, "401 Unauthorized · error: invalid signature") || len(wrong.all()) != 0 {
		t.Errorf("401: exit %d, stdout %q", code, stdout)
	}

	notJSON := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad gateway", http.StatusBadGateway)
	}))
	defer notJSON.Close()
	code, stdout, _ = runCmd(testEnv, "--url", notJSON.URL, "payment.failed")
	if code != 1 || !strings.Contains(stdout, `502 Bad Gateway · body "bad gateway\n"`) {
		t.Errorf("502: exit %d, stdout %q", code, stdout)
	}

	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	code, _, stderr := runCmd(testEnv, "--url", closed.URL, "call.started")
	if code != 1 || !strings.Contains(stderr, "send: post call.started to "+closed.URL+"/api/calls/webhooks:") {
		t.Errorf("transport error: exit %d, stderr %q", code, stderr)
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer slow.Close()
	defer close(release)
	start := time.Now()
	code, _, stderr := runCmd(testEnv, "--url", slow.URL, "--timeout", "100ms", "call.started")
	if code != 1 || time.Since(start) > 3*time.Second || !strings.Contains(stderr, "Timeout") {
		t.Errorf("exit %d after %s, stderr %q", code, time.Since(start), stderr)
	}
}

func TestPrintDoesNotPostNorShowTheSecret(t *testing.T) {
	t.Parallel()
	f := newFakeReceiver(t, []string{callSecret}, []string{razorpaySecret})
	for _, args := range [][]string{
		{"--print", "call.ended"},
		{"--print", "subscription.charged", "--event-id", "evt_Print1"},
		{"--print", "--secret", "flag-secret-7e3a", "payment.failed"},
		{"--print", "--file", filepath.Join("..", "..", "event", "testdata", "razorpay_subscription_activated.json")},
	} {
		code, stdout, stderr := runCmd(testEnv, append([]string{"--url", f.srv.URL}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		for _, secret := range []string{callSecret, razorpaySecret, "flag-secret-7e3a", "dev-call-secret", "dev-razorpay-secret"} {
			if strings.Contains(stdout+stderr, secret) {
				t.Errorf("%v: the output shows the secret %q", args, secret)
			}
		}
		// What is printed is what would be sent: the signature verifies.
		head, body, ok := strings.Cut(stdout, "\n\n")
		if !ok || !strings.HasPrefix(head, "POST "+f.srv.URL+"/api/") {
			t.Fatalf("%v: printed %q", args, stdout)
		}
		sigHeader, secret := receiver.HeaderCallSignature, callSecret
		if strings.Contains(head, "/api/payments/") {
			sigHeader, secret = receiver.HeaderRazorpaySignature, razorpaySecret
			if !strings.Contains(head, receiver.HeaderRazorpayEventID+": evt_") {
				t.Errorf("%v: no event id in %q", args, head)
			}
		}
		if slices.Contains(args, "--secret") {
			secret = "flag-secret-7e3a"
		}
		sig := headerValue(head, sigHeader)
		v := receiver.NewVerifier([][]byte{[]byte(secret)})
		if err := v.Verify([]byte(strings.TrimSuffix(body, "\n")), []byte(sig)); err != nil {
			t.Errorf("%v: printed signature %q does not verify: %v", args, sig, err)
		}
	}
	if n := len(f.all()); n != 0 {
		t.Errorf("--print posted %d requests", n)
	}
}

func headerValue(head, name string) string {
	for _, line := range strings.Split(head, "\n") {
		if v, ok := strings.CutPrefix(line, name+": "); ok {
			return v
		}
	}
	return ""
}

func TestBadUsage(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		msg  string
	}{
		{nil, "EVENT missing"},
		{[]string{"call.ringing"}, `unknown EVENT "call.ringing"`},
		{[]string{"subscription.exploded"}, `unknown subscription event "subscription.exploded"`},
		{[]string{"call.started", "call.ended"}, "one EVENT expected"},
		{[]string{"--file", "x.json", "call.started"}, "either EVENT or --file"},
		{[]string{"--time", "yesterday", "call.started"}, "want RFC 3339"},
		{[]string{"--duration", "-3", "call.ended"}, "--duration must be"},
		{[]string{"--duration", "Inf", "call.ended"}, "--duration must be"},
		{[]string{"--duration", "long", "call.ended"}, `invalid value "long" for flag -duration`},
		{[]string{"--amount", "0", "payment.failed"}, "--amount must be positive"},
		{[]string{"--paid-count", "-1", "subscription.charged"}, "--paid-count must be"},
		{[]string{"--paid-count", "two", "subscription.charged"}, "want an integer"},
		{[]string{"--timeout", "0s", "call.started"}, "--timeout must be positive"},
		{[]string{"--timeout", "soon", "call.started"}, `invalid value "soon" for flag -timeout`},
		{[]string{"--url", "localhost:8080", "call.started"}, "--url must be an http(s) URL"},
		{[]string{"--ui", "::", "call.started"}, "--ui must be an http(s) URL"},
		{[]string{"--event-id", "evt\n1", "subscription.charged"}, "--event-id holds a control character"},
		{[]string{"--nope", "call.started"}, "flag provided but not defined: -nope"},
		{[]string{"--print", "demo"}, "--print does not apply to demo"},
		{[]string{"--file", "/does/not/exist.json"}, "read --file"},
		{[]string{"--file", writeTemp(t, "not json")}, "is not a JSON object"},
		{[]string{"--file", writeTemp(t, `{"hello":1}`)}, `has no "event" field`},
	}
	for _, tc := range cases {
		code, stdout, stderr := runCmd(testEnv, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.msg) || stdout != "" {
			t.Errorf("%q: exit %d, stderr %q, want 2 and %q", tc.args, code, stderr, tc.msg)
		}
		if strings.Count(stderr, "\n") > 2 {
			t.Errorf("%q: stderr is not short: %q", tc.args, stderr)
		}
	}
	code, stdout, _ := runCmd(testEnv, "-h")
	if code != 0 || !strings.Contains(stdout, "usage: go run ./cmd/send [flags] EVENT") || !strings.Contains(stdout, "-paid-count") {
		t.Errorf("-h: exit %d, %q", code, stdout)
	}
}

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "body.json")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// simulated plays the workflows' part for the demo: it derives each
// workflow's state from what the fake receiver accepted, as the real
// workflows would (dedupe by key, charges, the failed payment found by its
// card token among earlier charges).
type simulated struct {
	f      *fakeReceiver
	broken bool // answer states that never match
}

func (s simulated) Close() {}

func (s simulated) PendingActivities(context.Context, string) (int, error) { return 0, nil }

func (s simulated) State(_ context.Context, id string, out any) error {
	if s.broken {
		return errors.New("workflow not found")
	}
	seen := map[string]bool{}
	tokens := map[string]string{} // token → subscription of a charge received so far
	call := workflows.CallState{CallID: id}
	sub := workflows.SubscriptionState{SubscriptionID: id, Payments: []string{}}
	pay := workflows.PaymentState{PaymentID: id, Resolution: workflows.ResolutionUnresolved}
	var lastPaid int64
	for _, r := range s.f.all() {
		key := r.eventID
		if r.path == receiver.CallsPath {
			key = r.call.Key()
		}
		dup := seen[key]
		seen[key] = true
		switch {
		case r.path == receiver.CallsPath && r.call.Data.CallID == id:
			if dup {
				call.DuplicatesIgnored++
				continue
			}
			call.EventsApplied++
			switch r.call.Event {
			case event.CallEnded:
				call.Status = workflows.CallEnded
			case event.CallTransferred:
				call.Transfers = append(call.Transfers, workflows.Transfer{ToAgentID: r.call.Data.ToAgentID})
			}
		case r.rzp.Subscription != nil:
			e := r.rzp.Subscription
			if p := r.rzp.Payment; p != nil && bool(p.Captured) {
				tokens[p.TokenID] = e.ID
				if e.ID == id {
					sub.Payments = append(sub.Payments, p.ID)
				}
			}
			if e.ID == id && e.PaidCount >= lastPaid && sub.Status != "cancelled" {
				sub.Status, sub.PaidCount, lastPaid = e.Status, e.PaidCount, e.PaidCount
				sub.Access = map[string]string{"cancelled": workflows.AccessRevoked}[e.Status]
			}
		case r.rzp.Event == event.PaymentFailed:
			p := r.rzp.Payment
			if owner := tokens[p.TokenID]; owner != "" && p.ID == id {
				pay.Resolution, pay.SubscriptionID = workflows.ResolutionHandedOver, owner
			}
			if owner := tokens[p.TokenID]; owner == id {
				sub.LastFailure = &workflows.Failure{PaymentID: p.ID, Reason: p.ErrorReason}
			}
		}
	}
	var v any
	switch {
	case strings.HasPrefix(id, "call_"):
		v = call
	case strings.HasPrefix(id, "sub_"):
		v = sub
	default:
		v = pay
	}
	b, _ := json.Marshal(v)
	return json.Unmarshal(b, out)
}

func TestDemo(t *testing.T) {
	t.Parallel()
	f := newFakeReceiver(t, []string{"dev-call-secret"}, []string{"dev-razorpay-secret"})
	var dialed temporal.Config
	d := deps{
		dial: func(_ context.Context, cfg temporal.Config) (states, error) {
			dialed = cfg
			return simulated{f: f}, nil
		},
		pollEvery: 10 * time.Millisecond, pollFor: 2 * time.Second,
	}
	var stdout, stderr bytes.Buffer
	env := func(k string) string { return map[string]string{"TEMPORAL_NAMESPACE": "zentrix"}[k] }
	code := runWith([]string{"--url", f.srv.URL, "demo"}, &stdout, &stderr, env, d)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	if dialed.Address != "127.0.0.1:7233" || dialed.Namespace != "zentrix" {
		t.Errorf("dialed %+v", dialed)
	}

	all := f.all()
	var events []string
	for _, r := range all {
		events = append(events, r.call.Event+r.rzp.Event)
	}
	want := []string{"call.started", "call.started", "call.transferred", "call.transferred", "call.ended", "call.ended",
		"subscription.authenticated", "subscription.activated", "subscription.charged", "payment.failed",
		"subscription.pending", "subscription.charged", "subscription.cancelled"}
	if !slices.Equal(events, want) {
		t.Fatalf("events %v\nwant %v", events, want)
	}
	// Redeliveries are the same bytes; event times increase; Razorpay event
	// ids are fresh.
	for i := 0; i < 6; i += 2 {
		if !bytes.Equal(all[i].body, all[i+1].body) {
			t.Errorf("redelivery %d differs", i)
		}
	}
	ids := map[string]bool{}
	var last time.Time
	for _, r := range all[6:] {
		if ids[r.eventID] || !r.rzp.CreatedAt.After(last) || r.rzp.CreatedAt.After(time.Now()) {
			t.Errorf("%s: event id %s, created %v after %v", r.rzp.Event, r.eventID, r.rzp.CreatedAt, last)
		}
		ids[r.eventID], last = true, r.rzp.CreatedAt
	}
	callID := all[0].call.Data.CallID
	subID := all[6].rzp.Subscription.ID
	if !strings.HasPrefix(callID, "call_demo_") || !strings.HasPrefix(subID, "sub_") {
		t.Errorf("ids %s %s", callID, subID)
	}
	out := stdout.String()
	for _, s := range []string{
		"WORKFLOW ID", "RESULT", "CallWorkflow", "SubscriptionWorkflow", "PaymentWorkflow",
		"http://127.0.0.1:8233/namespaces/zentrix/workflows/" + callID,
		"http://127.0.0.1:8233/namespaces/zentrix/workflows/" + subID,
		"ended, transfers 1, eventsApplied 3, duplicatesIgnored 3",
		"handed_over, subscription " + subID,
	} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
	if strings.Count(out, " OK\n") != 3 || strings.Contains(out, "FAIL") {
		t.Errorf("table:\n%s", out)
	}

	// A second run uses fresh ids.
	var again bytes.Buffer
	if code := runWith([]string{"--url", f.srv.URL, "demo"}, &again, io.Discard, env, d); code != 0 {
		t.Fatalf("second run: exit %d", code)
	}
	if second := f.all()[len(all)].call.Data.CallID; second == callID {
		t.Errorf("the second run reused %s", callID)
	}
}

func TestDemoFailures(t *testing.T) {
	t.Parallel()
	f := newFakeReceiver(t, []string{callSecret}, []string{razorpaySecret})
	broken := deps{
		dial:      func(context.Context, temporal.Config) (states, error) { return simulated{f: f, broken: true}, nil },
		pollEvery: 10 * time.Millisecond, pollFor: 200 * time.Millisecond,
	}
	var stdout, stderr bytes.Buffer
	if code := runWith([]string{"--url", f.srv.URL, "demo"}, &stdout, &stderr, testEnv, broken); code != 1 {
		t.Errorf("workflows never in state: exit %d", code)
	}
	if out := stdout.String(); strings.Count(out, "FAIL") != 3 || !strings.Contains(out, "error: workflow not found") ||
		!strings.Contains(out, "3 of 3 workflows did not reach their state") {
		t.Errorf("table:\n%s", out)
	}

	down := deps{dial: func(context.Context, temporal.Config) (states, error) {
		return nil, errors.New("connect to temporal at 127.0.0.1:7233: connection refused")
	}, pollEvery: 10 * time.Millisecond, pollFor: 100 * time.Millisecond}
	stderr.Reset()
	if code := runWith([]string{"--url", f.srv.URL, "demo"}, io.Discard, &stderr, testEnv, down); code != 1 ||
		!strings.Contains(stderr.String(), "connection refused (is `make run` running?)") {
		t.Errorf("temporal down: exit %d, stderr %q", code, stderr.String())
	}

	refusing := newFakeReceiver(t, []string{"another"}, []string{"another"})
	ok := deps{dial: func(context.Context, temporal.Config) (states, error) { return simulated{f: refusing}, nil },
		pollEvery: 10 * time.Millisecond, pollFor: 100 * time.Millisecond}
	stderr.Reset()
	if code := runWith([]string{"--url", refusing.srv.URL, "demo"}, io.Discard, &stderr, testEnv, ok); code != 1 ||
		!strings.Contains(stderr.String(), "call.started answered 401") {
		t.Errorf("receiver refusing: exit %d, stderr %q", code, stderr.String())
	}
}

package receiver_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/zentrix/webhooks/receiver"
	"github.com/zentrix/webhooks/workflows"
)

const (
	callSecret     = "call-secret-new"
	callSecretOld  = "call-secret-old"
	razorpaySecret = "razorpay-secret"
	bodyLimit      = 64 << 10
)

// fakeTemporal records SignalWithStart calls and fails or stalls on demand.
type fakeTemporal struct {
	mu        sync.Mutex
	calls     []signalWithStart
	err       error // returned by SignalWithStartWorkflow
	stall     bool  // block until the caller's deadline
	healthErr error
}

// temporalBehaviour is how a fakeTemporal answers SignalWithStart.
type temporalBehaviour struct {
	err   error
	stall bool
}

type signalWithStart struct {
	workflowID, signal, workflowType string
	arg                              any
	options                          client.StartWorkflowOptions
	input                            []any
}

func (f *fakeTemporal) SignalWithStartWorkflow(ctx context.Context, workflowID, signalName string, signalArg any,
	options client.StartWorkflowOptions, workflow any, workflowArgs ...any,
) (client.WorkflowRun, error) {
	if f.stall {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	f.calls = append(f.calls, signalWithStart{workflowID, signalName, workflow.(string), signalArg, options, workflowArgs})
	return nil, nil
}

func (f *fakeTemporal) CheckHealth(context.Context, *client.CheckHealthRequest) (*client.CheckHealthResponse, error) {
	return &client.CheckHealthResponse{}, f.healthErr
}

func (f *fakeTemporal) recorded() []signalWithStart {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]signalWithStart(nil), f.calls...)
}

func testConfig() receiver.Config {
	return receiver.Config{
		Addr:            "127.0.0.1:0",
		CallSecrets:     receiver.Secrets{[]byte(callSecretOld), []byte(callSecret)},
		RazorpaySecrets: receiver.Secrets{[]byte(razorpaySecret)},
		BodyLimit:       bodyLimit,
		HandoffTimeout:  200 * time.Millisecond,
		TaskQueue:       workflows.DefaultTaskQueue,
	}
}

func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "event", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type response struct {
	status     int
	retryAfter string
	body       map[string]any
}

func do(t *testing.T, f *fakeTemporal, req *http.Request) response {
	t.Helper()
	app := receiver.New(testConfig(), f, slog.New(slog.DiscardHandler))
	res, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, body %s", ct, raw)
	}
	r := response{status: res.StatusCode, retryAfter: res.Header.Get("Retry-After")}
	if err := json.Unmarshal(raw, &r.body); err != nil {
		t.Fatalf("response is not JSON: %q", raw)
	}
	return r
}

func post(path string, body []byte, headers ...string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return req
}

func callReq(body []byte, sig string) *http.Request {
	if sig == "" {
		return post(receiver.CallsPath, body)
	}
	return post(receiver.CallsPath, body, receiver.HeaderCallSignature, sig)
}

func razorpayReq(body []byte, sig, eventID string) *http.Request {
	return post(receiver.PaymentsPath, body, receiver.HeaderRazorpaySignature, sig, receiver.HeaderRazorpayEventID, eventID)
}

func TestWebhookStatuses(t *testing.T) {
	t.Parallel()
	started := fixture(t, "call_started.json")
	activated := fixture(t, "razorpay_subscription_activated.json")
	failed := fixture(t, "razorpay_payment_failed.json")
	orderPaid := fixture(t, "razorpay_order_paid.json")
	goodSig := sign(callSecret, started)
	oversized := append(bytes.Repeat([]byte(" "), bodyLimit+1-len(started)), started...)
	notJSON := []byte("not json")
	noCallID := []byte(`{"event":"call.started","timestamp":"2026-03-05T14:30:00Z","data":{"agentId":"a"}}`)
	unknownCall := []byte(`{"event":"call.ringing","timestamp":"2026-03-05T14:30:00Z","data":{"callId":"c1"}}`)
	noSubID := []byte(`{"event":"subscription.charged","payload":{"subscription":{"entity":{"status":"active"}}},"created_at":1}`)

	cases := []struct {
		name      string
		req       *http.Request
		temporal  temporalBehaviour
		status    int
		body      map[string]any // expected fields of the JSON response
		handedOff int            // SignalWithStart calls that must have reached Temporal
	}{
		{name: "call accepted", req: callReq(started, goodSig), status: 202,
			body: map[string]any{"status": "accepted", "workflowId": "call_abc123"}, handedOff: 1},
		{name: "old secret during rotation", req: callReq(started, sign(callSecretOld, started)), status: 202, handedOff: 1},
		{name: "body at the limit", req: callReq(oversized[1:], sign(callSecret, oversized[1:])), status: 202, handedOff: 1},
		{name: "no signature", req: callReq(started, ""), status: 401, body: map[string]any{"error": "invalid signature"}},
		{name: "wrong secret", req: callReq(started, sign("guess", started)), status: 401},
		{name: "signature of another body", req: callReq(started, sign(callSecret, noCallID)), status: 401},
		{name: "upper-case signature", req: callReq(started, strings.ToUpper(goodSig)), status: 401},
		{name: "truncated signature", req: callReq(started, goodSig[:63]), status: 401},
		{name: "extra-long signature", req: callReq(started, goodSig+"00"), status: 401},
		{name: "non-hex signature", req: callReq(started, strings.Repeat("zz", 32)), status: 401},
		{name: "sha256= prefix", req: callReq(started, "sha256="+goodSig), status: 401},
		{name: "razorpay secret on the call route", req: callReq(started, sign(razorpaySecret, started)), status: 401},
		{name: "empty body unsigned", req: callReq(nil, ""), status: 401},
		{name: "empty body signed", req: callReq([]byte{}, sign(callSecret, nil)), status: 400},
		{name: "signed, not JSON", req: callReq(notJSON, sign(callSecret, notJSON)), status: 400},
		{name: "signed, no callId", req: callReq(noCallID, sign(callSecret, noCallID)), status: 400,
			body: map[string]any{"error": "invalid event: data.callId is missing"}},
		{name: "signed, unhandled call event", req: callReq(unknownCall, sign(callSecret, unknownCall)), status: 200,
			body: map[string]any{"status": "ignored"}},
		{name: "completed workflow", req: callReq(started, goodSig), status: 200,
			temporal: temporalBehaviour{err: serviceerror.NewWorkflowExecutionAlreadyStarted("started", "", "")},
			body:     map[string]any{"status": "duplicate", "workflowId": "call_abc123"}},
		{name: "temporal unavailable", req: callReq(started, goodSig), status: 503,
			temporal: temporalBehaviour{err: serviceerror.NewUnavailable("connection refused")}},
		{name: "temporal stalls", req: callReq(started, goodSig), status: 503, temporal: temporalBehaviour{stall: true}},
		{name: "temporal refuses the event", req: callReq(started, goodSig), status: 400,
			temporal: temporalBehaviour{err: serviceerror.NewInvalidArgument("Blob data size exceeds limit.")},
			body:     map[string]any{"error": "event refused by the workflow service"}},

		{name: "subscription accepted", req: razorpayReq(activated, sign(razorpaySecret, activated), "evt_1"), status: 202,
			body: map[string]any{"status": "accepted", "workflowId": "sub_Nq4xR2sT9uVwXy"}, handedOff: 1},
		{name: "payment.failed accepted", req: razorpayReq(failed, sign(razorpaySecret, failed), "evt_2"), status: 202,
			body: map[string]any{"status": "accepted", "workflowId": "pay_Oa1bC2dE3fG4hI"}, handedOff: 1},
		{name: "razorpay wrong secret", req: razorpayReq(activated, sign(callSecret, activated), "evt_1"), status: 401},
		{name: "razorpay no signature", req: post(receiver.PaymentsPath, activated, receiver.HeaderRazorpayEventID, "evt_1"), status: 401},
		{name: "razorpay no event id", req: post(receiver.PaymentsPath, activated, receiver.HeaderRazorpaySignature, sign(razorpaySecret, activated)),
			status: 400, body: map[string]any{"error": "invalid event: x-razorpay-event-id is missing"}},
		{name: "razorpay no subscription id", req: razorpayReq(noSubID, sign(razorpaySecret, noSubID), "evt_3"), status: 400},
		{name: "razorpay unhandled event", req: razorpayReq(orderPaid, sign(razorpaySecret, orderPaid), "evt_4"), status: 200,
			body: map[string]any{"status": "ignored"}},
		{name: "razorpay temporal down", req: razorpayReq(activated, sign(razorpaySecret, activated), "evt_1"), status: 503,
			temporal: temporalBehaviour{err: errors.New("dial tcp 127.0.0.1:7233: connection refused")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeTemporal{err: tc.temporal.err, stall: tc.temporal.stall}
			res := do(t, f, tc.req)
			if res.status != tc.status {
				t.Fatalf("status = %d, want %d (body %v)", res.status, tc.status, res.body)
			}
			for k, v := range tc.body {
				if res.body[k] != v {
					t.Errorf("body[%q] = %v, want %v", k, res.body[k], v)
				}
			}
			if tc.status >= 400 && res.body["error"] == nil {
				t.Errorf("error response without an error field: %v", res.body)
			}
			if tc.status == 503 && res.retryAfter == "" {
				t.Error("503 without Retry-After")
			}
			if got := len(f.recorded()); got != tc.handedOff {
				t.Errorf("%d hand-offs to Temporal, want %d", got, tc.handedOff)
			}
		})
	}
}

func TestHandOffCarriesWhatTheWorkflowNeeds(t *testing.T) {
	t.Parallel()
	body := fixture(t, "call_transferred.json")
	f := &fakeTemporal{}
	if res := do(t, f, callReq(body, sign(callSecret, body))); res.status != 202 {
		t.Fatalf("status %d", res.status)
	}
	calls := f.recorded()
	if len(calls) != 1 {
		t.Fatalf("%d calls", len(calls))
	}
	c := calls[0]
	if c.workflowID != "call_abc123" || c.signal != workflows.SignalCallEvent || c.workflowType != workflows.CallWorkflowType {
		t.Errorf("hand-off %+v", c)
	}
	if c.options.TaskQueue != workflows.DefaultTaskQueue || c.options.ID != "call_abc123" ||
		c.options.WorkflowIDReusePolicy != enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY {
		t.Errorf("options %+v", c.options)
	}
	sig := c.arg.(workflows.CallSignal)
	sum := sha256.Sum256(body)
	if sig.Type != "call.transferred" || !strings.HasPrefix(sig.Key, "call_abc123/call.transferred/") ||
		sig.OccurredAt.IsZero() || sig.ReceivedAt.IsZero() || sig.PayloadSHA256 != hex.EncodeToString(sum[:]) ||
		sig.Call.ToAgentID != "human_support_7" {
		t.Errorf("signal %+v", sig)
	}
	if in := c.input[0].(workflows.CallInput); in.CallID != "call_abc123" {
		t.Errorf("input %+v", in)
	}

	// Razorpay: the key is the delivery's event id.
	rb := fixture(t, "razorpay_subscription_charged.json")
	f = &fakeTemporal{}
	do(t, f, razorpayReq(rb, sign(razorpaySecret, rb), "evt_Nz8aC9"))
	rc := f.recorded()[0]
	rsig := rc.arg.(workflows.RazorpaySignal)
	if rc.workflowType != workflows.SubscriptionWorkflowType || rsig.Key != "evt_Nz8aC9" || rsig.Event.Payment.ID != "pay_Nz8aB7cD6eF5gH" {
		t.Errorf("razorpay hand-off %+v", rc)
	}
}

// The caller's number in call.started reaches neither the signal nor the
// workflow's summary.
func TestHandOffCarriesNoPhoneNumber(t *testing.T) {
	t.Parallel()
	body := fixture(t, "call_started.json")
	if !bytes.Contains(body, []byte("9876543210")) {
		t.Fatal("fixture lost its phone number; the test would prove nothing")
	}
	f := &fakeTemporal{}
	if res := do(t, f, callReq(body, sign(callSecret, body))); res.status != 202 {
		t.Fatalf("status %d", res.status)
	}
	c := f.recorded()[0]
	sent, err := json.Marshal([]any{c.arg, c.input, c.options.StaticSummary, c.options.StaticDetails})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sent, []byte("9876543210")) {
		t.Errorf("the phone number reached Temporal: %s", sent)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	up := &fakeTemporal{}
	down := &fakeTemporal{healthErr: serviceerror.NewUnavailable("down")}
	for _, tc := range []struct {
		name   string
		f      *fakeTemporal
		path   string
		status int
	}{
		{"healthz", down, "/healthz", 200},
		{"readyz up", up, "/readyz", 200},
		{"readyz down", down, "/readyz", 503},
		{"unknown route", up, "/nope", 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if res := do(t, tc.f, httptest.NewRequest(http.MethodGet, tc.path, nil)); res.status != tc.status {
				t.Errorf("status = %d, want %d", res.status, tc.status)
			}
		})
	}
}

func TestForgedRequestsAreNotLogged(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	app := receiver.New(testConfig(), &fakeTemporal{}, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})))
	body := fixture(t, "call_started.json")
	for range 20 {
		res, err := app.Test(callReq(body, sign("forged", body)), -1)
		if err != nil || res.StatusCode != 401 {
			t.Fatalf("status %v, err %v", res.StatusCode, err)
		}
	}
	if logs.Len() != 0 {
		t.Errorf("rejected requests were logged at info: %s", logs.String())
	}
}

func TestServeFinishesInFlightRequests(t *testing.T) {
	t.Parallel()
	// A hand-off that takes 300 ms is under way when the stop signal comes.
	slow := &slowTemporal{delay: 300 * time.Millisecond, entered: make(chan struct{})}
	cfg := testConfig()
	cfg.HandoffTimeout = 2 * time.Second
	app := receiver.New(cfg, slow, slog.New(slog.DiscardHandler))
	ln, err := netListen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- receiver.Serve(ctx, app, ln, 5*time.Second) }()

	body := fixture(t, "call_started.json")
	req, _ := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+receiver.CallsPath, bytes.NewReader(body))
	req.Header.Set(receiver.HeaderCallSignature, sign(callSecret, body))
	got := make(chan int, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			got <- -1
			return
		}
		res.Body.Close()
		got <- res.StatusCode
	}()
	<-slow.entered
	cancel()
	if status := <-got; status != 202 {
		t.Errorf("in-flight request got %d, want 202", status)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

type slowTemporal struct {
	fakeTemporal
	delay   time.Duration
	entered chan struct{}
	once    sync.Once
}

func (s *slowTemporal) SignalWithStartWorkflow(ctx context.Context, workflowID, signalName string, signalArg any,
	options client.StartWorkflowOptions, workflow any, workflowArgs ...any,
) (client.WorkflowRun, error) {
	s.once.Do(func() { close(s.entered) })
	time.Sleep(s.delay)
	return nil, nil
}

// The body limit is enforced by the HTTP server before the handler runs, so it
// is tested over a real connection rather than app.Test.
func TestOversizedBody(t *testing.T) {
	t.Parallel()
	f := &fakeTemporal{}
	app := receiver.New(testConfig(), f, slog.New(slog.DiscardHandler))
	ln, err := netListen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go receiver.Serve(ctx, app, ln, time.Second)

	started := fixture(t, "call_started.json")
	oversized := append(bytes.Repeat([]byte(" "), bodyLimit+1-len(started)), started...)
	for _, tc := range []struct {
		chunked bool
		sig     string
	}{
		{false, sign(callSecret, oversized)},
		{true, sign(callSecret, oversized)},
		{false, "forged"}, // the size is checked before the signature
	} {
		status, raw, err := postOversized(ln.Addr().String(), oversized, tc.sig, tc.chunked)
		if err != nil {
			t.Fatalf("%+v: %v", tc, err)
		}
		if status != 413 || !strings.Contains(string(raw), `"error"`) {
			t.Errorf("%+v: status %d body %s, want 413 with an error", tc, status, raw)
		}
	}
	if n := len(f.recorded()); n != 0 {
		t.Errorf("%d oversized events reached Temporal", n)
	}
	res, err := http.Get("http://" + ln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	// Each 413 is counted (a chunked body refused before its request line is
	// fully known may count under route "other").
	total := 0
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, `zentrix_receiver_requests_total{outcome="too_large"`) {
			var n int
			fmt.Sscan(line[strings.LastIndex(line, " ")+1:], &n)
			total += n
		}
	}
	if total != 3 {
		t.Errorf("%d requests counted too large, want 3", total)
	}
}

// postOversized posts body over a raw connection, chunked or with its
// length, and reads the answer while it writes. The server answers 413 and
// closes with the body unread, which resets the connection: a client that
// reads only after writing (net/http's) can lose the answer to the reset.
func postOversized(addr string, body []byte, sig string, chunked bool) (int, []byte, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	go func() {
		head := "POST " + receiver.CallsPath + " HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/json\r\n" +
			receiver.HeaderCallSignature + ": " + sig + "\r\n"
		if !chunked {
			_, _ = fmt.Fprintf(conn, "%sContent-Length: %d\r\n\r\n%s", head, len(body), body)
			return
		}
		_, _ = fmt.Fprintf(conn, "%sTransfer-Encoding: chunked\r\n\r\n", head)
		for chunk := range slices.Chunk(body, 4<<10) {
			if _, err := fmt.Fprintf(conn, "%x\r\n%s\r\n", len(chunk), chunk); err != nil {
				return // the server answered and closed
			}
		}
		_, _ = io.WriteString(conn, "0\r\n\r\n")
	}()
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	return res.StatusCode, raw, err
}

func TestMetricsCountOutcomes(t *testing.T) {
	t.Parallel()
	app := receiver.New(testConfig(), &fakeTemporal{}, slog.New(slog.DiscardHandler))
	started := fixture(t, "call_started.json")
	unknown := []byte(`{"event":"call.ringing","timestamp":"2026-03-05T14:30:00Z","data":{"callId":"c1"}}`)
	for _, req := range []*http.Request{
		callReq(started, sign(callSecret, started)),
		callReq(started, sign("forged", started)),
		callReq(started, ""),
		callReq(unknown, sign(callSecret, unknown)),
	} {
		if _, err := app.Test(req, -1); err != nil {
			t.Fatal(err)
		}
	}
	res, err := app.Test(httptest.NewRequest(http.MethodGet, "/metrics", nil), -1)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	text := string(raw)
	for _, want := range []string{
		`zentrix_receiver_requests_total{outcome="accepted",route="calls",status="202"} 1`,
		`zentrix_receiver_requests_total{outcome="unauthorized",route="calls",status="401"} 2`,
		`zentrix_receiver_requests_total{outcome="ignored",route="calls",status="200"} 1`,
		`zentrix_receiver_signature_failures_total{reason="mismatch",route="calls"} 1`,
		`zentrix_receiver_signature_failures_total{reason="missing",route="calls"} 1`,
		`zentrix_receiver_events_total{outcome="accepted",source="calls",type="call.started"} 1`,
		`zentrix_receiver_events_total{outcome="ignored",source="calls",type="other"} 1`,
		`zentrix_receiver_handoff_seconds_count{result="accepted",route="calls"} 1`,
		`zentrix_receiver_body_bytes_count{route="calls"} 2`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

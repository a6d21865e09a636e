package receiver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/zentrix/webhooks/internal/sample"
	"github.com/zentrix/webhooks/receiver"
	"github.com/zentrix/webhooks/workflows"
)

// hostileCallBody is a sample voice-platform event whose data.callId is the
// JSON text idJSON, written as is (it may be a number, or hold invalid UTF-8).
func hostileCallBody(ev, idJSON string) []byte {
	b := sample.Call(ev, sample.CallFields{CallID: "__ID__"})
	return bytes.Replace(b, []byte(`"callId":"__ID__"`), []byte(`"callId":`+idJSON), 1)
}

func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestHostileRequests is the malformed-request table of the end-to-end suite
// (e2e/hostile_test.go) at the unit level, without the cases that need a
// network (a body over the limit, which app.Test turns into an error rather
// than a 413 and TestOversizedBody sends over a listener; a 1 GB chunked body;
// slow clients): each request gets its
// documented status and reaches Temporal only when it is a valid event.
func TestHostileRequests(t *testing.T) {
	t.Parallel()
	started := hostileCallBody("call.started", jsonQuote("hostile_signed"))
	goodSig := sign(callSecret, started)
	if strings.ToUpper(goodSig) == goodSig {
		t.Fatal("signature has no hex letters; the upper-case case would prove nothing")
	}
	tampered := hostileCallBody("call.started", jsonQuote("hostile_tampered"))
	ended := hostileCallBody("call.ended", jsonQuote("hostile_other_event"))
	badUTF8ID := hostileCallBody("call.started", "\"call_\xff\xfe\"")
	nested := hostileCallBody("call.started", jsonQuote("hostile_nested")+`,"context":`+
		strings.Repeat("[", 30_000)+strings.Repeat("]", 30_000)) // 60 kB, inside the 64 KiB test limit
	number := hostileCallBody("call.started", "42")
	dupKeys := bytes.Replace(hostileCallBody("call.started", jsonQuote("hostile_duplicate_keys")),
		[]byte(`{"event":"call.started",`), []byte(`{"event":"call.started","event":"call.ringing",`), 1)
	dupID := hostileCallBody("call.started", `"hostile_dup_id_first","callId":"hostile_dup_id_last"`)
	huge := sample.Call("call.ended", sample.CallFields{CallID: "hostile_huge_transcript", Transcript: strings.Repeat("a", 60_000)})
	badText := bytes.Replace(sample.Call("call.ended", sample.CallFields{CallID: "hostile_invalid_utf8_text", Transcript: "before INVALID after"}),
		[]byte("INVALID"), []byte("\xff\xfe\xfd"), 1)
	subscription := sample.Subscription("subscription.activated", sample.SubscriptionFields{ID: "sub_hostile"}, nil)
	subSig := sign(razorpaySecret, subscription)
	signedCall := func(b []byte) *http.Request { return callReq(b, sign(callSecret, b)) }
	withType := func(r *http.Request, ct string) *http.Request { r.Header.Set("Content-Type", ct); return r }

	cases := []struct {
		name   string
		req    *http.Request
		status int
		// handedOff is the workflow id the event must reach; empty for none.
		handedOff string
		check     func(workflows.CallSignal) error
	}{
		{name: "no signature", req: callReq(started, ""), status: 401},
		{name: "wrong secret", req: callReq(started, sign("not-the-secret", started)), status: 401},
		{name: "razorpay secret on the call route", req: callReq(started, sign(razorpaySecret, started)), status: 401},
		{name: "signature header of the other route", req: post(receiver.CallsPath, started, receiver.HeaderRazorpaySignature, goodSig), status: 401},
		{name: "signature of a different body", req: callReq(tampered, goodSig), status: 401},
		{name: "valid signature over a different event's body", req: callReq(ended, goodSig), status: 401},
		{name: "upper-case hex", req: callReq(started, strings.ToUpper(goodSig)), status: 401},
		{name: "truncated signature", req: callReq(started, goodSig[:63]), status: 401},
		{name: "extra-long signature", req: callReq(started, goodSig+"00"), status: 401},
		{name: "non-hex signature", req: callReq(started, "g"+goodSig[1:]), status: 401},
		{name: "empty body unsigned", req: callReq(nil, ""), status: 401},
		{name: "empty body signed", req: callReq(nil, sign(callSecret, nil)), status: 400},
		// encoding/json decodes invalid UTF-8 in a string as U+FFFD: the
		// callId becomes "call_\uFFFD\uFFFD", not a workflow id.
		{name: "invalid UTF-8 in the callId", req: signedCall(badUTF8ID), status: 400},
		{name: "30k nested arrays", req: signedCall(nested), status: 400},
		{name: "number where the callId string belongs", req: signedCall(number), status: 400},
		// Duplicate keys: the last wins, here an unhandled event type.
		{name: "duplicate event keys, last unhandled", req: signedCall(dupKeys), status: 200},
		{name: "empty callId", req: signedCall(hostileCallBody("call.started", `""`)), status: 400},
		{name: "256-byte callId", req: signedCall(hostileCallBody("call.started", jsonQuote(strings.Repeat("c", 256)))), status: 400},
		{name: "control character in the callId", req: signedCall(hostileCallBody("call.started", jsonQuote("call\x01ctl"))), status: 400},
		{name: "newline in the callId", req: signedCall(hostileCallBody("call.started", jsonQuote("call\nnl"))), status: 400},
		{name: "space in the callId", req: signedCall(hostileCallBody("call.started", jsonQuote("call space"))), status: 400},
		{name: "razorpay without event id", req: post(receiver.PaymentsPath, subscription, receiver.HeaderRazorpaySignature, subSig), status: 400},
		{name: "razorpay event id with a control character", req: razorpayReq(subscription, subSig, "evt_\x01bad"), status: 400},
		{name: "razorpay signed with the call secret", req: razorpayReq(subscription, sign(callSecret, subscription), "evt_ok"), status: 401},

		// Hostile-looking but valid events.
		// Content-Type is not looked at: the signature identifies the sender
		// and the body is parsed as JSON whatever the header says.
		{name: "text/plain content type", req: withType(signedCall(started), "text/plain"), status: 202, handedOff: "hostile_signed"},
		{name: "long transcript inside the limit", req: signedCall(huge), status: 202, handedOff: "hostile_huge_transcript",
			check: func(s workflows.CallSignal) error {
				if len(s.Call.Transcript) != 60_000 {
					return errors.New("transcript cut")
				}
				return nil
			}},
		// Invalid UTF-8 in free text is accepted as U+FFFD: only valid UTF-8
		// goes on to Temporal and the store.
		{name: "invalid UTF-8 in the transcript", req: signedCall(badText), status: 202, handedOff: "hostile_invalid_utf8_text",
			check: func(s workflows.CallSignal) error {
				if !utf8.ValidString(s.Call.Transcript) || s.Call.Transcript != "before \uFFFD\uFFFD\uFFFD after" {
					return errors.New("transcript " + jsonQuote(s.Call.Transcript))
				}
				return nil
			}},
		{name: "duplicate callId keys, last wins", req: signedCall(dupID), status: 202, handedOff: "hostile_dup_id_last"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeTemporal{}
			res := do(t, f, tc.req)
			if res.status != tc.status {
				t.Errorf("status = %d, want %d (body %v)", res.status, tc.status, res.body)
			}
			switch {
			case tc.status == 401 && res.body["error"] != "invalid signature":
				t.Errorf("body %v", res.body)
			case tc.status >= 400 && res.body["error"] == nil:
				t.Errorf("error response without an error field: %v", res.body)
			case tc.status == 200 && res.body["status"] != "ignored":
				t.Errorf("body %v, want ignored", res.body)
			}
			calls := f.recorded()
			if tc.handedOff == "" {
				if len(calls) != 0 {
					t.Errorf("%d hand-offs to Temporal (%s), want none", len(calls), calls[0].workflowID)
				}
				return
			}
			if len(calls) != 1 || calls[0].workflowID != tc.handedOff || res.body["workflowId"] != tc.handedOff {
				t.Fatalf("hand-offs %+v, reply %v; want one to %s", calls, res.body, tc.handedOff)
			}
			if tc.check != nil {
				if err := tc.check(calls[0].arg.(workflows.CallSignal)); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// TestSlowClientsUnit checks over a real listener that the timeouts of Config
// reach the server: a client that dribbles its request, or idles on a
// keep-alive connection, is dropped once they pass.
func TestSlowClientsUnit(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.ReadTimeout, cfg.IdleTimeout = 300*time.Millisecond, 300*time.Millisecond
	app := receiver.New(cfg, &fakeTemporal{}, slog.New(slog.DiscardHandler))
	ln, err := netListen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- receiver.Serve(ctx, app, ln, time.Second) }()
	t.Cleanup(func() { cancel(); <-served })
	addr := ln.Addr().String()
	request := "POST " + receiver.CallsPath + " HTTP/1.1\r\nHost: x\r\n" + receiver.HeaderCallSignature + ": " +
		strings.Repeat("0", 64) + "\r\nContent-Length: 10\r\n\r\n0123456789"

	for _, tc := range []struct {
		name    string
		upfront string // written at once
		dribble string // then one byte every 100 ms
	}{
		{"request one byte at a time", "", request},
		{"idle after a request", "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			closed := make(chan error, 1)
			var answer bytes.Buffer
			go func() { _, err := io.Copy(&answer, conn); closed <- err }()
			begin := time.Now()
			if _, err := io.WriteString(conn, tc.upfront); err != nil {
				t.Fatal(err)
			}
			sent := 0
			var readErr error
			waiting := true
			for waiting && sent < len(tc.dribble) {
				select {
				case readErr = <-closed:
					waiting = false
				case <-time.After(100 * time.Millisecond):
					if _, err := conn.Write([]byte{tc.dribble[sent]}); err != nil {
						waiting = false
						readErr = <-closed
					} else {
						sent++
					}
				}
			}
			if waiting {
				readErr = <-closed
			}
			elapsed := time.Since(begin)
			var ne net.Error
			if errors.As(readErr, &ne) && ne.Timeout() {
				t.Fatalf("connection still open after %v", elapsed)
			}
			if len(tc.dribble) > 0 && sent == len(tc.dribble) {
				t.Errorf("the server let the client send all %d bytes", sent)
			}
			if elapsed > 5*time.Second {
				t.Errorf("closed after %v, want well under 5 s", elapsed)
			}
			if tc.upfront != "" && !strings.HasPrefix(answer.String(), "HTTP/1.1 200") {
				t.Errorf("answer before idling: %q", answer.String())
			}
		})
	}
}

func TestConfigValidateTimeouts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		set     func(*receiver.Config)
		problem string // in the error; empty for valid
	}{
		{"zero means default", func(c *receiver.Config) {}, ""},
		{"positive", func(c *receiver.Config) {
			c.ReadTimeout, c.WriteTimeout, c.IdleTimeout = time.Second, time.Second, time.Minute
		}, ""},
		{"negative read", func(c *receiver.Config) { c.ReadTimeout = -time.Second }, "HTTP_READ_TIMEOUT"},
		{"negative write", func(c *receiver.Config) { c.WriteTimeout = -time.Second }, "HTTP_WRITE_TIMEOUT"},
		{"negative idle", func(c *receiver.Config) { c.IdleTimeout = -time.Second }, "HTTP_IDLE_TIMEOUT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig()
			tc.set(&cfg)
			err := cfg.Validate()
			switch {
			case tc.problem == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tc.problem != "" && (err == nil || !strings.Contains(err.Error(), tc.problem)):
				t.Errorf("Validate = %v, want an error naming %s", err, tc.problem)
			}
		})
	}
}

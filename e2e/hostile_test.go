package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/zentrix/webhooks/activities"
	"github.com/zentrix/webhooks/event"
	"github.com/zentrix/webhooks/internal/sample"
	"github.com/zentrix/webhooks/metrics"
	"github.com/zentrix/webhooks/receiver"
)

// phoneNumber is the caller's number in every sample call body (without its
// country code): it must not leave the parser.
const phoneNumber = "9876543210"

// hostileCase is one malformed request and the status the contract gives it.
// None of them may reach Temporal or the store.
type hostileCase struct {
	name        string
	path        string // default the calls route
	body        []byte
	contentType string // default application/json
	headers     [][2]string
	status      int
	ids         []string // workflow ids the request names: none may exist afterwards
}

// callBody is a sample voice-platform event whose data.callId is the JSON
// text idJSON, written as is (it may be a number, or hold invalid UTF-8).
func callBody(ev, idJSON string) []byte {
	b := sample.Call(ev, sample.CallFields{CallID: "__ID__"})
	return bytes.Replace(b, []byte(`"callId":"__ID__"`), []byte(`"callId":`+idJSON), 1)
}

// quote is s as a JSON string.
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func startedBody(id string) []byte { return callBody("call.started", quote(id)) }

func callSigned(secret string, body []byte) [][2]string {
	return [][2]string{{receiver.HeaderCallSignature, sign(secret, body)}}
}

func hostileCases(t *testing.T, bodyLimit int) []hostileCase {
	t.Helper()
	started := startedBody("hostile_signed")
	goodSig := sign(callSecret, started)
	if strings.ToUpper(goodSig) == goodSig {
		t.Fatal("signature has no hex letters; the upper-case case would prove nothing")
	}
	tampered := startedBody("hostile_tampered")
	ended := callBody("call.ended", quote("hostile_other_event"))
	oversized := startedBody("hostile_too_large")
	oversized = append(bytes.Repeat([]byte(" "), bodyLimit+1-len(oversized)), oversized...)
	badUTF8ID := callBody("call.started", "\"call_\xff\xfe\"")
	nested := bytes.Replace(startedBody("hostile_nested"), []byte(`"callId":"hostile_nested"`),
		[]byte(`"callId":"hostile_nested","context":`+strings.Repeat("[", 100_000)+strings.Repeat("]", 100_000)), 1)
	number := callBody("call.started", "42")
	dupKeys := bytes.Replace(startedBody("hostile_duplicate_keys"), []byte(`{"event":"call.started",`),
		[]byte(`{"event":"call.started","event":"call.ringing",`), 1)
	long := strings.Repeat("c", 256)
	subscription := sample.Subscription("subscription.activated", sample.SubscriptionFields{ID: "sub_hostile_no_event_id"}, nil)
	ctlEvent := sample.Subscription("subscription.activated", sample.SubscriptionFields{ID: "sub_hostile_ctl_event_id"}, nil)

	signedID := func(name, idJSON, id string) hostileCase {
		b := callBody("call.started", idJSON)
		c := hostileCase{name: name, body: b, headers: callSigned(callSecret, b), status: 400}
		if id != "" {
			c.ids = []string{id}
		}
		return c
	}
	return []hostileCase{
		{name: "no signature", body: started, status: 401, ids: []string{"hostile_signed"}},
		{name: "wrong secret", body: started, headers: callSigned("not-the-secret", started), status: 401, ids: []string{"hostile_signed"}},
		{name: "razorpay secret on the call route", body: started, headers: callSigned(razorpaySecret, started), status: 401, ids: []string{"hostile_signed"}},
		{name: "signature header of the other route", body: started, status: 401, ids: []string{"hostile_signed"},
			headers: [][2]string{{receiver.HeaderRazorpaySignature, goodSig}}},
		{name: "signature of a different body", body: tampered, headers: [][2]string{{receiver.HeaderCallSignature, goodSig}},
			status: 401, ids: []string{"hostile_tampered", "hostile_signed"}},
		{name: "valid signature over a different event's body", body: ended, headers: [][2]string{{receiver.HeaderCallSignature, goodSig}},
			status: 401, ids: []string{"hostile_other_event", "hostile_signed"}},
		{name: "upper-case hex", body: started, headers: [][2]string{{receiver.HeaderCallSignature, strings.ToUpper(goodSig)}},
			status: 401, ids: []string{"hostile_signed"}},
		{name: "truncated signature", body: started, headers: [][2]string{{receiver.HeaderCallSignature, goodSig[:63]}},
			status: 401, ids: []string{"hostile_signed"}},
		{name: "extra-long signature", body: started, headers: [][2]string{{receiver.HeaderCallSignature, goodSig + "00"}},
			status: 401, ids: []string{"hostile_signed"}},
		{name: "non-hex signature", body: started, headers: [][2]string{{receiver.HeaderCallSignature, "g" + goodSig[1:]}},
			status: 401, ids: []string{"hostile_signed"}},
		{name: "empty body unsigned", body: nil, status: 401},
		{name: "empty body signed", body: nil, headers: callSigned(callSecret, nil), status: 400},
		// The size is checked before the signature: a correctly signed body one
		// byte over the limit is refused all the same.
		{name: "body over the limit by one byte", body: oversized, headers: callSigned(callSecret, oversized),
			status: 413, ids: []string{"hostile_too_large"}},
		// encoding/json decodes invalid UTF-8 inside a string as U+FFFD rather
		// than failing, so a callId holding it decodes to "call_\uFFFD\uFFFD":
		// outside printable ASCII, hence not a workflow id, hence 400. (In a
		// free-text field the same bytes are accepted as U+FFFD: see
		// TestHostileRequests' accepted cases.)
		{name: "invalid UTF-8 in the callId", body: badUTF8ID, headers: callSigned(callSecret, badUTF8ID),
			status: 400, ids: []string{"call_\uFFFD\uFFFD"}},
		// encoding/json refuses nesting deeper than 10000 as malformed JSON.
		{name: "100k nested arrays", body: nested, headers: callSigned(callSecret, nested), status: 400, ids: []string{"hostile_nested"}},
		{name: "number where the callId string belongs", body: number, headers: callSigned(callSecret, number), status: 400, ids: []string{"42"}},
		// Duplicate keys: encoding/json keeps the last, so this is a
		// call.ringing, an event type the system does not handle: 200 ignored.
		{name: "duplicate event keys, last unhandled", body: dupKeys, headers: callSigned(callSecret, dupKeys),
			status: 200, ids: []string{"hostile_duplicate_keys"}},
		signedID("empty callId", `""`, ""),
		signedID("256-byte callId", quote(long), long),
		signedID("control character in the callId", quote("call\x01ctl"), "call\x01ctl"),
		signedID("newline in the callId", quote("call\nnl"), "call\nnl"),
		signedID("space in the callId", quote("call space"), "call space"),
		{name: "razorpay without event id", path: receiver.PaymentsPath, body: subscription, status: 400,
			headers: [][2]string{{receiver.HeaderRazorpaySignature, sign(razorpaySecret, subscription)}},
			ids:     []string{"sub_hostile_no_event_id"}},
		{name: "razorpay event id with a control character", path: receiver.PaymentsPath, body: ctlEvent, status: 400,
			headers: [][2]string{{receiver.HeaderRazorpaySignature, sign(razorpaySecret, ctlEvent)}, {receiver.HeaderRazorpayEventID, "evt_\x01bad"}},
			ids:     []string{"sub_hostile_ctl_event_id"}},
		{name: "razorpay signed with the call secret", path: receiver.PaymentsPath, body: ctlEvent, status: 401,
			headers: [][2]string{{receiver.HeaderRazorpaySignature, sign(callSecret, ctlEvent)}, {receiver.HeaderRazorpayEventID, "evt_ok"}},
			ids:     []string{"sub_hostile_ctl_event_id"}},
	}
}

// acceptedCase is a request that looks hostile but is a valid, signed event:
// the contract accepts it, and it must land intact.
type acceptedCase struct {
	name        string
	body        []byte
	contentType string
	workflowID  string   // in the reply, in Temporal and in the store
	absent      []string // workflow ids the body names that must not exist
	check       func(activities.CallRecord) error
}

func acceptedCases() []acceptedCase {
	const hugeLen = 900_000
	huge := sample.Call("call.ended", sample.CallFields{CallID: "hostile_huge_transcript", Transcript: strings.Repeat("a", hugeLen)})
	badText := bytes.Replace(sample.Call("call.ended", sample.CallFields{CallID: "hostile_invalid_utf8_text", Transcript: "before INVALID after"}),
		[]byte("INVALID"), []byte("\xff\xfe\xfd"), 1)
	dupID := bytes.Replace(startedBody("hostile_dup_id_last"), []byte(`"callId":"hostile_dup_id_last"`),
		[]byte(`"callId":"hostile_dup_id_first","callId":"hostile_dup_id_last"`), 1)
	longID := "hostile_long_" + strings.Repeat("x", event.MaxIDLength-len("hostile_long_"))
	longest := sample.Call("call.transferred", sample.CallFields{CallID: longID,
		FromAgentID: strings.Repeat("f", event.MaxIDLength), ToAgentID: strings.Repeat("t", event.MaxIDLength)})
	nulText := bytes.Replace(sample.Call("call.ended", sample.CallFields{CallID: "hostile_nul_text", Transcript: "before NUL after"}),
		[]byte("NUL"), []byte(`\u0000`), 1)
	return []acceptedCase{
		// Ids of the longest kind: the summary (cut under Temporal's limit of
		// 400 bytes) and the search attributes still fit.
		{name: "255-byte callId and agents", body: longest, workflowID: longID},
		// PostgreSQL cannot keep a NUL character: it becomes U+FFFD, as
		// invalid UTF-8 does, on either database.
		{name: "NUL in the transcript", body: nulText, workflowID: "hostile_nul_text", check: func(c activities.CallRecord) error {
			if c.Transcript != "before \uFFFD after" {
				return fmt.Errorf("transcript stored as %q", c.Transcript)
			}
			return nil
		}},
		// The receiver does not look at Content-Type: senders are identified
		// by the signature over the raw bytes, and the body is parsed as JSON
		// whatever the header says.
		{name: "text/plain content type", body: startedBody("hostile_text_plain"), contentType: "text/plain", workflowID: "hostile_text_plain"},
		// A transcript of 900 kB fits the 1 MiB body limit and Temporal's
		// 2 MB payload limit: accepted and stored whole.
		{name: "900 kB transcript", body: huge, workflowID: "hostile_huge_transcript", check: func(c activities.CallRecord) error {
			if len(c.Transcript) != hugeLen {
				return fmt.Errorf("transcript of %d bytes stored, want %d", len(c.Transcript), hugeLen)
			}
			return nil
		}},
		// Invalid UTF-8 in a free-text field is decoded as U+FFFD by
		// encoding/json: accepted, and only valid UTF-8 reaches the store.
		{name: "invalid UTF-8 in the transcript", body: badText, workflowID: "hostile_invalid_utf8_text", check: func(c activities.CallRecord) error {
			if !utf8.ValidString(c.Transcript) || c.Transcript != "before \uFFFD\uFFFD\uFFFD after" {
				return fmt.Errorf("transcript stored as %q", c.Transcript)
			}
			return nil
		}},
		// Duplicate keys: the last one wins.
		{name: "duplicate callId keys", body: dupID, workflowID: "hostile_dup_id_last", absent: []string{"hostile_dup_id_first"}},
	}
}

// rawReply is a response read off a raw connection.
type rawReply struct {
	status int
	body   []byte
}

// rawPost sends one request over a fresh TCP connection, written by hand so
// that headers Go's client would refuse (control characters) go out as given.
// The body is written while the response is read: the server may answer
// before it has read it all.
func rawPost(t *testing.T, addr, path, contentType string, body []byte, headers [][2]string) rawReply {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	var head bytes.Buffer
	fmt.Fprintf(&head, "POST %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\nContent-Type: %s\r\nContent-Length: %d\r\n", path, addr, contentType, len(body))
	for _, h := range headers {
		fmt.Fprintf(&head, "%s: %s\r\n", h[0], h[1])
	}
	head.WriteString("\r\n")
	written := make(chan struct{})
	go func() {
		defer close(written)
		if _, err := conn.Write(head.Bytes()); err == nil {
			_, _ = conn.Write(body)
		}
	}()
	defer func() { conn.Close(); <-written }()
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("POST %s: read response: %v", path, err)
	}
	return rawReply{status: res.StatusCode, body: raw}
}

// syncBuffer is a bytes.Buffer that the worker, the receiver and the test can
// share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// TestHostileRequests sends every malformed request of the table to a real
// system and checks that none reached Temporal or the store; then a few
// hostile-looking but valid events, which must land intact; then a 1 GB body;
// and last, that no secret or phone number appeared in any log line, response
// or metric along the way.
func TestHostileRequests(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	s := start(t, options{logs: &logs})
	ctx := context.Background()
	addr := strings.TrimPrefix(s.url, "http://")
	var responses [][]byte // every response body, for the secret scan
	var sent [][]byte      // every request body

	cases := hostileCases(t, 1<<20)
	for _, tc := range cases {
		path, ct := tc.path, tc.contentType
		if path == "" {
			path = receiver.CallsPath
		}
		if ct == "" {
			ct = "application/json"
		}
		r := rawPost(t, addr, path, ct, tc.body, tc.headers)
		responses, sent = append(responses, r.body), append(sent, tc.body)
		var body map[string]any
		if err := json.Unmarshal(r.body, &body); err != nil {
			t.Errorf("%s: response is not JSON: %q", tc.name, r.body)
		}
		switch {
		case r.status != tc.status:
			t.Errorf("%s: status %d, want %d (body %s)", tc.name, r.status, tc.status, r.body)
		case tc.status == 401 && body["error"] != "invalid signature":
			t.Errorf("%s: body %s", tc.name, r.body)
		case tc.status >= 400 && body["error"] == nil:
			t.Errorf("%s: error response without an error field: %s", tc.name, r.body)
		case tc.status == 200 && body["status"] != "ignored":
			t.Errorf("%s: body %s, want ignored", tc.name, r.body)
		}
	}

	// Nothing reached Temporal: a 2xx would only have been sent once the
	// workflow existed, and a non-2xx must have started nothing either. The
	// SDK refuses to even name a workflow whose id is not printable ASCII (it
	// travels in a gRPC header), so those ids are covered by the listing of
	// the whole namespace below instead.
	var notFound *serviceerror.NotFound
	for _, tc := range cases {
		for _, id := range tc.ids {
			if !printableASCII(id) {
				continue
			}
			if _, err := s.client.DescribeWorkflowExecution(ctx, id, ""); !errors.As(err, &notFound) {
				t.Errorf("%s: workflow %q: %v, want not found", tc.name, id, err)
			}
		}
	}
	if ids := allWorkflowIDs(t, s); len(ids) != 0 {
		t.Errorf("workflows %q exist after the malformed requests, want none", ids)
	}
	if n := s.rows(t); n != 0 {
		t.Errorf("%d rows in webhook_events after the malformed requests, want 0", n)
	}

	// Hostile-looking but valid events are accepted and land intact.
	accepted := acceptedCases()
	for _, tc := range accepted {
		ct := tc.contentType
		if ct == "" {
			ct = "application/json"
		}
		r := rawPost(t, addr, receiver.CallsPath, ct, tc.body, callSigned(callSecret, tc.body))
		responses, sent = append(responses, r.body), append(sent, tc.body)
		var body reply
		_ = json.Unmarshal(r.body, &body.Body)
		if r.status != 202 || body.Body.Status != "accepted" || body.Body.WorkflowID != tc.workflowID {
			t.Fatalf("%s: status %d body %s, want 202 accepted for %s", tc.name, r.status, r.body, tc.workflowID)
		}
	}
	var want []string
	for _, tc := range accepted {
		want = append(want, tc.workflowID)
		eventually(t, tc.name+": stored", func() error {
			c, err := s.store.Call(ctx, tc.workflowID)
			if err != nil {
				return err
			}
			if tc.check != nil {
				return tc.check(c)
			}
			return nil
		})
		for _, id := range tc.absent {
			if _, err := s.client.DescribeWorkflowExecution(ctx, id, ""); !errors.As(err, &notFound) {
				t.Errorf("%s: workflow %q: %v, want not found", tc.name, id, err)
			}
		}
	}
	// By the time the valid events have landed, so would any malformed one
	// that slipped through: exactly the accepted events are stored, and the
	// only workflows in the namespace are theirs.
	eventually(t, "only the accepted events stored", func() error {
		if n := s.rows(t); n != len(accepted) {
			return fmt.Errorf("%d rows in webhook_events, want %d", n, len(accepted))
		}
		return nil
	})
	slices.Sort(want)
	eventually(t, "only the accepted workflows exist", func() error {
		got := allWorkflowIDs(t, s)
		if !slices.Equal(got, want) {
			return fmt.Errorf("workflows %q, want %q", got, want)
		}
		return nil
	})

	t.Run("1 GB chunked body", func(t *testing.T) {
		r := sendGigabyteChunked(t, addr)
		responses = append(responses, r.body)
		if r.status != 413 || !bytes.Contains(r.body, []byte(`"error"`)) {
			t.Errorf("status %d body %s, want 413 with an error", r.status, r.body)
		}
		var notFound *serviceerror.NotFound
		if _, err := s.client.DescribeWorkflowExecution(ctx, "hostile_gigabyte", ""); !errors.As(err, &notFound) {
			t.Errorf("workflow hostile_gigabyte: %v, want not found", err)
		}
	})

	t.Run("SecretsNeverAppear", func(t *testing.T) {
		res, err := http.Get(s.url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		receiverMetrics, _ := io.ReadAll(res.Body)
		res.Body.Close()
		rec := httptest.NewRecorder()
		metrics.Handler(s.metrics).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		workerMetrics := rec.Body.Bytes()
		logText := logs.Bytes()

		// The scan must be able to fail: the haystacks hold what they should,
		// and the phone number was really sent.
		for _, pre := range []struct {
			what   string
			text   []byte
			marker string
		}{
			{"receiver logs", logText, `"msg":"event accepted"`},                     // the receiver's debug line
			{"worker logs", logText, `"msg":"Started Worker"`},                       // the SDK worker's
			{"receiver metrics", receiverMetrics, "zentrix_receiver_requests_total"}, // its own counters
			{"worker metrics", workerMetrics, "temporal_"},                           // the SDK's
			{"request bodies", bytes.Join(sent, nil), phoneNumber},
		} {
			if !bytes.Contains(pre.text, []byte(pre.marker)) {
				t.Fatalf("%s (%d bytes) lack %q: the scan would prove nothing", pre.what, len(pre.text), pre.marker)
			}
		}
		if len(responses) != len(cases)+len(accepted)+1 {
			t.Fatalf("%d response bodies collected, want %d", len(responses), len(cases)+len(accepted)+1)
		}

		haystacks := []struct {
			what string
			text []byte
		}{{"logs", logText}, {"receiver /metrics", receiverMetrics}, {"worker metrics", workerMetrics}}
		for i, r := range responses {
			haystacks = append(haystacks, struct {
				what string
				text []byte
			}{fmt.Sprintf("response %d", i), r})
		}
		for _, h := range haystacks {
			for _, needle := range []string{callSecret, razorpaySecret, phoneNumber} {
				if i := bytes.Index(h.text, []byte(needle)); i >= 0 {
					t.Errorf("%s holds %q: …%s…", h.what, needle, h.text[max(0, i-80):min(len(h.text), i+len(needle)+80)])
				}
			}
		}
	})
}

// allWorkflowIDs lists the ids of every workflow in the namespace, sorted.
func allWorkflowIDs(t *testing.T, s *system) []string {
	t.Helper()
	var ids []string
	var token []byte
	for {
		res, err := s.client.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: s.namespace, NextPageToken: token,
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range res.GetExecutions() {
			ids = append(ids, e.GetExecution().GetWorkflowId())
		}
		if token = res.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// sendGigabyteChunked offers a 1 GB body in 64 KiB chunks over a raw
// connection, generated as it goes, while reading the response. It stops
// writing as soon as the server answers or closes, and checks that the
// server answered long before the body was read whole.
func sendGigabyteChunked(t *testing.T, addr string) rawReply {
	t.Helper()
	const total, chunk = 1 << 30, 64 << 10
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))

	var written atomic.Int64
	answered := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		// A signature of the right shape: the size is refused before the
		// signature is looked at.
		head := "POST " + receiver.CallsPath + " HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/json\r\n" +
			"Transfer-Encoding: chunked\r\n" + receiver.HeaderCallSignature + ": " + strings.Repeat("0", 64) + "\r\n\r\n"
		prefix := `{"event":"call.ended","timestamp":"2026-03-05T14:30:00.000Z","data":{"callId":"hostile_gigabyte","transcript":"`
		if _, err := fmt.Fprintf(conn, "%s%x\r\n%s\r\n", head, len(prefix), prefix); err != nil {
			return
		}
		frame := append(append([]byte(fmt.Sprintf("%x\r\n", chunk)), bytes.Repeat([]byte("a"), chunk)...), "\r\n"...)
		for sentBody := len(prefix); sentBody < total; sentBody += chunk {
			select {
			case <-answered:
				return
			default:
			}
			if _, err := conn.Write(frame); err != nil {
				return // the server closed the connection
			}
			written.Add(int64(len(frame)))
		}
		_, _ = io.WriteString(conn, "0\r\n\r\n")
	}()

	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	close(answered)
	if err != nil {
		conn.Close()
		<-done
		t.Fatalf("no answer to a 1 GB body after %d bytes: %v", written.Load(), err)
	}
	raw, _ := io.ReadAll(res.Body)
	conn.Close()
	<-done
	t.Logf("server answered %d after %d body bytes were written", res.StatusCode, written.Load())
	if n := written.Load(); n >= 64<<20 {
		t.Errorf("%d bytes written before the server answered, want under 64 MiB", n)
	}
	return rawReply{status: res.StatusCode, body: raw}
}

// TestSlowClients holds connections open the way a slowloris does and checks
// that the receiver drops them once its timeouts (1 s here) pass.
func TestSlowClients(t *testing.T) {
	t.Parallel()
	s := start(t, options{receiverConfig: func(c *receiver.Config) {
		c.ReadTimeout = time.Second
		c.IdleTimeout = time.Second
	}})
	addr := strings.TrimPrefix(s.url, "http://")
	sig := strings.Repeat("0", 64)
	headers := "POST " + receiver.CallsPath + " HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/json\r\n" +
		receiver.HeaderCallSignature + ": " + sig + "\r\nContent-Length: 100\r\n\r\n"

	for _, tc := range []struct {
		name    string
		upfront string // written at once
		dribble string // then one byte every 300 ms
	}{
		{"headers one byte at a time", "", headers},
		{"body one byte at a time", headers, strings.Repeat("x", 100)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			// Our own bound: past it the server has not closed.
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			begin := time.Now()
			closed := make(chan error, 1)
			var answer bytes.Buffer
			go func() { _, err := io.Copy(&answer, conn); closed <- err }()
			if _, err := io.WriteString(conn, tc.upfront); err != nil {
				t.Fatal(err)
			}
			sent := 0
			var readErr error
		dribble:
			for sent < len(tc.dribble) {
				select {
				case readErr = <-closed:
					break dribble
				case <-time.After(300 * time.Millisecond):
				}
				if _, err := conn.Write([]byte{tc.dribble[sent]}); err != nil {
					readErr = <-closed
					break
				}
				sent++
			}
			if sent == len(tc.dribble) {
				readErr = <-closed
			}
			elapsed := time.Since(begin)
			var ne net.Error
			if errors.As(readErr, &ne) && ne.Timeout() {
				t.Fatalf("the server kept the connection open for %v", elapsed)
			}
			if sent == len(tc.dribble) {
				t.Errorf("the server let the client send all %d bytes", sent)
			}
			if elapsed > 5*time.Second {
				t.Errorf("the server closed the connection after %v, want well under 5 s", elapsed)
			}
			if got := answer.String(); got != "" && !strings.HasPrefix(got, "HTTP/1.1 408") {
				t.Errorf("answer to a slow client: %q", got)
			}
			t.Logf("closed after %v and %d of %d bytes; answer %q", elapsed, sent, len(tc.dribble), firstLine(answer.String()))
		})
	}

	t.Run("idle keep-alive connection", func(t *testing.T) {
		t.Parallel()
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: "+addr+"\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(conn)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || res.Close {
			t.Fatalf("healthz: status %d, close %v; want 200 on a kept-alive connection", res.StatusCode, res.Close)
		}
		begin := time.Now()
		n, err := io.Copy(io.Discard, br)
		elapsed := time.Since(begin)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("the idle connection was still open after %v", elapsed)
		}
		if elapsed > 5*time.Second || n != 0 {
			t.Errorf("idle connection closed after %v with %d more bytes, want closed quietly well under 5 s", elapsed, n)
		}
	})
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\r\n")
	return line
}

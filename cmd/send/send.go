package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/zentrix/webhooks/event"
	"github.com/zentrix/webhooks/internal/sample"
	"github.com/zentrix/webhooks/receiver"
)

// delivery is one signed request, ready to post.
type delivery struct {
	label  string // the event, for the printed line
	path   string
	body   []byte
	header http.Header
}

// answer is the receiver's JSON answer.
type answer struct {
	Status     string `json:"status"`
	WorkflowID string `json:"workflowId"`
	Error      string `json:"error"`
}

// result is what came back for a delivery.
type result struct {
	code   int
	answer answer
	raw    []byte // the body, when it was not a JSON answer
}

func (r result) ok() bool { return r.code >= 200 && r.code <= 299 }

// sendOne builds, signs and posts (or prints) the one event of the options.
func sendOne(ctx context.Context, o options, stdout, stderr io.Writer, env func(string) string) int {
	d, err := buildDelivery(o, env)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return exitUsage
	}
	if o.print {
		printDelivery(stdout, o.url, d)
		return exitOK
	}
	res, err := post(ctx, newClient(o.timeout), o.url, d)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return exitFail
	}
	fmt.Fprintln(stdout, describe(d.label, res, o))
	if !res.ok() {
		return exitFail
	}
	return exitOK
}

// buildDelivery makes the request of the options: the event named, or the
// file's bytes.
func buildDelivery(o options, env func(string) string) (delivery, error) {
	if o.file != "" {
		return fileDelivery(o, env)
	}
	at := o.at
	if at.IsZero() {
		at = time.Now()
	}
	switch {
	case strings.HasPrefix(o.event, "call."):
		c := o.call
		c.Time = at
		switch o.event {
		case event.CallTransferred:
			c.TransferReason = o.reason
		case event.CallEnded:
			c.DisconnectionReason = o.reason
		}
		return callDelivery(o.event, sample.Call(o.event, c), o, env), nil
	case o.event == event.PaymentFailed:
		p := o.pay
		p.CustomerID, p.EventTime = o.sub.CustomerID, at
		return razorpayDelivery(o.event, sample.PaymentFailed(p), o, env), nil
	default:
		s := o.sub
		s.EventTime = at
		var p *sample.PaymentFields
		if o.event == "subscription.charged" {
			pf := o.pay
			pf.ErrorReason = "" // a charge that succeeded has no error
			p = &pf
		}
		return razorpayDelivery(o.event, sample.Subscription(o.event, s, p), o, env), nil
	}
}

func callDelivery(label string, body []byte, o options, env func(string) string) delivery {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(receiver.HeaderCallSignature, sample.Sign(secretFor(false, o, env), body))
	return delivery{label: label, path: receiver.CallsPath, body: body, header: h}
}

func razorpayDelivery(label string, body []byte, o options, env func(string) string) delivery {
	id := o.eventID
	if id == "" {
		id = newID("evt_", 14)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(receiver.HeaderRazorpaySignature, sample.Sign(secretFor(true, o, env), body))
	h.Set(receiver.HeaderRazorpayEventID, id)
	return delivery{label: label, path: receiver.PaymentsPath, body: body, header: h}
}

// fileDelivery sends a file's bytes unchanged, to the route its "event"
// field names (else the route its shape names: data for a call, payload for
// Razorpay).
func fileDelivery(o options, env func(string) string) (delivery, error) {
	body, err := os.ReadFile(o.file)
	if err != nil {
		return delivery{}, fmt.Errorf("read --file: %w", err)
	}
	var probe struct {
		Event   string          `json:"event"`
		Data    json.RawMessage `json:"data"`
		Payload json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		return delivery{}, fmt.Errorf("--file %s is not a JSON object, so no route can be chosen: %w", o.file, err)
	}
	label := probe.Event
	if label == "" {
		label = o.file
	}
	switch {
	case strings.HasPrefix(probe.Event, "call."), probe.Event == "" && probe.Data != nil:
		return callDelivery(label, body, o, env), nil
	case probe.Event != "", probe.Payload != nil:
		return razorpayDelivery(label, body, o, env), nil
	}
	return delivery{}, fmt.Errorf("--file %s has no \"event\" field, so no route can be chosen", o.file)
}

func newClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout}
}

// post sends d to the receiver at base and reads the answer.
func post(ctx context.Context, c *http.Client, base string, d delivery) (result, error) {
	target := strings.TrimSuffix(base, "/") + d.path
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(d.body))
	if err != nil {
		return result{}, fmt.Errorf("post %s: %w", d.label, err)
	}
	req.Header = d.header.Clone()
	res, err := c.Do(req)
	if err != nil {
		return result{}, fmt.Errorf("post %s to %s: %w", d.label, target, unwrapURLError(err))
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if err != nil {
		return result{}, fmt.Errorf("read the answer to %s: %w", d.label, err)
	}
	r := result{code: res.StatusCode}
	if json.Unmarshal(raw, &r.answer) != nil {
		r.raw = raw
	}
	return r, nil
}

// unwrapURLError drops the *url.Error wrapper, whose text repeats the method
// and the URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// describe is the one line printed for an answer.
func describe(label string, r result, o options) string {
	parts := []string{fmt.Sprintf("%s: %d %s", label, r.code, http.StatusText(r.code))}
	switch {
	case r.answer.Error != "":
		parts = append(parts, "error: "+r.answer.Error)
	case r.answer.Status != "":
		parts = append(parts, "status "+r.answer.Status)
	case len(r.raw) > 0:
		parts = append(parts, fmt.Sprintf("body %q", truncate(string(r.raw), 200)))
	}
	if id := r.answer.WorkflowID; id != "" {
		parts = append(parts, "workflowId "+id, uiLink(o, id))
	}
	return strings.Join(parts, " · ")
}

// uiLink is the Web UI page of a workflow.
func uiLink(o options, workflowID string) string {
	return strings.TrimSuffix(o.ui, "/") + "/namespaces/" + url.PathEscape(o.namespace) +
		"/workflows/" + url.PathEscape(workflowID)
}

// printDelivery writes the request as it would be sent: the signature, not
// the secret.
func printDelivery(w io.Writer, base string, d delivery) {
	fmt.Fprintf(w, "POST %s%s\n", strings.TrimSuffix(base, "/"), d.path)
	keys := make([]string, 0, len(d.header))
	for k := range d.header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "%s: %s\n", strings.ToLower(k), d.header.Get(k))
	}
	fmt.Fprintf(w, "\n%s\n", d.body)
}

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// newID is prefix and n random characters of Razorpay's id alphabet.
func newID(prefix string, n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return prefix + string(b)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

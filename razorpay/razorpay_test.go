package razorpay_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zentrix/webhooks/razorpay"
)

const (
	testKeyID     = "rzp_test_1DP5mmOlF5G5ag"
	testKeySecret = "thisIsTheSecretKey_9f8e7d"
)

// invoiceJSON is shaped like Razorpay's invoice entity for a subscription
// cycle, with the fields this package ignores.
const invoiceJSON = `{
  "id": "inv_X",
  "entity": "invoice",
  "receipt": null,
  "invoice_number": null,
  "customer_id": "cust_JsYhNz2yTSwKUk",
  "customer_details": {
    "id": "cust_JsYhNz2yTSwKUk",
    "name": "Gaurav Kumar",
    "email": "gaurav.kumar@example.com",
    "contact": "9999999999",
    "billing_address": null
  },
  "order_id": "order_JsYjdrfEFXCmiu",
  "subscription_id": "sub_JsYhjGlo1D1YxW",
  "line_items": [
    {
      "id": "li_JsYjdoePTbCgXo",
      "item_id": null,
      "name": "Monthly Plan",
      "amount": 69900,
      "unit_amount": 69900,
      "currency": "INR",
      "quantity": 1
    }
  ],
  "payment_id": "pay_JsYjeYbKMK6tGc",
  "status": "paid",
  "expire_by": null,
  "issued_at": 1658122893,
  "paid_at": 1658122906,
  "amount": 69900,
  "amount_paid": 69900,
  "amount_due": 0,
  "currency": "INR",
  "notes": [],
  "short_url": "https://rzp.io/i/abcdef",
  "type": "invoice",
  "billing_start": 1658122888,
  "billing_end": 1660801288,
  "created_at": 1658122893
}`

const notFoundJSON = `{"error":{"code":"BAD_REQUEST_ERROR","description":"The id provided does not exist","source":"business","step":"payment_initiation","reason":"input_validation_failed","metadata":{}}}`

// env is one test's fake Razorpay: a server running handler, a client
// pointed at it, and a count of the requests it received.
type env struct {
	client   *razorpay.Client
	requests *atomic.Int64
}

func newEnv(t *testing.T, handler http.HandlerFunc) env {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		handler(w, r)
	}))
	t.Cleanup(srv.Close)
	return env{
		client: &razorpay.Client{
			BaseURL:   srv.URL,
			KeyID:     testKeyID,
			KeySecret: testKeySecret,
			HTTP:      srv.Client(),
		},
		requests: &n,
	}
}

func respond(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

// assertNoSecret fails if the key secret shows up in any rendering of err.
func assertNoSecret(t *testing.T, err error) {
	t.Helper()
	for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
		if strings.Contains(s, testKeySecret) {
			t.Errorf("error leaks the key secret: %s", s)
		}
	}
}

func TestInvoiceOK(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			t.Errorf("method = %s, want GET", r.Method)
		}
		if r.URL.Path != "/v1/invoices/inv_X" {
			t.Errorf("path = %s, want /v1/invoices/inv_X", r.URL.Path)
		}
		user, pass, ok := r.BasicAuth()
		if !ok || user != testKeyID || pass != testKeySecret {
			t.Errorf("basic auth = %q, %q, %v; want the key id and secret", user, pass, ok)
		}
		if got := r.Header.Get("Accept"); got != "application/json" {
			t.Errorf("Accept = %q, want application/json", got)
		}
		if got := r.Header.Get("User-Agent"); got != "zentrix-webhooks" {
			t.Errorf("User-Agent = %q, want zentrix-webhooks", got)
		}
		respond(http.StatusOK, invoiceJSON)(w, r)
	})

	got, err := e.client.Invoice(context.Background(), "inv_X")
	if err != nil {
		t.Fatalf("Invoice: %v", err)
	}
	want := razorpay.Invoice{
		ID:             "inv_X",
		SubscriptionID: "sub_JsYhjGlo1D1YxW",
		CustomerID:     "cust_JsYhNz2yTSwKUk",
		PaymentID:      "pay_JsYjeYbKMK6tGc",
		Status:         "paid",
	}
	if got != want {
		t.Errorf("Invoice = %+v, want %+v", got, want)
	}
	if n := e.requests.Load(); n != 1 {
		t.Errorf("requests = %d, want 1", n)
	}
}

func TestInvoiceBaseURLTrailingSlash(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/invoices/inv_X" {
			t.Errorf("path = %s, want /v1/invoices/inv_X", r.URL.Path)
		}
		respond(http.StatusOK, invoiceJSON)(w, r)
	})
	e.client.BaseURL += "/"
	if _, err := e.client.Invoice(context.Background(), "inv_X"); err != nil {
		t.Fatalf("Invoice: %v", err)
	}
}

func TestInvoiceAPIErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		status    int
		body      string
		code      string
		desc      string
		notFound  bool
		temporary bool
		wantText  string
	}{
		{
			name: "404 razorpay error", status: 404, body: notFoundJSON,
			code: "BAD_REQUEST_ERROR", desc: "The id provided does not exist", notFound: true,
			wantText: "razorpay api: 404 BAD_REQUEST_ERROR: The id provided does not exist",
		},
		{
			name: "400 razorpay error", status: 400,
			body: `{"error":{"code":"BAD_REQUEST_ERROR","description":"invalid request"}}`,
			code: "BAD_REQUEST_ERROR", desc: "invalid request",
			wantText: "razorpay api: 400 BAD_REQUEST_ERROR: invalid request",
		},
		{
			name: "401 razorpay error", status: 401,
			body: `{"error":{"code":"BAD_REQUEST_ERROR","description":"Authentication failed"}}`,
			code: "BAD_REQUEST_ERROR", desc: "Authentication failed",
			wantText: "razorpay api: 401 BAD_REQUEST_ERROR: Authentication failed",
		},
		{
			name: "404 html body", status: 404, body: "<html>not here</html>", notFound: true,
			wantText: "razorpay api: 404 Not Found",
		},
		{
			name: "429 empty body", status: 429, temporary: true,
			wantText: "razorpay api: 429 Too Many Requests",
		},
		{
			name: "500 razorpay error", status: 500,
			body: `{"error":{"code":"SERVER_ERROR","description":"The server encountered an error"}}`,
			code: "SERVER_ERROR", desc: "The server encountered an error", temporary: true,
			wantText: "razorpay api: 500 SERVER_ERROR: The server encountered an error",
		},
		{
			name: "503 plain text", status: 503, body: "upstream unavailable", temporary: true,
			wantText: "razorpay api: 503 Service Unavailable",
		},
		{
			name: "502 json of another shape", status: 502, body: `["x"]`, temporary: true,
			wantText: "razorpay api: 502 Bad Gateway",
		},
		{
			name: "400 huge body", status: 400, body: strings.Repeat("x", 1<<20),
			wantText: "razorpay api: 400 Bad Request",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, respond(tt.status, tt.body))

			_, err := e.client.Invoice(context.Background(), "inv_X")
			if err == nil {
				t.Fatal("Invoice: want an error")
			}
			assertNoSecret(t, err)
			var apiErr *razorpay.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("error %v (%T) is not an *APIError", err, err)
			}
			if apiErr.Status != tt.status || apiErr.Code != tt.code || apiErr.Description != tt.desc {
				t.Errorf("APIError = %+v, want status %d code %q description %q", *apiErr, tt.status, tt.code, tt.desc)
			}
			if got := errors.Is(err, razorpay.ErrNotFound); got != tt.notFound {
				t.Errorf("errors.Is(err, ErrNotFound) = %v, want %v", got, tt.notFound)
			}
			if got := apiErr.Temporary(); got != tt.temporary {
				t.Errorf("Temporary() = %v, want %v", got, tt.temporary)
			}
			if got := err.Error(); got != tt.wantText {
				t.Errorf("Error() = %q, want %q", got, tt.wantText)
			}
		})
	}
}

func TestInvoiceBadBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
	}{
		{"not json", "<html>ok</html>"},
		{"empty", ""},
		{"json array", `[{"id":"inv_X"}]`},
		{"wrong field type", `{"id": 12}`},
		{"null", "null"},
		{"no id", `{"entity":"invoice","status":"paid"}`},
		{"another invoice", `{"id":"inv_Y","subscription_id":"sub_1"}`},
		{"truncated", invoiceJSON[:100]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, respond(http.StatusOK, tt.body))

			inv, err := e.client.Invoice(context.Background(), "inv_X")
			if err == nil {
				t.Fatalf("Invoice = %+v, want an error", inv)
			}
			assertNoSecret(t, err)
			if !errors.Is(err, razorpay.ErrBadResponse) {
				t.Errorf("error %v is not ErrBadResponse", err)
			}
			var apiErr *razorpay.APIError
			if errors.As(err, &apiErr) {
				t.Errorf("error %v is an *APIError, want not", err)
			}
		})
	}
}

func TestInvoiceDeadline(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
		respond(http.StatusOK, invoiceJSON)(w, r)
	})

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := e.client.Invoice(ctx, "inv_X")
	elapsed := time.Since(start)

	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Invoice error = %v, want context.DeadlineExceeded", err)
	}
	if !strings.HasPrefix(err.Error(), "razorpay api: get invoice: ") {
		t.Errorf("error %q lacks the razorpay api: get invoice: prefix", err)
	}
	if elapsed > time.Second {
		t.Errorf("Invoice returned after %v, want promptly after the 100ms deadline", elapsed)
	}
	assertNoSecret(t, err)
}

func TestInvoiceTransportError(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close() // nothing listens at this address any more
	c := &razorpay.Client{BaseURL: srv.URL, KeyID: testKeyID, KeySecret: testKeySecret}

	_, err := c.Invoice(context.Background(), "inv_X")
	if err == nil {
		t.Fatal("Invoice: want an error")
	}
	assertNoSecret(t, err)
	if strings.Contains(err.Error(), testKeyID) {
		t.Errorf("error %q carries credentials in the URL", err)
	}
	if !strings.HasPrefix(err.Error(), "razorpay api: get invoice: ") {
		t.Errorf("error %q lacks the razorpay api: get invoice: prefix", err)
	}
	var apiErr *razorpay.APIError
	if errors.As(err, &apiErr) {
		t.Errorf("transport error %v is an *APIError", err)
	}
}

func TestInvoiceNoRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		edit   func(*razorpay.Client)
		id     string
		target error
	}{
		{"no key id", func(c *razorpay.Client) { c.KeyID = "" }, "inv_X", razorpay.ErrNotConfigured},
		{"no key secret", func(c *razorpay.Client) { c.KeySecret = "" }, "inv_X", razorpay.ErrNotConfigured},
		{"neither", func(c *razorpay.Client) { c.KeyID, c.KeySecret = "", "" }, "inv_X", razorpay.ErrNotConfigured},
		{"path traversal", nil, "../x", razorpay.ErrInvalidID},
		{"empty id", nil, "", razorpay.ErrInvalidID},
		{"space", nil, "inv 1", razorpay.ErrInvalidID},
		{"slash", nil, "inv_1/payments", razorpay.ErrInvalidID},
		{"query", nil, "inv_1?expand=x", razorpay.ErrInvalidID},
		{"percent", nil, "inv_%2e%2e", razorpay.ErrInvalidID},
		{"non-ascii", nil, "inv_é", razorpay.ErrInvalidID},
		{"too long", nil, "inv_" + strings.Repeat("a", 100), razorpay.ErrInvalidID},
		{"base url with credentials", func(c *razorpay.Client) {
			c.BaseURL = strings.Replace(c.BaseURL, "http://", "http://"+testKeyID+":"+testKeySecret+"@", 1)
		}, "inv_X", nil},
		{"base url without scheme", func(c *razorpay.Client) { c.BaseURL = "api.razorpay.com" }, "inv_X", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, respond(http.StatusOK, invoiceJSON))
			if tt.edit != nil {
				tt.edit(e.client)
			}

			_, err := e.client.Invoice(context.Background(), tt.id)
			if err == nil {
				t.Fatal("Invoice: want an error")
			}
			assertNoSecret(t, err)
			if tt.target != nil && !errors.Is(err, tt.target) {
				t.Errorf("error %v, want %v", err, tt.target)
			}
			var apiErr *razorpay.APIError
			if errors.As(err, &apiErr) {
				t.Errorf("error %v is an *APIError, want not", err)
			}
			if n := e.requests.Load(); n != 0 {
				t.Errorf("server received %d requests, want 0", n)
			}
		})
	}
}

func TestConfigured(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		c    *razorpay.Client
		want bool
	}{
		{"nil", nil, false},
		{"zero", &razorpay.Client{}, false},
		{"id only", &razorpay.Client{KeyID: testKeyID}, false},
		{"secret only", &razorpay.Client{KeySecret: testKeySecret}, false},
		{"both", &razorpay.Client{KeyID: testKeyID, KeySecret: testKeySecret}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.c.Configured(); got != tt.want {
				t.Errorf("Configured() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNilClientNotConfigured(t *testing.T) {
	t.Parallel()
	var c *razorpay.Client
	if _, err := c.Invoice(context.Background(), "inv_X"); !errors.Is(err, razorpay.ErrNotConfigured) {
		t.Errorf("Invoice on nil client = %v, want ErrNotConfigured", err)
	}
}

// Package razorpay is the worker's client of Razorpay's REST API, used to find
// the subscription of a failed payment through its invoice.
//
// A payment.failed webhook carries only the payment entity, which has no
// subscription_id; a recurring charge does carry invoice_id, and the invoice
// entity names its subscription. Activities call [Client.Invoice] to make
// that hop. The client authenticates with basic auth (key id and key secret)
// and never puts the secret in a URL, an error or a log line.
package razorpay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultBaseURL is the API root used when Client.BaseURL is empty.
const DefaultBaseURL = "https://api.razorpay.com"

const (
	userAgent = "zentrix-webhooks"

	// maxErrorBody bounds how much of a non-2xx answer is read.
	maxErrorBody = 64 << 10
	// maxBody bounds how much of a 2xx answer is read; invoices carry
	// line items, so this is larger than the error bound.
	maxBody = 1 << 20
	// maxIDLen bounds an entity id; Razorpay's are around 18 characters.
	maxIDLen = 64
)

// defaultHTTP is used when Client.HTTP is nil: http.DefaultClient with a timeout.
var defaultHTTP = &http.Client{Timeout: 10 * time.Second}

var (
	// ErrNotConfigured is returned, before any request, when the key id or
	// key secret is empty.
	ErrNotConfigured = errors.New("razorpay api credentials are not configured")

	// ErrNotFound matches (with errors.Is) an *APIError with status 404.
	ErrNotFound = errors.New("razorpay api: not found")

	// ErrInvalidID is returned, before any request, for an id that is empty,
	// too long, or has characters other than [A-Za-z0-9_].
	ErrInvalidID = errors.New("invalid razorpay id")

	// ErrBadResponse is returned for a 2xx answer whose body is not the
	// expected entity.
	ErrBadResponse = errors.New("unexpected response body")
)

// Client calls Razorpay's REST API with basic auth (key id and key secret).
// The zero value is not configured; set KeyID and KeySecret. A Client is safe
// for concurrent use.
type Client struct {
	// BaseURL is the API root without /v1, e.g. https://api.razorpay.com;
	// DefaultBaseURL when empty.
	BaseURL string
	// KeyID is the API key id (rzp_live_… or rzp_test_…).
	KeyID string
	// KeySecret is the API key secret. It is sent only in the Authorization
	// header and never printed.
	KeySecret string
	// HTTP sends the requests; a package-level client with a 10s timeout
	// when nil.
	HTTP *http.Client
}

// Invoice is the part of Razorpay's invoice entity this system uses.
type Invoice struct {
	ID             string `json:"id"`
	SubscriptionID string `json:"subscription_id"`
	CustomerID     string `json:"customer_id"`
	PaymentID      string `json:"payment_id"`
	Status         string `json:"status"`
}

// APIError is a non-2xx answer from Razorpay. Code and Description come from
// Razorpay's error body when it has one and are empty otherwise.
type APIError struct {
	Status      int
	Code        string
	Description string
}

// Error returns e.g. "razorpay api: 404 BAD_REQUEST_ERROR: The id provided does not exist".
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("razorpay api: ")
	b.WriteString(strconv.Itoa(e.Status))
	if e.Code != "" {
		b.WriteString(" ")
		b.WriteString(e.Code)
	}
	if e.Description != "" {
		b.WriteString(": ")
		b.WriteString(e.Description)
	}
	if e.Code == "" && e.Description == "" {
		if text := http.StatusText(e.Status); text != "" {
			b.WriteString(" ")
			b.WriteString(text)
		}
	}
	return b.String()
}

// Temporary reports whether the request may succeed if retried later: true
// for 5xx and 429, false for other statuses.
func (e *APIError) Temporary() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// Is makes errors.Is(err, ErrNotFound) true for a 404.
func (e *APIError) Is(target error) bool {
	return target == ErrNotFound && e.Status == http.StatusNotFound
}

// Configured reports whether a key id and secret are set.
func (c *Client) Configured() bool {
	return c != nil && c.KeyID != "" && c.KeySecret != ""
}

// Invoice fetches GET {BaseURL}/v1/invoices/{id}.
//
// It returns ErrNotConfigured or ErrInvalidID without making a request, an
// *APIError for a non-2xx answer (errors.Is ErrNotFound for 404), ErrBadResponse
// (wrapped) for a 2xx body that is not an invoice, and transport and context
// errors wrapped.
func (c *Client) Invoice(ctx context.Context, id string) (Invoice, error) {
	if !c.Configured() {
		return Invoice{}, ErrNotConfigured
	}
	if err := validID(id); err != nil {
		return Invoice{}, fmt.Errorf("razorpay api: get invoice: %w", err)
	}
	body, err := c.get(ctx, "get invoice", "/v1/invoices/"+url.PathEscape(id))
	if err != nil {
		return Invoice{}, err
	}
	var inv Invoice
	if err := json.Unmarshal(body, &inv); err != nil {
		// The json error names only a type or an offset, never body bytes.
		return Invoice{}, fmt.Errorf("razorpay api: get invoice: %w: %v", ErrBadResponse, err)
	}
	if inv.ID == "" {
		return Invoice{}, fmt.Errorf("razorpay api: get invoice: %w: invoice has no id", ErrBadResponse)
	}
	if inv.ID != id {
		return Invoice{}, fmt.Errorf("razorpay api: get invoice: %w: asked for %s, got %q", ErrBadResponse, id, shorten(inv.ID))
	}
	return inv, nil
}

// get sends an authenticated GET to path under the base URL and returns the
// body of a 2xx answer.
func (c *Client) get(ctx context.Context, op, path string) ([]byte, error) {
	base, err := c.baseURL()
	if err != nil {
		return nil, fmt.Errorf("razorpay api: %s: %w", op, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		// Not wrapped: the error of NewRequest quotes the URL, and the base
		// URL is configuration that should not end up in logs verbatim.
		return nil, fmt.Errorf("razorpay api: %s: build request", op)
	}
	req.SetBasicAuth(c.KeyID, c.KeySecret)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)

	resp, err := c.httpClient().Do(req)
	if err != nil {
		// A *url.Error quotes the URL, which carries no credentials: they
		// travel only in the Authorization header.
		return nil, fmt.Errorf("razorpay api: %s: %w", op, err)
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return nil, parseAPIError(resp.StatusCode, raw)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("razorpay api: %s: read body: %w", op, err)
	}
	if len(raw) > maxBody {
		return nil, fmt.Errorf("razorpay api: %s: %w: body larger than %d bytes", op, ErrBadResponse, maxBody)
	}
	return raw, nil
}

// baseURL returns the API root without a trailing slash. It refuses a URL
// that is not absolute http(s) or that carries user info, so credentials can
// only ever travel in the Authorization header.
func (c *Client) baseURL() (string, error) {
	raw := c.BaseURL
	if raw == "" {
		raw = DefaultBaseURL
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// The parse error quotes the input; leave it out.
		return "", errors.New("invalid base url")
	}
	if u.User != nil {
		return "", errors.New("base url must not carry credentials")
	}
	return strings.TrimRight(raw, "/"), nil
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return defaultHTTP
}

// parseAPIError builds an *APIError from a non-2xx answer, taking the code
// and description from Razorpay's error body when it is JSON of that shape.
func parseAPIError(status int, raw []byte) *APIError {
	e := &APIError{Status: status}
	var body struct {
		Error struct {
			Code        string `json:"code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	if len(bytes.TrimSpace(raw)) > 0 && json.Unmarshal(raw, &body) == nil {
		e.Code = shorten(body.Error.Code)
		e.Description = shorten(body.Error.Description)
	}
	return e
}

// validID checks a Razorpay entity id: non-empty, at most maxIDLen bytes,
// only [A-Za-z0-9_].
func validID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty", ErrInvalidID)
	}
	if len(id) > maxIDLen {
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidID, maxIDLen)
	}
	for i := 0; i < len(id); i++ {
		ch := id[i]
		ok := ch == '_' || ('0' <= ch && ch <= '9') || ('a' <= ch && ch <= 'z') || ('A' <= ch && ch <= 'Z')
		if !ok {
			return fmt.Errorf("%w: %q", ErrInvalidID, id)
		}
	}
	return nil
}

// shorten bounds a string taken from a response before it goes into an error.
func shorten(s string) string {
	const limit = 200
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// Package sample builds realistic, signable webhook bodies of both senders:
// the voice platform's envelope {event, timestamp, data} and Razorpay's
// {entity, account_id, event, contains, payload, created_at}. It is used by
// the sender command (cmd/send) and by tests.
//
// The bodies carry what the senders really send, quirks included: Razorpay's
// empty notes as [], captured as "1" on subscription charges, fields the
// system does not decode (card, acquirer_data, fee, …), nullable fields as
// null, and personal data (the caller's number, the payer's e-mail and phone)
// that the parsers must drop. Every field left empty in a *Fields struct gets
// a sensible default, so the zero value builds a valid event.
package sample

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"strings"
	"time"
)

// Defaults of the call fields, shaped like the voice platform's samples.
const (
	DefaultCallID         = "call_demo1"
	DefaultAgentID        = "550e8400-e29b-41d4-a716-446655440000"
	DefaultInstanceID     = "660f9500-f30c-52e5-b827-557766551111"
	DefaultPlatform       = "phone"
	DefaultCallerNumber   = "+919876543210"
	DefaultToAgentID      = "human_support_7"
	DefaultTransferReason = "customer_requested_human"
	DefaultDuration       = 245.0 // seconds
	DefaultTranscript     = "Agent: Hello, how can I help you today? Customer: I would like to return an order. ..."
	DefaultSentiment      = "positive"
	DefaultSummary        = "Customer inquired about product return policy. Provided return window details and initiated return process."
	DefaultDisconnection  = "agent_ended"
)

// Defaults of the Razorpay fields, shaped like Razorpay's samples.
const (
	DefaultAccountID       = "acc_BFQ7uQEaa7j2z7"
	DefaultSubscriptionID  = "sub_Nq4xR2sT9uVwXy"
	DefaultPlanID          = "plan_Nq4vB1cD2eF3gH"
	DefaultCustomerID      = "cust_Nq4wI4jK5lM6nO"
	DefaultChargeID        = "pay_Nz8aB7cD6eF5gH" // the payment of a subscription charge
	DefaultFailedPaymentID = "pay_Oa1bC2dE3fG4hI" // the payment of payment.failed
	DefaultTokenID         = "token_Nz8aI7jJ8kK9lL"
	DefaultCardID          = "card_Nz8aE4fF5gG6hH"
	DefaultAmount          = 99900 // minor units: ₹999.00
	DefaultCurrency        = "INR"
	DefaultTotalCount      = 12
	DefaultEmail           = "customer@example.com"
	DefaultContact         = "+919876543210"
	DefaultErrorCode       = "BAD_REQUEST_ERROR"
	DefaultErrorReason     = "insufficient_funds"
	DefaultErrorDesc       = "Your payment could not be completed due to insufficient account balance."
)

// cycle is a billing period of the sample plan (monthly).
const cycle = 30 * 24 * time.Hour

// CallFields are the fields of a voice-platform event. Empty fields get the
// Default* values; Time defaults to now. Each event carries only its own
// fields, as the voice platform sends them.
type CallFields struct {
	CallID       string
	AgentID      string // the agent of call.started and call.ended
	InstanceID   string
	Platform     string
	CallerNumber string
	Time         time.Time // the envelope's timestamp

	// call.transferred
	FromAgentID         string // default AgentID
	ToAgentID           string
	TransferReason      string
	ConversationContext json.RawMessage // default {"topic":"returns","turns":6}; text that is not JSON is sent as a JSON string

	// call.ended
	Duration            *float64 // seconds; nil (or not a finite number) means DefaultDuration
	Transcript          string
	Sentiment           string
	Summary             string
	DisconnectionReason string
}

// Call returns the body of the voice-platform event ev (call.started,
// call.transferred, call.ended; another name gets the fields of
// call.started).
func Call(ev string, c CallFields) []byte {
	c = c.withDefaults()
	data := callData{CallID: c.CallID, InstanceID: c.InstanceID, Platform: c.Platform}
	switch ev {
	case "call.transferred":
		data.FromAgentID, data.ToAgentID, data.TransferReason = c.FromAgentID, c.ToAgentID, c.TransferReason
		data.ConversationContext = jsonOrString(c.ConversationContext)
	case "call.ended":
		data.AgentID, data.CallerNumber = c.AgentID, c.CallerNumber
		data.Duration = c.Duration
		data.Transcript, data.Sentiment, data.Summary = c.Transcript, c.Sentiment, c.Summary
		data.DisconnectionReason = c.DisconnectionReason
	default:
		data.AgentID, data.CallerNumber = c.AgentID, c.CallerNumber
	}
	return mustJSON(callEnvelope{Event: ev, Timestamp: c.Time.UTC().Format(callTimeLayout), Data: data})
}

// callTimeLayout is how the voice platform writes times: UTC, milliseconds.
const callTimeLayout = "2006-01-02T15:04:05.000Z07:00"

func (c CallFields) withDefaults() CallFields {
	c.CallID = or(c.CallID, DefaultCallID)
	c.AgentID = or(c.AgentID, DefaultAgentID)
	c.InstanceID = or(c.InstanceID, DefaultInstanceID)
	c.Platform = or(c.Platform, DefaultPlatform)
	c.CallerNumber = or(c.CallerNumber, DefaultCallerNumber)
	c.FromAgentID = or(c.FromAgentID, c.AgentID)
	c.ToAgentID = or(c.ToAgentID, DefaultToAgentID)
	c.TransferReason = or(c.TransferReason, DefaultTransferReason)
	if len(c.ConversationContext) == 0 {
		c.ConversationContext = json.RawMessage(`{"topic":"returns","turns":6}`)
	}
	if c.Duration == nil || math.IsNaN(*c.Duration) || math.IsInf(*c.Duration, 0) {
		d := DefaultDuration
		c.Duration = &d
	}
	c.Transcript = or(c.Transcript, DefaultTranscript)
	c.Sentiment = or(c.Sentiment, DefaultSentiment)
	c.Summary = or(c.Summary, DefaultSummary)
	c.DisconnectionReason = or(c.DisconnectionReason, DefaultDisconnection)
	if c.Time.IsZero() {
		c.Time = time.Now()
	}
	return c
}

type callEnvelope struct {
	Event     string   `json:"event"`
	Timestamp string   `json:"timestamp"`
	Data      callData `json:"data"`
}

type callData struct {
	CallID              string          `json:"callId"`
	AgentID             string          `json:"agentId,omitempty"`
	InstanceID          string          `json:"instanceId,omitempty"`
	Platform            string          `json:"platform,omitempty"`
	CallerNumber        string          `json:"callerNumber,omitempty"`
	FromAgentID         string          `json:"fromAgentId,omitempty"`
	ToAgentID           string          `json:"toAgentId,omitempty"`
	TransferReason      string          `json:"transferReason,omitempty"`
	ConversationContext json.RawMessage `json:"conversationContext,omitempty"`
	Duration            *float64        `json:"duration,omitempty"`
	Transcript          string          `json:"transcript,omitempty"`
	Sentiment           string          `json:"sentiment,omitempty"`
	Summary             string          `json:"summary,omitempty"`
	DisconnectionReason string          `json:"disconnectionReason,omitempty"`
}

// SubscriptionFields are the fields of a Razorpay subscription entity and of
// the event around it. Empty fields get the Default* values.
type SubscriptionFields struct {
	ID         string
	PlanID     string
	CustomerID string
	AccountID  string
	// Status defaults to the status the event implies (ImpliedStatus).
	Status string
	// PaidCount is nil for the count the event implies: 0 while
	// authenticated (or created), else 1.
	PaidCount  *int64
	TotalCount int64
	// EventTime is when Razorpay created the event (the envelope's
	// created_at); zero means now. The current period starts at it.
	EventTime time.Time
	// Notes are the merchant's notes; empty ones are sent as [].
	Notes map[string]string
}

// PaymentFields are the fields of a Razorpay payment entity. Empty fields get
// the Default* values; OrderID and InvoiceID are derived from ID.
type PaymentFields struct {
	ID         string
	Amount     int64
	Currency   string
	Status     string // default "captured" in a subscription event, "failed" in payment.failed
	Method     string
	OrderID    string
	InvoiceID  string
	CustomerID string // default the subscription's customer
	TokenID    string
	CardID     string
	// Error fields of a failed payment (null on a captured one).
	ErrorCode        string
	ErrorDescription string
	ErrorReason      string
	// CreatedAt is when the payment was made; zero means ten seconds before
	// the event.
	CreatedAt time.Time
	// EventTime is the envelope's created_at of payment.failed; zero means
	// now. In a subscription event the subscription's EventTime wins.
	EventTime time.Time
	Notes     map[string]string
}

// ImpliedStatus is the subscription status that Razorpay sends with the
// subscription event ev ("subscription.charged" → "active").
func ImpliedStatus(ev string) string {
	switch strings.TrimPrefix(ev, "subscription.") {
	case "authenticated":
		return "authenticated"
	case "pending":
		return "pending"
	case "halted":
		return "halted"
	case "cancelled":
		return "cancelled"
	case "paused":
		return "paused"
	case "completed":
		return "completed"
	default: // activated, charged, resumed, updated
		return "active"
	}
}

// Subscription returns the body of the Razorpay subscription event ev
// (subscription.activated, subscription.charged, …) about s, with the payment
// p when it is not nil (as in subscription.charged).
func Subscription(ev string, s SubscriptionFields, p *PaymentFields) []byte {
	s = s.withDefaults(ev, p)
	payload := razorpayPayload{Subscription: &wrap[subscriptionEntity]{Entity: s.entity()}}
	contains := []string{"subscription"}
	if p != nil {
		pf := p.withDefaults(DefaultChargeID, "captured", s.CustomerID, s.EventTime)
		payload.Payment = &wrap[paymentEntity]{Entity: pf.entity(true)}
		contains = append(contains, "payment")
	}
	return mustJSON(razorpayEnvelope{
		Entity: "event", AccountID: s.AccountID, Event: ev, Contains: contains,
		Payload: payload, CreatedAt: s.EventTime.Unix(),
	})
}

// PaymentFailed returns the body of Razorpay's payment.failed about p, a
// failed recurring charge (it names no subscription, as Razorpay's does not).
func PaymentFailed(p PaymentFields) []byte {
	at := p.EventTime
	if at.IsZero() {
		at = time.Now()
	}
	p = p.withDefaults(DefaultFailedPaymentID, "failed", DefaultCustomerID, at)
	return mustJSON(razorpayEnvelope{
		Entity: "event", AccountID: DefaultAccountID, Event: "payment.failed", Contains: []string{"payment"},
		Payload: razorpayPayload{Payment: &wrap[paymentEntity]{Entity: p.entity(false)}}, CreatedAt: at.Unix(),
	})
}

// Sign returns the signature both senders put in their header: the lowercase
// hex HMAC-SHA256 of body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func (s SubscriptionFields) withDefaults(ev string, p *PaymentFields) SubscriptionFields {
	s.ID = or(s.ID, DefaultSubscriptionID)
	s.PlanID = or(s.PlanID, DefaultPlanID)
	s.CustomerID = or(s.CustomerID, DefaultCustomerID)
	s.AccountID = or(s.AccountID, DefaultAccountID)
	s.Status = or(s.Status, ImpliedStatus(ev))
	if s.PaidCount == nil {
		var n int64 = 1
		if s.Status == "authenticated" || s.Status == "created" {
			n = 0
		}
		s.PaidCount = &n
	}
	if s.TotalCount <= 0 {
		s.TotalCount = DefaultTotalCount
	}
	if s.EventTime.IsZero() {
		s.EventTime = time.Now()
		if p != nil && !p.EventTime.IsZero() {
			s.EventTime = p.EventTime
		}
	}
	return s
}

// entity is the subscription entity as Razorpay sends it: fields the system
// ignores included, nullable ones null, a period only once it has started.
func (s SubscriptionFields) entity() subscriptionEntity {
	at := s.EventTime.Unix()
	paid := *s.PaidCount
	period := int64(cycle / time.Second)
	// The subscription started at its first paid cycle (the current one
	// starts at the event) and was created a little before it was authorised.
	startAt := at - max(paid-1, 0)*period
	e := subscriptionEntity{
		ID: s.ID, Entity: "subscription", PlanID: s.PlanID, CustomerID: s.CustomerID, Status: s.Status,
		Type: 3, Quantity: 1, Notes: notes(s.Notes), TotalCount: s.TotalCount, PaidCount: paid,
		CustomerNotify: true, CreatedAt: startAt - 1000, Source: "api",
		RemainingCount: max(0, s.TotalCount-paid),
		StartAt:        startAt,
		EndAt:          startAt + s.TotalCount*period,
	}
	if s.Status != "authenticated" && s.Status != "created" {
		e.CurrentStart, e.CurrentEnd = at, at+period
		e.ChargeAt = e.CurrentEnd
	}
	if s.Status == "cancelled" || s.Status == "completed" {
		e.EndedAt, e.ChargeAt = at, nil
	}
	return e
}

func (p PaymentFields) withDefaults(id, status, customer string, eventTime time.Time) PaymentFields {
	p.ID = or(p.ID, id)
	suffix := strings.TrimPrefix(p.ID, "pay_")
	if p.Amount <= 0 {
		p.Amount = DefaultAmount
	}
	p.Currency = or(p.Currency, DefaultCurrency)
	p.Status = or(p.Status, status)
	p.Method = or(p.Method, "card")
	p.OrderID = or(p.OrderID, "order_"+suffix)
	p.InvoiceID = or(p.InvoiceID, "inv_"+suffix)
	p.CustomerID = or(p.CustomerID, customer)
	p.TokenID = or(p.TokenID, DefaultTokenID)
	p.CardID = or(p.CardID, DefaultCardID)
	if p.Status == "failed" {
		p.ErrorCode = or(p.ErrorCode, DefaultErrorCode)
		p.ErrorDescription = or(p.ErrorDescription, DefaultErrorDesc)
		p.ErrorReason = or(p.ErrorReason, DefaultErrorReason)
	}
	if p.CreatedAt.IsZero() {
		p.CreatedAt = eventTime.Add(-10 * time.Second)
	}
	return p
}

// entity is the payment entity as Razorpay sends it. A captured charge in a
// subscription event says captured "1" and carries its card and fees; a
// failed one says false and carries the error fields.
func (p PaymentFields) entity(inSubscriptionEvent bool) paymentEntity {
	e := paymentEntity{
		ID: p.ID, Entity: "payment", Amount: p.Amount, Currency: p.Currency, Status: p.Status,
		OrderID: p.OrderID, InvoiceID: p.InvoiceID, Method: p.Method, CardID: p.CardID,
		Email: DefaultEmail, Contact: DefaultContact, CustomerID: p.CustomerID, TokenID: p.TokenID,
		Notes: notes(p.Notes), AcquirerData: map[string]any{"auth_code": nil}, CreatedAt: p.CreatedAt.Unix(),
		Description: "Recurring Payment via Subscription",
	}
	captured := p.Status == "captured" || p.Status == "refunded"
	switch {
	case captured && inSubscriptionEvent:
		e.Captured = "1"
	default:
		e.Captured = captured
	}
	if captured {
		fee := p.Amount / 50
		e.Fee, e.Tax = fee, fee*18/118
		e.AcquirerData = map[string]any{"auth_code": "123456"}
		e.Card = &card{ID: p.CardID, Entity: "card", Name: "A Customer", Last4: "1111", Network: "Visa",
			Type: "credit", SubType: "consumer", ExpiryMonth: 12, ExpiryYear: 2030}
	}
	if p.ErrorCode != "" || p.ErrorReason != "" || p.ErrorDescription != "" {
		e.Description = "Failed Recurring Payment via Subscription"
		e.ErrorCode, e.ErrorDescription, e.ErrorReason = nullable(p.ErrorCode), nullable(p.ErrorDescription), nullable(p.ErrorReason)
		e.ErrorSource, e.ErrorStep = "customer", "payment_authorization"
	}
	return e
}

type razorpayEnvelope struct {
	Entity    string          `json:"entity"`
	AccountID string          `json:"account_id"`
	Event     string          `json:"event"`
	Contains  []string        `json:"contains"`
	Payload   razorpayPayload `json:"payload"`
	CreatedAt int64           `json:"created_at"`
}

type razorpayPayload struct {
	Subscription *wrap[subscriptionEntity] `json:"subscription,omitempty"`
	Payment      *wrap[paymentEntity]      `json:"payment,omitempty"`
}

type wrap[T any] struct {
	Entity T `json:"entity"`
}

// subscriptionEntity follows the field order of Razorpay's samples. Fields
// typed any are null when nil.
type subscriptionEntity struct {
	ID                  string `json:"id"`
	Entity              string `json:"entity"`
	PlanID              string `json:"plan_id"`
	CustomerID          string `json:"customer_id"`
	Status              string `json:"status"`
	Type                int    `json:"type"`
	CurrentStart        any    `json:"current_start"`
	CurrentEnd          any    `json:"current_end"`
	EndedAt             any    `json:"ended_at"`
	Quantity            int    `json:"quantity"`
	Notes               any    `json:"notes"`
	ChargeAt            any    `json:"charge_at"`
	StartAt             int64  `json:"start_at"`
	EndAt               int64  `json:"end_at"`
	AuthAttempts        int    `json:"auth_attempts"`
	TotalCount          int64  `json:"total_count"`
	PaidCount           int64  `json:"paid_count"`
	CustomerNotify      bool   `json:"customer_notify"`
	CreatedAt           int64  `json:"created_at"`
	ExpireBy            any    `json:"expire_by"`
	ShortURL            any    `json:"short_url"`
	HasScheduledChanges bool   `json:"has_scheduled_changes"`
	ChangeScheduledAt   any    `json:"change_scheduled_at"`
	Source              string `json:"source"`
	OfferID             any    `json:"offer_id"`
	RemainingCount      int64  `json:"remaining_count"`
}

// paymentEntity follows the field order of Razorpay's samples.
type paymentEntity struct {
	ID                string         `json:"id"`
	Entity            string         `json:"entity"`
	Amount            int64          `json:"amount"`
	Currency          string         `json:"currency"`
	Status            string         `json:"status"`
	OrderID           string         `json:"order_id"`
	InvoiceID         string         `json:"invoice_id"`
	International     bool           `json:"international"`
	Method            string         `json:"method"`
	AmountRefunded    int64          `json:"amount_refunded"`
	AmountTransferred int64          `json:"amount_transferred"`
	RefundStatus      any            `json:"refund_status"`
	Captured          any            `json:"captured"`
	Description       string         `json:"description"`
	CardID            string         `json:"card_id"`
	Card              *card          `json:"card,omitempty"`
	Bank              any            `json:"bank"`
	Wallet            any            `json:"wallet"`
	VPA               any            `json:"vpa"`
	Email             string         `json:"email"`
	Contact           string         `json:"contact"`
	CustomerID        string         `json:"customer_id"`
	TokenID           string         `json:"token_id"`
	Notes             any            `json:"notes"`
	Fee               any            `json:"fee"`
	Tax               any            `json:"tax"`
	ErrorCode         any            `json:"error_code"`
	ErrorDescription  any            `json:"error_description"`
	ErrorSource       any            `json:"error_source"`
	ErrorStep         any            `json:"error_step"`
	ErrorReason       any            `json:"error_reason"`
	AcquirerData      map[string]any `json:"acquirer_data"`
	CreatedAt         int64          `json:"created_at"`
}

type card struct {
	ID            string `json:"id"`
	Entity        string `json:"entity"`
	Name          string `json:"name"`
	Last4         string `json:"last4"`
	Network       string `json:"network"`
	Type          string `json:"type"`
	Issuer        any    `json:"issuer"`
	International bool   `json:"international"`
	EMI           bool   `json:"emi"`
	SubType       string `json:"sub_type"`
	ExpiryMonth   int    `json:"expiry_month"`
	ExpiryYear    int    `json:"expiry_year"`
}

// notes is how Razorpay sends notes: [] when there are none.
func notes(n map[string]string) any {
	if len(n) == 0 {
		return []any{}
	}
	return n
}

// nullable is s, or null when s is empty.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// jsonOrString keeps raw when it is JSON and sends it as a JSON string when
// it is not, so that any text given on a command line makes a valid body.
func jsonOrString(raw json.RawMessage) json.RawMessage {
	if json.Valid(raw) {
		return raw
	}
	b, _ := json.Marshal(string(raw))
	return b
}

// mustJSON encodes v. Every value built here encodes (no channels, no
// functions, raw JSON checked), so an error is a bug in this package.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("sample: encode body: " + err.Error())
	}
	return b
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

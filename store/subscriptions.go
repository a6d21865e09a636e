package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/zentrix/webhooks/activities"
)

// Subscription access levels, as stored in subscriptions.access ("" while not
// decided).
const (
	accessGranted   = "granted"
	accessGrace     = "grace"
	accessSuspended = "suspended"
	accessRevoked   = "revoked"
)

// upsertSubscriptionSQL writes the subscriptions row unless the stored one
// has a higher revision, as upsertCallSQL does for calls.
const upsertSubscriptionSQL = `INSERT INTO subscriptions
	(subscription_id, plan_id, customer_id, status, access,
	 current_start, current_end, paid_count, grace_until,
	 last_failure_payment_id, last_failure_reason, revision, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (subscription_id) DO UPDATE SET
	plan_id = excluded.plan_id,
	customer_id = excluded.customer_id,
	status = excluded.status,
	access = excluded.access,
	current_start = excluded.current_start,
	current_end = excluded.current_end,
	paid_count = excluded.paid_count,
	grace_until = excluded.grace_until,
	last_failure_payment_id = excluded.last_failure_payment_id,
	last_failure_reason = excluded.last_failure_reason,
	revision = excluded.revision,
	updated_at = excluded.updated_at
WHERE subscriptions.revision <= excluded.revision`

// upsertPaymentSQL merges a payment into its row. Events about one payment
// arrive in any order and each carries part of it, so the row only learns:
//   - status: captured once either side is captured (a payment captured
//     after failing is not failed for good, and a late failure never undoes a
//     capture), else the new status;
//   - subscription_id (NULL when unknown) and the text fields: the new value
//     unless it is empty;
//   - amount and currency: the new ones when the amount is positive / the
//     currency non-empty;
//   - created_at: the first one known;
//   - updated_at: the new one.
const upsertPaymentSQL = `INSERT INTO payments
	(payment_id, subscription_id, amount, currency, status, failure_reason,
	 invoice_id, customer_id, token_id, order_id, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (payment_id) DO UPDATE SET
	subscription_id = COALESCE(excluded.subscription_id, payments.subscription_id),
	amount = CASE WHEN excluded.amount > 0 THEN excluded.amount ELSE payments.amount END,
	currency = CASE WHEN excluded.currency <> '' THEN excluded.currency ELSE payments.currency END,
	status = CASE WHEN payments.status = 'captured' OR excluded.status = 'captured'
		THEN 'captured' ELSE excluded.status END,
	failure_reason = CASE WHEN excluded.failure_reason <> '' THEN excluded.failure_reason ELSE payments.failure_reason END,
	invoice_id = CASE WHEN excluded.invoice_id <> '' THEN excluded.invoice_id ELSE payments.invoice_id END,
	customer_id = CASE WHEN excluded.customer_id <> '' THEN excluded.customer_id ELSE payments.customer_id END,
	token_id = CASE WHEN excluded.token_id <> '' THEN excluded.token_id ELSE payments.token_id END,
	order_id = CASE WHEN excluded.order_id <> '' THEN excluded.order_id ELSE payments.order_id END,
	created_at = COALESCE(payments.created_at, excluded.created_at),
	updated_at = excluded.updated_at`

const selectSubscriptionSQL = `SELECT subscription_id, plan_id, customer_id, status, access,
	current_start, current_end, paid_count, grace_until,
	last_failure_payment_id, last_failure_reason, revision, updated_at
FROM subscriptions
WHERE subscription_id = ?`

const selectPaymentColumns = `SELECT payment_id, subscription_id, amount, currency, status, failure_reason,
	invoice_id, customer_id, token_id, order_id, created_at, updated_at
FROM payments
`

const selectPaymentSQL = selectPaymentColumns + `WHERE payment_id = ?`

// Unknown creation times sort last on both dialects (SQLite puts NULLs first
// by default, PostgreSQL last).
const selectPaymentsSQL = selectPaymentColumns + `WHERE subscription_id = ?
ORDER BY created_at NULLS LAST, payment_id`

// The FindSubscription steps: the distinct subscriptions the stored payments
// (and, for the customer, the subscriptions rows) name. Two rows are enough
// to tell one from several.
const (
	findByInvoiceSQL = `SELECT DISTINCT subscription_id FROM payments
WHERE invoice_id = ? AND subscription_id IS NOT NULL
LIMIT 2`
	findByTokenSQL = `SELECT DISTINCT subscription_id FROM payments
WHERE token_id = ? AND subscription_id IS NOT NULL
LIMIT 2`
	findByCustomerSQL = `SELECT subscription_id FROM payments
WHERE customer_id = ? AND subscription_id IS NOT NULL
UNION
SELECT subscription_id FROM subscriptions
WHERE customer_id = ?
LIMIT 2`
)

// SaveSubscription writes snap in one transaction: the event's
// webhook_events row (once, as RecordEvent does), the subscriptions row and,
// if snap.Payment is set, its payments row as SavePayment merges it. A
// snapshot whose revision is lower than the stored row's is stale: the
// subscriptions row stays as it is, and the event and payment rows are still
// written (a charge is a fact whatever the snapshot's age). An empty
// Payment.SubscriptionID is the snapshot's subscription.
//
// Zero CurrentStart, CurrentEnd and GraceUntil are stored as NULL. Times are
// stored in UTC, truncated to microseconds.
//
// Invalid snapshots (text or times that would not be stored the same way on
// both dialects, an empty subscription ID or status, an unknown access, a
// negative paid count, a revision below 1, a zero update time, an invalid
// payment or event) are refused before anything is written; they and the
// data the database refuses give an error that wraps activities.ErrRejected,
// and nothing is written.
func (s *Store) SaveSubscription(ctx context.Context, snap activities.SubscriptionSnapshot) error {
	var payment *activities.PaymentRecord
	if snap.Payment != nil {
		p := *snap.Payment
		if p.SubscriptionID == "" {
			p.SubscriptionID = snap.Subscription.SubscriptionID
		}
		payment = &p
	}
	if err := validateSubscriptionSnapshot(snap.Subscription, payment, snap.Event); err != nil {
		return fmt.Errorf("save subscription: %w: %w", activities.ErrRejected, err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return wrap("save subscription", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op (sql.ErrTxDone) after Commit

	if snap.Event != nil {
		if _, err := s.insertEvent(ctx, tx, *snap.Event); err != nil {
			return wrap("save subscription: record event", err)
		}
	}
	sub := snap.Subscription
	_, err = tx.ExecContext(ctx, s.rebind(upsertSubscriptionSQL),
		sub.SubscriptionID, sub.PlanID, sub.CustomerID, sub.Status, sub.Access,
		s.nullTimeArg(sub.CurrentStart), s.nullTimeArg(sub.CurrentEnd), sub.PaidCount,
		s.nullTimeArg(sub.GraceUntil), sub.LastFailurePaymentID, sub.LastFailureReason,
		sub.Revision, s.timeArg(sub.UpdatedAt))
	if err != nil {
		return wrap("save subscription: upsert subscription", err)
	}
	if payment != nil {
		if err := s.upsertPayment(ctx, tx, *payment); err != nil {
			return wrap("save subscription: upsert payment", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return wrap("save subscription: commit", err)
	}
	return nil
}

// SavePayment writes p, and the event's webhook_events row (once, as
// RecordEvent does) if event is not nil, in one transaction. A payment
// already stored is merged (see upsertPaymentSQL): once captured it stays
// captured, and empty fields (an empty SubscriptionID, a zero Amount or
// CreatedAt) never overwrite known ones. An empty SubscriptionID is stored
// as NULL and a zero CreatedAt as NULL. Times are stored in UTC, truncated
// to microseconds.
//
// Invalid payments (text or times that would not be stored the same way on
// both dialects, an empty payment ID, a status other than captured or
// failed, a negative amount, a zero update time, an invalid event) are
// refused before anything is written; they and the data the database
// refuses give an error that wraps activities.ErrRejected, and nothing is
// written.
func (s *Store) SavePayment(ctx context.Context, p activities.PaymentRecord, event *activities.EventRecord) error {
	if err := validatePayment(p); err != nil {
		return fmt.Errorf("save payment: %w: %w", activities.ErrRejected, err)
	}
	if event != nil {
		if err := validate(*event); err != nil {
			return fmt.Errorf("save payment: %w: event: %w", activities.ErrRejected, err)
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return wrap("save payment", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op (sql.ErrTxDone) after Commit

	if event != nil {
		if _, err := s.insertEvent(ctx, tx, *event); err != nil {
			return wrap("save payment: record event", err)
		}
	}
	if err := s.upsertPayment(ctx, tx, p); err != nil {
		return wrap("save payment: upsert payment", err)
	}
	if err := tx.Commit(); err != nil {
		return wrap("save payment: commit", err)
	}
	return nil
}

// upsertPayment runs the payments upsert of an already validated p through
// q. Errors are the driver's, unwrapped.
func (s *Store) upsertPayment(ctx context.Context, q execer, p activities.PaymentRecord) error {
	var subscriptionID any
	if p.SubscriptionID != "" {
		subscriptionID = p.SubscriptionID
	}
	_, err := q.ExecContext(ctx, s.rebind(upsertPaymentSQL),
		p.PaymentID, subscriptionID, p.Amount, p.Currency, p.Status, p.FailureReason,
		p.InvoiceID, p.CustomerID, p.TokenID, p.OrderID,
		s.nullTimeArg(p.CreatedAt), s.timeArg(p.UpdatedAt))
	return err
}

// FindSubscription names the subscription of a payment from the payments
// already stored with a subscription: those of the same invoice, else of the
// same token, else of the same customer (whose subscriptions rows count
// too). A step decides only when its rows name exactly one subscription;
// when they name several it is ambiguous and the next step is tried. Empty
// hints skip their step, and so do hints no stored row can hold (invalid
// UTF-8, NUL bytes). It returns "" and no error when no step decides.
func (s *Store) FindSubscription(ctx context.Context, hints activities.PaymentHints) (string, error) {
	for _, step := range []struct {
		name, hint, query string
		args              int
	}{
		{"invoice_id", hints.InvoiceID, findByInvoiceSQL, 1},
		{"token_id", hints.TokenID, findByTokenSQL, 1},
		{"customer_id", hints.CustomerID, findByCustomerSQL, 2},
	} {
		if step.hint == "" || checkText(step.name, step.hint) != nil {
			continue
		}
		args := make([]any, step.args)
		for i := range args {
			args[i] = step.hint
		}
		ids, err := s.distinctIDs(ctx, step.query, args...)
		if err != nil {
			return "", wrap("find subscription: by "+step.name, err)
		}
		if len(ids) == 1 {
			return ids[0], nil
		}
	}
	return "", nil
}

// distinctIDs runs a FindSubscription step and returns the ids it names.
func (s *Store) distinctIDs(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.rebind(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// validateSubscriptionSnapshot checks a subscription snapshot (with its
// payment's subscription already defaulted) before anything is written.
// Messages name the field, never its value.
func validateSubscriptionSnapshot(sub activities.SubscriptionRecord, p *activities.PaymentRecord, e *activities.EventRecord) error {
	for _, f := range []struct{ name, v string }{
		{"subscription_id", sub.SubscriptionID},
		{"plan_id", sub.PlanID},
		{"customer_id", sub.CustomerID},
		{"status", sub.Status},
		{"access", sub.Access},
		{"last_failure_payment_id", sub.LastFailurePaymentID},
		{"last_failure_reason", sub.LastFailureReason},
	} {
		if err := checkText(f.name, f.v); err != nil {
			return err
		}
	}
	if sub.SubscriptionID == "" {
		return errors.New("subscription_id is empty")
	}
	if sub.Status == "" {
		return errors.New("status is empty")
	}
	switch sub.Access {
	case "", accessGranted, accessGrace, accessSuspended, accessRevoked:
	default:
		return errors.New("access is not one of granted, grace, suspended, revoked or empty")
	}
	if sub.PaidCount < 0 {
		return errors.New("paid_count is negative")
	}
	if sub.Revision < 1 {
		return errors.New("revision is below 1")
	}
	for _, f := range []struct {
		name string
		v    time.Time
	}{
		{"current_start", sub.CurrentStart},
		{"current_end", sub.CurrentEnd},
		{"grace_until", sub.GraceUntil},
		{"updated_at", sub.UpdatedAt},
	} {
		if err := checkTime(f.name, f.v); err != nil {
			return err
		}
	}
	if truncTime(sub.UpdatedAt).IsZero() {
		return errors.New("updated_at is not set")
	}
	if p != nil {
		if err := validatePayment(*p); err != nil {
			return fmt.Errorf("payment: %w", err)
		}
	}
	if e != nil {
		if err := validate(*e); err != nil {
			return fmt.Errorf("event: %w", err)
		}
	}
	return nil
}

// validatePayment checks p before anything is written. Messages name the
// field, never its value.
func validatePayment(p activities.PaymentRecord) error {
	for _, f := range []struct{ name, v string }{
		{"payment_id", p.PaymentID},
		{"subscription_id", p.SubscriptionID},
		{"currency", p.Currency},
		{"status", p.Status},
		{"failure_reason", p.FailureReason},
		{"invoice_id", p.InvoiceID},
		{"customer_id", p.CustomerID},
		{"token_id", p.TokenID},
		{"order_id", p.OrderID},
	} {
		if err := checkText(f.name, f.v); err != nil {
			return err
		}
	}
	if p.PaymentID == "" {
		return errors.New("payment_id is empty")
	}
	switch p.Status {
	case activities.PaymentCaptured, activities.PaymentFailed:
	default:
		return errors.New("status is not one of captured, failed")
	}
	if p.Amount < 0 {
		return errors.New("amount is negative")
	}
	for _, f := range []struct {
		name string
		v    time.Time
	}{
		{"created_at", p.CreatedAt},
		{"updated_at", p.UpdatedAt},
	} {
		if err := checkTime(f.name, f.v); err != nil {
			return err
		}
	}
	if truncTime(p.UpdatedAt).IsZero() {
		return errors.New("updated_at is not set")
	}
	return nil
}

// Subscription reads the subscriptions row of id. The error wraps
// ErrNotFound when there is none. Times are in UTC; NULL times read as the
// zero time.
func (s *Store) Subscription(ctx context.Context, id string) (activities.SubscriptionRecord, error) {
	var (
		sub                        activities.SubscriptionRecord
		start, end, grace, updated timeValue
	)
	err := s.db.QueryRowContext(ctx, s.rebind(selectSubscriptionSQL), id).Scan(
		&sub.SubscriptionID, &sub.PlanID, &sub.CustomerID, &sub.Status, &sub.Access,
		&start, &end, &sub.PaidCount, &grace,
		&sub.LastFailurePaymentID, &sub.LastFailureReason, &sub.Revision, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return activities.SubscriptionRecord{}, fmt.Errorf("get subscription: %w", ErrNotFound)
	}
	if err != nil {
		return activities.SubscriptionRecord{}, wrap("get subscription", err)
	}
	sub.CurrentStart, sub.CurrentEnd, sub.GraceUntil, sub.UpdatedAt = start.t, end.t, grace.t, updated.t
	return sub, nil
}

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface {
	Scan(dest ...any) error
}

func scanPayment(r rowScanner) (activities.PaymentRecord, error) {
	var (
		p                activities.PaymentRecord
		subscriptionID   sql.NullString
		created, updated timeValue
	)
	if err := r.Scan(&p.PaymentID, &subscriptionID, &p.Amount, &p.Currency, &p.Status, &p.FailureReason,
		&p.InvoiceID, &p.CustomerID, &p.TokenID, &p.OrderID, &created, &updated); err != nil {
		return activities.PaymentRecord{}, err
	}
	p.SubscriptionID = subscriptionID.String
	p.CreatedAt, p.UpdatedAt = created.t, updated.t
	return p, nil
}

// Payment reads the payments row of id. The error wraps ErrNotFound when
// there is none. A NULL subscription reads as "", NULL times as the zero
// time; times are in UTC.
func (s *Store) Payment(ctx context.Context, id string) (activities.PaymentRecord, error) {
	p, err := scanPayment(s.db.QueryRowContext(ctx, s.rebind(selectPaymentSQL), id))
	if errors.Is(err, sql.ErrNoRows) {
		return activities.PaymentRecord{}, fmt.Errorf("get payment: %w", ErrNotFound)
	}
	if err != nil {
		return activities.PaymentRecord{}, wrap("get payment", err)
	}
	return p, nil
}

// Payments reads the payments of subscriptionID ordered by CreatedAt
// (unknown last), then PaymentID. It returns an empty slice, not an error,
// when there are none.
func (s *Store) Payments(ctx context.Context, subscriptionID string) ([]activities.PaymentRecord, error) {
	rows, err := s.db.QueryContext(ctx, s.rebind(selectPaymentsSQL), subscriptionID)
	if err != nil {
		return nil, wrap("get payments", err)
	}
	defer rows.Close()
	ps := []activities.PaymentRecord{}
	for rows.Next() {
		p, err := scanPayment(rows)
		if err != nil {
			return nil, wrap("get payments", err)
		}
		ps = append(ps, p)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("get payments", err)
	}
	return ps, nil
}

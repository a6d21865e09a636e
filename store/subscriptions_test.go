package store_test

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zentrix/webhooks/activities"
	"github.com/zentrix/webhooks/store"
)

// subRecord is a fully populated active subscription at revision rev.
func subRecord(id string, rev int64) activities.SubscriptionRecord {
	return activities.SubscriptionRecord{
		SubscriptionID:       id,
		PlanID:               "plan_1",
		CustomerID:           "cust_" + id,
		Status:               "active",
		Access:               "granted",
		CurrentStart:         time.Date(2025, 3, 1, 0, 0, 0, 123456789, time.UTC),
		CurrentEnd:           time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC),
		PaidCount:            3,
		GraceUntil:           time.Date(2025, 4, 4, 0, 0, 0, 0, time.UTC),
		LastFailurePaymentID: "pay_failed",
		LastFailureReason:    "card declined",
		Revision:             rev,
		UpdatedAt:            time.Date(2025, 3, 14, 15, 9, 27, 0, time.UTC).Add(time.Duration(rev) * time.Second),
	}
}

// paymentRecord is a fully populated payment of subscriptionID.
func paymentRecord(id, subscriptionID, status string) activities.PaymentRecord {
	p := activities.PaymentRecord{
		PaymentID:      id,
		SubscriptionID: subscriptionID,
		Amount:         99900,
		Currency:       "INR",
		Status:         status,
		InvoiceID:      "inv_" + id,
		CustomerID:     "cust_" + id,
		TokenID:        "token_" + id,
		OrderID:        "order_" + id,
		CreatedAt:      time.Date(2025, 3, 1, 0, 0, 5, 0, time.UTC),
		UpdatedAt:      time.Date(2025, 3, 1, 0, 0, 6, 0, time.UTC),
	}
	if status == activities.PaymentFailed {
		p.FailureReason = "insufficient funds"
	}
	return p
}

func razorpayEvent(key string) *activities.EventRecord {
	e := event(activities.SourceRazorpay, key)
	e.EventType = "subscription.charged"
	return &e
}

func wantSubscription(s activities.SubscriptionRecord) activities.SubscriptionRecord {
	s.CurrentStart = s.CurrentStart.UTC().Truncate(time.Microsecond)
	s.CurrentEnd = s.CurrentEnd.UTC().Truncate(time.Microsecond)
	s.GraceUntil = s.GraceUntil.UTC().Truncate(time.Microsecond)
	s.UpdatedAt = s.UpdatedAt.UTC().Truncate(time.Microsecond)
	return s
}

func wantPayment(p activities.PaymentRecord) activities.PaymentRecord {
	p.CreatedAt = p.CreatedAt.UTC().Truncate(time.Microsecond)
	p.UpdatedAt = p.UpdatedAt.UTC().Truncate(time.Microsecond)
	return p
}

func assertSubscription(t *testing.T, s *store.Store, want activities.SubscriptionRecord) {
	t.Helper()
	got, err := s.Subscription(t.Context(), want.SubscriptionID)
	if err != nil {
		t.Fatalf("Subscription(%s): %v", want.SubscriptionID, err)
	}
	for _, f := range []struct {
		name      string
		got, want time.Time
	}{
		{"CurrentStart", got.CurrentStart, want.CurrentStart},
		{"CurrentEnd", got.CurrentEnd, want.CurrentEnd},
		{"GraceUntil", got.GraceUntil, want.GraceUntil},
		{"UpdatedAt", got.UpdatedAt, want.UpdatedAt},
	} {
		if !sameTime(f.got, f.want) {
			t.Errorf("Subscription(%s).%s = %v, want %v in UTC", want.SubscriptionID, f.name, f.got, f.want)
		}
	}
	got.CurrentStart, got.CurrentEnd, got.GraceUntil, got.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	want.CurrentStart, want.CurrentEnd, want.GraceUntil, want.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if got != want {
		t.Errorf("Subscription(%s) fields:\n got %+v\nwant %+v", want.SubscriptionID, got, want)
	}
}

func assertPaymentRecord(t *testing.T, got, want activities.PaymentRecord) {
	t.Helper()
	if !sameTime(got.CreatedAt, want.CreatedAt) {
		t.Errorf("payment %s CreatedAt = %v, want %v in UTC", want.PaymentID, got.CreatedAt, want.CreatedAt)
	}
	if !sameTime(got.UpdatedAt, want.UpdatedAt) {
		t.Errorf("payment %s UpdatedAt = %v, want %v in UTC", want.PaymentID, got.UpdatedAt, want.UpdatedAt)
	}
	got.CreatedAt, got.UpdatedAt = time.Time{}, time.Time{}
	want.CreatedAt, want.UpdatedAt = time.Time{}, time.Time{}
	if got != want {
		t.Errorf("payment %s fields:\n got %+v\nwant %+v", want.PaymentID, got, want)
	}
}

func assertPayment(t *testing.T, s *store.Store, want activities.PaymentRecord) {
	t.Helper()
	got, err := s.Payment(t.Context(), want.PaymentID)
	if err != nil {
		t.Fatalf("Payment(%s): %v", want.PaymentID, err)
	}
	assertPaymentRecord(t, got, want)
}

func saveSubscription(t *testing.T, s *store.Store, snap activities.SubscriptionSnapshot) {
	t.Helper()
	if err := s.SaveSubscription(t.Context(), snap); err != nil {
		t.Fatalf("SaveSubscription(%s rev %d): %v", snap.Subscription.SubscriptionID, snap.Subscription.Revision, err)
	}
}

func savePayment(t *testing.T, s *store.Store, p activities.PaymentRecord, e *activities.EventRecord) {
	t.Helper()
	if err := s.SavePayment(t.Context(), p, e); err != nil {
		t.Fatalf("SavePayment(%s %s): %v", p.PaymentID, p.Status, err)
	}
}

// subCounts is the number of rows of webhook_events, subscriptions and
// payments.
func subCounts(t *testing.T, d testDB, db *sql.DB) [3]int {
	t.Helper()
	var n [3]int
	for i, table := range []string{"webhook_events", "subscriptions", "payments"} {
		n[i] = queryInt(t, d, db, "SELECT count(*) FROM "+table)
	}
	return n
}

func TestSaveSubscriptionRoundTrip(t *testing.T) {
	t.Parallel()
	ist := time.FixedZone("IST", 5*3600+1800)
	cases := []struct {
		name string
		snap activities.SubscriptionSnapshot
		// the nullable time columns stored as NULL: current_start, current_end, grace_until
		nulls int
	}{
		{"charged, with payment and event", func() activities.SubscriptionSnapshot {
			p := paymentRecord("pay_1", "sub_full", activities.PaymentCaptured)
			return activities.SubscriptionSnapshot{Subscription: subRecord("sub_full", 4), Payment: &p, Event: razorpayEvent("sub_full:4")}
		}(), 0},
		{"created, nothing known yet", func() activities.SubscriptionSnapshot {
			sub := subRecord("sub_new", 1)
			sub.PlanID, sub.CustomerID, sub.Status, sub.Access = "", "", "created", ""
			sub.CurrentStart, sub.CurrentEnd, sub.GraceUntil = time.Time{}, time.Time{}, time.Time{}
			sub.PaidCount, sub.LastFailurePaymentID, sub.LastFailureReason = 0, "", ""
			return activities.SubscriptionSnapshot{Subscription: sub, Event: razorpayEvent("sub_new:1")}
		}(), 3},
		{"unknown Razorpay status, no grace, no event", func() activities.SubscriptionSnapshot {
			sub := subRecord("sub_odd", 2)
			sub.Status, sub.Access, sub.GraceUntil = "some_future_status", "suspended", time.Time{}
			return activities.SubscriptionSnapshot{Subscription: sub}
		}(), 1},
		{"zones, nanoseconds, extreme years, unicode", func() activities.SubscriptionSnapshot {
			sub := subRecord("sub_ünï ?'\";--", 1<<40)
			sub.Access = "revoked"
			sub.CurrentStart = time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC)
			sub.CurrentEnd = time.Date(2025, 1, 2, 3, 4, 5, 999999999, ist)
			sub.GraceUntil = time.Date(2025, 1, 2, 3, 4, 5, 1, ist)
			sub.UpdatedAt = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
			sub.PaidCount = 1 << 50
			sub.LastFailureReason = "नमस्ते — 你好 — 😀"
			p := paymentRecord("pay_ünï", "", activities.PaymentFailed)
			p.CreatedAt = time.Date(2025, 1, 2, 3, 4, 5, 999999999, ist)
			return activities.SubscriptionSnapshot{Subscription: sub, Payment: &p, Event: razorpayEvent("sub_unicode")}
		}(), 0},
	}
	forEachDialect(t, func(t *testing.T, d testDB) {
		s := openStore(t, d.url)
		db := d.raw(t)
		events, payments := 0, 0
		for _, c := range cases {
			saveSubscription(t, s, c.snap)
			assertSubscription(t, s, wantSubscription(c.snap.Subscription))
			if c.snap.Event != nil {
				events++
				got, err := s.Event(t.Context(), c.snap.Event.Source, c.snap.Event.EventKey)
				if err != nil {
					t.Fatalf("%s: Event: %v", c.name, err)
				}
				assertEvent(t, got, wantStored(*c.snap.Event))
			}
			if c.snap.Payment != nil {
				payments++
				want := wantPayment(*c.snap.Payment)
				want.SubscriptionID = c.snap.Subscription.SubscriptionID // defaulted
				assertPayment(t, s, want)
			}
			nulls := queryInt(t, d, db, `SELECT
				(CASE WHEN current_start IS NULL THEN 1 ELSE 0 END) +
				(CASE WHEN current_end IS NULL THEN 1 ELSE 0 END) +
				(CASE WHEN grace_until IS NULL THEN 1 ELSE 0 END)
				FROM subscriptions WHERE subscription_id = ?`, c.snap.Subscription.SubscriptionID)
			if nulls != c.nulls {
				t.Errorf("%s: %d NULL time columns, want %d", c.name, nulls, c.nulls)
			}
		}
		if got, want := subCounts(t, d, db), [3]int{events, len(cases), payments}; got != want {
			t.Errorf("row counts (events, subscriptions, payments) = %v, want %v", got, want)
		}
	})
}

func TestSaveSubscriptionIdempotent(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d testDB) {
		s := openStore(t, d.url)
		db := d.raw(t)
		p := paymentRecord("pay_1", "", activities.PaymentCaptured)
		snap := activities.SubscriptionSnapshot{Subscription: subRecord("sub_1", 3), Payment: &p, Event: razorpayEvent("sub_1:3")}
		saveSubscription(t, s, snap)
		before := subCounts(t, d, db)
		saveSubscription(t, s, snap)
		if after := subCounts(t, d, db); after != before || after != [3]int{1, 1, 1} {
			t.Errorf("row counts (events, subscriptions, payments) = %v after the repeat, %v before, want [1 1 1]", after, before)
		}
		assertSubscription(t, s, wantSubscription(snap.Subscription))
		want := wantPayment(p)
		want.SubscriptionID = "sub_1"
		assertPayment(t, s, want)
		if p.SubscriptionID != "" {
			t.Error("SaveSubscription modified the caller's payment")
		}
	})
}

func TestSaveSubscriptionRevisions(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d testDB) {
		s := openStore(t, d.url)
		db := d.raw(t)
		saveSubscription(t, s, activities.SubscriptionSnapshot{Subscription: subRecord("sub_1", 1), Event: razorpayEvent("e1")})

		// A newer revision replaces every field, times back to unknown included.
		cur := subRecord("sub_1", 5)
		cur.PlanID, cur.CustomerID, cur.Status, cur.Access = "plan_2", "cust_2", "halted", "grace"
		cur.CurrentStart, cur.CurrentEnd = time.Time{}, time.Time{}
		cur.PaidCount, cur.LastFailurePaymentID, cur.LastFailureReason = 7, "pay_x", "expired card"
		saveSubscription(t, s, activities.SubscriptionSnapshot{Subscription: cur, Event: razorpayEvent("e5")})
		assertSubscription(t, s, wantSubscription(cur))

		// A stale one leaves the row but writes its event and its payment.
		old := subRecord("sub_1", 3)
		old.Status, old.Access = "active", "granted"
		p := paymentRecord("pay_old", "", activities.PaymentCaptured)
		stale := activities.SubscriptionSnapshot{Subscription: old, Payment: &p, Event: razorpayEvent("e3")}
		saveSubscription(t, s, stale)
		saveSubscription(t, s, activities.SubscriptionSnapshot{Subscription: old}) // stale and without an event

		assertSubscription(t, s, wantSubscription(cur))
		got, err := s.Event(t.Context(), activities.SourceRazorpay, "e3")
		if err != nil {
			t.Fatalf("the stale snapshot's event was not recorded: %v", err)
		}
		assertEvent(t, got, wantStored(*stale.Event))
		want := wantPayment(p)
		want.SubscriptionID = "sub_1"
		assertPayment(t, s, want)
		if got := subCounts(t, d, db); got != [3]int{3, 1, 1} {
			t.Errorf("row counts (events, subscriptions, payments) = %v, want [3 1 1]", got)
		}
	})
}

func TestSaveSubscriptionWithoutEvent(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d testDB) {
		s := openStore(t, d.url)
		sub := subRecord("sub_1", 2)
		sub.Access = "suspended" // the grace period expired: the workflow's own change
		saveSubscription(t, s, activities.SubscriptionSnapshot{Subscription: sub})
		assertSubscription(t, s, wantSubscription(sub))
		if n := count(t, s); n != 0 {
			t.Errorf("EventCount = %d, want 0", n)
		}
	})
}

func TestSavePaymentMerge(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	// bare is what a payment event may carry at least.
	bare := func(id, status string, updated int) activities.PaymentRecord {
		return activities.PaymentRecord{PaymentID: id, Status: status, UpdatedAt: at(updated)}
	}
	full := func(id, status string, updated int) activities.PaymentRecord {
		p := paymentRecord(id, "sub_1", status)
		p.CreatedAt, p.UpdatedAt = at(0), at(updated)
		return p
	}
	cases := []struct {
		name   string
		writes []activities.PaymentRecord
		want   activities.PaymentRecord
	}{
		{"failed then captured: captured, the failure's reason kept",
			[]activities.PaymentRecord{full("p1", "failed", 1), full("p1", "captured", 2)},
			func() activities.PaymentRecord {
				p := full("p1", "captured", 2)
				p.FailureReason = "insufficient funds"
				return p
			}()},
		{"captured then failed: stays captured, the failure's reason kept",
			[]activities.PaymentRecord{full("p2", "captured", 1), func() activities.PaymentRecord {
				p := full("p2", "failed", 2)
				p.FailureReason = "late: bank reversed"
				return p
			}()},
			func() activities.PaymentRecord {
				p := full("p2", "captured", 2)
				p.FailureReason = "late: bank reversed"
				return p
			}()},
		{"failed twice: failed, the latest reason",
			[]activities.PaymentRecord{full("p3", "failed", 1), func() activities.PaymentRecord {
				p := full("p3", "failed", 2)
				p.FailureReason = "retry declined"
				return p
			}()},
			func() activities.PaymentRecord {
				p := full("p3", "failed", 2)
				p.FailureReason = "retry declined"
				return p
			}()},
		{"subscription filled in later, nothing else lost",
			[]activities.PaymentRecord{
				func() activities.PaymentRecord { p := full("p4", "failed", 1); p.SubscriptionID = ""; return p }(),
				func() activities.PaymentRecord { p := bare("p4", "failed", 2); p.SubscriptionID = "sub_late"; return p }(),
			},
			func() activities.PaymentRecord { p := full("p4", "failed", 2); p.SubscriptionID = "sub_late"; return p }()},
		{"empty fields never erase known ones",
			[]activities.PaymentRecord{full("p5", "captured", 1), bare("p5", "captured", 2)},
			full("p5", "captured", 2)},
		{"a bare write first, then the details",
			[]activities.PaymentRecord{bare("p6", "failed", 1), full("p6", "failed", 2)},
			full("p6", "failed", 2)},
		{"the first created_at is kept; new non-empty fields win",
			[]activities.PaymentRecord{full("p7", "captured", 1), func() activities.PaymentRecord {
				p := full("p7", "captured", 2)
				p.CreatedAt = at(100)
				p.SubscriptionID, p.InvoiceID, p.CustomerID, p.TokenID, p.OrderID = "sub_2", "inv_2", "cust_2", "tok_2", "ord_2"
				p.Amount, p.Currency = 150000, "USD"
				return p
			}()},
			func() activities.PaymentRecord {
				p := full("p7", "captured", 2)
				p.SubscriptionID, p.InvoiceID, p.CustomerID, p.TokenID, p.OrderID = "sub_2", "inv_2", "cust_2", "tok_2", "ord_2"
				p.Amount, p.Currency = 150000, "USD"
				return p
			}()},
		{"created_at learnt late",
			[]activities.PaymentRecord{bare("p8", "captured", 1), func() activities.PaymentRecord {
				p := bare("p8", "captured", 2)
				p.CreatedAt = at(-5)
				return p
			}()},
			func() activities.PaymentRecord { p := bare("p8", "captured", 2); p.CreatedAt = at(-5); return p }()},
		{"large amount exact",
			[]activities.PaymentRecord{func() activities.PaymentRecord {
				p := full("p9", "captured", 1)
				p.Amount = 9_000_000_000
				return p
			}(), func() activities.PaymentRecord {
				p := full("p9", "captured", 2)
				p.Amount = 0
				return p
			}()},
			func() activities.PaymentRecord { p := full("p9", "captured", 2); p.Amount = 9_000_000_000; return p }()},
		{"zero amount, unknown everything",
			[]activities.PaymentRecord{bare("p10", "failed", 1)},
			bare("p10", "failed", 1)},
	}
	forEachDialect(t, func(t *testing.T, d testDB) {
		s := openStore(t, d.url)
		db := d.raw(t)
		for _, c := range cases {
			for _, w := range c.writes {
				savePayment(t, s, w, nil)
			}
			got, err := s.Payment(t.Context(), c.want.PaymentID)
			if err != nil {
				t.Fatalf("%s: Payment: %v", c.name, err)
			}
			t.Run(c.name, func(t *testing.T) { assertPaymentRecord(t, got, wantPayment(c.want)) })
			nulls := queryInt(t, d, db, `SELECT count(*) FROM payments WHERE payment_id = ? AND subscription_id IS NULL`, c.want.PaymentID)
			if want := map[bool]int{true: 1, false: 0}[c.want.SubscriptionID == ""]; nulls != want {
				t.Errorf("%s: %d rows with a NULL subscription_id, want %d", c.name, nulls, want)
			}
		}
		if got := subCounts(t, d, db); got != [3]int{0, 0, len(cases)} {
			t.Errorf("row counts (events, subscriptions, payments) = %v, want [0 0 %d]", got, len(cases))
		}
		if n := queryInt(t, d, db, `SELECT count(*) FROM payments WHERE subscription_id = ''`); n != 0 {
			t.Errorf("%d payments have subscription_id '', want NULL", n)
		}
	})
}

func TestSavePaymentEvent(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d testDB) {
		s := openStore(t, d.url)
		db := d.raw(t)
		p := paymentRecord("pay_1", "", activities.PaymentFailed)
		e := razorpayEvent("pay_1:payment.failed")
		savePayment(t, s, p, e)
		savePayment(t, s, p, e) // the same event again
		got, err := s.Event(t.Context(), e.Source, e.EventKey)
		if err != nil {
			t.Fatalf("Event: %v", err)
		}
		assertEvent(t, got, wantStored(*e))
		assertPayment(t, s, wantPayment(p))
		if got := subCounts(t, d, db); got != [3]int{1, 0, 1} {
			t.Errorf("row counts (events, subscriptions, payments) = %v, want [1 0 1]", got)
		}
	})
}

func TestPayments(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d testDB) {
		s := openStore(t, d.url)
		mk := func(id, sub string, created time.Time) activities.PaymentRecord {
			p := paymentRecord(id, sub, activities.PaymentCaptured)
			p.CreatedAt = created
			return p
		}
		t1 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		ps := []activities.PaymentRecord{
			mk("pay_c", "sub_1", t1.Add(time.Hour)),
			mk("pay_unknown", "sub_1", time.Time{}),
			mk("pay_b", "sub_1", t1),
			mk("pay_a", "sub_1", t1),
			mk("pay_early", "sub_1", time.Date(999, 1, 1, 0, 0, 0, 0, time.UTC)),
			mk("pay_other", "sub_2", t1),
			mk("pay_orphan", "", t1),
		}
		for _, p := range ps {
			savePayment(t, s, p, nil)
		}
		got, err := s.Payments(t.Context(), "sub_1")
		if err != nil {
			t.Fatalf("Payments: %v", err)
		}
		var ids []string
		for _, p := range got {
			ids = append(ids, p.PaymentID)
		}
		if want := "pay_early pay_a pay_b pay_c pay_unknown"; strings.Join(ids, " ") != want {
			t.Errorf("Payments(sub_1) = %v, want %s", ids, want)
		}
		for _, p := range got {
			for _, w := range ps {
				if w.PaymentID == p.PaymentID {
					assertPaymentRecord(t, p, wantPayment(w))
				}
			}
		}
		for _, id := range []string{"sub_none", ""} {
			got, err := s.Payments(t.Context(), id)
			if err != nil || got == nil || len(got) != 0 {
				t.Errorf("Payments(%q) = %v, %v, want an empty non-nil slice", id, got, err)
			}
		}
	})
}

func TestSubscriptionPaymentNotFound(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d testDB) {
		s := openStore(t, d.url)
		p := paymentRecord("pay_present", "sub_present", activities.PaymentCaptured)
		saveSubscription(t, s, activities.SubscriptionSnapshot{Subscription: subRecord("sub_present", 1), Payment: &p})
		_, err := s.Subscription(t.Context(), "sub_absent")
		if !errors.Is(err, store.ErrNotFound) || errors.Is(err, activities.ErrRejected) {
			t.Errorf("Subscription(absent) error = %v, want ErrNotFound, not rejected", err)
		}
		_, err = s.Payment(t.Context(), "pay_absent")
		if !errors.Is(err, store.ErrNotFound) || errors.Is(err, activities.ErrRejected) {
			t.Errorf("Payment(absent) error = %v, want ErrNotFound, not rejected", err)
		}
	})
}

func TestFindSubscription(t *testing.T) {
	t.Parallel()
	pay := func(id, sub, invoice, token, customer string) activities.PaymentRecord {
		return activities.PaymentRecord{
			PaymentID: id, SubscriptionID: sub, Amount: 100, Currency: "INR", Status: activities.PaymentCaptured,
			InvoiceID: invoice, TokenID: token, CustomerID: customer,
			UpdatedAt: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC),
		}
	}
	payments := []activities.PaymentRecord{
		pay("pa1", "sub_A", "inv_A1", "tok_A", "cust_A"),
		pay("pa2", "sub_A", "inv_A2", "tok_A", "cust_A"),
		// Token shared by two subscriptions (the same card mandate reused).
		pay("pb1", "sub_B", "inv_B1", "tok_shared", "cust_B"),
		pay("pc1", "sub_C", "inv_C1", "tok_shared", "cust_C"),
		// An invoice named by payments of two subscriptions.
		pay("pd1", "sub_D", "inv_dup", "tok_D", "cust_multi"),
		pay("pb2", "sub_B", "inv_dup", "tok_shared", "cust_B"),
		// Payments whose subscription is unknown are ignored…
		pay("po1", "", "inv_A1", "tok_A", "cust_A"),
		pay("po2", "", "inv_O", "tok_O", "cust_O"),
		// …until it is learnt.
		pay("pl1", "", "inv_L", "tok_L", "cust_L"),
	}
	customerOf := func(id, customer string) activities.SubscriptionRecord {
		s := subRecord(id, 1)
		s.CustomerID = customer
		return s
	}
	subs := []activities.SubscriptionRecord{
		subRecord("sub_A", 1), // customer cust_sub_A: none of its payments'
		customerOf("sub_A2", "cust_A"),
		customerOf("sub_E", "cust_multi"),
		customerOf("sub_F", "cust_F"),
		customerOf("sub_G", "cust_G"),
	}
	// cust_G: one subscription row and a payment naming the same subscription.
	payments = append(payments, pay("pg1", "sub_G", "inv_G", "tok_G", "cust_G"))

	type h = activities.PaymentHints
	cases := []struct {
		name  string
		hints activities.PaymentHints
		want  string
	}{
		{"by invoice", h{InvoiceID: "inv_A1"}, "sub_A"},
		{"the invoice decides before token and customer", h{InvoiceID: "inv_C1", TokenID: "tok_A", CustomerID: "cust_F"}, "sub_C"},
		{"by token when the invoice is new", h{InvoiceID: "inv_new", TokenID: "tok_A", CustomerID: "cust_F"}, "sub_A"},
		{"by token alone", h{TokenID: "tok_D"}, "sub_D"},
		{"by customer when only the customer is known", h{CustomerID: "cust_B"}, "sub_B"},
		{"by customer from a subscriptions row", h{InvoiceID: "inv_new", TokenID: "tok_new", CustomerID: "cust_F"}, "sub_F"},
		{"customer in payments and subscriptions, one subscription", h{CustomerID: "cust_G"}, "sub_G"},
		{"customer in payments and subscriptions, two subscriptions", h{CustomerID: "cust_A"}, ""},
		{"ambiguous invoice falls through to the token", h{InvoiceID: "inv_dup", TokenID: "tok_D"}, "sub_D"},
		{"ambiguous token falls through to the customer", h{InvoiceID: "inv_new", TokenID: "tok_shared", CustomerID: "cust_C"}, "sub_C"},
		{"ambiguous token, no customer", h{TokenID: "tok_shared"}, ""},
		{"everything ambiguous", h{InvoiceID: "inv_dup", TokenID: "tok_shared", CustomerID: "cust_multi"}, ""},
		{"nothing known", h{InvoiceID: "inv_x", TokenID: "tok_x", CustomerID: "cust_x"}, ""},
		{"no hints", h{}, ""},
		{"payments without a subscription are ignored", h{InvoiceID: "inv_O", TokenID: "tok_O", CustomerID: "cust_O"}, ""},
		{"unstorable hints are skipped", h{InvoiceID: "inv_A1\x00", TokenID: "\xff", CustomerID: "cust_B"}, "sub_B"},
	}
	forEachDialect(t, func(t *testing.T, d testDB) {
		s := openStore(t, d.url)
		for _, sub := range subs {
			saveSubscription(t, s, activities.SubscriptionSnapshot{Subscription: sub})
		}
		for _, p := range payments {
			savePayment(t, s, p, nil)
		}
		find := func(hints activities.PaymentHints) string {
			t.Helper()
			got, err := s.FindSubscription(t.Context(), hints)
			if err != nil {
				t.Fatalf("FindSubscription(%q): %v", hints, err)
			}
			return got
		}
		for _, c := range cases {
			if got := find(c.hints); got != c.want {
				t.Errorf("%s: FindSubscription(%q) = %q, want %q", c.name, c.hints, got, c.want)
			}
		}
		learnt := h{InvoiceID: "inv_L"}
		if got := find(learnt); got != "" {
			t.Errorf("before the subscription is learnt: %q, want \"\"", got)
		}
		savePayment(t, s, activities.PaymentRecord{PaymentID: "pl1", SubscriptionID: "sub_L", Status: "failed", UpdatedAt: time.Now()}, nil)
		if got := find(learnt); got != "sub_L" {
			t.Errorf("after the subscription is learnt: %q, want sub_L", got)
		}
	})
}

func TestSavePaymentRejected(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-value"
	mod := func(f func(*activities.PaymentRecord)) activities.PaymentRecord {
		p := paymentRecord("pay_bad", "sub_1", activities.PaymentFailed)
		f(&p)
		return p
	}
	cases := []struct {
		name  string
		p     activities.PaymentRecord
		event *activities.EventRecord
	}{
		{"empty payment id", mod(func(p *activities.PaymentRecord) { p.PaymentID = "" }), nil},
		{"bad status", mod(func(p *activities.PaymentRecord) { p.Status = secret }), nil},
		{"empty status", mod(func(p *activities.PaymentRecord) { p.Status = "" }), nil},
		{"status wrong case", mod(func(p *activities.PaymentRecord) { p.Status = "Captured" }), nil},
		{"negative amount", mod(func(p *activities.PaymentRecord) { p.Amount = -1 }), nil},
		{"NUL in failure reason", mod(func(p *activities.PaymentRecord) { p.FailureReason = secret + "\x00" }), nil},
		{"NUL in subscription id", mod(func(p *activities.PaymentRecord) { p.SubscriptionID = secret + "\x00" }), nil},
		{"invalid UTF-8 in token", mod(func(p *activities.PaymentRecord) { p.TokenID = secret + "\xff" }), nil},
		{"invalid UTF-8 in currency", mod(func(p *activities.PaymentRecord) { p.Currency = "\xfe" }), nil},
		{"created_at year 10000", mod(func(p *activities.PaymentRecord) {
			p.CreatedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
		}), nil},
		{"updated_at year 0", mod(func(p *activities.PaymentRecord) {
			p.UpdatedAt = time.Date(0, 12, 31, 0, 0, 0, 0, time.UTC)
		}), nil},
		{"zero updated_at", mod(func(p *activities.PaymentRecord) { p.UpdatedAt = time.Time{} }), nil},
		{"NUL in event key", mod(func(*activities.PaymentRecord) {}), func() *activities.EventRecord {
			e := razorpayEvent(secret + "\x00")
			return e
		}()},
		// Refused by the database: the transaction rolls back.
		{"db: unknown event source", mod(func(*activities.PaymentRecord) {}), func() *activities.EventRecord {
			e := razorpayEvent("k")
			e.Source = "stripe"
			return e
		}()},
	}
	forEachDialect(t, func(t *testing.T, d testDB) {
		s := openStore(t, d.url)
		db := d.raw(t)
		keep := paymentRecord("pay_keep", "sub_1", activities.PaymentCaptured)
		savePayment(t, s, keep, nil)
		for _, c := range cases {
			err := s.SavePayment(t.Context(), c.p, c.event)
			if err == nil {
				t.Errorf("%s: SavePayment succeeded, want an error", c.name)
				continue
			}
			if !errors.Is(err, activities.ErrRejected) {
				t.Errorf("%s: error %v does not wrap ErrRejected", c.name, err)
			}
			if !strings.HasPrefix(err.Error(), "save payment: ") {
				t.Errorf("%s: error %q lacks the save payment context", c.name, err)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%s: error %q quotes the value", c.name, err)
			}
			if got := subCounts(t, d, db); got != [3]int{0, 0, 1} {
				t.Errorf("%s: row counts (events, subscriptions, payments) = %v, want [0 0 1]", c.name, got)
			}
		}
		assertPayment(t, s, wantPayment(keep))
		good := mod(func(*activities.PaymentRecord) {})
		savePayment(t, s, good, razorpayEvent("good"))
		assertPayment(t, s, wantPayment(good))
	})
}

func TestSaveSubscriptionRejected(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-value"
	mod := func(f func(*activities.SubscriptionSnapshot)) activities.SubscriptionSnapshot {
		p := paymentRecord("pay_bad", "", activities.PaymentCaptured)
		snap := activities.SubscriptionSnapshot{Subscription: subRecord("sub_bad", 1), Payment: &p, Event: razorpayEvent("bad:1")}
		f(&snap)
		return snap
	}
	cases := []struct {
		name string
		snap activities.SubscriptionSnapshot
	}{
		{"empty subscription id", mod(func(s *activities.SubscriptionSnapshot) { s.Subscription.SubscriptionID = "" })},
		{"empty status", mod(func(s *activities.SubscriptionSnapshot) { s.Subscription.Status = "" })},
		{"bad access", mod(func(s *activities.SubscriptionSnapshot) { s.Subscription.Access = secret })},
		{"access wrong case", mod(func(s *activities.SubscriptionSnapshot) { s.Subscription.Access = "Granted" })},
		{"revision 0", mod(func(s *activities.SubscriptionSnapshot) { s.Subscription.Revision = 0 })},
		{"negative revision", mod(func(s *activities.SubscriptionSnapshot) { s.Subscription.Revision = -1 })},
		{"negative paid count", mod(func(s *activities.SubscriptionSnapshot) { s.Subscription.PaidCount = -1 })},
		{"NUL in plan id", mod(func(s *activities.SubscriptionSnapshot) { s.Subscription.PlanID = secret + "\x00" })},
		{"invalid UTF-8 in failure reason", mod(func(s *activities.SubscriptionSnapshot) {
			s.Subscription.LastFailureReason = secret + "\xff"
		})},
		{"grace_until year 10000", mod(func(s *activities.SubscriptionSnapshot) {
			s.Subscription.GraceUntil = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
		})},
		{"zero updated_at", mod(func(s *activities.SubscriptionSnapshot) { s.Subscription.UpdatedAt = time.Time{} })},
		{"payment: bad status", mod(func(s *activities.SubscriptionSnapshot) { s.Payment.Status = secret })},
		{"payment: negative amount", mod(func(s *activities.SubscriptionSnapshot) { s.Payment.Amount = -99900 })},
		{"payment: empty payment id", mod(func(s *activities.SubscriptionSnapshot) { s.Payment.PaymentID = "" })},
		{"payment: NUL in order id", mod(func(s *activities.SubscriptionSnapshot) { s.Payment.OrderID = secret + "\x00" })},
		{"event: NUL in key", mod(func(s *activities.SubscriptionSnapshot) { s.Event.EventKey = secret + "\x00" })},
		// Refused by the database: the transaction rolls back.
		{"db: unknown event source", mod(func(s *activities.SubscriptionSnapshot) { s.Event.Source = "stripe" })},
		{"db: bad event digest", mod(func(s *activities.SubscriptionSnapshot) { s.Event.PayloadSHA256 = secret })},
	}
	forEachDialect(t, func(t *testing.T, d testDB) {
		s := openStore(t, d.url)
		db := d.raw(t)
		keep := subRecord("sub_bad", 1)
		keep.Status = "authenticated"
		saveSubscription(t, s, activities.SubscriptionSnapshot{Subscription: keep})
		for _, c := range cases {
			err := s.SaveSubscription(t.Context(), c.snap)
			if err == nil {
				t.Errorf("%s: SaveSubscription succeeded, want an error", c.name)
				continue
			}
			if !errors.Is(err, activities.ErrRejected) {
				t.Errorf("%s: error %v does not wrap ErrRejected", c.name, err)
			}
			if !strings.HasPrefix(err.Error(), "save subscription: ") {
				t.Errorf("%s: error %q lacks the save subscription context", c.name, err)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%s: error %q quotes the value", c.name, err)
			}
			if got := subCounts(t, d, db); got != [3]int{0, 1, 0} {
				t.Errorf("%s: row counts (events, subscriptions, payments) = %v, want [0 1 0]", c.name, got)
			}
		}
		assertSubscription(t, s, wantSubscription(keep))
		good := mod(func(*activities.SubscriptionSnapshot) {})
		saveSubscription(t, s, good)
		assertSubscription(t, s, wantSubscription(good.Subscription))
	})
}

func TestSaveSubscriptionConcurrent(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d testDB) {
		s := openStore(t, d.url)
		db := d.raw(t)
		const (
			revisions = 8
			rounds    = 4
		)
		for round := range rounds {
			id := fmt.Sprintf("sub_race_%d", round)
			payID := fmt.Sprintf("pay_race_%d", round)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for rev := 1; rev <= revisions; rev++ {
				sub := subRecord(id, int64(rev))
				sub.PaidCount = int64(rev)
				// Every revision carries the same charge; odd ones report it failed.
				p := paymentRecord(payID, "", activities.PaymentCaptured)
				if rev%2 == 1 {
					p = paymentRecord(payID, "", activities.PaymentFailed)
				}
				snap := activities.SubscriptionSnapshot{Subscription: sub, Payment: &p, Event: razorpayEvent(fmt.Sprintf("%s:%d", id, rev))}
				wg.Go(func() {
					<-start
					if err := s.SaveSubscription(t.Context(), snap); err != nil {
						t.Errorf("%s rev %d: SaveSubscription: %v", id, rev, err)
					}
				})
				// And concurrent bare payment writes of the same charge.
				wg.Go(func() {
					<-start
					bare := activities.PaymentRecord{PaymentID: payID, Status: activities.PaymentFailed, UpdatedAt: time.Now()}
					if err := s.SavePayment(t.Context(), bare, nil); err != nil {
						t.Errorf("%s rev %d: SavePayment: %v", id, rev, err)
					}
				})
			}
			close(start)
			wg.Wait()
			want := subRecord(id, revisions)
			want.PaidCount = revisions
			assertSubscription(t, s, wantSubscription(want))
			got, err := s.Payment(t.Context(), payID)
			if err != nil {
				t.Fatalf("Payment: %v", err)
			}
			if got.Status != activities.PaymentCaptured || got.SubscriptionID != id || got.Amount != 99900 ||
				got.FailureReason != "insufficient funds" {
				t.Errorf("%s: payment after the race = %+v, want captured of %s, 99900, with the failure's reason", id, got, id)
			}
		}
		if got, want := subCounts(t, d, db), [3]int{rounds * revisions, rounds, rounds}; got != want {
			t.Errorf("row counts (events, subscriptions, payments) = %v, want %v", got, want)
		}
	})
}

package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/zentrix/webhooks/event"
	"github.com/zentrix/webhooks/razorpay"
)

// ErrTypeRazorpayRejected is the application error type of a Razorpay API
// call answered with a 4xx (bad credentials, unknown invoice): retrying
// cannot help, so it fails at once and shows in the Web UI.
const ErrTypeRazorpayRejected = "RazorpayRejected"

// Invoices finds invoices through Razorpay's API; *razorpay.Client satisfies it.
type Invoices interface {
	Configured() bool
	Invoice(ctx context.Context, id string) (razorpay.Invoice, error)
}

// Notifier hands a failed payment to its subscription's workflow, starting it
// if needed. The worker implements it with the Temporal client.
type Notifier interface {
	NotifyPaymentFailure(ctx context.Context, subscriptionID string, f PaymentFailure) error
}

// PaymentFailure is a payment.failed event on its way from the payment's
// workflow to its subscription's.
type PaymentFailure struct {
	Key           string // the delivery's x-razorpay-event-id
	OccurredAt    time.Time
	ReceivedAt    time.Time
	PayloadSHA256 string
	Payment       event.Payment
}

// SaveSubscription writes a subscription's snapshot at once: the event's
// row, the subscriptions row and the charge it carried.
func (a *Activities) SaveSubscription(ctx context.Context, snap SubscriptionSnapshot) error {
	if err := a.Store.SaveSubscription(ctx, snap); err != nil {
		return storeError("save subscription "+snap.Subscription.SubscriptionID, err)
	}
	return nil
}

// SavePaymentInput is a payments row and, optionally, the event that brought it.
type SavePaymentInput struct {
	Payment PaymentRecord
	Event   *EventRecord
}

// SavePayment writes a payments row (and its event's row) at once.
func (a *Activities) SavePayment(ctx context.Context, in SavePaymentInput) error {
	if err := a.Store.SavePayment(ctx, in.Payment, in.Event); err != nil {
		return storeError("save payment "+in.Payment.PaymentID, err)
	}
	return nil
}

// FindSubscription names a payment's subscription from what the store knows,
// or "".
func (a *Activities) FindSubscription(ctx context.Context, hints PaymentHints) (string, error) {
	id, err := a.Store.FindSubscription(ctx, hints)
	if err != nil {
		return "", storeError("find subscription", err)
	}
	return id, nil
}

// InvoiceLookup is what Razorpay's invoices API said of an invoice.
type InvoiceLookup struct {
	// Configured is false when no API credentials are set: nothing was asked.
	Configured     bool
	SubscriptionID string
}

// LookupInvoice asks Razorpay's API which subscription an invoice belongs to.
// A 5xx, a 429 or a timeout is retried; any other 4xx is non-retryable.
func (a *Activities) LookupInvoice(ctx context.Context, invoiceID string) (InvoiceLookup, error) {
	if a.Razorpay == nil || !a.Razorpay.Configured() {
		return InvoiceLookup{}, nil
	}
	inv, err := a.Razorpay.Invoice(ctx, invoiceID)
	var apiErr *razorpay.APIError
	switch {
	case err == nil:
		return InvoiceLookup{Configured: true, SubscriptionID: inv.SubscriptionID}, nil
	case errors.As(err, &apiErr) && !apiErr.Temporary():
		return InvoiceLookup{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("look up invoice %s: %v", invoiceID, err), ErrTypeRazorpayRejected, err)
	default:
		return InvoiceLookup{}, fmt.Errorf("look up invoice %s: %w", invoiceID, err)
	}
}

// NotifyInput names a subscription and the failure to hand it.
type NotifyInput struct {
	SubscriptionID string
	Failure        PaymentFailure
}

// NotifySubscription hands a failed payment to its subscription's workflow.
// The subscription drops a failure it has seen, so a retry is harmless.
func (a *Activities) NotifySubscription(ctx context.Context, in NotifyInput) error {
	if err := a.Notifier.NotifyPaymentFailure(ctx, in.SubscriptionID, in.Failure); err != nil {
		return fmt.Errorf("hand payment %s to subscription %s: %w", in.Failure.Payment.ID, in.SubscriptionID, err)
	}
	return nil
}

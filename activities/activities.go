// Package activities holds the workflows' side effects: every write to the
// system of record goes through here, retried by Temporal until it lands. The
// database sits behind the Store interface (implemented by package store), so
// this package stays free of drivers and the workflows can name its methods.
package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
)

// ErrTypeRejected is the application error type of a write the database
// refused for its data. It is non-retryable: the workflow sees it at once and
// the Web UI shows it with its message.
const ErrTypeRejected = "StoreRejected"

// Activities carries the dependencies of the side effects. Register one value
// with the worker; workflows call its methods through a nil *Activities.
type Activities struct {
	Store    Store
	Razorpay Invoices // optional: without it failed payments resolve from the store only
	Notifier Notifier
}

// RecordEvent writes the webhook_events row of an accepted event. Running it
// again for the same event changes nothing.
func (a *Activities) RecordEvent(ctx context.Context, rec EventRecord) error {
	inserted, err := a.Store.RecordEvent(ctx, rec)
	if err != nil {
		return storeError(fmt.Sprintf("record event %s/%s", rec.Source, rec.EventKey), err)
	}
	if !inserted {
		activity.GetLogger(ctx).Debug("event already recorded", "workflow_id", rec.WorkflowID, "event_key", rec.EventKey)
	}
	return nil
}

// storeError turns a store failure into what Temporal should do with it: a
// rejected write fails for good, anything else (the database down, a timeout)
// is retried with backoff.
func storeError(what string, err error) error {
	if errors.Is(err, ErrRejected) {
		return temporal.NewNonRetryableApplicationError(what+": "+err.Error(), ErrTypeRejected, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// SaveCall writes a call's snapshot at once: the event's webhook_events row,
// the calls row and the call's transfers. Running it again, or running an
// older snapshot after a newer one, changes nothing.
func (a *Activities) SaveCall(ctx context.Context, snap CallSnapshot) error {
	if err := a.Store.SaveCall(ctx, snap); err != nil {
		return storeError("save call "+snap.Call.CallID, err)
	}
	return nil
}

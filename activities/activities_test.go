package activities_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	sdktemporal "go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/zentrix/webhooks/activities"
	"github.com/zentrix/webhooks/razorpay"
)

// LookupInvoice against Razorpay's API behind an httptest server: what is
// retried and what is not.
func TestLookupInvoice(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		handler   http.HandlerFunc
		want      string
		retryable bool // the error, if any, is retried by Temporal
		wantErr   bool
	}{
		{name: "200", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"id":"inv_Oa1b6W5v4U3t2S","entity":"invoice","subscription_id":"sub_Nq4xR2sT9uVwXy","status":"issued","notes":[]}`))
		}, want: "sub_Nq4xR2sT9uVwXy"},
		{name: "404", handler: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(404)
			w.Write([]byte(`{"error":{"code":"BAD_REQUEST_ERROR","description":"The id provided does not exist"}}`))
		}, wantErr: true},
		{name: "401", handler: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(401)
			w.Write([]byte(`{"error":{"code":"BAD_REQUEST_ERROR","description":"Authentication failed"}}`))
		}, wantErr: true},
		{name: "500", handler: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(500)
		}, wantErr: true, retryable: true},
		{name: "slow", handler: func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, wantErr: true, retryable: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(tc.handler)
			t.Cleanup(srv.Close)
			var s testsuite.WorkflowTestSuite
			env := s.NewTestActivityEnvironment()
			env.SetTestTimeout(10 * time.Second)
			env.RegisterActivity(&activities.Activities{Razorpay: &razorpay.Client{
				BaseURL: srv.URL, KeyID: "rzp_test_key", KeySecret: "rzp_test_secret",
				HTTP: &http.Client{Timeout: 300 * time.Millisecond},
			}})
			v, err := env.ExecuteActivity("LookupInvoice", "inv_Oa1b6W5v4U3t2S")
			if !tc.wantErr {
				var got activities.InvoiceLookup
				if err != nil || v.Get(&got) != nil || got.SubscriptionID != tc.want || !got.Configured {
					t.Fatalf("got %+v, %v", got, err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			var appErr *sdktemporal.ApplicationError
			if !errors.As(err, &appErr) {
				t.Fatalf("error %T %v", err, err)
			}
			if appErr.NonRetryable() == tc.retryable {
				t.Errorf("non-retryable = %v for %v", appErr.NonRetryable(), err)
			}
			if !tc.retryable && appErr.Type() != activities.ErrTypeRazorpayRejected {
				t.Errorf("type %s", appErr.Type())
			}
		})
	}
}

func TestLookupInvoiceWithoutCredentialsAsksNothing(t *testing.T) {
	t.Parallel()
	requests := 0
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { requests++ }))
	t.Cleanup(srv.Close)
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(&activities.Activities{Razorpay: &razorpay.Client{BaseURL: srv.URL}})
	v, err := env.ExecuteActivity("LookupInvoice", "inv_1")
	var got activities.InvoiceLookup
	if err != nil || v.Get(&got) != nil || got.Configured || got.SubscriptionID != "" || requests != 0 {
		t.Errorf("got %+v, %v, %d requests", got, err, requests)
	}
}

// A store error caused by the data is non-retryable; any other is retried.
func TestStoreErrorsAreClassified(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err       error
		retryable bool
	}{
		{errors.Join(activities.ErrRejected, errors.New("value too long")), false},
		{context.DeadlineExceeded, true},
		{errors.New("connection refused"), true},
	} {
		var s testsuite.WorkflowTestSuite
		env := s.NewTestActivityEnvironment()
		env.RegisterActivity(&activities.Activities{Store: failingStore{tc.err}})
		_, err := env.ExecuteActivity("RecordEvent", activities.EventRecord{Source: "calls", EventKey: "k"})
		var appErr *sdktemporal.ApplicationError
		if !errors.As(err, &appErr) || appErr.NonRetryable() == tc.retryable {
			t.Errorf("%v: got %v", tc.err, err)
		}
	}
}

type failingStore struct{ err error }

func (f failingStore) RecordEvent(context.Context, activities.EventRecord) (bool, error) {
	return false, f.err
}
func (f failingStore) SaveCall(context.Context, activities.CallSnapshot) error { return f.err }
func (f failingStore) SaveSubscription(context.Context, activities.SubscriptionSnapshot) error {
	return f.err
}
func (f failingStore) SavePayment(context.Context, activities.PaymentRecord, *activities.EventRecord) error {
	return f.err
}
func (f failingStore) FindSubscription(context.Context, activities.PaymentHints) (string, error) {
	return "", f.err
}

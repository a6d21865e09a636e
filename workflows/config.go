package workflows

import (
	"errors"
	"time"
)

// Config holds the durations that shape the workflows' lives. The worker reads
// it from the environment and registers the workflows of one Config; a change
// applies to timers started after it.
type Config struct {
	// CallMaxDuration is how long a call may go without call.ended before it
	// is declared abandoned, counted from its first event.
	CallMaxDuration time.Duration `env:"CALL_MAX_DURATION, default=4h"`
	// CallLinger is how long a CallWorkflow stays open after the call ended,
	// so that late redeliveries and late transfers land in the same run.
	CallLinger time.Duration `env:"CALL_LINGER, default=25h"`
	// GracePeriod is how long a subscription keeps access beyond Razorpay's
	// own retries of a failed charge: access is suspended GracePeriod after
	// subscription.halted (retries exhausted), and at the latest
	// RazorpayRetryWindow + GracePeriod after the first failure.
	GracePeriod time.Duration `env:"SUBSCRIPTION_GRACE_PERIOD, default=72h"`
	// SubscriptionLinger is how long a SubscriptionWorkflow stays open after
	// a terminal status.
	SubscriptionLinger time.Duration `env:"SUBSCRIPTION_LINGER, default=25h"`
	// PaymentLinger is how long a PaymentWorkflow stays open after recording
	// its failure.
	PaymentLinger time.Duration `env:"PAYMENT_LINGER, default=25h"`
}

// RazorpayRetryWindow is how long Razorpay keeps retrying a failed charge
// (three daily retries) before it halts the subscription.
const RazorpayRetryWindow = 72 * time.Hour

// DefaultConfig abandons a call after 4 hours without an end and lingers 25
// hours everywhere: longer than the senders' 24-hour retry horizon, so a
// redelivery never finds the workflow closed too early.
func DefaultConfig() Config {
	return Config{
		CallMaxDuration:    4 * time.Hour,
		CallLinger:         25 * time.Hour,
		GracePeriod:        72 * time.Hour,
		SubscriptionLinger: 25 * time.Hour,
		PaymentLinger:      25 * time.Hour,
	}
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if c.CallMaxDuration <= 0 {
		errs = append(errs, errors.New("CALL_MAX_DURATION must be positive"))
	}
	if c.CallLinger < 0 {
		errs = append(errs, errors.New("CALL_LINGER must not be negative"))
	}
	if c.GracePeriod <= 0 {
		errs = append(errs, errors.New("SUBSCRIPTION_GRACE_PERIOD must be positive"))
	}
	if c.SubscriptionLinger < 0 {
		errs = append(errs, errors.New("SUBSCRIPTION_LINGER must not be negative"))
	}
	if c.PaymentLinger < 0 {
		errs = append(errs, errors.New("PAYMENT_LINGER must not be negative"))
	}
	return errors.Join(errs...)
}

// Workflows are the workflow functions bound to a Config. Register its methods
// under the names CallWorkflowType, SubscriptionWorkflowType and
// PaymentWorkflowType.
type Workflows struct {
	cfg Config
}

// New binds the workflows to cfg.
func New(cfg Config) *Workflows { return &Workflows{cfg: cfg} }

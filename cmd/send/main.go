// Command send posts signed webhooks to a running receiver, as the voice
// platform and Razorpay would: one event built from flags with realistic
// defaults (package internal/sample), a file's bytes as they are, or, with
// `demo`, a whole call and a whole subscription's life, whose workflows it
// then checks through Temporal's state query.
//
//	go run ./cmd/send call.started
//	go run ./cmd/send --call-id call_42 --reason customer_hung_up call.ended
//	go run ./cmd/send --print subscription.charged
//	go run ./cmd/send --file event/testdata/razorpay_subscription_activated.json
//	go run ./cmd/send demo
//
// It signs with CALL_WEBHOOK_SECRET or RAZORPAY_WEBHOOK_SECRET from the
// environment (the first of several), else with the development secrets that
// `make run` uses. No secret is ever printed.
//
// Exit status: 0 when every delivery got a 2xx (and, for demo, every workflow
// reached its state), 1 otherwise, 2 for bad usage.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zentrix/webhooks/event"
	"github.com/zentrix/webhooks/internal/sample"
	"github.com/zentrix/webhooks/temporal"
)

const (
	name           = "send"
	defaultURL     = "http://127.0.0.1:8080"
	defaultUI      = "http://127.0.0.1:8233"
	devCallSecret  = "dev-call-secret"
	devRazorSecret = "dev-razorpay-secret"
)

// Exit statuses.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// subscriptionEvents are the subscription events Razorpay sends.
var subscriptionEvents = []string{
	"authenticated", "activated", "charged", "completed", "updated",
	"pending", "halted", "cancelled", "paused", "resumed",
}

const usageText = `usage: go run ./cmd/send [flags] EVENT
       go run ./cmd/send [flags] --file body.json
       go run ./cmd/send [flags] demo

Posts one signed webhook to the receiver and prints the answer and the workflow's Web UI link.

EVENT is one of
  call.started | call.transferred | call.ended
  subscription.{authenticated,activated,charged,completed,updated,pending,halted,cancelled,paused,resumed}
  payment.failed
--file sends a file's bytes unchanged, to the route its "event" field names.

demo plays a whole call (started, transferred, ended, each delivered twice) and a subscription's
life (authenticated, activated, charged, payment.failed, pending, charged, cancelled) with fresh ids
against a running 'make run', then polls each workflow's state query (TEMPORAL_ADDRESS,
TEMPORAL_NAMESPACE; default 127.0.0.1:7233, default) until it reaches its expected state or 30 s
pass, and prints a table.

Secrets: --secret, else CALL_WEBHOOK_SECRET / RAZORPAY_WEBHOOK_SECRET (the first of several),
else the development secrets of 'make run'. A secret is never printed.
Exit status: 0 all answered 2xx (demo: all workflows reached their state), 1 otherwise, 2 bad usage.

flags:
`

// options is everything the command line says.
type options struct {
	event   string // EVENT, "demo", or "" with --file
	url     string
	ui      string
	file    string
	print   bool
	timeout time.Duration
	secret  string // --secret; empty: from the environment
	eventID string // empty: fresh per delivery
	at      time.Time

	call      sample.CallFields
	reason    string
	sub       sample.SubscriptionFields
	pay       sample.PaymentFields
	eventSet  []string // event-field flags given explicitly (ignored by demo)
	namespace string   // of the Web UI links
}

// deps are what the command reaches outside itself besides HTTP; tests
// replace them.
type deps struct {
	dial      func(ctx context.Context, cfg temporal.Config) (states, error)
	pollEvery time.Duration
	pollFor   time.Duration
}

var defaultDeps = deps{dial: dialTemporal, pollEvery: 250 * time.Millisecond, pollFor: 30 * time.Second}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// run is the whole command: it returns the exit status.
func run(args []string, stdout, stderr io.Writer, env func(string) string) int {
	return runWith(args, stdout, stderr, env, defaultDeps)
}

func runWith(args []string, stdout, stderr io.Writer, env func(string) string, d deps) int {
	o, err := parseArgs(args, stdout, env)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		fmt.Fprintf(stderr, "run 'go run ./cmd/send -h' for usage\n")
		return exitUsage
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	if o.event == "demo" {
		return runDemo(ctx, o, stdout, stderr, env, d)
	}
	return sendOne(ctx, o, stdout, stderr, env)
}

// parseArgs reads the flags (before or after EVENT) and checks every value.
// For -h it writes the usage to help and returns flag.ErrHelp.
func parseArgs(args []string, help io.Writer, env func(string) string) (options, error) {
	o := options{}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported once, by the caller
	fs.Usage = func() {}
	fs.StringVar(&o.url, "url", defaultURL, "receiver base URL")
	fs.StringVar(&o.ui, "ui", defaultUI, "Temporal Web UI base URL, for the links")
	fs.StringVar(&o.file, "file", "", "send this file's bytes unchanged (route from its \"event\" field)")
	fs.BoolVar(&o.print, "print", false, "print the request (headers with the signature, and body) instead of posting")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "HTTP request timeout (and Temporal connect timeout for demo)")
	fs.StringVar(&o.secret, "secret", "", "signing secret (default $CALL_WEBHOOK_SECRET or $RAZORPAY_WEBHOOK_SECRET, else "+devCallSecret+" / "+devRazorSecret+")")
	fs.StringVar(&o.eventID, "event-id", "", "Razorpay's x-razorpay-event-id (default a fresh evt_…)")
	fs.Var(timeFlag{&o.at}, "time", "event `time`, RFC 3339 (default now)")

	fs.StringVar(&o.call.CallID, "call-id", sample.DefaultCallID, "callId")
	fs.StringVar(&o.call.AgentID, "agent-id", sample.DefaultAgentID, "agentId (call.started, call.ended)")
	fs.StringVar(&o.call.FromAgentID, "from-agent", "", "fromAgentId of call.transferred (default the --agent-id)")
	fs.StringVar(&o.call.ToAgentID, "to-agent", sample.DefaultToAgentID, "toAgentId of call.transferred")
	fs.StringVar(&o.call.Platform, "platform", sample.DefaultPlatform, "platform")
	fs.StringVar(&o.reason, "reason", "", "transferReason (call.transferred) or disconnectionReason (call.ended) (default "+
		sample.DefaultTransferReason+" / "+sample.DefaultDisconnection+")")
	duration := fs.Float64("duration", sample.DefaultDuration, "duration of call.ended, seconds")
	fs.StringVar(&o.call.Sentiment, "sentiment", sample.DefaultSentiment, "sentiment of call.ended")
	fs.StringVar(&o.call.Summary, "summary", sample.DefaultSummary, "summary of call.ended")
	fs.StringVar(&o.call.Transcript, "transcript", sample.DefaultTranscript, "transcript of call.ended")

	fs.StringVar(&o.sub.ID, "subscription-id", sample.DefaultSubscriptionID, "subscription id")
	fs.StringVar(&o.sub.PlanID, "plan-id", sample.DefaultPlanID, "plan_id")
	fs.StringVar(&o.sub.CustomerID, "customer-id", sample.DefaultCustomerID, "customer_id (subscription and payment)")
	fs.StringVar(&o.sub.Status, "status", "", "subscription status (default the one the event implies: charged→active, …)")
	paid := optionalInt{}
	fs.Var(&paid, "paid-count", "paid_count, the `number` of cycles paid (default 0 when authenticated, else 1)")
	fs.StringVar(&o.pay.ID, "payment-id", "", "payment id (default "+sample.DefaultChargeID+" for a charge, "+sample.DefaultFailedPaymentID+" for payment.failed)")
	fs.Int64Var(&o.pay.Amount, "amount", sample.DefaultAmount, "amount in minor units (paise)")
	fs.StringVar(&o.pay.Currency, "currency", sample.DefaultCurrency, "currency")
	fs.StringVar(&o.pay.InvoiceID, "invoice-id", "", "invoice_id (default inv_ + the payment id's suffix)")
	fs.StringVar(&o.pay.TokenID, "token-id", sample.DefaultTokenID, "token_id of the card mandate")
	fs.StringVar(&o.pay.ErrorReason, "error-reason", sample.DefaultErrorReason, "error_reason of payment.failed")

	rest, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(help)
		fmt.Fprint(help, usageText)
		fs.PrintDefaults()
	}
	if err != nil {
		return o, err
	}
	switch {
	case len(rest) > 1:
		return o, fmt.Errorf("one EVENT expected, got %q", rest)
	case len(rest) == 1:
		o.event = rest[0]
	}
	fs.Visit(func(f *flag.Flag) {
		if !slices.Contains([]string{"url", "ui", "file", "print", "timeout", "secret", "time"}, f.Name) {
			o.eventSet = append(o.eventSet, f.Name)
		}
	})
	if paid.set {
		o.sub.PaidCount = &paid.n
	}
	o.call.Duration = duration
	o.namespace = orDefault(env("TEMPORAL_NAMESPACE"), "default")
	return o, o.check(*duration, paid)
}

// parseInterleaved parses flags that come before and after the positional
// arguments, and returns the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return rest, nil
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// check validates the options as a whole.
func (o *options) check(duration float64, paid optionalInt) error {
	switch {
	case o.file != "" && o.event != "":
		return fmt.Errorf("give either EVENT or --file, not both")
	case o.file == "" && o.event == "":
		return fmt.Errorf("EVENT missing")
	case o.event != "" && o.event != "demo":
		if err := checkEvent(o.event); err != nil {
			return err
		}
	}
	if o.event == "demo" && o.print {
		return fmt.Errorf("--print does not apply to demo")
	}
	if err := checkBaseURL("--url", o.url); err != nil {
		return err
	}
	if err := checkBaseURL("--ui", o.ui); err != nil {
		return err
	}
	switch {
	case o.timeout <= 0:
		return fmt.Errorf("--timeout must be positive, got %s", o.timeout)
	case math.IsNaN(duration) || math.IsInf(duration, 0) || duration < 0:
		return fmt.Errorf("--duration must be a number of seconds ≥ 0, got %v", duration)
	case o.pay.Amount <= 0:
		return fmt.Errorf("--amount must be positive (minor units), got %d", o.pay.Amount)
	case paid.set && paid.n < 0:
		return fmt.Errorf("--paid-count must be ≥ 0, got %d", paid.n)
	}
	for flagName, v := range map[string]string{"--event-id": o.eventID, "--secret": o.secret} {
		if strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return fmt.Errorf("%s holds a control character", flagName)
		}
	}
	return nil
}

// checkEvent accepts the events the senders send.
func checkEvent(ev string) error {
	switch {
	case ev == event.CallStarted, ev == event.CallTransferred, ev == event.CallEnded, ev == event.PaymentFailed:
		return nil
	case strings.HasPrefix(ev, event.SubscriptionPrefix):
		if slices.Contains(subscriptionEvents, strings.TrimPrefix(ev, event.SubscriptionPrefix)) {
			return nil
		}
		return fmt.Errorf("unknown subscription event %q: want subscription.{%s}", ev, strings.Join(subscriptionEvents, ","))
	}
	return fmt.Errorf("unknown EVENT %q: want call.started, call.transferred, call.ended, subscription.…, payment.failed or demo", ev)
}

func checkBaseURL(flagName, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s must be an http(s) URL such as %s, got %q", flagName, defaultURL, raw)
	}
	return nil
}

// timeFlag is an RFC 3339 time flag.
type timeFlag struct{ t *time.Time }

func (f timeFlag) String() string {
	if f.t == nil || f.t.IsZero() {
		return ""
	}
	return f.t.Format(time.RFC3339Nano)
}

func (f timeFlag) Set(s string) error {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("want RFC 3339 such as 2026-03-05T14:25:55Z")
	}
	if y := t.UTC().Year(); y < 1970 || y > 9999 {
		return fmt.Errorf("want a year between 1970 and 9999")
	}
	*f.t = t
	return nil
}

// optionalInt is an integer flag that knows whether it was given.
type optionalInt struct {
	n   int64
	set bool
}

func (f *optionalInt) String() string {
	if f == nil || !f.set {
		return ""
	}
	return strconv.FormatInt(f.n, 10)
}

func (f *optionalInt) Set(s string) error {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("want an integer")
	}
	f.n, f.set = n, true
	return nil
}

// secretFor is the signing secret of a route: --secret, else the first of
// the environment's comma-separated secrets, else the development one.
func secretFor(razorpay bool, o options, env func(string) string) string {
	if o.secret != "" {
		return o.secret
	}
	key, dev := "CALL_WEBHOOK_SECRET", devCallSecret
	if razorpay {
		key, dev = "RAZORPAY_WEBHOOK_SECRET", devRazorSecret
	}
	for _, s := range strings.Split(env(key), ",") {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return dev
}

// temporalConfig reads TEMPORAL_* from env, with temporal.Config's defaults.
func temporalConfig(ctx context.Context, env func(string) string) (temporal.Config, error) {
	var cfg temporal.Config
	err := loadEnv(ctx, &cfg, env)
	return cfg, err
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

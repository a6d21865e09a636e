// Package temporal connects the receiver and the worker to Temporal: client
// options from the environment (address, namespace, task queue, API key, mTLS)
// and the custom search attributes operators filter on.
package temporal

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	sdktemporal "go.temporal.io/sdk/temporal"
)

// Config is the Temporal part of the environment, shared by both processes.
type Config struct {
	Address   string `env:"TEMPORAL_ADDRESS, default=127.0.0.1:7233"`
	Namespace string `env:"TEMPORAL_NAMESPACE, default=default"`
	TaskQueue string `env:"TEMPORAL_TASK_QUEUE, default=zentrix-webhooks"`

	// Optional: a secured cluster or Temporal Cloud.
	APIKey  Secret `env:"TEMPORAL_API_KEY"`
	TLSCert string `env:"TEMPORAL_TLS_CERT"` // client certificate file (PEM)
	TLSKey  string `env:"TEMPORAL_TLS_KEY"`  // its private key file (PEM)
	TLSCA   string `env:"TEMPORAL_TLS_CA"`   // CA bundle file (PEM) for the server's certificate
}

// Validate reports every problem with the configuration at once.
func (c Config) Validate() error {
	var errs []error
	if c.Address == "" {
		errs = append(errs, errors.New("TEMPORAL_ADDRESS is empty"))
	}
	if c.Namespace == "" {
		errs = append(errs, errors.New("TEMPORAL_NAMESPACE is empty"))
	}
	if c.TaskQueue == "" {
		errs = append(errs, errors.New("TEMPORAL_TASK_QUEUE is empty"))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together"))
	}
	return errors.Join(errs...)
}

// ClientOptions builds the SDK client options, logging through logger.
func (c Config) ClientOptions(logger *slog.Logger) (client.Options, error) {
	opts := client.Options{
		HostPort:  c.Address,
		Namespace: c.Namespace,
		Logger:    sdklog.NewStructuredLogger(logger),
	}
	if c.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(string(c.APIKey))
	}
	if c.APIKey != "" || c.TLSCert != "" || c.TLSCA != "" {
		t, err := c.tlsConfig()
		if err != nil {
			return client.Options{}, err
		}
		opts.ConnectionOptions.TLS = t
	}
	return opts, nil
}

func (c Config) tlsConfig() (*tls.Config, error) {
	t := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.TLSCert != "" {
		pair, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("load TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY: %w", err)
		}
		t.Certificates = []tls.Certificate{pair}
	}
	if c.TLSCA != "" {
		pem, err := os.ReadFile(c.TLSCA)
		if err != nil {
			return nil, fmt.Errorf("read TEMPORAL_TLS_CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("TEMPORAL_TLS_CA holds no PEM certificate")
		}
		t.RootCAs = pool
	}
	return t, nil
}

// Option adjusts the client options.
type Option func(*client.Options)

// WithMetrics reports the SDK's metrics (and those of workflow code) to h.
func WithMetrics(h client.MetricsHandler) Option {
	return func(o *client.Options) { o.MetricsHandler = h }
}

// NewLazyClient returns a client that connects on first use, so that a process
// can start (and report itself unready) while Temporal is down.
func NewLazyClient(c Config, logger *slog.Logger, options ...Option) (client.Client, error) {
	opts, err := c.ClientOptions(logger)
	if err != nil {
		return nil, err
	}
	for _, o := range options {
		o(&opts)
	}
	return client.NewLazyClient(opts)
}

// Dial connects to Temporal, failing if the frontend does not answer.
func Dial(ctx context.Context, c Config, logger *slog.Logger, options ...Option) (client.Client, error) {
	opts, err := c.ClientOptions(logger)
	if err != nil {
		return nil, err
	}
	for _, o := range options {
		o(&opts)
	}
	cl, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("connect to temporal at %s: %w", c.Address, err)
	}
	return cl, nil
}

// Secret is a configuration value that never prints.
type Secret string

// String hides the value.
func (Secret) String() string { return "[redacted]" }

// LogValue hides the value from slog.
func (Secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// Custom search attributes (all Keyword). Values are stored unencrypted in
// visibility: never put personal data in them.
var (
	CallStatus         = sdktemporal.NewSearchAttributeKeyKeyword("CallStatus")
	AgentID            = sdktemporal.NewSearchAttributeKeyKeyword("AgentId")
	Platform           = sdktemporal.NewSearchAttributeKeyKeyword("Platform")
	SubscriptionStatus = sdktemporal.NewSearchAttributeKeyKeyword("SubscriptionStatus")
	PlanID             = sdktemporal.NewSearchAttributeKeyKeyword("PlanId")
	CustomerID         = sdktemporal.NewSearchAttributeKeyKeyword("CustomerId")
	AccessState        = sdktemporal.NewSearchAttributeKeyKeyword("AccessState")
	// PaymentResolution tells, on a PaymentWorkflow, whether the failed
	// payment's subscription was found (see workflows.Resolution*).
	PaymentResolution = sdktemporal.NewSearchAttributeKeyKeyword("PaymentResolution")
)

// SearchAttributes lists every custom search attribute, for registration.
var SearchAttributes = []sdktemporal.SearchAttributeKey{
	CallStatus, AgentID, Platform, SubscriptionStatus, PlanID, CustomerID, AccessState, PaymentResolution,
}

// EagerActivities lets a worker run the activity its workflow task just
// scheduled without another round trip through the server; off by default in
// the server. The dev servers started here and the compose cluster turn it on.
const EagerActivities = "system.enableActivityEagerExecution=true"

// DevServerFlags are the dev server's flags for this project: eager activity
// dispatch, and --search-attribute flags registering every custom search
// attribute.
func DevServerFlags() []string {
	flags := make([]string, 0, 2*len(SearchAttributes)+2)
	flags = append(flags, "--dynamic-config-value", EagerActivities)
	for _, key := range SearchAttributes {
		flags = append(flags, "--search-attribute", key.GetName()+"="+key.GetValueType().String())
	}
	return flags
}

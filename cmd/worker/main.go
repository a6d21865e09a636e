// Command worker runs the workflows and activities on the task queue and
// writes the system of record. It is configured by the environment (see the
// README).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sethvargo/go-envconfig"
	"go.temporal.io/sdk/client"

	"github.com/zentrix/webhooks/activities"
	"github.com/zentrix/webhooks/internal/service"
	"github.com/zentrix/webhooks/metrics"
	"github.com/zentrix/webhooks/razorpay"
	"github.com/zentrix/webhooks/store"
	"github.com/zentrix/webhooks/temporal"
	"github.com/zentrix/webhooks/worker"
	"github.com/zentrix/webhooks/workflows"
)

const name = "zentrix-worker"

type config struct {
	Log         service.LogConfig
	Temporal    temporal.Config
	Workflows   workflows.Config
	Tuning      worker.Tuning
	DatabaseURL temporal.Secret `env:"DATABASE_URL, default=sqlite:.data/zentrix.db"`
	MetricsAddr string          `env:"METRICS_ADDR, default=:9090"`
	Razorpay    razorpayConfig
}

// razorpayConfig is optional: with it, a failed payment the store cannot place
// is looked up through Razorpay's invoices API.
type razorpayConfig struct {
	KeyID     string          `env:"RAZORPAY_KEY_ID"`
	KeySecret temporal.Secret `env:"RAZORPAY_KEY_SECRET"`
	APIURL    string          `env:"RAZORPAY_API_URL, default=https://api.razorpay.com"`
}

func (c *config) Validate() error {
	errs := []error{c.Temporal.Validate(), c.Workflows.Validate()}
	if (c.Razorpay.KeyID == "") != (c.Razorpay.KeySecret == "") {
		errs = append(errs, errors.New("RAZORPAY_KEY_ID and RAZORPAY_KEY_SECRET must be set together"))
	}
	if c.DatabaseURL == "" {
		errs = append(errs, errors.New("DATABASE_URL is empty"))
	}
	return errors.Join(errs...)
}

func main() {
	ctx, stop := service.Context()
	defer stop()
	if err := run(ctx); err != nil {
		service.Exit(name, err)
	}
}

func run(ctx context.Context) error {
	var cfg config
	if err := service.Load(ctx, &cfg, envconfig.OsLookuper()); err != nil {
		return err
	}
	logger := service.Logger(os.Stderr, name, cfg.Log)
	db, err := store.Open(ctx, string(cfg.DatabaseURL))
	if err != nil {
		return err
	}
	defer db.Close()
	logger.Info("store open", "dialect", db.Dialect())

	registry := metrics.NewRegistry()
	ln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		return fmt.Errorf("metrics listener: %w", err)
	}
	srv := &http.Server{Handler: metricsMux(registry), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	logger.Info("metrics listening", "addr", ln.Addr().String())

	c, err := dialWithRetry(ctx, cfg.Temporal, logger, temporal.WithMetrics(metrics.SDKHandler(registry, workflows.MetricHelp)))
	if err != nil {
		return err
	}
	defer c.Close()
	acts := &activities.Activities{
		Store: db,
		Razorpay: &razorpay.Client{
			BaseURL: cfg.Razorpay.APIURL, KeyID: cfg.Razorpay.KeyID, KeySecret: string(cfg.Razorpay.KeySecret),
		},
	}
	logger.Info("worker polling", "temporal", cfg.Temporal.Address, "namespace", cfg.Temporal.Namespace,
		"task_queue", cfg.Temporal.TaskQueue, "razorpay_api", acts.Razorpay.Configured())
	err = worker.Run(ctx, c, cfg.Temporal.TaskQueue, workflows.New(cfg.Workflows), acts, cfg.Tuning)
	logger.Info("worker stopped")
	return err
}

// dialWithRetry waits for Temporal to answer, so that the worker can start
// before the server does.
func dialWithRetry(ctx context.Context, cfg temporal.Config, logger *slog.Logger, opts ...temporal.Option) (client.Client, error) {
	wait := 500 * time.Millisecond
	for {
		c, err := temporal.Dial(ctx, cfg, logger, opts...)
		if err == nil {
			return c, nil
		}
		logger.Warn("temporal not reachable yet", "error", err, "retry_in", wait.String())
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 10*time.Second)
	}
}

// metricsMux serves GET /metrics and a liveness answer on /healthz.
func metricsMux(r *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.Handler(r))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	return mux
}

// Command receiver serves the webhook routes and hands each verified event to
// Temporal. It is configured by the environment (see the README).
package main

import (
	"context"
	"errors"
	"net"
	"os"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/zentrix/webhooks/internal/service"
	"github.com/zentrix/webhooks/receiver"
	"github.com/zentrix/webhooks/temporal"
)

const name = "zentrix-receiver"

// shutdownGrace bounds how long in-flight requests may take after a stop
// signal; each is bounded by the hand-off deadline already.
const shutdownGrace = 10 * time.Second

type config struct {
	Log      service.LogConfig
	Temporal temporal.Config
	Receiver receiver.Config
}

func (c *config) Validate() error {
	return errors.Join(c.Temporal.Validate(), c.Receiver.Validate())
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
	cfg.Receiver.TaskQueue = cfg.Temporal.TaskQueue
	logger := service.Logger(os.Stderr, name, cfg.Log)
	tc, err := temporal.NewLazyClient(cfg.Temporal, logger)
	if err != nil {
		return err
	}
	defer tc.Close()
	ln, err := net.Listen("tcp", cfg.Receiver.Addr)
	if err != nil {
		return err
	}
	logger.Info("receiver listening", "addr", ln.Addr().String(), "temporal", cfg.Temporal.Address,
		"namespace", cfg.Temporal.Namespace, "task_queue", cfg.Temporal.TaskQueue,
		"body_limit", int64(cfg.Receiver.BodyLimit), "call_secrets", len(cfg.Receiver.CallSecrets),
		"razorpay_secrets", len(cfg.Receiver.RazorpaySecrets))
	app := receiver.New(cfg.Receiver, tc, logger)
	err = receiver.Serve(ctx, app, ln, shutdownGrace)
	logger.Info("receiver stopped")
	return err
}

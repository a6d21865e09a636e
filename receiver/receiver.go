// Package receiver is the HTTP edge: a Fiber app that takes webhooks from the
// voice platform and Razorpay, checks each signature on the raw body, parses
// and validates the event, and hands it to Temporal with SignalWithStart. It
// answers 2xx only once the event is in workflow history.
//
// Order of checks on both routes: body size (413), signature (401), event
// (400, or 200 "ignored" for an event type the system does not handle), then
// the hand-off (202 accepted, 200 duplicate, or 503 with Retry-After).
package receiver

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"go.temporal.io/sdk/client"

	"github.com/zentrix/webhooks/metrics"
	"github.com/zentrix/webhooks/workflows"
)

// Routes and headers of the contract.
const (
	CallsPath    = "/api/calls/webhooks"
	PaymentsPath = "/api/payments/webhooks"

	HeaderCallSignature     = "x-webhook-signature"
	HeaderRazorpaySignature = "x-razorpay-signature"
	HeaderRazorpayEventID   = "x-razorpay-event-id"
)

// Default HTTP server timeouts, used where Config leaves one zero. They bound
// slow or stuck clients; a well-behaved delivery finishes far inside them, its
// hand-off bounded by HandoffTimeout to stay within the senders' 5 s budget.
// Idle keep-alive connections are closed after a minute.
const (
	readTimeout  = 10 * time.Second
	writeTimeout = 10 * time.Second
	idleTimeout  = 60 * time.Second
	// retryAfter is the Retry-After sent with a 503, in seconds.
	retryAfter = "5"
)

// Temporal is what the receiver needs of a Temporal client; client.Client
// satisfies it.
type Temporal interface {
	SignalWithStartWorkflow(ctx context.Context, workflowID, signalName string, signalArg any,
		options client.StartWorkflowOptions, workflow any, workflowArgs ...any) (client.WorkflowRun, error)
	CheckHealth(ctx context.Context, request *client.CheckHealthRequest) (*client.CheckHealthResponse, error)
}

// New builds the receiver's Fiber app. Both main and the tests call it.
func New(cfg Config, tc Temporal, logger *slog.Logger) *fiber.App {
	if cfg.TaskQueue == "" {
		cfg.TaskQueue = workflows.DefaultTaskQueue
	}
	registry := metrics.NewRegistry()
	h := &handler{
		m:        newMetrics(registry),
		cfg:      cfg,
		temporal: tc,
		log:      logger,
		calls:    NewVerifier(cfg.CallSecrets),
		razorpay: NewVerifier(cfg.RazorpaySecrets),
		now:      time.Now,
	}
	app := fiber.New(fiber.Config{
		AppName:               "zentrix-receiver",
		BodyLimit:             int(cfg.BodyLimit),
		ReadTimeout:           orDefault(cfg.ReadTimeout, readTimeout),
		WriteTimeout:          orDefault(cfg.WriteTimeout, writeTimeout),
		IdleTimeout:           orDefault(cfg.IdleTimeout, idleTimeout),
		DisableStartupMessage: true,
		ErrorHandler:          errorHandler(logger, h.m),
	})
	app.Use(recover.New())
	app.Post(CallsPath, h.call)
	app.Post(PaymentsPath, h.payment)
	app.Get("/healthz", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"status": "ok"}) })
	app.Get("/readyz", h.ready)
	app.Get("/metrics", adaptor.HTTPHandler(metrics.Handler(registry)))
	return app
}

// orDefault is d, or def when d is not positive.
func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Serve runs app on ln until ctx is done, then stops taking connections and
// lets in-flight requests finish for up to grace.
func Serve(ctx context.Context, app *fiber.App, ln net.Listener, grace time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- app.Listener(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	if err := app.ShutdownWithTimeout(grace); err != nil {
		return err
	}
	return <-errc
}

// errorHandler answers every error Fiber raises (413 from the body limit, 404,
// 405, a recovered panic) as JSON, without internal details.
func errorHandler(logger *slog.Logger, m *receiverMetrics) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		var fe *fiber.Error
		if errors.As(err, &fe) {
			msg := fe.Message
			if fe.Code == fiber.StatusRequestEntityTooLarge {
				msg = "body exceeds the size limit"
				m.request(routeOf(c), outcomeTooLarge, fe.Code)
			}
			return c.Status(fe.Code).JSON(errorBody{msg})
		}
		logger.Error("request failed", "method", c.Method(), "path", c.Path(), "error", err)
		return c.Status(fiber.StatusInternalServerError).JSON(errorBody{"internal error"})
	}
}

type errorBody struct {
	Error string `json:"error"`
}

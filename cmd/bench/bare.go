package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/zentrix/webhooks/workflows"
)

// bareFiberCommand runs, in a child process, the forged-request baseline: a
// Fiber server with the receiver's settings whose webhook route answers 200
// without looking at the request.
const bareFiberCommand = "bare-fiber"

func serveBareFiber(addr string) error {
	app := fiber.New(fiber.Config{
		BodyLimit: 1 << 20, DisableStartupMessage: true,
		ReadTimeout: readTimeout, WriteTimeout: writeTimeout, IdleTimeout: idleTimeout,
	})
	ok := []byte(`{"status":"ok"}`)
	app.Post("/api/calls/webhooks", func(c *fiber.Ctx) error {
		c.Response().Header.SetContentType(fiber.MIMEApplicationJSON)
		return c.Send(ok)
	})
	app.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok") })
	return app.Listen(addr)
}

// bareWorkerCommand runs, in a child process, the drain's baseline: a
// Temporal worker with the same options as ours whose workflows, under our
// workflow type and signal names, do the least Temporal needs per event:
// take the signal, run one activity that only counts it, wait for the next.
// Its drain rate is what the server allows for this shape of work, the
// ceiling our worker is measured against. It serves the count on
// GET /count.
const bareWorkerCommand = "bare-worker"

// serveBareWorker runs the baseline worker: args are the frontend, the task
// queue, the HTTP address of /count, and the workflow and activity task
// pollers.
func serveBareWorker(args []string) error {
	if len(args) != 5 {
		return errors.New("bare-worker FRONTEND QUEUE ADDR WORKFLOW_POLLERS ACTIVITY_POLLERS")
	}
	wfPollers, err1 := strconv.Atoi(args[3])
	actPollers, err2 := strconv.Atoi(args[4])
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	c, err := client.Dial(client.Options{HostPort: args[0], Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		return err
	}
	defer c.Close()
	var count atomic.Int64
	w := sdkworker.New(c, args[1], sdkworker.Options{
		MaxConcurrentWorkflowTaskPollers: wfPollers, MaxConcurrentActivityTaskPollers: actPollers,
	})
	w.RegisterWorkflowWithOptions(bareWorkflow, workflow.RegisterOptions{Name: workflows.CallWorkflowType})
	w.RegisterWorkflowWithOptions(bareWorkflow, workflow.RegisterOptions{Name: workflows.SubscriptionWorkflowType})
	w.RegisterActivityWithOptions(func(context.Context, string) error {
		count.Add(1)
		return nil
	}, activity.RegisterOptions{Name: bareActivity})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /count", func(rw http.ResponseWriter, _ *http.Request) { fmt.Fprint(rw, count.Load()) })
	go func() { _ = http.ListenAndServe(args[2], mux) }()
	return w.Run(sdkworker.InterruptCh())
}

const bareActivity = "BareCount"

// bareWorkflow takes the signals of both senders, decoded into their types
// as ours does, and runs one activity for each.
func bareWorkflow(ctx workflow.Context, _ any) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	calls := workflow.GetSignalChannel(ctx, workflows.SignalCallEvent)
	razorpay := workflow.GetSignalChannel(ctx, workflows.SignalRazorpayEvent)
	for {
		var key string
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(calls, func(ch workflow.ReceiveChannel, _ bool) {
			var s workflows.CallSignal
			ch.Receive(ctx, &s)
			key = s.Key
		})
		sel.AddReceive(razorpay, func(ch workflow.ReceiveChannel, _ bool) {
			var s workflows.RazorpaySignal
			ch.Receive(ctx, &s)
			key = s.Key
		})
		sel.Select(ctx)
		if err := workflow.ExecuteActivity(ctx, bareActivity, key).Get(ctx, nil); err != nil {
			return err
		}
	}
}

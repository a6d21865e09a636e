package receiver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/zentrix/webhooks/event"
	"github.com/zentrix/webhooks/workflows"
)

type handler struct {
	m        *receiverMetrics
	cfg      Config
	temporal Temporal
	log      *slog.Logger
	calls    *Verifier
	razorpay *Verifier
	now      func() time.Time
}

// Fixed bodies of the cheap answers.
var (
	unauthorizedBody = []byte(`{"error":"invalid signature"}`)
	ignoredBody      = []byte(`{"status":"ignored"}`)
)

func (h *handler) call(c *fiber.Ctx) error {
	body := c.BodyRaw()
	if err := h.calls.Verify(body, c.Request().Header.Peek(HeaderCallSignature)); err != nil {
		h.m.calls.refused(err)
		return unauthorized(c)
	}
	h.m.calls.body.Observe(float64(len(body)))
	ev, err := event.ParseCall(body)
	if errors.Is(err, event.ErrUnhandled) {
		h.m.event(sourceCalls, ev.Event, outcomeIgnored)
		return h.ignored(c, routeCalls)
	}
	if err != nil {
		return h.badRequest(c, routeCalls, err)
	}
	id := workflows.CallWorkflowID(ev.Data.CallID)
	signal := workflows.CallSignal{
		Delivery: h.delivery(ev.Key(), ev.Event, ev.Timestamp, body),
		Call:     ev.Data,
	}
	return h.handOff(c, handOff{
		route:        routeCalls,
		source:       sourceCalls,
		workflowID:   id,
		workflowType: workflows.CallWorkflowType,
		signal:       workflows.SignalCallEvent,
		arg:          signal,
		input:        workflows.CallInput{CallID: id},
		summary:      workflows.CallSummary(ev.Data),
		eventType:    ev.Event,
	})
}

func (h *handler) payment(c *fiber.Ctx) error {
	body := c.BodyRaw()
	if err := h.razorpay.Verify(body, c.Request().Header.Peek(HeaderRazorpaySignature)); err != nil {
		h.m.payments.refused(err)
		return unauthorized(c)
	}
	h.m.payments.body.Observe(float64(len(body)))
	ev, err := event.ParseRazorpay(body)
	if errors.Is(err, event.ErrUnhandled) {
		h.m.event(sourceRazorpay, ev.Event, outcomeIgnored)
		return h.ignored(c, routePayments)
	}
	if err != nil {
		return h.badRequest(c, routePayments, err)
	}
	eventID := string(c.Request().Header.Peek(HeaderRazorpayEventID))
	if err := event.CheckEventID(eventID); err != nil {
		return h.badRequest(c, routePayments, err)
	}
	id := workflows.RazorpayWorkflowID(ev)
	wfType := workflows.RazorpayWorkflowType(ev)
	var input any = workflows.SubscriptionInput{SubscriptionID: id}
	if wfType == workflows.PaymentWorkflowType {
		input = workflows.PaymentInput{PaymentID: id}
	}
	return h.handOff(c, handOff{
		route:        routePayments,
		source:       sourceRazorpay,
		workflowID:   id,
		workflowType: wfType,
		signal:       workflows.SignalRazorpayEvent,
		arg: workflows.RazorpaySignal{
			Delivery: h.delivery(eventID, ev.Event, ev.CreatedAt, body),
			Event:    ev,
		},
		input:     input,
		summary:   workflows.RazorpaySummary(ev),
		eventType: ev.Event,
	})
}

func (h *handler) delivery(key, typ string, occurred time.Time, body []byte) workflows.Delivery {
	sum := sha256.Sum256(body)
	return workflows.Delivery{
		Key:           key,
		Type:          typ,
		OccurredAt:    occurred,
		ReceivedAt:    h.now().UTC(),
		PayloadSHA256: hex.EncodeToString(sum[:]),
	}
}

type handOff struct {
	route        string // metrics labels
	source       string
	workflowID   string
	workflowType string
	signal       string
	arg          any
	input        any
	summary      string
	eventType    string
}

// handOff signals the workflow, starting it if it is not running, and answers
// only after Temporal has the signal in history. A workflow that has already
// completed refuses (see workflows.StartOptions): the event is a late
// redelivery and the sender gets 200 duplicate.
func (h *handler) handOff(c *fiber.Ctx, o handOff) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), h.cfg.HandoffTimeout)
	defer cancel()
	start := time.Now()
	_, err := h.temporal.SignalWithStartWorkflow(ctx, o.workflowID, o.signal, o.arg,
		workflows.StartOptions(o.workflowID, h.cfg.TaskQueue, o.summary), o.workflowType, o.input)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	var refused *serviceerror.InvalidArgument
	outcome, status := outcomeUnavailable, fiber.StatusServiceUnavailable
	switch {
	case err == nil:
		outcome, status = outcomeAccepted, fiber.StatusAccepted
	case errors.As(err, &started):
		outcome, status = outcomeDuplicate, fiber.StatusOK
	case errors.As(err, &refused):
		outcome, status = outcomeRefused, fiber.StatusBadRequest
	}
	h.m.handoff.WithLabelValues(o.route, outcome).Observe(time.Since(start).Seconds())
	h.m.event(o.source, o.eventType, outcome)
	h.m.request(o.route, outcome, status)
	switch outcome {
	case outcomeAccepted:
		h.log.Debug("event accepted", "workflow_id", o.workflowID, "event_type", o.eventType)
		return c.Status(status).JSON(handOffBody{Status: "accepted", WorkflowID: o.workflowID})
	case outcomeDuplicate:
		h.log.Info("event for a completed workflow dropped", "workflow_id", o.workflowID, "event_type", o.eventType)
		return c.Status(status).JSON(handOffBody{Status: "duplicate", WorkflowID: o.workflowID})
	case outcomeRefused:
		// Temporal refuses the event itself (for example a payload over its
		// size limit): retrying cannot help, so the sender is told to stop.
		h.log.Error("temporal refused the event", "workflow_id", o.workflowID, "event_type", o.eventType, "error", err)
		return c.Status(status).JSON(errorBody{"event refused by the workflow service"})
	default:
		h.log.Warn("hand-off to temporal failed", "workflow_id", o.workflowID, "event_type", o.eventType, "error", err)
		c.Set(fiber.HeaderRetryAfter, retryAfter)
		return c.Status(status).JSON(errorBody{"temporarily unable to accept events, retry later"})
	}
}

type handOffBody struct {
	Status     string `json:"status"`
	WorkflowID string `json:"workflowId"`
}

func (h *handler) ready(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), h.cfg.HandoffTimeout)
	defer cancel()
	if _, err := h.temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		h.log.Warn("readiness check failed", "error", err)
		return c.Status(fiber.StatusServiceUnavailable).JSON(errorBody{"temporal is unreachable"})
	}
	return c.JSON(fiber.Map{"status": "ready"})
}

// unauthorized answers a refused signature. Nothing is logged: a flood of
// forged requests must stay cheap.
func unauthorized(c *fiber.Ctx) error {
	c.Status(fiber.StatusUnauthorized).Response().Header.SetContentType(fiber.MIMEApplicationJSON)
	return c.Send(unauthorizedBody)
}

func (h *handler) ignored(c *fiber.Ctx, route string) error {
	h.m.request(route, outcomeIgnored, fiber.StatusOK)
	c.Status(fiber.StatusOK).Response().Header.SetContentType(fiber.MIMEApplicationJSON)
	return c.Send(ignoredBody)
}

// badRequest answers a signed body that is not a valid event. The messages of
// package event name fields, never their values.
func (h *handler) badRequest(c *fiber.Ctx, route string, err error) error {
	h.m.request(route, outcomeInvalid, fiber.StatusBadRequest)
	return c.Status(fiber.StatusBadRequest).JSON(errorBody{err.Error()})
}

// Sources of events, as metric labels.
const (
	sourceCalls    = "calls"
	sourceRazorpay = "razorpay"
)

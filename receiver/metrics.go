package receiver

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zentrix/webhooks/event"
)

// Route labels of the metrics.
const (
	routeCalls    = "calls"
	routePayments = "payments"
)

// Outcomes of a webhook request, as labels.
const (
	outcomeAccepted     = "accepted"
	outcomeDuplicate    = "duplicate"
	outcomeIgnored      = "ignored"
	outcomeUnauthorized = "unauthorized"
	outcomeInvalid      = "invalid"
	outcomeTooLarge     = "too_large"
	outcomeUnavailable  = "unavailable"
	outcomeRefused      = "refused"
)

// receiverMetrics are the receiver's Prometheus metrics. The 401 path only bumps
// counters resolved at start, so forged traffic costs no allocation here.
type receiverMetrics struct {
	requests  *prometheus.CounterVec   // route, outcome, status
	sigFails  *prometheus.CounterVec   // route, reason
	bodyBytes *prometheus.HistogramVec // route
	handoff   *prometheus.HistogramVec // route, result
	events    *prometheus.CounterVec   // source, type, outcome

	calls, payments routeMetrics // resolved at start for the hot paths
}

// routeMetrics are one route's counters of the hot paths.
type routeMetrics struct {
	unauthorized prometheus.Counter
	missing      prometheus.Counter
	malformed    prometheus.Counter
	mismatch     prometheus.Counter
	body         prometheus.Observer
}

func newMetrics(reg prometheus.Registerer) *receiverMetrics {
	m := &receiverMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zentrix_receiver_requests_total",
			Help: "Webhook requests by route, outcome and HTTP status.",
		}, []string{"route", "outcome", "status"}),
		sigFails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zentrix_receiver_signature_failures_total",
			Help: "Requests refused with 401, by route and reason (missing, malformed, mismatch).",
		}, []string{"route", "reason"}),
		bodyBytes: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "zentrix_receiver_body_bytes",
			Help:    "Size of webhook bodies within the limit, in bytes.",
			Buckets: prometheus.ExponentialBuckets(256, 4, 8), // 256 B … 4 MiB
		}, []string{"route"}),
		handoff: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "zentrix_receiver_handoff_seconds",
			Help:    "Time of the SignalWithStart hand-off to Temporal, by route and result.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2, 5},
		}, []string{"route", "result"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zentrix_receiver_events_total",
			Help: "Signed, parsed events by source, type and outcome (accepted, duplicate, ignored, unavailable, refused).",
		}, []string{"source", "type", "outcome"}),
	}
	reg.MustRegister(m.requests, m.sigFails, m.bodyBytes, m.handoff, m.events)
	m.calls, m.payments = m.route(routeCalls), m.route(routePayments)
	return m
}

func (m *receiverMetrics) route(route string) routeMetrics {
	return routeMetrics{
		unauthorized: m.requests.WithLabelValues(route, outcomeUnauthorized, "401"),
		missing:      m.sigFails.WithLabelValues(route, "missing"),
		malformed:    m.sigFails.WithLabelValues(route, "malformed"),
		mismatch:     m.sigFails.WithLabelValues(route, "mismatch"),
		body:         m.bodyBytes.WithLabelValues(route),
	}
}

// refused counts a 401 and its reason.
func (r *routeMetrics) refused(reason error) {
	r.unauthorized.Inc()
	switch reason {
	case ErrSignatureMissing:
		r.missing.Inc()
	case ErrSignatureMalformed:
		r.malformed.Inc()
	default:
		r.mismatch.Inc()
	}
}

func (m *receiverMetrics) request(route, outcome string, status int) {
	m.requests.WithLabelValues(route, outcome, statusLabel(status)).Inc()
}

// event counts a parsed event; its type is bounded to the known ones so that
// a sender cannot grow the label set.
func (m *receiverMetrics) event(source, typ, outcome string) {
	m.events.WithLabelValues(source, knownType(typ), outcome).Inc()
}

func knownType(typ string) string {
	switch typ {
	case event.CallStarted, event.CallTransferred, event.CallEnded, event.PaymentFailed:
		return typ
	}
	if strings.HasPrefix(typ, event.SubscriptionPrefix) {
		switch strings.TrimPrefix(typ, event.SubscriptionPrefix) {
		case "authenticated", "activated", "charged", "completed", "updated", "pending", "halted",
			"cancelled", "paused", "resumed":
			return typ
		}
	}
	return "other"
}

// routeOf names the route of a path for the metrics of Fiber's own errors.
func routeOf(c *fiber.Ctx) string {
	switch c.Path() {
	case CallsPath:
		return routeCalls
	case PaymentsPath:
		return routePayments
	}
	return "other"
}

func statusLabel(status int) string {
	switch status {
	case 200:
		return "200"
	case 202:
		return "202"
	case 400:
		return "400"
	case 401:
		return "401"
	case 413:
		return "413"
	case 503:
		return "503"
	}
	return "other"
}

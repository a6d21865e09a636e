// Package metrics exposes the processes' Prometheus metrics: a registry with
// the Go runtime and process collectors, its HTTP handler, and an adapter that
// lets the Temporal SDK (and workflow code, through
// workflow.GetMetricsHandler) report into the same registry.
package metrics

import (
	"cmp"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"
)

// NewRegistry returns a registry with the Go runtime and process collectors.
func NewRegistry() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// Handler serves the registry in the Prometheus text format.
func Handler(r *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(r, promhttp.HandlerOpts{Registry: r})
}

// SDKHandler adapts a registry to the Temporal SDK's metrics interface.
// Counters get the conventional _total suffix and timers become histograms
// in seconds (_seconds). A metric's label names are fixed by its first use;
// a later use with other tags fills missing labels with "" and drops extra
// ones, since Prometheus requires one label set per name. help describes
// metrics by the name they are reported under; the others are described by
// their name.
func SDKHandler(r prometheus.Registerer, help map[string]string) client.MetricsHandler {
	return &sdkHandler{vecs: &vecs{reg: r, help: help, byName: map[string]*vec{}}}
}

type sdkHandler struct {
	vecs *vecs
	tags map[string]string
}

type vecs struct {
	reg    prometheus.Registerer
	help   map[string]string
	mu     sync.Mutex
	byName map[string]*vec
}

type vec struct {
	labels    []string
	counter   *prometheus.CounterVec
	gauge     *prometheus.GaugeVec
	histogram *prometheus.HistogramVec
}

func (h *sdkHandler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := make(map[string]string, len(h.tags)+len(tags))
	for k, v := range h.tags {
		merged[k] = v
	}
	for k, v := range tags {
		merged[k] = v
	}
	return &sdkHandler{vecs: h.vecs, tags: merged}
}

func (h *sdkHandler) Counter(name string) client.MetricsCounter {
	v := h.vecs.get(sanitize(name)+"_total", h.tags, func(labels []string) *vec {
		return &vec{counter: prometheus.NewCounterVec(prometheus.CounterOpts{Name: sanitize(name) + "_total", Help: h.vecs.describe(name)}, labels)}
	})
	return counter{v.counter.WithLabelValues(v.values(h.tags)...)}
}

func (h *sdkHandler) Gauge(name string) client.MetricsGauge {
	v := h.vecs.get(sanitize(name), h.tags, func(labels []string) *vec {
		return &vec{gauge: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: sanitize(name), Help: h.vecs.describe(name)}, labels)}
	})
	return gauge{v.gauge.WithLabelValues(v.values(h.tags)...)}
}

func (h *sdkHandler) Timer(name string) client.MetricsTimer {
	v := h.vecs.get(sanitize(name)+"_seconds", h.tags, func(labels []string) *vec {
		return &vec{histogram: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: sanitize(name) + "_seconds", Help: h.vecs.describe(name) + " (seconds)",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, labels)}
	})
	return timer{v.histogram.WithLabelValues(v.values(h.tags)...)}
}

func (vs *vecs) describe(name string) string { return cmp.Or(vs.help[name], name) }

// get returns the vector named name, creating and registering it with the
// label names of tags on first use.
func (vs *vecs) get(name string, tags map[string]string, create func(labels []string) *vec) *vec {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	if v, ok := vs.byName[name]; ok {
		return v
	}
	labels := make([]string, 0, len(tags))
	for k := range tags {
		labels = append(labels, sanitize(k))
	}
	slices.Sort(labels)
	labels = slices.Compact(labels)
	v := create(labels)
	v.labels = labels
	var c prometheus.Collector
	switch {
	case v.counter != nil:
		c = v.counter
	case v.gauge != nil:
		c = v.gauge
	default:
		c = v.histogram
	}
	if err := vs.reg.Register(c); err != nil {
		var already prometheus.AlreadyRegisteredError
		if errors.As(err, &already) {
			// Another handler on the same registry made it first: share it.
			switch existing := already.ExistingCollector.(type) {
			case *prometheus.CounterVec:
				v.counter = existing
			case *prometheus.GaugeVec:
				v.gauge = existing
			case *prometheus.HistogramVec:
				v.histogram = existing
			}
		}
		// Otherwise (a clash of kinds or labels) the metric goes unexposed;
		// callers still get a working vector.
	}
	vs.byName[name] = v
	return v
}

// values orders tags by the vector's label names.
func (v *vec) values(tags map[string]string) []string {
	out := make([]string, len(v.labels))
	for k, val := range tags {
		if i, ok := slices.BinarySearch(v.labels, sanitize(k)); ok {
			out[i] = val
		}
	}
	return out
}

// sanitize makes a Prometheus metric or label name.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}

type counter struct{ c prometheus.Counter }

func (c counter) Inc(n int64) { c.c.Add(float64(n)) }

type gauge struct{ g prometheus.Gauge }

func (g gauge) Update(v float64) { g.g.Set(v) }

type timer struct{ o prometheus.Observer }

func (t timer) Record(d time.Duration) { t.o.Observe(d.Seconds()) }

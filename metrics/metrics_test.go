package metrics_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/zentrix/webhooks/metrics"
)

func TestSDKHandlerExposesCountersTimersAndGauges(t *testing.T) {
	reg := metrics.NewRegistry()
	h := metrics.SDKHandler(reg, map[string]string{"zentrix_events_applied": "Events applied."})
	w := h.WithTags(map[string]string{"workflow": "call", "namespace": "default"})
	w.Counter("zentrix_events_applied").Inc(2)
	w.Counter("zentrix_events_applied").Inc(1)
	w.Timer("temporal_workflow_task_execution_latency").Record(30 * time.Millisecond)
	h.WithTags(map[string]string{"task_queue": "q"}).Gauge("temporal_num_pollers").Update(4)
	// Other tags on a metric already known: missing labels are empty, extra
	// ones dropped.
	h.WithTags(map[string]string{"workflow": "subscription", "extra": "x"}).Counter("zentrix_events_applied").Inc(1)

	rec := httptest.NewRecorder()
	metrics.Handler(reg).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	text := string(body)
	for _, want := range []string{
		`zentrix_events_applied_total{namespace="default",workflow="call"} 3`,
		`zentrix_events_applied_total{namespace="",workflow="subscription"} 1`,
		`temporal_workflow_task_execution_latency_seconds_count{namespace="default",workflow="call"} 1`,
		`temporal_num_pollers{task_queue="q"} 4`,
		"# HELP zentrix_events_applied_total Events applied.\n",
		"# HELP temporal_num_pollers temporal_num_pollers\n", // undescribed: its name
		`go_goroutines`,
		`process_resident_memory_bytes`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in:\n%s", want, grep(text, "zentrix_|temporal_"))
		}
	}
}

func grep(text, prefixes string) string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		for _, p := range strings.Split(prefixes, "|") {
			if strings.HasPrefix(line, p) {
				out = append(out, line)
			}
		}
	}
	return strings.Join(out, "\n")
}

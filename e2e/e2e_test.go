package e2e_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/zentrix/webhooks/activities"
	"github.com/zentrix/webhooks/internal/cluster"
	"github.com/zentrix/webhooks/internal/proc"
	"github.com/zentrix/webhooks/metrics"
	"github.com/zentrix/webhooks/receiver"
	"github.com/zentrix/webhooks/store"
	"github.com/zentrix/webhooks/temporal"
	"github.com/zentrix/webhooks/worker"
	"github.com/zentrix/webhooks/workflows"
)

const (
	callSecret     = "e2e-call-secret"
	razorpaySecret = "e2e-razorpay-secret"
	taskQueue      = "zentrix-webhooks-e2e"
)

// system is one running copy of everything: Temporal, worker, receiver.
type system struct {
	client    client.Client
	namespace string
	// link carries the receiver's connections to Temporal; closing it is
	// Temporal gone, for the receiver.
	link    *proc.Link
	store   *store.Store
	url     string               // the receiver's base URL
	metrics *prometheus.Registry // the worker's
}

// metric reads the worker's counter name with the given labels (0 if absent).
func (s *system) metric(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := s.metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if want, ok := labels[l.GetName()]; ok && want != l.GetValue() {
					continue next
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// temporalCLI finds the Temporal CLI that `make test` builds into bin/. Under
// CI=true a missing binary fails the run instead of skipping it.
func temporalCLI(t testing.TB) string {
	t.Helper()
	path := os.Getenv("TEMPORAL_CLI")
	if path == "" {
		path, _ = filepath.Abs(filepath.Join("..", "bin", "temporal"))
	}
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Temporal CLI not found at %s (run `make bin/temporal`): %v", path, err)
		}
		t.Skipf("Temporal CLI not found at %s; `make test` builds it", path)
	}
	return path
}

// options vary a system from the defaults: SQLite in a temporary directory,
// payments that linger one second, warnings on stderr.
type options struct {
	databaseURL string
	workflows   *workflows.Config
	// logs, when set, receives every log line of the worker, the receiver and
	// their Temporal clients as JSON, debug level and up.
	logs io.Writer
	// receiverConfig, when set, adjusts the receiver's configuration.
	receiverConfig func(*receiver.Config)
}

func start(t *testing.T, opts options) *system {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if opts.logs != nil {
		logger = slog.New(slog.NewJSONHandler(opts.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}

	hostPort, namespace := temporalServer(t, ctx, logger)
	c, err := client.Dial(client.Options{HostPort: hostPort, Namespace: namespace, Logger: sdklog.NewStructuredLogger(logger)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)

	if opts.databaseURL == "" {
		opts.databaseURL = "sqlite:" + filepath.Join(t.TempDir(), "zentrix.db")
	}
	db, err := store.Open(ctx, opts.databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	// Payments linger briefly so that the test sees one complete and can
	// redeliver to it.
	cfg := workflows.DefaultConfig()
	cfg.PaymentLinger = time.Second
	if opts.workflows != nil {
		cfg = *opts.workflows
	}
	// The worker gets its own client, reporting metrics as cmd/worker does.
	registry := metrics.NewRegistry()
	wc, err := client.Dial(client.Options{HostPort: hostPort, Namespace: namespace, Logger: sdklog.NewStructuredLogger(logger),
		MetricsHandler: metrics.SDKHandler(registry, workflows.MetricHelp)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(wc.Close)
	w := worker.New(wc, taskQueue, workflows.New(cfg), &activities.Activities{Store: db})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	// The receiver gets its own client, as in production, through a link
	// the test can cut.
	link, err := proc.NewLink(hostPort)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(link.Close)
	rc, err := client.Dial(client.Options{HostPort: link.Addr(), Namespace: namespace, Logger: sdklog.NewStructuredLogger(logger)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rc.Close)
	rcfg := receiver.Config{
		CallSecrets:     receiver.Secrets{[]byte(callSecret)},
		RazorpaySecrets: receiver.Secrets{[]byte(razorpaySecret)},
		BodyLimit:       1 << 20,
		HandoffTimeout:  2 * time.Second,
		TaskQueue:       taskQueue,
	}
	if opts.receiverConfig != nil {
		opts.receiverConfig(&rcfg)
	}
	app := receiver.New(rcfg, rc, logger)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- receiver.Serve(ctx, app, ln, 5*time.Second) }()
	t.Cleanup(func() { cancel(); <-served })

	return &system{client: c, namespace: namespace, link: link, store: db, url: "http://" + ln.Addr().String(), metrics: registry}
}

// clusterFrontend, when set, is the frontend of a Temporal cluster the tests
// run on instead of a dev server of their own: E2E_TEMPORAL_ADDRESS, or the
// cluster of TestClusterSmoke.
var clusterFrontend = os.Getenv("E2E_TEMPORAL_ADDRESS")

// temporalServer is where a test's system runs: in a namespace of its own
// on the cluster, or in the default namespace of a dev server of its own.
func temporalServer(t *testing.T, ctx context.Context, logger *slog.Logger) (hostPort, namespace string) {
	t.Helper()
	if clusterFrontend != "" {
		var b [6]byte
		_, _ = rand.Read(b[:])
		namespace = "e2e-" + hex.EncodeToString(b[:])
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := cluster.RegisterNamespace(ctx, clusterFrontend, namespace, 24*time.Hour); err != nil {
			t.Fatalf("namespace on the cluster at %s: %v", clusterFrontend, err)
		}
		t.Cleanup(func() {
			if err := cluster.DeleteNamespace(context.Background(), clusterFrontend, namespace); err != nil {
				t.Errorf("delete namespace %s: %v", namespace, err)
			}
		})
		return clusterFrontend, namespace
	}
	server, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:  temporalCLI(t),
		ClientOptions: &client.Options{Namespace: "default", Logger: sdklog.NewStructuredLogger(logger)},
		LogLevel:      "error",
		ExtraArgs:     temporal.DevServerFlags(),
		Stdout:        io.Discard,
	})
	if err != nil {
		t.Fatalf("start dev server: %v", err)
	}
	t.Cleanup(func() { _ = server.Stop() })
	return server.FrontendHostPort(), "default"
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "event", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

type reply struct {
	Status     int
	RetryAfter string
	Body       struct {
		Status     string `json:"status"`
		WorkflowID string `json:"workflowId"`
		Error      string `json:"error"`
	}
}

func (s *system) post(t *testing.T, path string, body []byte, headers map[string]string) reply {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.url+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := reply{Status: res.StatusCode, RetryAfter: res.Header.Get("Retry-After")}
	if err := json.Unmarshal(raw, &r.Body); err != nil {
		t.Fatalf("POST %s: response is not JSON: %q", path, raw)
	}
	return r
}

func (s *system) postCall(t *testing.T, body []byte, secret string) reply {
	return s.post(t, receiver.CallsPath, body, map[string]string{receiver.HeaderCallSignature: sign(secret, body)})
}

func (s *system) postRazorpay(t *testing.T, body []byte, eventID string) reply {
	return s.post(t, receiver.PaymentsPath, body, map[string]string{
		receiver.HeaderRazorpaySignature: sign(razorpaySecret, body),
		receiver.HeaderRazorpayEventID:   eventID,
	})
}

// eventually polls cond until it holds or the deadline passes: the worker
// applies events asynchronously after the receiver's 202.
func eventually(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func query[T any](t *testing.T, c client.Client, workflowID string) T {
	t.Helper()
	var st T
	v, err := c.QueryWorkflow(context.Background(), workflowID, "", workflows.QueryState)
	if err != nil {
		t.Fatalf("query %s: %v", workflowID, err)
	}
	if err := v.Get(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func (s *system) rows(t *testing.T) int {
	t.Helper()
	n, err := s.store.EventCount(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestWebhooksEndToEnd(t *testing.T) {
	s := start(t, options{})
	ctx := context.Background()

	// A signed call.started becomes a running CallWorkflow named by its callId.
	started := fixture(t, "call_started.json")
	if r := s.postCall(t, started, callSecret); r.Status != 202 || r.Body.Status != "accepted" || r.Body.WorkflowID != "call_abc123" {
		t.Fatalf("call.started: %+v", r)
	}
	eventually(t, "call recorded", func() error {
		if _, err := s.store.Event(ctx, activities.SourceCalls, "call_abc123/call.started"); err != nil {
			return err
		}
		return nil
	})
	desc, err := s.client.DescribeWorkflowExecution(ctx, "call_abc123", "")
	if err != nil {
		t.Fatal(err)
	}
	info := desc.GetWorkflowExecutionInfo()
	if info.GetType().GetName() != workflows.CallWorkflowType || info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Errorf("call workflow: type %s, status %s", info.GetType().GetName(), info.GetStatus())
	}
	if sa := info.GetSearchAttributes().GetIndexedFields()["CallStatus"]; string(sa.GetData()) != `"in_progress"` {
		t.Errorf("CallStatus search attribute = %s, want in_progress", sa.GetData())
	}
	if st := query[workflows.CallState](t, s.client, "call_abc123"); st.Status != workflows.CallInProgress || st.EventsApplied != 1 ||
		st.AgentID != "550e8400-e29b-41d4-a716-446655440000" || st.Platform != "phone" {
		t.Errorf("call state: %+v", st)
	}

	// The same delivery again is accepted, counted, and changes nothing.
	if r := s.postCall(t, started, callSecret); r.Status != 202 {
		t.Fatalf("redelivery: %+v", r)
	}
	eventually(t, "duplicate counted", func() error {
		if st := query[workflows.CallState](t, s.client, "call_abc123"); st.DuplicatesIgnored != 1 || st.EventsApplied != 1 {
			return errors.New("state " + jsonString(st))
		}
		return nil
	})
	if n := s.rows(t); n != 1 {
		t.Errorf("%d rows after a duplicate, want 1", n)
	}
	h := history(t, s.client, "call_abc123")
	if h[enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED] != 2 || h[enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED] != 1 ||
		h[enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES] != 1 {
		t.Errorf("history: %d signals (want both deliveries, 2), %d activities completed (want 1), %d upserts (want 1)",
			h[enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED], h[enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED],
			h[enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES])
	}

	// A forged body creates nothing.
	forged := bytes.ReplaceAll(started, []byte("call_abc123"), []byte("call_forged"))
	if r := s.postCall(t, forged, "not-the-secret"); r.Status != 401 {
		t.Fatalf("forged: %+v", r)
	}
	var notFound *serviceerror.NotFound
	if _, err := s.client.DescribeWorkflowExecution(ctx, "call_forged", ""); !errors.As(err, &notFound) {
		t.Errorf("a forged request reached Temporal: %v", err)
	}

	// Razorpay: subscription.activated with its event id, then the same
	// delivery again.
	activated := fixture(t, "razorpay_subscription_activated.json")
	for i := range 2 {
		if r := s.postRazorpay(t, activated, "evt_act_1"); r.Status != 202 || r.Body.WorkflowID != "sub_Nq4xR2sT9uVwXy" {
			t.Fatalf("subscription.activated #%d: %+v", i+1, r)
		}
	}
	eventually(t, "subscription applied once", func() error {
		st := query[workflows.SubscriptionState](t, s.client, "sub_Nq4xR2sT9uVwXy")
		if st.Status != "active" || st.Access != workflows.AccessGranted || st.EventsApplied != 1 || st.DuplicatesIgnored != 1 ||
			st.PlanID != "plan_Nq4vB1cD2eF3gH" {
			return errors.New("state " + jsonString(st))
		}
		return nil
	})
	eventually(t, "subscription event recorded", func() error {
		_, err := s.store.Event(ctx, activities.SourceRazorpay, "evt_act_1")
		return err
	})
	if n := s.rows(t); n != 2 {
		t.Errorf("%d rows after a duplicate subscription event, want 2", n)
	}

	// payment.failed runs a PaymentWorkflow that completes; a late redelivery
	// gets 200 duplicate and starts nothing.
	failed := fixture(t, "razorpay_payment_failed.json")
	if r := s.postRazorpay(t, failed, "evt_fail_1"); r.Status != 202 || r.Body.WorkflowID != "pay_Oa1bC2dE3fG4hI" {
		t.Fatalf("payment.failed: %+v", r)
	}
	var pst workflows.PaymentState
	if err := s.client.GetWorkflow(ctx, "pay_Oa1bC2dE3fG4hI", "").Get(ctx, &pst); err != nil {
		t.Fatal(err)
	}
	if pst.Status != "failed" || pst.Reason != "insufficient_funds" {
		t.Errorf("payment result: %+v", pst)
	}
	rowsBefore := s.rows(t)
	if r := s.postRazorpay(t, failed, "evt_fail_1"); r.Status != 200 || r.Body.Status != "duplicate" {
		t.Fatalf("late redelivery: %+v", r)
	}
	// The latest run under the id is still the completed one: no new run.
	if d, err := s.client.DescribeWorkflowExecution(ctx, "pay_Oa1bC2dE3fG4hI", ""); err != nil ||
		d.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Errorf("after a late redelivery the payment workflow is %v (%v), want the completed run", d.GetWorkflowExecutionInfo().GetStatus(), err)
	}
	if n := s.rows(t); n != rowsBefore {
		t.Errorf("rows went from %d to %d on a late redelivery", rowsBefore, n)
	}

	// With Temporal gone, the receiver refuses with 503 and is not ready.
	s.link.Close()
	ended := fixture(t, "call_ended.json")
	if r := s.postCall(t, ended, callSecret); r.Status != 503 || r.RetryAfter == "" {
		t.Errorf("with Temporal down: %+v", r)
	}
	res, err := http.Get(s.url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 503 {
		t.Errorf("/readyz with Temporal down: %d", res.StatusCode)
	}
}

// history counts the events of each type in a workflow's history.
func history(t *testing.T, c client.Client, workflowID string) map[enumspb.EventType]int {
	t.Helper()
	counts := map[enumspb.EventType]int{}
	it := c.GetWorkflowHistory(context.Background(), workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		counts[e.GetEventType()]++
	}
	return counts
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestClusterSmoke brings up a Temporal cluster on PostgreSQL, the shape of
// `make cluster` (four services of the real server), and runs a call, a
// subscription and a failed payment end to end on it. `make e2e-cluster`
// runs every test of this package on such a cluster.
func TestClusterSmoke(t *testing.T) {
	if clusterFrontend != "" {
		t.Skip("every test of this run is on the cluster at " + clusterFrontend)
	}
	c := cluster.ForTest(t)
	clusterFrontend = c.Address()
	t.Cleanup(func() { clusterFrontend = "" })
	t.Run("webhooks", TestWebhooksEndToEnd)
	t.Run("subscription-life", TestSubscriptionLifeEndToEnd)
}

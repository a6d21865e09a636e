package e2e_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/zentrix/webhooks/workflows"
)

// postgresURL gives the test a fresh schema on the local PostgreSQL
// (TEST_DATABASE_URL) and returns a URL that uses it. Under CI=true an
// unreachable server fails the test.
func postgresURL(t *testing.T) string {
	t.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL unreachable at TEST_DATABASE_URL: %v", err)
		}
		t.Skipf("PostgreSQL unreachable: %v", err)
	}
	defer conn.Close(context.Background())
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "e2e_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err == nil {
			_, _ = c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			c.Close(context.Background())
		}
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

// A whole call over signed HTTP, its events out of order and each delivered
// twice, ends as one ended call with one transfer, in SQLite and in
// PostgreSQL alike.
func TestCallEndToEnd(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			opts := options{workflows: &workflows.Config{
				CallMaxDuration: time.Hour, CallLinger: 3 * time.Second,
				SubscriptionLinger: time.Hour, PaymentLinger: time.Hour,
			}}
			if dialect == "postgres" {
				opts.databaseURL = postgresURL(t)
			}
			s := start(t, opts)
			ctx := context.Background()

			order := []string{"call_ended.json", "call_transferred.json", "call_started.json"}
			for _, name := range append(order, order...) {
				if r := s.postCall(t, fixture(t, name), callSecret); r.Status != 202 {
					t.Fatalf("%s: %+v", name, r)
				}
			}
			var st workflows.CallState
			eventually(t, "call applied", func() error {
				st = query[workflows.CallState](t, s.client, "call_abc123")
				if st.Status != workflows.CallEnded || st.EventsApplied != 3 || st.DuplicatesIgnored != 3 || len(st.Transfers) != 1 {
					return errors.New("state " + jsonString(st))
				}
				return nil
			})
			if st.AgentID != "human_support_7" || st.Duration != 245 || st.Sentiment != "positive" {
				t.Errorf("state %s", jsonString(st))
			}

			var res workflows.CallState
			if err := s.client.GetWorkflow(ctx, "call_abc123", "").Get(ctx, &res); err != nil {
				t.Fatalf("the call did not complete after its linger: %v", err)
			}
			row, err := s.store.Call(ctx, "call_abc123")
			if err != nil {
				t.Fatal(err)
			}
			if row.Status != workflows.CallEnded || row.DurationSeconds != 245 || row.Sentiment != "positive" ||
				!strings.HasPrefix(row.Summary, "Customer inquired") || !strings.HasPrefix(row.Transcript, "Agent: Hello") ||
				row.AgentID != "550e8400-e29b-41d4-a716-446655440000" || row.CurrentAgentID != "human_support_7" ||
				row.Platform != "phone" || row.StartedAt.IsZero() || row.EndedAt.IsZero() {
				t.Errorf("calls row %+v", row)
			}
			transfers, err := s.store.CallTransfers(ctx, "call_abc123")
			if err != nil {
				t.Fatal(err)
			}
			if len(transfers) != 1 || transfers[0].ToAgentID != "human_support_7" || transfers[0].Reason != "customer_requested_human" ||
				!strings.Contains(transfers[0].Context, "returns") {
				t.Errorf("call_transfers %+v", transfers)
			}
			if n := s.rows(t); n != 3 {
				t.Errorf("%d webhook_events rows, want 3", n)
			}
			call := map[string]string{"workflow": "call"}
			if applied, dups, late := s.metric(t, "zentrix_events_applied_total", call), s.metric(t, "zentrix_duplicates_dropped_total", call),
				s.metric(t, "zentrix_out_of_order_events_total", call); applied != 3 || dups != 3 || late != 2 {
				t.Errorf("worker metrics: %v applied, %v duplicates, %v out of order; want 3, 3, 2", applied, dups, late)
			}

			// Operators find it by its status.
			eventually(t, "visible under CallStatus", func() error {
				resp, err := s.client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
					Query: `CallStatus = "ended" AND WorkflowId = "call_abc123"`,
				})
				if err != nil {
					return err
				}
				if len(resp.GetExecutions()) != 1 {
					return fmt.Errorf("%d executions", len(resp.GetExecutions()))
				}
				return nil
			})

			// After the linger a redelivery starts nothing.
			if r := s.postCall(t, fixture(t, "call_ended.json"), callSecret); r.Status != 200 || r.Body.Status != "duplicate" {
				t.Errorf("redelivery after completion: %+v", r)
			}
			if dialect == "sqlite" {
				recordHistory(t, s, "call_abc123", "call_out_of_order")
			}
		})
	}
}

// A call that never ends is abandoned, recorded as such, and completes.
func TestAbandonedCallEndToEnd(t *testing.T) {
	s := start(t, options{workflows: &workflows.Config{
		CallMaxDuration: 2 * time.Second, CallLinger: 2 * time.Second,
		SubscriptionLinger: time.Hour, PaymentLinger: time.Hour,
	}})
	ctx := context.Background()
	if r := s.postCall(t, fixture(t, "call_started.json"), callSecret); r.Status != 202 {
		t.Fatalf("call.started: %+v", r)
	}
	var res workflows.CallState
	if err := s.client.GetWorkflow(ctx, "call_abc123", "").Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.Status != workflows.CallAbandoned {
		t.Errorf("result %s", jsonString(res))
	}
	row, err := s.store.Call(ctx, "call_abc123")
	if err != nil || row.Status != workflows.CallAbandoned || row.Revision != 2 {
		t.Errorf("calls row %+v, %v", row, err)
	}
	recordHistory(t, s, "call_abc123", "call_abandoned")
}

// recordHistory writes a workflow's history to workflows/testdata/histories
// when RECORD_HISTORIES=1, for the replay test there.
func recordHistory(t *testing.T, s *system, workflowID, name string) {
	t.Helper()
	if os.Getenv("RECORD_HISTORIES") != "1" {
		return
	}
	var h historypb.History
	it := s.client.GetWorkflowHistory(context.Background(), workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, e)
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&h)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "workflows", "testdata", "histories", name+".json")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded %s (%d events)", path, len(h.Events))
}

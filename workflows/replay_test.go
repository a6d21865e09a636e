package workflows_test

import (
	"log/slog"
	"path/filepath"
	"testing"

	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/zentrix/webhooks/workflows"
)

// TestReplayRecordedHistories replays the histories that the end-to-end tests
// recorded from a real dev server (RECORD_HISTORIES=1 go test ./e2e) against
// today's workflow code: a change that would break running workflows fails
// here with a non-determinism error.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no recorded histories in testdata/histories")
	}
	logger := sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(wf.CallWorkflow, workflow.RegisterOptions{Name: workflows.CallWorkflowType})
			r.RegisterWorkflowWithOptions(wf.SubscriptionWorkflow, workflow.RegisterOptions{Name: workflows.SubscriptionWorkflowType})
			r.RegisterWorkflowWithOptions(wf.PaymentWorkflow, workflow.RegisterOptions{Name: workflows.PaymentWorkflowType})
			if err := r.ReplayWorkflowHistoryFromJSONFile(logger, file); err != nil {
				t.Errorf("replay %s: %v", file, err)
			}
		})
	}
}

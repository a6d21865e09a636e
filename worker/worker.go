// Package worker is the one place that registers the workflows and activities
// with a Temporal worker and runs it. cmd/worker wires it to the store; the
// integration tests run it in-process.
package worker

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/zentrix/webhooks/activities"
	"github.com/zentrix/webhooks/workflows"
)

// stopTimeout is how long a stopping worker lets running activities finish
// before it leaves them to time out and be retried elsewhere.
const stopTimeout = 10 * time.Second

// Register adds every workflow and activity to r.
func Register(r sdkworker.Registry, acts *activities.Activities) {
	r.RegisterWorkflowWithOptions(workflows.CallWorkflow, workflow.RegisterOptions{Name: workflows.CallWorkflowType})
	r.RegisterWorkflowWithOptions(workflows.SubscriptionWorkflow, workflow.RegisterOptions{Name: workflows.SubscriptionWorkflowType})
	r.RegisterWorkflowWithOptions(workflows.PaymentWorkflow, workflow.RegisterOptions{Name: workflows.PaymentWorkflowType})
	r.RegisterActivity(acts)
}

// New returns a worker for taskQueue with everything registered.
func New(c client.Client, taskQueue string, acts *activities.Activities) sdkworker.Worker {
	w := sdkworker.New(c, taskQueue, sdkworker.Options{WorkerStopTimeout: stopTimeout})
	Register(w, acts)
	return w
}

// Run polls taskQueue until ctx is done, then stops gracefully.
func Run(ctx context.Context, c client.Client, taskQueue string, acts *activities.Activities) error {
	w := New(c, taskQueue, acts)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker on %s: %w", taskQueue, err)
	}
	<-ctx.Done()
	w.Stop()
	return nil
}

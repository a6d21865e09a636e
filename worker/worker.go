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
func Register(r sdkworker.Registry, wf *workflows.Workflows, acts *activities.Activities) {
	r.RegisterWorkflowWithOptions(wf.CallWorkflow, workflow.RegisterOptions{Name: workflows.CallWorkflowType})
	r.RegisterWorkflowWithOptions(wf.SubscriptionWorkflow, workflow.RegisterOptions{Name: workflows.SubscriptionWorkflowType})
	r.RegisterWorkflowWithOptions(wf.PaymentWorkflow, workflow.RegisterOptions{Name: workflows.PaymentWorkflowType})
	r.RegisterActivity(acts)
}

// Tuning holds the worker options chosen from measurement (see
// docs/benchmarks.md); zero values keep the SDK's defaults.
type Tuning struct {
	WorkflowTaskPollers int `env:"WORKER_WORKFLOW_TASK_POLLERS, default=8"`
	ActivityTaskPollers int `env:"WORKER_ACTIVITY_TASK_POLLERS, default=8"`
}

// New returns a worker for taskQueue with everything registered. Activities
// that hand work to other workflows use c unless acts has a Notifier.
func New(c client.Client, taskQueue string, wf *workflows.Workflows, acts *activities.Activities, tuning ...Tuning) sdkworker.Worker {
	if acts.Notifier == nil {
		acts.Notifier = Notifier{Client: c, TaskQueue: taskQueue}
	}
	opts := sdkworker.Options{WorkerStopTimeout: stopTimeout}
	for _, t := range tuning {
		opts.MaxConcurrentWorkflowTaskPollers = t.WorkflowTaskPollers
		opts.MaxConcurrentActivityTaskPollers = t.ActivityTaskPollers
	}
	w := sdkworker.New(c, taskQueue, opts)
	Register(w, wf, acts)
	return w
}

// Run polls taskQueue until ctx is done, then stops gracefully. It returns
// early with the error if the worker fails for good.
func Run(ctx context.Context, c client.Client, taskQueue string, wf *workflows.Workflows, acts *activities.Activities, tuning Tuning) error {
	stop := make(chan any)
	go func() {
		<-ctx.Done()
		close(stop)
	}()
	if err := New(c, taskQueue, wf, acts, tuning).Run(stop); err != nil {
		return fmt.Errorf("worker on %s: %w", taskQueue, err)
	}
	return nil
}

package cluster_test

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/zentrix/webhooks/internal/cluster"
)

// TestStart brings a cluster up on free ports and fresh databases, starts a
// workflow in it through the frontend, and takes it down again.
func TestStart(t *testing.T) {
	c := cluster.ForTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := client.DialContext(ctx, client.Options{HostPort: c.Address(), Namespace: c.Namespace})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	run, err := cl.SignalWithStartWorkflow(ctx, "cluster-test", "ping", nil,
		client.StartWorkflowOptions{TaskQueue: "cluster-test", WorkflowExecutionTimeout: time.Minute}, "Nothing")
	if err != nil {
		t.Fatalf("signal with start on the cluster: %v", err)
	}
	desc, err := cl.DescribeWorkflowExecution(ctx, "cluster-test", run.GetRunID())
	if err != nil {
		t.Fatal(err)
	}
	if got := desc.GetWorkflowExecutionInfo().GetType().GetName(); got != "Nothing" {
		t.Fatalf("workflow type %q, want Nothing", got)
	}
	for _, name := range cluster.Services {
		if !c.Services[name].Alive() {
			t.Errorf("service %s is not running", name)
		}
	}
}

package e2e_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/zentrix/webhooks/workflows"
)

// BenchmarkDevServerPragmas measures what `make run` gains from running the
// dev server's SQLite file with WAL and synchronous=normal: SignalWithStart
// of new workflows (no worker, as the receiver's hand-off) at 16 concurrent
// callers, against the default journal, on servers started in this process.
//
//	go test -run='^$' -bench=DevServerPragmas -benchtime=400x ./e2e
func BenchmarkDevServerPragmas(b *testing.B) {
	arms := []struct {
		name string
		args []string
	}{
		{"default-journal", nil},
		{"wal-synchronous-normal", []string{"--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"}},
	}
	for _, arm := range arms {
		b.Run(arm.name, func(b *testing.B) {
			ctx := context.Background()
			server, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
				ExistingPath:  temporalCLI(b),
				ClientOptions: &client.Options{Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))},
				DBFilename:    filepath.Join(b.TempDir(), "temporal.db"),
				LogLevel:      "error",
				Stdout:        io.Discard,
				ExtraArgs:     arm.args,
			})
			if err != nil {
				b.Fatal(err)
			}
			defer server.Stop()
			c := server.Client()
			const workers = 16
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						id := fmt.Sprintf("bench-%s-%d", arm.name, i)
						_, err := c.SignalWithStartWorkflow(ctx, id, workflows.SignalCallEvent, workflows.CallSignal{},
							client.StartWorkflowOptions{ID: id, TaskQueue: "bench-no-worker"}, workflows.CallWorkflowType, workflows.CallInput{CallID: id})
						if err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "signalwithstart/s")
		})
	}
}

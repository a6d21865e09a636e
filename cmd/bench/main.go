// Command bench is `make bench`: it starts its own Temporal dev server (from
// bin/temporal), receiver and worker (built from this tree into a temporary
// directory), runs every arm of the benchmark against a baseline measured in
// the same run, prints a table of figures and ratios, writes it to
// docs/benchmarks.md, and stops everything it started.
//
// Arms: 1 ingest through the receiver against the bare SDK's SignalWithStart;
// 2 forged requests against a bare Fiber handler, and a 1 GB body refused
// unread; 3 the worker draining a backlog against the ingest rate; 4
// signature and parsing micro-benchmarks; 5 memory of the receiver at 1,000
// connections and of the worker with many open calls; 6 ingest and drain on
// a Temporal cluster on PostgreSQL (bin/temporal-server), with two
// receivers and two workers.
//
//	go run ./cmd/bench            # the full run, a few minutes
//	go run ./cmd/bench -quick     # tiny counts: what make test runs
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/zentrix/webhooks/internal/service"
)

// options size a run.
type options struct {
	quick       bool
	out         string
	temporalCLI string
	rounds      int           // interleaved rounds per comparison; medians are reported
	ingest      map[int]int   // concurrency → requests per round
	forged      time.Duration // per round and target
	drainCalls  int           // calls (2 events each) and subscriptions (1 event) in the backlog
	memConns    int
	memCalls    int
	openSeconds float64 // length of each open-loop round
}

func fullOptions() options {
	return options{
		out: "docs/benchmarks.md", temporalCLI: "bin/temporal", rounds: 3,
		ingest: map[int]int{1: 200, 16: 400, 64: 600}, forged: 3 * time.Second,
		drainCalls: 400, memConns: 1000, memCalls: 10000, openSeconds: 5,
	}
}

func quickOptions() options {
	return options{
		quick: true, temporalCLI: "bin/temporal", rounds: 1,
		ingest: map[int]int{1: 4, 16: 16, 64: 64}, forged: 300 * time.Millisecond,
		drainCalls: 10, memConns: 50, memCalls: 20, openSeconds: 0.2,
	}
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == bareFiberCommand {
		if err := serveBareFiber(os.Args[2]); err != nil {
			service.Exit("bench", err)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == bareWorkerCommand {
		if err := serveBareWorker(os.Args[2:]); err != nil {
			service.Exit("bench", err)
		}
		return
	}
	ctx, stop := service.Context()
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		service.Exit("bench", err)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	quick := fs.Bool("quick", false, "tiny counts, to check the harness (make test)")
	out := fs.String("out", "", "write the report here (default docs/benchmarks.md; none with -quick)")
	cli := fs.String("temporal", "bin/temporal", "the Temporal CLI that runs the dev server")
	only := fs.String("arms", "", "comma-separated arms to run (1-6; default all); the report then has only those")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts := fullOptions()
	if *quick {
		opts = quickOptions()
	}
	opts.temporalCLI = *cli
	if *out != "" {
		opts.out = *out
	}
	started := time.Now()
	env, err := setUp(ctx, opts, stdout)
	if err != nil {
		return err
	}
	defer env.tearDown()

	var r report
	r.machine = machine()
	steps := []struct {
		name string
		fn   func(context.Context, *benchEnv, options, *report) error
	}{
		{"4 micro-benchmarks", microArm},
		{"1 ingest", ingestArm},
		{"2 forged requests", forgedArm},
		{"3 worker drain", drainArm},
		{"5 memory", memoryArm},
		{"6 cluster", clusterArm},
	}
	for _, s := range steps {
		if *only != "" && !strings.Contains(","+*only+",", ","+s.name[:1]+",") {
			continue
		}
		fmt.Fprintf(stdout, "arm %s…\n", s.name)
		if err := s.fn(ctx, env, opts, &r); err != nil {
			return fmt.Errorf("arm %s: %w", s.name, err)
		}
	}
	r.elapsed = time.Since(started)
	text := r.markdown(opts)
	fmt.Fprintln(stdout, text)
	if opts.out != "" {
		if err := os.WriteFile(opts.out, []byte(text), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "written to %s\n", opts.out)
	}
	if *only != "" {
		return nil
	}
	return r.check()
}

package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/zentrix/webhooks/loadgen"
	"github.com/zentrix/webhooks/worker"
)

type ingestRow struct {
	concurrency, requests int // requests a round
	ours, bare            loadgen.Result
	oursShed, bareShed    int // requests shed (503, deadline) over all rounds
}

type openRow struct {
	rate       float64
	requests   int
	ours, bare loadgen.Result
}

type forgedRow struct {
	tool       string
	ours, bare float64
}

type hugeRow struct {
	status string
	after  time.Duration
	sent   int64
}

type drainRow struct {
	tuning               worker.Tuning
	events               int
	elapsed              time.Duration
	rate                 float64
	serverCPU, workerCPU float64 // CPU seconds used during the drain
	bare                 bareDrain
}

// bareDrain is the baseline of a drainRow: the same backlog drained by the
// bare worker of bareWorkerCommand.
type bareDrain struct {
	elapsed              time.Duration
	rate                 float64
	serverCPU, workerCPU float64
}

type microRow struct {
	name string
	ours testing.BenchmarkResult
	bare testing.BenchmarkResult // zero when there is no baseline
}

type memRow struct {
	what          string
	before, after int64
}

// report gathers the figures of one run.
type report struct {
	machine string
	elapsed time.Duration
	ingest  []ingestRow
	// serverCPUPerIngest is the dev server's CPU seconds per SignalWithStart
	// (bare arm, last concurrency): the yardstick of the drain's cost.
	serverCPUPerIngest float64
	// receiverCPUPerIngest is the receiver's CPU seconds per accepted event
	// in the same runs (ours).
	receiverCPUPerIngest float64
	// bareClientCPUPerIngest is the benchmark's own CPU seconds per event in
	// the bare arm: the SDK client doing the SignalWithStart calls, with the
	// load generator that drives it.
	bareClientCPUPerIngest float64
	open                   openRow
	forged                 forgedRow
	huge                   hugeRow
	drain                  []drainRow
	micro                  []microRow
	memory                 []memRow
	cluster                *clusterRow
}

// Targets of the benchmark issue.
const (
	targetIngestRatio = 0.95
	targetIngestP50   = 2 * time.Millisecond
	targetForgedRatio = 0.90
	targetDrainRatio  = 1.0
	targetMicroRatio  = 1.10 // time per op against bare HMAC
)

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}

func (r *report) markdown(opts options) string {
	var b strings.Builder
	title := "Benchmarks"
	if opts.quick {
		title += " (quick smoke run: tiny counts, figures not meaningful)"
	}
	fmt.Fprintf(&b, "# %s\n\n", title)
	fmt.Fprintf(&b, "Measured by `make bench` (`go run ./cmd/bench`) on %s, %s, in %s. Every comparison runs its baseline in the same process, interleaved round by round (%d rounds, medians). The machines are shared: read the ratios, not the absolute times.\n\n",
		time.Now().UTC().Format("2006-01-02"), r.machine, r.elapsed.Round(time.Second), opts.rounds)

	b.WriteString("## 1. Ingest: receiver against the bare SDK\n\n")
	b.WriteString("Signed `call.started` and `subscription.charged` bodies (about 0.5 and 2 KB) posted to the receiver, closed loop, against the same SignalWithStart calls made directly with the SDK, on the same dev server (SQLite file, WAL), no worker running.\n\n")
	ingestTable(&b, "receiver", r.ingest)

	fmt.Fprintf(&b, "\nAt concurrency 64 the dev server spent %.1f ms of CPU per SignalWithStart and the receiver %.2f ms per accepted event (HTTP, signature, parsing, its SDK client; the bare SDK client with its load generator took %.2f ms): %.0f%% of the server's cost, taken from the same %d CPUs. Past concurrency 1 the server is saturated and requests queue in it, so latency there is queueing: the receiver's share of the CPUs, and the round-to-round noise of a saturated server, are what the p50 gap shows.\n", 1000*r.serverCPUPerIngest, 1000*r.receiverCPUPerIngest, 1000*r.bareClientCPUPerIngest, 100*loadgen.Ratio(r.receiverCPUPerIngest, r.serverCPUPerIngest), numCPU())
	fmt.Fprintf(&b, "\nOpen loop: both offered %.0f arrivals/s (70%% of the bare SDK's closed-loop rate at 64), %d requests a round, latency counted from each request's scheduled time.\n\n", r.open.rate, r.open.requests)
	b.WriteString("| path | completed /s | p50 | p90 | p99 | max |\n|---|---|---|---|---|---|\n")
	for _, row := range []struct {
		name string
		res  loadgen.Result
	}{{"receiver", r.open.ours}, {"bare SDK", r.open.bare}} {
		fmt.Fprintf(&b, "| %s | %.0f | %s | %s | %s | %s |\n", row.name, row.res.Throughput, ms(row.res.Latency.P50),
			ms(row.res.Latency.P90), ms(row.res.Latency.P99), ms(row.res.Latency.Max))
	}

	b.WriteString("\n## 2. Forged requests\n\n")
	fr := loadgen.Ratio(r.forged.ours, r.forged.bare)
	fmt.Fprintf(&b, "A body with a wrong signature against a Fiber handler that only answers 200 (same settings, same body), with %s.\n\n", r.forged.tool)
	b.WriteString("| receiver (401) /s | bare handler (200) /s | ratio | target (≥ 0.90) |\n|---|---|---|---|\n")
	fmt.Fprintf(&b, "| %.0f | %.0f | %.2f | %s |\n\n", r.forged.ours, r.forged.bare, fr, verdict(fr >= targetForgedRatio))
	fmt.Fprintf(&b, "A 1 GB body (declared by Content-Length, then streamed): `%s` after %s, %s written before the answer (the body is not read past the limit).\n",
		r.huge.status, ms(r.huge.after), byteSize(int(r.huge.sent)))

	b.WriteString("\n## 3. Worker drain\n\n")
	ingest := 0.0
	if n := len(r.ingest); n > 0 {
		ingest = r.ingest[n-1].ours.Throughput
	}
	b.WriteString("Per worker tuning, a fresh backlog of events (a third calls started, a third calls ended, a third subscriptions charged) queued with no worker, then drained by one worker to the end of its activities (rows in SQLite), with eager activity dispatch on.\n\n")
	fmt.Fprintf(&b, "The dev server spent %.1f ms of CPU per ingested event (SignalWithStart, arm 1 at 64) and the CPU time in the last columns per drained event: each drained event is a workflow task, an activity and a second workflow task on the server.\n\n", 1000*r.serverCPUPerIngest)
	b.WriteString("| workflow / activity task pollers | events | drained in | worker events/s | receiver ingest /s (c=64) | ratio | target (≥ 1.0) | dev server CPU | worker CPU | server CPU per event |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, d := range r.drain {
		dr := loadgen.Ratio(d.rate, ingest)
		fmt.Fprintf(&b, "| %d / %d | %d | %s | %.0f | %.0f | %.2f | %s | %.1f s (%.0f%%) | %.1f s (%.0f%%) | %.1f ms |\n", d.tuning.WorkflowTaskPollers, d.tuning.ActivityTaskPollers,
			d.events, d.elapsed.Round(time.Millisecond), d.rate, ingest, dr, verdict(dr >= targetDrainRatio),
			d.serverCPU, 100*d.serverCPU/d.elapsed.Seconds(), d.workerCPU, 100*d.workerCPU/d.elapsed.Seconds(),
			1000*d.serverCPU/float64(d.events))
	}
	b.WriteString("\nThe same backlog, before each of our drains, drained by a bare worker (same tuning, our workflow type and signal names) whose workflows take each signal and run one activity that only counts it: the least Temporal needs per event, so its rate is the server's ceiling for this work on this machine, and ours against it is what our workflows, search attributes and writes cost.\n\n")
	b.WriteString("| workflow / activity task pollers | bare worker events/s | ours events/s | ours / bare | server CPU per event, bare / ours | worker CPU per event, bare / ours |\n|---|---|---|---|---|---|\n")
	for _, d := range r.drain {
		n := float64(max(1, d.events))
		fmt.Fprintf(&b, "| %d / %d | %.0f | %.0f | %.2f | %.1f / %.1f ms | %.1f / %.1f ms |\n", d.tuning.WorkflowTaskPollers, d.tuning.ActivityTaskPollers,
			d.bare.rate, d.rate, loadgen.Ratio(d.rate, d.bare.rate), 1000*d.bare.serverCPU/n, 1000*d.serverCPU/n,
			1000*d.bare.workerCPU/n, 1000*d.workerCPU/n)
	}

	b.WriteString("\n## 4. Verification and parsing\n\n")
	b.WriteString("| operation | ours ns/op | allocs/op | B/op | bare crypto/hmac ns/op | allocs/op | ratio | target (≤ 1.10, no alloc) |\n|---|---|---|---|---|---|---|---|\n")
	for _, m := range r.micro {
		if m.bare.N == 0 {
			fmt.Fprintf(&b, "| %s | %d | %d | %d | | | | |\n", m.name, m.ours.NsPerOp(), m.ours.AllocsPerOp(), m.ours.AllocedBytesPerOp())
			continue
		}
		ratio := float64(m.ours.NsPerOp()) / float64(max(1, m.bare.NsPerOp()))
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %.2f | %s |\n", m.name, m.ours.NsPerOp(), m.ours.AllocsPerOp(),
			m.ours.AllocedBytesPerOp(), m.bare.NsPerOp(), m.bare.AllocsPerOp(), ratio,
			verdict(ratio <= targetMicroRatio && m.ours.AllocsPerOp() == 0))
	}

	if c := r.cluster; c != nil {
		fmt.Fprintf(&b, "\n## 6. On a Temporal cluster\n\n")
		fmt.Fprintf(&b, "The real server (go.temporal.io/server v1.29.1, the shape of `make cluster`): frontend, history, matching and worker as four processes on the local PostgreSQL, %d history shards, fresh databases. Ingest as in arm 1, through %d receivers (requests alternate between them) against the bare SDK on the same cluster; then a backlog as in arm 3 drained by %d workers (default tuning) into a PostgreSQL store. The server, the receivers, the workers, PostgreSQL and the load generator share the machine's %d CPUs.\n\n",
			c.shards, c.receivers, c.workers, numCPU())
		ingestTable(&b, "receivers", c.ingest)
		d := c.drain
		clusterIngest := 0.0
		if n := len(c.ingest); n > 0 {
			clusterIngest = c.ingest[n-1].ours.Throughput
		}
		dr := loadgen.Ratio(d.rate, clusterIngest)
		b.WriteString("\n| workers | events | drained in | events/s | receivers ingest /s (c=64) | ratio | target (≥ 1.0) | server CPU (4 services) | workers CPU | server CPU per event |\n|---|---|---|---|---|---|---|---|---|---|\n")
		fmt.Fprintf(&b, "| %d | %d | %s | %.0f | %.0f | %.2f | %s | %.1f s (%.0f%%) | %.1f s (%.0f%%) | %.1f ms |\n", c.workers, d.events,
			d.elapsed.Round(time.Millisecond), d.rate, clusterIngest, dr, verdict(dr >= targetDrainRatio),
			d.serverCPU, 100*d.serverCPU/d.elapsed.Seconds(), d.workerCPU, 100*d.workerCPU/d.elapsed.Seconds(),
			1000*d.serverCPU/float64(max(1, d.events)))
	}

	b.WriteString("\n## 5. Memory\n\n| process | RSS before | RSS after | growth |\n|---|---|---|---|\n")
	for _, m := range r.memory {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", m.what, byteSize(int(m.before)), byteSize(int(m.after)), byteSize(int(m.after-m.before)))
	}
	return b.String()
}

// ingestTable writes the rows of an ingest arm, ours named as given, against
// the bare SDK.
func ingestTable(b *strings.Builder, ours string, rows []ingestRow) {
	fmt.Fprintf(b, "| concurrency | requests | %[1]s /s | bare SDK /s | ratio | %[1]s p50 / p99 | bare p50 / p99 | p50 gap | shed past the 2 s deadline, %[1]s / bare | target (ratio ≥ 0.95, gap ≤ 2 ms) |\n|---|---|---|---|---|---|---|---|---|---|\n", ours)
	for _, row := range rows {
		ratio := loadgen.Ratio(row.ours.Throughput, row.bare.Throughput)
		gap := row.ours.Latency.P50 - row.bare.Latency.P50
		fmt.Fprintf(b, "| %d | %d | %.0f | %.0f | %.2f | %s / %s | %s / %s | %s | %d / %d | %s |\n", row.concurrency, row.requests,
			row.ours.Throughput, row.bare.Throughput, ratio, ms(row.ours.Latency.P50), ms(row.ours.Latency.P99),
			ms(row.bare.Latency.P50), ms(row.bare.Latency.P99), ms(gap), row.oursShed, row.bareShed,
			verdict(ratio >= targetIngestRatio && gap <= targetIngestP50))
	}
}

// check fails a run whose measurements are missing, not one that misses a
// target: targets are reported in the table.
func (r *report) check() error {
	if len(r.ingest) == 0 || r.forged.bare == 0 || len(r.drain) == 0 || len(r.micro) == 0 || len(r.memory) != 2 ||
		r.cluster == nil || len(r.cluster.ingest) == 0 {
		return fmt.Errorf("incomplete report")
	}
	if !strings.HasPrefix(r.huge.status, "HTTP/1.1 413") {
		return fmt.Errorf("a 1 GB body got %q, want 413", r.huge.status)
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func byteSize(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}

package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/zentrix/webhooks/event"
	"github.com/zentrix/webhooks/internal/sample"
	"github.com/zentrix/webhooks/loadgen"
	"github.com/zentrix/webhooks/receiver"
	"github.com/zentrix/webhooks/store"
	"github.com/zentrix/webhooks/worker"
	"github.com/zentrix/webhooks/workflows"
)

// The bare Fiber server uses the receiver's timeouts.
const (
	readTimeout  = 10 * time.Second
	writeTimeout = 10 * time.Second
	idleTimeout  = 60 * time.Second
)

func numCPU() int { return runtime.NumCPU() }

// delivery is one signed webhook ready to post.
type delivery struct {
	path    string
	body    []byte
	headers map[string]string
}

// deliveries builds n realistic signed events with ids unique to tag:
// alternately a call.started and a subscription.charged (about 0.5 and 2 KB).
func deliveries(tag string, n int) []delivery {
	out := make([]delivery, n)
	now := time.Now()
	for i := range out {
		if i%2 == 0 {
			body := sample.Call(event.CallStarted, sample.CallFields{CallID: fmt.Sprintf("call_%s_%d", tag, i), Time: now})
			out[i] = delivery{receiver.CallsPath, body, map[string]string{receiver.HeaderCallSignature: sample.Sign(callSecret, body)}}
			continue
		}
		body := sample.Subscription("subscription.charged", sample.SubscriptionFields{ID: fmt.Sprintf("sub_%s_%d", tag, i), EventTime: now},
			&sample.PaymentFields{ID: fmt.Sprintf("pay_%s_%d", tag, i)})
		out[i] = delivery{receiver.PaymentsPath, body, map[string]string{
			receiver.HeaderRazorpaySignature: sample.Sign(razorpaySecret, body),
			receiver.HeaderRazorpayEventID:   fmt.Sprintf("evt_%s_%d", tag, i),
		}}
	}
	return out
}

// signalWithStart does for d what the receiver does, straight through the SDK:
// the baseline of arm 1, and how arms 3 and 5 fill a backlog.
func signalWithStart(ctx context.Context, c client.Client, queue string, d delivery) error {
	sum := sha256.Sum256(d.body)
	del := workflows.Delivery{ReceivedAt: time.Now().UTC(), PayloadSHA256: hex.EncodeToString(sum[:])}
	if d.path == receiver.CallsPath {
		ev, err := event.ParseCall(d.body)
		if err != nil {
			return err
		}
		del.Key, del.Type, del.OccurredAt = ev.Key(), ev.Event, ev.Timestamp
		id := ev.Data.CallID
		_, err = c.SignalWithStartWorkflow(ctx, id, workflows.SignalCallEvent, workflows.CallSignal{Delivery: del, Call: ev.Data},
			workflows.StartOptions(id, queue, workflows.CallSummary(ev.Data)), workflows.CallWorkflowType, workflows.CallInput{CallID: id})
		return err
	}
	ev, err := event.ParseRazorpay(d.body)
	if err != nil {
		return err
	}
	del.Key, del.Type, del.OccurredAt = d.headers[receiver.HeaderRazorpayEventID], ev.Event, ev.CreatedAt
	id := ev.WorkflowID()
	_, err = c.SignalWithStartWorkflow(ctx, id, workflows.SignalRazorpayEvent, workflows.RazorpaySignal{Delivery: del, Event: ev},
		workflows.StartOptions(id, queue, workflows.RazorpaySummary(ev)), workflows.SubscriptionWorkflowType,
		workflows.SubscriptionInput{SubscriptionID: id})
	return err
}

// ingestArm: the receiver under load against the bare SDK doing the same
// SignalWithStart calls, interleaved round by round.
func ingestArm(ctx context.Context, env *benchEnv, opts options, r *report) error {
	serverPID, err := env.serverPID()
	if err != nil {
		return err
	}
	for _, c := range []int{1, 16, 64} {
		n := opts.ingest[c]
		poster := loadgen.NewPoster(c, 10*time.Second)
		var ours, bare []loadgen.Result
		var bareCPU float64       // the dev server's CPU seconds in the bare arm
		var receiverCPU float64   // the receiver's CPU seconds in ours
		var bareClientCPU float64 // this process's CPU seconds in the bare arm: the SDK client and the load generator
		var oursShed, bareShed shed
		for round := range opts.rounds {
			ds := deliveries(fmt.Sprintf("in%dr%dx", c, round), n)
			before, _ := cpuSeconds(env.receiver.cmd.Process.Pid)
			ours = append(ours, loadgen.RunClosed(ctx, loadgen.Closed{Concurrency: c, Requests: n}, oursShed.op(func(ctx context.Context, i int) error {
				return poster.Post(ctx, env.receiverURL+ds[i].path, ds[i].body, ds[i].headers, 202)
			})))
			done, _ := cpuSeconds(env.receiver.cmd.Process.Pid)
			receiverCPU += done - before
			mid, _ := cpuSeconds(serverPID)
			selfBefore, _ := cpuSeconds(os.Getpid())
			bs := deliveries(fmt.Sprintf("in%dr%dy", c, round), n)
			bare = append(bare, loadgen.RunClosed(ctx, loadgen.Closed{Concurrency: c, Requests: n}, bareShed.op(func(ctx context.Context, i int) error {
				ctx, cancel := context.WithTimeout(ctx, handoffDeadline)
				defer cancel()
				return signalWithStart(ctx, env.client, ingestQueue, bs[i])
			})))
			after, _ := cpuSeconds(serverPID)
			selfAfter, _ := cpuSeconds(os.Getpid())
			bareCPU += after - mid
			bareClientCPU += selfAfter - selfBefore
		}
		r.serverCPUPerIngest = bareCPU / float64(n*opts.rounds)
		r.receiverCPUPerIngest = receiverCPU / float64(n*opts.rounds)
		r.bareClientCPUPerIngest = bareClientCPU / float64(n*opts.rounds)
		poster.Close()
		row, err := newIngestRow(c, n*opts.rounds, ours, bare, &oursShed, &bareShed)
		if err != nil {
			return fmt.Errorf("concurrency %d: %w", c, err)
		}
		r.ingest = append(r.ingest, row)
	}
	return openIngest(ctx, env, opts, r)
}

// handoffDeadline bounds a bare SignalWithStart as the receiver's
// HANDOFF_TIMEOUT (2 s by default) bounds its own.
const handoffDeadline = 2 * time.Second

// maxShed is the share of ingest requests that may be shed before a run
// fails: at concurrency 64 a saturated server (the cluster's four services
// on two CPUs especially) sometimes takes longer than the hand-off deadline.
const maxShed = 0.02

// shed counts the requests of one path that a saturated Temporal could not
// take within the hand-off deadline: 503 from the receiver, deadline
// exceeded from the bare SDK. That is the contract's answer to overload, and
// senders retry it; any other error fails the run.
type shed struct {
	overloaded, other atomic.Int64
	firstOther        atomic.Value // string
}

// op counts the errors of fn.
func (s *shed) op(fn func(context.Context, int) error) func(context.Context, int) error {
	return func(ctx context.Context, i int) error {
		err := fn(ctx, i)
		var status *loadgen.StatusError
		var deadline *serviceerror.DeadlineExceeded
		switch {
		case err == nil:
		case errors.As(err, &status) && status.Code == 503, errors.Is(err, context.DeadlineExceeded), errors.As(err, &deadline):
			s.overloaded.Add(1)
		default:
			s.other.Add(1)
			s.firstOther.CompareAndSwap(nil, err.Error())
		}
		return err
	}
}

// check fails a path with any error but overload, or overload past maxShed
// of its total requests.
func (s *shed) check(path string, total int) error {
	if n := s.other.Load(); n > 0 {
		return fmt.Errorf("%s: %d requests failed: %v", path, n, s.firstOther.Load())
	}
	if n := s.overloaded.Load(); float64(n) > maxShed*float64(total) {
		return fmt.Errorf("%s: %d of %d requests shed (503 or deadline): more than %.0f%%", path, n, total, 100*maxShed)
	}
	return nil
}

// newIngestRow is a row of the medians of the rounds, once both paths
// passed their checks over all total requests.
func newIngestRow(concurrency, total int, ours, bare []loadgen.Result, oursShed, bareShed *shed) (ingestRow, error) {
	if err := errors.Join(oursShed.check("receiver", total), bareShed.check("bare SDK", total)); err != nil {
		return ingestRow{}, err
	}
	return ingestRow{concurrency: concurrency, requests: total / len(ours), ours: loadgen.Median(ours), bare: loadgen.Median(bare),
		oursShed: int(oursShed.overloaded.Load()), bareShed: int(bareShed.overloaded.Load())}, nil
}

// openIngest offers both paths the same fixed arrival rate, 70% of what the
// bare SDK sustained at concurrency 64, so their latencies under one load are
// compared without coordinated omission.
func openIngest(ctx context.Context, env *benchEnv, opts options, r *report) error {
	last := r.ingest[len(r.ingest)-1]
	rate := 0.7 * last.bare.Throughput
	n := max(10, int(rate*opts.openSeconds))
	poster := loadgen.NewPoster(256, 10*time.Second)
	defer poster.Close()
	var ours, bare []loadgen.Result
	for round := range opts.rounds {
		ds := deliveries(fmt.Sprintf("op%dx", round), n)
		ours = append(ours, loadgen.RunOpen(ctx, loadgen.Open{Rate: rate, Requests: n, MaxInFlight: 256}, func(ctx context.Context, i int) error {
			return poster.Post(ctx, env.receiverURL+ds[i].path, ds[i].body, ds[i].headers, 202)
		}))
		bs := deliveries(fmt.Sprintf("op%dy", round), n)
		bare = append(bare, loadgen.RunOpen(ctx, loadgen.Open{Rate: rate, Requests: n, MaxInFlight: 256}, func(ctx context.Context, i int) error {
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			return signalWithStart(ctx, env.client, ingestQueue, bs[i])
		}))
	}
	o, b := loadgen.Median(ours), loadgen.Median(bare)
	if err := failures(o, b); err != nil {
		return fmt.Errorf("open loop: %w", err)
	}
	r.open = openRow{rate: rate, requests: n, ours: o, bare: b}
	return nil
}

func failures(results ...loadgen.Result) error {
	for _, res := range results {
		if res.Failed > 0 {
			return fmt.Errorf("%d of %d requests failed: %s", res.Failed, res.Requests, res.FirstError)
		}
	}
	return nil
}

// forgedArm: requests with a wrong signature against a Fiber handler that
// only answers 200, with the same load generator and body; then a 1 GB body.
func forgedArm(ctx context.Context, env *benchEnv, opts options, r *report) error {
	body := sample.Call(event.CallStarted, sample.CallFields{CallID: "call_forged"})
	forged := map[string]string{receiver.HeaderCallSignature: sample.Sign("not-the-secret", body)}
	tool := "Go load generator, 32 connections"
	measure := func(url string, want int) (float64, error) {
		if wrk, err := exec.LookPath("wrk"); err == nil {
			tool = "wrk, 2 threads, 32 connections"
			return runWrk(ctx, wrk, env.dir, url, body, forged, opts.forged)
		}
		poster := loadgen.NewPoster(32, 5*time.Second)
		defer poster.Close()
		res := loadgen.RunClosed(ctx, loadgen.Closed{Concurrency: 32, Duration: opts.forged}, func(ctx context.Context, i int) error {
			return poster.Post(ctx, url, body, forged, want)
		})
		return res.Throughput, failures(res)
	}
	var ours, bare []float64
	for range opts.rounds {
		o, err := measure(env.receiverURL+receiver.CallsPath, 401)
		if err != nil {
			return err
		}
		b, err := measure(env.bareURL+receiver.CallsPath, 200)
		if err != nil {
			return err
		}
		ours, bare = append(ours, o), append(bare, b)
	}
	r.forged = forgedRow{tool: tool, ours: median(ours), bare: median(bare)}
	var err error
	r.huge, err = hugeBody(env.receiverURL)
	return err
}

var wrkRate = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)

func runWrk(ctx context.Context, wrk, dir, url string, body []byte, headers map[string]string, d time.Duration) (float64, error) {
	var script bytes.Buffer
	fmt.Fprintf(&script, "wrk.method = \"POST\"\nwrk.body = %q\n", body)
	for k, v := range headers {
		fmt.Fprintf(&script, "wrk.headers[%q] = %q\n", k, v)
	}
	path := filepath.Join(dir, "post.lua")
	if err := os.WriteFile(path, script.Bytes(), 0o644); err != nil {
		return 0, err
	}
	out, err := exec.CommandContext(ctx, wrk, "-t2", "-c32", "-d"+strconv.Itoa(max(1, int(d.Seconds())))+"s", "-s", path, url).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("wrk: %w: %s", err, out)
	}
	m := wrkRate.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("wrk printed no rate: %s", out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

// hugeBody declares a 1 GB body and keeps sending: the receiver must answer
// 413 from the declared length and stop reading.
func hugeBody(base string) (hugeRow, error) {
	addr := base[len("http://"):]
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return hugeRow{}, err
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s: %s\r\n\r\n",
		receiver.CallsPath, addr, int64(1)<<30, receiver.HeaderCallSignature, "00")
	status := make(chan string, 1)
	go func() {
		buf := make([]byte, 512)
		n, _ := io.ReadAtLeast(conn, buf, 12)
		status <- string(buf[:n])
	}()
	chunk := make([]byte, 64<<10)
	sent := int64(0)
	_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	for sent < 1<<30 {
		select {
		case s := <-status:
			return hugeRow{status: firstLine(s), after: time.Since(start), sent: sent}, nil
		default:
		}
		n, err := conn.Write(chunk)
		sent += int64(n)
		if err != nil {
			break
		}
	}
	select {
	case s := <-status:
		return hugeRow{status: firstLine(s), after: time.Since(start), sent: sent}, nil
	case <-time.After(5 * time.Second):
		return hugeRow{}, errors.New("no answer to a 1 GB body")
	}
}

// drainTunings are the worker options the drain arm compares; the last one
// (worker.Tuning's defaults) stays running for the memory arm.
var drainTunings = []worker.Tuning{
	{WorkflowTaskPollers: 2, ActivityTaskPollers: 2}, // the SDK's defaults
	{WorkflowTaskPollers: 4, ActivityTaskPollers: 4},
	{WorkflowTaskPollers: 8, ActivityTaskPollers: 8}, // the worker's defaults, from these measurements
}

// drainArm: a backlog of events across many calls and subscriptions, queued
// with no worker running, then drained by one worker to the end of its
// activities (rows in the store), once per tuning.
func drainArm(ctx context.Context, env *benchEnv, opts options, r *report) error {
	tunings := drainTunings
	if opts.quick {
		tunings = tunings[len(tunings)-1:]
	}
	for k, tuning := range tunings {
		if env.worker != nil {
			env.worker.stop()
		}
		bare, err := drainBare(ctx, env, opts, k, tuning)
		if err != nil {
			return err
		}
		env.drainQueue = fmt.Sprintf("%s-%d", drainQueue, k)
		row, err := drainOnce(ctx, env, opts, k, tuning)
		if err != nil {
			return err
		}
		row.bare = bare
		r.drain = append(r.drain, row)
	}
	return nil
}

func drainOnce(ctx context.Context, env *benchEnv, opts options, k int, tuning worker.Tuning) (drainRow, error) {
	backlog := drainBacklog(fmt.Sprint(k), opts.drainCalls)
	if err := fillBacklog(ctx, env.client, env.drainQueue, backlog); err != nil {
		return drainRow{}, err
	}
	metricsAddr, err := freeAddr()
	if err != nil {
		return drainRow{}, err
	}
	serverPID, err := env.serverPID()
	if err != nil {
		return drainRow{}, err
	}
	serverCPU, _ := cpuSeconds(serverPID)
	start := time.Now()
	env.worker, err = env.start("worker", filepath.Join(env.dir, "worker"), nil,
		"TEMPORAL_ADDRESS="+env.server.FrontendHostPort(), "TEMPORAL_TASK_QUEUE="+env.drainQueue,
		"DATABASE_URL=sqlite:"+env.workerDB, "METRICS_ADDR="+metricsAddr, "LOG_LEVEL=error",
		"CALL_LINGER=1h", "SUBSCRIPTION_LINGER=1h",
		fmt.Sprintf("WORKER_WORKFLOW_TASK_POLLERS=%d", tuning.WorkflowTaskPollers),
		fmt.Sprintf("WORKER_ACTIVITY_TASK_POLLERS=%d", tuning.ActivityTaskPollers))
	if err != nil {
		return drainRow{}, err
	}
	if err := waitHTTP(ctx, "http://"+metricsAddr+"/healthz"); err != nil {
		return drainRow{}, err
	}
	env.rows += len(backlog)
	if err := waitRows(ctx, env.workerDB, env.rows, 10*time.Minute); err != nil {
		return drainRow{}, err
	}
	elapsed := time.Since(start)
	serverAfter, _ := cpuSeconds(serverPID)
	workerCPU, _ := cpuSeconds(env.worker.cmd.Process.Pid)
	return drainRow{tuning: tuning, events: len(backlog), elapsed: elapsed, rate: float64(len(backlog)) / elapsed.Seconds(),
		serverCPU: serverAfter - serverCPU, workerCPU: workerCPU}, nil
}

// drainBare drains a backlog like drainOnce's with the bare worker of
// bareWorkerCommand (same tuning) instead of ours: the baseline of the row.
func drainBare(ctx context.Context, env *benchEnv, opts options, k int, tuning worker.Tuning) (bareDrain, error) {
	queue := fmt.Sprintf("%s-bare-%d", drainQueue, k)
	backlog := drainBacklog(fmt.Sprintf("bare%d", k), opts.drainCalls)
	if err := fillBacklog(ctx, env.client, queue, backlog); err != nil {
		return bareDrain{}, err
	}
	addr, err := freeAddr()
	if err != nil {
		return bareDrain{}, err
	}
	serverPID, err := env.serverPID()
	if err != nil {
		return bareDrain{}, err
	}
	serverCPU, _ := cpuSeconds(serverPID)
	self, _ := os.Executable()
	start := time.Now()
	w, err := env.start("bare worker", self, []string{bareWorkerCommand, env.server.FrontendHostPort(), queue, addr,
		fmt.Sprint(tuning.WorkflowTaskPollers), fmt.Sprint(tuning.ActivityTaskPollers)})
	if err != nil {
		return bareDrain{}, err
	}
	defer w.stop()
	if err := waitCount(ctx, "http://"+addr+"/count", len(backlog), 10*time.Minute); err != nil {
		return bareDrain{}, fmt.Errorf("bare drain: %w", err)
	}
	elapsed := time.Since(start)
	serverAfter, _ := cpuSeconds(serverPID)
	workerCPU, _ := cpuSeconds(w.cmd.Process.Pid)
	return bareDrain{elapsed: elapsed, rate: float64(len(backlog)) / elapsed.Seconds(),
		serverCPU: serverAfter - serverCPU, workerCPU: workerCPU}, nil
}

// waitCount waits until the number at url reaches n.
func waitCount(ctx context.Context, url string, n int, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	got := 0
	for {
		if res, err := http.Get(url); err == nil {
			_, _ = fmt.Fscan(res.Body, &got)
			res.Body.Close()
			if got >= n {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d counted: %w", got, n, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// fillBacklog queues backlog on queue with no worker polling it.
func fillBacklog(ctx context.Context, c client.Client, queue string, backlog []delivery) error {
	fill := loadgen.RunClosed(ctx, loadgen.Closed{Concurrency: 32, Requests: len(backlog)}, func(ctx context.Context, i int) error {
		return signalWithStart(ctx, c, queue, backlog[i])
	})
	if err := failures(fill); err != nil {
		return fmt.Errorf("fill the backlog of %s: %w", queue, err)
	}
	return nil
}

// drainBacklog is the backlog of the drain: n calls started and ended and
// n subscriptions charged, with ids unique to tag.
func drainBacklog(tag string, n int) []delivery {
	var backlog []delivery
	now := time.Now()
	for i := range n {
		id := fmt.Sprintf("call_drain%s_%d", tag, i)
		for _, ev := range []string{event.CallStarted, event.CallEnded} {
			body := sample.Call(ev, sample.CallFields{CallID: id, Time: now})
			backlog = append(backlog, delivery{receiver.CallsPath, body, nil})
		}
		body := sample.Subscription("subscription.charged", sample.SubscriptionFields{ID: fmt.Sprintf("sub_drain%s_%d", tag, i), EventTime: now},
			&sample.PaymentFields{ID: fmt.Sprintf("pay_drain%s_%d", tag, i)})
		backlog = append(backlog, delivery{receiver.PaymentsPath, body, map[string]string{receiver.HeaderRazorpayEventID: fmt.Sprintf("evt_drain%s_%d", tag, i)}})
	}
	return backlog
}

// waitRows waits until the SQLite store at dbPath holds n webhook_events
// rows.
func waitRows(ctx context.Context, dbPath string, n int, limit time.Duration) error {
	return waitStoreRows(ctx, "sqlite:"+dbPath, n, limit)
}

// waitStoreRows waits until the store at databaseURL holds n webhook_events
// rows.
func waitStoreRows(ctx context.Context, databaseURL string, n int, limit time.Duration) error {
	db, err := store.Open(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	deadline := time.Now().Add(limit)
	for {
		got, err := db.EventCount(ctx)
		if err == nil && got >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d rows after %s (%v)", got, n, limit, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// microArm: the signature check against bare crypto/hmac on the same bytes,
// and parsing of both envelopes, with allocations.
func microArm(_ context.Context, _ *benchEnv, opts options, r *report) error {
	for _, size := range []int{256, 1 << 10, 16 << 10, 64 << 10} {
		body := bytes.Repeat([]byte("x"), size)
		key := []byte(callSecret)
		sig := []byte(sample.Sign(callSecret, body))
		v := receiver.NewVerifier([][]byte{key})
		ours := testing.Benchmark(func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if v.Verify(body, sig) != nil {
					b.Fatal("refused")
				}
			}
		})
		want := make([]byte, sha256.Size)
		hex.Decode(want, sig)
		bare := testing.Benchmark(func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m := hmac.New(sha256.New, key)
				m.Write(body)
				if !hmac.Equal(m.Sum(nil), want) {
					b.Fatal("mismatch")
				}
			}
		})
		r.micro = append(r.micro, microRow{name: fmt.Sprintf("signature check, %s", byteSize(size)), ours: ours, bare: bare})
	}
	call := sample.Call(event.CallEnded, sample.CallFields{CallID: "call_micro"})
	sub := sample.Subscription("subscription.charged", sample.SubscriptionFields{}, &sample.PaymentFields{})
	for _, p := range []struct {
		name string
		fn   func() error
	}{
		{fmt.Sprintf("parse + validate call.ended (%s)", byteSize(len(call))), func() error { _, err := event.ParseCall(call); return err }},
		{fmt.Sprintf("parse + validate subscription.charged (%s)", byteSize(len(sub))), func() error { _, err := event.ParseRazorpay(sub); return err }},
	} {
		res := testing.Benchmark(func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := p.fn(); err != nil {
					b.Fatal(err)
				}
			}
		})
		r.micro = append(r.micro, microRow{name: p.name, ours: res})
	}
	return nil
}

// memoryArm: the receiver's RSS holding many connections, and the worker's
// with many open call workflows.
func memoryArm(ctx context.Context, env *benchEnv, opts options, r *report) error {
	idle, err := env.receiver.rss()
	if err != nil {
		return err
	}
	body := sample.Call(event.CallStarted, sample.CallFields{CallID: "call_mem"})
	req := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: bench\r\nContent-Length: %d\r\n%s: %s\r\n\r\n%s",
		receiver.CallsPath, len(body), receiver.HeaderCallSignature, sample.Sign("forged", body), body)
	addr := env.receiverURL[len("http://"):]
	conns := make([]net.Conn, 0, opts.memConns)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	// Each connection sends a (forged) request and stays open, kept alive.
	buf := make([]byte, 512)
	for range opts.memConns {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			return fmt.Errorf("connection %d: %w", len(conns), err)
		}
		conns = append(conns, c)
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, req); err != nil {
			return err
		}
		if _, err := c.Read(buf); err != nil {
			return fmt.Errorf("connection %d: %w", len(conns), err)
		}
	}
	busy, err := env.receiver.rss()
	if err != nil {
		return err
	}
	r.memory = append(r.memory, memRow{what: fmt.Sprintf("receiver, idle → %d open keep-alive connections", opts.memConns), before: idle, after: busy})

	if env.worker == nil {
		return errors.New("the drain arm did not start the worker")
	}
	before, err := env.worker.rss()
	if err != nil {
		return err
	}
	now := time.Now()
	fill := loadgen.RunClosed(ctx, loadgen.Closed{Concurrency: 32, Requests: opts.memCalls}, func(ctx context.Context, i int) error {
		body := sample.Call(event.CallStarted, sample.CallFields{CallID: fmt.Sprintf("call_open_%d", i), Time: now})
		return signalWithStart(ctx, env.client, env.drainQueue, delivery{receiver.CallsPath, body, nil})
	})
	if err := failures(fill); err != nil {
		return err
	}
	env.rows += opts.memCalls
	if err := waitRows(ctx, env.workerDB, env.rows, 30*time.Minute); err != nil {
		return err
	}
	after, err := env.worker.rss()
	if err != nil {
		return err
	}
	open := opts.drainCalls // the last drain's calls and subscriptions linger, open
	r.memory = append(r.memory, memRow{what: fmt.Sprintf("worker, %d → %d open workflows", 2*open, 2*open+opts.memCalls),
		before: before, after: after})
	return nil
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s[(len(s)-1)/2]
}

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/zentrix/webhooks/internal/cluster"
	"github.com/zentrix/webhooks/loadgen"
)

// clusterRow is arm 6: arm 1's ingest and arm 3's drain on a Temporal
// cluster on PostgreSQL, through two receivers and with two workers.
type clusterRow struct {
	shards    int
	ingest    []ingestRow
	drain     drainRow
	receivers int
	workers   int
}

const clusterReceivers, clusterWorkers = 2, 2

// clusterArm brings up a cluster of its own (the four services of make
// cluster, 16 shards, fresh databases on the local PostgreSQL, dropped
// afterwards), measures ingest through two receivers (requests alternate
// between them, as behind a load balancer) against the bare SDK on the same
// cluster, then the drain of a backlog by two workers on a PostgreSQL store.
func clusterArm(ctx context.Context, env *benchEnv, opts options, r *report) (err error) {
	root, err := cluster.ModuleRoot()
	if err != nil {
		return err
	}
	admin := os.Getenv("BENCH_POSTGRES_URL")
	if admin == "" {
		admin = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	ports, err := cluster.FreePorts()
	if err != nil {
		return err
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	tag := hex.EncodeToString(b[:])
	cfg := cluster.Config{Root: root, Dir: filepath.Join(env.dir, "cluster"), PostgresURL: admin,
		Database: "temporal_bench_" + tag, Ports: ports, LogLevel: "error"}
	storeDB := "zentrix_bench_" + tag
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		dropped := (&cluster.Cluster{Config: cfg}).Drop(ctx)
		dropped = errors.Join(dropped, cluster.AdminExec(ctx, admin, "DROP DATABASE IF EXISTS "+storeDB+" WITH (FORCE)"))
		if err == nil && dropped != nil {
			err = fmt.Errorf("drop the cluster's databases: %w", dropped)
		}
	}()
	tc, err := cluster.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer tc.Stop()
	if err := cluster.AdminExec(ctx, admin, "CREATE DATABASE "+storeDB); err != nil {
		return err
	}
	u, _ := url.Parse(admin)
	u.Path = "/" + storeDB
	storeURL := u.String()

	bare, err := client.Dial(client.Options{HostPort: tc.Address(), Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		return err
	}
	defer bare.Close()

	var started []*child
	defer func() {
		for _, p := range started {
			p.stop()
		}
	}()
	var urls []string
	for i := range clusterReceivers {
		addr, err := freeAddr()
		if err != nil {
			return err
		}
		p, err := env.start(fmt.Sprintf("cluster receiver %d", i+1), filepath.Join(env.dir, "receiver"), nil,
			"HTTP_ADDR="+addr, "TEMPORAL_ADDRESS="+tc.Address(), "TEMPORAL_TASK_QUEUE="+ingestQueue,
			"CALL_WEBHOOK_SECRET="+callSecret, "RAZORPAY_WEBHOOK_SECRET="+razorpaySecret, "LOG_LEVEL=error")
		if err != nil {
			return err
		}
		started = append(started, p)
		urls = append(urls, "http://"+addr)
		if err := waitHTTP(ctx, "http://"+addr+"/readyz"); err != nil {
			return err
		}
	}

	row := clusterRow{shards: cluster.DefaultShards, receivers: clusterReceivers, workers: clusterWorkers}
	for _, c := range []int{1, 16, 64} {
		n := opts.ingest[c]
		poster := loadgen.NewPoster(c, 10*time.Second)
		var ours, bares []loadgen.Result
		var oursShed, bareShed shed
		for round := range opts.rounds {
			ds := deliveries(fmt.Sprintf("cl%s%dr%dx", tag, c, round), n)
			ours = append(ours, loadgen.RunClosed(ctx, loadgen.Closed{Concurrency: c, Requests: n}, oursShed.op(func(ctx context.Context, i int) error {
				return poster.Post(ctx, urls[i%len(urls)]+ds[i].path, ds[i].body, ds[i].headers, 202)
			})))
			bs := deliveries(fmt.Sprintf("cl%s%dr%dy", tag, c, round), n)
			bares = append(bares, loadgen.RunClosed(ctx, loadgen.Closed{Concurrency: c, Requests: n}, bareShed.op(func(ctx context.Context, i int) error {
				ctx, cancel := context.WithTimeout(ctx, handoffDeadline)
				defer cancel()
				return signalWithStart(ctx, bare, ingestQueue, bs[i])
			})))
		}
		poster.Close()
		ir, err := newIngestRow(c, n*opts.rounds, ours, bares, &oursShed, &bareShed)
		if err != nil {
			return fmt.Errorf("cluster ingest at concurrency %d: %w", c, err)
		}
		row.ingest = append(row.ingest, ir)
	}
	for _, p := range started {
		p.stop()
	}

	// The drain: a backlog queued with no worker, then two workers.
	queue := drainQueue + "-cluster"
	backlog := drainBacklog("cl"+tag, opts.drainCalls)
	if err := fillBacklog(ctx, bare, queue, backlog); err != nil {
		return err
	}
	serverCPU := func() float64 {
		total := 0.0
		for _, name := range cluster.Services {
			s, _ := cpuSeconds(tc.Services[name].Pid())
			total += s
		}
		return total
	}
	cpuBefore := serverCPU()
	begin := time.Now()
	var workers []*child
	for i := range clusterWorkers {
		metricsAddr, err := freeAddr()
		if err != nil {
			return err
		}
		w, err := env.start(fmt.Sprintf("cluster worker %d", i+1), filepath.Join(env.dir, "worker"), nil,
			"TEMPORAL_ADDRESS="+tc.Address(), "TEMPORAL_TASK_QUEUE="+queue,
			"DATABASE_URL="+storeURL, "METRICS_ADDR="+metricsAddr, "LOG_LEVEL=error",
			"CALL_LINGER=1h", "SUBSCRIPTION_LINGER=1h")
		if err != nil {
			return err
		}
		started = append(started, w)
		workers = append(workers, w)
	}
	if err := waitStoreRows(ctx, storeURL, len(backlog), 10*time.Minute); err != nil {
		return fmt.Errorf("cluster drain: %w", err)
	}
	elapsed := time.Since(begin)
	workerCPU := 0.0
	for _, w := range workers {
		s, _ := cpuSeconds(w.cmd.Process.Pid)
		workerCPU += s
	}
	row.drain = drainRow{events: len(backlog), elapsed: elapsed, rate: float64(len(backlog)) / elapsed.Seconds(),
		serverCPU: serverCPU() - cpuBefore, workerCPU: workerCPU}
	r.cluster = &row
	return nil
}

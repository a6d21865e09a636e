// Command cluster runs the system the way production does, on one machine:
// a Temporal cluster built from go.temporal.io/server (frontend, history,
// matching and the internal worker as four processes) on the local
// PostgreSQL, then two receivers and two workers of ours on a PostgreSQL
// store, all configured through the same environment variables as in
// production.
//
//	cluster up     start everything in the background and print where it listens
//	cluster down   stop everything `up` started (-drop also drops its databases)
//
// `make cluster` and `make cluster-down` run these.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/zentrix/webhooks/internal/cluster"
	"github.com/zentrix/webhooks/internal/proc"
	"github.com/zentrix/webhooks/internal/service"
)

const name = "zentrix-cluster"

// Development secrets and addresses, used unless the environment sets them
// (the same as `make run`, so `make demo` and cmd/send work against either).
var defaults = map[string]string{
	"CALL_WEBHOOK_SECRET":     "dev-call-secret",
	"RAZORPAY_WEBHOOK_SECRET": "dev-razorpay-secret",
	"TEMPORAL_NAMESPACE":      "default",
	"TEMPORAL_TASK_QUEUE":     "zentrix-webhooks",
	// Where the cluster's databases go: a user that can create databases.
	"CLUSTER_POSTGRES_URL": "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable",
	// The system of record, a database of that server.
	"CLUSTER_STORE_DATABASE": "zentrix",
}

// Ours, after the Temporal services.
const (
	receivers       = 2
	workers         = 2
	firstReceiver   = 8081 // receiver i listens on 8081+i
	firstWorkerPort = 9091 // worker i serves metrics on 9091+i
	readyWait       = 90 * time.Second
)

const dir = ".data/cluster"

// state is what `up` leaves for `down`: the processes it started.
type state struct {
	Processes []running `json:"processes"` // in the order they started
	Database  string    `json:"database"`
	Store     string    `json:"store"`
}

type running struct {
	Name string `json:"name"`
	Pid  int    `json:"pid"`
}

func main() {
	ctx, stop := service.Context()
	defer stop()
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	drop := fs.Bool("drop", false, "down: also drop the cluster's and the store's databases")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: cluster up | cluster down [-drop]")
		fs.PrintDefaults()
	}
	if len(os.Args) < 2 {
		fs.Usage()
		os.Exit(2)
	}
	_ = fs.Parse(os.Args[2:])
	for k, v := range defaults {
		if os.Getenv(k) == "" {
			os.Setenv(k, v)
		}
	}
	var err error
	switch os.Args[1] {
	case "up":
		err = up(ctx)
	case "down":
		err = down(ctx, *drop)
	default:
		fs.Usage()
		os.Exit(2)
	}
	if err != nil {
		service.Exit(name, err)
	}
}

func up(ctx context.Context) error {
	if s, err := load(); err == nil && anyAlive(s) {
		return errors.New("a cluster is already running (make cluster-down stops it)")
	}
	root, err := cluster.ModuleRoot()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	admin := os.Getenv("CLUSTER_POSTGRES_URL")
	storeURL, err := storeDatabase(ctx, admin, os.Getenv("CLUSTER_STORE_DATABASE"))
	if err != nil {
		return err
	}
	fmt.Println("Starting the Temporal cluster on PostgreSQL (frontend, history, matching, worker)…")
	c, err := cluster.Start(ctx, cluster.Config{
		Root: root, Dir: dir, PostgresURL: admin, Namespace: os.Getenv("TEMPORAL_NAMESPACE"), Detached: true,
	})
	if err != nil {
		return err
	}
	st := state{Database: c.Database, Store: os.Getenv("CLUSTER_STORE_DATABASE")}
	for _, n := range cluster.Services {
		st.Processes = append(st.Processes, running{Name: c.Services[n].Name, Pid: c.Services[n].Pid()})
	}
	// Saved after each start, so that down stops whatever got started.
	ours := func(p *proc.Process) error {
		err := p.Start()
		if err == nil {
			st.Processes = append(st.Processes, running{Name: p.Name, Pid: p.Pid()})
			err = save(st)
		}
		if err == nil {
			wait, cancel := context.WithTimeout(ctx, readyWait)
			err = p.WaitReady(wait)
			cancel()
		}
		return err
	}
	if err := save(st); err != nil {
		return err
	}
	common := []string{
		"TEMPORAL_ADDRESS=" + c.Address(),
		"TEMPORAL_NAMESPACE=" + os.Getenv("TEMPORAL_NAMESPACE"),
		"TEMPORAL_TASK_QUEUE=" + os.Getenv("TEMPORAL_TASK_QUEUE"),
		"LOG_LEVEL=" + envOr("LOG_LEVEL", "info"),
	}
	for i := range workers {
		metrics := "127.0.0.1:" + strconv.Itoa(firstWorkerPort+i)
		p := &proc.Process{
			Name: fmt.Sprintf("worker-%d", i+1), Path: filepath.Join(root, "bin", "worker"),
			Env: append(common, "DATABASE_URL="+storeURL, "METRICS_ADDR="+metrics),
			Log: filepath.Join(dir, fmt.Sprintf("worker-%d.log", i+1)), Detached: true,
			Ready: func(ctx context.Context) error { return proc.HTTPOK(ctx, "http://"+metrics+"/healthz") },
		}
		if err := ours(p); err != nil {
			return err
		}
	}
	for i := range receivers {
		addr := "127.0.0.1:" + strconv.Itoa(firstReceiver+i)
		p := &proc.Process{
			Name: fmt.Sprintf("receiver-%d", i+1), Path: filepath.Join(root, "bin", "receiver"),
			Env: append(common, "HTTP_ADDR="+addr,
				"CALL_WEBHOOK_SECRET="+os.Getenv("CALL_WEBHOOK_SECRET"),
				"RAZORPAY_WEBHOOK_SECRET="+os.Getenv("RAZORPAY_WEBHOOK_SECRET")),
			Log: filepath.Join(dir, fmt.Sprintf("receiver-%d.log", i+1)), Detached: true,
			Ready: func(ctx context.Context) error { return proc.HTTPOK(ctx, "http://"+addr+"/readyz") },
		}
		if err := ours(p); err != nil {
			return err
		}
	}
	printBanner(c)
	return nil
}

func printBanner(c *cluster.Cluster) {
	secret := "$CALL_WEBHOOK_SECRET"
	if os.Getenv("CALL_WEBHOOK_SECRET") == defaults["CALL_WEBHOOK_SECRET"] {
		secret = defaults["CALL_WEBHOOK_SECRET"] + " (development secret)"
	}
	fmt.Printf(`
The Zentrix cluster is running (logs in %[1]s/, stop it with make cluster-down).

  Temporal frontend   %[2]s   (gRPC; HTTP API on 127.0.0.1:%[3]d)
  Temporal services   history :%[4]d, matching :%[5]d, worker :%[6]d; metrics :%[7]d-%[8]d
  Temporal databases  %[9]s and %[9]s_visibility on %[10]s, %[11]d history shards
  Receivers           http://127.0.0.1:%[12]d  http://127.0.0.1:%[13]d   (put a load balancer in front)
  Workers             metrics http://127.0.0.1:%[14]d/metrics  http://127.0.0.1:%[15]d/metrics
  Store               PostgreSQL database %[16]s
  Call secret         %[17]s

Play a call and a subscription through one receiver, then look at them:

  go run ./cmd/send demo -url http://127.0.0.1:%[12]d
  bin/temporal workflow list --address %[2]s

The Web UI is a separate program (temporalio/ui in docker-compose.yml): point it at %[2]s.

`, dir, c.Address(), c.Ports.FrontendHTTP, c.Ports.History, c.Ports.Matching, c.Ports.Worker,
		c.Ports.Metrics["frontend"], c.Ports.Metrics["worker"], c.Database, hostOf(c.PostgresURL), c.Shards,
		firstReceiver, firstReceiver+1, firstWorkerPort, firstWorkerPort+1, os.Getenv("CLUSTER_STORE_DATABASE"), secret)
}

func down(ctx context.Context, drop bool) error {
	s, err := load()
	if errors.Is(err, os.ErrNotExist) {
		fmt.Println("no cluster was started here")
		return nil
	}
	if err != nil {
		return err
	}
	// Ours first, then the Temporal services, each in reverse order of start.
	var errs []error
	for i := len(s.Processes) - 1; i >= 0; i-- {
		p := s.Processes[i]
		fmt.Printf("stopping %s (pid %d)\n", p.Name, p.Pid)
		errs = append(errs, proc.StopPid(p.Pid, proc.StopWait))
	}
	if drop {
		admin := os.Getenv("CLUSTER_POSTGRES_URL")
		for _, db := range []string{s.Database, s.Database + "_visibility", s.Store} {
			fmt.Printf("dropping database %s\n", db)
			errs = append(errs, exec(ctx, admin, "DROP DATABASE IF EXISTS "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)"))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return os.Remove(filepath.Join(dir, "state.json"))
}

// storeDatabase creates the store's database unless it exists and returns
// its URL, for DATABASE_URL.
func storeDatabase(ctx context.Context, admin, name string) (string, error) {
	u, err := url.Parse(admin)
	if err != nil {
		return "", errors.New("CLUSTER_POSTGRES_URL is not a URL")
	}
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer conn.Close(context.Background())
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			return "", fmt.Errorf("create the store's database: %w", err)
		}
	}
	u.Path = "/" + name
	return u.String(), nil
}

func exec(ctx context.Context, admin, sql string) error {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

func load() (state, error) {
	var s state
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		return s, err
	}
	return s, json.Unmarshal(b, &s)
}

func save(s state) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "state.json"), b, 0o644)
}

func anyAlive(s state) bool {
	for _, p := range s.Processes {
		if proc.PidAlive(p.Pid) {
			return true
		}
	}
	return false
}

func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Host
	}
	return "PostgreSQL"
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

//go:build chaos

package chaos_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	_ "modernc.org/sqlite" // the "sqlite" driver, to lock the store

	tcluster "github.com/zentrix/webhooks/internal/cluster"
	"github.com/zentrix/webhooks/internal/proc"
	"github.com/zentrix/webhooks/store"
	"github.com/zentrix/webhooks/temporal"
)

// Secrets of the cluster's receivers; the sender signs with them.
const (
	callSecret     = "chaos-call-secret"
	razorpaySecret = "chaos-razorpay-secret"
)

const (
	readyWait = 90 * time.Second // for a process to come up
)

// clusterOptions vary a cluster from one dev server, one worker and one
// receiver on a SQLite store.
type clusterOptions struct {
	receivers int
	workers   int
	// postgres puts the store in a database of its own on the local
	// PostgreSQL instead of a SQLite file.
	postgres bool
	// slowLink puts a delayProxy between the receivers and the dev server
	// (workers connect directly).
	slowLink bool
	// receiverEnv is added to the receivers' environment.
	receiverEnv []string
	// temporalCluster runs Temporal as a cluster on PostgreSQL (four
	// services of the real server, as make cluster does) instead of the dev
	// server.
	temporalCluster bool
}

// cluster is one running system: every program a separate process on
// loopback, each of which can be killed and restarted with the same
// arguments.
type cluster struct {
	dir         string
	hostPort    string // Temporal's frontend
	databaseURL string
	sqlitePath  string            // the store's file, unless on PostgreSQL
	server      *proc.Process     // the dev server, unless a Temporal cluster runs
	temporal    *tcluster.Cluster // the Temporal cluster, if it runs
	workers     []*proc.Process
	receivers   []*proc.Process
	urls        []string // the receivers' base URLs
	link        *proc.Link
	pg          *pgDatabase
	client      client.Client // for state queries
}

// newCluster starts a cluster and stops it when the test ends.
func newCluster(t *testing.T, opts clusterOptions) *cluster {
	t.Helper()
	opts.receivers, opts.workers = max(opts.receivers, 1), max(opts.workers, 1)
	bin := binaries(t)
	c := &cluster{dir: t.TempDir()}
	if opts.temporalCluster {
		// Started first, so that it stops last.
		c.temporal = tcluster.ForTest(t)
	}
	if opts.postgres {
		c.pg = newPostgresDatabase(t) // dropped after the processes stop: cleanups run last in, first out
		c.databaseURL = c.pg.url
	} else {
		c.sqlitePath = filepath.Join(c.dir, "zentrix.db")
		c.databaseURL = "sqlite:" + c.sqlitePath
	}
	t.Cleanup(func() { c.stop(t) })

	ctx, cancel := context.WithTimeout(context.Background(), readyWait)
	defer cancel()
	if c.temporal != nil {
		c.hostPort = c.temporal.Address()
	} else {
		c.hostPort = freeAddr(t)
		_, port, _ := net.SplitHostPort(c.hostPort)
		c.server = &proc.Process{
			Name: "temporal",
			Path: temporalCLI(t),
			Args: append([]string{"server", "start-dev", "--ip", "127.0.0.1", "--port", port, "--headless",
				"--db-filename", filepath.Join(c.dir, "temporal.db"),
				"--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal",
				"--log-level", "error",
			}, temporal.DevServerFlags()...),
			Log:   filepath.Join(c.dir, "temporal.log"),
			Ready: func(ctx context.Context) error { return pingTemporal(ctx, c.hostPort) },
		}
		if err := c.server.StartReady(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	c.client, err = client.NewLazyClient(client.Options{HostPort: c.hostPort, Logger: discardLogger()})
	if err != nil {
		t.Fatalf("temporal client: %v", err)
	}

	for i := range opts.workers {
		metricsAddr := freeAddr(t)
		w := &proc.Process{
			Name: fmt.Sprintf("worker-%d", i+1),
			Path: filepath.Join(bin, "worker"),
			Env: []string{"TEMPORAL_ADDRESS=" + c.hostPort, "DATABASE_URL=" + c.databaseURL,
				"METRICS_ADDR=" + metricsAddr, "LOG_LEVEL=warn",
				// Workflows stay open through the test, so that their state
				// can be queried at the end.
				"CALL_LINGER=1h", "SUBSCRIPTION_LINGER=1h", "PAYMENT_LINGER=1h"},
			Log:   filepath.Join(c.dir, fmt.Sprintf("worker-%d.log", i+1)),
			Ready: func(ctx context.Context) error { return proc.HTTPOK(ctx, "http://"+metricsAddr+"/healthz") },
		}
		if err := w.StartReady(ctx); err != nil {
			t.Fatal(err)
		}
		c.workers = append(c.workers, w)
	}

	temporalAddr := c.hostPort
	if opts.slowLink {
		if c.link, err = proc.NewLink(c.hostPort); err != nil {
			t.Fatal(err)
		}
		temporalAddr = c.link.Addr()
	}
	for i := range opts.receivers {
		addr := freeAddr(t)
		url := "http://" + addr
		r := &proc.Process{
			Name: fmt.Sprintf("receiver-%d", i+1),
			Path: filepath.Join(bin, "receiver"),
			Env: append([]string{"TEMPORAL_ADDRESS=" + temporalAddr, "HTTP_ADDR=" + addr, "LOG_LEVEL=warn",
				"CALL_WEBHOOK_SECRET=" + callSecret, "RAZORPAY_WEBHOOK_SECRET=" + razorpaySecret}, opts.receiverEnv...),
			Log:   filepath.Join(c.dir, fmt.Sprintf("receiver-%d.log", i+1)),
			Ready: func(ctx context.Context) error { return proc.HTTPOK(ctx, url+"/readyz") },
		}
		if err := r.StartReady(ctx); err != nil {
			t.Fatal(err)
		}
		c.receivers = append(c.receivers, r)
		c.urls = append(c.urls, url)
	}
	return c
}

// stop stops the receivers, the workers and the dev server, in that order,
// and shows the end of every log if the test failed.
func (c *cluster) stop(t *testing.T) {
	if t.Failed() {
		for _, p := range c.processes() {
			t.Logf("last lines of %s:\n%s", p.Name, proc.Tail(p.Log, 25))
		}
	}
	procs := c.processes()
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].Stop()
	}
	if c.client != nil {
		c.client.Close()
	}
	if c.link != nil {
		c.link.Close()
	}
}

func (c *cluster) processes() []*proc.Process {
	var all []*proc.Process
	if c.server != nil {
		all = append(all, c.server)
	}
	if c.temporal != nil {
		for _, name := range tcluster.Services {
			all = append(all, c.temporal.Services[name])
		}
	}
	all = append(all, c.workers...)
	return append(all, c.receivers...)
}

// openStore opens the cluster's system of record from the test process.
func (c *cluster) openStore(ctx context.Context) (*store.Store, error) {
	s, err := store.Open(ctx, c.databaseURL)
	if err != nil {
		return nil, fmt.Errorf("open the cluster's store: %w", err)
	}
	return s, nil
}

// lockStore takes the SQLite store's write lock from the test process until
// release is called: meanwhile every write of the workers waits for it
// (busy_timeout), so every activity they start stays in flight.
func (c *cluster) lockStore(ctx context.Context) (release func(), err error) {
	if c.sqlitePath == "" {
		return nil, errors.New("lock store: not on SQLite")
	}
	db, err := sql.Open("sqlite", "file:"+c.sqlitePath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, fmt.Errorf("lock store: %w", err)
	}
	conn, err := db.Conn(ctx)
	if err == nil {
		_, err = conn.ExecContext(ctx, "BEGIN IMMEDIATE")
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("lock store: %w", err)
	}
	return func() {
		_, _ = conn.ExecContext(context.Background(), "ROLLBACK")
		conn.Close()
		db.Close()
	}, nil
}

// killMidActivity SIGKILLs worker i while activities run on it: it holds
// the store's lock until a few more events have been accepted and the
// worker has had a moment to start their activities, kills the worker, then
// lets the store go. Those activities can only finish by timing out and
// being retried, on the restarted worker or another one. If down is not
// negative, the worker starts again after it.
func (c *cluster) killMidActivity(ctx context.Context, l *ledger, i int, down time.Duration) (string, error) {
	w := c.workers[i]
	release, err := c.lockStore(ctx)
	if err != nil {
		return "", err
	}
	locked := time.Now()
	// More events into the lock, if more come.
	more, cancel := context.WithTimeout(ctx, 3*time.Second)
	_ = l.waitAccepted(more, int(l.accepted.Load())+3)
	cancel()
	err = proc.Sleep(ctx, time.Second)
	if err == nil {
		err = w.Kill()
	}
	release()
	note := fmt.Sprintf("%s SIGKILLed %s into a store lock", w.Name, time.Since(locked).Round(100*time.Millisecond))
	if err != nil || down < 0 {
		return note, err
	}
	return fmt.Sprintf("%s, restarted %s later", note, down), w.Restart(ctx, down, readyWait)
}

// outage kills p with SIGKILL and starts it again after down. It returns
// the time p was dead.
func outage(ctx context.Context, p *proc.Process, down time.Duration) (window, error) {
	if err := p.Kill(); err != nil {
		return window{}, err
	}
	w := window{from: time.Now()}
	w.to = w.from.Add(down)
	return w, p.Restart(ctx, down, readyWait)
}

// window is a span of time.
type window struct{ from, to time.Time }

func (w window) contains(t time.Time) bool { return t.After(w.from) && t.Before(w.to) }

var build struct {
	once sync.Once
	dir  string
	err  error
}

// binaries builds the receiver and the worker once per test run and returns
// the directory that holds them.
func binaries(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		dir, err := os.MkdirTemp("", "zentrix-chaos-bin-")
		if err != nil {
			build.err = err
			return
		}
		build.dir = dir
		cmd := exec.Command("go", "build", "-o", dir+string(os.PathSeparator), "./cmd/receiver", "./cmd/worker")
		cmd.Dir = ".." // the module root
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.dir
}

// temporalCLI finds the Temporal CLI that `make temporal` builds. Under
// CI=true a missing binary fails the test instead of skipping it.
func temporalCLI(t *testing.T) string {
	t.Helper()
	path := os.Getenv("TEMPORAL_CLI")
	if path == "" {
		path = filepath.Join("..", "bin", "temporal")
	}
	path, err := filepath.Abs(path)
	if err == nil {
		_, err = os.Stat(path)
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Temporal CLI not found (make temporal): %v", err)
		}
		t.Skipf("Temporal CLI not found (make temporal): %v", err)
	}
	return path
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// pingTemporal succeeds once the dev server answers on hostPort.
func pingTemporal(ctx context.Context, hostPort string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{HostPort: hostPort, Logger: discardLogger()})
	if err != nil {
		return fmt.Errorf("dial temporal: %w", err)
	}
	defer c.Close()
	if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		return fmt.Errorf("temporal health: %w", err)
	}
	return nil
}

func discardLogger() sdklog.Logger {
	return sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))
}

// envInt reads an integer from the environment, or def.
func envInt(name string, def int64) int64 {
	if v, err := strconv.ParseInt(os.Getenv(name), 10, 64); err == nil {
		return v
	}
	return def
}

// leaks names each process log, and each serving receiver's /metrics, that
// holds one of needles (secrets, a phone number).
func (c *cluster) leaks(ctx context.Context, needles ...string) []string {
	var found []string
	has := func(where string, b []byte) {
		for _, n := range needles {
			if bytes.Contains(b, []byte(n)) {
				found = append(found, fmt.Sprintf("%s holds %q", where, n))
			}
		}
	}
	for _, p := range c.processes() {
		if p.Log == "" {
			continue
		}
		if b, err := os.ReadFile(p.Log); err == nil {
			has(p.Name+"'s log", b)
		}
	}
	for _, u := range c.urls {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u+"/metrics", nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			continue // a receiver the scenario killed
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		has(u+"/metrics", b)
	}
	return found
}

// Command dev runs the whole system on one machine for development: the
// Temporal dev server (bin/temporal, SQLite file under .data/, Web UI on
// :8233) with the custom search attributes, then the worker and the receiver
// as separate processes with development secrets, which it prints. Ctrl-C (or
// SIGTERM) stops them all, receiver first, and leaves no process behind.
//
// `make run` builds the binaries and starts this.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/zentrix/webhooks/internal/proc"
	"github.com/zentrix/webhooks/internal/service"
	"github.com/zentrix/webhooks/temporal"
)

const name = "zentrix-dev"

// Development defaults, used unless the environment sets them.
var devEnv = map[string]string{
	"CALL_WEBHOOK_SECRET":     "dev-call-secret",
	"RAZORPAY_WEBHOOK_SECRET": "dev-razorpay-secret",
	"TEMPORAL_ADDRESS":        "127.0.0.1:7233",
	"HTTP_ADDR":               "127.0.0.1:8080",
	"DATABASE_URL":            "sqlite:.data/zentrix.db",
	"METRICS_ADDR":            "127.0.0.1:9090",
}

const (
	dataDir   = ".data"
	uiURL     = "http://127.0.0.1:8233"
	startWait = 90 * time.Second
	stopWait  = 15 * time.Second
)

func main() {
	if len(os.Args) > 1 {
		fmt.Fprintln(os.Stderr, "usage: dev (no arguments; configure with the environment, see the README)")
		os.Exit(2)
	}
	ctx, stop := service.Context()
	defer stop()
	if err := run(ctx); err != nil {
		service.Exit(name, err)
	}
}

type child struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func run(ctx context.Context) error {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("service", name)
	// Only what this command supplied is printed: a secret or a database
	// URL from the environment stays unseen.
	supplied := map[string]bool{}
	for k, v := range devEnv {
		if os.Getenv(k) == "" {
			os.Setenv(k, v)
			supplied[k] = true
		}
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return err
	}
	bin, err := filepath.Abs("bin")
	if err != nil {
		return err
	}

	var running []*child
	exited := make(chan *child, 3)
	startChild := func(name string, args ...string) error {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		dieWithParent(cmd)
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start %s: %w", name, err)
		}
		c := &child{name: name, cmd: cmd, done: make(chan struct{})}
		go func() { c.err = cmd.Wait(); close(c.done); exited <- c }()
		running = append(running, c)
		return nil
	}
	// Stop in reverse order of start: the receiver stops taking events before
	// the worker and the server go.
	defer func() {
		for i := len(running) - 1; i >= 0; i-- {
			stopChild(logger, running[i])
		}
	}()

	serverArgs := []string{filepath.Join(bin, "temporal"), "server", "start-dev",
		"--ip", "127.0.0.1", "--port", "7233", "--ui-port", "8233",
		"--db-filename", filepath.Join(dataDir, "temporal.db"),
		// WAL with synchronous=normal: about three times the SignalWithStart
		// throughput of the default journal on these machines (see README).
		"--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal",
		"--log-level", "warn",
	}
	if err := startChild("temporal", append(serverArgs, temporal.DevServerFlags()...)...); err != nil {
		return err
	}
	if err := waitFor(ctx, exited, "the Temporal dev server", func(ctx context.Context) error {
		c, err := temporal.Dial(ctx, temporal.Config{Address: os.Getenv("TEMPORAL_ADDRESS"), Namespace: "default"},
			slog.New(slog.DiscardHandler))
		if err == nil {
			c.Close()
		}
		return err
	}); err != nil {
		return err
	}
	if err := startChild("worker", filepath.Join(bin, "worker")); err != nil {
		return err
	}
	if err := startChild("receiver", filepath.Join(bin, "receiver")); err != nil {
		return err
	}
	receiverURL := "http://" + os.Getenv("HTTP_ADDR")
	if err := waitFor(ctx, exited, "the receiver", func(ctx context.Context) error {
		return proc.HTTPOK(ctx, receiverURL+"/readyz")
	}); err != nil {
		return err
	}
	printBanner(receiverURL, supplied)

	// Once up, a process that exits is reported and the others keep running:
	// with the dev server gone the receiver answers 503 and the worker waits,
	// as they would in production.
	for alive := len(running); ; {
		select {
		case <-ctx.Done():
			fmt.Fprintln(os.Stderr, "\nstopping receiver, worker and Temporal dev server…")
			return nil
		case c := <-exited:
			logger.Warn("process exited; the others keep running, Ctrl-C stops them", "process", c.name, "error", c.err)
			if alive--; alive == 0 {
				return errors.New("every process has exited")
			}
		}
	}
}

// waitFor polls check until it succeeds, a child exits, ctx ends or startWait
// passes.
func waitFor(ctx context.Context, exited <-chan *child, what string, check func(context.Context) error) error {
	deadline := time.Now().Add(startWait)
	for {
		attempt, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := check(attempt)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not come up in %s: %w", what, startWait, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case c := <-exited:
			return fmt.Errorf("%s exited while waiting for %s: %v", c.name, what, c.err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// stopChild asks a child to stop with SIGTERM and kills it if it has not
// stopped within stopWait.
func stopChild(logger *slog.Logger, c *child) {
	select {
	case <-c.done:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(stopWait):
		logger.Warn("process did not stop in time; killing it", "process", c.name)
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

func printBanner(receiverURL string, supplied map[string]bool) {
	shown := func(key string) string {
		if supplied[key] {
			return os.Getenv(key)
		}
		return "(set in your environment, not shown)"
	}
	callSecret := "$CALL_WEBHOOK_SECRET"
	if supplied["CALL_WEBHOOK_SECRET"] {
		callSecret = "'" + os.Getenv("CALL_WEBHOOK_SECRET") + "'"
	}
	fmt.Printf(`
Zentrix webhooks are running.

  Temporal Web UI   %s
  Receiver          %s  (POST /api/calls/webhooks, POST /api/payments/webhooks, GET /metrics)
  Worker metrics    http://%s/metrics
  Temporal          %s, task queue %s
  Store             %s

Development secrets (never use them in production):
  CALL_WEBHOOK_SECRET=%s
  RAZORPAY_WEBHOOK_SECRET=%s

Send a signed call.started:

  body='{"event":"call.started","timestamp":"%s","data":{"callId":"call_demo1","agentId":"agent_1","platform":"web"}}'
  sig=$(printf '%%s' "$body" | openssl dgst -sha256 -hmac %s -hex | sed 's/^.* //')
  curl -i -X POST %s/api/calls/webhooks -H "x-webhook-signature: $sig" -H 'content-type: application/json' -d "$body"

Then open %s/namespaces/default/workflows/call_demo1 . Ctrl-C stops everything.

`, uiURL, receiverURL, os.Getenv("METRICS_ADDR"), os.Getenv("TEMPORAL_ADDRESS"), taskQueue(), shown("DATABASE_URL"),
		shown("CALL_WEBHOOK_SECRET"), shown("RAZORPAY_WEBHOOK_SECRET"), time.Now().UTC().Format(time.RFC3339),
		callSecret, receiverURL, uiURL)
}

func taskQueue() string {
	if q := os.Getenv("TEMPORAL_TASK_QUEUE"); q != "" {
		return q
	}
	return "zentrix-webhooks"
}

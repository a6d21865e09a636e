package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/zentrix/webhooks/temporal"
)

const (
	callSecret     = "bench-call-secret"
	razorpaySecret = "bench-razorpay-secret"
	ingestQueue    = "zentrix-bench-ingest" // no worker polls it: arm 1 measures the hand-off alone
	drainQueue     = "zentrix-bench-drain"
)

// benchEnv is what a run started: the dev server, the receiver and a bare
// Fiber server as processes, and a client.
type benchEnv struct {
	dir         string
	server      *testsuite.DevServer
	client      client.Client
	receiver    *child
	receiverURL string
	bare        *child
	bareURL     string
	worker      *child // started by the drain arm
	workerDB    string
	drainQueue  string // the task queue of the running worker
	rows        int    // webhook_events rows the worker should have written so far
	procs       []*child
}

type child struct {
	name string
	cmd  *exec.Cmd
}

func setUp(ctx context.Context, opts options, log io.Writer) (*benchEnv, error) {
	dir, err := os.MkdirTemp("", "zentrix-bench-")
	if err != nil {
		return nil, err
	}
	env := &benchEnv{dir: dir, workerDB: filepath.Join(dir, "zentrix.db")}
	fmt.Fprintln(log, "building receiver and worker…")
	build := exec.CommandContext(ctx, "go", "build", "-o", dir+string(os.PathSeparator), "./cmd/receiver", "./cmd/worker")
	build.Stdout, build.Stderr = log, log
	if err := build.Run(); err != nil {
		env.tearDown()
		return nil, fmt.Errorf("build: %w", err)
	}
	cli, err := filepath.Abs(opts.temporalCLI)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(cli); err != nil {
		env.tearDown()
		return nil, fmt.Errorf("no Temporal CLI at %s (make bin/temporal): %w", cli, err)
	}
	fmt.Fprintln(log, "starting the Temporal dev server…")
	env.server, err = testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:  cli,
		ClientOptions: &client.Options{Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))},
		DBFilename:    filepath.Join(dir, "temporal.db"),
		LogLevel:      "error",
		// The same file-backed server as make run, with its pragmas.
		ExtraArgs: append([]string{"--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"},
			temporal.DevServerFlags()...),
		Stdout: io.Discard, Stderr: io.Discard,
	})
	if err != nil {
		env.tearDown()
		return nil, fmt.Errorf("start dev server: %w", err)
	}
	env.client = env.server.Client()

	addr, err := freeAddr()
	if err != nil {
		env.tearDown()
		return nil, err
	}
	env.receiverURL = "http://" + addr
	env.receiver, err = env.start("receiver", filepath.Join(dir, "receiver"), nil,
		"HTTP_ADDR="+addr, "TEMPORAL_ADDRESS="+env.server.FrontendHostPort(), "TEMPORAL_TASK_QUEUE="+ingestQueue,
		"CALL_WEBHOOK_SECRET="+callSecret, "RAZORPAY_WEBHOOK_SECRET="+razorpaySecret, "LOG_LEVEL=error")
	if err == nil {
		err = waitHTTP(ctx, env.receiverURL+"/readyz")
	}
	if err != nil {
		env.tearDown()
		return nil, err
	}

	bareAddr, err := freeAddr()
	if err == nil {
		self, _ := os.Executable()
		env.bareURL = "http://" + bareAddr
		env.bare, err = env.start("bare fiber", self, []string{bareFiberCommand, bareAddr})
	}
	if err == nil {
		err = waitHTTP(ctx, env.bareURL+"/healthz")
	}
	if err != nil {
		env.tearDown()
		return nil, err
	}
	return env, nil
}

// start runs a program of the benchmark with extra environment.
func (e *benchEnv) start(name, path string, args []string, environ ...string) (*child, error) {
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), environ...)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &child{name: name, cmd: cmd}
	e.procs = append(e.procs, p)
	return p, nil
}

func (e *benchEnv) tearDown() {
	for i := len(e.procs) - 1; i >= 0; i-- {
		e.procs[i].stop()
	}
	if e.server != nil {
		_ = e.server.Stop()
	}
	_ = os.RemoveAll(e.dir)
}

func (p *child) stop() {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// rss is a process's resident set size in bytes, from /proc.
func (p *child) rss() (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for %s", p.name)
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitHTTP waits for url to answer 200.
func waitHTTP(ctx context.Context, url string) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(url)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s: %s", url, res.Status)
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// machine describes where the figures were taken.
func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	host, _ := os.Hostname()
	_ = host
	return fmt.Sprintf("%s, %d CPUs", cpu, numCPU())
}

// cpuSeconds is the CPU time (user + system) a process has used, from /proc.
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100, nil // clock ticks; USER_HZ is 100 on Linux
}

// serverPID finds the dev server's process by its database file.
func (e *benchEnv) serverPID() (int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	db := filepath.Join(e.dir, "temporal.db")
	for _, entry := range entries {
		pid, err := strconv.Atoi(entry.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err == nil && strings.Contains(string(cmdline), db) {
			return pid, nil
		}
	}
	return 0, fmt.Errorf("dev server process not found")
}

// Package proc runs the programs of a local system (Temporal services,
// receivers, workers) as separate processes that can be killed, restarted
// and stopped, each with its output appended to a log file.
package proc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// How long Stop waits after SIGTERM before it kills.
const StopWait = 15 * time.Second

// Process is one program. It can be killed and started again with the same
// arguments.
type Process struct {
	Name string
	Path string
	Args []string
	// Env is the program's whole environment besides PATH, HOME and TMPDIR:
	// nothing else of the caller's (no TEMPORAL_* or DATABASE_URL of a
	// developer's shell) reaches it.
	Env []string
	Dir string // working directory; the caller's when empty
	Log string // output is appended here
	// Ready returns nil once the program serves.
	Ready func(ctx context.Context) error
	// Detached programs outlive the caller, in a session of their own;
	// otherwise they die with it (Pdeathsig).
	Detached bool

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Start runs the program once more.
func (p *Process) Start() error {
	f, err := os.OpenFile(p.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	fmt.Fprintf(f, "=== %s: start %s\n", time.Now().Format(time.RFC3339Nano), p.Name)
	cmd := exec.Command(p.Path, p.Args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + os.TempDir()}, p.Env...)
	cmd.Dir = p.Dir
	cmd.Stdout, cmd.Stderr = f, f
	if p.Detached {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	} else {
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	done := make(chan struct{})
	go func() {
		err := cmd.Wait()
		fmt.Fprintf(f, "=== %s: %s exited: %v\n", time.Now().Format(time.RFC3339Nano), p.Name, err)
		f.Close()
		close(done)
	}()
	p.mu.Lock()
	p.cmd, p.done = cmd, done
	p.mu.Unlock()
	return nil
}

// StartReady starts the program and waits until it is ready.
func (p *Process) StartReady(ctx context.Context) error {
	if err := p.Start(); err != nil {
		return err
	}
	return p.WaitReady(ctx)
}

// WaitReady waits until the running program is ready.
func (p *Process) WaitReady(ctx context.Context) error {
	_, done := p.current()
	if done == nil {
		return fmt.Errorf("%s is not running", p.Name)
	}
	for {
		err := p.Ready(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("%s exited before it was ready (see %s):\n%s", p.Name, p.Log, Tail(p.Log, 10))
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w (last error: %v)", p.Name, ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Restart starts the program again after down and waits until it is ready
// or wait has passed.
func (p *Process) Restart(ctx context.Context, down, wait time.Duration) error {
	if err := Sleep(ctx, down); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	return p.StartReady(ctx)
}

func (p *Process) current() (*exec.Cmd, chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd, p.done
}

// Pid is the process id of the running program, 0 if none.
func (p *Process) Pid() int {
	if cmd, _ := p.current(); cmd != nil && p.Alive() {
		return cmd.Process.Pid
	}
	return 0
}

// Exited is closed when the running program exits (nil if never started).
func (p *Process) Exited() <-chan struct{} {
	_, done := p.current()
	return done
}

// Alive reports whether the program is running.
func (p *Process) Alive() bool {
	cmd, done := p.current()
	if cmd == nil {
		return false
	}
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// Kill ends the program with SIGKILL and waits for it to be gone.
func (p *Process) Kill() error {
	cmd, done := p.current()
	if !p.Alive() {
		return fmt.Errorf("kill %s: not running", p.Name)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill %s: %w", p.Name, err)
	}
	<-done
	return nil
}

// Stop asks the program to stop with SIGTERM and kills it after StopWait.
func (p *Process) Stop() {
	cmd, done := p.current()
	if !p.Alive() {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(StopWait):
		_ = cmd.Process.Kill()
		<-done
	}
}

// StopPid stops a process this program did not start (a detached program
// of an earlier run): SIGTERM, then SIGKILL after wait. A pid that is gone
// is not an error.
func StopPid(pid int, wait time.Duration) error {
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return nil
		}
		return fmt.Errorf("stop pid %d: %w", pid, err)
	}
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if syscall.Kill(pid, 0) != nil {
			return nil
		}
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill pid %d: %w", pid, err)
	}
	return nil
}

// FreeAddr returns a loopback address with a port that was free a moment
// ago.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// HTTPOK succeeds when GET url answers 200 within two seconds.
func HTTPOK(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, res.Status)
	}
	return nil
}

// Sleep waits for d or until ctx is done.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Tail returns the last n lines of a file.
func Tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	for s.Scan() {
		lines = append(lines, s.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	if err := s.Err(); err != nil && !errors.Is(err, bufio.ErrTooLong) {
		lines = append(lines, "read: "+err.Error())
	}
	return strings.Join(lines, "\n")
}

// PidAlive reports whether a process with that id exists.
func PidAlive(pid int) bool { return pid > 0 && syscall.Kill(pid, 0) == nil }

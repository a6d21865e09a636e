package loadgen_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/zentrix/webhooks/loadgen"
)

// probe is an Op wrapper that checks what the runners promise: every
// sequence number issued once, and how many requests ran at the same time.
type probe struct {
	mu       sync.Mutex
	seen     map[int]int
	inFlight atomic.Int64
	peak     atomic.Int64
}

func newProbe() *probe { return &probe{seen: make(map[int]int)} }

// wrap returns an Op that records i and the concurrency, then runs op.
func (p *probe) wrap(op loadgen.Op) loadgen.Op {
	return func(ctx context.Context, i int) error {
		p.mu.Lock()
		p.seen[i]++
		p.mu.Unlock()
		n := p.inFlight.Add(1)
		defer p.inFlight.Add(-1)
		for {
			peak := p.peak.Load()
			if n <= peak || p.peak.CompareAndSwap(peak, n) {
				break
			}
		}
		return op(ctx, i)
	}
}

// checkSequence fails unless sequence numbers 0..n-1 were each issued once.
func (p *probe) checkSequence(t *testing.T, n int) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.seen) != n {
		t.Errorf("issued %d distinct sequence numbers, want %d", len(p.seen), n)
	}
	for i := range n {
		if p.seen[i] != 1 {
			t.Errorf("sequence number %d issued %d times, want 1", i, p.seen[i])
		}
	}
}

// sleep returns an Op that sleeps d, or until ctx is done.
func sleep(d time.Duration) loadgen.Op {
	return func(ctx context.Context, _ int) error {
		select {
		case <-time.After(d):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// checkOrdered fails unless the percentiles are in non-decreasing order.
func checkOrdered(t *testing.T, p loadgen.Percentiles) {
	t.Helper()
	got := []time.Duration{p.Min, p.P50, p.P90, p.P99, p.P999, p.Max}
	if !slices.IsSorted(got) || p.Mean < p.Min || p.Mean > p.Max {
		t.Errorf("percentiles out of order: %v", p)
	}
}

func TestRunClosed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		c            loadgen.Closed
		wantRequests int // 0: at least one, count unknown (duration mode)
		wantRecorded int
	}{
		{"one worker", loadgen.Closed{Concurrency: 1, Requests: 20}, 20, 20},
		{"four workers with warmup", loadgen.Closed{Concurrency: 4, Requests: 100, Warmup: 10}, 100, 90},
		{"more workers than requests", loadgen.Closed{Concurrency: 8, Requests: 3}, 3, 3},
		{"zero concurrency means one", loadgen.Closed{Requests: 5}, 5, 5},
		{"duration", loadgen.Closed{Concurrency: 2, Duration: 50 * time.Millisecond}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newProbe()
			r := loadgen.RunClosed(t.Context(), tt.c, p.wrap(sleep(time.Millisecond)))

			if tt.wantRequests > 0 {
				if r.Requests != tt.wantRequests || r.Recorded != tt.wantRecorded {
					t.Errorf("requests %d recorded %d, want %d and %d", r.Requests, r.Recorded, tt.wantRequests, tt.wantRecorded)
				}
			} else if r.Requests == 0 || r.Recorded != r.Requests-tt.c.Warmup {
				t.Errorf("requests %d recorded %d, want some, all recorded", r.Requests, r.Recorded)
			}
			p.checkSequence(t, r.Requests)
			if peak := p.peak.Load(); peak > int64(max(tt.c.Concurrency, 1)) {
				t.Errorf("peak concurrency %d, want at most %d", peak, tt.c.Concurrency)
			}
			if r.Failed != 0 || r.FirstError != "" {
				t.Errorf("failed %d (%q), want none", r.Failed, r.FirstError)
			}
			if r.Throughput <= 0 || r.Elapsed <= 0 {
				t.Errorf("throughput %v over %v, want positive", r.Throughput, r.Elapsed)
			}
			if r.Latency.Min < time.Millisecond {
				t.Errorf("min latency %v, want at least the op's 1ms", r.Latency.Min)
			}
			checkOrdered(t, r.Latency)
		})
	}
}

func TestRunOpen(t *testing.T) {
	t.Parallel()
	const maxInFlight = 4
	p := newProbe()
	op := p.wrap(func(ctx context.Context, i int) error {
		if i < 20 {
			return sleep(20*time.Millisecond)(ctx, i)
		}
		return nil
	})
	r := loadgen.RunOpen(t.Context(), loadgen.Open{Rate: 200, Requests: 200, MaxInFlight: maxInFlight}, op)

	if r.Requests != 200 || r.Recorded != 200 || r.Failed != 0 {
		t.Errorf("requests %d recorded %d failed %d, want 200, 200, 0", r.Requests, r.Recorded, r.Failed)
	}
	p.checkSequence(t, 200)
	if peak := p.peak.Load(); peak > maxInFlight {
		t.Errorf("peak in flight %d, want at most %d", peak, maxInFlight)
	}
	// Measured from the schedule, a latency is never below the op's own time.
	if r.Latency.Max < 20*time.Millisecond {
		t.Errorf("max latency %v, want at least the slow ops' 20ms", r.Latency.Max)
	}
	// 200 arrivals at 200/s span about a second of schedule.
	if r.Elapsed < 900*time.Millisecond || r.Throughput <= 0 {
		t.Errorf("elapsed %v throughput %v, want about 1s and positive", r.Elapsed, r.Throughput)
	}
	checkOrdered(t, r.Latency)
}

func TestRunOpenDurationAndWarmup(t *testing.T) {
	t.Parallel()
	r := loadgen.RunOpen(t.Context(), loadgen.Open{Rate: 100, Duration: 200 * time.Millisecond, Warmup: 5},
		func(context.Context, int) error { return nil })
	// Arrivals at 0, 10ms, ... 190ms: exactly 20 fit in the schedule.
	if r.Requests != 20 || r.Recorded != 15 {
		t.Errorf("requests %d recorded %d, want 20 and 15", r.Requests, r.Recorded)
	}
}

// TestRunOpenNoCoordinatedOmission stalls one request for 100ms with one slot:
// the requests scheduled during the stall wait for it, and that wait counts.
func TestRunOpenNoCoordinatedOmission(t *testing.T) {
	t.Parallel()
	op := func(ctx context.Context, i int) error {
		if i == 0 {
			return sleep(100*time.Millisecond)(ctx, i)
		}
		return nil
	}
	r := loadgen.RunOpen(t.Context(), loadgen.Open{Rate: 100, Requests: 50, MaxInFlight: 1}, op)

	if r.Requests != 50 {
		t.Fatalf("requests %d, want 50", r.Requests)
	}
	// Requests 1..5, scheduled at 10..50ms, cannot start before 100ms, so
	// six of fifty latencies are at least 50ms: the top 12%. Timing from the
	// actual send would show only request 0 as slow.
	if r.Latency.P90 < 50*time.Millisecond || r.Latency.P99 < 50*time.Millisecond {
		t.Errorf("p90 %v p99 %v, want both at least 50ms", r.Latency.P90, r.Latency.P99)
	}
	checkOrdered(t, r.Latency)
}

func TestFailures(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 10_000)
	tests := []struct {
		name      string
		msg       string
		wantError string
	}{
		{"short message", "boom", "boom 1"},
		{"long message truncated", long, "xxx"},
	}
	runners := []struct {
		name string
		run  func(context.Context, loadgen.Op) loadgen.Result
	}{
		{"closed", func(ctx context.Context, op loadgen.Op) loadgen.Result {
			return loadgen.RunClosed(ctx, loadgen.Closed{Concurrency: 1, Requests: 10}, op)
		}},
		{"open", func(ctx context.Context, op loadgen.Op) loadgen.Result {
			return loadgen.RunOpen(ctx, loadgen.Open{Rate: 1000, Requests: 10, MaxInFlight: 1}, op)
		}},
	}
	for _, tt := range tests {
		for _, rr := range runners {
			t.Run(tt.name+"/"+rr.name, func(t *testing.T) {
				t.Parallel()
				r := rr.run(t.Context(), func(_ context.Context, i int) error {
					if i%2 == 1 {
						return fmt.Errorf("%s %d", tt.msg, i)
					}
					return nil
				})
				if r.Requests != 10 || r.Failed != 5 || r.Recorded != 10 {
					t.Errorf("requests %d failed %d recorded %d, want 10, 5, 10", r.Requests, r.Failed, r.Recorded)
				}
				if !strings.HasPrefix(r.FirstError, tt.wantError) || len(r.FirstError) > 1024 {
					t.Errorf("first error %.40q (%d bytes), want prefix %q, at most 1024 bytes", r.FirstError, len(r.FirstError), tt.wantError)
				}
			})
		}
	}
}

func TestCancelStopsRunners(t *testing.T) {
	t.Parallel()
	// Ops block until cancelled, so in-flight requests must be released
	// through ctx and the runners must stop scheduling.
	block := func(ctx context.Context, _ int) error {
		<-ctx.Done()
		return ctx.Err()
	}
	tests := []struct {
		name string
		run  func(context.Context) loadgen.Result
	}{
		{"closed, no limit", func(ctx context.Context) loadgen.Result {
			return loadgen.RunClosed(ctx, loadgen.Closed{Concurrency: 4}, block)
		}},
		{"closed, long duration", func(ctx context.Context) loadgen.Result {
			return loadgen.RunClosed(ctx, loadgen.Closed{Concurrency: 4, Duration: time.Hour}, sleep(time.Millisecond))
		}},
		{"open, slots full", func(ctx context.Context) loadgen.Result {
			return loadgen.RunOpen(ctx, loadgen.Open{Rate: 1000, MaxInFlight: 4}, block)
		}},
		{"open, slow schedule", func(ctx context.Context) loadgen.Result {
			return loadgen.RunOpen(ctx, loadgen.Open{Rate: 0.001, Requests: 10}, block)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
			defer cancel()
			done := make(chan loadgen.Result, 1)
			go func() { done <- tt.run(ctx) }()
			select {
			case r := <-done:
				if r.Requests == 0 {
					t.Errorf("no request completed before the cancel")
				}
			case <-time.After(10 * time.Second):
				t.Fatal("runner still going 10s after its context was cancelled")
			}
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want []string // substrings; none means valid
	}{
		{"closed ok", loadgen.Closed{Concurrency: 2, Requests: 10, Warmup: 2}.Validate(), nil},
		{"closed unlimited", loadgen.Closed{}.Validate(), nil},
		{"closed negatives", loadgen.Closed{Concurrency: -1, Duration: -1}.Validate(), []string{"concurrency", "duration"}},
		{"closed warmup eats all", loadgen.Closed{Requests: 5, Warmup: 5}.Validate(), []string{"warmup"}},
		{"open ok", loadgen.Open{Rate: 10, Duration: time.Second}.Validate(), nil},
		{"open zero rate", loadgen.Open{}.Validate(), []string{"rate"}},
		{"open negatives", loadgen.Open{Rate: 1, Requests: -1, MaxInFlight: -1}.Validate(), []string{"requests", "max in flight"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if (tt.err != nil) != (len(tt.want) > 0) {
				t.Fatalf("Validate() = %v, want error %v", tt.err, len(tt.want) > 0)
			}
			for _, w := range tt.want {
				if !strings.Contains(tt.err.Error(), w) {
					t.Errorf("Validate() = %q, want it to mention %q", tt.err, w)
				}
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	var ascending []time.Duration
	for i := 1; i <= 100; i++ {
		ascending = append(ascending, ms(i))
	}
	descending := slices.Clone(ascending)
	slices.Reverse(descending)
	tests := []struct {
		name string
		in   []time.Duration
		want loadgen.Percentiles
	}{
		{"empty", nil, loadgen.Percentiles{}},
		{"one", []time.Duration{ms(7)}, loadgen.Percentiles{ms(7), ms(7), ms(7), ms(7), ms(7), ms(7), ms(7)}},
		{"1..100ms", ascending, loadgen.Percentiles{
			Min: ms(1), P50: ms(50), P90: ms(90), P99: ms(99), P999: ms(100), Max: ms(100), Mean: 50500 * time.Microsecond,
		}},
		{"100..1ms", descending, loadgen.Percentiles{
			Min: ms(1), P50: ms(50), P90: ms(90), P99: ms(99), P999: ms(100), Max: ms(100), Mean: 50500 * time.Microsecond,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			before := slices.Clone(tt.in)
			if got := loadgen.Summarize(tt.in); got != tt.want {
				t.Errorf("Summarize() = %v, want %v", got, tt.want)
			}
			if !slices.Equal(tt.in, before) {
				t.Error("Summarize modified its input")
			}
		})
	}
}

func TestMedian(t *testing.T) {
	t.Parallel()
	round := func(id int, throughput float64) loadgen.Result {
		return loadgen.Result{Requests: id, Throughput: throughput}
	}
	tests := []struct {
		name   string
		in     []loadgen.Result
		wantID int
	}{
		{"none", nil, 0},
		{"one", []loadgen.Result{round(1, 5)}, 1},
		{"two takes the lower", []loadgen.Result{round(1, 9), round(2, 3)}, 2},
		{"three unordered", []loadgen.Result{round(1, 10), round(2, 30), round(3, 20)}, 3},
		{"five", []loadgen.Result{round(1, 5), round(2, 1), round(3, 4), round(4, 2), round(5, 3)}, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			before := slices.Clone(tt.in)
			if got := loadgen.Median(tt.in); got.Requests != tt.wantID {
				t.Errorf("Median() picked round %d, want %d", got.Requests, tt.wantID)
			}
			if !slices.Equal(tt.in, before) {
				t.Error("Median reordered its input")
			}
		})
	}
}

func TestRatio(t *testing.T) {
	t.Parallel()
	tests := []struct{ a, b, want float64 }{
		{10, 4, 2.5},
		{0, 4, 0},
		{10, 0, 0},
	}
	for _, tt := range tests {
		if got := loadgen.Ratio(tt.a, tt.b); got != tt.want {
			t.Errorf("Ratio(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

// newServer starts a test server that answers status after checking the
// signature header and body, and counts the connections it accepts.
func newServer(t *testing.T, status int) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil || string(body) != `{"id":1}` || r.Header.Get("X-Signature") != "sig" ||
			r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, strings.Repeat("response body ", 100))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

// newPoster returns a Poster closed when the test ends.
func newPoster(t *testing.T, concurrency int) *loadgen.Poster {
	t.Helper()
	p := loadgen.NewPoster(concurrency, 5*time.Second)
	t.Cleanup(p.Close)
	return p
}

var (
	body    = []byte(`{"id":1}`)
	headers = map[string]string{"X-Signature": "sig"}
)

func TestPosterPost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		status   int
		want     []int
		wantCode int // 0: no error
	}{
		{"wanted status", http.StatusAccepted, []int{http.StatusAccepted}, 0},
		{"one of several wanted", http.StatusOK, []int{http.StatusAccepted, http.StatusOK}, 0},
		{"any 2xx by default", http.StatusNoContent, nil, 0},
		{"unwanted 2xx", http.StatusOK, []int{http.StatusAccepted}, http.StatusOK},
		{"server error", http.StatusInternalServerError, []int{http.StatusAccepted}, http.StatusInternalServerError},
		{"client error by default", http.StatusTooManyRequests, nil, http.StatusTooManyRequests},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := newServer(t, tt.status)
			err := newPoster(t, 1).Post(t.Context(), srv.URL, body, headers, tt.want...)
			if tt.wantCode == 0 {
				if err != nil {
					t.Fatalf("Post() = %v, want nil", err)
				}
				return
			}
			var se *loadgen.StatusError
			if !errors.As(err, &se) || se.Code != tt.wantCode {
				t.Fatalf("Post() = %v, want a StatusError with code %d", err, tt.wantCode)
			}
			if !strings.Contains(err.Error(), fmt.Sprint(tt.wantCode)) {
				t.Errorf("Post() = %q, want it to name status %d", err, tt.wantCode)
			}
		})
	}
}

func TestPosterTransportError(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t, http.StatusOK)
	url := srv.URL
	srv.Close()
	if err := newPoster(t, 1).Post(t.Context(), url, body, headers); err == nil {
		t.Fatal("Post() to a closed server = nil, want an error")
	}
}

func TestPosterReusesConnections(t *testing.T) {
	t.Parallel()
	const concurrency = 4
	srv, conns := newServer(t, http.StatusAccepted)
	p := newPoster(t, concurrency)
	r := loadgen.RunClosed(t.Context(), loadgen.Closed{Concurrency: concurrency, Requests: 100},
		func(ctx context.Context, _ int) error {
			return p.Post(ctx, srv.URL, body, headers, http.StatusAccepted)
		})
	if r.Requests != 100 || r.Failed != 0 {
		t.Fatalf("requests %d failed %d (%s), want 100 and 0", r.Requests, r.Failed, r.FirstError)
	}
	if n := conns.Load(); n > concurrency {
		t.Errorf("server accepted %d connections for 100 requests, want at most %d", n, concurrency)
	}
}

// TestRunOpenExactInFakeTime repeats the coordinated-omission scenario on
// synctest's fake clock, where every latency is exact, and relies on
// synctest.Test to fail if any goroutine outlives the run.
func TestRunOpenExactInFakeTime(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		op := func(_ context.Context, i int) error {
			if i == 0 {
				time.Sleep(100 * time.Millisecond)
			}
			return nil
		}
		r := loadgen.RunOpen(t.Context(), loadgen.Open{Rate: 100, Requests: 50, MaxInFlight: 1}, op)
		// Request k in 1..9 is scheduled at 10k ms and starts at 100ms; the
		// other 40 start on time and take no time.
		want := loadgen.Percentiles{
			Min: 0, P50: 0, P90: 50 * time.Millisecond, P99: 100 * time.Millisecond,
			P999: 100 * time.Millisecond, Max: 100 * time.Millisecond, Mean: 11 * time.Millisecond,
		}
		if r.Latency != want {
			t.Errorf("latency %v, want %v", r.Latency, want)
		}
		if r.Elapsed != 490*time.Millisecond {
			t.Errorf("elapsed %v, want 490ms (the last arrival's schedule)", r.Elapsed)
		}
	})
}

// TestRunnersLeaveNoGoroutines runs each runner to completion and to
// cancellation inside a synctest bubble, which fails if any goroutine is
// left behind.
func TestRunnersLeaveNoGoroutines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		cancel bool
		run    func(context.Context, loadgen.Op) loadgen.Result
	}{
		{"closed", false, func(ctx context.Context, op loadgen.Op) loadgen.Result {
			return loadgen.RunClosed(ctx, loadgen.Closed{Concurrency: 8, Requests: 100}, op)
		}},
		{"closed cancelled", true, func(ctx context.Context, op loadgen.Op) loadgen.Result {
			return loadgen.RunClosed(ctx, loadgen.Closed{Concurrency: 8}, op)
		}},
		{"open", false, func(ctx context.Context, op loadgen.Op) loadgen.Result {
			return loadgen.RunOpen(ctx, loadgen.Open{Rate: 1000, Duration: time.Second, MaxInFlight: 8}, op)
		}},
		{"open cancelled", true, func(ctx context.Context, op loadgen.Op) loadgen.Result {
			return loadgen.RunOpen(ctx, loadgen.Open{Rate: 1000, MaxInFlight: 8}, op)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				ctx := t.Context()
				if tt.cancel {
					c, cancel := context.WithTimeout(ctx, time.Second)
					defer cancel()
					ctx = c
				}
				r := tt.run(ctx, sleep(5*time.Millisecond))
				if r.Requests == 0 {
					t.Error("no request completed")
				}
			})
		})
	}
}

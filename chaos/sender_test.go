//go:build chaos

package chaos_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zentrix/webhooks/internal/proc"
)

// sendOptions shape a sender. The zero value delivers each entity's events
// once, in order, eight entities at a time.
type sendOptions struct {
	// copies is how many times each event is delivered, concurrently, spread
	// over the receivers (a duplicate storm).
	copies int
	// shuffle delivers each entity's events, and the entities, in a random
	// order drawn from seed.
	shuffle bool
	seed    uint64
	// concurrency is how many entities are delivered at once.
	concurrency int
	// pace is the pause between two events of an entity.
	pace time.Duration
	// giveUp is how long one delivery is retried before the sender gives up.
	giveUp time.Duration
}

// Retry schedule and request deadline of the sender, like Razorpay's: every
// non-2xx answer, transport error and timeout is retried.
const (
	firstBackoff   = 50 * time.Millisecond
	maxBackoff     = time.Second
	requestTimeout = 5 * time.Second
)

// sender delivers a plan to the receivers as Razorpay and the voice platform
// would, and keeps a ledger of what happened.
type sender struct {
	http   *http.Client
	urls   []string
	opts   sendOptions
	ledger *ledger
}

func newSender(urls []string, opts sendOptions) *sender {
	opts.copies = max(opts.copies, 1)
	opts.concurrency = max(opts.concurrency, 8)
	if opts.giveUp == 0 {
		opts.giveUp = 3 * time.Minute
	}
	return &sender{
		http: &http.Client{
			Timeout:   requestTimeout,
			Transport: &http.Transport{MaxIdleConnsPerHost: opts.concurrency * opts.copies},
		},
		urls:   urls,
		opts:   opts,
		ledger: newLedger(),
	}
}

// run delivers every event of p and returns when each has been answered 2xx
// or given up, or ctx is done. It reports how many entities were delivered
// out of their order.
func (s *sender) run(ctx context.Context, p *plan) (outOfOrder int) {
	defer s.http.CloseIdleConnections()
	type job struct {
		entity *entity
		order  []*plannedEvent
	}
	rng := rand.New(rand.NewPCG(s.opts.seed, 0x5eed))
	jobs := make([]job, len(p.entities))
	for i, e := range p.entities {
		jobs[i] = job{entity: e, order: slices.Clone(e.events)}
		if s.opts.shuffle {
			rng.Shuffle(len(jobs[i].order), func(a, b int) { jobs[i].order[a], jobs[i].order[b] = jobs[i].order[b], jobs[i].order[a] })
			if !slices.Equal(jobs[i].order, e.events) {
				outOfOrder++
			}
		}
	}
	if s.opts.shuffle {
		rng.Shuffle(len(jobs), func(a, b int) { jobs[a], jobs[b] = jobs[b], jobs[a] })
	}

	queue := make(chan job)
	var wg sync.WaitGroup
	for range s.opts.concurrency {
		wg.Go(func() {
			for j := range queue {
				for i, ev := range j.order {
					if i > 0 && proc.Sleep(ctx, s.opts.pace) != nil {
						return
					}
					s.deliverCopies(ctx, ev)
				}
			}
		})
	}
	for _, j := range jobs {
		select {
		case queue <- j:
		case <-ctx.Done():
		}
	}
	close(queue)
	wg.Wait()
	return outOfOrder
}

// deliverCopies delivers ev opts.copies times at once, copy i first to
// receiver i (mod the number of receivers).
func (s *sender) deliverCopies(ctx context.Context, ev *plannedEvent) {
	var wg sync.WaitGroup
	for i := range s.opts.copies {
		wg.Go(func() { s.deliver(ctx, ev, i) })
	}
	wg.Wait()
}

// deliver posts ev until it is answered 2xx, retrying with backoff (each retry
// to the next receiver) until opts.giveUp has passed.
func (s *sender) deliver(ctx context.Context, ev *plannedEvent, first int) {
	s.ledger.delivery(ev)
	deadline := time.Now().Add(s.opts.giveUp)
	backoff := firstBackoff
	for attempt := 0; ; attempt++ {
		status := s.post(ctx, s.urls[(first+attempt)%len(s.urls)], ev)
		s.ledger.answer(ev, status, time.Now())
		if status >= 200 && status < 300 || time.Now().After(deadline) || proc.Sleep(ctx, backoff) != nil {
			return
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// post sends one attempt and returns the status, or 0 for a transport error
// or a timeout.
func (s *sender) post(ctx context.Context, base string, ev *plannedEvent) int {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+ev.path, bytes.NewReader(ev.body))
	if err != nil {
		return 0
	}
	req.Header = ev.header.Clone()
	res, err := s.http.Do(req)
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		return 0 // cut mid-answer: the sender cannot trust the status
	}
	return res.StatusCode
}

// ledger is the sender's record: per event, the deliveries, every answer and
// when each 2xx came.
type ledger struct {
	mu       sync.Mutex
	entries  map[*plannedEvent]*ledgerEntry
	accepted atomic.Int64 // events answered 2xx at least once
}

type ledgerEntry struct {
	deliveries int         // copies started
	attempts   int         // requests sent
	statuses   map[int]int // answers by status; 0 is a transport error or timeout
	accepted   []time.Time // when each 2xx came
	failed     []time.Time // when each other answer or transport error came
}

func newLedger() *ledger { return &ledger{entries: map[*plannedEvent]*ledgerEntry{}} }

func (l *ledger) entry(ev *plannedEvent) *ledgerEntry {
	e, ok := l.entries[ev]
	if !ok {
		e = &ledgerEntry{statuses: map[int]int{}}
		l.entries[ev] = e
	}
	return e
}

func (l *ledger) delivery(ev *plannedEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entry(ev).deliveries++
}

func (l *ledger) answer(ev *plannedEvent, status int, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entry(ev)
	e.attempts++
	e.statuses[status]++
	if status >= 200 && status < 300 {
		if len(e.accepted) == 0 {
			l.accepted.Add(1)
		}
		e.accepted = append(e.accepted, at)
	} else {
		e.failed = append(e.failed, at)
	}
}

// wasAccepted reports whether ev was ever answered 2xx.
func (l *ledger) wasAccepted(ev *plannedEvent) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.entries[ev]
	return ok && len(e.accepted) > 0
}

// waitAccepted returns once n events have been answered 2xx, or ctx is done.
func (l *ledger) waitAccepted(ctx context.Context, n int) error {
	for l.accepted.Load() < int64(n) {
		if err := proc.Sleep(ctx, 20*time.Millisecond); err != nil {
			return fmt.Errorf("waiting for %d events to be accepted: %w", n, err)
		}
	}
	return nil
}

// ledgerTotals sum up a ledger.
type ledgerTotals struct {
	deliveries, attempts, answered2xx int
	statuses                          map[int]int
}

func (l *ledger) totals() ledgerTotals {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := ledgerTotals{statuses: map[int]int{}}
	for _, e := range l.entries {
		t.deliveries += e.deliveries
		t.attempts += e.attempts
		t.answered2xx += len(e.accepted)
		for s, n := range e.statuses {
			t.statuses[s] += n
		}
	}
	return t
}

// acceptedDuring counts the 2xx answers received within w.
func (l *ledger) acceptedDuring(w window) int {
	return l.during(w, func(e *ledgerEntry) []time.Time { return e.accepted })
}

// failedDuring counts the other answers and transport errors within w.
func (l *ledger) failedDuring(w window) int {
	return l.during(w, func(e *ledgerEntry) []time.Time { return e.failed })
}

func (l *ledger) during(w window, times func(*ledgerEntry) []time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.entries {
		for _, at := range times(e) {
			if w.contains(at) {
				n++
			}
		}
	}
	return n
}

// failures is the non-2xx answers, e.g. "503×12 error×3".
func (t ledgerTotals) failures() string {
	var codes []int
	for s := range t.statuses {
		if s < 200 || s >= 300 {
			codes = append(codes, s)
		}
	}
	if len(codes) == 0 {
		return "none"
	}
	sort.Ints(codes)
	parts := make([]string, len(codes))
	for i, s := range codes {
		name := fmt.Sprint(s)
		if s == 0 {
			name = "error"
		}
		parts[i] = fmt.Sprintf("%s×%d", name, t.statuses[s])
	}
	return strings.Join(parts, " ")
}

// failed is the number of non-2xx answers and transport errors.
func (t ledgerTotals) failed() int {
	n := 0
	for s, c := range t.statuses {
		if s < 200 || s >= 300 {
			n += c
		}
	}
	return n
}

package loadgen

import (
	"slices"
	"sync"
	"time"
)

// tally is one worker's record of its requests. Only its worker writes to it
// while the run lasts, so recording takes no lock.
type tally struct {
	requests, failed, ok int // ok counts successful recorded requests
	latencies            []time.Duration
	first, last          time.Time // earliest recorded start, latest recorded end
}

// add records one completed request that started (or was scheduled) at
// begin and ended at end. Warmup requests are counted but not recorded.
func (t *tally) add(recorded bool, begin, end time.Time, err error, fe *firstError) {
	t.requests++
	if err != nil {
		t.failed++
		fe.set(err)
	}
	if !recorded {
		return
	}
	if err == nil {
		t.ok++
	}
	t.latencies = append(t.latencies, end.Sub(begin))
	if t.first.IsZero() || begin.Before(t.first) {
		t.first = begin
	}
	if end.After(t.last) {
		t.last = end
	}
}

// firstError keeps the first error message of a run. It is touched only on
// the failure path.
type firstError struct {
	mu  sync.Mutex
	msg string
}

func (f *firstError) set(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.msg == "" {
		f.msg = truncate(err.Error(), maxErrorLen)
	}
}

func (f *firstError) get() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.msg
}

// merge combines the workers' tallies into a Result once they have stopped.
func merge(tallies []*tally, fe *firstError) Result {
	var r Result
	var ok, n int
	var first, last time.Time
	for _, t := range tallies {
		n += len(t.latencies)
	}
	all := make([]time.Duration, 0, n)
	for _, t := range tallies {
		r.Requests += t.requests
		r.Failed += t.failed
		ok += t.ok
		all = append(all, t.latencies...)
		if len(t.latencies) == 0 {
			continue
		}
		if first.IsZero() || t.first.Before(first) {
			first = t.first
		}
		if t.last.After(last) {
			last = t.last
		}
	}
	slices.Sort(all)
	r.Recorded = len(all)
	r.FirstError = fe.get()
	r.Latency = summarizeSorted(all)
	if len(all) > 0 {
		r.Elapsed = last.Sub(first)
	}
	if r.Elapsed > 0 {
		r.Throughput = float64(ok) / r.Elapsed.Seconds()
	}
	return r
}

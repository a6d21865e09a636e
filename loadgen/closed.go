package loadgen

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Closed configures a closed-loop run: Concurrency workers, each issuing its
// next request when the previous one answers. The run stops after Requests
// requests or after Duration, whichever comes first; with neither set it
// runs until ctx is done.
type Closed struct {
	Concurrency int           // workers; 0 means 1
	Requests    int           // total requests, warmup included; 0 for no limit
	Duration    time.Duration // no new request starts after this; 0 for no limit
	Warmup      int           // first requests (by sequence number) not recorded
}

// Validate reports every problem with c at once.
func (c Closed) Validate() error {
	var errs []error
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"concurrency", int64(c.Concurrency)},
		{"requests", int64(c.Requests)},
		{"duration", int64(c.Duration)},
		{"warmup", int64(c.Warmup)},
	} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("closed loop %s %d: %w", f.name, f.v, errNegative))
		}
	}
	if c.Requests > 0 && c.Warmup >= c.Requests {
		errs = append(errs, fmt.Errorf("closed loop warmup %d: leaves none of %d requests recorded", c.Warmup, c.Requests))
	}
	return errors.Join(errs...)
}

// RunClosed runs op in a closed loop as c describes and waits for every
// request it started. Cancelling ctx stops it: no new request starts and
// ctx is passed on to the ones in flight. It panics if c is invalid; check
// user input with [Closed.Validate] first.
func RunClosed(ctx context.Context, c Closed, op Op) Result {
	if err := c.Validate(); err != nil {
		panic(fmt.Sprintf("loadgen: %v", err))
	}
	workers := max(c.Concurrency, 1)
	var deadline time.Time
	if c.Duration > 0 {
		deadline = time.Now().Add(c.Duration)
	}
	var (
		next    atomic.Int64
		fe      firstError
		wg      sync.WaitGroup
		tallies = make([]*tally, workers)
	)
	for w := range tallies {
		t := &tally{}
		tallies[w] = t
		wg.Go(func() {
			for {
				i, ok := c.take(ctx, &next, deadline)
				if !ok {
					return
				}
				begin := time.Now()
				err := op(ctx, i)
				t.add(i >= c.Warmup, begin, time.Now(), err, &fe)
			}
		})
	}
	wg.Wait()
	return merge(tallies, &fe)
}

// take hands a worker the sequence number of its next request, or reports
// that the run is over.
func (c Closed) take(ctx context.Context, next *atomic.Int64, deadline time.Time) (int, bool) {
	if ctx.Err() != nil {
		return 0, false
	}
	if !deadline.IsZero() && !time.Now().Before(deadline) {
		return 0, false
	}
	i := int(next.Add(1) - 1)
	if c.Requests > 0 && i >= c.Requests {
		return 0, false
	}
	return i, true
}

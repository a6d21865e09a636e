package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"
)

// DefaultMaxInFlight bounds an open-loop run's concurrent requests when
// Open.MaxInFlight is 0.
const DefaultMaxInFlight = 1024

// Open configures an open-loop run: requests arrive at Rate per second,
// request i scheduled at start + i/Rate whatever the latency, and each
// latency is measured from its scheduled time. The run stops scheduling
// after Requests requests or once the schedule passes Duration, whichever
// comes first; with neither set it runs until ctx is done.
type Open struct {
	Rate     float64       // arrivals per second; must be > 0
	Duration time.Duration // schedule length; 0 for no limit
	Requests int           // total requests, warmup included; 0 for no limit
	// MaxInFlight bounds concurrent requests (0 means DefaultMaxInFlight).
	// When it is reached, later requests wait for a slot but their latency
	// still counts from their scheduled time.
	MaxInFlight int
	Warmup      int // first requests (by sequence number) not recorded
}

// Validate reports every problem with o at once.
func (o Open) Validate() error {
	var errs []error
	if !(o.Rate > 0) || math.IsInf(o.Rate, 1) {
		errs = append(errs, fmt.Errorf("open loop rate %v: must be a finite number above zero", o.Rate))
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"duration", int64(o.Duration)},
		{"requests", int64(o.Requests)},
		{"max in flight", int64(o.MaxInFlight)},
		{"warmup", int64(o.Warmup)},
	} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("open loop %s %d: %w", f.name, f.v, errNegative))
		}
	}
	if o.Requests > 0 && o.Warmup >= o.Requests {
		errs = append(errs, fmt.Errorf("open loop warmup %d: leaves none of %d requests recorded", o.Warmup, o.Requests))
	}
	return errors.Join(errs...)
}

// arrival is one scheduled request.
type arrival struct {
	i  int
	at time.Time
}

// RunOpen runs op in an open loop as o describes and waits for every
// request it started. Cancelling ctx stops it: no new request starts and
// ctx is passed on to the ones in flight. It panics if o is invalid; check
// user input with [Open.Validate] first.
func RunOpen(ctx context.Context, o Open, op Op) Result {
	if err := o.Validate(); err != nil {
		panic(fmt.Sprintf("loadgen: %v", err))
	}
	p := &pool{
		ctx:  ctx,
		op:   op,
		max:  orDefault(o.MaxInFlight, DefaultMaxInFlight),
		jobs: make(chan arrival),
		o:    o,
	}
	p.schedule()
	close(p.jobs)
	p.wg.Wait()
	return merge(p.tallies, &p.fe)
}

// orDefault returns v, or def when v is 0.
func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// pool runs arrivals on up to max workers, started as the load needs them.
// Each worker owns one tally; only the scheduler touches tallies and wg.
type pool struct {
	ctx     context.Context
	op      Op
	max     int
	jobs    chan arrival
	o       Open
	wg      sync.WaitGroup
	tallies []*tally
	fe      firstError
}

// schedule dispatches arrivals on time until the run is over.
func (p *pool) schedule() {
	o := p.o
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	start := time.Now()
	for i := 0; o.Requests == 0 || i < o.Requests; i++ {
		offset := time.Duration(float64(i) * float64(time.Second) / o.Rate)
		if o.Duration > 0 && offset >= o.Duration {
			return
		}
		at := start.Add(offset)
		if !wait(p.ctx, timer, at) || !p.dispatch(arrival{i: i, at: at}) {
			return
		}
	}
}

// wait sleeps until at, reporting false if ctx is done first.
func wait(ctx context.Context, timer *time.Timer, at time.Time) bool {
	if ctx.Err() != nil {
		return false
	}
	d := time.Until(at)
	if d <= 0 {
		return true
	}
	timer.Reset(d)
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// dispatch hands a to an idle worker, starting one if all are busy and the
// bound allows, else waiting for one to free up. It reports false if ctx is
// done first.
func (p *pool) dispatch(a arrival) bool {
	select {
	case p.jobs <- a:
		return true
	default:
	}
	if len(p.tallies) < p.max {
		p.spawn()
	}
	select {
	case p.jobs <- a:
		return true
	case <-p.ctx.Done():
		return false
	}
}

// spawn starts one worker.
func (p *pool) spawn() {
	t := &tally{}
	p.tallies = append(p.tallies, t)
	p.wg.Go(func() {
		for a := range p.jobs {
			err := p.op(p.ctx, a.i)
			t.add(a.i >= p.o.Warmup, a.at, time.Now(), err, &p.fe)
		}
	})
}

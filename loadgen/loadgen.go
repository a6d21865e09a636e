// Package loadgen is the load generator of `make bench`. It drives an
// operation — usually an HTTP POST of a signed webhook to the receiver on
// loopback, or a direct Temporal SDK call for the baseline — in one of two
// ways:
//
//   - closed loop ([RunClosed]): N workers, each issuing its next request when
//     the previous one answers, so the offered load follows the latency;
//   - open loop ([RunOpen]): a fixed arrival rate, requests started on
//     schedule whatever the latency. Latency is measured from the scheduled
//     start time, not the actual send time, so a stall shows up in every
//     request queued behind it (no coordinated omission).
//
// Both report latency percentiles computed exactly from every recorded
// request, not from a sample. Each worker records into its own slice, with
// no lock on the hot path; the slices are merged when the run ends.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"
)

// Op performs one request; i is its sequence number (0..N-1), useful to make
// ids unique. It returns an error for a failed request (transport error or
// unexpected status). It must return soon after ctx is done.
type Op func(ctx context.Context, i int) error

// maxErrorLen bounds Result.FirstError.
const maxErrorLen = 512

// Result is what one run measured. Requests and Failed count every completed
// request, warmup included; Recorded, Elapsed, Throughput and Latency cover
// the recorded (post-warmup) requests only.
type Result struct {
	Requests   int           // completed requests, ok and failed
	Failed     int           // completed requests whose Op returned an error
	Recorded   int           // requests whose latency is in Latency
	FirstError string        // first error seen, truncated; empty when none
	Elapsed    time.Duration // first recorded start to last recorded end
	Throughput float64       // successful recorded requests per second of Elapsed
	Latency    Percentiles   // of all recorded requests, ok and failed
}

// String renders r on one line for bench output.
func (r Result) String() string {
	s := fmt.Sprintf("requests=%d failed=%d recorded=%d elapsed=%s throughput=%.1f/s %s",
		r.Requests, r.Failed, r.Recorded, r.Elapsed.Round(time.Millisecond), r.Throughput, r.Latency)
	if r.FirstError != "" {
		s += fmt.Sprintf(" first_error=%q", r.FirstError)
	}
	return s
}

// Percentiles summarizes a set of latencies.
type Percentiles struct {
	Min, P50, P90, P99, P999, Max, Mean time.Duration
}

// String renders p on one line for bench output.
func (p Percentiles) String() string {
	return fmt.Sprintf("min=%s p50=%s p90=%s p99=%s p99.9=%s max=%s mean=%s",
		p.Min, p.P50, p.P90, p.P99, p.P999, p.Max, p.Mean)
}

// Summarize computes exact nearest-rank percentiles of latencies. It does
// not modify latencies; an empty slice gives zero Percentiles.
func Summarize(latencies []time.Duration) Percentiles {
	sorted := slices.Clone(latencies)
	slices.Sort(sorted)
	return summarizeSorted(sorted)
}

// summarizeSorted is Summarize on an already sorted slice.
func summarizeSorted(sorted []time.Duration) Percentiles {
	n := len(sorted)
	if n == 0 {
		return Percentiles{}
	}
	var sum time.Duration
	for _, d := range sorted {
		sum += d
	}
	return Percentiles{
		Min:  sorted[0],
		P50:  rank(sorted, 500),
		P90:  rank(sorted, 900),
		P99:  rank(sorted, 990),
		P999: rank(sorted, 999),
		Max:  sorted[n-1],
		Mean: sum / time.Duration(n),
	}
}

// rank returns the nearest-rank percentile of a non-empty sorted slice, with
// the percentile given in per mille so the rank is computed in integers:
// the smallest value with at least permille/1000 of the values at or below it.
func rank(sorted []time.Duration, permille int) time.Duration {
	r := (len(sorted)*permille + 999) / 1000 // ceil(n * p)
	return sorted[max(r, 1)-1]
}

// Median returns the result with the median throughput of several rounds
// (for interleaved A/B rounds); with an even count, the lower of the two
// middle ones. It returns the zero Result for no rounds.
func Median(results []Result) Result {
	if len(results) == 0 {
		return Result{}
	}
	sorted := slices.Clone(results)
	slices.SortStableFunc(sorted, func(a, b Result) int {
		switch {
		case a.Throughput < b.Throughput:
			return -1
		case a.Throughput > b.Throughput:
			return 1
		}
		return 0
	})
	return sorted[(len(sorted)-1)/2]
}

// Ratio returns a/b, or 0 when b is 0.
func Ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// errNegative is what Validate reports for a count or duration below zero.
var errNegative = errors.New("must not be negative")

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

package breaker

import (
	"slices"
	"sync/atomic"
	"time"
)

// latencyBounds are the upper bounds of the latency histogram buckets: the
// Prometheus client's default buckets, from 5 ms to 10 s. A last, unbounded
// bucket follows them.
var latencyBounds = []time.Duration{
	5 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

// LatencyBounds returns the upper bounds of the latency histogram
// buckets, ascending: the Prometheus client's default buckets, from 5 ms to
// 10 s. Every Histogram has one more bucket, for longer calls. The slice is
// a fresh copy.
func LatencyBounds() []time.Duration { return slices.Clone(latencyBounds) }

// Histogram is a snapshot of the durations of one kind of call.
type Histogram struct {
	// Counts[i] is the number of calls with a duration ≤ LatencyBounds()[i]
	// and > LatencyBounds()[i-1]; the last element counts the longer ones.
	// It is not cumulative.
	Counts []uint64
	Count  uint64        // the sum of Counts
	Sum    time.Duration // the sum of the durations
}

// Latencies is a snapshot of a breaker's call durations by outcome.
type Latencies struct {
	Succeeded, Failed, Ignored Histogram
}

// latencyHistogram is a lock-free histogram, striped like stripedCounter
// so concurrent observers do not share cache lines.
type latencyHistogram struct {
	stripes [stripes]latencyStripe
}

type latencyStripe struct {
	counts [12]atomic.Uint64 // len(latencyBounds)+1
	sum    atomic.Int64
	_      [56]byte
}

// observe records one duration. Safe for concurrent use.
func (h *latencyHistogram) observe(d time.Duration) {
	i := 0
	for i < len(latencyBounds) && d > latencyBounds[i] {
		i++
	}
	s := &h.stripes[stripe()]
	s.counts[i].Add(1)
	s.sum.Add(int64(d))
}

// snapshot sums the stripes. Safe for concurrent use.
func (h *latencyHistogram) snapshot() Histogram {
	out := Histogram{Counts: make([]uint64, len(latencyBounds)+1)}
	for i := range h.stripes {
		s := &h.stripes[i]
		for j := range out.Counts {
			n := s.counts[j].Load()
			out.Counts[j] += n
			out.Count += n
		}
		out.Sum += time.Duration(s.sum.Load())
	}
	return out
}

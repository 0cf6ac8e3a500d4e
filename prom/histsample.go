package prom

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/breakerlabs/breaker"
)

// emptyBuckets are the buckets of a histogram with no observation, shared
// by all of them (and never modified).
var emptyBuckets = func() []*dto.Bucket {
	var zero uint64
	ps := make([]*dto.Bucket, len(bounds))
	for i := range bounds {
		ps[i] = &dto.Bucket{CumulativeCount: &zero, UpperBound: &bounds[i]}
	}
	return ps
}()

// A histSample is one latency histogram of one breaker as one scrape read
// it; like sample, sent by pointer and never changed once sent.
type histSample struct {
	e     *entry
	kind  int      // kind index
	cum   []uint64 // cumulative count per bound
	count uint64
	sum   float64 // seconds
}

// newHistSample makes the histogram sample of kind k from h, turning h's
// counts into cumulative ones in place (h is the caller's copy).
func newHistSample(e *entry, k int, h breaker.Histogram) histSample {
	cum := h.Counts[:min(len(h.Counts), len(bounds))]
	for i := 1; i < len(cum); i++ {
		cum[i] += cum[i-1]
	}
	return histSample{e: e, kind: k, cum: cum, count: h.Count, sum: h.Sum.Seconds()}
}

// Desc returns the descriptor of circuitbreaker_calls_seconds.
func (s *histSample) Desc() *prometheus.Desc { return s.e.c.descs[famCallsSeconds] }

// Write fills out with the histogram: one bucket per bound of bounds (the
// +Inf bucket is implicit, the count), pointing at the sample's counts and
// at bounds, neither of which ever changes. Safe for concurrent use.
func (s *histSample) Write(out *dto.Metric) error {
	out.Label = s.e.labels(setKind + s.kind)
	if s.count == 0 { // a breaker that has not measured a call of this kind
		out.Histogram = &dto.Histogram{SampleCount: &s.count, SampleSum: &s.sum, Bucket: emptyBuckets}
		return nil
	}
	bs := make([]dto.Bucket, len(bounds))
	ps := make([]*dto.Bucket, len(bounds))
	var last uint64
	for i := range bounds {
		if i < len(s.cum) {
			last = s.cum[i]
		}
		bs[i].UpperBound = &bounds[i]
		if i < len(s.cum) {
			bs[i].CumulativeCount = &s.cum[i]
		} else {
			bs[i].CumulativeCount = new(last)
		}
		ps[i] = &bs[i]
	}
	out.Histogram = &dto.Histogram{SampleCount: &s.count, SampleSum: &s.sum, Bucket: ps}
	return nil
}

package prom

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// A sample is one gauge or counter series of one breaker as one scrape
// read it: a prometheus.Metric that a scrape sends by pointer (so sending
// it allocates nothing) and never changes once sent.
type sample struct {
	e *entry
	v float64
	i int32 // index into seriesSpecs, or transSeries(from, to)
}

// transSeries is the sample index of the transition counter from → to
// (indexes into states).
func transSeries(from, to int) int { return numSeries + from*len(states) + to }

// from returns the from index of a transition counter's sample.
func (s *sample) from() int { return (int(s.i) - numSeries) / len(states) }

// Desc returns the descriptor of the sample's family.
func (s *sample) Desc() *prometheus.Desc {
	if s.i >= numSeries {
		return s.e.c.descs[famTransitions]
	}
	return s.e.c.descs[seriesSpecs[s.i].fam]
}

// Write fills out with the sample's cached labels and its value, a shared
// message when the value is a small whole number. Safe for concurrent
// use: it reads the sample and its entry only.
func (s *sample) Write(out *dto.Metric) error {
	if s.i >= numSeries {
		t := int(s.i) - numSeries
		out.Label = s.e.transLabels(t/len(states), t%len(states))
		out.Counter = counterOf(&s.v)
		return nil
	}
	sp := &seriesSpecs[s.i]
	out.Label = s.e.labels(sp.set)
	if sp.counter {
		out.Counter = counterOf(&s.v)
	} else {
		out.Gauge = gaugeOf(&s.v)
	}
	return nil
}

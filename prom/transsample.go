package prom

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// A transSample is one transition counter of one breaker as one scrape
// read it: a prometheus.Metric sent by pointer and never changed once
// sent.
type transSample struct {
	e        *entry
	v        float64
	from, to int // indexes into states
}

// Desc returns the descriptor of circuitbreaker_transitions_total.
func (s *transSample) Desc() *prometheus.Desc { return s.e.c.descs[famTransitions] }

// Write fills out with the counter's cached labels and its value. Safe for
// concurrent use: it reads the sample and its entry only.
func (s *transSample) Write(out *dto.Metric) error {
	out.Label = s.e.transLabels(s.from, s.to)
	out.Counter = counterOf(&s.v)
	return nil
}

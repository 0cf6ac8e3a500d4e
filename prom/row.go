package prom

import (
	dto "github.com/prometheus/client_model/go"
)

// A row is one breaker's gauge and counter values as one scrape read
// them, by series (seriesSpecs). A scrape allocates its rows in one slice
// and never changes a row once it starts sending; the registry's
// consumers may hold pointers into it (the values that have no shared
// message) for as long as they keep what they gathered.
type row struct {
	e *entry
	v [numSeries]float64
}

// write fills out with series i of the row: its cached labels, and its
// value, a shared message when the value is a small whole number. Safe
// for concurrent use: it reads the row and its entry only.
func (r *row) write(i int, out *dto.Metric) error {
	sp := &seriesSpecs[i]
	out.Label = r.e.labels(sp.set)
	if sp.counter {
		out.Counter = counterOf(&r.v[i])
	} else {
		out.Gauge = gaugeOf(&r.v[i])
	}
	return nil
}

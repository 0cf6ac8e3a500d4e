package prom

import (
	"cmp"
	"maps"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/breakerlabs/breaker"
)

// collector implements prometheus.Collector over a supervisor. It sends
// its own prometheus.Metric implementations (sample, histSample) whose
// Write fills a dto.Metric from label pairs cached per breaker (entry) and
// from shared value messages, so that a scrape allocates little beyond
// what the registry itself allocates per series.
type collector struct {
	reader
	descs      [numFamilies]*prometheus.Desc
	constPairs []*dto.LabelPair // WithConstLabels, sorted by name
}

// NewCollector returns a collector of the metrics of every breaker of s,
// read at scrape time; register it with a prometheus.Registerer:
//
//	reg.MustRegister(prom.NewCollector(breaker.Default()))
//
// Each scrape reads every breaker's Metrics once, and its latency
// histograms and transition counters if it has any, all without changing
// anything. The label pairs of a breaker's series are made at the first
// scrape that finds it and kept until a scrape finds it gone (removed, or
// replaced by a new breaker of the same name). Describe sends the full,
// fixed set of descriptors, so a registry checks every scrape against
// them. The collector is safe for concurrent scrapes. NewCollector panics
// if s is nil.
func NewCollector(s *breaker.Supervisor, opts ...Option) prometheus.Collector {
	if s == nil {
		panic("prom: NewCollector with a nil Supervisor")
	}
	o := newOptions(opts)
	c := &collector{}
	c.reader = newReader(s, func(b *breaker.Breaker, label string) *entry { return newEntry(c, b, label) })
	for f, fam := range families {
		c.descs[f] = prometheus.NewDesc(fqName(o.namespace, f), fam.help, append([]string{labelName}, fam.labels...), o.constLabels)
	}
	for _, k := range slices.Sorted(maps.Keys(o.constLabels)) {
		c.constPairs = append(c.constPairs, &dto.LabelPair{Name: new(k), Value: new(o.constLabels[k])})
	}
	return c
}

// Describe sends the descriptors of every metric the collector exports.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

// Collect reads every breaker the supervisor has now and sends its
// metrics. A breaker removed since the last scrape is simply not there.
//
// It sends each family's series in the order the registry sorts them in
// (see byBreaker): those of a family sorted by breaker first as each
// breaker is read, so the registry can work on them meanwhile; the others
// once every breaker has been read.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	entries := c.entries()
	sc := scrape{rows: make([]row, len(entries))}
	for r, e := range entries {
		sc.read(r, e)
		for f := range numFamilies {
			if byBreaker[f] {
				for _, i := range famSeries[f] {
					ch <- seriesMetric[i](&sc.rows[r])
				}
			}
		}
	}
	for f := range numFamilies {
		if !byBreaker[f] {
			for rw, i := range sc.rowSeries(f) {
				ch <- seriesMetric[i](rw)
			}
		}
	}
	for h := range sc.histograms() {
		ch <- h
	}
	for t := range sc.transitions() {
		ch <- t
	}
}

// merge appends to dst the labels vars (sorted by name) merged with the
// constant labels, sorted by name.
func (c *collector) merge(dst []*dto.LabelPair, vars ...*dto.LabelPair) []*dto.LabelPair {
	cs := c.constPairs
	for len(vars) > 0 || len(cs) > 0 {
		if len(cs) == 0 || len(vars) > 0 && cmp.Less(vars[0].GetName(), cs[0].GetName()) {
			dst, vars = append(dst, vars[0]), vars[1:]
		} else {
			dst, cs = append(dst, cs[0]), cs[1:]
		}
	}
	return dst
}

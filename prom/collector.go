package prom

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"sync"

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
	s          *breaker.Supervisor
	descs      [numFamilies]*prometheus.Desc
	constPairs []*dto.LabelPair // WithConstLabels, sorted by name

	mu    sync.Mutex
	cache map[*breaker.Breaker]*entry // the breakers of the last scrapes; under mu
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
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(o.namespace, "circuitbreaker", name),
			help, append([]string{"name"}, labels...), o.constLabels)
	}
	c := &collector{s: s, cache: make(map[*breaker.Breaker]*entry)}
	c.descs = [numFamilies]*prometheus.Desc{
		famState: desc("state",
			"The state of the circuit breaker: 1 for the current state, 0 for the others.", "state"),
		famCallsSeconds: desc("calls_seconds",
			"Durations of the calls the circuit breaker admitted, by outcome, in seconds.", "kind"),
		famCallsTotal: desc("calls_total",
			"Calls through the circuit breaker, by outcome; not_permitted counts rejected calls.", "kind"),
		famBuffered: desc("buffered_calls",
			"Calls in the circuit breaker's sliding window, by outcome.", "kind"),
		famSlowCalls: desc("slow_calls",
			"Slow calls in the circuit breaker's sliding window, by outcome.", "kind"),
		famFailureRate: desc("failure_rate",
			"Failure rate of the circuit breaker's sliding window in percent; -1 while it holds fewer than the minimum number of calls."),
		famSlowCallRate: desc("slow_call_rate",
			"Slow-call rate of the circuit breaker's sliding window in percent; -1 while it holds fewer than the minimum number of calls."),
		famTransitions: desc("transitions_total",
			"State transitions of the circuit breaker, by the states left and entered.", "from", "to"),
		famFallbacks: desc("fallbacks_total",
			"Rejected calls answered by a fallback."),
		famTimeouts: desc("timeouts_total",
			"Calls that ran past the circuit breaker's call timeout."),
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

// A scrape is what one Collect read: a row per breaker found, sorted by
// name label, and the breakers' transition counters and histograms.
type scrape struct {
	rows  []row
	trans []transSample // by row, from and to
	hists []histSample  // by row and histKinds
}

// Collect reads every breaker the supervisor has now and sends its
// metrics. A breaker removed since the last scrape is simply not there.
//
// It sends each family's series in the order the registry sorts them in
// (see emitOrder): a family whose first label is the name (the state
// gauges) as each breaker is read, so the registry can work on them
// meanwhile; the others once every breaker has been read.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	entries := c.entries()
	sc := scrape{rows: make([]row, len(entries))}
	for r, e := range entries {
		c.read(&sc, r, e)
		for _, st := range emitOrder {
			if st.rowsOuter {
				for _, i := range st.series {
					ch <- seriesMetric[i](&sc.rows[r])
				}
			}
		}
	}
	for _, st := range emitOrder {
		if st.rowsOuter {
			continue
		}
		for _, i := range st.series {
			for r := range sc.rows {
				ch <- seriesMetric[i](&sc.rows[r])
			}
		}
	}
	for k := range histKinds {
		for j := k; j < len(sc.hists); j += len(histKinds) {
			ch <- &sc.hists[j]
		}
	}
	for _, from := range statesByName {
		for j := range sc.trans {
			if sc.trans[j].from == from {
				ch <- &sc.trans[j]
			}
		}
	}
}

// entries returns the entries of the supervisor's breakers, sorted by
// their name labels, making those of breakers the cache does not have and
// dropping from it those of breakers that are gone.
func (c *collector) entries() []*entry {
	names := c.s.Names()
	invalid := invalidLabels(names)
	rows := make([]*entry, 0, len(names))
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, name := range names {
		b, ok := c.s.Get(name)
		if !ok {
			continue // removed since Names
		}
		label := name
		if invalid != nil {
			if l, ok := invalid[name]; ok {
				label = l
			}
		}
		e := c.cache[b]
		if e == nil || e.label != label {
			e = newEntry(c, b, label)
			c.cache[b] = e
		}
		rows = append(rows, e)
	}
	// Every breaker found has its entry now, so any more are stale.
	if len(c.cache) > len(rows) {
		for b := range c.cache {
			if cur, ok := c.s.Get(b.Name()); !ok || cur != b {
				delete(c.cache, b)
			}
		}
	}
	if invalid != nil {
		slices.SortFunc(rows, func(a, b *entry) int { return strings.Compare(a.label, b.label) })
	}
	return rows
}

// read reads the breaker of entry e into row r of sc, and appends its
// histograms and transition counters, reading its Metrics once. Row r is
// complete, and never changed again, when read returns.
func (c *collector) read(sc *scrape, r int, e *entry) {
	b := e.b
	m := b.Metrics()
	rw := &sc.rows[r]
	rw.e = e
	for i, st := range states {
		if m.State == st {
			rw.v[srState+i] = 1
		}
	}
	rw.v[srCallsTotal+kindIdxSucceeded] = float64(m.Successes)
	rw.v[srCallsTotal+kindIdxFailed] = float64(m.Failures)
	rw.v[srCallsTotal+kindIdxIgnored] = float64(m.Ignored)
	rw.v[srCallsTotal+kindIdxRejected] = float64(m.Rejected)
	rw.v[srBuffered+kindIdxSucceeded] = float64(max(m.WindowCalls-m.WindowFailures, 0))
	rw.v[srBuffered+kindIdxFailed] = float64(m.WindowFailures)
	rw.v[srSlowCalls+kindIdxSucceeded] = float64(max(m.WindowSlowCalls-m.WindowSlowFailures, 0))
	rw.v[srSlowCalls+kindIdxFailed] = float64(m.WindowSlowFailures)
	rw.v[srFailureRate] = percent(m.FailureRate)
	rw.v[srSlowCallRate] = percent(m.SlowCallRate)
	rw.v[srFallbacks] = float64(m.Fallbacks)
	rw.v[srTimeouts] = float64(m.Timeouts)

	if l, ok := b.Latencies(); ok {
		for _, k := range histKinds {
			h := l.Succeeded
			switch k {
			case kindIdxFailed:
				h = l.Failed
			case kindIdxIgnored:
				h = l.Ignored
			}
			sc.hists = append(sc.hists, newHistSample(e, k, h))
		}
	}

	// Transitions counts every pair: with none, there is no pair to read.
	if m.Transitions == 0 {
		return
	}
	for _, from := range statesByName {
		for _, to := range statesByName {
			if n := b.TransitionCount(states[from], states[to]); n > 0 {
				sc.trans = append(sc.trans, transSample{e: e, v: float64(n), from: from, to: to})
			}
		}
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

// Package prom exports the breakers of a breaker.Supervisor as Prometheus
// metrics.
//
// NewCollector returns a prometheus.Collector that reads every breaker of
// the supervisor when it is scraped, and only then: nothing of
// client_golang runs on a breaker's call path, and a breaker created or
// removed between two scrapes appears in, or disappears from, the next one.
// Reading never changes a breaker's state, takes a half-open probe or emits
// an event.
//
// The metric names and labels are those of resilience4j's Micrometer
// binding (resilience4j.circuitbreaker.*), with the prefix circuitbreaker_
// instead of resilience4j_circuitbreaker_, so dashboards written for
// resilience4j carry over with a prefix change (or none, with
// WithNamespace("resilience4j")):
//
//	circuitbreaker_state{name,state}            gauge: 1 for the current state, 0 for the other four
//	circuitbreaker_calls_seconds{name,kind}     histogram of call durations, kind successful|failed|ignored
//	circuitbreaker_calls_total{name,kind}       counter, kind successful|failed|ignored|not_permitted
//	circuitbreaker_buffered_calls{name,kind}    gauge: calls in the window, kind successful|failed
//	circuitbreaker_slow_calls{name,kind}        gauge: slow calls in the window, kind successful|failed
//	circuitbreaker_failure_rate{name}           gauge: percent (0–100), −1 below MinimumCalls
//	circuitbreaker_slow_call_rate{name}         gauge: percent (0–100), −1 below MinimumCalls
//	circuitbreaker_transitions_total{name,from,to} counter, only for pairs that happened
//	circuitbreaker_fallbacks_total{name}        counter
//	circuitbreaker_timeouts_total{name}         counter
//
// The state label takes the values of breaker.State.String: closed, open,
// half-open, forced-open and disabled. The name label is the breaker's
// name; a name that is not valid UTF-8 (which Prometheus refuses, failing
// the whole scrape) is exported with each invalid byte sequence replaced
// by U+FFFD, and a suffix " (2)", " (3)"… if another breaker already has
// that label, so every breaker stays one distinct series.
//
// Units. Durations are in seconds. The two rates are percentages, as
// resilience4j reports them, not the 0–1 ratios of breaker.Metrics. Like
// resilience4j (and breaker.Metrics) they read −1 while the window holds
// fewer than Config.MinimumCalls calls.
//
// Outside Closed and Disabled this differs from resilience4j. Only those
// two states have a window: the rates read −1 and the buffered and
// slow-call gauges 0 while a breaker is open, half-open or forced open.
// resilience4j, by contrast, goes on showing the window that tripped for
// as long as it is OPEN, and in HALF_OPEN a separate window of the probe
// calls. Here a trip ends the window's period: nothing is recorded while
// Open, so a rate shown then would be a frozen figure from before the trip
// that a dashboard would read as current, and entering Closed always starts
// an empty window, so it could not be shown again later either. The rate
// that tripped is kept where it belongs, in the StateChanged event
// (events.Event.Rate, with its Reason), and circuitbreaker_state and
// circuitbreaker_transitions_total show the trip itself. Half-open probes
// are judged by Config.HalfOpen, not by the window's rates; their progress
// shows in the events and in breaker.Metrics.HalfOpenInFlight.
//
// The histogram is exported only for breakers that measure call durations
// (Breaker.Latencies reports ok: slow-call tracking is on or the window is
// time-based); its buckets are breaker.LatencyBounds(). A transition counter
// appears once its pair of states has happened at least once; pairs that
// never happened are left out rather than exported as 25 mostly-impossible
// zero series per breaker. Use increase() or resets as usual: a breaker
// that is removed and created again starts its counters from zero.
package prom

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/breakerlabs/breaker"
)

// An Option configures a collector made by NewCollector.
type Option func(*options)

type options struct {
	namespace   string
	constLabels prometheus.Labels
}

// WithNamespace puts ns and an underscore before every metric name:
// WithNamespace("resilience4j") gives resilience4j_circuitbreaker_state and
// so on, the names resilience4j itself exports. An empty ns (the default)
// leaves the names starting with circuitbreaker_.
func WithNamespace(ns string) Option {
	return func(o *options) { o.namespace = ns }
}

// WithConstLabels adds labels with fixed values to every series, e.g.
// {"service": "checkout"} when several supervisors share a registry (each
// needs distinct constant labels then, or the registry rejects the second
// collector). The label names must not be name, kind, state, from or to,
// or registering the collector fails.
func WithConstLabels(l prometheus.Labels) Option {
	return func(o *options) {
		o.constLabels = make(prometheus.Labels, len(l))
		for k, v := range l {
			o.constLabels[k] = v
		}
	}
}

// The label values of kind, as resilience4j spells them.
const (
	kindSuccessful   = "successful"
	kindFailed       = "failed"
	kindIgnored      = "ignored"
	kindNotPermitted = "not_permitted"
)

// states are every State, in the order their gauges are exported.
var states = [...]breaker.State{breaker.Closed, breaker.Open, breaker.HalfOpen, breaker.ForcedOpen, breaker.Disabled}

// bounds are the upper bounds of the latency buckets in seconds, from
// breaker.LatencyBounds().
var bounds = func() []float64 {
	ds := breaker.LatencyBounds()
	b := make([]float64, len(ds))
	for i, d := range ds {
		b[i] = d.Seconds()
	}
	return b
}()

// collector implements prometheus.Collector over a supervisor.
type collector struct {
	s *breaker.Supervisor

	state, callsSeconds, callsTotal, buffered, slowCalls *prometheus.Desc
	failureRate, slowCallRate, transitions, fallbacks    *prometheus.Desc
	timeouts                                             *prometheus.Desc
}

// NewCollector returns a collector of the metrics of every breaker of s,
// read at scrape time; register it with a prometheus.Registerer:
//
//	reg.MustRegister(prom.NewCollector(breaker.Default()))
//
// Each scrape asks every breaker for its Metrics (one round trip to its
// actor) and reads its latency histograms and transition counters, all
// without changing anything. Describe sends the full, fixed set of
// descriptors, so a registry checks every scrape against them. NewCollector
// panics if s is nil.
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
	c := &collector{
		s: s,
		state: desc("state",
			"The state of the circuit breaker: 1 for the current state, 0 for the others.", "state"),
		callsSeconds: desc("calls_seconds",
			"Durations of the calls the circuit breaker admitted, by outcome, in seconds.", "kind"),
		callsTotal: desc("calls_total",
			"Calls through the circuit breaker, by outcome; not_permitted counts rejected calls.", "kind"),
		buffered: desc("buffered_calls",
			"Calls in the circuit breaker's sliding window, by outcome.", "kind"),
		slowCalls: desc("slow_calls",
			"Slow calls in the circuit breaker's sliding window, by outcome.", "kind"),
		failureRate: desc("failure_rate",
			"Failure rate of the circuit breaker's sliding window in percent; -1 while it holds fewer than the minimum number of calls."),
		slowCallRate: desc("slow_call_rate",
			"Slow-call rate of the circuit breaker's sliding window in percent; -1 while it holds fewer than the minimum number of calls."),
		transitions: desc("transitions_total",
			"State transitions of the circuit breaker, by the states left and entered.", "from", "to"),
		fallbacks: desc("fallbacks_total",
			"Rejected calls answered by a fallback."),
		timeouts: desc("timeouts_total",
			"Calls that ran past the circuit breaker's call timeout."),
	}
	return c
}

// Describe sends the descriptors of every metric the collector exports.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.state, c.callsSeconds, c.callsTotal, c.buffered, c.slowCalls,
		c.failureRate, c.slowCallRate, c.transitions, c.fallbacks, c.timeouts} {
		ch <- d
	}
}

// Collect reads every breaker the supervisor has now and sends its
// metrics. A breaker removed since the last scrape is simply not there.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	names := c.s.Names()
	labels := labelValues(names)
	for _, name := range names {
		b, ok := c.s.Get(name)
		if !ok {
			continue // removed since Names
		}
		c.collect(ch, b, labels[name])
	}
}

// labelValues maps each breaker name to its name label: the name itself
// if it is valid UTF-8 (Prometheus refuses anything else, and one bad
// label value fails the whole scrape), otherwise the name with each
// invalid byte sequence replaced by U+FFFD, followed by " (2)", " (3)"…
// if a name already has that label. Valid names are placed first, so
// they always keep their own label; names are sorted, so the mapping is
// the same on every scrape.
func labelValues(names []string) map[string]string {
	labels := make(map[string]string, len(names))
	taken := make(map[string]bool, len(names))
	for _, n := range names {
		if utf8.ValidString(n) {
			labels[n] = n
			taken[n] = true
		}
	}
	for _, n := range names {
		if utf8.ValidString(n) {
			continue
		}
		base := strings.ToValidUTF8(n, "\uFFFD")
		l := base
		for i := 2; taken[l]; i++ {
			l = base + " (" + strconv.Itoa(i) + ")"
		}
		labels[n] = l
		taken[l] = true
	}
	return labels
}

func (c *collector) collect(ch chan<- prometheus.Metric, b *breaker.Breaker, name string) {
	m := b.Metrics()
	gauge := func(d *prometheus.Desc, v float64, lv ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append([]string{name}, lv...)...)
	}
	counter := func(d *prometheus.Desc, v uint64, lv ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), append([]string{name}, lv...)...)
	}

	for _, s := range states {
		v := 0.0
		if m.State == s {
			v = 1
		}
		gauge(c.state, v, s.String())
	}

	if l, ok := b.Latencies(); ok {
		c.histogram(ch, name, kindSuccessful, l.Succeeded)
		c.histogram(ch, name, kindFailed, l.Failed)
		c.histogram(ch, name, kindIgnored, l.Ignored)
	}

	counter(c.callsTotal, m.Successes, kindSuccessful)
	counter(c.callsTotal, m.Failures, kindFailed)
	counter(c.callsTotal, m.Ignored, kindIgnored)
	counter(c.callsTotal, m.Rejected, kindNotPermitted)

	gauge(c.buffered, float64(max(m.WindowCalls-m.WindowFailures, 0)), kindSuccessful)
	gauge(c.buffered, float64(m.WindowFailures), kindFailed)
	gauge(c.slowCalls, float64(max(m.WindowSlowCalls-m.WindowSlowFailures, 0)), kindSuccessful)
	gauge(c.slowCalls, float64(m.WindowSlowFailures), kindFailed)

	gauge(c.failureRate, percent(m.FailureRate))
	gauge(c.slowCallRate, percent(m.SlowCallRate))

	for _, from := range states {
		for _, to := range states {
			if n := b.TransitionCount(from, to); n > 0 {
				counter(c.transitions, n, from.String(), to.String())
			}
		}
	}

	counter(c.fallbacks, m.Fallbacks)
	counter(c.timeouts, m.Timeouts)
}

// histogram sends one kind's latency histogram, with cumulative buckets.
func (c *collector) histogram(ch chan<- prometheus.Metric, name, kind string, h breaker.Histogram) {
	buckets := make(map[float64]uint64, len(bounds))
	var cum uint64
	for i, ub := range bounds {
		if i < len(h.Counts) {
			cum += h.Counts[i]
		}
		buckets[ub] = cum
	}
	ch <- prometheus.MustNewConstHistogram(c.callsSeconds, h.Count, h.Sum.Seconds(), buckets, name, kind)
}

// percent turns a 0–1 rate into a percentage, keeping −1 ("not enough
// calls") as it is.
func percent(r float64) float64 {
	if r < 0 {
		return -1
	}
	return r * 100
}

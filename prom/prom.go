// Package prom exports the breakers of a breaker.Supervisor as Prometheus
// metrics, in two ways that serve the same series:
//
//   - NewCollector returns a prometheus.Collector to register in a
//     registry, beside the program's other metrics, served by promhttp.
//   - Handler returns an http.Handler that writes the series in the text
//     exposition format itself, without a registry: for many breakers,
//     on a scrape path of their own.
//
// Both read every breaker of the supervisor when they are scraped, and
// only then: nothing of client_golang runs on a breaker's call path, and a
// breaker created or removed between two scrapes appears in, or disappears
// from, the next one. Reading never changes a breaker's state, takes a
// half-open probe or emits an event.
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
//
// Cost, and which to use. Both keep what they need of each breaker's
// labels from the first scrape that finds it until a scrape finds it gone
// (about 300 bytes per breaker), and a scrape reads each breaker's
// Metrics once into one 144-byte row. Through a registry, nearly
// everything else a Gather allocates is client_golang's own, per series:
// about 230 bytes each (a dto.Metric, its entry in the registry's
// duplicate check, its place in the family), so about 4 KB per breaker of
// 17 series, and about 8 s for a first scrape of 100,000 breakers on a
// loaded 2-core machine. Handler writes each line straight from the row
// into a pooled buffer: about 240 bytes allocated per breaker (600 on its
// first scrape) and 0.4 s for the same 100,000 breakers, which is DESIGN's
// scale target (≤ 1 s, ≤ 2 KB per breaker). The text is about 1.4 KB per
// breaker (140 MB for 100,000); Handler gzips it when the scrape accepts
// gzip, as Prometheus's do, to about 50 bytes per breaker for about 1.4 µs
// of CPU per breaker (140 ms per 100,000). Use NewCollector for a few
// thousand breakers or to serve them with the program's other metrics;
// use Handler, on its own path (a scrape job of its own), beyond that.
// The registry's checks (duplicate series, label consistency) are what
// Handler does without: it serves the series set described here and
// nothing else, and cannot be merged with other collectors on one path.
//
// The dto messages of a Gather's result are shared between series and
// between scrapes (label pairs, and the values of small whole numbers):
// like everything a prometheus.Gatherer returns, they must be treated as
// read-only.
package prom

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/breakerlabs/breaker"
)

// An Option configures a collector made by NewCollector or a handler
// made by Handler.
type Option func(*options)

// newOptions applies opts, skipping nil ones.
func newOptions(opts []Option) options {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o
}

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
// or registering the collector fails (and a Handler answers 500).
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

// Families, in the order Describe sends their descriptors.
const (
	famState = iota
	famCallsSeconds
	famCallsTotal
	famBuffered
	famSlowCalls
	famFailureRate
	famSlowCallRate
	famTransitions
	famFallbacks
	famTimeouts
	numFamilies
)

// The label sets every breaker's series use (entry.labels): one per state
// (by State value), one per kind, and the name alone.
const (
	setState         = 0 // + State: {name, state}
	setKind          = 5 // + kind index below: {kind, name}
	setName          = 9 // {name}
	numPairSets      = 9 // the sets with two variable labels
	kindIdxSucceeded = 0
	kindIdxFailed    = 1
	kindIdxIgnored   = 2
	kindIdxRejected  = 3
)

// kinds are the values of the kind label, by kind index.
var kinds = [...]string{kindSuccessful, kindFailed, kindIgnored, kindNotPermitted}

// A seriesSpec is one of the gauge or counter series every breaker has.
type seriesSpec struct {
	fam     int  // family (index into collector.descs)
	set     int  // label set (entry.labels)
	counter bool // a counter, else a gauge
}

// The gauge and counter series of a breaker, in the order of a scrape's
// samples.
const (
	srState        = 0 // + State
	srCallsTotal   = 5 // + kind index
	srBuffered     = 9 // + kind index (successful, failed)
	srSlowCalls    = 11
	srFailureRate  = 13
	srSlowCallRate = 14
	srFallbacks    = 15
	srTimeouts     = 16
	numSeries      = 17
)

var seriesSpecs = func() [numSeries]seriesSpec {
	var s [numSeries]seriesSpec
	for i := range states {
		s[srState+i] = seriesSpec{famState, setState + i, false}
	}
	for k := range kinds {
		s[srCallsTotal+k] = seriesSpec{famCallsTotal, setKind + k, true}
	}
	for k := range 2 {
		s[srBuffered+k] = seriesSpec{famBuffered, setKind + k, false}
		s[srSlowCalls+k] = seriesSpec{famSlowCalls, setKind + k, false}
	}
	s[srFailureRate] = seriesSpec{famFailureRate, setName, false}
	s[srSlowCallRate] = seriesSpec{famSlowCallRate, setName, false}
	s[srFallbacks] = seriesSpec{famFallbacks, setName, true}
	s[srTimeouts] = seriesSpec{famTimeouts, setName, true}
	return s
}()

// A family is one metric family of the series set: its name after the
// namespace and "circuitbreaker_", its HELP text, its type and its labels
// besides name. It is the one description both encoders work from:
// NewCollector makes its descriptors from it and Handler its HELP and TYPE
// lines and its series' label sets.
type family struct {
	suffix string
	help   string
	typ    dto.MetricType
	labels []string
}

var families = [numFamilies]family{
	famState: {"state",
		"The state of the circuit breaker: 1 for the current state, 0 for the others.",
		dto.MetricType_GAUGE, []string{labelState}},
	famCallsSeconds: {"calls_seconds",
		"Durations of the calls the circuit breaker admitted, by outcome, in seconds.",
		dto.MetricType_HISTOGRAM, []string{labelKind}},
	famCallsTotal: {"calls_total",
		"Calls through the circuit breaker, by outcome; not_permitted counts rejected calls.",
		dto.MetricType_COUNTER, []string{labelKind}},
	famBuffered: {"buffered_calls",
		"Calls in the circuit breaker's sliding window, by outcome.",
		dto.MetricType_GAUGE, []string{labelKind}},
	famSlowCalls: {"slow_calls",
		"Slow calls in the circuit breaker's sliding window, by outcome.",
		dto.MetricType_GAUGE, []string{labelKind}},
	famFailureRate: {"failure_rate",
		"Failure rate of the circuit breaker's sliding window in percent; -1 while it holds fewer than the minimum number of calls.",
		dto.MetricType_GAUGE, nil},
	famSlowCallRate: {"slow_call_rate",
		"Slow-call rate of the circuit breaker's sliding window in percent; -1 while it holds fewer than the minimum number of calls.",
		dto.MetricType_GAUGE, nil},
	famTransitions: {"transitions_total",
		"State transitions of the circuit breaker, by the states left and entered.",
		dto.MetricType_COUNTER, []string{labelFrom, labelTo}},
	famFallbacks: {"fallbacks_total",
		"Rejected calls answered by a fallback.",
		dto.MetricType_COUNTER, nil},
	famTimeouts: {"timeouts_total",
		"Calls that ran past the circuit breaker's call timeout.",
		dto.MetricType_COUNTER, nil},
}

// fqName returns the name of family f under namespace ns, as the registry
// sees it (before any escaping for the text format).
func fqName(ns string, f int) string {
	return prometheus.BuildFQName(ns, "circuitbreaker", families[f].suffix)
}

// setValue returns the value of the label besides name of label set set
// ("" for {name}).
func setValue(set int) string {
	switch {
	case set >= setState && set < setState+len(states):
		return states[set-setState].String()
	case set >= setKind && set < setKind+len(kinds):
		return kinds[set-setKind]
	}
	return ""
}

// famSeries[f] are the gauge and counter series of family f (indexes into
// seriesSpecs) in the order the registry sorts them within one breaker:
// by the value of their label besides name. It is empty for the histogram
// and the transition counters, which are not rows' series.
var famSeries = func() (fs [numFamilies][]int) {
	for i, sp := range seriesSpecs {
		fs[sp.fam] = append(fs[sp.fam], i)
	}
	for f := range fs {
		slices.SortStableFunc(fs[f], func(a, b int) int {
			return strings.Compare(setValue(seriesSpecs[a].set), setValue(seriesSpecs[b].set))
		})
	}
	return fs
}()

// byBreaker[f] reports whether the registry sorts the series of family f
// by breaker first (name is its first label by name, or its only one), so
// that each breaker's series of f can be sent as it is read. Otherwise
// they sort by the other label first (kind < name): each series of f
// for every breaker in turn. Either way each family's series arrive in
// the registry's order, whose sort then costs one pass instead of
// n log n comparisons of strings, and the text encoder, which does not
// sort, writes what the registry would.
var byBreaker = func() (bb [numFamilies]bool) {
	for f, fam := range families {
		ls := append([]string{labelName}, fam.labels...)
		slices.Sort(ls)
		bb[f] = ls[0] == labelName
	}
	return bb
}()

// histKinds are the kind indexes of the histograms, sorted by kind.
var histKinds = [...]int{kindIdxFailed, kindIdxIgnored, kindIdxSucceeded}

// statesByName are the indexes into states sorted by State.String, the
// order of the from and to labels of the transition counters.
var statesByName = func() [len(states)]int {
	var s [len(states)]int
	for i := range s {
		s[i] = i
	}
	slices.SortFunc(s[:], func(a, b int) int { return strings.Compare(states[a].String(), states[b].String()) })
	return s
}()

// The label names, and the label pairs every breaker shares. All of them,
// like every dto message the collector hands out, are never modified once
// made: client_golang's registry treats a collected dto.Metric as
// immutable, and so must whoever reads a Gather's result.
var (
	labelName  = "name"
	labelKind  = "kind"
	labelState = "state"
	labelFrom  = "from"
	labelTo    = "to"

	statePairs = pairs(&labelState, len(states), func(i int) string { return states[i].String() })
	kindPairs  = pairs(&labelKind, len(kinds), func(i int) string { return kinds[i] })
	fromPairs  = pairs(&labelFrom, len(states), func(i int) string { return states[i].String() })
	toPairs    = pairs(&labelTo, len(states), func(i int) string { return states[i].String() })
)

func pairs(name *string, n int, value func(int) string) []*dto.LabelPair {
	ps := make([]*dto.LabelPair, n)
	for i := range ps {
		ps[i] = &dto.LabelPair{Name: name, Value: new(value(i))}
	}
	return ps
}

// Shared value messages for the small whole numbers most series hold (an
// idle breaker's are all 0, 1 or −1), so a scrape allocates none for them.
const (
	sharedMin = -1
	sharedMax = 255
)

var (
	sharedGauges   = shared(func(v float64) *dto.Gauge { return &dto.Gauge{Value: new(v)} })
	sharedCounters = shared(func(v float64) *dto.Counter { return &dto.Counter{Value: new(v)} })
)

func shared[T any](newMsg func(float64) *T) []*T {
	s := make([]*T, 0, sharedMax-sharedMin+1)
	for v := sharedMin; v <= sharedMax; v++ {
		s = append(s, newMsg(float64(v)))
	}
	return s
}

// sharedIndex returns the index of v's shared message, false if it has
// none.
func sharedIndex(v float64) (int, bool) {
	if v < sharedMin || v > sharedMax || v != math.Trunc(v) || (v == 0 && math.Signbit(v)) {
		return 0, false
	}
	return int(v) - sharedMin, true
}

// gaugeOf returns a gauge message holding *v: a shared one, or a new one
// pointing at v (which the caller never changes afterwards).
func gaugeOf(v *float64) *dto.Gauge {
	if i, ok := sharedIndex(*v); ok {
		return sharedGauges[i]
	}
	return &dto.Gauge{Value: v}
}

// counterOf is gaugeOf for a counter.
func counterOf(v *float64) *dto.Counter {
	if i, ok := sharedIndex(*v); ok {
		return sharedCounters[i]
	}
	return &dto.Counter{Value: v}
}

// invalidLabels returns the name label of each name in names (sorted)
// that is not valid UTF-8 (Prometheus refuses such a label value, and
// one fails the whole scrape): the name with each invalid byte sequence
// replaced by U+FFFD, followed by " (2)", " (3)"… if a valid name or an
// earlier invalid one already has that label. A valid name is its own
// label, and the mapping is the same on every scrape of the same names.
// It returns nil if every name is valid, the usual case, allocating
// nothing then.
func invalidLabels(names []string) map[string]string {
	var (
		labels   map[string]string
		assigned map[string]bool // the labels given to invalid names so far
	)
	taken := func(l string) bool {
		_, valid := slices.BinarySearch(names, l) // l is valid UTF-8: found means a valid name
		return valid || assigned[l]
	}
	for _, n := range names {
		if utf8.ValidString(n) {
			continue
		}
		if labels == nil {
			labels, assigned = make(map[string]string), make(map[string]bool)
		}
		base := strings.ToValidUTF8(n, "\uFFFD")
		l := base
		for i := 2; taken(l); i++ {
			l = base + " (" + strconv.Itoa(i) + ")"
		}
		labels[n] = l
		assigned[l] = true
	}
	return labels
}

// percent turns a 0–1 rate into a percentage, keeping −1 ("not enough
// calls") as it is.
func percent(r float64) float64 {
	if r < 0 {
		return -1
	}
	return r * 100
}

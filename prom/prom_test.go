package prom_test

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/breakerlabs/breaker"
	"github.com/breakerlabs/breaker/prom"
)

// testConfig trips on three failures in a row, measures durations (slow
// calls take 100ms or more) and has a one-minute open timeout.
func testConfig() breaker.Config {
	return breaker.Config{
		Window:              breaker.CountWindow(10),
		MinimumCalls:        2,
		ConsecutiveFailures: 3,
		SlowCallDuration:    100 * time.Millisecond,
		OpenTimeout:         time.Minute,
		BackoffMultiplier:   1,
		MaxOpenTimeout:      time.Minute,
		HalfOpen:            breaker.HalfOpenPolicy{MaxProbes: 2, Mode: breaker.Strict, SuccessThreshold: 1},
	}
}

// newSupervisor returns a supervisor on a mock clock, closed at the end of
// the test.
func newSupervisor(t *testing.T) (*breaker.Supervisor, *clock.Mock) {
	t.Helper()
	mk := clock.NewMock()
	s := breaker.NewSupervisor(breaker.WithClock(mk))
	t.Cleanup(func() { s.Close() })
	return s, mk
}

func getOrCreate(t *testing.T, s *breaker.Supervisor, name string) *breaker.Breaker {
	t.Helper()
	b, err := s.GetOrCreate(name, testConfig())
	if err != nil {
		t.Fatalf("GetOrCreate(%q): %v", name, err)
	}
	return b
}

type outcome int

const (
	success outcome = iota
	failure
	ignore
)

// call makes one call through b that takes d on the mock clock.
func call(t *testing.T, b *breaker.Breaker, mk *clock.Mock, d time.Duration, o outcome) {
	t.Helper()
	p, err := b.Acquire(context.Background())
	if err != nil {
		t.Fatalf("%s: Acquire: %v", b.Name(), err)
	}
	mk.Add(d)
	switch o {
	case success:
		p.Success()
	case failure:
		p.Failure()
	default:
		p.Ignore()
	}
}

// trip drives b to Open with three failures in a row and waits for the
// actor to apply the trip (Metrics goes through it).
func trip(t *testing.T, b *breaker.Breaker, mk *clock.Mock) {
	t.Helper()
	for range 3 {
		call(t, b, mk, 0, failure)
	}
	if m := b.Metrics(); m.State != breaker.Open {
		t.Fatalf("%s: state after three failures = %v, want open", b.Name(), m.State)
	}
}

// populate gives s two breakers in known states:
//
//   - alpha: one success (20ms), one ignored call (3ms), three failures
//     (200ms, 30ms, 30ms) that trip it to Open, then two rejected calls,
//     one of them answered by a fallback;
//   - beta: Closed, with successes of 10ms, 150ms (slow) and 40ms, an
//     ignored call of 2ms and a failure of 1ms in its window.
func populate(t *testing.T, s *breaker.Supervisor, mk *clock.Mock) {
	t.Helper()
	a := getOrCreate(t, s, "alpha")
	call(t, a, mk, 20*time.Millisecond, success)
	call(t, a, mk, 3*time.Millisecond, ignore)
	call(t, a, mk, 200*time.Millisecond, failure)
	call(t, a, mk, 30*time.Millisecond, failure)
	call(t, a, mk, 30*time.Millisecond, failure)
	if m := a.Metrics(); m.State != breaker.Open {
		t.Fatalf("alpha: state = %v, want open", m.State)
	}
	v, err := breaker.ExecuteWithFallback(context.Background(), breaker.Circuit(a),
		func(context.Context) (string, error) { return "called", nil },
		func(context.Context, error) (string, error) { return "fallback", nil })
	if v != "fallback" || err != nil {
		t.Fatalf("alpha: ExecuteWithFallback = %q, %v; want the fallback", v, err)
	}
	if _, err := a.Acquire(context.Background()); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("alpha: Acquire = %v, want ErrOpen", err)
	}

	b := getOrCreate(t, s, "beta")
	call(t, b, mk, 10*time.Millisecond, success)
	call(t, b, mk, 150*time.Millisecond, success)
	call(t, b, mk, 2*time.Millisecond, ignore)
	call(t, b, mk, 1*time.Millisecond, failure)
	call(t, b, mk, 40*time.Millisecond, success)
	if m := b.Metrics(); m.State != breaker.Closed || m.WindowCalls != 4 {
		t.Fatalf("beta: state %v with %d calls in the window, want closed with 4", m.State, m.WindowCalls)
	}
}

const expected = `
# HELP circuitbreaker_buffered_calls Calls in the circuit breaker's sliding window, by outcome.
# TYPE circuitbreaker_buffered_calls gauge
circuitbreaker_buffered_calls{kind="failed",name="alpha"} 0
circuitbreaker_buffered_calls{kind="failed",name="beta"} 1
circuitbreaker_buffered_calls{kind="successful",name="alpha"} 0
circuitbreaker_buffered_calls{kind="successful",name="beta"} 3
# HELP circuitbreaker_calls_seconds Durations of the calls the circuit breaker admitted, by outcome, in seconds.
# TYPE circuitbreaker_calls_seconds histogram
circuitbreaker_calls_seconds_bucket{kind="failed",name="alpha",le="0.005"} 0
circuitbreaker_calls_seconds_bucket{kind="failed",name="alpha",le="0.01"} 0
circuitbreaker_calls_seconds_bucket{kind="failed",name="alpha",le="0.025"} 0
circuitbreaker_calls_seconds_bucket{kind="failed",name="alpha",le="0.05"} 2
circuitbreaker_calls_seconds_bucket{kind="failed",name="alpha",le="0.1"} 2
circuitbreaker_calls_seconds_bucket{kind="failed",name="alpha",le="0.25"} 3
circuitbreaker_calls_seconds_bucket{kind="failed",name="alpha",le="0.5"} 3
circuitbreaker_calls_seconds_bucket{kind="failed",name="alpha",le="1"} 3
circuitbreaker_calls_seconds_bucket{kind="failed",name="alpha",le="2.5"} 3
circuitbreaker_calls_seconds_bucket{kind="failed",name="alpha",le="5"} 3
circuitbreaker_calls_seconds_bucket{kind="failed",name="alpha",le="10"} 3
circuitbreaker_calls_seconds_bucket{kind="failed",name="alpha",le="+Inf"} 3
circuitbreaker_calls_seconds_sum{kind="failed",name="alpha"} 0.26
circuitbreaker_calls_seconds_count{kind="failed",name="alpha"} 3
circuitbreaker_calls_seconds_bucket{kind="failed",name="beta",le="0.005"} 1
circuitbreaker_calls_seconds_bucket{kind="failed",name="beta",le="0.01"} 1
circuitbreaker_calls_seconds_bucket{kind="failed",name="beta",le="0.025"} 1
circuitbreaker_calls_seconds_bucket{kind="failed",name="beta",le="0.05"} 1
circuitbreaker_calls_seconds_bucket{kind="failed",name="beta",le="0.1"} 1
circuitbreaker_calls_seconds_bucket{kind="failed",name="beta",le="0.25"} 1
circuitbreaker_calls_seconds_bucket{kind="failed",name="beta",le="0.5"} 1
circuitbreaker_calls_seconds_bucket{kind="failed",name="beta",le="1"} 1
circuitbreaker_calls_seconds_bucket{kind="failed",name="beta",le="2.5"} 1
circuitbreaker_calls_seconds_bucket{kind="failed",name="beta",le="5"} 1
circuitbreaker_calls_seconds_bucket{kind="failed",name="beta",le="10"} 1
circuitbreaker_calls_seconds_bucket{kind="failed",name="beta",le="+Inf"} 1
circuitbreaker_calls_seconds_sum{kind="failed",name="beta"} 0.001
circuitbreaker_calls_seconds_count{kind="failed",name="beta"} 1
circuitbreaker_calls_seconds_bucket{kind="ignored",name="alpha",le="0.005"} 1
circuitbreaker_calls_seconds_bucket{kind="ignored",name="alpha",le="0.01"} 1
circuitbreaker_calls_seconds_bucket{kind="ignored",name="alpha",le="0.025"} 1
circuitbreaker_calls_seconds_bucket{kind="ignored",name="alpha",le="0.05"} 1
circuitbreaker_calls_seconds_bucket{kind="ignored",name="alpha",le="0.1"} 1
circuitbreaker_calls_seconds_bucket{kind="ignored",name="alpha",le="0.25"} 1
circuitbreaker_calls_seconds_bucket{kind="ignored",name="alpha",le="0.5"} 1
circuitbreaker_calls_seconds_bucket{kind="ignored",name="alpha",le="1"} 1
circuitbreaker_calls_seconds_bucket{kind="ignored",name="alpha",le="2.5"} 1
circuitbreaker_calls_seconds_bucket{kind="ignored",name="alpha",le="5"} 1
circuitbreaker_calls_seconds_bucket{kind="ignored",name="alpha",le="10"} 1
circuitbreaker_calls_seconds_bucket{kind="ignored",name="alpha",le="+Inf"} 1
circuitbreaker_calls_seconds_sum{kind="ignored",name="alpha"} 0.003
circuitbreaker_calls_seconds_count{kind="ignored",name="alpha"} 1
circuitbreaker_calls_seconds_bucket{kind="ignored",name="beta",le="0.005"} 1
circuitbreaker_calls_seconds_bucket{kind="ignored",name="beta",le="0.01"} 1
circuitbreaker_calls_seconds_bucket{kind="ignored",name="beta",le="0.025"} 1
circuitbreaker_calls_seconds_bucket{kind="ignored",name="beta",le="0.05"} 1
circuitbreaker_calls_seconds_bucket{kind="ignored",name="beta",le="0.1"} 1
circuitbreaker_calls_seconds_bucket{kind="ignored",name="beta",le="0.25"} 1
circuitbreaker_calls_seconds_bucket{kind="ignored",name="beta",le="0.5"} 1
circuitbreaker_calls_seconds_bucket{kind="ignored",name="beta",le="1"} 1
circuitbreaker_calls_seconds_bucket{kind="ignored",name="beta",le="2.5"} 1
circuitbreaker_calls_seconds_bucket{kind="ignored",name="beta",le="5"} 1
circuitbreaker_calls_seconds_bucket{kind="ignored",name="beta",le="10"} 1
circuitbreaker_calls_seconds_bucket{kind="ignored",name="beta",le="+Inf"} 1
circuitbreaker_calls_seconds_sum{kind="ignored",name="beta"} 0.002
circuitbreaker_calls_seconds_count{kind="ignored",name="beta"} 1
circuitbreaker_calls_seconds_bucket{kind="successful",name="alpha",le="0.005"} 0
circuitbreaker_calls_seconds_bucket{kind="successful",name="alpha",le="0.01"} 0
circuitbreaker_calls_seconds_bucket{kind="successful",name="alpha",le="0.025"} 1
circuitbreaker_calls_seconds_bucket{kind="successful",name="alpha",le="0.05"} 1
circuitbreaker_calls_seconds_bucket{kind="successful",name="alpha",le="0.1"} 1
circuitbreaker_calls_seconds_bucket{kind="successful",name="alpha",le="0.25"} 1
circuitbreaker_calls_seconds_bucket{kind="successful",name="alpha",le="0.5"} 1
circuitbreaker_calls_seconds_bucket{kind="successful",name="alpha",le="1"} 1
circuitbreaker_calls_seconds_bucket{kind="successful",name="alpha",le="2.5"} 1
circuitbreaker_calls_seconds_bucket{kind="successful",name="alpha",le="5"} 1
circuitbreaker_calls_seconds_bucket{kind="successful",name="alpha",le="10"} 1
circuitbreaker_calls_seconds_bucket{kind="successful",name="alpha",le="+Inf"} 1
circuitbreaker_calls_seconds_sum{kind="successful",name="alpha"} 0.02
circuitbreaker_calls_seconds_count{kind="successful",name="alpha"} 1
circuitbreaker_calls_seconds_bucket{kind="successful",name="beta",le="0.005"} 0
circuitbreaker_calls_seconds_bucket{kind="successful",name="beta",le="0.01"} 1
circuitbreaker_calls_seconds_bucket{kind="successful",name="beta",le="0.025"} 1
circuitbreaker_calls_seconds_bucket{kind="successful",name="beta",le="0.05"} 2
circuitbreaker_calls_seconds_bucket{kind="successful",name="beta",le="0.1"} 2
circuitbreaker_calls_seconds_bucket{kind="successful",name="beta",le="0.25"} 3
circuitbreaker_calls_seconds_bucket{kind="successful",name="beta",le="0.5"} 3
circuitbreaker_calls_seconds_bucket{kind="successful",name="beta",le="1"} 3
circuitbreaker_calls_seconds_bucket{kind="successful",name="beta",le="2.5"} 3
circuitbreaker_calls_seconds_bucket{kind="successful",name="beta",le="5"} 3
circuitbreaker_calls_seconds_bucket{kind="successful",name="beta",le="10"} 3
circuitbreaker_calls_seconds_bucket{kind="successful",name="beta",le="+Inf"} 3
circuitbreaker_calls_seconds_sum{kind="successful",name="beta"} 0.2
circuitbreaker_calls_seconds_count{kind="successful",name="beta"} 3
# HELP circuitbreaker_calls_total Calls through the circuit breaker, by outcome; not_permitted counts rejected calls.
# TYPE circuitbreaker_calls_total counter
circuitbreaker_calls_total{kind="failed",name="alpha"} 3
circuitbreaker_calls_total{kind="failed",name="beta"} 1
circuitbreaker_calls_total{kind="ignored",name="alpha"} 1
circuitbreaker_calls_total{kind="ignored",name="beta"} 1
circuitbreaker_calls_total{kind="not_permitted",name="alpha"} 2
circuitbreaker_calls_total{kind="not_permitted",name="beta"} 0
circuitbreaker_calls_total{kind="successful",name="alpha"} 1
circuitbreaker_calls_total{kind="successful",name="beta"} 3
# HELP circuitbreaker_failure_rate Failure rate of the circuit breaker's sliding window in percent; -1 while it holds fewer than the minimum number of calls.
# TYPE circuitbreaker_failure_rate gauge
circuitbreaker_failure_rate{name="alpha"} -1
circuitbreaker_failure_rate{name="beta"} 25
# HELP circuitbreaker_fallbacks_total Rejected calls answered by a fallback.
# TYPE circuitbreaker_fallbacks_total counter
circuitbreaker_fallbacks_total{name="alpha"} 1
circuitbreaker_fallbacks_total{name="beta"} 0
# HELP circuitbreaker_slow_call_rate Slow-call rate of the circuit breaker's sliding window in percent; -1 while it holds fewer than the minimum number of calls.
# TYPE circuitbreaker_slow_call_rate gauge
circuitbreaker_slow_call_rate{name="alpha"} -1
circuitbreaker_slow_call_rate{name="beta"} 25
# HELP circuitbreaker_slow_calls Slow calls in the circuit breaker's sliding window, by outcome.
# TYPE circuitbreaker_slow_calls gauge
circuitbreaker_slow_calls{kind="failed",name="alpha"} 0
circuitbreaker_slow_calls{kind="failed",name="beta"} 0
circuitbreaker_slow_calls{kind="successful",name="alpha"} 0
circuitbreaker_slow_calls{kind="successful",name="beta"} 1
# HELP circuitbreaker_state The state of the circuit breaker: 1 for the current state, 0 for the others.
# TYPE circuitbreaker_state gauge
circuitbreaker_state{name="alpha",state="closed"} 0
circuitbreaker_state{name="alpha",state="disabled"} 0
circuitbreaker_state{name="alpha",state="forced-open"} 0
circuitbreaker_state{name="alpha",state="half-open"} 0
circuitbreaker_state{name="alpha",state="open"} 1
circuitbreaker_state{name="beta",state="closed"} 1
circuitbreaker_state{name="beta",state="disabled"} 0
circuitbreaker_state{name="beta",state="forced-open"} 0
circuitbreaker_state{name="beta",state="half-open"} 0
circuitbreaker_state{name="beta",state="open"} 0
# HELP circuitbreaker_timeouts_total Calls that ran past the circuit breaker's call timeout.
# TYPE circuitbreaker_timeouts_total counter
circuitbreaker_timeouts_total{name="alpha"} 0
circuitbreaker_timeouts_total{name="beta"} 0
# HELP circuitbreaker_transitions_total State transitions of the circuit breaker, by the states left and entered.
# TYPE circuitbreaker_transitions_total counter
circuitbreaker_transitions_total{from="closed",name="alpha",to="open"} 1
`

// families are every metric family the collector exports.
var families = []string{
	"circuitbreaker_state",
	"circuitbreaker_calls_seconds",
	"circuitbreaker_calls_total",
	"circuitbreaker_buffered_calls",
	"circuitbreaker_slow_calls",
	"circuitbreaker_failure_rate",
	"circuitbreaker_slow_call_rate",
	"circuitbreaker_transitions_total",
	"circuitbreaker_fallbacks_total",
	"circuitbreaker_timeouts_total",
}

func TestCollectExact(t *testing.T) {
	s, mk := newSupervisor(t)
	populate(t, s, mk)
	c := prom.NewCollector(s)
	if err := testutil.CollectAndCompare(c, strings.NewReader(expected)); err != nil {
		t.Fatal(err)
	}
	// Every family in expected, and nothing else.
	if err := testutil.CollectAndCompare(c, strings.NewReader(expected), families...); err != nil {
		t.Fatal(err)
	}
}

func TestLint(t *testing.T) {
	s, mk := newSupervisor(t)
	populate(t, s, mk)
	// A half-open breaker and one with a slow failure in its window too.
	h := getOrCreate(t, s, "gamma")
	trip(t, h, mk)
	mk.Add(time.Minute)
	if m := h.Metrics(); m.State != breaker.HalfOpen {
		t.Fatalf("gamma: state %v, want half-open", m.State)
	}
	d := getOrCreate(t, s, "delta")
	call(t, d, mk, time.Second, failure)
	for _, c := range []prometheus.Collector{
		prom.NewCollector(s),
		prom.NewCollector(s, prom.WithNamespace("resilience4j"), prom.WithConstLabels(prometheus.Labels{"service": "checkout"})),
	} {
		problems, err := testutil.CollectAndLint(c)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}
	}
}

// gather registers c in a fresh pedantic registry and gathers it.
func gather(t *testing.T, c prometheus.Collector) []*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	return mfs
}

// value returns the value of the series of family with the given labels
// (a subset of its labels), and whether there is one.
func value(mfs []*dto.MetricFamily, family string, labels map[string]string) (float64, bool) {
	for _, mf := range mfs {
		if mf.GetName() != family {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue next
				}
			}
			switch {
			case m.Gauge != nil:
				return m.GetGauge().GetValue(), true
			case m.Counter != nil:
				return m.GetCounter().GetValue(), true
			case m.Histogram != nil:
				return float64(m.GetHistogram().GetSampleCount()), true
			}
		}
	}
	return 0, false
}

// series counts the series in mfs whose name label is name.
func series(mfs []*dto.MetricFamily, name string) int {
	n := 0
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "name" && lp.GetValue() == name {
					n++
				}
			}
		}
	}
	return n
}

func TestSlowCallsMatchMetrics(t *testing.T) {
	s, mk := newSupervisor(t)
	b := getOrCreate(t, s, "slow")
	call(t, b, mk, 200*time.Millisecond, success)
	call(t, b, mk, 300*time.Millisecond, failure)
	call(t, b, mk, time.Millisecond, success)
	m := b.Metrics()
	mfs := gather(t, prom.NewCollector(s))
	for _, tc := range []struct {
		family, kind string
		want         int
	}{
		{"circuitbreaker_slow_calls", "successful", m.WindowSlowCalls - m.WindowSlowFailures},
		{"circuitbreaker_slow_calls", "failed", m.WindowSlowFailures},
		{"circuitbreaker_buffered_calls", "successful", m.WindowCalls - m.WindowFailures},
		{"circuitbreaker_buffered_calls", "failed", m.WindowFailures},
	} {
		got, ok := value(mfs, tc.family, map[string]string{"name": "slow", "kind": tc.kind})
		if !ok || got != float64(tc.want) {
			t.Errorf("%s{kind=%q} = %v (present %v), want %d", tc.family, tc.kind, got, ok, tc.want)
		}
	}
	if m.WindowSlowCalls != 2 {
		t.Errorf("WindowSlowCalls = %d, want 2", m.WindowSlowCalls)
	}
	if got, _ := value(mfs, "circuitbreaker_slow_call_rate", map[string]string{"name": "slow"}); got != m.SlowCallRate*100 {
		t.Errorf("slow_call_rate = %v, want %v", got, m.SlowCallRate*100)
	}
}

func TestHistogramOnlyWhenMeasured(t *testing.T) {
	s, _ := newSupervisor(t)
	cfg := breaker.DefaultConfig() // count window, no slow-call tracking
	b, err := s.GetOrCreate("unmeasured", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := b.Latencies(); ok {
		t.Fatal("Latencies ok for a breaker that does not measure durations")
	}
	p, _ := b.Acquire(context.Background())
	p.Success()
	mfs := gather(t, prom.NewCollector(s))
	if _, ok := value(mfs, "circuitbreaker_calls_seconds", nil); ok {
		t.Error("circuitbreaker_calls_seconds exported for a breaker without latencies")
	}
	if got, _ := value(mfs, "circuitbreaker_calls_total", map[string]string{"kind": "successful"}); got != 1 {
		t.Errorf("calls_total{successful} = %v, want 1", got)
	}
}

func TestScrapeOverHTTP(t *testing.T) {
	s, mk := newSupervisor(t)
	populate(t, s, mk)
	reg := prometheus.NewRegistry()
	reg.MustRegister(prom.NewCollector(s))
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}))
	defer srv.Close()
	client := srv.Client()
	defer client.CloseIdleConnections()

	resp, err := client.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	text := string(body)
	for _, f := range families {
		if !strings.Contains(text, "\n# TYPE "+f+" ") {
			t.Errorf("scrape has no family %s", f)
		}
	}
	for _, line := range []string{
		`circuitbreaker_state{name="alpha",state="open"} 1`,
		`circuitbreaker_state{name="beta",state="closed"} 1`,
		`circuitbreaker_calls_total{kind="not_permitted",name="alpha"} 2`,
		`circuitbreaker_calls_seconds_bucket{kind="successful",name="beta",le="0.05"} 2`,
		`circuitbreaker_failure_rate{name="beta"} 25`,
		`circuitbreaker_transitions_total{from="closed",name="alpha",to="open"} 1`,
	} {
		if !strings.Contains(text, "\n"+line+"\n") {
			t.Errorf("scrape has no line %s", line)
		}
	}
	if t.Failed() {
		t.Logf("scrape:\n%s", text)
	}
}

// TestScrapeIsReadOnly scrapes a half-open breaker with a probe in flight
// many times: its state, probe count and counters stay as they were, and
// no event is emitted.
func TestScrapeIsReadOnly(t *testing.T) {
	s, mk := newSupervisor(t)
	b := getOrCreate(t, s, "probe")
	trip(t, b, mk)
	mk.Add(time.Minute)
	if m := b.Metrics(); m.State != breaker.HalfOpen {
		t.Fatalf("state %v, want half-open", m.State)
	}
	p, err := b.Acquire(context.Background())
	if err != nil {
		t.Fatalf("probe: %v", err)
	}
	before := b.Metrics()
	if before.HalfOpenInFlight != 1 {
		t.Fatalf("HalfOpenInFlight = %d, want 1", before.HalfOpenInFlight)
	}
	sub := s.Subscribe()
	defer sub.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(prom.NewCollector(s))
	for range 200 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := value(mfs, "circuitbreaker_state", map[string]string{"name": "probe", "state": "half-open"}); v != 1 {
			t.Fatalf("state gauge half-open = %v, want 1", v)
		}
	}

	after := b.Metrics()
	if b.State() != breaker.HalfOpen || after.State != breaker.HalfOpen {
		t.Errorf("state after scrapes %v, want half-open", after.State)
	}
	if after.HalfOpenInFlight != before.HalfOpenInFlight {
		t.Errorf("HalfOpenInFlight %d after scrapes, was %d", after.HalfOpenInFlight, before.HalfOpenInFlight)
	}
	if after.Rejected != before.Rejected || after.Transitions != before.Transitions ||
		after.Successes != before.Successes || after.Failures != before.Failures || after.Ignored != before.Ignored {
		t.Errorf("counters changed by scraping:\nbefore %+v\nafter  %+v", before, after)
	}
	select {
	case ev := <-sub.C():
		t.Errorf("scraping emitted an event: %+v", ev)
	default:
	}

	// The probe still decides: one success closes (SuccessThreshold 1).
	p.Success()
	if m := b.Metrics(); m.State != breaker.Closed {
		t.Errorf("state after the probe succeeded %v, want closed", m.State)
	}
}

// TestRemovedBreakerVanishes: a removed breaker's series are gone on the
// next scrape, and a breaker created again under its name starts from
// zero.
func TestRemovedBreakerVanishes(t *testing.T) {
	s, mk := newSupervisor(t)
	populate(t, s, mk)
	reg := prometheus.NewRegistry()
	reg.MustRegister(prom.NewCollector(s))

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if series(mfs, "alpha") == 0 || series(mfs, "beta") == 0 {
		t.Fatalf("alpha has %d series, beta %d; want some of each", series(mfs, "alpha"), series(mfs, "beta"))
	}
	betaSeries := series(mfs, "beta")

	if !s.Remove("alpha") {
		t.Fatal("Remove(alpha) = false")
	}
	mfs, err = reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if n := series(mfs, "alpha"); n != 0 {
		t.Errorf("%d series of alpha after Remove, want 0", n)
	}
	if n := series(mfs, "beta"); n != betaSeries {
		t.Errorf("beta has %d series after removing alpha, had %d", n, betaSeries)
	}

	getOrCreate(t, s, "alpha")
	mfs, err = reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := value(mfs, "circuitbreaker_state", map[string]string{"name": "alpha", "state": "closed"}); !ok || v != 1 {
		t.Errorf("new alpha: state closed = %v (present %v), want 1", v, ok)
	}
	if v, _ := value(mfs, "circuitbreaker_calls_total", map[string]string{"name": "alpha", "kind": "failed"}); v != 0 {
		t.Errorf("new alpha: calls_total{failed} = %v, want 0", v)
	}
	if _, ok := value(mfs, "circuitbreaker_transitions_total", map[string]string{"name": "alpha"}); ok {
		t.Error("new alpha has transitions")
	}

	s.Close()
	mfs, err = reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) != 0 {
		t.Errorf("%d families after the supervisor closed, want none", len(mfs))
	}
}

func TestOptions(t *testing.T) {
	s, _ := newSupervisor(t)
	b := getOrCreate(t, s, "x")
	b.ForceOpen()
	c := prom.NewCollector(s, prom.WithNamespace("resilience4j"), prom.WithConstLabels(prometheus.Labels{"service": "checkout"}))
	want := `
# HELP resilience4j_circuitbreaker_state The state of the circuit breaker: 1 for the current state, 0 for the others.
# TYPE resilience4j_circuitbreaker_state gauge
resilience4j_circuitbreaker_state{name="x",service="checkout",state="closed"} 0
resilience4j_circuitbreaker_state{name="x",service="checkout",state="disabled"} 0
resilience4j_circuitbreaker_state{name="x",service="checkout",state="forced-open"} 1
resilience4j_circuitbreaker_state{name="x",service="checkout",state="half-open"} 0
resilience4j_circuitbreaker_state{name="x",service="checkout",state="open"} 0
# HELP resilience4j_circuitbreaker_transitions_total State transitions of the circuit breaker, by the states left and entered.
# TYPE resilience4j_circuitbreaker_transitions_total counter
resilience4j_circuitbreaker_transitions_total{from="closed",name="x",service="checkout",to="forced-open"} 1
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want),
		"resilience4j_circuitbreaker_state", "resilience4j_circuitbreaker_transitions_total"); err != nil {
		t.Fatal(err)
	}
	// Two collectors over one supervisor register side by side when their
	// constant labels differ.
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(prom.NewCollector(s, prom.WithConstLabels(prometheus.Labels{"zone": "a"})))
	reg.MustRegister(prom.NewCollector(s, prom.WithConstLabels(prometheus.Labels{"zone": "b"})))
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
}

func TestDescribe(t *testing.T) {
	s, _ := newSupervisor(t)
	ch := make(chan *prometheus.Desc, 20)
	prom.NewCollector(s).Describe(ch)
	close(ch)
	var got []string
	for d := range ch {
		got = append(got, d.String())
	}
	if len(got) != len(families) {
		t.Fatalf("Describe sent %d descriptors, want %d: %v", len(got), len(families), got)
	}
	for i, f := range families {
		if !strings.Contains(got[i], `fqName: "`+f+`"`) {
			t.Errorf("descriptor %d = %s, want %s", i, got[i], f)
		}
	}
}

// TestConcurrentScrapes scrapes while calls flow and breakers come and go,
// for the race detector.
func TestConcurrentScrapes(t *testing.T) {
	s := breaker.NewSupervisor()
	defer s.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(prom.NewCollector(s))
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx := context.Background()
		cfg := testConfig()
		for i := range 500 {
			name := []string{"a", "b", "c"}[i%3]
			b, err := s.GetOrCreate(name, cfg)
			if err != nil {
				t.Error(err)
				return
			}
			if p, err := b.Acquire(ctx); err == nil {
				if i%4 == 0 {
					p.Failure()
				} else {
					p.Success()
				}
			}
			if i%50 == 0 {
				s.Remove(name)
			}
		}
	}()
	for {
		select {
		case <-done:
			return
		default:
		}
		if _, err := reg.Gather(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestHistogramWithoutObservations: a histogram of a kind the breaker has
// not measured yet (here failed and ignored) has every bucket at 0, the
// same as one with observations has its own counts.
func TestHistogramWithoutObservations(t *testing.T) {
	s, mk := newSupervisor(t)
	call(t, getOrCreate(t, s, "one"), mk, 20*time.Millisecond, success)
	want := `
# HELP circuitbreaker_calls_seconds Durations of the calls the circuit breaker admitted, by outcome, in seconds.
# TYPE circuitbreaker_calls_seconds histogram
circuitbreaker_calls_seconds_bucket{kind="failed",name="one",le="0.005"} 0
circuitbreaker_calls_seconds_bucket{kind="failed",name="one",le="0.01"} 0
circuitbreaker_calls_seconds_bucket{kind="failed",name="one",le="0.025"} 0
circuitbreaker_calls_seconds_bucket{kind="failed",name="one",le="0.05"} 0
circuitbreaker_calls_seconds_bucket{kind="failed",name="one",le="0.1"} 0
circuitbreaker_calls_seconds_bucket{kind="failed",name="one",le="0.25"} 0
circuitbreaker_calls_seconds_bucket{kind="failed",name="one",le="0.5"} 0
circuitbreaker_calls_seconds_bucket{kind="failed",name="one",le="1"} 0
circuitbreaker_calls_seconds_bucket{kind="failed",name="one",le="2.5"} 0
circuitbreaker_calls_seconds_bucket{kind="failed",name="one",le="5"} 0
circuitbreaker_calls_seconds_bucket{kind="failed",name="one",le="10"} 0
circuitbreaker_calls_seconds_bucket{kind="failed",name="one",le="+Inf"} 0
circuitbreaker_calls_seconds_sum{kind="failed",name="one"} 0
circuitbreaker_calls_seconds_count{kind="failed",name="one"} 0
circuitbreaker_calls_seconds_bucket{kind="ignored",name="one",le="0.005"} 0
circuitbreaker_calls_seconds_bucket{kind="ignored",name="one",le="0.01"} 0
circuitbreaker_calls_seconds_bucket{kind="ignored",name="one",le="0.025"} 0
circuitbreaker_calls_seconds_bucket{kind="ignored",name="one",le="0.05"} 0
circuitbreaker_calls_seconds_bucket{kind="ignored",name="one",le="0.1"} 0
circuitbreaker_calls_seconds_bucket{kind="ignored",name="one",le="0.25"} 0
circuitbreaker_calls_seconds_bucket{kind="ignored",name="one",le="0.5"} 0
circuitbreaker_calls_seconds_bucket{kind="ignored",name="one",le="1"} 0
circuitbreaker_calls_seconds_bucket{kind="ignored",name="one",le="2.5"} 0
circuitbreaker_calls_seconds_bucket{kind="ignored",name="one",le="5"} 0
circuitbreaker_calls_seconds_bucket{kind="ignored",name="one",le="10"} 0
circuitbreaker_calls_seconds_bucket{kind="ignored",name="one",le="+Inf"} 0
circuitbreaker_calls_seconds_sum{kind="ignored",name="one"} 0
circuitbreaker_calls_seconds_count{kind="ignored",name="one"} 0
circuitbreaker_calls_seconds_bucket{kind="successful",name="one",le="0.005"} 0
circuitbreaker_calls_seconds_bucket{kind="successful",name="one",le="0.01"} 0
circuitbreaker_calls_seconds_bucket{kind="successful",name="one",le="0.025"} 1
circuitbreaker_calls_seconds_bucket{kind="successful",name="one",le="0.05"} 1
circuitbreaker_calls_seconds_bucket{kind="successful",name="one",le="0.1"} 1
circuitbreaker_calls_seconds_bucket{kind="successful",name="one",le="0.25"} 1
circuitbreaker_calls_seconds_bucket{kind="successful",name="one",le="0.5"} 1
circuitbreaker_calls_seconds_bucket{kind="successful",name="one",le="1"} 1
circuitbreaker_calls_seconds_bucket{kind="successful",name="one",le="2.5"} 1
circuitbreaker_calls_seconds_bucket{kind="successful",name="one",le="5"} 1
circuitbreaker_calls_seconds_bucket{kind="successful",name="one",le="10"} 1
circuitbreaker_calls_seconds_bucket{kind="successful",name="one",le="+Inf"} 1
circuitbreaker_calls_seconds_sum{kind="successful",name="one"} 0.02
circuitbreaker_calls_seconds_count{kind="successful",name="one"} 1
`
	c := prom.NewCollector(s)
	for range 2 {
		if err := testutil.CollectAndCompare(c, strings.NewReader(want), "circuitbreaker_calls_seconds"); err != nil {
			t.Fatal(err)
		}
	}
}

package breakerotel

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/metric"

	"github.com/breakerlabs/breaker"
)

// ScopeName is the instrumentation scope of the meter RegisterMetrics uses.
const ScopeName = "github.com/breakerlabs/breaker/breakerotel"

// The metric instruments RegisterMetrics creates.
const (
	MetricState        = "circuit_breaker.state"
	MetricCalls        = "circuit_breaker.calls"
	MetricTransitions  = "circuit_breaker.transitions"
	MetricFailureRate  = "circuit_breaker.failure_rate"
	MetricSlowCallRate = "circuit_breaker.slow_call_rate"
)

// The values of circuit_breaker.outcome on circuit_breaker.calls.
const (
	OutcomeSuccess  = "success"
	OutcomeFailure  = "failure"
	OutcomeIgnored  = "ignored"
	OutcomeRejected = "rejected"
)

// states are every breaker.State, in the order their series are observed.
var states = [...]breaker.State{breaker.Closed, breaker.Open, breaker.HalfOpen, breaker.ForcedOpen, breaker.Disabled}

// RegisterMetrics creates these asynchronous instruments on a meter of
// the provider (WithMeterProvider; default the global one) and registers
// one callback that fills them from s when a reader collects, and only
// then: nothing runs on a breaker's call path.
//
//	circuit_breaker.state           Int64ObservableUpDownCounter {name, state}: 1 for the current state, 0 for the other four
//	circuit_breaker.calls           Int64ObservableCounter {name, outcome}: lifetime calls by outcome (success, failure, ignored, rejected)
//	circuit_breaker.transitions     Int64ObservableCounter {name, from, to}: lifetime transitions, for the pairs that happened
//	circuit_breaker.failure_rate    Float64ObservableGauge {name}, unit 1: the window's failure rate (0–1)
//	circuit_breaker.slow_call_rate  Float64ObservableGauge {name}, unit 1: the window's slow-call rate (0–1)
//
// name, state and outcome are the attributes circuit_breaker.name,
// circuit_breaker.state and circuit_breaker.outcome; states are spelled as
// breaker.State.String. The rates are left out, rather than reported as
// −1 as breaker.Metrics has them, while the window holds fewer than
// Config.MinimumCalls calls and in states without a window (Open,
// HalfOpen, ForcedOpen); the slow-call rate is also left out for a breaker
// that does not track slow calls (Config.SlowCallDuration 0). A breaker removed from s (or created in it)
// disappears from (or appears in) the next collection; one removed and
// created again starts its counters from zero.
//
// There is no call-duration histogram: the OpenTelemetry metric API has no
// asynchronous histogram, and recording durations synchronously would put
// the SDK on the call path. The durations breakers measure are available
// from (*breaker.Breaker).Latencies and the prom package's histogram.
//
// Each collection asks every breaker for its Metrics (one round trip to
// its actor); reading never changes a breaker, takes a probe or emits an
// event. Call Unregister on the returned registration to stop; the
// callback is safe for concurrent use. RegisterMetrics returns an error
// for a nil s or if the meter refuses an instrument.
func RegisterMetrics(s *breaker.Supervisor, opts ...Option) (metric.Registration, error) {
	if s == nil {
		return nil, errors.New("breakerotel: RegisterMetrics with a nil Supervisor")
	}
	o := buildOptions(opts)
	meter := o.mp.Meter(ScopeName)
	state, err1 := meter.Int64ObservableUpDownCounter(MetricState,
		metric.WithDescription("1 for the breaker's current state, 0 for the others"), metric.WithUnit("1"))
	calls, err2 := meter.Int64ObservableCounter(MetricCalls,
		metric.WithDescription("Calls through the breaker by outcome, rejected included"), metric.WithUnit("{call}"))
	transitions, err3 := meter.Int64ObservableCounter(MetricTransitions,
		metric.WithDescription("State transitions of the breaker"), metric.WithUnit("{transition}"))
	failureRate, err4 := meter.Float64ObservableGauge(MetricFailureRate,
		metric.WithDescription("Failed calls over calls in the breaker's window, once it holds MinimumCalls"), metric.WithUnit("1"))
	slowRate, err5 := meter.Float64ObservableGauge(MetricSlowCallRate,
		metric.WithDescription("Slow calls over calls in the breaker's window, once it holds MinimumCalls"), metric.WithUnit("1"))
	if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
		return nil, err
	}
	c := &collector{s: s, state: state, calls: calls, transitions: transitions, failureRate: failureRate, slowRate: slowRate}
	return meter.RegisterCallback(c.observe, state, calls, transitions, failureRate, slowRate)
}

type collector struct {
	s                         *breaker.Supervisor
	state, calls, transitions metric.Int64Observable
	failureRate, slowRate     metric.Float64Observable
}

// observe reads every breaker of the supervisor once.
func (c *collector) observe(_ context.Context, o metric.Observer) error {
	for _, m := range c.s.Metrics() {
		name := KeyName.String(m.Name)
		for _, st := range states {
			v := int64(0)
			if st == m.State {
				v = 1
			}
			o.ObserveInt64(c.state, v, metric.WithAttributes(name, KeyState.String(st.String())))
		}
		for _, oc := range [...]struct {
			outcome string
			n       uint64
		}{{OutcomeSuccess, m.Successes}, {OutcomeFailure, m.Failures}, {OutcomeIgnored, m.Ignored}, {OutcomeRejected, m.Rejected}} {
			o.ObserveInt64(c.calls, int64(oc.n), metric.WithAttributes(name, KeyOutcome.String(oc.outcome)))
		}
		if m.FailureRate >= 0 {
			o.ObserveFloat64(c.failureRate, m.FailureRate, metric.WithAttributes(name))
		}
		b, ok := c.s.Get(m.Name)
		if !ok {
			continue // removed since Metrics: its transitions go with it
		}
		if m.SlowCallRate >= 0 && b.Config().SlowCallDuration > 0 {
			o.ObserveFloat64(c.slowRate, m.SlowCallRate, metric.WithAttributes(name))
		}
		for _, from := range states {
			for _, to := range states {
				if n := b.TransitionCount(from, to); n > 0 {
					o.ObserveInt64(c.transitions, int64(n), metric.WithAttributes(name,
						KeyFrom.String(from.String()), KeyTo.String(to.String())))
				}
			}
		}
	}
	return nil
}

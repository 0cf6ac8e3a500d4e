package breakerotel_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/breakerlabs/breaker"
	"github.com/breakerlabs/breaker/breakerotel"
)

// collect reads every metric of the breakerotel scope, by name.
func collect(t *testing.T, r sdkmetric.Reader) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != breakerotel.ScopeName {
			t.Fatalf("unexpected scope %q", sm.Scope.Name)
		}
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

func intPoint(v int64, kv ...attribute.KeyValue) metricdata.DataPoint[int64] {
	return metricdata.DataPoint[int64]{Attributes: attribute.NewSet(kv...), Value: v}
}

func floatPoint(v float64, kv ...attribute.KeyValue) metricdata.DataPoint[float64] {
	return metricdata.DataPoint[float64]{Attributes: attribute.NewSet(kv...), Value: v}
}

func nameKV(n string) attribute.KeyValue { return attribute.String("circuit_breaker.name", n) }

// statePoints is the five circuit_breaker.state series of a breaker in cur.
func statePoints(name string, cur breaker.State) []metricdata.DataPoint[int64] {
	var pts []metricdata.DataPoint[int64]
	for _, st := range []breaker.State{breaker.Closed, breaker.Open, breaker.HalfOpen, breaker.ForcedOpen, breaker.Disabled} {
		v := int64(0)
		if st == cur {
			v = 1
		}
		pts = append(pts, intPoint(v, nameKV(name), attribute.String("circuit_breaker.state", st.String())))
	}
	return pts
}

func callPoints(name string, success, failure, ignored, rejected int64) []metricdata.DataPoint[int64] {
	o := func(s string) attribute.KeyValue { return attribute.String("circuit_breaker.outcome", s) }
	return []metricdata.DataPoint[int64]{
		intPoint(success, nameKV(name), o("success")), intPoint(failure, nameKV(name), o("failure")),
		intPoint(ignored, nameKV(name), o("ignored")), intPoint(rejected, nameKV(name), o("rejected")),
	}
}

func transitionPoint(name string, from, to breaker.State, n int64) metricdata.DataPoint[int64] {
	return intPoint(n, nameKV(name), attribute.String("from", from.String()), attribute.String("to", to.String()))
}

func upDown(pts []metricdata.DataPoint[int64]) metricdata.Metrics {
	return metricdata.Metrics{Name: "circuit_breaker.state", Description: "1 for the breaker's current state, 0 for the others", Unit: "1",
		Data: metricdata.Sum[int64]{Temporality: metricdata.CumulativeTemporality, IsMonotonic: false, DataPoints: pts}}
}

func counter(name, desc, unit string, pts []metricdata.DataPoint[int64]) metricdata.Metrics {
	return metricdata.Metrics{Name: name, Description: desc, Unit: unit,
		Data: metricdata.Sum[int64]{Temporality: metricdata.CumulativeTemporality, IsMonotonic: true, DataPoints: pts}}
}

func gauge(name, desc string, pts []metricdata.DataPoint[float64]) metricdata.Metrics {
	return metricdata.Metrics{Name: name, Description: desc, Unit: "1", Data: metricdata.Gauge[float64]{DataPoints: pts}}
}

const (
	descCalls       = "Calls through the breaker by outcome, rejected included"
	descTransitions = "State transitions of the breaker"
	descFailureRate = "Failed calls over calls in the breaker's window, once it holds MinimumCalls"
	descSlowRate    = "Slow calls over calls in the breaker's window, once it holds MinimumCalls"
)

func assertMetric(t *testing.T, got map[string]metricdata.Metrics, want metricdata.Metrics) {
	t.Helper()
	g, ok := got[want.Name]
	if !ok {
		t.Fatalf("no metric %s", want.Name)
	}
	metricdatatest.AssertEqual(t, want, g, metricdatatest.IgnoreTimestamp())
}

// TestRegisterMetrics runs a script of calls and transitions over two
// breakers on a mock clock and checks every series exactly at three
// collections; a removed breaker's series disappear, and nothing is
// collected after Unregister.
func TestRegisterMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	mk := newMock()
	s := breaker.NewSupervisor(breaker.WithClock(mk))
	defer s.Close()
	reg, err := breakerotel.RegisterMetrics(s, breakerotel.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}

	if got := collect(t, reader); len(got) != 0 {
		t.Fatalf("an empty supervisor exports %v", got)
	}

	pay, err := s.GetOrCreate("payments", testConfig())
	if err != nil {
		t.Fatal(err)
	}
	slowCfg := testConfig()
	slowCfg.SlowCallDuration = time.Second
	slowCfg.SlowCallRate = 0.9
	search, err := s.GetOrCreate("search", slowCfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, o := range "SSFSIF" { // 5 counted, 2 failed: rate 0.4, under the trip rate
		call(t, ctx, pay, o)
	}
	for _, d := range []time.Duration{2 * time.Second, 0, 0, 3 * time.Second} { // 2 slow of 4
		p, err := search.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		mk.Add(d)
		p.Success()
	}

	got := collect(t, reader)
	assertMetric(t, got, upDown(append(statePoints("payments", breaker.Closed), statePoints("search", breaker.Closed)...)))
	assertMetric(t, got, counter("circuit_breaker.calls", descCalls, "{call}",
		append(callPoints("payments", 3, 2, 1, 0), callPoints("search", 4, 0, 0, 0)...)))
	assertMetric(t, got, gauge("circuit_breaker.failure_rate", descFailureRate, []metricdata.DataPoint[float64]{
		floatPoint(0.4, nameKV("payments")), floatPoint(0, nameKV("search"))}))
	// payments does not track slow calls: no slow-call rate.
	assertMetric(t, got, gauge("circuit_breaker.slow_call_rate", descSlowRate, []metricdata.DataPoint[float64]{
		floatPoint(0.5, nameKV("search"))}))
	if m, ok := got["circuit_breaker.transitions"]; ok {
		t.Fatalf("transitions before any happened: %+v", m)
	}

	// payments: trip, reject twice, half-open, probe fails, open again;
	// search: forced open, one rejection.
	call(t, ctx, pay, 'F') // 3 failures of 6: the failure rate trips
	waitState(t, pay, breaker.Open)
	for range 2 {
		if _, err := pay.Acquire(ctx); !errors.Is(err, breaker.ErrOpen) {
			t.Fatal(err)
		}
	}
	mk.Add(10 * time.Second)
	waitState(t, pay, breaker.HalfOpen)
	call(t, ctx, pay, 'F')
	waitState(t, pay, breaker.Open)
	search.ForceOpen()
	if _, err := search.Acquire(ctx); !errors.Is(err, breaker.ErrOpen) {
		t.Fatal(err)
	}

	got = collect(t, reader)
	assertMetric(t, got, upDown(append(statePoints("payments", breaker.Open), statePoints("search", breaker.ForcedOpen)...)))
	assertMetric(t, got, counter("circuit_breaker.calls", descCalls, "{call}",
		append(callPoints("payments", 3, 4, 1, 2), callPoints("search", 4, 0, 0, 1)...)))
	assertMetric(t, got, counter("circuit_breaker.transitions", descTransitions, "{transition}", []metricdata.DataPoint[int64]{
		transitionPoint("payments", breaker.Closed, breaker.Open, 1),
		transitionPoint("payments", breaker.Open, breaker.HalfOpen, 1),
		transitionPoint("payments", breaker.HalfOpen, breaker.Open, 1),
		transitionPoint("search", breaker.Closed, breaker.ForcedOpen, 1),
	}))
	// No window in Open or ForcedOpen: no rates.
	for _, name := range []string{"circuit_breaker.failure_rate", "circuit_breaker.slow_call_rate"} {
		if m, ok := got[name]; ok && len(m.Data.(metricdata.Gauge[float64]).DataPoints) != 0 {
			t.Fatalf("%s without a window: %+v", name, m)
		}
	}

	s.Remove("search")
	got = collect(t, reader)
	assertMetric(t, got, upDown(statePoints("payments", breaker.Open)))
	assertMetric(t, got, counter("circuit_breaker.calls", descCalls, "{call}", callPoints("payments", 3, 4, 1, 2)))
	assertMetric(t, got, counter("circuit_breaker.transitions", descTransitions, "{transition}", []metricdata.DataPoint[int64]{
		transitionPoint("payments", breaker.Closed, breaker.Open, 1),
		transitionPoint("payments", breaker.Open, breaker.HalfOpen, 1),
		transitionPoint("payments", breaker.HalfOpen, breaker.Open, 1),
	}))

	if err := reg.Unregister(); err != nil {
		t.Fatal(err)
	}
	if got := collect(t, reader); len(got) != 0 {
		t.Fatalf("after Unregister: %v", got)
	}
}

// TestRegisterMetricsNil: a nil supervisor is an error, not a panic.
func TestRegisterMetricsNil(t *testing.T) {
	if reg, err := breakerotel.RegisterMetrics(nil); err == nil || reg != nil {
		t.Fatalf("RegisterMetrics(nil) = %v, %v", reg, err)
	}
}

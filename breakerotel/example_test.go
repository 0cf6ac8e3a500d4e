package breakerotel_test

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/breakerlabs/breaker"
	"github.com/breakerlabs/breaker/breakerotel"
)

// A rejected call leaves an event on the caller's span. (A program
// installs its SDK once, with otel.SetTracerProvider; the recorder here
// stands in for an exporter.)
func ExampleNewObserver() {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())

	sup := breaker.NewSupervisor(breaker.WithCallObserver(breakerotel.NewObserver()))
	defer sup.Close()
	b, _ := sup.GetOrCreate("payments", breaker.DefaultConfig())
	b.ForceOpen()

	ctx, span := tp.Tracer("shop").Start(context.Background(), "charge card")
	err := b.Do(ctx, func(context.Context) error { return nil })
	span.End()

	fmt.Println("error:", err)
	s := rec.Ended()[0]
	for _, e := range s.Events() {
		fmt.Println("event:", e.Name)
		for _, kv := range e.Attributes {
			fmt.Printf("  %s = %s\n", kv.Key, kv.Value.String())
		}
	}
	fmt.Println("status:", s.Status().Code)
	// Output:
	// error: breaker: circuit "payments" forced open
	// event: circuit_breaker.rejected
	//   circuit_breaker.name = payments
	//   circuit_breaker.state = forced-open
	//   error.type = forced_open
	// status: Unset
}

// Export a supervisor's breakers as OpenTelemetry metrics, read when the
// reader collects.
func ExampleRegisterMetrics() {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())

	sup := breaker.NewSupervisor()
	defer sup.Close()
	reg, err := breakerotel.RegisterMetrics(sup, breakerotel.WithMeterProvider(mp))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer reg.Unregister()

	b, _ := sup.GetOrCreate("payments", breaker.DefaultConfig())
	_ = b.Do(context.Background(), func(context.Context) error { return nil })
	b.ForceOpen()
	_ = b.Do(context.Background(), func(context.Context) error { return nil }) // rejected

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if sum, ok := m.Data.(metricdata.Sum[int64]); ok {
			for _, p := range sum.DataPoints {
				if p.Value != 0 {
					fmt.Println(m.Name, p.Attributes.Encoded(attribute.DefaultEncoder()), p.Value)
				}
			}
		}
	}
	// Unordered output:
	// circuit_breaker.state circuit_breaker.name=payments,circuit_breaker.state=forced-open 1
	// circuit_breaker.calls circuit_breaker.name=payments,circuit_breaker.outcome=success 1
	// circuit_breaker.calls circuit_breaker.name=payments,circuit_breaker.outcome=rejected 1
	// circuit_breaker.transitions circuit_breaker.name=payments,from=closed,to=forced-open 1
}

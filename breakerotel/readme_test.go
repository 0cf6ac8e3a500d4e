package breakerotel_test

// The README's OpenTelemetry snippet, compiled as it is printed there (the
// root module's TestReadmeSnippetsAreHere finds it in this file).

import (
	"testing"

	"github.com/breakerlabs/breaker"
	"github.com/breakerlabs/breaker/breakerotel"
)

// readmeOpenTelemetry is the OpenTelemetry snippet of "Logging and
// tracing".
func readmeOpenTelemetry() error {
	sup := breaker.NewSupervisor(breaker.WithCallObserver(breakerotel.NewObserver()))
	reg, err := breakerotel.RegisterMetrics(sup) // global MeterProvider, or WithMeterProvider(mp)
	defer reg.Unregister()

	defer sup.Close()
	return err
}

func TestReadmeSnippet(t *testing.T) {
	if err := readmeOpenTelemetry(); err != nil {
		t.Fatal(err)
	}
}

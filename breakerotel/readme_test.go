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
	defer sup.Close()
	reg, err := breakerotel.RegisterMetrics(sup) // global MeterProvider, or WithMeterProvider(mp)
	if err != nil {
		return err
	}
	defer reg.Unregister()
	return nil
}

func TestReadmeSnippet(t *testing.T) {
	if err := readmeOpenTelemetry(); err != nil {
		t.Fatal(err)
	}
}

package breakerotel

import (
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// An Option configures NewObserver or RegisterMetrics. Options are plain
// values, safe to build once and share.
type Option func(*options)

type options struct {
	tp trace.TracerProvider
	mp metric.MeterProvider
}

func buildOptions(opts []Option) options {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if o.tp == nil {
		o.tp = otel.GetTracerProvider()
	}
	if o.mp == nil {
		o.mp = otel.GetMeterProvider()
	}
	return o
}

// WithTracerProvider sets the tracer provider (default: the global one,
// otel.GetTracerProvider()). The observer of NewObserver starts no spans
// of its own, so today no function of this package uses it: the observer
// annotates the span in the caller's context, whichever provider made it,
// and does nothing when that span is not recording. It is accepted so that
// one option list configures the whole package. A nil tp means the
// default.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *options) { o.tp = tp }
}

// WithMeterProvider sets the provider RegisterMetrics makes its
// instruments with (default: the global provider, otel.GetMeterProvider()).
// A nil mp means the default.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(o *options) { o.mp = mp }
}

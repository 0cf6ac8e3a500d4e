package breakerotel

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/breakerlabs/breaker"
)

// The attribute keys, after semantic-conventions proposal #2355 (there is
// no convention for circuit breakers yet), with the namespace spelled as
// OpenTelemetry spells multi-word namespaces.
const (
	KeyName    = attribute.Key("circuit_breaker.name")    // the breaker's name
	KeyState   = attribute.Key("circuit_breaker.state")   // breaker.State.String(): closed, open, half-open, forced-open, disabled
	KeyProbe   = attribute.Key("circuit_breaker.probe")   // true on the span of a half-open probe
	KeyOutcome = attribute.Key("circuit_breaker.outcome") // success, failure, ignored, rejected (metrics)
	KeyFrom    = attribute.Key("from")                    // a transition's state before (metrics)
	KeyTo      = attribute.Key("to")                      // a transition's state after (metrics)
	// KeyErrorType is the general OpenTelemetry error.type: why Acquire
	// failed (see NewObserver).
	KeyErrorType = attribute.Key("error.type")
)

// EventRejected is the name of the span event added when a breaker
// rejects a call.
const EventRejected = "circuit_breaker.rejected"

// The values of error.type on a rejection.
const (
	ErrorTypeOpen          = "open"            // Open (or a trip latched before the actor published it)
	ErrorTypeForcedOpen    = "forced_open"     // ForcedOpen
	ErrorTypeTooManyProbes = "too_many_probes" // HalfOpen with every probe slot taken
	ErrorTypeStopped       = "stopped"         // the breaker was closed
	// The context's errors: the breakers of package breaker decide without
	// waiting and never return them today; an observer called by other code
	// may see them.
	ErrorTypeCanceled = "canceled"
	ErrorTypeDeadline = "deadline_exceeded"
	ErrorTypeOther    = "_OTHER" // anything else (the semantic conventions' fallback value)
)

// NewObserver returns a breaker.CallObserver that marks the caller's span
// (trace.SpanFromContext of the ctx given to Acquire) with the breaker's
// answer, so that in a trace a short-circuited call reads differently from
// a call that failed downstream:
//
//   - A rejection adds the span event "circuit_breaker.rejected" with the
//     attributes circuit_breaker.name, circuit_breaker.state (the state
//     that rejected) and error.type (open, forced_open, too_many_probes or
//     stopped).
//   - A half-open probe sets the span attributes circuit_breaker.probe =
//     true and circuit_breaker.name: attributes rather than an event,
//     because the whole span is the probe's call and backends index
//     attributes for search ("show me the probes").
//   - An ordinary admission records nothing.
//
// It never sets the span's status or records an error: a rejected call
// that a fallback answers is not a failure, and whether the span failed is
// the caller's to say. When the span is not recording (no span in ctx, no
// SDK installed, or sampled out) the observer returns after one check and
// allocates nothing. Install it on a supervisor (or breaker) with
// breaker.WithCallObserver; it is safe for concurrent use and never
// blocks.
func NewObserver(opts ...Option) breaker.CallObserver {
	_ = buildOptions(opts) // no option changes the observer (see WithTracerProvider)
	return observer{}
}

type observer struct{}

// Admitted marks a probe's span.
func (observer) Admitted(ctx context.Context, name string, _ breaker.State, probe bool) {
	if !probe {
		return
	}
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	span.SetAttributes(KeyName.String(name), KeyProbe.Bool(true))
}

// Rejected adds the rejection event to the caller's span.
func (observer) Rejected(ctx context.Context, name string, s breaker.State, err error) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	span.AddEvent(EventRejected, trace.WithAttributes(
		KeyName.String(name), KeyState.String(s.String()), KeyErrorType.String(errorType(s, err))))
}

// errorType is the error.type of an Acquire error decided in state s.
func errorType(s breaker.State, err error) string {
	switch {
	case errors.Is(err, breaker.ErrOpen):
		if s == breaker.ForcedOpen {
			return ErrorTypeForcedOpen
		}
		return ErrorTypeOpen
	case errors.Is(err, breaker.ErrTooManyProbes):
		return ErrorTypeTooManyProbes
	case errors.Is(err, breaker.ErrStopped):
		return ErrorTypeStopped
	case errors.Is(err, context.Canceled):
		return ErrorTypeCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return ErrorTypeDeadline
	}
	return ErrorTypeOther
}

// Package breakerotel connects breakers to OpenTelemetry: the caller's span
// learns what the breaker decided (NewObserver), and a supervisor's
// breakers are exported as metrics read at collection time
// (RegisterMetrics).
//
// It is a module of its own, so the core module does not depend on
// OpenTelemetry; it uses only the OpenTelemetry API
// (go.opentelemetry.io/otel, /trace, /metric), which is a no-op until the
// program installs an SDK.
//
//	sup := breaker.NewSupervisor(breaker.WithCallObserver(breakerotel.NewObserver()))
//	reg, err := breakerotel.RegisterMetrics(sup)
//	...
//	defer reg.Unregister()
//
// There is no semantic convention for circuit breakers yet (proposal
// open-telemetry/semantic-conventions#2355 suggests circuitbreaker.name,
// circuitbreaker.state and an event on a state change); the names here
// follow its spirit under the namespace circuit_breaker, and are
// experimental in the same sense.
package breakerotel

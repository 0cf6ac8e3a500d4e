// Package breakerlog writes a breaker.Supervisor's state changes to a
// log/slog logger: one line per transition, never one per call.
//
//	stop := breakerlog.Attach(sup, slog.Default())
//	defer stop()
//
// Attach subscribes to the supervisor (state changes, actor restarts and
// state-store failures; never per-call events) and logs each event from one
// goroutine of its own, at these levels:
//
//	to Open, ForcedOpen, Disabled   Warn   the breaker stopped protecting, or rejects calls
//	to HalfOpen, Closed             Info   recovery
//	ActorRestarted, StoreFailed     Error  a library fault, a failing state store
//
// WithLevel changes the level of the transitions to a given state. The
// line's attributes are those of events.Event.LogValue (breaker, seq, kind,
// from, to, reason, and rate, count, until, attempt, origin, err only when
// they apply), inlined at the top level of the record, and the record's
// time is the event's Time, read from the breaker's clock. A JSON line
// looks like this:
//
//	{"time":"2026-12-01T21:04:05.123Z","level":"WARN","msg":"circuit breaker opened","breaker":"payments","seq":3,"kind":"state-changed","from":"closed","to":"open","reason":"failure-rate","rate":0.6,"until":"2026-12-01T21:04:35.123Z"}
//
// A busy log that falls behind never slows a breaker down: the subscription
// drops events it has no room for (see events.Subscription), and breakerlog
// then writes one Warn saying how many were lost, instead of the lines
// themselves. Rejected and successful calls are never logged, however many
// there are: use breakerotel or prom for those.
package breakerlog

// Package breaker is a circuit breaker built as an actor-style concurrent
// engine.
//
// Each Breaker is one goroutine (its actor) that owns its state machine
// outright and is spoken to over channels, while the Closed-state path that
// nearly every call takes is lock-free: Acquire and the outcome report are
// a handful of atomic operations, with no channel, lock or allocation.
// Open-state rejection is just as cheap. The actor is involved only when
// something changes: a report that may cross a trip threshold nudges it,
// half-open probes ask it for a slot, and its timers move Open to HalfOpen
// on time even with no traffic.
//
// The breaker trips on consecutive failures, on the failure rate and on the
// slow-call rate over a count- or time-based sliding window; stays open for
// OpenTimeout, growing by BackoffMultiplier up to MaxOpenTimeout after
// failed recoveries; and recovers through a bounded number of half-open
// probes judged strictly or by rate. Reset, ForceOpen and Disable take
// manual control. See Config for every knob and DefaultConfig for a
// starting point.
//
// Use it by acquiring a permit and reporting the outcome around any call:
//
//	p, err := b.Acquire(ctx)
//	if err != nil {
//		return err // errors.Is(err, breaker.ErrOpen) while open
//	}
//	resp, err := client.Do(req)
//	p.Done(err)
//
// or let Do, Execute and ExecuteWithFallback do it, with a call timeout and
// panics counted as failures.
//
// MutexBreaker drives the same state machine (package engine) behind a
// sync.Mutex, for comparison: both satisfy Circuit and pass the same tests.
// A Supervisor owns named breakers, restarts an actor that panics, and fans
// their events out to subscribers (package events). Subscribers never slow
// a breaker: a full subscriber buffer drops and counts.
//
// Time goes through a github.com/benbjohnson/clock Clock (WithClock), so
// tests can drive every deadline with clock.NewMock().
package breaker

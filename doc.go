// Package breaker is a circuit breaker built as an actor-style concurrent
// engine.
//
// Each Breaker's state machine is owned outright by one actor at a time,
// spoken to through a FIFO mailbox, while every admission decision is
// lock-free: in Closed, Acquire and the outcome report are a handful of
// atomic operations, with no channel, lock or allocation; Open-state
// rejection is as cheap, and half-open admission takes a probe slot with
// one compare-and-swap. The actor is involved only when something changes:
// the report that crosses a trip threshold latches the trip (admission
// shuts before it returns) and has the actor make it formal, probe
// outcomes go to it, and its timers move Open to HalfOpen on time even
// with no traffic. The actor is passivated: it has no goroutine of its
// own, and runs on the goroutine that sends it a message while it is idle.
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

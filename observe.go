package breaker

import (
	"github.com/benbjohnson/clock"
	"github.com/breakerlabs/breaker/events"
)

// TransitionCount returns how many times the breaker went from one state
// to another. Safe for concurrent use.
func (b *base) TransitionCount(from, to State) uint64 {
	return b.life.transitionCount(from, to)
}

// Config returns the breaker's configuration: the one it was created
// with, or the last one given to Reconfigure. Safe for concurrent use.
func (b *base) Config() Config { return b.tuning().cfg }

// Clock returns the clock the breaker reads: the one given with WithClock,
// or the real clock. Wrappers (breakerhttp) use it so tests pass a mock
// clock once.
func (b *base) Clock() clock.Clock { return b.clk }

// RecordFallback counts a fallback answered on the breaker's behalf by
// code that wraps it (Metrics.Fallbacks, and a FallbackUsed event if
// anyone subscribed to it). ExecuteWithFallback counts its own. Safe for
// concurrent use.
func (b *base) RecordFallback() {
	b.life.fallbacks.Add(1)
	b.em.emitCall(events.FallbackUsed, 0)
}

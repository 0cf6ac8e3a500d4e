package breaker

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlabs/breaker/engine"
	"github.com/breakerlabs/breaker/events"
)

// base is what Breaker and MutexBreaker share: identity, configuration,
// time sources, lifetime counters and the event emitter. Everything in it
// is either immutable after construction or safe for concurrent use.
type base struct {
	name string
	tune atomic.Pointer[tuning] // the configuration; replaced whole by retune
	obs  CallObserver           // WithCallObserver; nil: none (one branch in Acquire, on tune's cache line)
	clk  clock.Clock
	// coarse is set when durations come from the shared coarse clock: from
	// acquireShared on, or from the reconfiguration that first needs it.
	coarse atomic.Pointer[coarseClock]
	// realClock: clk is the real clock, so durations are to come from the
	// coarse clock whenever the configuration measures them.
	realClock bool
	emitter   emitter // assigns Seq and publishes the breaker's events
	// No padding here: the lifetime counters are written by the fast path
	// only until they are contended, after which their writes go to their
	// own padded cells (stripedCounter).
	lifetime lifetime
}

// tuning returns the current configuration. Safe for concurrent use.
func (b *base) tuning() *tuning { return b.tune.Load() }

// retune publishes cfg (already validated) as the breaker's configuration,
// and returns the one it replaces. Only the state's owner (the actor, or
// the holder of MutexBreaker's lock) calls it.
func (b *base) retune(cfg Config) (old *tuning) {
	old = b.tuning()
	t := newTuning(cfg)
	if t.timesCalls {
		if b.realClock && b.coarse.Load() == nil {
			b.coarse.Store(sharedCoarse.acquire())
		}
		t.measureFrom = old.measureFrom
		if !old.timesCalls {
			t.measureFrom = b.nanos()
		}
	}
	b.tune.Store(t)
	return old
}

var errEmptyName = errors.New("breaker: name must not be empty")

// checkNew returns the error New and NewMutex return for name and cfg, or
// nil.
func checkNew(name string, cfg Config) error {
	if name == "" {
		return errEmptyName
	}
	return cfg.Validate()
}

// init sets up b, the base of a breaker being made (Breaker and
// MutexBreaker hold it by value: one allocation per breaker fewer), for a
// name and cfg checkNew accepted.
func (b *base) init(name string, cfg Config, o *options) {
	b.name, b.clk, b.obs = name, o.clock, o.observer
	b.tune.Store(sharedTuning(cfg))
	if b.clk == nil {
		b.clk = clock.New()
		b.realClock = true
	}
	b.emitter.init(name, b.clk, o.sink)
}

// acquireShared takes the shared resources the breaker needs (the coarse
// clock and its goroutine). Constructors call it last, once nothing else
// can fail or panic, so a failed construction leaves nothing running.
// Until then nanos reads the clock directly.
func (b *base) acquireShared() {
	if b.realClock && b.tuning().timesCalls {
		b.coarse.Store(sharedCoarse.acquire())
	}
}

// release gives back what init and acquireShared took. Called once, by
// Close.
func (b *base) release() {
	if c := b.coarse.Load(); c != nil {
		c.release()
	}
	b.emitter.stop()
}

// nanos is the time source for call durations and time windows: the coarse
// clock under the real clock, the injected clock otherwise.
func (b *base) nanos() int64 {
	if c := b.coarse.Load(); c != nil {
		return c.nanos()
	}
	return b.clk.Now().UnixNano()
}

func (b *base) core() *base { return b }

// TransitionCount returns how many times the breaker went from one state
// to another. Safe for concurrent use.
func (b *base) TransitionCount(from, to State) uint64 {
	return b.lifetime.transitionCount(from, to)
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
	b.lifetime.fallbacks.Add(1)
	b.emitter.emitCall(events.FallbackUsed, 0)
}

// countOutcome adds a reported outcome to the lifetime counters and, when
// the breaker measures durations, to the latency histograms.
func (b *base) countOutcome(o engine.Outcome, d time.Duration, slow bool) {
	b.lifetime.countOutcome(o, slow)
	if b.tuning().timesCalls {
		b.lifetime.histograms()[o].observe(d)
	}
}

// countMeasured adds what a count window's packed word does not hold: the
// slow-call counter and the latency histogram.
func (b *base) countMeasured(o engine.Outcome, d time.Duration, slow bool) {
	if slow {
		b.lifetime.slow.inc()
	}
	if b.tuning().timesCalls {
		b.lifetime.histograms()[o].observe(d)
	}
}

// Latencies returns the durations of reported calls by outcome, and false
// if the breaker does not measure them (no slow-call tracking and a count
// window: durations are then never read, to keep the clock off the fast
// path). Safe for concurrent use.
func (b *base) Latencies() (Latencies, bool) {
	if !b.tuning().timesCalls {
		return Latencies{}, false
	}
	return Latencies{
		Succeeded: b.lifetime.histograms()[engine.Success].snapshot(),
		Failed:    b.lifetime.histograms()[engine.Failure].snapshot(),
		Ignored:   b.lifetime.histograms()[engine.Ignore].snapshot(),
	}, true
}

// measure returns the time now and the call's duration, and whether it is
// slow, when the breaker tracks durations.
func (b *base) measureCall(p Permit) (now int64, d time.Duration, slow bool) {
	t := b.tuning()
	if !t.timesCalls {
		return 0, 0, false // inlined: the common case costs two loads
	}
	return b.measureSlow(p, t)
}

func (b *base) measureSlow(p Permit, t *tuning) (now int64, d time.Duration, slow bool) {
	now = b.nanos()
	// A call admitted before a reconfiguration switched measuring on has
	// no start time: it is timed from when measuring began.
	d = time.Duration(now - max(p.start, t.measureFrom))
	return now, d, t.settings.Slow(d)
}

// The observer calls are outlined (never inlined into Acquire), so the
// fast path with no observer pays only the nil check at the call site:
//
//	if b.obs != nil {
//		b.observeAdmitted(ctx, state, probe)
//	}

//go:noinline
func (b *base) observeAdmitted(ctx context.Context, s State, probe bool) {
	b.obs.Admitted(ctx, b.name, s, probe)
}

//go:noinline
func (b *base) observeRejected(ctx context.Context, s State, err error) {
	b.obs.Rejected(ctx, b.name, s, err)
}

package breaker

import (
	"github.com/benbjohnson/clock"
	"github.com/breakerlabs/breaker/events"
)

// An Option configures a Breaker, MutexBreaker or Supervisor at
// construction.
type Option interface{ apply(*options) }

type options struct {
	clock    clock.Clock   // nil: the real clock, with a coarse clock for durations
	sinks    []*events.Hub // extra hubs every event is published to (a supervisor's)
	hooks    *testHooks    // fault injection for tests; nil in production
	observer CallObserver  // WithCallObserver; nil: none
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithClock makes every time read go through c: state deadlines, timers,
// call durations and CallTimeout. Tests pass clock.NewMock(). Without it the
// real clock is used, and call durations come from a shared coarse clock
// with 1 ms precision (see New).
func WithClock(c clock.Clock) Option {
	return optionFunc(func(o *options) { o.clock = c })
}

func withSink(h *events.Hub) Option {
	return optionFunc(func(o *options) { o.sinks = append(o.sinks, h) })
}

func buildOptions(opts []Option) options {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt.apply(&o)
		}
	}
	return o
}

// withTestHooks installs fault-injection hooks. Tests only.
func withTestHooks(h *testHooks) Option {
	return optionFunc(func(o *options) { o.hooks = h })
}

// testHooks lets tests inject faults into an actor. Never set outside tests.
type testHooks struct {
	panicOnMessage func() bool // called by the actor before each message; true panics
	construct      func()      // called by New once the actor is built, before it starts
}

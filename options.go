package breaker

import (
	"github.com/benbjohnson/clock"
	"github.com/breakerlabs/breaker/events"
)

// An Option configures a Breaker, MutexBreaker or Supervisor at
// construction.
type Option interface{ apply(*options) }

type options struct {
	clock    clock.Clock  // nil: the real clock, with a coarse clock for durations
	sink     *events.Hub  // a hub every event is also published to (a supervisor's)
	hooks    *testHooks   // fault injection for tests; nil in production
	observer CallObserver // WithCallObserver; nil: none

	store    StateStore   // WithStateStore (a Supervisor's)
	instance string       // WithInstance (a Supervisor's)
	saver    *storeWriter // set by a Supervisor with a store for the breakers it makes
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

// WithStateStore makes a Supervisor keep its breakers' states in st
// (ARCHITECTURE §8): NewSupervisor loads st once, GetOrCreate starts a
// stored name in its stored state, and every transition is saved behind
// the actors, so a failing or hanging store never fails, blocks or slows
// a call or a transition. If st is a SharedStore, the supervisor also
// watches it and adopts the transitions of other instances. The
// supervisor never closes st: whoever opened it closes it, after
// Supervisor.Close. A nil st means no store. It has no effect on a
// breaker made by New or NewMutex.
func WithStateStore(st StateStore) Option {
	return optionFunc(func(o *options) { o.store = st })
}

// WithInstance names this process in the records it saves (Record.Origin),
// so that instances sharing a store tell their own records from the
// others'. The default is "host-pid". It matters only with WithStateStore.
func WithInstance(id string) Option {
	return optionFunc(func(o *options) { o.instance = id })
}

func withSaver(w *storeWriter) Option {
	return optionFunc(func(o *options) { o.saver = w })
}

func withSink(h *events.Hub) Option {
	return optionFunc(func(o *options) { o.sink = h })
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

package breaker

import (
	"errors"
	"math"
	"sync"
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
	em        emitter
	// No padding here: the lifetime counters are written by the fast path
	// only until they are contended, after which their writes go to their
	// own padded cells (stripedCounter).
	life lifetime
}

// tuning is a breaker's configuration as its paths read it. It is
// immutable once published: Reconfigure publishes a new one, so a reader
// that loads it once sees one configuration throughout.
type tuning struct {
	cfg     Config
	s       engine.Settings
	measure bool // outcomes need a duration or a timestamp
	// measureFrom is when (nanos) measuring began, if a reconfiguration
	// switched it on; math.MinInt64 if the breaker measured from the
	// start. A call's duration runs from the later of its start and this,
	// so a call admitted while nothing was measured (no start time) is
	// timed from when measuring began.
	measureFrom int64
}

func newTuning(cfg Config) *tuning {
	t := &tuning{cfg: cfg, s: cfg.settings(), measureFrom: math.MinInt64}
	t.measure = t.s.TracksDuration()
	return t
}

// tuning returns the current configuration. Safe for concurrent use.
func (b *base) tuning() *tuning { return b.tune.Load() }

// retune publishes cfg (already validated) as the breaker's configuration,
// and returns the one it replaces. Only the state's owner (the actor, or
// the holder of MutexBreaker's lock) calls it.
func (b *base) retune(cfg Config) (old *tuning) {
	old = b.tuning()
	t := newTuning(cfg)
	if t.measure {
		if b.realClock && b.coarse.Load() == nil {
			b.coarse.Store(sharedCoarse.acquire())
		}
		t.measureFrom = old.measureFrom
		if !old.measure {
			t.measureFrom = b.nanos()
		}
	}
	b.tune.Store(t)
	return old
}

var errEmptyName = errors.New("breaker: name must not be empty")

func newBase(name string, cfg Config, o *options) (*base, error) {
	if name == "" {
		return nil, errEmptyName
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	b := &base{name: name, clk: o.clock, obs: o.observer}
	b.tune.Store(sharedTuning(cfg))
	if b.clk == nil {
		b.clk = clock.New()
		b.realClock = true
	}
	b.em.init(name, b.clk, o.sinks)
	return b, nil
}

// acquireShared takes the shared resources the breaker needs (the coarse
// clock and its goroutine). Constructors call it last, once nothing else
// can fail or panic, so a failed construction leaves nothing running.
// Until then nanos reads the clock directly.
func (b *base) acquireShared() {
	if b.realClock && b.tuning().measure {
		b.coarse.Store(sharedCoarse.acquire())
	}
}

// release gives back what newBase took. Called once, by Close.
func (b *base) release() {
	if c := b.coarse.Load(); c != nil {
		c.release()
	}
	b.em.stop()
	b.em.hub.Close()
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

// lifetime holds a breaker's lifetime counters. The per-call ones are
// striped because the fast path increments them from every core.
//
// An actor breaker's Closed-state successes and failures are counted in
// its count window's packed word (liveWindow.n) instead: the lifetime
// totals are the striped counters, plus what the actor folded out of
// retired windows (folded*), plus the current window's share. gen is a
// sequence lock over the folds, so a reader never sees a window's counts
// twice or not at all.
type lifetime struct {
	successes, failures, ignored, slow, rejected stripedCounter
	gen                                          atomic.Uint64 // odd while the actor folds; the actor writes it
	foldedSuccesses, foldedFailures              atomic.Uint64 // written by the actor inside a fold
	timeouts, fallbacks                          atomic.Uint64
	transitions                                  atomic.Pointer[[5][5]atomic.Uint64] // [from][to]; written by the state owner; nil until the first transition
	latency                                      atomic.Pointer[[3]latencyHistogram] // by engine.Outcome; nil until the first duration measured
}

// fill copies the counters into m.
func (l *lifetime) fill(m *Metrics) {
	m.Successes = l.successes.load()
	m.Failures = l.failures.load()
	m.Ignored = l.ignored.load()
	m.SlowCalls = l.slow.load()
	m.Rejected = l.rejected.load()
	m.Timeouts = l.timeouts.Load()
	m.Fallbacks = l.fallbacks.Load()
	t := l.transitions.Load()
	if t == nil {
		return
	}
	for from := range t {
		for to := range t[from] {
			n := t[from][to].Load()
			m.Transitions += n
			if State(to) == Open {
				m.Trips += n
			}
		}
	}
}

// countTransition counts one transition. The state owner only (the actor,
// or the holder of a MutexBreaker's lock), so the table is allocated once.
func (l *lifetime) countTransition(from, to State) {
	t := l.transitions.Load()
	if t == nil {
		t = new([5][5]atomic.Uint64)
		l.transitions.Store(t)
	}
	t[from][to].Add(1)
}

// histograms returns the latency histograms, allocating them the first
// time (a breaker that never measures a duration never has them). Safe
// for concurrent use.
func (l *lifetime) histograms() *[3]latencyHistogram {
	if h := l.latency.Load(); h != nil {
		return h
	}
	h := new([3]latencyHistogram)
	if l.latency.CompareAndSwap(nil, h) {
		return h
	}
	return l.latency.Load()
}

// beginFold and endFold bracket a fold: the actor moving counts from a
// window's packed word into folded*. The actor only.
func (l *lifetime) beginFold() { l.gen.Add(1) }
func (l *lifetime) endFold()   { l.gen.Add(1) }

// fold adds counts moved out of a window. The actor only, inside a fold.
func (l *lifetime) fold(successes, failures uint64) {
	l.foldedSuccesses.Add(successes)
	l.foldedFailures.Add(failures)
}

// transitionCount returns how many times a breaker went from one state to
// another. Safe for concurrent use.
func (l *lifetime) transitionCount(from, to State) uint64 {
	t := l.transitions.Load()
	if t == nil || int(from) >= len(t) || int(to) >= len(t) {
		return 0
	}
	return t[from][to].Load()
}

// countOutcome adds a reported outcome to the lifetime counters.
func (l *lifetime) countOutcome(o engine.Outcome, slow bool) {
	switch o {
	case engine.Success:
		l.successes.inc()
	case engine.Failure:
		l.failures.inc()
	default:
		l.ignored.inc()
	}
	if slow {
		l.slow.inc()
	}
}

// emitter assigns each event of one breaker its Seq and publishes it to the
// breaker's own hub and to any sink hubs (a supervisor's), under one mutex
// so that every subscriber sees the breaker's events in Seq order. Sends
// never block (events.Hub drops for full subscribers), so the mutex is held
// only for the fan-out itself.
type emitter struct {
	name string
	clk  clock.Clock
	hub  *events.Hub                   // the breaker's own subscribers
	hubs atomic.Pointer[[]*events.Hub] // hub, then the sinks; replaced (under mu), never changed
	mu   sync.Mutex                    // serialises Seq assignment, publication and adding a sink
	seq  uint64
	done bool // set by stop: nothing is published afterwards
}

// stop makes every later emit a no-op: once the breaker's Close has
// returned, nothing more is published for it (a report or fallback that
// arrives later only counts). Safe for concurrent use.
func (e *emitter) stop() {
	e.mu.Lock()
	e.done = true
	e.mu.Unlock()
}

func (e *emitter) init(name string, clk clock.Clock, sinks []*events.Hub) {
	e.name, e.clk, e.hub = name, clk, events.NewHub()
	hubs := append([]*events.Hub{e.hub}, sinks...)
	e.hubs.Store(&hubs)
}

// addSink makes every later event also go to h (a supervisor's hub), unless
// the breaker already has a sink: it reports whether it added h. Safe for
// concurrent use with emitting: an event is published to the sinks it had
// when its Seq was assigned, so h sees a breaker's events from some Seq on,
// in order, with no gap.
func (e *emitter) addSink(h *events.Hub) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	cur := *e.hubs.Load()
	if len(cur) > 1 {
		return false
	}
	hubs := append(cur[:len(cur):len(cur)], h)
	e.hubs.Store(&hubs)
	return true
}

// wants reports whether any subscriber wants events of kind k: one atomic
// load per hub.
func (e *emitter) wants(k events.Kind) bool {
	for _, h := range *e.hubs.Load() {
		if h.Wants(k) {
			return true
		}
	}
	return false
}

// emit stamps ev with the breaker's name, the next Seq and (if unset) the
// time, and publishes it, unless the breaker is stopped. Safe for
// concurrent use.
func (e *emitter) emit(ev events.Event) {
	ev.Breaker = e.name
	if ev.Time.IsZero() {
		ev.Time = e.clk.Now()
	}
	e.mu.Lock()
	if e.done {
		e.mu.Unlock()
		return
	}
	e.seq++
	ev.Seq = e.seq
	for _, h := range *e.hubs.Load() {
		h.Publish(ev)
	}
	e.mu.Unlock()
}

// emitCall publishes a per-call event if anyone wants its kind. The check
// is inlined: with nobody subscribed to per-call kinds it costs one atomic
// load per hub.
func (e *emitter) emitCall(k events.Kind, d time.Duration) {
	if e.wants(k) {
		e.emitCallEvent(k, d)
	}
}

func (e *emitter) emitCallEvent(k events.Kind, d time.Duration) {
	e.emit(events.Event{Kind: k, Duration: d})
}

// emitTransition publishes a StateChanged event for tr; a transition to
// Open carries its open deadline in Until.
func (e *emitter) emitTransition(tr engine.Transition) {
	ev := events.Event{Kind: events.StateChanged, Time: tr.At, From: tr.From, To: tr.To,
		Reason: tr.Reason, Rate: tr.Rate, Count: tr.Count, Origin: tr.Origin, Attempt: tr.Attempt}
	if tr.To == engine.Open {
		ev.Until = tr.Deadline
	}
	e.emit(ev)
}

// subscribe adds a subscriber to the breaker's own hub.
func (e *emitter) subscribe(opts []events.Option) *events.Subscription {
	return e.hub.Subscribe(opts...)
}

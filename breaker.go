package breaker

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/breakerlabs/breaker/engine"
	"github.com/breakerlabs/breaker/events"
)

// Breaker is a circuit breaker whose state machine is owned by one actor
// at a time, spoken to through a FIFO mailbox, while admission runs on a
// lock-free fast path that never waits for it:
//
//   - Closed and Disabled: Acquire and the outcome are atomic loads and
//     adds on a lock-free window, no channel, no lock, no allocation. The
//     report that makes a trip condition hold latches the trip before it
//     returns (later Acquires are rejected with ErrOpen), and the actor
//     makes it formal.
//   - Open and ForcedOpen: Acquire rejects from the published view. The
//     actor moves Open to HalfOpen on a timer, so this happens on time
//     with no traffic.
//   - HalfOpen: Acquire takes a probe slot from the published probe table
//     with one compare-and-swap, or rejects with ErrTooManyProbes. Probe
//     outcomes go to the actor, which alone decides transitions.
//
// The actor is passivated: it has no goroutine of its own. A goroutine
// that sends it a message while it is idle runs it (see mailbox), so an
// idle breaker costs no goroutine and a trip or a probe's outcome is
// applied within the call that caused it.
//
// Every method is safe for concurrent use. The actor publishes each new
// state as an immutable view (after arming that state's timers); State
// reads it with one atomic load.
type Breaker struct {
	base
	view      atomic.Pointer[view]
	mb        mailbox
	act       *actor // owned by the mailbox's owner; nil until the first message (see owned)
	hooks     *testHooks
	saver     *storeWriter  // the supervisor's store writer; nil without a store
	timers    *timerService // the shared timer service of the breaker's clock
	closing   atomic.Bool   // Close has begun
	closeOnce sync.Once
}

// admitMode is what Acquire does in a view.
type admitMode uint8

const (
	modeAdmit   admitMode = iota // Closed, Disabled: admit on the fast path
	modeReject                   // Open, ForcedOpen: reject with view.err
	modeProbe                    // HalfOpen: take a slot of view.probes
	modeStopped                  // after Close
)

// view is the published state: immutable once stored, except for the
// window's and the probe table's atomic counters. The words Acquire reads
// come first (see period.go, which also says how a view shares its
// period's allocation).
type view struct {
	state   State
	mode    admitMode
	epoch   uint64
	win     *liveWindow // Closed, Disabled
	probes  *probeTable // HalfOpen
	err     error       // Open, ForcedOpen: the period's *OpenError
	since   time.Time
	until   time.Time // Open: the open deadline; HalfOpen: the MaxWait deadline
	attempt int
}

// New validates cfg and returns a breaker in Closed. It returns the
// validation error (or an error for an empty name) if either is wrong.
// It starts no goroutine: the actor runs on the goroutines that send it
// messages (see Breaker). Call Close to release its timers and
// subscriptions.
//
// With the real clock, a breaker that tracks call durations (slow-call
// detection or a time window) reads them from a shared coarse clock with
// 1 ms precision, refreshed by one goroutine that runs while such a
// breaker is open; WithClock makes it read the given clock instead.
func New(name string, cfg Config, opts ...Option) (*Breaker, error) {
	o := buildOptions(opts)
	if err := checkNew(name, cfg); err != nil {
		return nil, err
	}
	b := &Breaker{hooks: o.hooks, saver: o.saver}
	b.base.init(name, cfg, &o)
	b.timers = timersFor(b.clk)
	// The first view, Closed in epoch 1. The actor is made for the first
	// message (see owned); only it publishes, so until then this view's
	// since is the breaker's birth, when its machine starts.
	v := newClosedView(b, true)
	v.state, v.epoch, v.since = Closed, 1, b.clk.Now()
	b.view.Store(v)
	if b.hooks != nil && b.hooks.construct != nil {
		b.hooks.construct()
	}
	b.acquireShared() // last: nothing above may leave a goroutine behind
	return b, nil
}

// Name returns the breaker's name.
func (b *Breaker) Name() string { return b.name }

// State returns the state the actor last published. It never changes the
// state, takes a probe or emits an event. Safe for concurrent use.
func (b *Breaker) State() State { return b.view.Load().state }

// Subscribe returns a subscription to this breaker's events; see package
// events for the options and guarantees. Closing the breaker closes it.
func (b *Breaker) Subscribe(opts ...events.Option) *events.Subscription {
	return b.emitter.subscribe(opts)
}

// Reset moves the breaker to Closed from any state, clearing the window and
// the backoff. It returns once the new state is published. After Close it
// does nothing.
func (b *Breaker) Reset() { b.send(message{kind: msgCommand, cmd: cmdReset}, true) }

// ForceOpen moves the breaker to ForcedOpen, where it rejects every call
// until Reset. It returns once the new state is published.
func (b *Breaker) ForceOpen() { b.send(message{kind: msgCommand, cmd: cmdForceOpen}, true) }

// Disable moves the breaker to Disabled, where it admits every call and
// never trips, until Reset. It returns once the new state is published.
func (b *Breaker) Disable() { b.send(message{kind: msgCommand, cmd: cmdDisable}, true) }

// Reconfigure validates cfg and makes it the breaker's configuration,
// keeping what the breaker has learned: its state, epoch, lifetime
// counters and half-open probes in flight, and its window's statistics
// as far as they fit the new window. New thresholds that the window
// already exceeds trip it at once (ReasonReconfigured); an Open breaker's
// deadline is recomputed from when it opened. Supervisor.Reconfigure
// describes the details. It returns the validation error, changing
// nothing, or ErrStopped after Close; nil once the new configuration (and
// any transition it causes) is published. Safe for concurrent use.
func (b *Breaker) Reconfigure(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	rc := &reconfigRequest{cfg: cfg}
	if !b.send(message{kind: msgReconfigure, rc: rc}, true) {
		return ErrStopped
	}
	if !rc.applied {
		if b.closing.Load() {
			return ErrStopped
		}
		return errors.New("breaker: reconfiguration abandoned: the actor failed twice applying it")
	}
	return nil
}

// Metrics returns a snapshot of the breaker. It reflects every outcome the
// calling goroutine reported before it, and never changes the state.
// While the actor has nothing to decide (no goroutine runs it, no trip is
// latched, no deadline has passed) it reads the published view and the
// counters with atomic loads alone, without the actor; otherwise it asks
// the actor, which first applies what is due. After Close it returns the
// last published state with the lifetime counters, and no probes in
// flight (a stopped breaker takes no probe reports), as MutexBreaker
// does. Safe for concurrent use.
func (b *Breaker) Metrics() Metrics {
	if v := b.view.Load(); b.quiet(v) {
		return b.snapshot(v)
	}
	return b.askMetrics()
}

// askMetrics is Metrics through the actor.
func (b *Breaker) askMetrics() Metrics {
	var m Metrics
	if !b.send(message{kind: msgMetrics, out: &m}, true) {
		return b.snapshot(nil)
	}
	return m
}

// quiet reports whether the actor has nothing to decide about v: no
// goroutine runs it, no trip is latched in v and v's deadline (if any) has
// not passed. A Closed or Disabled breaker reads no clock here.
func (b *Breaker) quiet(v *view) bool {
	if !b.mb.idle() || v.mode == modeStopped {
		return v.mode == modeStopped
	}
	if v.win != nil && v.win.latch.Load() != nil {
		return false
	}
	return v.until.IsZero() || b.clk.Now().Before(v.until)
}

// Close applies any timeout already due, stops the breaker's timers and
// closes its subscriptions. Later Acquires return ErrStopped. Close waits
// for any goroutine running the actor to finish, so no goroutine of the
// breaker outlives it. It is idempotent and safe to call concurrently; it
// always returns nil. Nothing is emitted for the breaker once Close has
// returned (reports made later count in the lifetime metrics only).
func (b *Breaker) Close() error {
	b.closeOnce.Do(func() {
		b.closing.Store(true)
		b.send(message{kind: msgClose}, true)
		b.mb.handoffs.Wait()
		b.release()
	})
	return nil
}

// send delivers m to the actor. If no goroutine owns the actor, the caller
// becomes its owner and handles m (and anything queued meanwhile) itself;
// otherwise m is queued for the owner and, if wait is set, send returns
// once it is handled. It reports false, doing nothing, after Close.
func (b *Breaker) send(m message, wait bool) bool {
	own, ok := b.mb.enter(&m, wait)
	switch {
	case !ok:
		return false
	case own:
		b.owned().run(m)
		b.drain()
	case wait:
		<-m.done
	}
	return true
}

// owned returns the actor, making it for the first message: a breaker
// only ever called on the fast path never has one (an idle breaker costs
// its 150 bytes less). The owner only: ownership is handed on under the
// mailbox's lock (or by the go statement of drain), which orders every
// owner's accesses.
func (b *Breaker) owned() *actor {
	if b.act == nil {
		b.act = newActor(b)
	}
	return b.act
}

// drain handles queued messages until the mailbox is empty (giving up
// ownership), handing ownership to a new goroutine after inlineBudget.
// The owner only.
func (b *Breaker) drain() {
	for n := 1; ; n++ {
		m, ok := b.mb.next()
		if !ok {
			return
		}
		if n >= inlineBudget && b.mb.handoff() {
			go b.owner(m)
			return
		}
		b.act.run(m)
	}
}

// owner is the goroutine drain handed ownership to: it handles m, then
// every message queued until the mailbox is empty. m is passed by value,
// not captured by a closure, so that drain's m stays on its stack (a
// captured one was moved to the heap by every call of drain: one
// allocation per message an owner handled).
func (b *Breaker) owner(m message) {
	defer b.mb.handoffs.Done()
	for ok := true; ok; m, ok = b.mb.next() {
		b.act.run(m)
	}
}

// reportProbe applies a half-open probe's outcome: lifetime counters now,
// then the actor, before it returns (running the actor itself if no other
// goroutine is), so the caller's next Acquire sees the probe's slot free
// and any transition it caused. After Close it only counts.
func (b *Breaker) reportProbe(p Permit, o engine.Outcome) {
	_, d, slow := b.measureCall(p)
	b.countOutcome(o, d, slow)
	b.send(message{kind: msgReport, t: p.ticket(), o: o, d: int64(d)}, true)
	b.emitter.emitCall(callKind(o), d)
}

// settle waits until the actor has handled every message sent before it,
// any latched trip and any due timeout. For tests.
func (b *Breaker) settle() { b.send(message{kind: msgSync}, true) }

// snapshot builds Metrics from the published view and the lifetime
// counters.
func (b *Breaker) snapshot(v *view) Metrics {
	if v == nil {
		v = b.view.Load()
	}
	m := Metrics{Name: b.name, State: v.state, Since: v.since}
	if v.state == Open {
		m.OpenUntil = v.until
	}
	var c engine.Counts
	if w := v.win; w != nil {
		var now int64
		if w.size == 0 { // only a time window reads the clock
			now = b.nanos()
		}
		c = w.counts(now)
	}
	m.WindowCalls, m.WindowFailures, m.WindowSlowCalls = c.Calls, c.Failures, c.SlowCalls
	m.WindowSlowFailures = c.SlowFailures
	m.ConsecutiveFailures = c.ConsecutiveFailures
	m.FailureRate, m.SlowCallRate = b.tuning().settings.Rates(c)
	if v.probes != nil && v.mode == modeProbe {
		m.HalfOpenInFlight = v.probes.inFlight()
	}
	b.lifetime.fill(&m)
	s, f := b.windowed()
	m.Successes += s
	m.Failures += f
	return m
}

// windowed returns the lifetime successes and failures counted in count
// windows' packed words: those folded out of retired windows and the
// current window's share, read consistently (see lifetime).
func (b *Breaker) windowed() (successes, failures uint64) {
	l := &b.lifetime
	for {
		g := l.gen.Load()
		if g&1 != 0 {
			runtime.Gosched() // the actor is folding; it takes a few loads and adds
			continue
		}
		successes, failures = l.foldedSuccesses.Load(), l.foldedFailures.Load()
		if w := b.view.Load().win; w != nil {
			s, f := w.lifetime()
			successes += s
			failures += f
		}
		if l.gen.Load() == g {
			return successes, failures
		}
	}
}

// Acquire asks to start a call. It never waits and never goes through the
// actor: it decides from the published view with atomic operations only,
// no channel operation, lock or allocation (unless a subscriber asked for
// per-call events).
//
//   - Closed and Disabled admit, unless a report has latched a trip (see
//     below): then Acquire rejects with an error matching ErrOpen.
//   - Open and ForcedOpen reject with the period's *OpenError.
//   - HalfOpen takes a free probe slot of the period's probe table with
//     one compare-and-swap, or rejects with ErrTooManyProbes after one
//     atomic load when every slot is taken.
//   - After Close it returns ErrStopped.
//
// The decision never waits, so ctx only reaches the CallObserver, if there
// is one. Safe for concurrent
// use. A goroutine's earlier reports are applied before its Acquire is
// decided: a Closed-state report writes the window before it returns, a
// report that crosses a trip threshold latches the trip before it returns,
// and a probe's report returns once the actor has applied it.
func (b *Breaker) Acquire(ctx context.Context) (Permit, error) {
	v := b.view.Load()
	switch v.mode {
	case modeAdmit:
		if l := v.win.latch.Load(); l != nil {
			return b.reject(ctx, Open, l.err) // the trip is decided, if not yet published
		}
		if b.obs != nil {
			b.observeAdmitted(ctx, v.state, false)
		}
		if b.tuning().timesCalls {
			return Permit{r: v.win, epoch: v.epoch, start: b.nanos()}, nil
		}
		return Permit{r: v.win, epoch: v.epoch, start: noStart}, nil
	case modeReject:
		return b.reject(ctx, v.state, v.err)
	case modeProbe:
		slot, id, ok := v.probes.admit()
		if !ok {
			return b.reject(ctx, v.state, ErrTooManyProbes)
		}
		if b.obs != nil {
			b.observeAdmitted(ctx, v.state, true)
		}
		p := Permit{r: v.probes, epoch: v.epoch, probe: uint64(slot+1)<<32 | uint64(id), start: noStart}
		if b.tuning().timesCalls {
			p.start = b.nanos()
		}
		return p, nil
	}
	if b.obs != nil {
		b.observeRejected(ctx, v.state, ErrStopped)
	}
	return Permit{}, ErrStopped
}

// reject counts a rejection decided in state s, tells the observer, and
// returns err with the zero Permit.
func (b *Breaker) reject(ctx context.Context, s State, err error) (Permit, error) {
	if b.obs != nil { // first: nothing has to survive the calls below for it
		b.observeRejected(ctx, s, err)
	}
	b.lifetime.rejected.inc()
	b.emitter.emitCall(events.CallRejected, 0)
	return Permit{}, err
}

// Do runs fn under the breaker: it acquires a permit (returning the
// rejection if there is none), runs fn with Config.CallTimeout applied to
// its context, and reports the outcome exactly once on every path. See
// Execute for the details.
func (b *Breaker) Do(ctx context.Context, fn func(context.Context) error) error {
	if fn == nil {
		return errNilFn
	}
	_, err := Execute(ctx, b, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, fn(ctx)
	})
	return err
}

// adopt applies a state decided elsewhere (a record restored from a
// StateStore, or adopted from another instance) through
// engine.Machine.Adopt, by the actor, like any other transition: it is
// published and emitted (with ReasonRemote and its Origin) but never saved
// again. adopt hands r to the actor. With wait it returns once the result is
// published (GetOrCreate restores that way, so the caller never sees the
// breaker in Closed first); without, it only queues the message (or runs
// the idle actor at once). After Close it does nothing.
func (b *Breaker) adopt(r engine.Remote, wait bool) {
	b.send(message{kind: msgAdopt, r: r}, wait)
}

package breaker

import (
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
	*base
	view      atomic.Pointer[view]
	mb        mailbox
	act       *actor // owned by the mailbox's owner
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
// window's and the probe table's atomic counters.
type view struct {
	state   State
	mode    admitMode
	epoch   uint64
	since   time.Time
	until   time.Time // Open: the open deadline; HalfOpen: the MaxWait deadline
	attempt int
	win     *liveWindow // Closed, Disabled
	probes  *probeTable // HalfOpen
	err     error       // Open, ForcedOpen: the period's *OpenError
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
	bs, err := newBase(name, cfg, &o)
	if err != nil {
		return nil, err
	}
	b := &Breaker{base: bs, hooks: o.hooks, saver: o.saver, timers: timersFor(bs.clk)}
	b.act = newActor(b)
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
	return b.em.subscribe(opts)
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
		b.act.run(m)
		b.drain()
	case wait:
		<-m.done
	}
	return true
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
			go func() {
				defer b.mb.handoffs.Done()
				b.act.run(m)
				for {
					m, ok := b.mb.next()
					if !ok {
						return
					}
					b.act.run(m)
				}
			}()
			return
		}
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
	b.em.emitCall(callKind(o), d)
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
	if v.win != nil {
		c = v.win.counts(b.nanos())
	}
	m.WindowCalls, m.WindowFailures, m.WindowSlowCalls = c.Calls, c.Failures, c.SlowCalls
	m.WindowSlowFailures = c.SlowFailures
	m.ConsecutiveFailures = c.ConsecutiveFailures
	m.FailureRate, m.SlowCallRate = b.tuning().s.Rates(c)
	if v.probes != nil && v.mode == modeProbe {
		m.HalfOpenInFlight = v.probes.inFlight()
	}
	b.life.fill(&m)
	s, f := b.windowed()
	m.Successes += s
	m.Failures += f
	return m
}

// windowed returns the lifetime successes and failures counted in count
// windows' packed words: those folded out of retired windows and the
// current window's share, read consistently (see lifetime).
func (b *Breaker) windowed() (successes, failures uint64) {
	l := &b.life
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

// actor is the state owned by the mailbox's owner. Nothing else touches it.
// Its engine machine is made when the first message arrives.
type actor struct {
	b       *Breaker
	m       *engine.Machine
	node    *timerNode // the breaker's deadline in the timer service; nil until the first
	armed   time.Time  // the deadline the node is armed for; zero if none
	born    time.Time  // when the breaker was made: the machine's start, made lazily
	stopped bool       // Close was handled: the state is frozen

	// The current half-open period's probes the engine has been told of:
	// the table's probe k is the engine's probe base+k.
	registered uint32
	base       uint64
}

func newActor(b *Breaker) *actor {
	now := b.clk.Now()
	a := &actor{b: b, born: now}
	a.publish(engine.Transition{To: engine.Closed, At: now, Epoch: 1})
	return a
}

// run handles one message, restarting the actor from the last published
// state if it panics (a library bug: no user code runs on the actor), and
// emitting an ActorRestarted event each time. The message is handled
// again after the restart; if it panics a second time its sender gets a
// rejection instead of waiting forever.
func (a *actor) run(m message) {
	if a.m == nil {
		// The machine is made for the first message: a breaker that has
		// only ever been called on the fast path has none.
		a.m = engine.NewMachine(a.b.tuning().s, a.born)
	}
	for attempt := 0; ; attempt++ {
		if a.try(m, attempt == 0) {
			return
		}
		a.restart()
		if attempt == 1 {
			a.abandon(m)
			return
		}
	}
}

// try handles m, reporting false if it panicked. The fault-injection hook
// of tests is consulted on a first attempt only.
func (a *actor) try(m message, first bool) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			ok = false
		}
	}()
	if h := a.b.hooks; first && h != nil && h.panicOnMessage != nil && h.panicOnMessage() {
		panic("breaker: injected fault")
	}
	a.handle(m)
	return true
}

// abandon answers a message the actor could not handle, so that its sender
// does not wait forever.
func (a *actor) abandon(m message) {
	if m.out != nil {
		*m.out = a.b.snapshot(nil)
	}
	if m.kind == msgClose {
		a.close()
	}
	if m.done != nil {
		close(m.done)
	}
}

// restart rebuilds the machine from the last published view, in a new
// epoch: half-open probes granted before the crash are stale (their slots
// are free, since the new period has a new probe table), while
// Closed-state permits keep counting because the live window carries
// over.
func (a *actor) restart() {
	b := a.b
	old := b.view.Load()
	v := *old
	v.epoch++
	a.m = engine.NewMachine(b.tuning().s, v.since)
	a.m.Restore(v.state, v.epoch, v.since, v.until, v.attempt)
	a.registered = 0
	if v.mode == modeProbe {
		v.probes = newProbeTable(b, b.tuning().s.HalfOpen.MaxProbes)
	}
	a.stopTimer()
	a.armTimer(v.until)
	b.view.Store(&v)
	b.em.emit(events.Event{Kind: events.ActorRestarted, From: v.state, To: v.state})
}

// handle applies one message, after applying any timeout already due and
// any latched trip.
func (a *actor) handle(m message) {
	b := a.b
	if a.stopped {
		a.abandon(m)
		return
	}
	now := b.clk.Now()
	a.advance(now)
	switch m.kind {
	case msgReport:
		a.reportProbe(now, m)
	case msgCommand:
		a.publish(m.cmd.apply(a.m, now))
	case msgMetrics:
		*m.out = b.snapshot(nil)
	case msgAdopt:
		a.publish(a.m.Adopt(now, m.r))
	case msgFold:
		b.life.beginFold()
		b.life.fold(m.w.fold())
		b.life.endFold()
	case msgReconfigure:
		a.reconfigure(now, m.rc.cfg)
		m.rc.applied = true
	case msgClose:
		a.close()
	}
	if m.done != nil {
		close(m.done)
	}
}

// close freezes the breaker: later Acquires get ErrStopped, later messages
// are refused, its timer is stopped.
func (a *actor) close() {
	a.stopped = true
	a.stopTimer()
	v := *a.b.view.Load()
	v.mode, v.err = modeStopped, nil
	a.b.view.Store(&v)
	a.b.mb.close()
}

// reportProbe applies a probe's outcome and frees its slot in the table
// if the engine released it.
func (a *actor) reportProbe(now time.Time, m message) {
	v := a.b.view.Load()
	t := m.t
	if v.mode == modeProbe && t.Epoch == v.epoch {
		t.Probe += a.base
	} else {
		t.Probe = 0 // stale: the engine ignores it by its epoch
	}
	before := a.m.InFlight()
	tr, _ := a.m.Report(now, t, m.o, time.Duration(m.d))
	if !tr.Happened() && v.mode == modeProbe && a.m.InFlight() < before {
		v.probes.release()
	}
	a.publish(tr)
}

// register tells the engine of every probe the current period's table has
// admitted since the last call, so its in-flight count (which decides
// MaxWait) and its tally match the table's.
func (a *actor) register(now time.Time) {
	v := a.b.view.Load()
	if v.mode != modeProbe {
		return
	}
	for issued := v.probes.issued(); a.registered != issued; a.registered++ {
		t, rej := a.m.Admit(now)
		if rej != engine.Admitted {
			return // cannot happen: the table admits at most MaxProbes in flight
		}
		if a.registered == 0 {
			a.base = t.Probe - 1
		}
	}
}

// advance applies a latched trip and every timeout due by now, each at its
// own deadline, so a long gap replays the same transitions a lazy driver
// would. A half-open period that ended with no probe in flight restarts
// with a later MaxWait deadline and no transition: the timer is re-armed
// for it.
func (a *actor) advance(now time.Time) {
	if v := a.b.view.Load(); v.mode == modeAdmit {
		a.checkTrip(v)
	}
	a.register(now)
	for tr := a.m.TickDue(now); tr.Happened(); tr = a.m.TickDue(now) {
		a.publish(tr)
		a.register(now)
	}
	if d := a.m.Deadline(); !d.Equal(a.armed) {
		a.stopTimer()
		a.armTimer(d)
	}
}

// checkTrip makes a trip latched in v's window formal: at the latched time,
// from the latched counts.
func (a *actor) checkTrip(v *view) {
	l := v.win.latch.Load()
	if l == nil || v.state != Closed {
		return
	}
	tr := a.m.TripIf(l.at, l.c)
	if !tr.Happened() {
		// The engine disagrees (it cannot: the counts met a condition);
		// reopen admission rather than stay latched forever.
		v.win.latch.CompareAndSwap(l, nil)
	}
	a.publish(tr)
}

// reconfigure makes cfg the breaker's configuration: the live window is
// reshaped if its shape changed (and the old one retired), the probe table
// resized if MaxProbes changed, the machine decides on what the window
// then holds (engine.Machine.ReconfigureCounts), and the view is
// republished if anything in it changed.
func (a *actor) reconfigure(now time.Time, cfg Config) {
	b := a.b
	old := b.retune(cfg)
	s := b.tuning().s
	v := b.view.Load()
	nv := *v
	var c engine.Counts
	if v.win != nil {
		nanos := b.nanos()
		if !engine.SameShape(old.s.Window, s.Window) {
			nv.win = v.win.reshaped(nanos, old.s.Window, s.Window)
		}
		c = nv.win.counts(nanos)
	}
	if v.probes != nil && v.mode == modeProbe && s.HalfOpen.MaxProbes != old.s.HalfOpen.MaxProbes {
		nv.probes = v.probes.resized(s.HalfOpen.MaxProbes)
	}
	if tr := a.m.ReconfigureCounts(now, s, c); tr.Happened() {
		a.publish(tr)
		return
	}
	nv.until = a.m.Deadline()
	if nv.state == Open && !nv.until.Equal(v.until) {
		nv.err = &OpenError{Breaker: b.name, Until: nv.until}
	}
	if nv != *v {
		a.stopTimer()
		a.armTimer(nv.until)
		if nv.win != v.win {
			b.life.beginFold()
			b.life.fold(v.win.retire())
			b.view.Store(&nv)
			b.life.endFold()
			if l := v.win.latch.Load(); l != nil {
				// A trip latched in the old window while it was being
				// reshaped: the new thresholds judge it.
				a.publish(a.m.TripIf(l.at, l.c))
			}
		} else {
			b.view.Store(&nv)
		}
	}
	a.advance(now) // a deadline the new timeouts put in the past is due now
}

// publish makes tr visible: it counts it, arms the new state's timer, then
// stores the new view, then emits the event. A zero tr does nothing.
func (a *actor) publish(tr engine.Transition) {
	b := a.b
	old := b.view.Load()
	if !tr.Happened() && old != nil {
		return
	}
	v := &view{state: tr.To, epoch: tr.Epoch, since: tr.At, until: tr.Deadline}
	if a.m != nil {
		v.attempt = a.m.Attempt()
	}
	switch tr.To {
	case Closed, Disabled:
		v.mode = modeAdmit
		v.win = newLiveWindow(b, tr.To == Closed)
	case Open, ForcedOpen:
		v.mode = modeReject
		v.err = newOpenError(b.name, tr)
	case HalfOpen:
		v.mode = modeProbe
		v.probes = newProbeTable(b, b.tuning().s.HalfOpen.MaxProbes)
	}
	a.registered = 0
	a.stopTimer()
	a.armTimer(tr.Deadline)
	if old != nil && old.win != nil {
		// Retire the old window: fold its counts into the lifetime base
		// as the new view (without it) becomes visible.
		b.life.beginFold()
		b.life.fold(old.win.retire())
		b.view.Store(v)
		b.life.endFold()
	} else {
		b.view.Store(v)
	}
	if tr.Happened() {
		b.life.countTransition(tr.From, tr.To)
		b.em.emitTransition(tr)
		b.saver.transitioned(b.name, tr, a.m.Attempt())
	}
}

// armTimer arms the breaker's node in the shared timer service for
// deadline (if non-zero), in the current epoch. advance decides what a
// tick does, so a tick that comes late, twice, or after a newer
// transition changes nothing.
func (a *actor) armTimer(deadline time.Time) {
	a.armed = deadline
	if deadline.IsZero() {
		return
	}
	if a.node == nil {
		a.node = &timerNode{b: a.b, index: -1}
	}
	epoch := uint64(0)
	if a.m != nil {
		epoch = a.m.Epoch()
	}
	a.b.timers.arm(a.node, deadline, epoch)
}

func (a *actor) stopTimer() {
	if a.node != nil {
		a.b.timers.stop(a.node)
	}
	a.armed = time.Time{}
}

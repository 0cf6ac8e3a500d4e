package breaker

import (
	"sync/atomic"
	"time"

	"github.com/breakerlabs/breaker/engine"
	"github.com/breakerlabs/breaker/events"
)

// actor is the state owned by the mailbox's owner. Nothing else touches it.
// It is made, with its engine machine, when the first message arrives.
type actor struct {
	b       *Breaker
	m       *engine.Machine
	node    *timerNode // the breaker's deadline in the timer service; nil until the first
	armed   time.Time  // the deadline the node is armed for; zero if none
	stopped bool       // Close was handled: the state is frozen

	// now is the clock reading of the message being handled: publish
	// arms no deadline already due by it (see due).
	now time.Time
	// latched is the latch whose trip checkTrip is making formal, if any
	// (see openPeriod).
	latched *latchedTrip
	// half is the half-open period made with the current open period,
	// for the HalfOpen that follows it (see probePeriod); nil in any
	// other state.
	half *probePeriod
	// The ring of the window the actor last retired, kept for the next
	// window of its size, and the last tag the actor gave a window (see
	// reuseRing).
	ring     *atomic.Uint64
	ringSize uint64
	tags     uint32

	// The current half-open period's probes the engine has been told of:
	// the table's probe k is the engine's probe base+k.
	registered uint32
	base       uint64
}

// newActor makes b's actor, for its first message (see Breaker.owned).
// Nothing has changed the view New published (only the actor publishes),
// so its since is the breaker's birth, when the machine starts.
//
// The machine is made with it: a breaker that has only ever been called on
// the fast path has neither.
func newActor(b *Breaker) *actor {
	return &actor{b: b, m: engine.NewMachine(b.tuning().settings, b.view.Load().since)}
}

// run handles one message, restarting the actor from the last published
// state if it panics (a library bug: no user code runs on the actor), and
// emitting an ActorRestarted event each time. The message is handled
// again after the restart; if it panics a second time its sender gets a
// rejection instead of waiting forever.
func (a *actor) run(m message) {
	for attempt := 0; ; attempt++ {
		if a.try(&m, attempt == 0) {
			return
		}
		a.restart()
		if attempt == 1 {
			a.abandon(&m)
			return
		}
	}
}

// try handles m, reporting false if it panicked. The fault-injection hook
// of tests is consulted on a first attempt only.
func (a *actor) try(m *message, first bool) (ok bool) {
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
func (a *actor) abandon(m *message) {
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
	a.m = engine.NewMachine(b.tuning().settings, v.since)
	a.m.Restore(v.state, v.epoch, v.since, v.until, v.attempt)
	a.registered = 0
	if v.mode == modeProbe {
		v.probes = newProbeTable(b, b.tuning().settings.HalfOpen.MaxProbes)
	}
	a.stopTimer()
	a.armTimer(v.until)
	b.view.Store(&v)
	b.emitter.emit(events.Event{Kind: events.ActorRestarted, From: v.state, To: v.state})
}

// handle applies one message, after applying any timeout already due and
// any latched trip.
func (a *actor) handle(m *message) {
	b := a.b
	if a.stopped {
		a.abandon(m)
		return
	}
	var now time.Time
	if v := b.view.Load(); v.mode == modeAdmit && v.win.latch.Load() != nil {
		// A trip latched before now is read: the machine stamps each
		// transition with the time given, so a latched trip must not be
		// made formal after a transition read at an earlier time. Now is
		// read before the trip is published (after the latch is loaded,
		// so it is not before the latched time), for publish to tell
		// whether the open deadline is already due.
		now = b.clk.Now()
		a.now = now
		a.checkTrip(v)
	} else {
		now = b.clk.Now()
		a.now = now
	}
	now = a.advance(now)
	switch m.kind {
	case msgReport:
		a.reportProbe(now, m)
	case msgTick, msgTrip, msgSync: // advance did what they ask
	default:
		a.request(now, m)
	}
	if !a.stopped {
		a.due(now) // what the message left due (see due)
	}
	if m.done != nil {
		close(m.done)
	}
}

// request handles the messages that are neither a probe's outcome nor a
// nudge (a tick, a trip, a sync): commands, metrics, adoption, folds,
// reconfiguration and close. Not inlined, so that handle's frame, on the
// stack of every timer callback and reporter that runs the actor, stays
// small: a timer callback's goroutine starts with a small stack, and
// growing it was a quarter of a timer-driven transition's instructions.
//
//go:noinline
func (a *actor) request(now time.Time, m *message) {
	b := a.b
	switch m.kind {
	case msgCommand:
		a.publish(m.cmd.apply(a.m, now))
	case msgMetrics:
		*m.out = b.snapshot(nil)
	case msgAdopt:
		a.publish(a.m.Adopt(now, m.r))
	case msgFold:
		b.lifetime.beginFold()
		b.lifetime.fold(m.w.fold())
		b.lifetime.endFold()
	case msgReconfigure:
		a.reconfigure(now, m.rc.cfg)
		m.rc.applied = true
	case msgClose:
		a.close()
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
func (a *actor) reportProbe(now time.Time, m *message) {
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
// for it. It returns now, or a later reading if a trip latched after now
// was read (its time is later) was made formal: as in handle, the message
// must not be applied at a time before the trip's
// (TestRegressionLatchAfterActorReadsClock).
func (a *actor) advance(now time.Time) time.Time {
	if v := a.b.view.Load(); v.mode == modeAdmit {
		if l := v.win.latch.Load(); l != nil && l.at.After(now) {
			now = a.b.clk.Now() // after the latch is loaded: not before its time
			a.now = now
		}
		a.checkTrip(v)
	}
	a.register(now)
	a.due(now)
	return now
}

// due applies every timeout due by now (see advance), then arms the timer
// for the deadline left, if it is not the one armed.
//
// publish arms no deadline already due by a.now, the clock reading of the
// message being handled (a trip latched with a 1 ns open timeout, a
// deadline an adopted record or a reconfiguration put in the past): handle
// runs due after every message, before the actor lets go of the state, so
// such a deadline is applied at once and never waits for a timer. The
// published state's deadline is thus either armed before the view is
// stored or applied by the actor before it returns: a test that sees the
// state and advances a mock clock still always moves it on. (A recovery
// cycle with a 1 ns open timeout arms and stops no timer.)
func (a *actor) due(now time.Time) {
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
	a.latched = l
	tr := a.m.TripIf(l.at, l.c)
	if !tr.Happened() {
		// The engine disagrees (it cannot: the counts met a condition);
		// reopen admission rather than stay latched forever.
		v.win.latch.CompareAndSwap(l, nil)
	}
	a.publish(tr)
	a.latched = nil
}

// reconfigure makes cfg the breaker's configuration: the live window is
// reshaped if its shape changed (and the old one retired), the probe table
// resized if MaxProbes changed, the machine decides on what the window
// then holds (engine.Machine.ReconfigureCounts), and the view is
// republished if anything in it changed.
func (a *actor) reconfigure(now time.Time, cfg Config) {
	b := a.b
	old := b.retune(cfg)
	s := b.tuning().settings
	v := b.view.Load()
	nv := *v
	var c engine.Counts
	if v.win != nil {
		nanos := b.nanos()
		if !engine.SameShape(old.settings.Window, s.Window) {
			nv.win = v.win.reshaped(nanos, old.settings.Window, s.Window)
		}
		c = nv.win.counts(nanos)
	}
	if v.probes != nil && v.mode == modeProbe && s.HalfOpen.MaxProbes != old.settings.HalfOpen.MaxProbes {
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
			b.lifetime.beginFold()
			b.lifetime.fold(v.win.retire())
			b.view.Store(&nv)
			b.lifetime.endFold()
			if l := v.win.latch.Load(); l != nil {
				// A trip latched in the old window while it was being
				// reshaped: the new thresholds judge it.
				a.latched = l
				a.publish(a.m.TripIf(l.at, l.c))
				a.latched = nil
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
	var v *view
	var half *probePeriod // the new open period's, for the next HalfOpen
	switch tr.To {
	case Closed, Disabled:
		v = newClosedView(b, tr.To == Closed)
		a.reuseRing(v.win)
	case Open, ForcedOpen:
		p := a.openPeriod(tr)
		v = &p.v
		half = &p.half
	case HalfOpen:
		v = a.probePeriod().view(b, b.tuning().settings.HalfOpen.MaxProbes)
	}
	a.half = half
	v.state, v.epoch, v.since, v.until = tr.To, tr.Epoch, tr.At, tr.Deadline
	if a.m != nil {
		v.attempt = a.m.Attempt()
	}
	a.registered = 0
	a.stopTimer()
	if tr.Deadline.After(a.now) {
		a.armTimer(tr.Deadline) // before publication; one already due is due's
	}
	if old != nil && old.win != nil {
		// Retire the old window: fold its counts into the lifetime base
		// as the new view (without it) becomes visible. Its ring, if it
		// has one, is kept for the next window (reuseRing).
		b.lifetime.beginFold()
		b.lifetime.fold(old.win.retire())
		b.view.Store(v)
		b.lifetime.endFold()
		if r := old.win.ring.Load(); r != nil {
			a.ring, a.ringSize = r, old.win.size
		}
	} else {
		b.view.Store(v)
	}
	if tr.Happened() {
		b.lifetime.countTransition(tr.From, tr.To)
		b.emitter.emitTransition(tr)
		b.saver.transitioned(b.name, tr, a.m.Attempt())
	}
}

// openPeriod returns the open period tr enters: the one made with the
// latch being made formal if the trip's deadline is the one the latch
// promised, so that the latch's rejection and the open period's are one
// *OpenError (one per period, as OpenError says) and the trip allocates
// nothing more; else a new one. A latch's period is published once at
// most.
func (a *actor) openPeriod(tr engine.Transition) *openPeriod {
	if l := a.latched; l != nil && !l.used && tr.To == engine.Open && tr.Deadline.Equal(l.open.err.Until) {
		l.used = true
		l.open.v.mode, l.open.v.err = modeReject, &l.open.err
		return &l.open
	}
	return newOpenPeriod(a.b.name, tr)
}

// probePeriod returns storage for the half-open period being entered: the
// one made with the open period it follows (a.half), else a new one.
// a.half is the current open period's, never published (publish sets it
// for each open period and clears it on every other transition), so
// a half-open period is published once at most.
func (a *actor) probePeriod() *probePeriod {
	if p := a.half; p != nil {
		return p
	}
	return new(probePeriod)
}

// reuseRing hands w, a new count window, the ring of the last window the
// actor retired if it has w's size (see liveRing in livewindow.go), so a
// recovery cycle allocates no ring. Each window the actor gives a ring
// gets a tag no earlier window of this actor had (until 2³² of them).
func (a *actor) reuseRing(w *liveWindow) {
	if a.ring == nil || w.size != a.ringSize {
		return
	}
	a.tags++
	w.handRing(a.ring, a.tags)
	a.ring = nil
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

// stopTimer withdraws the node's deadline, if one is armed.
func (a *actor) stopTimer() {
	if a.node != nil && !a.armed.IsZero() {
		a.b.timers.stop(a.node)
	}
	a.armed = time.Time{}
}

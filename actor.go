package breaker

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlabs/breaker/engine"
	"github.com/breakerlabs/breaker/events"
	"github.com/breakerlabs/breaker/internal/mutant"
)

// Breaker is a circuit breaker run by its own goroutine, the actor, which
// owns the state machine outright. Callers never take a lock:
//
//   - In Closed and Disabled, Acquire and the outcome are the fast path:
//     atomic loads and adds on a lock-free window, no channel, no lock, no
//     allocation. A report that may have crossed a trip threshold nudges
//     the actor without waiting; the actor re-checks and trips.
//   - In Open and ForcedOpen, Acquire rejects from the published view, also
//     without a channel, lock or allocation. The actor moves Open to
//     HalfOpen with a timer, so this happens on time with no traffic.
//   - In HalfOpen, Acquire and the probe's outcome are messages to the
//     actor, which enforces HalfOpen.MaxProbes.
//
// Every method is safe for concurrent use. The actor publishes each new
// state as an immutable view (after arming that state's timers); State
// reads it with one atomic load.
type Breaker struct {
	*base
	view  atomic.Pointer[view]
	inbox chan message
	nudge chan struct{} // capacity 1: coalesced "a trip condition may hold"
	wake  chan struct{} // capacity 1: a state deadline may have passed
	stop  chan struct{} // closed by Close
	done  chan struct{} // closed when the actor goroutine has exited
	once  sync.Once
	hooks *testHooks
	saver *storeWriter // the supervisor's store writer; nil without a store
}

// admitMode is what Acquire does in a view.
type admitMode uint8

const (
	modeAdmit   admitMode = iota // Closed, Disabled: admit on the fast path
	modeReject                   // Open, ForcedOpen: reject with view.err
	modeActor                    // HalfOpen: ask the actor
	modeStopped                  // after Close
)

// view is the published state: immutable once stored, except for the
// window's atomic counters.
type view struct {
	state   State
	mode    admitMode
	epoch   uint64
	since   time.Time
	until   time.Time // Open: the open deadline; HalfOpen: the MaxWait deadline
	attempt int
	win     *liveWindow // Closed, Disabled
	err     error       // Open, ForcedOpen: the period's *OpenError
}

// New validates cfg and starts a breaker's actor. It returns the validation
// error (or an error for an empty name) and starts nothing if either is
// wrong. Call Close to stop the actor.
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
	b := &Breaker{
		base:  bs,
		inbox: make(chan message, 64),
		nudge: make(chan struct{}, 1),
		wake:  make(chan struct{}, 1),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
		hooks: o.hooks,
		saver: o.saver,
	}
	a := newActor(b)
	if b.hooks != nil && b.hooks.construct != nil {
		b.hooks.construct()
	}
	b.acquireShared() // last: nothing above may leave a goroutine behind
	go a.supervise()
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
func (b *Breaker) Reset() { b.command(cmdReset) }

// ForceOpen moves the breaker to ForcedOpen, where it rejects every call
// until Reset. It returns once the new state is published.
func (b *Breaker) ForceOpen() { b.command(cmdForceOpen) }

// Disable moves the breaker to Disabled, where it admits every call and
// never trips, until Reset. It returns once the new state is published.
func (b *Breaker) Disable() { b.command(cmdDisable) }

func (b *Breaker) command(c command) {
	ask(b, commandMsg{cmd: c, reply: make(chan struct{}, 1)})
}

// Metrics returns a snapshot of the breaker. It goes through the actor, so
// it reflects every outcome the calling goroutine reported before it; it
// never changes the state. After Close it returns the last published state
// with the lifetime counters.
func (b *Breaker) Metrics() Metrics {
	if m, ok := ask(b, metricsMsg{reply: make(chan Metrics, 1)}); ok {
		return m
	}
	return b.snapshot(nil)
}

// Close stops the actor (after it applies any timeout already due) and
// waits for it to exit, closes the breaker's
// subscriptions, and releases its timers. Later Acquires return
// ErrStopped. Close is idempotent and safe to call concurrently; it always
// returns nil.
func (b *Breaker) Close() error {
	b.once.Do(func() {
		close(b.stop)
		<-b.done
		b.release()
	})
	return nil
}

// request is a message with a reply.
type request[T any] interface {
	message
	replyTo() chan T
}

// ask sends m to the actor and waits for the reply, unless the breaker is
// stopped (ok is false then).
func ask[T any](b *Breaker, m request[T]) (reply T, ok bool) {
	select {
	case b.inbox <- m:
	case <-b.done:
		return reply, false
	}
	select {
	case reply = <-m.replyTo():
		return reply, true
	case <-b.done:
		return reply, false
	}
}

// acquireProbe is the slow path of Acquire: the actor decides.
func (b *Breaker) acquireProbe(ctx context.Context) (Permit, error) {
	r := b.askAdmission(ctx)
	if b.obs != nil {
		if r.err != nil {
			b.observeRejected(ctx, r.state, r.err)
		} else {
			b.observeAdmitted(ctx, r.state, r.p.probe != nil)
		}
	}
	return r.p, r.err
}

// askAdmission asks the actor for a permit and returns its answer with the
// state it was decided in (the last published state if the breaker stopped
// or ctx ended first).
func (b *Breaker) askAdmission(ctx context.Context) acquireReply {
	reply := make(chan acquireReply, 1)
	select {
	case b.inbox <- acquireMsg{reply: reply}:
	case <-b.done:
		return acquireReply{err: ErrStopped, state: b.view.Load().state}
	case <-ctx.Done():
		return acquireReply{err: ctx.Err(), state: b.view.Load().state}
	}
	select {
	case r := <-reply:
		if r.err == nil && b.measure {
			r.p.start = b.nanos()
		}
		return r
	case <-b.done:
		return acquireReply{err: ErrStopped, state: b.view.Load().state}
	}
}

// report sends a half-open probe's outcome to the actor. It never waits
// for the actor to handle it; after Close it only counts.
func (b *Breaker) report(p Permit, o engine.Outcome) {
	_, d, slow := b.measureCall(p)
	b.countOutcome(o, d, slow)
	select {
	case b.inbox <- reportMsg{t: p.ticket(), o: o, d: int64(d)}:
	case <-b.done:
	}
	b.em.emitCall(callKind(o), d)
}

// nudgeActor tells the actor a trip condition may hold, reporting whether
// this call sent the nudge (false: one was already pending). Never blocks.
func (b *Breaker) nudgeActor() bool {
	select {
	case b.nudge <- struct{}{}:
		return true
	default:
		return false
	}
}

// settle waits until the actor has handled every message sent before it,
// any pending nudge and any due timeout. For tests.
func (b *Breaker) settle() {
	ask(b, syncMsg{reply: make(chan struct{}, 1)})
}

// snapshot builds Metrics from the published view and the lifetime
// counters, with the actor's own figures when a is non-nil.
func (b *Breaker) snapshot(a *actor) Metrics {
	v := b.view.Load()
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
	m.FailureRate, m.SlowCallRate = b.s.Rates(c)
	if a != nil {
		m.HalfOpenInFlight = a.m.InFlight()
	}
	b.life.fill(&m)
	return m
}

// actor is the state owned by the actor goroutine. Nothing else touches it.
type actor struct {
	b     *Breaker
	m     *engine.Machine
	timer *clock.Timer
	armed time.Time // the deadline timer is armed for; zero if none
}

func newActor(b *Breaker) *actor {
	now := b.clk.Now()
	a := &actor{b: b, m: engine.NewMachine(b.s, now)}
	a.publish(engine.Transition{To: engine.Closed, At: now, Epoch: a.m.Epoch()})
	return a
}

// supervise runs the actor loop, restarting it from the last published
// state if it panics (a library bug: no user code runs on the actor), and
// emits an ActorRestarted event each time. The message being handled when
// the actor panicked is handled again after the restart; if it panics a
// second time its sender gets a rejection instead of waiting forever.
func (a *actor) supervise() {
	defer close(a.b.done)
	defer a.stopTimer()
	defer a.publishStopped()
	var redo message
	for {
		stopped, failed := a.run(redo)
		if stopped {
			return
		}
		a.restart()
		if failed != nil && failed == redo {
			a.abandon(failed)
			failed = nil
		}
		redo = failed
	}
}

// run is the actor loop, starting with redo if non-nil. It returns stopped
// when the breaker is closed; otherwise it recovered from a panic while
// handling failed (nil if the panic was outside a message).
func (a *actor) run(redo message) (stopped bool, failed message) {
	var cur message
	defer func() {
		if r := recover(); r != nil {
			stopped, failed = false, cur
		}
	}()
	b := a.b
	if redo != nil {
		cur = redo
		a.handle(redo)
	}
	for {
		cur = nil
		select {
		case <-b.stop:
			a.advance(b.clk.Now()) // the last state is the one due at Close
			return true, nil
		case <-b.wake:
			a.advance(b.clk.Now())
		case <-b.nudge:
			a.advance(b.clk.Now())
			a.checkTrip()
		case msg := <-b.inbox:
			cur = msg
			if b.hooks != nil && b.hooks.panicOnMessage != nil && b.hooks.panicOnMessage() {
				panic("breaker: injected fault")
			}
			a.handle(msg)
		}
	}
}

// abandon answers a message the actor could not handle, so that its sender
// does not wait forever.
func (a *actor) abandon(msg message) {
	switch msg := msg.(type) {
	case acquireMsg:
		msg.reply <- acquireReply{err: ErrTooManyProbes, state: a.b.view.Load().state}
	case commandMsg:
		msg.reply <- struct{}{}
	case metricsMsg:
		msg.reply <- a.b.snapshot(nil)
	case syncMsg:
		msg.reply <- struct{}{}
	case adoptMsg:
		msg.done()
	}
}

// restart rebuilds the machine from the last published view, in a new
// epoch: half-open probes granted before the crash are stale (their slots
// are free, since the new machine has none in flight), while Closed-state
// permits keep counting because the live window carries over.
func (a *actor) restart() {
	b := a.b
	old := b.view.Load()
	v := *old
	v.epoch++
	a.m = engine.NewMachine(b.s, v.since)
	a.m.Restore(v.state, v.epoch, v.since, v.until, v.attempt)
	a.stopTimer()
	a.armTimer(v.until)
	b.view.Store(&v)
	b.em.emit(events.Event{Kind: events.ActorRestarted, From: v.state, To: v.state})
}

// publishStopped makes every later Acquire return ErrStopped, keeping the
// last state for State and Metrics.
func (a *actor) publishStopped() {
	v := *a.b.view.Load()
	v.mode, v.err = modeStopped, nil
	a.b.view.Store(&v)
}

// handle applies one message, after applying any timeout already due.
func (a *actor) handle(msg message) {
	b := a.b
	now := b.clk.Now()
	a.advance(now)
	switch msg := msg.(type) {
	case acquireMsg:
		a.checkTrip() // a caller sent here by a tripping window must not be admitted before the trip
		t, rej := a.m.Admit(now)
		switch rej {
		case engine.Admitted:
			v := b.view.Load()
			p := Permit{r: v.win, epoch: t.Epoch}
			if t.Probe != 0 {
				p = newProbePermit(b, t)
			}
			msg.reply <- acquireReply{p: p, state: a.m.State()}
		case engine.RejectTooMany:
			b.life.rejected.inc()
			b.em.emitCall(events.CallRejected, 0)
			msg.reply <- acquireReply{err: ErrTooManyProbes, state: a.m.State()}
		default:
			b.life.rejected.inc()
			b.em.emitCall(events.CallRejected, 0)
			msg.reply <- acquireReply{err: b.view.Load().err, state: a.m.State()}
		}
	case reportMsg:
		tr, _ := a.m.Report(now, msg.t, msg.o, time.Duration(msg.d))
		a.publish(tr)
	case commandMsg:
		a.publish(msg.cmd.apply(a.m, now))
		msg.reply <- struct{}{}
	case metricsMsg:
		a.drainNudge()
		msg.reply <- b.snapshot(a)
	case syncMsg:
		a.drainNudge()
		msg.reply <- struct{}{}
	case adoptMsg:
		a.publish(a.m.Adopt(now, msg.r))
		msg.done()
	}
}

// drainNudge handles a pending nudge now, so a reply reflects it.
func (a *actor) drainNudge() {
	select {
	case <-a.b.nudge:
		a.checkTrip()
	default:
	}
}

// advance applies every timeout due by now, each at its own deadline, so
// a long gap replays the same transitions a lazy driver would. A half-open
// period that ended with no probe in flight restarts with a later MaxWait
// deadline and no transition: the timer is re-armed for it.
func (a *actor) advance(now time.Time) {
	for tr := a.m.TickDue(now); tr.Happened(); tr = a.m.TickDue(now) {
		a.publish(tr)
	}
	if d := a.m.Deadline(); !d.Equal(a.armed) {
		a.stopTimer()
		a.armTimer(d)
	}
}

// checkTrip re-reads the live window and trips if a condition holds.
func (a *actor) checkTrip() {
	b := a.b
	v := b.view.Load()
	if v.state != Closed || v.win == nil {
		return
	}
	tr := a.m.TripIf(b.clk.Now(), v.win.counts(b.nanos()))
	if !tr.Happened() {
		v.win.tripping.Store(false)
	}
	a.publish(tr)
}

// publish makes tr visible: it counts it, arms the new state's timer, then
// stores the new view, then emits the event. A zero tr does nothing.
func (a *actor) publish(tr engine.Transition) {
	b := a.b
	if !tr.Happened() && b.view.Load() != nil {
		return
	}
	v := &view{state: tr.To, epoch: tr.Epoch, since: tr.At, until: tr.Deadline, attempt: a.m.Attempt()}
	switch tr.To {
	case Closed, Disabled:
		v.mode = modeAdmit
		v.win = newLiveWindow(b, tr.To == Closed)
	case Open, ForcedOpen:
		v.mode = modeReject
		v.err = newOpenError(b.name, tr)
	case HalfOpen:
		v.mode = modeActor
	}
	if mutant.PublishFirst {
		b.view.Store(v)
		runtime.Gosched()
	}
	a.stopTimer()
	a.armTimer(tr.Deadline)
	b.view.Store(v)
	if tr.Happened() {
		b.life.transitions[tr.From][tr.To].Add(1)
		b.em.emitTransition(tr)
		b.saver.transitioned(b.name, tr, a.m.Attempt())
	}
}

// armTimer makes the clock wake the actor at deadline (if non-zero). The
// callback only pokes the wake channel; advance decides, so a timer that
// fires late, twice, or after a newer transition changes nothing.
func (a *actor) armTimer(deadline time.Time) {
	a.armed = deadline
	if deadline.IsZero() {
		return
	}
	b := a.b
	d := max(deadline.Sub(b.clk.Now()), 0)
	a.timer = b.clk.AfterFunc(d, func() {
		select {
		case b.wake <- struct{}{}:
		default:
		}
	})
}

func (a *actor) stopTimer() {
	if a.timer != nil {
		a.timer.Stop()
		a.timer = nil
	}
	a.armed = time.Time{}
}

package breaker

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/breakerlabs/breaker/engine"
	"github.com/breakerlabs/breaker/events"
)

// MutexBreaker drives the same engine as Breaker behind one sync.Mutex,
// with no goroutine of its own. Every method takes the lock, first applies
// any timeout that is due (State and Metrics included: those are due
// transitions, not observer effects), then does its work. It exists so the
// actor design can be measured against the conventional one; it satisfies
// Circuit and behaves the same.
//
// Every method is safe for concurrent use. Events are published while the
// lock is held, which keeps them in order; publishing never blocks, so a
// subscriber may call back into the breaker.
type MutexBreaker struct {
	base
	mu      sync.Mutex
	m       *engine.Machine
	openErr *OpenError // the current open period's rejection
	stopped bool
}

// NewMutex validates cfg and returns a MutexBreaker. It returns the
// validation error (or an error for an empty name) if either is wrong.
func NewMutex(name string, cfg Config, opts ...Option) (*MutexBreaker, error) {
	o := buildOptions(opts)
	if err := checkNew(name, cfg); err != nil {
		return nil, err
	}
	b := new(MutexBreaker)
	b.base.init(name, cfg, &o)
	b.m = engine.NewMachine(b.tuning().settings, b.clk.Now())
	b.acquireShared() // last: a failed construction leaves no goroutine
	return b, nil
}

// Name returns the breaker's name.
func (b *MutexBreaker) Name() string { return b.name }

// Subscribe returns a subscription to this breaker's events. Closing the
// breaker closes it.
func (b *MutexBreaker) Subscribe(opts ...events.Option) *events.Subscription {
	return b.emitter.subscribe(opts)
}

// now returns the time for the machine: the clock, except in Closed and
// Disabled, where it returns the zero time, which nothing there uses (no
// deadline is pending, admission does not depend on the time, a count
// window ignores it). This keeps the clock off the Closed path; the one
// transition out of Closed that is not a command, a trip, reads the clock
// itself (see report). Time windows are fed from the duration time source
// instead (windowTime).
func (b *MutexBreaker) now() time.Time {
	if st := b.m.State(); st == Closed || st == Disabled {
		return time.Time{}
	}
	return b.clk.Now()
}

// windowTime is the time a time window records and reads at, from the
// same source as call durations; for count windows it is now.
func (b *MutexBreaker) windowTime(nanos int64, now time.Time) time.Time {
	if b.tuning().settings.Window.Kind != engine.TimeBased {
		return now
	}
	if nanos == 0 {
		nanos = b.nanos()
	}
	return time.Unix(0, nanos)
}

// advance applies every due timeout at its own deadline. b.mu is held.
func (b *MutexBreaker) advance(now time.Time) {
	for tr := b.m.TickDue(now); tr.Happened(); tr = b.m.TickDue(now) {
		b.apply(tr)
	}
}

// apply counts and publishes a transition. b.mu is held.
func (b *MutexBreaker) apply(tr engine.Transition) {
	if !tr.Happened() {
		return
	}
	if tr.To == Open || tr.To == ForcedOpen {
		b.openErr = newOpenError(b.name, tr)
	}
	b.lifetime.countTransition(tr.From, tr.To)
	b.emitter.emitTransition(tr)
}

// Acquire asks to start a call; see Circuit. The decision never waits, so
// ctx only reaches the CallObserver, if there is one (called after the
// lock is released).
func (b *MutexBreaker) Acquire(ctx context.Context) (Permit, error) {
	b.mu.Lock()
	if b.stopped {
		st := b.m.State()
		b.mu.Unlock()
		if b.obs != nil {
			b.observeRejected(ctx, st, ErrStopped)
		}
		return Permit{}, ErrStopped
	}
	now := b.now()
	b.advance(now)
	t, rej := b.m.Admit(now)
	var err error
	switch rej {
	case engine.Admitted:
	case engine.RejectTooMany:
		err = ErrTooManyProbes
	default:
		err = b.openErr
	}
	if err != nil {
		b.lifetime.rejected.inc()
		b.emitter.emitCall(events.CallRejected, 0)
	}
	st := b.m.State()
	b.mu.Unlock()
	if err != nil {
		if b.obs != nil {
			b.observeRejected(ctx, st, err)
		}
		return Permit{}, err
	}
	p := Permit{r: b, epoch: t.Epoch, start: noStart}
	if t.Probe != 0 {
		p = Permit{r: &mutexProbe{b: b, id: t.Probe}, epoch: t.Epoch, probe: slotTaken | uint64(uint32(t.Probe)), start: noStart}
	}
	if b.obs != nil {
		b.observeAdmitted(ctx, st, t.Probe != 0)
	}
	if b.tuning().timesCalls {
		p.start = b.nanos()
	}
	return p, nil
}

// report applies an outcome under the lock.
func (b *MutexBreaker) report(p Permit, o engine.Outcome) {
	nanos, d, slow := b.measureCall(p)
	b.countOutcome(o, d, slow)
	b.mu.Lock()
	if b.stopped {
		b.mu.Unlock()
		return
	}
	now := b.now()
	b.advance(now)
	t := p.ticket()
	if mp, ok := p.r.(*mutexProbe); ok {
		t.Probe = mp.id
	}
	if st := b.m.State(); st == Closed || st == Disabled {
		// The Closed path reads no clock unless the outcome trips: then
		// the transition (and the open deadline) need the true time.
		if _, trips := b.m.Record(b.windowTime(nanos, now), t, o, d); trips {
			now = b.clk.Now()
			b.apply(b.m.TripIf(now, b.m.Counts(b.windowTime(nanos, now))))
		}
	} else {
		tr, _ := b.m.Report(now, t, o, d) // the clock, not the window's time: it stamps a transition
		b.apply(tr)
	}
	b.emitter.emitCall(callKind(o), d)
	b.mu.Unlock()
}

func (b *MutexBreaker) claim(Permit) bool { return true }

// mutexProbe is the reporter of a MutexBreaker's half-open probe: the
// engine's probe number, and whether the probe has been reported (the
// first report from any copy of its permit counts; later ones change
// nothing).
type mutexProbe struct {
	b        *MutexBreaker
	id       uint64
	reported atomic.Bool
}

func (p *mutexProbe) claim(Permit) bool                 { return p.reported.CompareAndSwap(false, true) }
func (p *mutexProbe) report(q Permit, o engine.Outcome) { p.b.report(q, o) }
func (p *mutexProbe) core() *base                       { return &p.b.base }

// State returns the current state, after applying any due timeout (none
// after Close: a closed breaker keeps its last state).
func (b *MutexBreaker) State() State {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.stopped {
		b.advance(b.now())
	}
	return b.m.State()
}

// Metrics returns a snapshot, after applying any due timeout. After Close
// it returns the last state with the lifetime counters, and no probes in
// flight.
func (b *MutexBreaker) Metrics() Metrics {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if !b.stopped {
		b.advance(now)
	}
	st := b.m.State()
	m := Metrics{Name: b.name, State: st, Since: b.m.Since()}
	if !b.stopped {
		m.HalfOpenInFlight = b.m.InFlight() // a stopped breaker takes no probe reports: 0, as the actor's
	}
	if st == Open {
		m.OpenUntil = b.m.Deadline()
	}
	if st == Closed || st == Disabled {
		c := b.m.Counts(b.windowTime(0, now))
		m.WindowCalls, m.WindowFailures, m.WindowSlowCalls = c.Calls, c.Failures, c.SlowCalls
		m.WindowSlowFailures = c.SlowFailures
		m.ConsecutiveFailures = c.ConsecutiveFailures
		m.FailureRate, m.SlowCallRate = b.tuning().settings.Rates(c)
	} else {
		m.FailureRate, m.SlowCallRate = -1, -1
	}
	b.lifetime.fill(&m)
	return m
}

// Reset moves to Closed from any state, clearing the window and the backoff.
func (b *MutexBreaker) Reset() { b.command(cmdReset) }

// ForceOpen moves to ForcedOpen, rejecting every call until Reset.
func (b *MutexBreaker) ForceOpen() { b.command(cmdForceOpen) }

// Disable moves to Disabled, admitting every call, until Reset.
func (b *MutexBreaker) Disable() { b.command(cmdDisable) }

// Reconfigure validates cfg and makes it the breaker's configuration,
// keeping its state, epoch, lifetime counters, probes in flight and, as
// far as they fit the new window, its window's statistics; it trips at
// once (ReasonReconfigured) if the new thresholds are already exceeded.
// It behaves as Breaker.Reconfigure does (see Supervisor.Reconfigure). It
// returns the validation error, changing nothing, or ErrStopped after
// Close. Safe for concurrent use.
func (b *MutexBreaker) Reconfigure(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return ErrStopped
	}
	now := b.clk.Now()
	b.advance(now)
	b.retune(cfg)
	b.apply(b.m.Reconfigure(now, b.tuning().settings))
	if st := b.m.State(); st == Open && !b.m.Deadline().Equal(b.openErr.Until) {
		b.openErr = &OpenError{Breaker: b.name, Until: b.m.Deadline()}
	}
	b.advance(now) // a deadline the new timeouts put in the past is due now
	return nil
}

func (b *MutexBreaker) command(c command) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return
	}
	now := b.clk.Now()
	b.advance(now)
	b.apply(c.apply(b.m, now))
}

// Close stops the breaker, after applying any timeout already due: later
// Acquires return ErrStopped, its subscriptions are closed, and nothing is
// emitted for it once Close has returned. It is idempotent and always returns nil.
func (b *MutexBreaker) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.stopped {
		b.advance(b.now()) // a due timeout happened before Close, as the actor's timer would have
		b.stopped = true
		b.release()
	}
	return nil
}

// adopt applies a state decided elsewhere (a record restored from a
// StateStore, or adopted from another instance) through
// engine.Machine.Adopt, under the lock, after any timeout already due,
// like any other transition: it is published and emitted (with
// ReasonRemote and its Origin) but never saved again. After
// Close it does nothing.
func (b *MutexBreaker) adopt(r engine.Remote) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return
	}
	now := b.clk.Now()
	b.advance(now)
	b.apply(b.m.Adopt(now, r))
}

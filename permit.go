package breaker

import (
	"context"
	"time"

	"github.com/breakerlabs/breaker/engine"
	"github.com/breakerlabs/breaker/events"
)

// Permit is the right to make one call, granted by Acquire. Report its
// outcome exactly once with Success, Failure, Ignore or Done.
//
// A Permit is a small value, never allocated; copies refer to the same
// grant. The zero Permit, which Acquire returns beside an error, ignores
// every report. An outcome reported after the breaker has changed state
// (a stale permit) is counted in the lifetime metrics but never in the
// current window or probe tally. A half-open probe's outcome counts once:
// later reports of the same probe, from any copy, change nothing (not even
// the lifetime metrics). A Closed-state permit must be reported once; a
// second report counts again. Reports after Close are
// counted in the lifetime metrics and otherwise ignored.
type Permit struct {
	r     reporter // nil: the zero Permit
	epoch uint64   // the epoch the call was admitted in
	start int64    // when the call was admitted (the breaker's time source, Unix ns); 0 if not measured
	// probe is 0 for a Closed or Disabled call. For a half-open probe it
	// is (slot+1)<<32 | id: the slot of the period's probe table the
	// probe holds until it is reported, and its number in the period.
	probe uint64
}

// ticket is the engine's name for the grant: its epoch and, for a probe,
// its number.
func (p Permit) ticket() engine.Ticket {
	return engine.Ticket{Epoch: p.epoch, Probe: uint64(uint32(p.probe))}
}

// claim reports whether this report is the one that counts: always for a
// Closed-state permit, the first report of a probe from any copy.
func (p Permit) claim() bool {
	return p.r != nil && (p.probe == 0 || p.r.claim(p))
}

// reporter applies a Permit's outcome. Implemented by the actor breaker's
// live window (Closed and Disabled calls) and probe table (probes), and by
// MutexBreaker and its probes.
type reporter interface {
	// claim marks a probe reported, reporting whether it was not already.
	claim(p Permit) bool
	report(p Permit, o engine.Outcome)
	core() *base
}

// Success reports that the call succeeded. Safe for concurrent use.
func (p Permit) Success() { p.resolve(engine.Success) }

// Failure reports that the call failed. Safe for concurrent use.
func (p Permit) Failure() { p.resolve(engine.Failure) }

// Ignore reports that the call's outcome says nothing about the protected
// resource (a cancelled request, a validation error). It is not counted in
// the window and frees a half-open probe slot. Safe for concurrent use.
func (p Permit) Ignore() { p.resolve(engine.Ignore) }

// Done reports the outcome of a call that returned err: nil is a Success;
// an error for which Config.IsFailure returns true is a Failure; any other
// error is ignored (as Ignore). Without Config.IsFailure every non-nil
// error except context.Canceled is a failure. Safe for concurrent use.
//
// If Config.IsFailure panics, the call is reported as a failure and the
// panic goes on unchanged: a half-open probe slot is never lost to a
// panicking classifier.
func (p Permit) Done(err error) {
	switch {
	case !p.claim():
	case err == nil:
		p.r.report(p, engine.Success)
	default:
		p.classify(err)
	}
}

// classify reports a claimed permit's error as IsFailure judges it. The
// report is deferred, with Failure until IsFailure has returned, so that a
// panicking IsFailure still resolves the permit; no recover, so the panic
// (and its stack) reaches the caller untouched.
func (p Permit) classify(err error) {
	o := engine.Failure
	defer func() { p.r.report(p, o) }()
	if !p.r.core().tuning().cfg.isFailure(err) {
		o = engine.Ignore
	}
}

func (p Permit) resolve(o engine.Outcome) {
	if p.claim() {
		p.r.report(p, o)
	}
}

// measure returns the time now and the call's duration, and whether it is
// slow, when the breaker tracks durations.
func (b *base) measureCall(p Permit) (now int64, d time.Duration, slow bool) {
	t := b.tuning()
	if !t.measure {
		return 0, 0, false // inlined: the common case costs two loads
	}
	return b.measureSlow(p, t)
}

func (b *base) measureSlow(p Permit, t *tuning) (now int64, d time.Duration, slow bool) {
	now = b.nanos()
	// A call admitted before a reconfiguration switched measuring on has
	// no start time: it is timed from when measuring began.
	d = time.Duration(now - max(p.start, t.measureFrom))
	return now, d, t.s.Slow(d)
}

// callKind is the event kind of a reported outcome.
func callKind(o engine.Outcome) events.Kind {
	switch o {
	case engine.Success:
		return events.CallSucceeded
	case engine.Failure:
		return events.CallFailed
	}
	return events.CallIgnored
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
		if b.tuning().measure {
			return Permit{r: v.win, epoch: v.epoch, start: b.nanos()}, nil
		}
		return Permit{r: v.win, epoch: v.epoch}, nil
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
		p := Permit{r: v.probes, epoch: v.epoch, probe: uint64(slot+1)<<32 | uint64(id)}
		if b.tuning().measure {
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
	b.life.rejected.inc()
	b.em.emitCall(events.CallRejected, 0)
	return Permit{}, err
}

// report is the fast path for the outcome of a Closed or Disabled call:
// lifetime counters, then the window if the permit is of the current
// window. If the outcome makes a trip condition hold, it latches the trip
// (every later Acquire is rejected) and has the actor make it formal,
// running the actor itself when no other goroutine is: so the trip is
// usually published before report returns, and never waits for the
// scheduler to run a goroutine.
func (w *liveWindow) report(p Permit, o engine.Outcome) {
	b := w.b
	now, d, slow := b.measureCall(p)
	v := b.view.Load()
	if v.win != w && v.epoch == p.epoch {
		w = v.win // the same period, in a window Reconfigure has reshaped
	}
	if o == engine.Ignore || w == nil || v.win != w || v.mode != modeAdmit {
		b.countOutcome(o, d, slow) // stale or ignored: lifetime counters only
	} else if w.record(now, o == engine.Failure, slow, d) && w.latch.Load() == nil {
		if c := w.counts(now); b.tuning().s.Evaluate(c).Reason != engine.ReasonNone {
			w.shut(c)
		}
	}
	b.em.emitCall(callKind(o), d)
}

func (w *liveWindow) claim(Permit) bool { return true }

func (w *liveWindow) core() *base { return w.b.base }

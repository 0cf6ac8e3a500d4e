package breaker

import (
	"context"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/breakerlabs/breaker/engine"
	"github.com/breakerlabs/breaker/events"
	"github.com/breakerlabs/breaker/internal/mutant"
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
	r     reporter    // nil: the zero Permit
	epoch uint64      // the epoch the call was admitted in
	start int64       // when the call was admitted (the breaker's time source, Unix ns); 0 if not measured
	probe *probeGrant // half-open probes only; nil for a Closed or Disabled call
}

// probeGrant is what a half-open probe's permit shares between its copies:
// its number, and whether it has been reported. The first report wins and
// every later one, from any copy, is a no-op.
type probeGrant struct {
	id       uint64
	reported atomic.Bool
}

// newProbePermit is the permit of a half-open probe.
func newProbePermit(r reporter, t engine.Ticket) Permit {
	return Permit{r: r, epoch: t.Epoch, probe: &probeGrant{id: t.Probe}}
}

// ticket is the engine's name for the grant.
func (p Permit) ticket() engine.Ticket {
	t := engine.Ticket{Epoch: p.epoch}
	if p.probe != nil {
		t.Probe = p.probe.id
	}
	return t
}

// claim reports whether this report is the one that counts.
func (p Permit) claim() bool {
	return p.r != nil && (p.probe == nil || p.probe.reported.CompareAndSwap(false, true))
}

// reporter applies a Permit's outcome. Implemented by the actor breaker's
// live window (Closed and Disabled calls), the actor breaker itself (probes)
// and MutexBreaker.
type reporter interface {
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
	if !p.r.core().cfg.isFailure(err) {
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
	if !b.measure {
		return 0, 0, false // inlined: the common case costs one load
	}
	return b.measureSlow(p)
}

func (b *base) measureSlow(p Permit) (now int64, d time.Duration, slow bool) {
	now = b.nanos()
	d = time.Duration(now - p.start)
	return now, d, b.s.Slow(d)
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

// Acquire asks to start a call. It is the fast path: in Closed and Disabled
// it admits with a few atomic loads, and in Open and ForcedOpen it rejects
// with the period's *OpenError, both without a channel operation, a lock or
// an allocation (unless a subscriber asked for per-call events). In
// HalfOpen it asks the actor for a probe slot, waiting at most until ctx
// is done. After Close it returns ErrStopped.
//
// Safe for concurrent use. A goroutine's earlier reports are applied
// before its Acquire is decided.
func (b *Breaker) Acquire(ctx context.Context) (Permit, error) {
	v := b.view.Load()
	switch v.mode {
	case modeAdmit:
		if v.win.tripping.Load() {
			return b.acquireProbe(ctx)
		}
		if b.obs != nil {
			b.observeAdmitted(ctx, v.state, false)
		}
		if b.measure {
			return Permit{r: v.win, epoch: v.epoch, start: b.nanos()}, nil
		}
		return Permit{r: v.win, epoch: v.epoch}, nil
	case modeReject:
		b.life.rejected.inc()
		b.em.emitCall(events.CallRejected, 0)
		if b.obs != nil {
			b.observeRejected(ctx, v.state, v.err)
		}
		return Permit{}, v.err
	case modeStopped:
		if b.obs != nil {
			b.observeRejected(ctx, v.state, ErrStopped)
		}
		return Permit{}, ErrStopped
	}
	return b.acquireProbe(ctx)
}

// report is the fast path for the outcome of a Closed or Disabled call:
// lifetime counters, then the window if the permit is of the current
// epoch, then a non-blocking nudge to the actor if a trip condition may
// hold. It never waits for the actor.
func (w *liveWindow) report(p Permit, o engine.Outcome) {
	b := w.b
	now, d, slow := b.measureCall(p)
	b.countOutcome(o, d, slow)
	if mutant.CountStale {
		w = b.view.Load().win
	}
	if v := b.view.Load(); o != engine.Ignore && w != nil && v.win == w && v.mode == modeAdmit {
		if w.record(now, o == engine.Failure, slow) && b.s.Evaluate(w.counts(now)).Reason != engine.ReasonNone {
			w.tripping.Store(true)
			if b.nudgeActor() {
				// The nudge readied the actor on this processor, where
				// it would wait for this goroutine to block or be
				// preempted (up to 10 ms); yield once so it trips now.
				runtime.Gosched()
			}
		}
	}
	b.em.emitCall(callKind(o), d)
}

func (w *liveWindow) core() *base { return w.b.base }

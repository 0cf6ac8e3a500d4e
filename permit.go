package breaker

import (
	"math"

	"github.com/breakerlabs/breaker/engine"
	"github.com/breakerlabs/breaker/events"
)

// This file holds Permit, the grant Acquire returns, and the reporter
// interface through which its outcome reaches the driver that granted it.
// The fast paths themselves live with their types: admission is
// Breaker.Acquire (breaker.go) and MutexBreaker.Acquire (mutex.go); a
// Closed-state outcome is liveWindow.report (livewindow.go), a half-open
// probe's is probeTable.report then the actor (actor.go).

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
	start int64    // when the call was admitted (the breaker's time source, Unix ns); noStart if not measured
	// probe is 0 for a Closed or Disabled call. For a half-open probe it
	// is (slot+1)<<32 | id: the slot of the period's probe table the
	// probe holds until it is reported, and its number in the period.
	probe uint64
}

// noStart is a Permit's start when the breaker measured nothing as it was
// granted: earlier than any reading (0 is one: the Unix epoch, where a mock
// clock starts), so a call is timed from when measuring began.
const noStart = math.MinInt64

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

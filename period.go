package breaker

import (
	"sync/atomic"

	"github.com/breakerlabs/breaker/engine"
)

// A period is what the actor publishes when it enters a state: the view
// and the state's own admission object (the live window, the probe table
// or the rejection), made in one allocation instead of two or three. The
// view stays immutable once published; the object beside it is the one
// the view points to, so the two live and die together (a permit holding
// the window or the table keeps its period's view alive too: a few dozen
// bytes per period still referenced, against an allocation per
// transition saved).
//
// The view comes first and puts the words Acquire reads (state, mode,
// epoch and the pointers) in its first 48 bytes, away from the words the
// fast path writes in the object after it (the window's packed word, the
// table's admission word), which sit on later cache lines.

// closedPeriod is a Closed or Disabled period: its view and live window.
type closedPeriod struct {
	v view
	w liveWindow
}

// openPeriod is an Open or ForcedOpen period: its view and the *OpenError
// every rejection in it returns, and the half-open period that usually
// follows an Open one (made with it, so that the timer-driven move to
// HalfOpen allocates nothing; see actor.probeView). Nobody sees half
// before the actor publishes it.
type openPeriod struct {
	v    view
	err  OpenError
	half probePeriod
}

// inlineProbes is how many probe slots a probePeriod holds in itself; a
// larger MaxProbes gets its slots in a separate allocation.
const inlineProbes = 4

// probePeriod is a HalfOpen period: its view and probe table, and the
// table's slots when MaxProbes ≤ inlineProbes.
type probePeriod struct {
	v     view
	t     probeTable
	slots [inlineProbes]atomic.Uint64
}

// newClosedView returns the view of a new Closed (tracks) or Disabled
// period with an empty live window of the breaker's current shape.
func newClosedView(b *Breaker, tracks bool) *view {
	p := new(closedPeriod)
	p.w.init(b, tracks, b.tuning().settings.Window)
	p.v.mode, p.v.win = modeAdmit, &p.w
	return &p.v
}

// newOpenPeriod returns the open period tr enters, rejecting with an
// *OpenError until its deadline (Open) or with a zero Until (ForcedOpen).
func newOpenPeriod(name string, tr engine.Transition) *openPeriod {
	p := new(openPeriod)
	p.err.Breaker = name
	if tr.To == engine.Open {
		p.err.Until = tr.Deadline
	}
	p.v.mode, p.v.err = modeReject, &p.err
	return p
}

// view makes p, a half-open period nobody sees yet, an empty one with
// maxProbes slots, and returns its view.
func (p *probePeriod) view(b *Breaker, maxProbes int) *view {
	var slots []atomic.Uint64
	if n := max(maxProbes, 1); n <= inlineProbes {
		slots = p.slots[:n]
	}
	p.t.init(b, maxProbes, slots)
	p.v.mode, p.v.probes = modeProbe, &p.t
	return &p.v
}

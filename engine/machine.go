package engine

import (
	"time"
)

// Outcome is how a call ended.
type Outcome uint8

// Outcomes of a call.
const (
	Success Outcome = iota // counted as a successful call
	Failure                // counted as a failed call
	Ignore                 // not counted; frees a half-open probe slot
)

// String returns "success", "failure" or "ignore".
func (o Outcome) String() string {
	switch o {
	case Success:
		return "success"
	case Failure:
		return "failure"
	}
	return "ignore"
}

// Rejection says why Admit refused a call.
type Rejection uint8

// Rejections.
const (
	Admitted      Rejection = iota // not rejected
	RejectOpen                     // Open: until the deadline
	RejectForced                   // ForcedOpen: until Reset
	RejectTooMany                  // HalfOpen: MaxProbes probes in flight
)

// Ticket identifies an admitted call: the epoch it was admitted in and,
// for a half-open probe, its probe number (never 0). The zero Ticket is
// never issued.
type Ticket struct {
	Epoch uint64
	Probe uint64
}

// Transition describes a state change. The zero Transition (Reason ==
// ReasonNone) means nothing changed.
type Transition struct {
	From, To State
	Reason   Reason
	Rate     float64 // the rate that decided, for rate-based reasons
	Count    int     // the failures or successes that decided, for count-based reasons
	At       time.Time
	Epoch    uint64    // the epoch entered
	Deadline time.Time // the new state's deadline (Open: the open deadline; HalfOpen: MaxWait), or zero
	Origin   string    // ReasonRemote: the instance that decided, as given to Adopt
	Attempt  int       // failed recoveries since the machine was last Closed, after the transition
}

// Happened reports whether t describes a real transition.
func (t Transition) Happened() bool { return t.Reason != ReasonNone }

// Machine is the circuit breaker's state machine. It is not safe for
// concurrent use; see the package comment.
//
// Time. The machine reads no clock and keeps none: every method uses the
// time it is given as it is, so a driver whose clock steps back (an NTP
// step, a mock clock set back) gets the same answers whatever else it
// handed the machine before.
//
//   - A transition is stamped with the time given for it (a timeout: its
//     own deadline), and the new state's deadline is measured from that
//     stamp: an open period lasts exactly its open duration on the
//     driver's clock from the trip, and a MaxWait from the start of the
//     half-open period. Nothing is clamped, so after the clock steps back
//     a transition may be stamped earlier than the one before it.
//   - A deadline is an instant: a clock set back while it is pending has
//     to reach it again. A timeout is due once the time given is at or
//     after it.
//   - A time window never goes back: a call given an older time than the
//     newest bucket already recorded into counts in that bucket, and a
//     read at an older time sees the window as of that bucket. Reading a
//     window (Counts) changes nothing.
type Machine struct {
	s        Settings
	state    State
	epoch    uint64
	since    time.Time
	deadline time.Time // Open: when it may half-open; HalfOpen: MaxWait; else zero
	attempt  int       // trips from HalfOpen since the breaker was last Closed
	ownTrip  uint64    // the epoch entered by this machine's latest own trip to Open (see Adopt)

	win    window
	consec int // failures in a row while Closed

	// HalfOpen tallies, valid for the current epoch only.
	nextProbe  uint64
	inFlight   []uint64 // outstanding probe numbers; len ≤ MaxProbes
	probesOK   int
	probesBad  int
	successRun int
}

// NewMachine returns a Closed machine at epoch 1 for valid settings.
func NewMachine(s Settings, now time.Time) *Machine {
	return &Machine{
		s:        s,
		state:    Closed,
		epoch:    1,
		since:    now,
		win:      newWindow(s.Window),
		inFlight: make([]uint64, 0, max(s.HalfOpen.MaxProbes, 0)),
	}
}

// State returns the current state.
func (m *Machine) State() State { return m.state }

// Epoch returns the current epoch. It starts at 1 and grows by one on every
// transition.
func (m *Machine) Epoch() uint64 { return m.epoch }

// Since returns when the current state was entered.
func (m *Machine) Since() time.Time { return m.since }

// Deadline returns the current state's deadline: the open deadline in Open,
// the MaxWait deadline in HalfOpen (zero without MaxWait), else zero.
func (m *Machine) Deadline() time.Time { return m.deadline }

// Attempt returns the trips from HalfOpen since the machine was last Closed.
func (m *Machine) Attempt() int { return m.attempt }

// InFlight returns the half-open probes admitted and not yet reported.
func (m *Machine) InFlight() int { return len(m.inFlight) }

// Counts returns the window's counts at time now (a time window: as of
// the newest bucket recorded into, if that is later than now). It changes
// nothing.
func (m *Machine) Counts(now time.Time) Counts {
	c := m.win.counts(now)
	c.ConsecutiveFailures = m.consec
	return c
}

// Admit decides whether a call may start now. It never changes the state
// (a driver that applies timeouts lazily calls TickDue first), and the
// decision does not depend on now.
func (m *Machine) Admit(now time.Time) (Ticket, Rejection) {
	switch m.state {
	case Closed, Disabled:
		return Ticket{Epoch: m.epoch}, Admitted
	case Open:
		return Ticket{}, RejectOpen
	case ForcedOpen:
		return Ticket{}, RejectForced
	}
	if len(m.inFlight) >= m.s.HalfOpen.MaxProbes {
		return Ticket{}, RejectTooMany
	}
	m.nextProbe++
	m.inFlight = append(m.inFlight, m.nextProbe)
	return Ticket{Epoch: m.epoch, Probe: m.nextProbe}, Admitted
}

// Slow reports whether a call that took d is slow.
func (s *Settings) Slow(d time.Duration) bool {
	return s.SlowCallDuration > 0 && d >= s.SlowCallDuration
}

// Report applies the outcome of the call admitted with t, which took d.
// counted says whether the outcome entered the window or the probe tally:
// it is false for a stale ticket (an older epoch), for a probe already
// reported, for a ticket never issued, and for Ignore. The returned
// transition is the one the outcome caused, if any.
func (m *Machine) Report(now time.Time, t Ticket, o Outcome, d time.Duration) (tr Transition, counted bool) {
	if t.Epoch != m.epoch {
		return Transition{}, false
	}
	switch m.state {
	case Closed, Disabled:
		counted, trips := m.Record(now, t, o, d)
		if trips {
			tr = m.TripIf(now, m.Counts(now))
		}
		return tr, counted
	case HalfOpen:
		if !m.release(t.Probe) || o == Ignore {
			return Transition{}, false
		}
		return m.judgeProbe(now, o, m.s.SlowCallRate > 0 && m.s.Slow(d)), true
	}
	return Transition{}, false
}

// Record is the first half of Report for a Closed or Disabled machine: it
// adds the outcome to the window, and reports whether it was counted and
// whether a trip condition now holds, without tripping. A driver that does
// not read the clock for every report (MutexBreaker) records at a cheap
// time, then reads the clock only when it must trip, and calls TripIf with
// it. In any other state Record does nothing.
func (m *Machine) Record(now time.Time, t Ticket, o Outcome, d time.Duration) (counted, trips bool) {
	if t.Epoch != m.epoch || t.Probe != 0 || o == Ignore {
		return false, false
	}
	if m.state != Closed && m.state != Disabled {
		return false, false
	}
	failure := o == Failure
	m.win.record(now, failure, m.s.Slow(d))
	if failure {
		m.consec++
	} else {
		m.consec = 0
	}
	if m.state == Disabled {
		return true, false
	}
	return true, m.s.Evaluate(m.Counts(now)).Reason != ReasonNone
}

// release removes probe p from the in-flight set, reporting whether it was there.
func (m *Machine) release(p uint64) bool {
	for i, q := range m.inFlight {
		if q == p {
			last := len(m.inFlight) - 1
			m.inFlight[i] = m.inFlight[last]
			m.inFlight = m.inFlight[:last]
			return true
		}
	}
	return false
}

// judgeProbe counts a completed probe (o is Success or Failure) and
// decides, if the policy can. A probe is bad if it failed, or if it was
// slow (slow is only true while slow-call tripping is enabled). In Strict
// mode a bad probe reopens at once: with ReasonProbeFailed if it failed,
// ReasonProbeSlow if it succeeded slowly. In ByRate mode a slow success
// counts against SuccessRate like a failure, and a reopen is
// ReasonProbeFailed.
func (m *Machine) judgeProbe(now time.Time, o Outcome, slow bool) Transition {
	p := &m.s.HalfOpen
	bad := o == Failure || slow
	if bad {
		m.probesBad++
		m.successRun = 0
	} else {
		m.probesOK++
		m.successRun++
	}
	if p.Mode == Strict {
		if bad {
			r := ReasonProbeFailed
			if o == Success {
				r = ReasonProbeSlow
			}
			return m.reopen(now, r, 0, m.probesOK)
		}
		if m.successRun >= max(p.SuccessThreshold, 1) {
			return m.enter(now, Closed, ReasonProbesSucceeded, 0, m.successRun)
		}
		return Transition{}
	}
	done := m.probesOK + m.probesBad
	if done < max(p.MinimumProbes, 1) {
		return Transition{}
	}
	rate := float64(m.probesOK) / float64(done)
	if rate >= p.SuccessRate {
		return m.enter(now, Closed, ReasonProbesSucceeded, rate, done)
	}
	return m.reopen(now, ReasonProbeFailed, rate, done)
}

// TripIf moves Closed to Open if c meets a trip condition. The actor calls
// it with the counts of its lock-free window; the machine's own window
// calls it after each record. It does nothing in any other state.
func (m *Machine) TripIf(now time.Time, c Counts) Transition {
	if m.state != Closed {
		return Transition{}
	}
	v := m.s.Evaluate(c)
	if v.Reason == ReasonNone {
		return Transition{}
	}
	m.attempt = 0
	return m.enter(now, Open, v.Reason, v.Rate, v.Count)
}

// reopen trips from HalfOpen, one backoff step further.
func (m *Machine) reopen(now time.Time, r Reason, rate float64, count int) Transition {
	m.attempt++
	return m.enter(now, Open, r, rate, count)
}

// tick applies the timeout that is due at now, if any: Open → HalfOpen at
// the open deadline; at the MaxWait deadline, HalfOpen → Open if probes
// are still unreported (their slots are reclaimed), else a restart of the
// half-open period (see restartHalfOpen). Drivers use TickDue, which calls
// it at the deadline itself; tests reach it as Tick (export_test.go).
func (m *Machine) tick(now time.Time) Transition {
	if m.deadline.IsZero() || now.Before(m.deadline) {
		return Transition{}
	}
	switch m.state {
	case Open:
		return m.enter(now, HalfOpen, ReasonOpenTimeout, 0, 0)
	case HalfOpen:
		if len(m.inFlight) == 0 {
			m.restartHalfOpen(now)
			return Transition{}
		}
		return m.reopen(now, ReasonHalfOpenTimeout, 0, len(m.inFlight))
	}
	return Transition{}
}

// restartHalfOpen handles a MaxWait deadline that ends with no probe in
// flight. No traffic is no evidence: the breaker stays HalfOpen, with no
// transition, no new epoch and no growth of the backoff, and the probes
// already judged in this period keep counting. Only the MaxWait deadline
// moves on, by whole MaxWaits, to the first one after now, so that a
// timer driver and a lazy driver agree on it whenever they look.
//
// It is the one change of Deadline that is not a transition: a driver
// with timers re-arms its timer for Deadline after TickDue.
func (m *Machine) restartHalfOpen(now time.Time) {
	w := m.s.HalfOpen.MaxWait
	if w <= 0 {
		m.deadline = time.Time{}
		return
	}
	m.deadline = m.deadline.Add((now.Sub(m.deadline)/w + 1) * w)
}

// TickDue applies the timeout due by now, if any, at its own deadline
// rather than at now, so that a driver catching up after a long gap (a
// lazy driver, or an actor whose timer fired late) replays the transitions
// that were due, each at its own time. Drivers call it until it returns a
// zero Transition, then re-arm their timer for Deadline, which a half-open
// restart may have moved without a transition.
func (m *Machine) TickDue(now time.Time) Transition {
	if m.deadline.IsZero() || now.Before(m.deadline) {
		return Transition{}
	}
	if m.state == HalfOpen && len(m.inFlight) == 0 {
		m.restartHalfOpen(now)
		return Transition{}
	}
	return m.tick(m.deadline)
}

// Reset moves to Closed from any state, clearing the window and the backoff
// attempt. It always starts a new epoch, even from Closed.
func (m *Machine) Reset(now time.Time) Transition {
	m.attempt = 0
	return m.enter(now, Closed, ReasonManual, 0, 0)
}

// ForceOpen moves to ForcedOpen. It does nothing if already ForcedOpen.
func (m *Machine) ForceOpen(now time.Time) Transition {
	if m.state == ForcedOpen {
		return Transition{}
	}
	return m.enter(now, ForcedOpen, ReasonManual, 0, 0)
}

// Disable moves to Disabled, clearing the window. It does nothing if
// already Disabled.
func (m *Machine) Disable(now time.Time) Transition {
	if m.state == Disabled {
		return Transition{}
	}
	return m.enter(now, Disabled, ReasonManual, 0, 0)
}

// enter performs a transition: new epoch, fresh tallies, the new deadline.
func (m *Machine) enter(now time.Time, to State, r Reason, rate float64, count int) Transition {
	tr := Transition{From: m.state, To: to, Reason: r, Rate: rate, Count: count, At: now}
	m.state = to
	m.epoch++
	m.since = now
	m.deadline = time.Time{}
	m.inFlight = m.inFlight[:0]
	m.probesOK, m.probesBad, m.successRun = 0, 0, 0
	switch to {
	case Closed, Disabled:
		m.win.reset()
		m.consec = 0
		if to == Closed {
			m.attempt = 0
		}
	case Open:
		m.deadline = now.Add(m.s.OpenDuration(m.attempt))
		if r != ReasonRemote {
			m.ownTrip = m.epoch
		}
	case HalfOpen:
		if m.s.HalfOpen.MaxWait > 0 {
			m.deadline = now.Add(m.s.HalfOpen.MaxWait)
		}
	}
	tr.Epoch, tr.Deadline, tr.Attempt = m.epoch, m.deadline, m.attempt
	return tr
}

// Restore puts the machine in the given state and epoch with a fresh window,
// as a supervisor does when it restarts a crashed driver from the last
// state that driver published. Deadline is the state's deadline, as
// published.
func (m *Machine) Restore(state State, epoch uint64, since, deadline time.Time, attempt int) {
	m.state, m.epoch, m.since, m.deadline, m.attempt = state, epoch, since, deadline, attempt
	m.win.reset()
	m.consec = 0
	m.inFlight = m.inFlight[:0]
	m.probesOK, m.probesBad, m.successRun = 0, 0, 0
}

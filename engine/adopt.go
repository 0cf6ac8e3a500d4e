package engine

import "time"

// Remote is a state decided somewhere else, as a driver hands it to
// Machine.Adopt: by another instance that shares a store with this one, or
// by an earlier process whose state a store kept.
//
// Only what is independent of the other side's clock travels: Remaining is
// a duration, never a timestamp, so clock skew between instances does not
// matter.
type Remote struct {
	State     State         // Open, ForcedOpen, Disabled or Closed; HalfOpen is never adopted
	Remaining time.Duration // Open: time left in the open period where it was decided
	Attempt   int           // the decider's failed recoveries since Closed
	Manual    bool          // an operator's Reset, ForceOpen or Disable: always adopted
	// SeenEpoch matters for an automatic Closed only: the latest epoch of
	// this machine that the decider had seen when it closed. A Closed is
	// adopted only if this machine has not tripped on its own since.
	SeenEpoch uint64
	Origin    string // the deciding instance; copied into the Transition
}

// Adopt applies a state decided elsewhere, at now, as a transition with
// ReasonRemote in a new epoch (so permits and probes granted before it are
// stale), or does nothing if the rules below keep the current state. The
// rules are biased to fail safe: opening spreads, closing must be current.
//
//   - An Open with Remaining > 0 is adopted with the deadline
//     now + Remaining, capped at the longest open duration the settings
//     allow (MaxOpenTimeout), and attempt = max(local, remote). A machine
//     already Open until at least that deadline keeps its period (it only
//     raises its attempt). An Open whose period has already ended
//     (Remaining ≤ 0) moves a Closed machine to HalfOpen, so that it
//     recovers through probes, and leaves any other state alone.
//   - A Manual record is always adopted: Closed (like Reset, even from
//     Closed: a new epoch, the window and attempt cleared), ForcedOpen and
//     Disabled (no-ops in their own state, like ForceOpen and Disable),
//     and Open (as above, but also over ForcedOpen and Disabled).
//     ForcedOpen and Disabled are operators' states: a record in either is
//     treated as Manual whatever its flag says.
//   - An automatic record never overrides ForcedOpen or Disabled: only an
//     operator's record changes an operator's state.
//   - An automatic Closed is adopted from Open or HalfOpen only if this
//     machine has not tripped on its own since the epoch the decider had
//     seen (OwnTrip() ≤ SeenEpoch); in Closed it changes nothing.
//
// The returned transition carries r.Origin.
func (m *Machine) Adopt(now time.Time, r Remote) Transition {
	manual := r.Manual || r.State == ForcedOpen || r.State == Disabled
	if !manual && (m.state == ForcedOpen || m.state == Disabled) {
		return Transition{}
	}
	var tr Transition
	switch r.State {
	case Open:
		tr = m.adoptOpen(now, r)
	case ForcedOpen, Disabled:
		if m.state != r.State {
			tr = m.enter(now, r.State, ReasonRemote, 0, 0)
		}
	case Closed:
		if manual || ((m.state == Open || m.state == HalfOpen) && m.ownTrip <= r.SeenEpoch) {
			m.attempt = 0
			tr = m.enter(now, Closed, ReasonRemote, 0, 0)
		}
	}
	if tr.Happened() {
		tr.Origin = r.Origin
	}
	return tr
}

// adoptOpen applies a remote Open; see Adopt.
func (m *Machine) adoptOpen(now time.Time, r Remote) Transition {
	attempt := max(m.attempt, r.Attempt)
	limit := max(m.s.MaxOpenTimeout, m.s.OpenTimeout)
	if r.Remaining <= 0 {
		if m.state != Closed {
			return Transition{}
		}
		m.attempt = attempt
		return m.enter(now, HalfOpen, ReasonRemote, 0, 0)
	}
	deadline := now.Add(min(r.Remaining, limit))
	m.attempt = attempt
	if m.state == Open && !m.deadline.Before(deadline) {
		return Transition{}
	}
	tr := m.enter(now, Open, ReasonRemote, 0, 0)
	m.deadline, tr.Deadline = deadline, deadline
	return tr
}

// OwnTrip returns the epoch that this machine's latest trip to Open of its
// own entered (0 if it never tripped): a trip from Closed, a reopen from
// HalfOpen, never an adopted Open. Drivers compare it with what another
// instance had seen before they adopt a Closed (see Adopt).
func (m *Machine) OwnTrip() uint64 { return m.ownTrip }

package engine

import "time"

// SameShape reports whether windows a and b keep the same calls: the same
// kind and, for a count window, the same Size; for a time window, the same
// bucket width and number of buckets. The fields of the other kind are
// ignored. A reconfiguration between windows of the same shape keeps the
// window as it is.
func SameShape(a, b Window) bool {
	if a.Kind != b.Kind {
		return false
	}
	if a.Kind == TimeBased {
		return a.BucketWidth() == b.BucketWidth() && max(a.Buckets, 1) == max(b.Buckets, 1)
	}
	return max(a.Size, 1) == max(b.Size, 1)
}

// Rebucket returns the bucket of width to that holds the start of bucket
// i of width from: ⌊i·from / to⌋. A time window given a new bucket width
// moves each bucket's calls there, so a call is never kept longer than
// the new window's duration.
func Rebucket(i int64, from, to time.Duration) int64 {
	if from == to {
		return i
	}
	a, b := i*int64(from), int64(max(to, 1))
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// Reconfigure gives the machine new settings without leaving its state:
// the state, the epoch, the backoff attempt and the probes in flight are
// kept. Then, by state:
//
//   - Closed and Disabled: the window is kept as it is if its shape is
//     unchanged (SameShape); a count window of another size keeps its
//     most recent calls (as many as fit); a time window with other buckets
//     keeps the buckets that still fit (see Rebucket); a window of another
//     kind starts empty. The failures in a row are kept. In Closed, if the
//     new trip conditions hold for what the window now holds, the machine
//     trips at once with ReasonReconfigured.
//   - Open: the open deadline is recomputed from when the breaker opened,
//     with the new OpenTimeout, BackoffMultiplier and MaxOpenTimeout for
//     the current attempt; if that is already past, it is now, and the
//     driver's next TickDue moves to HalfOpen.
//   - HalfOpen: the probes in flight and the tally of this period are
//     kept; a lower MaxProbes admits no new probe until enough report; the
//     new policy judges from the next report on. The MaxWait deadline is
//     recomputed from when the period began (at the earliest, now; none if
//     MaxWait is now 0).
//   - ForcedOpen: nothing but the settings.
//
// It returns the trip it made, if any. A driver that keeps its own
// Closed-state window uses ReconfigureCounts instead.
func (m *Machine) Reconfigure(now time.Time, s Settings) Transition {
	m.win = reshape(m.win, m.s.Window, s.Window, now) // the calls that have left the window by now are not carried over
	m.s = s
	return m.reconfigured(now, m.Counts(now))
}

// ReconfigureCounts is Reconfigure for a driver whose Closed-state window
// lives outside the machine (the actor's lock-free window): the driver
// reshapes its own window, and c is what that window holds afterwards,
// failures in a row included. The trip, if any, is decided on c.
func (m *Machine) ReconfigureCounts(now time.Time, s Settings, c Counts) Transition {
	m.win = reshape(m.win, m.s.Window, s.Window, now)
	m.s = s
	return m.reconfigured(now, c)
}

// reconfigured applies the new settings (already in m.s) to the state.
func (m *Machine) reconfigured(now time.Time, c Counts) Transition {
	switch m.state {
	case Closed:
		if v := m.s.Evaluate(c); v.Reason != ReasonNone {
			m.attempt = 0
			return m.enter(now, Open, ReasonReconfigured, v.Rate, v.Count)
		}
	case Open:
		m.deadline = later(m.since.Add(m.s.OpenDuration(m.attempt)), now)
	case HalfOpen:
		m.deadline = time.Time{}
		if m.s.HalfOpen.MaxWait > 0 {
			m.deadline = later(m.since.Add(m.s.HalfOpen.MaxWait), now)
		}
	}
	return Transition{}
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}

package breaker

import (
	"context"
	"errors"
	"math/big"
	"slices"
	"time"

	"github.com/breakerlabs/breaker/engine"
)

// refModel is a reference model of one breaker, written in plain
// sequential Go from the contract (ARCHITECTURE §2–§4), not from the engine: it
// keeps every counted outcome with its timestamp and recomputes the window
// from scratch on every read, so it shares no window, rate or backoff code
// with the implementations it judges.
//
// The details the contract leaves open follow the choices the
// implementation documents:
//
//   - the epoch starts at 1 and grows by one on every transition;
//   - Reset always transitions (Closed → Closed too); ForceOpen and Disable
//     do nothing in the state they lead to;
//   - entering Closed or Disabled clears the window and the failures in a
//     row; the window is only visible (and only counts) in those states;
//   - a half-open probe is bad if it failed, or if it was slow while
//     SlowCallRate > 0; a Strict reopen decided by a slow success has
//     reason ReasonProbeSlow, any other reopen by a probe
//     ReasonProbeFailed;
//   - the trip conditions are checked in the order consecutive failures,
//     failure rate, slow-call rate, after each counted outcome only;
//   - timeouts take effect at their own deadline, however late the
//     breaker looks: a long clock jump replays Open → HalfOpen at the open
//     deadline, then HalfOpen → Open at that plus MaxWait if a probe is
//     still in flight, and so on;
//   - a MaxWait that ends with no probe in flight restarts the half-open
//     period in place (ARCHITECTURE §2: no traffic is no evidence): no
//     transition, no new epoch, no backoff step; probes judged before it
//     keep counting, and the next MaxWait deadline is the first whole
//     MaxWait after it that lies in the future;
//   - a call's duration runs from Acquire to its report, on the breaker's
//     clock;
//   - a half-open probe's permit is single-use: its first report counts
//     (in the lifetime counters, and in the probe tally unless stale) and
//     every later one changes nothing at all (ARCHITECTURE §4: "a second
//     report of the same permit is ignored"; Permit: "not even the lifetime
//     metrics"); a Closed-state permit reported twice counts twice;
//   - every other report of a non-zero permit counts in the lifetime
//     counters, stale ones included;
//   - the report that crosses a trip threshold trips at its own time,
//     before it returns: every later Acquire is rejected with an
//     *OpenError whose Until is the open deadline. The actor breaker may
//     publish Open a little later than the report returns (its trip is
//     latched first), so until the actor is settled its State may still
//     read Closed: statesSeen says which states an unsettled reader may
//     see;
//   - half-open admission depends only on how many probes of the period
//     are in flight, however many goroutines ask at once: with k free
//     slots, k of them are admitted and the rest get ErrTooManyProbes;
//   - after Close the state is frozen (no timeout, command or report
//     changes it, nor the window's contents), Acquire returns ErrStopped
//     without counting a rejection, and reports still count in the
//     lifetime counters (Permit's documentation).
//
// Time may step back (an NTP step; a mock clock set back). The rule the
// model holds both drivers to, from what the issue of that name asks ("an
// open period of exactly the configured duration from the trip, whatever
// the clock did before") and engine.Machine's documentation:
//
//   - every transition happens at the clock's reading when its cause
//     happens (the report, command, adoption or reconfiguration), a
//     timeout at its own deadline; nothing is clamped to earlier readings,
//     so after a step back a transition (and Since) may be earlier than
//     the one before it. The new state's deadline counts from there: Open
//     lasts exactly its open duration from the trip on the clock;
//   - a deadline is an instant: a clock set back while it is pending has
//     to reach it again, and a timeout is due once the clock is at or past
//     it (so a step back never makes one due);
//   - a call's duration is the clock's reading at its report minus the one
//     at its Acquire, negative after a step back in between (never slow);
//   - a time window never goes back: a call counts at its report's time,
//     or at the latest time a call of the same window counted at, if that
//     is later; read at a time older than that latest time, the window is
//     read as of that latest time. Reading a window changes nothing (it
//     does not move that latest time, and what a read leaves out may be
//     counted by a read at an earlier time);
//   - a reconfiguration that changes a time window's buckets reads the old
//     window at the reconfiguration's time; the calls it keeps sit at the
//     start of their old bucket, and the new window's latest time is the
//     start of the old window's current bucket (the one holding the later
//     of the clock and the old latest time). One that keeps the window's
//     shape keeps the window as it is.
type refModel struct {
	cfg Config

	now      time.Time // the clock's reading: it may go back
	state    State
	epoch    uint64
	since    time.Time
	deadline time.Time // Open: the open deadline; HalfOpen: the MaxWait deadline; else zero
	attempt  int       // trips from HalfOpen since the breaker was last Closed
	ownTrip  uint64    // the epoch of the latest trip to Open that was not adopted

	calls  []modelCall // counted outcomes since the window was last cleared, oldest first
	consec int         // failures in a row since the window was last cleared
	newest time.Time   // a time window's latest time (see above); zero: none since it was cleared

	nextProbe uint64          // never reset: probe numbers are unique for the breaker's life
	probes    map[uint64]bool // outstanding probes of this half-open period
	reported  map[uint64]bool // probes reported at least once, in any period
	verdicts  []modelVerdict  // the probes judged in this half-open period, in order

	successes, failures, ignored, slowCalls, rejected uint64
	trips, transitions                                uint64

	events []modelEvent // every transition, in order

	stopped bool // Close was called: the state is frozen

	// latched is set by a trip from Closed and cleared by settled: until
	// then an implementation that latches trips may still show Closed.
	latched bool

	// measureFrom is when a reconfiguration last switched the measuring of
	// durations on (zero: measured from the start, or never).
	measureFrom time.Time
}

// modelCall is one counted outcome.
type modelCall struct {
	at            time.Time
	failure, slow bool
}

// modelVerdict is one judged half-open probe.
type modelVerdict struct {
	failed bool // reported as a failure
	slow   bool // took SlowCallDuration or longer
}

// bad reports whether the verdict counts against recovery: a failure, or
// a slow call when slow calls can trip the breaker.
func (v modelVerdict) bad(c Config) bool { return v.failed || (v.slow && c.SlowCallRate > 0) }

// modelPermit is the model's view of a granted permit.
type modelPermit struct {
	valid bool // false: the zero Permit
	epoch uint64
	probe uint64 // 0 for a Closed or Disabled call
	start time.Time
	// measured: the breaker measured durations when it was granted. A
	// call granted while nothing was measured has no start time: it is
	// timed from when measuring was switched on, wherever the clock was
	// when it was granted.
	measured bool
}

// modelEvent is a transition as the model makes it.
type modelEvent struct {
	from, to State
	reason   Reason
	at       time.Time
	rate     float64 // for the rate reasons
	count    int     // for ReasonConsecutiveFailures and ReasonProbesSucceeded
}

// modelOutcome is how a report ends, once Done's error is judged.
type modelOutcome uint8

const (
	modelSuccess modelOutcome = iota
	modelFailure
	modelIgnore
)

func (o modelOutcome) String() string {
	return [...]string{"success", "failure", "ignore"}[o]
}

// modelRejection is the class of an Acquire result.
type modelRejection uint8

const (
	modelAdmitted modelRejection = iota
	modelRejectOpen
	modelRejectTooMany
	modelRejectStopped
	modelRejectOther
)

func (r modelRejection) String() string {
	return [...]string{"admitted", "ErrOpen", "ErrTooManyProbes", "ErrStopped", "other error"}[r]
}

// modelClassify returns the class of an Acquire error.
func modelClassify(err error) modelRejection {
	switch {
	case err == nil:
		return modelAdmitted
	case errors.Is(err, ErrOpen):
		return modelRejectOpen
	case errors.Is(err, ErrTooManyProbes):
		return modelRejectTooMany
	case errors.Is(err, ErrStopped):
		return modelRejectStopped
	}
	return modelRejectOther
}

func newRefModel(cfg Config, now time.Time) *refModel {
	return &refModel{cfg: cfg, now: now, state: Closed, epoch: 1, since: now,
		probes: map[uint64]bool{}, reported: map[uint64]bool{}}
}

// advanceTo sets the model's clock to t, later or earlier, and applies
// every timeout due by then, each at its own deadline. It returns how many
// transitions that made.
func (m *refModel) advanceTo(t time.Time) int {
	m.now = t
	if m.stopped {
		return 0
	}
	n := 0
	for !m.deadline.IsZero() && !m.now.Before(m.deadline) {
		at := m.deadline
		switch m.state {
		case Open:
			m.enter(at, HalfOpen, ReasonOpenTimeout, 0, 0)
		case HalfOpen:
			if len(m.probes) == 0 {
				m.restartHalfOpen()
				continue // not a transition
			}
			m.attempt++
			m.enter(at, Open, ReasonHalfOpenTimeout, 0, 0)
		default:
			panic("model: deadline in state " + m.state.String())
		}
		n++
	}
	return n
}

// restartHalfOpen moves the MaxWait deadline, which has passed with no
// probe in flight, to the first deadline + k × MaxWait after now.
func (m *refModel) restartHalfOpen() {
	w := m.cfg.HalfOpen.MaxWait
	periods := m.now.Sub(m.deadline) / w // whole periods missed after the first
	m.deadline = m.deadline.Add(w * (periods + 1))
}

// capTimeouts returns d, or less if moving the clock by d would make more
// than limit timeouts due: then the longest advance that makes limit due.
// A half-open restart counts as a timeout here: it makes no transition,
// but an actor's timer fires for it.
// It changes nothing.
func (m *refModel) capTimeouts(d time.Duration, limit int) time.Duration {
	if m.stopped {
		return d
	}
	target := m.now.Add(d)
	state, attempt, deadline := m.state, m.attempt, m.deadline
	inFlight := len(m.probes) // no probe is admitted during the advance
	for n := 0; !deadline.IsZero() && !target.Before(deadline); n++ {
		if n == limit {
			return deadline.Sub(m.now) - 1
		}
		switch {
		case state == HalfOpen && inFlight == 0:
			// A restart: no transition, but a timer that fires all the same.
			deadline = deadline.Add(m.cfg.HalfOpen.MaxWait)
		case state == Open:
			state, inFlight = HalfOpen, 0
			if m.cfg.HalfOpen.MaxWait > 0 {
				deadline = deadline.Add(m.cfg.HalfOpen.MaxWait)
			} else {
				deadline = time.Time{}
			}
		default:
			state, attempt = Open, attempt+1
			deadline = deadline.Add(modelOpenDuration(m.cfg, attempt))
		}
	}
	return d
}

// acquire decides a call at the model's current time.
func (m *refModel) acquire() (modelPermit, modelRejection, time.Time) {
	if m.stopped {
		return modelPermit{}, modelRejectStopped, time.Time{}
	}
	switch m.state {
	case Closed, Disabled:
		return modelPermit{valid: true, epoch: m.epoch, start: m.now, measured: modelMeasures(m.cfg)}, modelAdmitted, time.Time{}
	case Open:
		m.rejected++
		return modelPermit{}, modelRejectOpen, m.deadline
	case ForcedOpen:
		m.rejected++
		return modelPermit{}, modelRejectOpen, time.Time{}
	}
	if len(m.probes) >= m.cfg.HalfOpen.MaxProbes {
		m.rejected++
		return modelPermit{}, modelRejectTooMany, time.Time{}
	}
	m.nextProbe++
	m.probes[m.nextProbe] = true
	return modelPermit{valid: true, epoch: m.epoch, probe: m.nextProbe, start: m.now, measured: modelMeasures(m.cfg)}, modelAdmitted, time.Time{}
}

// judge is Permit.Done's reading of err: nil is a success, an error the
// configured (or default) IsFailure accepts is a failure, any other is
// ignored. The default counts every error but context.Canceled.
func (m *refModel) judge(err error) modelOutcome {
	switch {
	case err == nil:
		return modelSuccess
	case m.cfg.IsFailure != nil && m.cfg.IsFailure(err):
		return modelFailure
	case m.cfg.IsFailure == nil && !errors.Is(err, context.Canceled):
		return modelFailure
	}
	return modelIgnore
}

// slow reports whether a call that took d is slow.
func (m *refModel) slow(d time.Duration) bool {
	return m.cfg.SlowCallDuration > 0 && d >= m.cfg.SlowCallDuration
}

// report applies the outcome of p at the model's current time.
func (m *refModel) report(p modelPermit, o modelOutcome) {
	if !p.valid {
		return // the zero Permit ignores every report
	}
	if p.probe != 0 {
		if m.reported[p.probe] {
			return // a probe's permit is single-use
		}
		m.reported[p.probe] = true
	}
	from := modelLater(p.start, m.measureFrom)
	if !p.measured {
		from = m.measureFrom
	}
	slow := m.slow(m.now.Sub(from))
	switch o {
	case modelSuccess:
		m.successes++
	case modelFailure:
		m.failures++
	default:
		m.ignored++
	}
	if slow {
		m.slowCalls++
	}
	if p.epoch != m.epoch || m.stopped {
		return // stale, or after Close: lifetime counters only
	}
	switch m.state {
	case Closed, Disabled:
		if p.probe != 0 || o == modelIgnore {
			return
		}
		failure := o == modelFailure
		if m.newest.IsZero() || m.now.After(m.newest) {
			m.newest = m.now
		}
		m.calls = append(m.calls, modelCall{at: m.newest, failure: failure, slow: slow})
		if failure {
			m.consec++
		} else {
			m.consec = 0
		}
		if m.state == Closed {
			m.tripIfDue()
		}
	case HalfOpen:
		if !m.probes[p.probe] {
			return // never issued here, or already reported
		}
		delete(m.probes, p.probe)
		if o == modelIgnore {
			return
		}
		m.verdicts = append(m.verdicts, modelVerdict{failed: o == modelFailure, slow: slow})
		m.decideHalfOpen()
	}
}

// tripIfDue trips a Closed breaker if a condition holds, in the contract's
// order.
func (m *refModel) tripIfDue() {
	c := m.cfg
	if c.ConsecutiveFailures > 0 && m.consec >= c.ConsecutiveFailures {
		m.trip(ReasonConsecutiveFailures, 0, m.consec)
		return
	}
	calls, fails, slow, _ := m.window()
	if calls == 0 || calls < c.MinimumCalls {
		return
	}
	if c.FailureRate > 0 {
		if r := float64(fails) / float64(calls); r >= c.FailureRate {
			m.trip(ReasonFailureRate, r, 0)
			return
		}
	}
	if c.SlowCallRate > 0 {
		if r := float64(slow) / float64(calls); r >= c.SlowCallRate {
			m.trip(ReasonSlowCallRate, r, 0)
		}
	}
}

func (m *refModel) trip(r Reason, rate float64, count int) {
	m.attempt = 0
	m.latched = true
	m.enter(m.now, Open, r, rate, count)
}

// decideHalfOpen applies the contract's half-open rules (ARCHITECTURE §2) to
// the probes judged so far in this period, from scratch: the model keeps
// the verdicts themselves, not running tallies.
//
// Strict: the period ends at the first bad probe (Open: ReasonProbeSlow
// if it succeeded slowly, else ReasonProbeFailed), so while it lasts every
// verdict is good, and it closes once there are SuccessThreshold of them.
// ByRate: once MinimumProbes are judged, Closed if good/judged ≥
// SuccessRate, else Open (ReasonProbeFailed); either with that rate.
func (m *refModel) decideHalfOpen() {
	h, n := m.cfg.HalfOpen, len(m.verdicts)
	if h.Mode == Strict {
		last := m.verdicts[n-1]
		switch {
		case last.failed:
			m.reopenFromProbes(ReasonProbeFailed, 0)
		case last.bad(m.cfg):
			m.reopenFromProbes(ReasonProbeSlow, 0)
		case modelGoodRun(m.verdicts, m.cfg) >= h.SuccessThreshold:
			m.enter(m.now, Closed, ReasonProbesSucceeded, 0, modelGoodRun(m.verdicts, m.cfg))
		}
		return
	}
	if n < h.MinimumProbes {
		return
	}
	good := 0
	for _, v := range m.verdicts {
		if !v.bad(m.cfg) {
			good++
		}
	}
	rate := float64(good) / float64(n)
	if rate >= h.SuccessRate {
		m.enter(m.now, Closed, ReasonProbesSucceeded, rate, n)
		return
	}
	m.reopenFromProbes(ReasonProbeFailed, rate)
}

// reopenFromProbes ends a half-open period in Open, one backoff step on.
func (m *refModel) reopenFromProbes(r Reason, rate float64) {
	m.attempt++
	m.enter(m.now, Open, r, rate, 0)
}

func (m *refModel) reset() {
	if m.stopped {
		return
	}
	m.attempt = 0
	m.enter(m.now, Closed, ReasonManual, 0, 0)
}

func (m *refModel) forceOpen() {
	if !m.stopped && m.state != ForcedOpen {
		m.enter(m.now, ForcedOpen, ReasonManual, 0, 0)
	}
}

func (m *refModel) disable() {
	if !m.stopped && m.state != Disabled {
		m.enter(m.now, Disabled, ReasonManual, 0, 0)
	}
}

// enter makes a transition at time at.
func (m *refModel) enter(at time.Time, to State, r Reason, rate float64, count int) {
	m.events = append(m.events, modelEvent{from: m.state, to: to, reason: r, at: at, rate: rate, count: count})
	m.transitions++
	if to == Open {
		m.trips++
	}
	m.state = to
	m.epoch++
	m.since = at
	m.deadline = time.Time{}
	clear(m.probes)
	m.verdicts = m.verdicts[:0]
	switch to {
	case Closed, Disabled:
		m.calls = m.calls[:0]
		m.consec = 0
		m.newest = time.Time{}
		if to == Closed {
			m.attempt = 0
		}
	case Open:
		m.deadline = at.Add(modelOpenDuration(m.cfg, m.attempt))
		if r != ReasonRemote {
			m.ownTrip = m.epoch
		}
	case HalfOpen:
		if m.cfg.HalfOpen.MaxWait > 0 {
			m.deadline = at.Add(m.cfg.HalfOpen.MaxWait)
		}
	}
}

// adopt applies a state decided elsewhere (ARCHITECTURE §8), by the rules
// "opening spreads, closing must be current, an operator always wins":
//
//   - ForcedOpen and Disabled are operators' states. A record in one of
//     them moves the breaker there (nothing if already there); an
//     automatic record (not Manual, not an operator's state) never moves
//     a breaker out of one.
//   - An Open with time left opens until now + min(left, the longest open
//     period the config allows), unless the breaker is already Open until
//     then or later; the attempt becomes the larger of the two either way.
//     An Open with no time left sends a Closed breaker to HalfOpen (with
//     the larger attempt) and changes nothing else.
//   - A Manual Closed always closes (a new epoch even from Closed); an
//     automatic one closes an Open or HalfOpen breaker only if the
//     breaker's latest own trip is no later than the epoch the decider saw.
func (m *refModel) adopt(r engine.Remote) {
	if m.stopped {
		return
	}
	operator := r.State == ForcedOpen || r.State == Disabled
	if !r.Manual && !operator && (m.state == ForcedOpen || m.state == Disabled) {
		return
	}
	switch {
	case operator:
		if m.state != r.State {
			m.enter(m.now, r.State, ReasonRemote, 0, 0)
		}
	case r.State == Closed:
		current := (m.state == Open || m.state == HalfOpen) && m.ownTrip <= r.SeenEpoch
		if r.Manual || current {
			m.enter(m.now, Closed, ReasonRemote, 0, 0)
		}
	case r.State == Open && r.Remaining > 0:
		m.attempt = max(m.attempt, r.Attempt)
		longest := max(m.cfg.MaxOpenTimeout, m.cfg.OpenTimeout)
		until := m.now.Add(min(r.Remaining, longest))
		if m.state == Open && !until.After(m.deadline) {
			return
		}
		m.enter(m.now, Open, ReasonRemote, 0, 0)
		m.deadline = until
	case r.State == Open && m.state == Closed:
		m.attempt = max(m.attempt, r.Attempt)
		m.enter(m.now, HalfOpen, ReasonRemote, 0, 0)
	}
}

// statesSeen returns the states a reader of an implementation that has
// not been settled since the last report may see: the model's, and
// Closed too while a trip from Closed may still be only latched.
func (m *refModel) statesSeen() []State {
	if m.latched && m.state == Open && !m.stopped {
		return []State{Open, Closed}
	}
	return []State{m.state}
}

// settled records that the implementations have made every latched trip
// formal.
func (m *refModel) settled() { m.latched = false }

// close stops the breaker.
func (m *refModel) close() { m.stopped = true }

// modelOpenDuration is OpenTimeout × BackoffMultiplier^attempt, capped at
// MaxOpenTimeout, computed exactly (with rationals) and truncated to the
// nanosecond.
func modelOpenDuration(c Config, attempt int) time.Duration {
	limit := new(big.Rat).SetInt64(int64(max(c.MaxOpenTimeout, c.OpenTimeout)))
	d := new(big.Rat).SetInt64(int64(c.OpenTimeout))
	mult := new(big.Rat).SetFloat64(c.BackoffMultiplier)
	for i := 0; i < attempt && d.Cmp(limit) < 0; i++ {
		d.Mul(d, mult)
	}
	if d.Cmp(limit) >= 0 {
		return time.Duration(limit.Num().Int64())
	}
	q := new(big.Int).Quo(d.Num(), d.Denom()) // d > 0: truncation is the floor
	return time.Duration(q.Int64())
}

// window returns the counts of the window at the model's current time
// (calls, failures, slow calls, and slow calls that failed),
// recomputed from the recorded outcomes (windowCalls).
func (m *refModel) window() (calls, fails, slow, slowFails int) {
	if m.state != Closed && m.state != Disabled {
		return 0, 0, 0, 0
	}
	for _, c := range m.windowCalls() {
		calls++
		if c.failure {
			fails++
		}
		if c.slow {
			slow++
		}
		if c.slow && c.failure {
			slowFails++
		}
	}
	return calls, fails, slow, slowFails
}

func modelFloorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// metrics is the snapshot the model expects from Metrics (Name aside).
func (m *refModel) metrics() Metrics {
	calls, fails, slow, slowFails := m.window()
	mt := Metrics{
		State:              m.state,
		Since:              m.since,
		WindowCalls:        calls,
		WindowFailures:     fails,
		WindowSlowCalls:    slow,
		WindowSlowFailures: slowFails,
		FailureRate:        -1,
		SlowCallRate:       -1,
		Successes:          m.successes,
		Failures:           m.failures,
		Ignored:            m.ignored,
		SlowCalls:          m.slowCalls,
		Rejected:           m.rejected,
		Trips:              m.trips,
		Transitions:        m.transitions,
	}
	if m.state == Open {
		mt.OpenUntil = m.deadline
	}
	if m.state == Closed || m.state == Disabled {
		mt.ConsecutiveFailures = m.consec
	}
	if m.state == HalfOpen {
		mt.HalfOpenInFlight = len(m.probes)
	}
	if calls > 0 && calls >= m.cfg.MinimumCalls {
		mt.FailureRate = float64(fails) / float64(calls)
		mt.SlowCallRate = float64(slow) / float64(calls)
	}
	return mt
}

// reconfigure gives the model a new configuration (ARCHITECTURE §11 and
// Supervisor.Reconfigure's documentation), at the model's current time:
//
//   - after Close nothing changes;
//   - the state, epoch, attempt, lifetime counters, probes in flight and
//     probe tally are kept; the new policy judges the next probe;
//   - a window of the same shape is kept as it is; another keeps the calls
//     it holds now that fit the new one: for two count windows, the most
//     recent calls (at most the new Size); for two time windows, every
//     call, moved to the start of the old bucket it was in (so the new
//     buckets, read at any later time, keep what fits), with the window's
//     latest time as the type's comment says; for windows of different
//     kinds, none. The failures in a row are kept;
//   - Closed trips now if a condition holds, with ReasonReconfigured;
//   - Open's deadline becomes when it opened plus the new open duration
//     for the attempt, HalfOpen's when it began plus the new MaxWait (none
//     if 0), at the earliest now; a deadline that is now is applied now;
//   - durations: a call admitted while nothing was measured (no slow-call
//     tracking, no time window) has no start time and is timed from when
//     measuring was switched on, even if the clock read later when it was
//     admitted (a step back in between); a measured call is timed from the
//     later of its start and that switch-on.
func (m *refModel) reconfigure(cfg Config) {
	if m.stopped {
		return
	}
	old := m.cfg
	if !modelSameShape(old.Window, cfg.Window) {
		var in []modelCall
		if m.state == Closed || m.state == Disabled {
			in = m.windowCalls()
		}
		switch w := cfg.Window; {
		case w.Kind != old.Window.Kind:
			in, m.newest = nil, time.Time{}
		case w.Kind == CountBased:
			in = in[max(0, len(in)-w.Size):]
		default:
			width := int64(old.Window.Duration) / int64(old.Window.Buckets)
			start := func(t time.Time) time.Time { return time.Unix(0, modelFloorDiv(t.UnixNano(), width)*width) }
			for i := range in {
				in[i].at = start(in[i].at)
			}
			m.newest = start(modelLater(m.now, m.newest))
		}
		m.calls = in
	}
	for i, v := range m.verdicts {
		// A probe is judged when it reports, by the configuration of the
		// moment: a later SlowCallRate does not judge it again.
		m.verdicts[i] = modelVerdict{failed: v.bad(old)}
	}
	if modelMeasures(cfg) && !modelMeasures(old) {
		m.measureFrom = m.now
	}
	m.cfg = cfg
	switch m.state {
	case Closed:
		n := len(m.events)
		m.tripIfDue()
		if len(m.events) > n {
			m.events[n].reason = ReasonReconfigured
		}
	case Open:
		m.deadline = modelLater(m.since.Add(modelOpenDuration(cfg, m.attempt)), m.now)
	case HalfOpen:
		m.deadline = time.Time{}
		if cfg.HalfOpen.MaxWait > 0 {
			m.deadline = modelLater(m.since.Add(cfg.HalfOpen.MaxWait), m.now)
		}
	}
	m.advanceTo(m.now)
}

// windowCalls returns (a copy of) the calls in the window now, oldest
// first: the last Window.Size of them for a count window; for a time
// window, those counted at a time t with floor(t/width) > floor(cur/width)
// − Buckets, where width is Window.Duration / Window.Buckets and cur the
// later of now and the window's latest time.
func (m *refModel) windowCalls() []modelCall {
	w := m.cfg.Window
	if w.Kind == CountBased {
		return slices.Clone(m.calls[max(0, len(m.calls)-w.Size):])
	}
	width := int64(w.Duration) / int64(w.Buckets)
	cur := modelFloorDiv(modelLater(m.now, m.newest).UnixNano(), width)
	return slices.DeleteFunc(slices.Clone(m.calls), func(c modelCall) bool {
		return modelFloorDiv(c.at.UnixNano(), width) <= cur-int64(w.Buckets)
	})
}

// modelGoodRun is how many verdicts in a row, to the last, are good.
// Without reconfiguration a Strict period holds only good verdicts; one
// switched to Strict from ByRate counts the good run since the last bad.
func modelGoodRun(vs []modelVerdict, cfg Config) int {
	n := 0
	for i := len(vs) - 1; i >= 0 && !vs[i].bad(cfg); i-- {
		n++
	}
	return n
}

// modelSameShape reports whether a reconfiguration from window a to b
// keeps the window as it is: the same kind, and the same Size, or the same
// bucket width and number of buckets.
func modelSameShape(a, b Window) bool {
	switch {
	case a.Kind != b.Kind:
		return false
	case a.Kind == CountBased:
		return a.Size == b.Size
	}
	return a.Buckets == b.Buckets && a.Duration/time.Duration(a.Buckets) == b.Duration/time.Duration(b.Buckets)
}

// modelMeasures reports whether a breaker with cfg times its calls.
func modelMeasures(cfg Config) bool {
	return cfg.SlowCallDuration > 0 || cfg.Window.Kind == TimeBased
}

func modelLater(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}

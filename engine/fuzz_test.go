package engine_test

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/breakerlabs/breaker/engine"
)

// This file checks Machine against refModel, a deliberately naive model
// of ARCHITECTURE §2 written without looking at how machine.go keeps its
// books: the window is a plain slice of timestamped outcomes, recomputed
// from scratch on every read; thresholds are compared as exact fractions;
// backoff is computed with exact rationals; a half-open restart is
// computed as a count of whole MaxWaits.
//
// Semantics ARCHITECTURE §2 leaves open, and which the model shares with the
// machine: the epoch starts at 1 and grows on every transition; Reset
// always transitions (Closed → Closed too); ForceOpen and Disable are
// no-ops in their own state; entering Closed or Disabled clears the window
// and the failure streak, other states keep them (for metrics); a probe is
// bad if it failed, or if it was slow while SlowCallRate > 0; Ignore is
// never counted; consecutive failures are checked before the failure rate,
// which is checked before the slow-call rate; a slow failure counts as
// both. Time (the Machine's documentation): a transition is stamped with
// the time given for it, a timeout with its deadline, and deadlines are
// measured from the stamp, whatever times came before (a clock may step
// back: nothing is clamped); a call is recorded at its time, or at the
// newest time a call was recorded at in this window if that is later; a
// read at a time older than that reads as of that time, and changes
// nothing.

// rateDen is the denominator of every rate the fuzzer chooses, so the
// model can compare rates exactly: f/c ≥ k/rateDen ⇔ f·rateDen ≥ k·c.
const rateDen = 20

type refCall struct {
	at            time.Time // the report's time, or the newest record's if later
	failure, slow bool
}

type refModel struct {
	s                      engine.Settings
	failK, slowK, successK int // FailureRate, SlowCallRate, SuccessRate as k/rateDen
	state                  engine.State
	epoch                  uint64
	since, deadline        time.Time
	newest                 time.Time // the latest time a call in the window was recorded at (zero: none)
	attempt                int
	ownTrip                uint64 // epoch of the latest trip to Open not adopted from elsewhere

	calls  []refCall // counted calls since the window was last cleared
	streak int       // failures in a row since the window was last cleared

	issued   map[uint64]bool // probe numbers handed out this epoch
	inFlight map[uint64]bool // ... and not yet reported
	good     int             // good probes this epoch
	bad      int             // bad probes this epoch
	goodRun  int             // good probes in a row this epoch
}

func newRefModel(s engine.Settings, failK, slowK, successK int, now time.Time) *refModel {
	return &refModel{
		s: s, failK: failK, slowK: slowK, successK: successK,
		state: engine.Closed, epoch: 1, since: now,
		issued: map[uint64]bool{}, inFlight: map[uint64]bool{},
	}
}

// latest returns the later of a and b.
func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// floorDiv is ⌊a/b⌋ for b > 0, written differently from BucketIndex.
func floorDiv(a, b int64) int64 {
	if a >= 0 {
		return a / b
	}
	return -((-a + b - 1) / b)
}

// inWindow returns the calls in the window at time now: for a count
// window the last Size calls; for a time window the calls recorded at t
// with ⌊t/width⌋ > ⌊cur/width⌋ − Buckets, where cur is the later of now
// and the newest record's time.
func (r *refModel) inWindow(now time.Time) []refCall {
	w := r.s.Window
	if w.Kind == engine.CountBased {
		return r.calls[max(0, len(r.calls)-w.Size):]
	}
	var in []refCall
	width := int64(w.Duration) / int64(w.Buckets)
	cur := floorDiv(latest(now, r.newest).UnixNano(), width)
	for _, c := range r.calls {
		if floorDiv(c.at.UnixNano(), width) > cur-int64(w.Buckets) {
			in = append(in, c)
		}
	}
	return in
}

// window returns the counts of the window at time now.
func (r *refModel) window(now time.Time) (calls, failures, slow, slowFails int) {
	for _, c := range r.inWindow(now) {
		calls++
		if c.failure {
			failures++
		}
		if c.slow {
			slow++
			if c.failure {
				slowFails++
			}
		}
	}
	return calls, failures, slow, slowFails
}

func (r *refModel) counts(now time.Time) engine.Counts {
	c, f, s, sf := r.window(now)
	return engine.Counts{Calls: c, Failures: f, SlowCalls: s, SlowFailures: sf, ConsecutiveFailures: r.streak}
}

// openDuration is min(OpenTimeout × BackoffMultiplier^attempt, cap),
// computed exactly and truncated to whole nanoseconds.
func (r *refModel) openDuration() time.Duration {
	if r.s.BackoffMultiplier <= 1 {
		return r.s.OpenTimeout // OpenTimeout × 1^attempt
	}
	d := new(big.Rat).SetInt64(int64(r.s.OpenTimeout))
	limit := new(big.Rat).SetInt64(int64(max(r.s.MaxOpenTimeout, r.s.OpenTimeout)))
	mult := new(big.Rat).SetFloat64(r.s.BackoffMultiplier)
	for i := 0; i < r.attempt && d.Cmp(limit) < 0; i++ {
		d.Mul(d, mult)
	}
	if d.Cmp(limit) > 0 {
		d = limit
	}
	return time.Duration(new(big.Int).Quo(d.Num(), d.Denom()).Int64())
}

func (r *refModel) enter(at time.Time, to engine.State, reason engine.Reason, rate float64, count int) engine.Transition {
	tr := engine.Transition{From: r.state, To: to, Reason: reason, Rate: rate, Count: count, At: at}
	r.state = to
	r.epoch++
	r.since = at
	r.deadline = time.Time{}
	r.issued, r.inFlight = map[uint64]bool{}, map[uint64]bool{}
	r.good, r.bad, r.goodRun = 0, 0, 0
	switch to {
	case engine.Closed:
		r.attempt = 0
		r.calls, r.streak, r.newest = nil, 0, time.Time{}
	case engine.Disabled:
		r.calls, r.streak, r.newest = nil, 0, time.Time{}
	case engine.Open:
		r.deadline = at.Add(r.openDuration())
		if reason != engine.ReasonRemote {
			r.ownTrip = r.epoch
		}
	case engine.HalfOpen:
		if r.s.HalfOpen.MaxWait > 0 {
			r.deadline = at.Add(r.s.HalfOpen.MaxWait)
		}
	}
	tr.Epoch, tr.Deadline = r.epoch, r.deadline
	return tr
}

// adopt is Machine.Adopt's rules written as a decision table over the
// model's state: an operator's state moves only for an operator's record;
// Open spreads (the later deadline wins, the attempt is the larger); an
// automatic Closed needs a decider that saw the latest own trip.
func (r *refModel) adopt(now time.Time, rm engine.Remote) engine.Transition {
	operator := rm.State == engine.ForcedOpen || rm.State == engine.Disabled
	manual := rm.Manual || operator
	local := r.state
	if !manual && (local == engine.ForcedOpen || local == engine.Disabled) {
		return engine.Transition{}
	}
	var tr engine.Transition
	switch {
	case operator && local == rm.State:
	case operator:
		tr = r.enter(now, rm.State, engine.ReasonRemote, 0, 0)
	case rm.State == engine.Closed && manual:
		tr = r.enter(now, engine.Closed, engine.ReasonRemote, 0, 0)
	case rm.State == engine.Closed:
		if (local == engine.Open || local == engine.HalfOpen) && r.ownTrip <= rm.SeenEpoch {
			tr = r.enter(now, engine.Closed, engine.ReasonRemote, 0, 0)
		}
	case rm.State == engine.Open && rm.Remaining <= 0:
		if local == engine.Closed {
			r.attempt = max(r.attempt, rm.Attempt)
			tr = r.enter(now, engine.HalfOpen, engine.ReasonRemote, 0, 0)
		}
	case rm.State == engine.Open:
		r.attempt = max(r.attempt, rm.Attempt)
		period := rm.Remaining
		if cap := max(r.s.MaxOpenTimeout, r.s.OpenTimeout); period > cap {
			period = cap
		}
		until := now.Add(period)
		if local == engine.Open && r.deadline.After(until) || local == engine.Open && r.deadline.Equal(until) {
			break
		}
		tr = r.enter(now, engine.Open, engine.ReasonRemote, 0, 0)
		r.deadline, tr.Deadline = until, until
	}
	if tr.Happened() {
		tr.Origin = rm.Origin
	}
	return tr
}

// verdict is ARCHITECTURE §2's list of trip conditions, in order.
func (r *refModel) verdict(c engine.Counts) (engine.Reason, float64, int) {
	s := &r.s
	if s.ConsecutiveFailures > 0 && c.ConsecutiveFailures >= s.ConsecutiveFailures {
		return engine.ReasonConsecutiveFailures, 0, c.ConsecutiveFailures
	}
	if c.Calls < max(s.MinimumCalls, 1) {
		return engine.ReasonNone, 0, 0
	}
	if r.failK > 0 && c.Failures*rateDen >= r.failK*c.Calls {
		return engine.ReasonFailureRate, float64(c.Failures) / float64(c.Calls), 0
	}
	if r.slowK > 0 && c.SlowCalls*rateDen >= r.slowK*c.Calls {
		return engine.ReasonSlowCallRate, float64(c.SlowCalls) / float64(c.Calls), 0
	}
	return engine.ReasonNone, 0, 0
}

func (r *refModel) tripIf(now time.Time, c engine.Counts) engine.Transition {
	if r.state != engine.Closed {
		return engine.Transition{}
	}
	reason, rate, count := r.verdict(c)
	if reason == engine.ReasonNone {
		return engine.Transition{}
	}
	return r.enter(now, engine.Open, reason, rate, count)
}

func (r *refModel) slow(d time.Duration) bool {
	return r.s.SlowCallDuration > 0 && d >= r.s.SlowCallDuration
}

// admit returns the expected rejection; for an admitted half-open probe
// the caller hands the machine's probe number to probeIssued.
func (r *refModel) admit(time.Time) engine.Rejection {
	switch r.state {
	case engine.Open:
		return engine.RejectOpen
	case engine.ForcedOpen:
		return engine.RejectForced
	case engine.HalfOpen:
		if len(r.inFlight) >= r.s.HalfOpen.MaxProbes {
			return engine.RejectTooMany
		}
	}
	return engine.Admitted
}

func (r *refModel) report(now time.Time, tk engine.Ticket, o engine.Outcome, d time.Duration) (engine.Transition, bool) {
	if tk.Epoch != r.epoch {
		return engine.Transition{}, false
	}
	switch r.state {
	case engine.Closed, engine.Disabled:
		if tk.Probe != 0 || o == engine.Ignore {
			return engine.Transition{}, false
		}
		r.newest = latest(now, r.newest)
		r.calls = append(r.calls, refCall{at: r.newest, failure: o == engine.Failure, slow: r.slow(d)})
		if o == engine.Failure {
			r.streak++
		} else {
			r.streak = 0
		}
		if r.state == engine.Disabled {
			return engine.Transition{}, true
		}
		return r.tripIf(now, r.counts(now)), true
	case engine.HalfOpen:
		if !r.inFlight[tk.Probe] {
			return engine.Transition{}, false
		}
		delete(r.inFlight, tk.Probe)
		if o == engine.Ignore {
			return engine.Transition{}, false
		}
		return r.probe(now, o == engine.Failure, r.slowK > 0 && r.slow(d)), true
	}
	return engine.Transition{}, false
}

// probe judges a completed probe: bad if it failed or (with slow-call
// tripping on) was slow. A Strict reopen by a slow success says so.
func (r *refModel) probe(now time.Time, failed, slow bool) engine.Transition {
	p := r.s.HalfOpen
	bad := failed || slow
	if bad {
		r.bad++
		r.goodRun = 0
	} else {
		r.good++
		r.goodRun++
	}
	if p.Mode == engine.Strict {
		switch {
		case failed:
			r.attempt++
			return r.enter(now, engine.Open, engine.ReasonProbeFailed, 0, r.good)
		case slow:
			r.attempt++
			return r.enter(now, engine.Open, engine.ReasonProbeSlow, 0, r.good)
		case r.goodRun >= p.SuccessThreshold:
			return r.enter(now, engine.Closed, engine.ReasonProbesSucceeded, 0, r.goodRun)
		}
		return engine.Transition{}
	}
	done := r.good + r.bad
	if done < p.MinimumProbes {
		return engine.Transition{}
	}
	rate := float64(r.good) / float64(done)
	if r.good*rateDen >= r.successK*done {
		return r.enter(now, engine.Closed, engine.ReasonProbesSucceeded, rate, done)
	}
	r.attempt++
	return r.enter(now, engine.Open, engine.ReasonProbeFailed, rate, done)
}

func (r *refModel) tick(now time.Time) engine.Transition {
	if r.deadline.IsZero() || now.Before(r.deadline) {
		return engine.Transition{}
	}
	switch r.state {
	case engine.Open:
		return r.enter(now, engine.HalfOpen, engine.ReasonOpenTimeout, 0, 0)
	case engine.HalfOpen:
		if len(r.inFlight) == 0 {
			// No traffic is no evidence: the period restarts in place,
			// its MaxWait deadline the first of deadline + k·MaxWait
			// (k ≥ 1) after now.
			w := int64(r.s.HalfOpen.MaxWait)
			k := floorDiv(now.Sub(r.deadline).Nanoseconds(), w) + 1
			r.deadline = r.deadline.Add(time.Duration(k * w))
			return engine.Transition{}
		}
		r.attempt++
		return r.enter(now, engine.Open, engine.ReasonHalfOpenTimeout, 0, len(r.inFlight))
	}
	return engine.Transition{}
}

// tickDue is tick at the deadline rather than at now, except that a
// half-open restart lands after now itself (not after its deadline).
func (r *refModel) tickDue(now time.Time) engine.Transition {
	if r.deadline.IsZero() || now.Before(r.deadline) {
		return engine.Transition{}
	}
	if r.state == engine.HalfOpen && len(r.inFlight) == 0 {
		return r.tick(now)
	}
	return r.tick(r.deadline)
}

func (r *refModel) reset(now time.Time) engine.Transition {
	return r.enter(now, engine.Closed, engine.ReasonManual, 0, 0)
}

func (r *refModel) forceOpen(now time.Time) engine.Transition {
	if r.state == engine.ForcedOpen {
		return engine.Transition{}
	}
	return r.enter(now, engine.ForcedOpen, engine.ReasonManual, 0, 0)
}

func (r *refModel) disable(now time.Time) engine.Transition {
	if r.state == engine.Disabled {
		return engine.Transition{}
	}
	return r.enter(now, engine.Disabled, engine.ReasonManual, 0, 0)
}

// reconfigure gives the model new settings, from the contract's words
// (ARCHITECTURE §11, engine.Machine.Reconfigure): state, epoch, attempt and
// probes kept; a window of the same shape (kind, and Size, or bucket width
// and count) kept as it is; otherwise the calls in the window at now
// carried over if they fit the new window (a count window keeps its most
// recent calls; a time window with other buckets keeps a call, moved to
// the start of the bucket it was in, if that time is inside the new
// window, whose newest record is then the start of the old window's
// current bucket, even if it was empty); failures in a row kept; Closed trips now if a new
// condition holds; the deadlines of Open and HalfOpen recomputed from when
// the state was entered, at the earliest now.
func (r *refModel) reconfigure(now time.Time, s engine.Settings, failK, slowK, successK int) engine.Transition {
	oldW, w := r.s.Window, s.Window
	same := oldW.Kind == w.Kind && (w.Kind == engine.CountBased && oldW.Size == w.Size ||
		w.Kind == engine.TimeBased && oldW.Buckets == w.Buckets && oldW.Duration/time.Duration(oldW.Buckets) == w.Duration/time.Duration(w.Buckets))
	if !same {
		in := r.inWindow(now)
		switch {
		case w.Kind != oldW.Kind:
			in, r.newest = nil, time.Time{}
		case w.Kind == engine.CountBased:
			in = in[max(0, len(in)-w.Size):]
		default:
			oldWidth := int64(oldW.Duration) / int64(oldW.Buckets)
			start := func(t time.Time) time.Time { return time.Unix(0, floorDiv(t.UnixNano(), oldWidth)*oldWidth) }
			moved := make([]refCall, len(in))
			for i, c := range in {
				c.at = start(c.at)
				moved[i] = c
			}
			in = moved
			r.newest = start(latest(now, r.newest))
		}
		r.calls = in
	}
	r.s, r.failK, r.slowK, r.successK = s, failK, slowK, successK
	later := func(t time.Time) time.Time { return latest(t, now) }
	switch r.state {
	case engine.Closed:
		if reason, rate, count := r.verdict(r.counts(now)); reason != engine.ReasonNone {
			r.attempt = 0
			return r.enter(now, engine.Open, engine.ReasonReconfigured, rate, count)
		}
	case engine.Open:
		r.deadline = later(r.since.Add(r.openDuration()))
	case engine.HalfOpen:
		r.deadline = time.Time{}
		if s.HalfOpen.MaxWait > 0 {
			r.deadline = later(r.since.Add(s.HalfOpen.MaxWait))
		}
	}
	return engine.Transition{}
}

// script decodes fuzz bytes; past the end it reads zeros.
type script struct {
	b []byte
	i int
}

func (s *script) done() bool { return s.i >= len(s.b) }

func (s *script) byte() byte {
	if s.i >= len(s.b) {
		return 0
	}
	s.i++
	return s.b[s.i-1]
}

// n returns a number in [0, k), k ≤ 256.
func (s *script) n(k int) int { return int(s.byte()) % k }

func (s *script) u16() int { return int(s.byte())<<8 | int(s.byte()) }

var fuzzUnits = []time.Duration{1, 3, time.Microsecond, time.Millisecond, time.Second}

func (s *script) unit() time.Duration { return fuzzUnits[s.n(len(fuzzUnits))] }

// settings decodes valid Settings, and its rates as k/rateDen.
func (s *script) settings() (st engine.Settings, failK, slowK, successK int) {
	if s.n(2) == 0 {
		st.Window = engine.Window{Kind: engine.CountBased, Size: 1 + s.n(16)}
	} else {
		b := 1 + s.n(8)
		st.Window = engine.Window{Kind: engine.TimeBased, Buckets: b, Duration: s.unit() * time.Duration(b+s.n(8*b))}
	}
	st.MinimumCalls = s.n(8)
	if s.n(3) == 0 {
		st.ConsecutiveFailures = 1 + s.n(6)
	}
	failK = s.n(rateDen + 1)
	if s.n(2) == 0 {
		st.SlowCallDuration = s.unit() * time.Duration(1+s.n(16))
		slowK = s.n(rateDen + 1)
	}
	if st.ConsecutiveFailures == 0 && failK == 0 && slowK == 0 {
		st.ConsecutiveFailures = 1 + s.n(6)
	}
	st.FailureRate = float64(failK) / rateDen
	st.SlowCallRate = float64(slowK) / rateDen
	st.OpenTimeout = s.unit() * time.Duration(1+s.n(16))
	st.BackoffMultiplier = []float64{1, 1.5, 2, 3}[s.n(4)]
	st.MaxOpenTimeout = st.OpenTimeout * time.Duration(1+s.n(64))
	successK = 1 + s.n(rateDen)
	st.HalfOpen = engine.HalfOpenPolicy{
		MaxProbes:        1 + s.n(4),
		Mode:             engine.HalfOpenMode(s.n(2)),
		SuccessThreshold: 1 + s.n(4),
		MinimumProbes:    1 + s.n(5),
		SuccessRate:      float64(successK) / rateDen,
	}
	if s.n(3) != 0 {
		st.HalfOpen.MaxWait = s.unit() * time.Duration(1+s.n(16))
	}
	return st, failK, slowK, successK
}

var (
	fuzzStarts = []time.Time{
		time.Unix(1_700_000_000, 0),
		time.Unix(0, 0),
		time.Unix(-1, 999_999_999),
		time.Unix(-365*86400, 7),
	}
	fuzzLatest = time.Unix(9_000_000_000, 0) // UnixNano is defined up to 2262
)

// maxFuzzSteps bounds one input's run time.
const maxFuzzSteps = 4096

// fuzzStep records one operation of a script, formatted only when a
// difference is reported (formatting every step would halve the fuzzer's
// speed).
type fuzzStep struct {
	op      string // "Admit", "Report", "clock", "Tick", …
	at      time.Time
	tk      engine.Ticket
	rej     engine.Rejection
	o       engine.Outcome
	d       time.Duration // Report: the call's duration; clock: the step
	c       engine.Counts // TripIf's argument, Counts' result
	counted bool
	tr      engine.Transition
	rm      engine.Remote   // Adopt's argument
	s       engine.Settings // Reconfigure's argument
}

func (st fuzzStep) String() string {
	var b strings.Builder
	switch st.op {
	case "Admit":
		fmt.Fprintf(&b, "Admit(%v) = %+v, rejection %d", st.at, st.tk, st.rej)
	case "Report":
		fmt.Fprintf(&b, "Report(%v, %+v, %v, %v) counted %v", st.at, st.tk, st.o, st.d, st.counted)
	case "clock", "clock+Tick":
		fmt.Fprintf(&b, "%s %+v → %v", st.op, st.d, st.at)
	case "Adopt":
		fmt.Fprintf(&b, "Adopt(%v, %+v)", st.at, st.rm)
	case "Reconfigure":
		fmt.Fprintf(&b, "Reconfigure(%v, %+v)", st.at, st.s)
	case "TripIf", "Counts":
		fmt.Fprintf(&b, "%s(%v) %+v", st.op, st.at, st.c)
	default:
		fmt.Fprintf(&b, "%s(%v)", st.op, st.at)
	}
	if st.tr.Happened() {
		fmt.Fprintf(&b, "\n    → %v %v→%v epoch %d deadline %v", st.tr.Reason, st.tr.From, st.tr.To, st.tr.Epoch, st.tr.Deadline)
	}
	return b.String()
}

// checkScript runs the script data on a Machine and on the model and fails
// t at the first difference. observe, if not nil, sees every transition.
func checkScript(t *testing.T, data []byte, observe func(engine.Transition)) {
	s := &script{b: data}
	st, failK, slowK, successK := s.settings()
	clk := fuzzStarts[s.n(len(fuzzStarts))].Add(time.Duration(s.u16()) * s.unit())
	m := engine.NewMachine(st, clk)
	r := newRefModel(st, failK, slowK, successK, clk)

	var (
		tickets []engine.Ticket
		trace   [40]fuzzStep // the last steps, a ring
		steps   int
		cur     fuzzStep
	)
	fail := func(format string, args ...any) {
		t.Helper()
		var b strings.Builder
		for i := max(0, steps-len(trace)); i < steps; i++ {
			fmt.Fprintf(&b, "  %s\n", trace[i%len(trace)])
		}
		t.Fatalf("settings %+v\nsteps before:\n%sstep %d: %s\n%s", st, b.String(), steps, cur, fmt.Sprintf(format, args...))
	}
	same := func(got, want engine.Transition) {
		t.Helper()
		cur.tr = got
		if got.From != want.From || got.To != want.To || got.Reason != want.Reason ||
			got.Rate != want.Rate || got.Count != want.Count || got.Epoch != want.Epoch ||
			!got.At.Equal(want.At) || !got.Deadline.Equal(want.Deadline) || got.Origin != want.Origin {
			fail("transition\n  machine %+v\n  model   %+v", got, want)
		}
		if got.Happened() && observe != nil {
			observe(got)
		}
	}

	for ; !s.done() && steps < maxFuzzSteps; steps++ {
		code := s.n(32)
		if code >= 25 && code <= 27 && s.n(4) != 0 {
			code = 28 // manual transitions are rarer: most become a Counts
		}
		cur = fuzzStep{at: clk}
		switch {
		case code < 7:
			cur.op = "Admit"
			tk, rej := m.Admit(clk)
			cur.tk, cur.rej = tk, rej
			if want := r.admit(clk); rej != want {
				fail("model rejection %d", want)
			}
			if rej != engine.Admitted {
				if tk != (engine.Ticket{}) {
					fail("rejected with a ticket")
				}
				break
			}
			if tk.Epoch != r.epoch || (tk.Probe != 0) != (r.state == engine.HalfOpen) || r.issued[tk.Probe] {
				fail("ticket in model state %v epoch %d, probes issued %v", r.state, r.epoch, r.issued)
			}
			if tk.Probe != 0 {
				r.issued[tk.Probe], r.inFlight[tk.Probe] = true, true
			}
			tickets = append(tickets, tk)
			if len(tickets) > 64 {
				tickets = tickets[1:]
			}

		case code < 15:
			cur.op = "Report"
			switch k := s.n(8); {
			case k < 3 && len(tickets) > 0:
				cur.tk = tickets[len(tickets)-1]
			case k < 6 && len(tickets) > 0:
				cur.tk = tickets[len(tickets)-1-int(s.byte())%len(tickets)]
			case k == 6:
				cur.tk = engine.Ticket{Epoch: r.epoch, Probe: 1<<40 + uint64(s.byte())}
			default:
				cur.tk = []engine.Ticket{{}, {Epoch: r.epoch}, {Epoch: r.epoch + 1}, {Epoch: r.epoch - 1, Probe: 1}}[s.n(4)]
			}
			cur.o = []engine.Outcome{engine.Success, engine.Success, engine.Failure, engine.Ignore}[s.n(4)]
			switch s.n(6) {
			case 1:
				cur.d = st.SlowCallDuration - 1
			case 2:
				cur.d = st.SlowCallDuration
			case 3:
				cur.d = st.SlowCallDuration + 1
			case 4:
				cur.d = time.Duration(s.u16()) * s.unit()
			case 5:
				cur.d = time.Hour
			}
			tr, counted := m.Report(clk, cur.tk, cur.o, cur.d)
			cur.counted = counted
			wtr, wcounted := r.report(clk, cur.tk, cur.o, cur.d)
			if counted != wcounted {
				fail("model counted %v", wcounted)
			}
			same(tr, wtr)

		case code < 22 || code == 31:
			cur.op = "clock"
			width := st.Window.BucketWidth()
			if st.Window.Kind == engine.CountBased {
				width = st.OpenTimeout
			}
			choice := s.n(10)
			if code == 31 {
				cur.op, choice = "clock+Tick", 3
			}
			switch choice {
			case 1:
				cur.d = 1
			case 2:
				cur.d = time.Duration(1+s.n(256)) * s.unit()
			case 3, 4: // exactly to the deadline, or 1ns before it
				if r.deadline.After(clk) {
					cur.d = r.deadline.Sub(clk)
					if choice == 4 {
						cur.d--
					}
				}
			case 5: // to the next bucket edge
				cur.d = time.Duration((floorDiv(clk.UnixNano(), int64(width))+1)*int64(width) - clk.UnixNano())
			case 6:
				cur.d = max(st.Window.Duration, st.OpenTimeout)
			case 7:
				cur.d = max(st.Window.Duration, st.OpenTimeout) + 1
			case 8:
				cur.d = 1_000_000 * max(st.Window.Duration, st.OpenTimeout)
			case 9: // backwards
				cur.d = -time.Duration(1+s.n(256)) * s.unit()
			}
			if next := clk.Add(cur.d); !next.After(fuzzLatest) {
				clk = next
			}
			cur.at = clk
			if code == 31 {
				same(m.Tick(clk), r.tick(clk))
			}

		case code < 25:
			if s.n(2) == 0 {
				cur.op = "Tick"
				same(m.Tick(clk), r.tick(clk))
				break
			}
			cur.op = "TickDue"
			same(m.TickDue(clk), r.tickDue(clk))
		case code == 25:
			cur.op = "Reset"
			same(m.Reset(clk), r.reset(clk))
		case code == 26:
			cur.op = "ForceOpen"
			same(m.ForceOpen(clk), r.forceOpen(clk))
		case code == 27:
			cur.op = "Disable"
			same(m.Disable(clk), r.disable(clk))
		case code == 29:
			cur.op = "Adopt"
			cur.rm = s.remote(st, r, clk)
			same(m.Adopt(clk, cur.rm), r.adopt(clk, cur.rm))
		case code == 28 && s.n(4) == 0:
			cur.op = "Reconfigure"
			ns, nf, nsl, nsu := s.settings()
			cur.s = ns
			same(m.Reconfigure(clk, ns), r.reconfigure(clk, ns, nf, nsl, nsu))
			st = ns
		case code < 30:
			cur.op = "Counts"
			cur.c = m.Counts(clk)
			if want := r.counts(clk); cur.c != want {
				fail("model counts %+v", want)
			}
		case code == 30:
			cur.op = "TripIf"
			cur.c = engine.Counts{Calls: s.n(32), Failures: s.n(32), SlowCalls: s.n(32), ConsecutiveFailures: s.n(8)}
			same(m.TripIf(clk, cur.c), r.tripIf(clk, cur.c))
		}

		ok, bad := m.Probes()
		if m.State() != r.state || m.Epoch() != r.epoch || !m.Since().Equal(r.since) ||
			!m.Deadline().Equal(r.deadline) || m.Attempt() != r.attempt ||
			m.InFlight() != len(r.inFlight) || ok != r.good || bad != r.bad {
			fail("afterwards:\n  machine %v epoch %d since %v deadline %v attempt %d in flight %d probes %d/%d"+
				"\n  model   %v epoch %d since %v deadline %v attempt %d in flight %d probes %d/%d",
				m.State(), m.Epoch(), m.Since(), m.Deadline(), m.Attempt(), m.InFlight(), ok, bad,
				r.state, r.epoch, r.since, r.deadline, r.attempt, len(r.inFlight), r.good, r.bad)
		}
		if m.OwnTrip() != r.ownTrip {
			fail("afterwards: machine OwnTrip %d, model %d", m.OwnTrip(), r.ownTrip)
		}
		trace[steps%len(trace)] = cur
	}
}

// remote decodes an Adopt argument, biased towards the edges the rules
// turn on: a period that just ended, one longer than the cap, a decider
// that saw exactly the latest own trip, or one epoch less.
func (s *script) remote(st engine.Settings, r *refModel, now time.Time) engine.Remote {
	rm := engine.Remote{
		State:   []engine.State{engine.Open, engine.Open, engine.Closed, engine.ForcedOpen, engine.Disabled, engine.HalfOpen}[s.n(6)],
		Attempt: s.n(5),
		Manual:  s.n(4) == 0,
		Origin:  []string{"", "b", "c"}[s.n(3)],
	}
	switch s.n(6) {
	case 0:
		rm.Remaining = -time.Duration(s.n(3))
	case 1:
		rm.Remaining = 1
	case 2:
		rm.Remaining = st.OpenTimeout
	case 3:
		rm.Remaining = max(st.MaxOpenTimeout, st.OpenTimeout) + time.Duration(s.n(2))
	case 4:
		if !r.deadline.IsZero() { // exactly the local deadline, or around it
			rm.Remaining = r.deadline.Sub(now) + time.Duration(s.n(3)-1)
		}
	default:
		rm.Remaining = time.Duration(s.u16()) * s.unit()
	}
	rm.SeenEpoch = []uint64{0, r.ownTrip, r.ownTrip - min(r.ownTrip, 1), r.epoch, r.epoch + 3}[s.n(5)]
	return rm
}

// randomScripts returns n pseudo-random scripts of 32 to 2079 bytes,
// the same ones on every run.
func randomScripts(seed uint64, n int) [][]byte {
	rng := rand.New(rand.NewPCG(seed, 2))
	scripts := make([][]byte, n)
	for i := range scripts {
		b := make([]byte, 32+rng.IntN(2048))
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		scripts[i] = b
	}
	return scripts
}

// fuzzSeeds are the seed corpus: a few hand-made scripts and some
// deterministic random ones.
func fuzzSeeds() [][]byte {
	seeds := [][]byte{
		nil,
		// count window of 1, failures until a trip, then to the deadline,
		// probes, more failures.
		{0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
			0, 7, 5, 1, 0, 31, 0, 7, 5, 1, 0, 7, 5, 0, 0, 31, 25, 28},
		// time window, everything enabled, by-rate probes.
		{1, 3, 4, 20, 2, 0, 3, 10, 0, 4, 5, 10, 2, 2, 6, 3, 1, 1, 3, 2, 10, 1, 4, 3, 0, 1,
			0, 7, 5, 1, 2, 15, 5, 7, 5, 1, 2, 15, 8, 28, 31, 0, 0, 0, 7, 5, 0, 0, 15, 9, 9, 4, 28, 24, 30, 20, 20, 1, 3},
	}
	return append(seeds, randomScripts(1, 48)...)
}

// TestMachineAgainstModel runs many more deterministic random scripts than
// the seed corpus holds, so that `go test` without -fuzz compares the
// machine with the model on rare paths too (a by-rate close at exactly
// SuccessRate, say) in well under a second.
func TestMachineAgainstModel(t *testing.T) {
	n := 1500
	if testing.Short() {
		n = 100
	}
	for i, script := range randomScripts(2, n) {
		t.Run(fmt.Sprint(i), func(t *testing.T) { checkScript(t, script, nil) })
	}
}

func FuzzMachine(f *testing.F) {
	for _, seed := range fuzzSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkScript(t, data, nil) })
}

// TestFuzzSeedsReachEveryState guards the seed corpus against decay: the
// seeds must drive the machine into every state and through every reason,
// or `go test` without -fuzz checks less than it seems to.
func TestFuzzSeedsReachEveryState(t *testing.T) {
	states := map[engine.State]bool{}
	reasons := map[engine.Reason]bool{}
	for _, seed := range fuzzSeeds() {
		checkScript(t, seed, func(tr engine.Transition) {
			states[tr.To] = true
			reasons[tr.Reason] = true
		})
	}
	for st := engine.Closed; st <= engine.Disabled; st++ {
		if !states[st] {
			t.Errorf("no seed enters %v", st)
		}
	}
	for rs := engine.ReasonConsecutiveFailures; rs <= engine.ReasonProbeSlow; rs++ {
		if !reasons[rs] {
			t.Errorf("no seed has a transition for %v", rs)
		}
	}
	if !reasons[engine.ReasonRemote] {
		t.Errorf("no seed has a transition for %v", engine.ReasonRemote)
	}
}

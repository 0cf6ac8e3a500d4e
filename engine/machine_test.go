package engine_test

import (
	"testing"
	"time"

	"github.com/breakerlabs/breaker/engine"
)

const (
	S = engine.Success
	F = engine.Failure
	I = engine.Ignore
)

// base is the settings most tests start from: a count window of 10,
// a failure rate of 50% over at least 5 calls, open for 10s doubling up
// to 60s, and two strict probes that must both succeed within 30s.
func base() engine.Settings {
	return engine.Settings{
		Window:            engine.Window{Kind: engine.CountBased, Size: 10},
		MinimumCalls:      5,
		FailureRate:       0.5,
		OpenTimeout:       10 * time.Second,
		BackoffMultiplier: 2,
		MaxOpenTimeout:    60 * time.Second,
		HalfOpen: engine.HalfOpenPolicy{
			MaxProbes:        2,
			Mode:             engine.Strict,
			SuccessThreshold: 2,
			MaxWait:          30 * time.Second,
		},
	}
}

// fixture drives one machine and checks every step.
type fixture struct {
	t   *testing.T
	m   *engine.Machine
	now time.Time
}

func newFixture(t *testing.T, s engine.Settings) *fixture {
	return &fixture{t: t, m: engine.NewMachine(s, t0), now: t0}
}

// at moves the fixture's clock to t0+d.
func (f *fixture) at(d time.Duration) *fixture { f.now = t0.Add(d); return f }

// admit admits one call, failing the test on a rejection.
func (f *fixture) admit() engine.Ticket {
	f.t.Helper()
	tk, rej := f.m.Admit(f.now)
	if rej != engine.Admitted {
		f.t.Fatalf("Admit in %v rejected: %v", f.m.State(), rej)
	}
	if tk.Epoch != f.m.Epoch() {
		f.t.Fatalf("Admit: ticket epoch %d, machine epoch %d", tk.Epoch, f.m.Epoch())
	}
	if (tk.Probe != 0) != (f.m.State() == engine.HalfOpen) {
		f.t.Fatalf("Admit in %v: ticket %+v", f.m.State(), tk)
	}
	return tk
}

// reject checks that Admit refuses with want.
func (f *fixture) reject(want engine.Rejection) {
	f.t.Helper()
	if tk, rej := f.m.Admit(f.now); rej != want || tk != (engine.Ticket{}) {
		f.t.Fatalf("Admit in %v = %+v, %v; want the zero ticket, %v", f.m.State(), tk, rej, want)
	}
}

// report reports tk and checks whether it was counted.
func (f *fixture) report(tk engine.Ticket, o engine.Outcome, d time.Duration, counted bool) engine.Transition {
	f.t.Helper()
	tr, got := f.m.Report(f.now, tk, o, d)
	if got != counted {
		f.t.Fatalf("Report(%+v, %v, %v) in %v: counted = %v, want %v", tk, o, d, f.m.State(), got, counted)
	}
	return tr
}

// call admits one call and reports it at once.
func (f *fixture) call(o engine.Outcome, d time.Duration) engine.Transition {
	f.t.Helper()
	return f.report(f.admit(), o, d, o != engine.Ignore)
}

// quiet checks that tr is no transition.
func (f *fixture) quiet(tr engine.Transition) {
	f.t.Helper()
	if tr.Happened() {
		f.t.Fatalf("unexpected transition %+v", tr)
	}
}

// trip fails calls until the machine opens (from Closed).
func (f *fixture) trip() engine.Transition {
	f.t.Helper()
	for range 1000 {
		if tr := f.call(engine.Failure, 0); tr.Happened() {
			return tr
		}
	}
	f.t.Fatalf("no trip after 1000 failures")
	return engine.Transition{}
}

// halfOpen moves an Open machine to HalfOpen at its deadline.
func (f *fixture) halfOpen() engine.Transition {
	f.t.Helper()
	if f.m.State() != engine.Open {
		f.t.Fatalf("halfOpen from %v", f.m.State())
	}
	f.now = f.m.Deadline()
	tr := f.m.Tick(f.now)
	if tr.To != engine.HalfOpen {
		f.t.Fatalf("Tick at the open deadline: %+v", tr)
	}
	return tr
}

// want checks a transition field by field.
func (f *fixture) want(got, want engine.Transition) {
	f.t.Helper()
	if got.From != want.From || got.To != want.To || got.Reason != want.Reason ||
		got.Rate != want.Rate || got.Count != want.Count || got.Epoch != want.Epoch ||
		!got.At.Equal(want.At) || !got.Deadline.Equal(want.Deadline) {
		f.t.Fatalf("transition\n got %+v\nwant %+v", got, want)
	}
	if f.m.State() != want.To || f.m.Epoch() != want.Epoch || !f.m.Since().Equal(want.At) || !f.m.Deadline().Equal(want.Deadline) {
		f.t.Fatalf("after %v→%v: machine state %v epoch %d since %v deadline %v",
			want.From, want.To, f.m.State(), f.m.Epoch(), f.m.Since(), f.m.Deadline())
	}
}

func TestNewMachine(t *testing.T) {
	s := base()
	m := engine.NewMachine(s, t0)
	if *m.Settings() != s {
		t.Errorf("Settings() = %+v, want %+v", *m.Settings(), s)
	}
	if m.State() != engine.Closed || m.Epoch() != 1 || !m.Since().Equal(t0) || !m.Deadline().IsZero() ||
		m.Attempt() != 0 || m.InFlight() != 0 {
		t.Errorf("new machine: state %v epoch %d since %v deadline %v attempt %d in flight %d",
			m.State(), m.Epoch(), m.Since(), m.Deadline(), m.Attempt(), m.InFlight())
	}
	if c := m.Counts(t0); c != (engine.Counts{}) {
		t.Errorf("Counts = %+v, want zero", c)
	}
	if ok, bad := m.Probes(); ok != 0 || bad != 0 {
		t.Errorf("Probes = %d, %d", ok, bad)
	}
	if (engine.Transition{}).Happened() {
		t.Error("the zero Transition happened")
	}
}

func TestClosedTrips(t *testing.T) {
	const slow = time.Second
	type step struct {
		o engine.Outcome
		d time.Duration
	}
	s, f, i := step{S, 0}, step{F, 0}, step{I, 0}
	ss, fs := step{S, slow}, step{F, slow}
	tests := []struct {
		name   string
		mod    func(*engine.Settings)
		steps  []step
		reason engine.Reason // ReasonNone: no trip after the last step
		rate   float64
		count  int
	}{
		{"consecutive failures", func(s *engine.Settings) { s.FailureRate, s.ConsecutiveFailures = 0, 3 },
			[]step{f, f, f}, engine.ReasonConsecutiveFailures, 0, 3},
		{"consecutive failures broken by a success", func(s *engine.Settings) { s.FailureRate, s.ConsecutiveFailures = 0, 3 },
			[]step{f, f, s, f, f}, engine.ReasonNone, 0, 0},
		{"consecutive failures not broken by an ignored call", func(s *engine.Settings) { s.FailureRate, s.ConsecutiveFailures = 0, 3 },
			[]step{f, f, i, f}, engine.ReasonConsecutiveFailures, 0, 3},
		{"consecutive failures need no MinimumCalls", func(s *engine.Settings) { s.FailureRate, s.ConsecutiveFailures, s.MinimumCalls = 0, 1, 100 },
			[]step{f}, engine.ReasonConsecutiveFailures, 0, 1},
		{"failure rate exactly at threshold", nil,
			[]step{s, f, s, f, f}, engine.ReasonFailureRate, 0.6, 0},
		{"failure rate reaches threshold at MinimumCalls", nil,
			[]step{s, f, s, f, s, f}, engine.ReasonFailureRate, 0.5, 0},
		{"MinimumCalls-1 failures do not trip", nil,
			[]step{f, f, f, f}, engine.ReasonNone, 0, 0},
		{"ignored calls do not reach MinimumCalls", nil,
			[]step{f, f, f, f, i, i, i}, engine.ReasonNone, 0, 0},
		{"failure rate under threshold", nil,
			[]step{s, s, s, f, f, s, s, f, s}, engine.ReasonNone, 0, 0},
		{"failure rate over a wrapped count window", func(s *engine.Settings) { s.Window.Size, s.MinimumCalls, s.FailureRate = 3, 3, 1 },
			[]step{s, f, f, f}, engine.ReasonFailureRate, 1, 0},
		{"slow-call rate", rates(0, 0.5, 2),
			[]step{ss, s}, engine.ReasonSlowCallRate, 0.5, 0},
		{"just under SlowCallDuration is not slow", rates(0, 0.5, 2),
			[]step{{S, slow - 1}, {S, slow - 1}, ss}, engine.ReasonNone, 0, 0},
		{"slow failure counts toward the slow-call rate", rates(0.6, 0.5, 2), []step{fs, s}, engine.ReasonSlowCallRate, 0.5, 0},
		{"slow failure counts toward the failure rate", rates(0.5, 0.5, 2), []step{fs, s}, engine.ReasonFailureRate, 0.5, 0},
		{"consecutive failures precede the failure rate", func(s *engine.Settings) { s.ConsecutiveFailures, s.MinimumCalls = 2, 2 },
			[]step{f, f}, engine.ReasonConsecutiveFailures, 0, 2},
		{"slow ignored call is not counted", rates(0, 0.5, 2),
			[]step{s, {I, slow}, s, {I, slow}}, engine.ReasonNone, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := base()
			if tt.mod != nil {
				tt.mod(&st)
			}
			fx := newFixture(t, st)
			var tr engine.Transition
			for k, step := range tt.steps {
				fx.at(time.Duration(k) * time.Millisecond)
				if tr.Happened() {
					t.Fatalf("tripped before step %d: %+v", k, tr)
				}
				tr = fx.call(step.o, step.d)
			}
			if tt.reason == engine.ReasonNone {
				fx.quiet(tr)
				if fx.m.State() != engine.Closed {
					t.Fatalf("state = %v, want closed", fx.m.State())
				}
				return
			}
			fx.want(tr, engine.Transition{
				From: engine.Closed, To: engine.Open, Reason: tt.reason, Rate: tt.rate, Count: tt.count,
				At: fx.now, Epoch: 2, Deadline: fx.now.Add(st.OpenTimeout),
			})
			if fx.m.Attempt() != 0 {
				t.Errorf("Attempt = %d after a trip from Closed", fx.m.Attempt())
			}
			fx.reject(engine.RejectOpen)
		})
	}
}

// rates sets FailureRate, SlowCallRate and MinimumCalls, and makes calls
// of a second or more slow.
func rates(failure, slow float64, minimum int) func(*engine.Settings) {
	return func(s *engine.Settings) {
		s.FailureRate, s.SlowCallRate, s.MinimumCalls = failure, slow, minimum
		s.SlowCallDuration = time.Second
	}
}

func TestOpenToHalfOpen(t *testing.T) {
	tests := []struct {
		name    string
		maxWait time.Duration
		late    time.Duration // how long after the deadline the tick comes
	}{
		{"on time", 30 * time.Second, 0},
		{"late tick", 30 * time.Second, time.Hour},
		{"no MaxWait", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := base()
			st.HalfOpen.MaxWait = tt.maxWait
			fx := newFixture(t, st)
			trip := fx.trip()
			deadline := trip.Deadline
			fx.now = deadline.Add(-1)
			fx.quiet(fx.m.Tick(fx.now))
			fx.reject(engine.RejectOpen)
			fx.now = deadline.Add(tt.late)
			fx.reject(engine.RejectOpen) // Admit never applies a timeout itself
			if fx.m.State() != engine.Open {
				t.Fatalf("Admit changed the state to %v", fx.m.State())
			}
			want := engine.Transition{From: engine.Open, To: engine.HalfOpen, Reason: engine.ReasonOpenTimeout, At: fx.now, Epoch: 3}
			if tt.maxWait > 0 {
				want.Deadline = fx.now.Add(tt.maxWait)
			}
			fx.want(fx.m.Tick(fx.now), want)
			fx.quiet(fx.m.Tick(fx.now)) // once only
			fx.admit()
		})
	}
}

func TestHalfOpenDecides(t *testing.T) {
	const slow = time.Second
	type probe struct {
		o engine.Outcome
		d time.Duration
	}
	s, f, i := probe{S, 0}, probe{F, 0}, probe{I, 0}
	tests := []struct {
		name   string
		mod    func(*engine.Settings)
		probes []probe // admitted and reported one at a time
		to     engine.State
		rate   float64
		count  int
		reason engine.Reason
	}{
		{"strict: threshold successes close", nil, []probe{s, s}, engine.Closed, 0, 2, engine.ReasonProbesSucceeded},
		{"strict: a failure opens", nil, []probe{s, f}, engine.Open, 0, 1, engine.ReasonProbeFailed},
		{"strict: first probe fails", nil, []probe{f}, engine.Open, 0, 0, engine.ReasonProbeFailed},
		{"strict: threshold 0 means 1", func(s *engine.Settings) { s.HalfOpen.SuccessThreshold = 0 }, []probe{s}, engine.Closed, 0, 1, engine.ReasonProbesSucceeded},
		{"strict: threshold above MaxProbes", func(s *engine.Settings) { s.HalfOpen.SuccessThreshold = 5 },
			[]probe{s, s, s, s, s}, engine.Closed, 0, 5, engine.ReasonProbesSucceeded},
		{"strict: ignored probes neither count nor break the run", nil, []probe{s, i, i, s}, engine.Closed, 0, 2, engine.ReasonProbesSucceeded},
		{"strict: slow success is bad with a slow-call rate", func(s *engine.Settings) { s.SlowCallDuration, s.SlowCallRate = slow, 0.5 },
			[]probe{s, {S, slow}}, engine.Open, 0, 1, engine.ReasonProbeSlow},
		{"strict: slow failure is a failure", func(s *engine.Settings) { s.SlowCallDuration, s.SlowCallRate = slow, 0.5 },
			[]probe{s, {F, slow}}, engine.Open, 0, 1, engine.ReasonProbeFailed},
		{"strict: first probe slow", func(s *engine.Settings) { s.SlowCallDuration, s.SlowCallRate = slow, 0.5 },
			[]probe{{S, slow}}, engine.Open, 0, 0, engine.ReasonProbeSlow},
		{"strict: slow success is fine without a slow-call rate", func(s *engine.Settings) { s.SlowCallDuration = slow },
			[]probe{{S, slow}, {S, slow}}, engine.Closed, 0, 2, engine.ReasonProbesSucceeded},
		{"strict: just under SlowCallDuration is fine", func(s *engine.Settings) { s.SlowCallDuration, s.SlowCallRate = slow, 0.5 },
			[]probe{{S, slow - 1}, {S, slow - 1}}, engine.Closed, 0, 2, engine.ReasonProbesSucceeded},
		{"by rate: exactly at SuccessRate closes", byRate(4, 0.75), []probe{s, f, s, s}, engine.Closed, 0.75, 4, engine.ReasonProbesSucceeded},
		{"by rate: under SuccessRate opens", byRate(4, 0.75), []probe{s, f, s, f}, engine.Open, 0.5, 4, engine.ReasonProbeFailed},
		{"by rate: an early failure does not open", byRate(4, 0.75), []probe{f, s, s, s}, engine.Closed, 0.75, 4, engine.ReasonProbesSucceeded},
		{"by rate: all failed", byRate(2, 0.5), []probe{f, f}, engine.Open, 0, 2, engine.ReasonProbeFailed},
		{"by rate: ignored probes are not counted", byRate(2, 1), []probe{s, i, i, s}, engine.Closed, 1, 2, engine.ReasonProbesSucceeded},
		{"by rate: SuccessRate 1 and one failure", byRate(3, 1), []probe{s, s, f}, engine.Open, 2.0 / 3, 3, engine.ReasonProbeFailed},
		{"by rate: MinimumProbes 0 means 1", byRate(0, 0.5), []probe{s}, engine.Closed, 1, 1, engine.ReasonProbesSucceeded},
		{"by rate: slow success is bad with a slow-call rate", func(s *engine.Settings) {
			byRate(2, 1)(s)
			s.SlowCallDuration, s.SlowCallRate = slow, 0.5
		}, []probe{s, {S, slow}}, engine.Open, 0.5, 2, engine.ReasonProbeFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := base()
			if tt.mod != nil {
				tt.mod(&st)
			}
			fx := newFixture(t, st)
			fx.trip()
			fx.halfOpen()
			var tr engine.Transition
			for k, p := range tt.probes {
				if tr.Happened() {
					t.Fatalf("decided before probe %d: %+v", k, tr)
				}
				fx.now = fx.now.Add(time.Millisecond)
				tr = fx.call(p.o, p.d)
			}
			want := engine.Transition{
				From: engine.HalfOpen, To: tt.to, Rate: tt.rate, Count: tt.count, At: fx.now, Epoch: 4,
			}
			wantAttempt := 0
			want.Reason = tt.reason
			if tt.to == engine.Open {
				want.Deadline = fx.now.Add(2 * st.OpenTimeout) // one backoff step
				wantAttempt = 1
			}
			fx.want(tr, want)
			if fx.m.Attempt() != wantAttempt {
				t.Errorf("Attempt = %d, want %d", fx.m.Attempt(), wantAttempt)
			}
			if fx.m.InFlight() != 0 {
				t.Errorf("InFlight = %d after the decision", fx.m.InFlight())
			}
			if ok, bad := fx.m.Probes(); ok != 0 || bad != 0 {
				t.Errorf("Probes = %d, %d after the decision", ok, bad)
			}
			if tt.to == engine.Closed {
				if c := fx.m.Counts(fx.now); c != (engine.Counts{}) {
					t.Errorf("Closed with counts %+v, want a clear window", c)
				}
			}
		})
	}
}

func byRate(minimum int, rate float64) func(*engine.Settings) {
	return func(s *engine.Settings) {
		s.HalfOpen.Mode = engine.ByRate
		s.HalfOpen.MinimumProbes = minimum
		s.HalfOpen.SuccessRate = rate
		s.HalfOpen.MaxProbes = 2
		s.HalfOpen.SuccessThreshold = 1 // ignored in ByRate
	}
}

func TestHalfOpenProbeAccounting(t *testing.T) {
	tests := []struct {
		name string
		run  func(fx *fixture)
	}{
		{"MaxProbes in flight, one more is rejected", func(fx *fixture) {
			fx.admit()
			fx.admit()
			fx.reject(engine.RejectTooMany)
			if fx.m.InFlight() != 2 {
				fx.t.Fatalf("InFlight = %d", fx.m.InFlight())
			}
		}},
		{"a reported probe frees its slot", func(fx *fixture) {
			a := fx.admit()
			fx.admit()
			fx.quiet(fx.report(a, S, 0, true))
			fx.admit()
			fx.reject(engine.RejectTooMany)
		}},
		{"Ignore frees a slot and is not counted", func(fx *fixture) {
			a := fx.admit()
			fx.admit()
			fx.quiet(fx.report(a, I, 0, false))
			if ok, bad := fx.m.Probes(); ok != 0 || bad != 0 || fx.m.InFlight() != 1 {
				fx.t.Fatalf("after Ignore: probes %d/%d, in flight %d", ok, bad, fx.m.InFlight())
			}
			fx.admit()
			fx.reject(engine.RejectTooMany)
		}},
		{"a double report counts once and frees one slot", func(fx *fixture) {
			a := fx.admit()
			fx.admit()
			fx.quiet(fx.report(a, S, 0, true))
			fx.quiet(fx.report(a, S, 0, false))
			fx.quiet(fx.report(a, F, 0, false)) // would open if it counted
			fx.quiet(fx.report(a, I, 0, false))
			if ok, bad := fx.m.Probes(); ok != 1 || bad != 0 {
				fx.t.Fatalf("Probes = %d, %d; want 1, 0", ok, bad)
			}
			fx.admit()
			fx.reject(engine.RejectTooMany)
		}},
		{"probes reported out of order", func(fx *fixture) {
			a, b := fx.admit(), fx.admit()
			fx.quiet(fx.report(b, S, 0, true))
			fx.quiet(fx.report(a, S, 0, true))
			c := fx.admit()
			if c == a || c == b {
				fx.t.Fatalf("probe ticket %+v issued twice", c)
			}
			if fx.report(c, S, 0, true).To != engine.Closed {
				fx.t.Fatalf("three successes did not close")
			}
		}},
		{"never-issued probe numbers are not counted and free nothing", func(fx *fixture) {
			a := fx.admit()
			b := fx.admit()
			for _, forged := range []engine.Ticket{
				{Epoch: a.Epoch, Probe: a.Probe + b.Probe + 100},
				{Epoch: a.Epoch, Probe: 0},
				{Epoch: a.Epoch, Probe: ^uint64(0)},
			} {
				fx.quiet(fx.report(forged, F, 0, false))
				fx.quiet(fx.report(forged, I, 0, false))
			}
			fx.reject(engine.RejectTooMany)
			if ok, bad := fx.m.Probes(); ok != 0 || bad != 0 || fx.m.InFlight() != 2 {
				fx.t.Fatalf("probes %d/%d in flight %d", ok, bad, fx.m.InFlight())
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := base()
			st.HalfOpen.SuccessThreshold = 3
			fx := newFixture(t, st)
			fx.trip()
			fx.halfOpen()
			tt.run(fx)
		})
	}
}

func TestHalfOpenMaxWait(t *testing.T) {
	tests := []struct {
		name     string
		admitted int // probes admitted and never reported
		reported int // probes admitted and reported as successes (no decision)
	}{
		{"unreported probes are reclaimed", 2, 0},
		{"one unreported probe is enough", 1, 0},
		{"undecided probes", 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := base()
			st.HalfOpen.SuccessThreshold = 3
			fx := newFixture(t, st)
			fx.trip()
			fx.halfOpen()
			deadline := fx.m.Deadline()
			if !deadline.Equal(fx.now.Add(st.HalfOpen.MaxWait)) {
				t.Fatalf("half-open deadline %v, want %v", deadline, fx.now.Add(st.HalfOpen.MaxWait))
			}
			var lost []engine.Ticket
			for range tt.admitted {
				lost = append(lost, fx.admit())
			}
			for range tt.reported {
				fx.quiet(fx.call(S, 0))
			}
			fx.now = deadline.Add(-1)
			fx.quiet(fx.m.Tick(fx.now))
			fx.now = deadline
			fx.want(fx.m.Tick(fx.now), engine.Transition{
				From: engine.HalfOpen, To: engine.Open, Reason: engine.ReasonHalfOpenTimeout, Count: tt.admitted,
				At: deadline, Epoch: 4, Deadline: deadline.Add(2 * st.OpenTimeout),
			})
			if fx.m.Attempt() != 1 || fx.m.InFlight() != 0 {
				t.Fatalf("after MaxWait: attempt %d in flight %d", fx.m.Attempt(), fx.m.InFlight())
			}
			fx.halfOpen()
			for _, tk := range lost {
				fx.quiet(fx.report(tk, S, 0, false)) // stale: frees nothing in the new period
			}
			fx.admit()
			fx.admit()
			fx.reject(engine.RejectTooMany)
		})
	}
	t.Run("no traffic restarts the period", func(t *testing.T) {
		st := base()
		fx := newFixture(t, st)
		fx.trip()
		fx.halfOpen()
		fx.call(F, 0) // attempt 1
		tr := fx.halfOpen()
		deadline, epoch, since := fx.m.Deadline(), fx.m.Epoch(), fx.m.Since()
		restarted := func(at time.Time, want time.Time) {
			t.Helper()
			fx.quiet(fx.m.Tick(at))
			if fx.m.State() != engine.HalfOpen || fx.m.Epoch() != epoch || !fx.m.Since().Equal(since) ||
				fx.m.Attempt() != 1 || !fx.m.Deadline().Equal(want) {
				t.Fatalf("after Tick(%v): %v epoch %d since %v attempt %d deadline %v; want half-open epoch %d since %v attempt 1 deadline %v",
					at.Sub(t0), fx.m.State(), fx.m.Epoch(), fx.m.Since().Sub(t0), fx.m.Attempt(), fx.m.Deadline().Sub(t0),
					epoch, since.Sub(t0), want.Sub(t0))
			}
		}
		restarted(deadline, deadline.Add(st.HalfOpen.MaxWait))
		// A late look lands on the first whole MaxWait after it.
		restarted(deadline.Add(st.HalfOpen.MaxWait*5/2), deadline.Add(3*st.HalfOpen.MaxWait))
		restarted(deadline.Add(3*st.HalfOpen.MaxWait), deadline.Add(4*st.HalfOpen.MaxWait))
		// A probe admitted now and never reported is reclaimed at the
		// restarted deadline, one backoff step further than before.
		fx.now = deadline.Add(3*st.HalfOpen.MaxWait + time.Second)
		fx.admit()
		at := deadline.Add(4 * st.HalfOpen.MaxWait)
		fx.now = at
		fx.want(fx.m.Tick(at), engine.Transition{
			From: engine.HalfOpen, To: engine.Open, Reason: engine.ReasonHalfOpenTimeout, Count: 1,
			At: at, Epoch: tr.Epoch + 1, Deadline: at.Add(4 * st.OpenTimeout),
		})
	})
	t.Run("probes judged before a restart keep counting", func(t *testing.T) {
		st := base()
		st.HalfOpen.SuccessThreshold = 3
		fx := newFixture(t, st)
		fx.trip()
		fx.halfOpen()
		fx.quiet(fx.call(S, 0))
		fx.now = fx.m.Deadline()
		fx.quiet(fx.m.Tick(fx.now))
		if ok, bad := fx.m.Probes(); ok != 1 || bad != 0 {
			t.Fatalf("probes %d/%d after the restart, want 1/0", ok, bad)
		}
		fx.quiet(fx.call(S, 0))
		tr := fx.call(S, 0)
		if tr.To != engine.Closed || tr.Count != 3 {
			t.Fatalf("third success in a row across a restart: %+v", tr)
		}
	})
	t.Run("a probe reported before MaxWait leaves nothing to reclaim", func(t *testing.T) {
		st := base()
		st.HalfOpen.SuccessThreshold = 3
		fx := newFixture(t, st)
		fx.trip()
		fx.halfOpen()
		tk := fx.admit()
		fx.now = fx.m.Deadline().Add(-1)
		fx.quiet(fx.report(tk, S, 0, true))
		fx.now = fx.m.Deadline()
		fx.quiet(fx.m.Tick(fx.now))
		if fx.m.State() != engine.HalfOpen || fx.m.Attempt() != 0 {
			t.Fatalf("state %v attempt %d", fx.m.State(), fx.m.Attempt())
		}
	})
	t.Run("no MaxWait never times out", func(t *testing.T) {
		st := base()
		st.HalfOpen.MaxWait = 0
		fx := newFixture(t, st)
		fx.trip()
		fx.halfOpen()
		fx.admit()
		if !fx.m.Deadline().IsZero() {
			t.Fatalf("deadline %v without MaxWait", fx.m.Deadline())
		}
		fx.quiet(fx.m.Tick(fx.now.Add(100 * 365 * 24 * time.Hour)))
		if fx.m.State() != engine.HalfOpen {
			t.Fatalf("state %v", fx.m.State())
		}
	})
	t.Run("a decision cancels MaxWait", func(t *testing.T) {
		fx := newFixture(t, base())
		fx.trip()
		fx.halfOpen()
		deadline := fx.m.Deadline()
		fx.call(S, 0)
		if tr := fx.call(S, 0); tr.To != engine.Closed {
			t.Fatalf("no close: %+v", tr)
		}
		fx.quiet(fx.m.Tick(deadline))
	})
}

func TestBackoff(t *testing.T) {
	const s = time.Second
	type cycle struct {
		how  string        // how the half-open period ends: "fail", "wait" (MaxWait) or "close"
		open time.Duration // the open duration that follows, for "fail" and "wait"
	}
	tests := []struct {
		name   string
		cycles []cycle
	}{
		{"doubles up to the cap", []cycle{{"fail", 20 * s}, {"fail", 40 * s}, {"fail", 60 * s}, {"fail", 60 * s}}},
		{"MaxWait counts as a trip from half-open", []cycle{{"wait", 20 * s}, {"fail", 40 * s}, {"wait", 60 * s}}},
		{"closing resets the attempt", []cycle{{"fail", 20 * s}, {"fail", 40 * s}, {"close", 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t, base())
			if tr := fx.trip(); tr.Deadline.Sub(tr.At) != 10*s {
				t.Fatalf("first open duration %v", tr.Deadline.Sub(tr.At))
			}
			for k, c := range tt.cycles {
				fx.halfOpen()
				var tr engine.Transition
				switch c.how {
				case "fail":
					tr = fx.call(F, 0)
				case "wait": // a probe that never reports
					fx.admit()
					fx.now = fx.m.Deadline()
					tr = fx.m.Tick(fx.now)
				case "close":
					fx.call(S, 0)
					tr = fx.call(S, 0)
				}
				if c.how == "close" {
					if tr.To != engine.Closed || fx.m.Attempt() != 0 {
						t.Fatalf("cycle %d: %+v attempt %d", k, tr, fx.m.Attempt())
					}
					if tr := fx.trip(); tr.Deadline.Sub(tr.At) != 10*s {
						t.Fatalf("open duration after closing %v, want 10s", tr.Deadline.Sub(tr.At))
					}
					continue
				}
				if tr.To != engine.Open || tr.Deadline.Sub(tr.At) != c.open || fx.m.Attempt() != k+1 {
					t.Fatalf("cycle %d: %+v: open for %v, attempt %d; want %v, %d",
						k, tr, tr.Deadline.Sub(tr.At), fx.m.Attempt(), c.open, k+1)
				}
			}
		})
	}
}

// enterState brings a new machine into st with a non-empty window and,
// where it can, a backoff attempt of 1, returning the fixture and a
// ticket admitted in the current state (or in the one before it).
func enterState(t *testing.T, st engine.State) (*fixture, engine.Ticket) {
	t.Helper()
	fx := newFixture(t, base())
	tk := fx.admit()
	fx.quiet(fx.report(tk, S, 0, true))
	if st == engine.Closed {
		return fx, tk
	}
	fx.trip()
	fx.halfOpen()
	fx.call(F, 0) // attempt 1
	if st == engine.Open {
		return fx, tk
	}
	fx.halfOpen()
	tk = fx.admit()
	switch st {
	case engine.ForcedOpen:
		fx.m.ForceOpen(fx.now)
	case engine.Disabled:
		fx.m.Disable(fx.now)
		tk = fx.admit()
		fx.report(tk, F, 0, true)
	}
	if fx.m.State() != st {
		t.Fatalf("enterState(%v) reached %v", st, fx.m.State())
	}
	return fx, tk
}

func TestManualTransitions(t *testing.T) {
	states := []engine.State{engine.Closed, engine.Open, engine.HalfOpen, engine.ForcedOpen, engine.Disabled}
	ops := []struct {
		name string
		to   engine.State
		do   func(*engine.Machine, time.Time) engine.Transition
	}{
		{"Reset", engine.Closed, (*engine.Machine).Reset},
		{"ForceOpen", engine.ForcedOpen, (*engine.Machine).ForceOpen},
		{"Disable", engine.Disabled, (*engine.Machine).Disable},
	}
	for _, op := range ops {
		for _, from := range states {
			t.Run(op.name+" from "+from.String(), func(t *testing.T) {
				fx, tk := enterState(t, from)
				fx.now = fx.now.Add(time.Second)
				epoch, attempt, before := fx.m.Epoch(), fx.m.Attempt(), fx.m.Counts(fx.now)
				tr := op.do(fx.m, fx.now)
				if from == op.to && op.to != engine.Closed {
					// ForceOpen and Disable are no-ops in their own state.
					fx.quiet(tr)
					if fx.m.Epoch() != epoch || fx.m.Counts(fx.now) != before {
						t.Fatalf("no-op changed epoch %d→%d or counts %+v→%+v", epoch, fx.m.Epoch(), before, fx.m.Counts(fx.now))
					}
					return
				}
				fx.want(tr, engine.Transition{From: from, To: op.to, Reason: engine.ReasonManual, At: fx.now, Epoch: epoch + 1})
				wantAttempt := attempt
				if op.to == engine.Closed {
					wantAttempt = 0
				}
				if fx.m.Attempt() != wantAttempt || fx.m.InFlight() != 0 {
					t.Errorf("attempt %d (want %d), in flight %d", fx.m.Attempt(), wantAttempt, fx.m.InFlight())
				}
				after := fx.m.Counts(fx.now)
				switch op.to {
				case engine.Closed, engine.Disabled:
					if after != (engine.Counts{}) {
						t.Errorf("window not cleared: %+v", after)
					}
				default:
					if after != before {
						t.Errorf("ForceOpen changed the counts %+v → %+v", before, after)
					}
				}
				// The previous epoch's ticket is stale now.
				fx.quiet(fx.report(tk, F, 0, false))
				if fx.m.Counts(fx.now) != after {
					t.Errorf("a stale report changed the counts")
				}
				switch op.to {
				case engine.Closed, engine.Disabled:
					fx.admit()
				case engine.ForcedOpen:
					fx.reject(engine.RejectForced)
				}
			})
		}
	}
}

func TestDisabledCountsButNeverTrips(t *testing.T) {
	st := base()
	st.ConsecutiveFailures = 1
	fx := newFixture(t, st)
	fx.m.Disable(fx.now)
	for k := range 100 {
		fx.at(time.Duration(k) * time.Millisecond)
		fx.quiet(fx.call(F, 0))
	}
	fx.quiet(fx.call(I, 0))
	if c, want := fx.m.Counts(fx.now), counts(10, 10, 0, 100); c != want {
		t.Fatalf("Counts = %+v, want %+v", c, want)
	}
	fx.quiet(fx.m.TripIf(fx.now, engine.Counts{Calls: 100, Failures: 100, ConsecutiveFailures: 100}))
	fx.quiet(fx.m.Tick(fx.now.Add(1000 * time.Hour)))
	if fx.m.State() != engine.Disabled || !fx.m.Deadline().IsZero() {
		t.Fatalf("state %v deadline %v", fx.m.State(), fx.m.Deadline())
	}
	if tr := fx.m.Reset(fx.now); tr.To != engine.Closed || fx.m.Counts(fx.now) != (engine.Counts{}) {
		t.Fatalf("Reset: %+v, counts %+v", tr, fx.m.Counts(fx.now))
	}
}

func TestForcedOpenRejects(t *testing.T) {
	fx := newFixture(t, base())
	tk := fx.admit()
	fx.m.ForceOpen(fx.now)
	fx.reject(engine.RejectForced)
	fx.quiet(fx.report(tk, F, 0, false))
	fx.quiet(fx.m.Tick(fx.now.Add(1000 * time.Hour)))
	fx.quiet(fx.m.TripIf(fx.now, engine.Counts{Calls: 100, Failures: 100}))
	fx.quiet(fx.report(engine.Ticket{Epoch: fx.m.Epoch()}, F, 0, false))
	fx.reject(engine.RejectForced)
	if fx.m.State() != engine.ForcedOpen || !fx.m.Deadline().IsZero() {
		t.Fatalf("state %v deadline %v", fx.m.State(), fx.m.Deadline())
	}
}

func TestStaleAndForgedTickets(t *testing.T) {
	tests := []struct {
		name string
		run  func(fx *fixture)
	}{
		{"closed ticket after a trip", func(fx *fixture) {
			tk := fx.admit()
			fx.trip()
			fx.quiet(fx.report(tk, S, 0, false))
		}},
		{"closed ticket after Reset from Closed", func(fx *fixture) {
			tk := fx.admit()
			fx.call(F, 0)
			fx.m.Reset(fx.now)
			fx.quiet(fx.report(tk, F, 0, false))
			if c := fx.m.Counts(fx.now); c != (engine.Counts{}) {
				fx.t.Fatalf("counts %+v", c)
			}
		}},
		{"closed ticket in half-open", func(fx *fixture) {
			tk := fx.admit()
			fx.trip()
			fx.halfOpen()
			fx.admit()
			fx.quiet(fx.report(tk, F, 0, false))
			if fx.m.InFlight() != 1 {
				fx.t.Fatalf("in flight %d", fx.m.InFlight())
			}
		}},
		{"probe of an earlier half-open period", func(fx *fixture) {
			fx.trip()
			fx.halfOpen()
			old := fx.admit()
			fx.call(F, 0)
			fx.halfOpen()
			fx.admit()
			fx.quiet(fx.report(old, S, 0, false))
			fx.quiet(fx.report(old, I, 0, false))
			if fx.m.InFlight() != 1 {
				fx.t.Fatalf("in flight %d", fx.m.InFlight())
			}
		}},
		{"probe ticket reported after closing", func(fx *fixture) {
			fx.trip()
			fx.halfOpen()
			a := fx.admit()
			fx.call(S, 0)
			if tr := fx.call(S, 0); tr.To != engine.Closed {
				fx.t.Fatalf("two successes did not close: %+v", tr)
			}
			fx.quiet(fx.report(a, F, 0, false))
			if c := fx.m.Counts(fx.now); c != (engine.Counts{}) {
				fx.t.Fatalf("counts %+v", c)
			}
		}},
		{"disabled ticket after Reset", func(fx *fixture) {
			fx.m.Disable(fx.now)
			tk := fx.admit()
			fx.m.Reset(fx.now)
			fx.quiet(fx.report(tk, F, 0, false))
		}},
		{"future epoch", func(fx *fixture) {
			fx.quiet(fx.report(engine.Ticket{Epoch: fx.m.Epoch() + 1}, F, 0, false))
		}},
		{"zero ticket", func(fx *fixture) {
			fx.quiet(fx.report(engine.Ticket{}, F, 0, false))
		}},
		{"probe ticket in Closed", func(fx *fixture) {
			fx.quiet(fx.report(engine.Ticket{Epoch: fx.m.Epoch(), Probe: 1}, F, 0, false))
		}},
		{"current epoch in Open", func(fx *fixture) {
			fx.trip()
			fx.quiet(fx.report(engine.Ticket{Epoch: fx.m.Epoch()}, F, 0, false))
			fx.quiet(fx.report(engine.Ticket{Epoch: fx.m.Epoch(), Probe: 1}, F, 0, false))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t, base())
			tt.run(fx)
		})
	}
}

func TestEpochs(t *testing.T) {
	fx := newFixture(t, base())
	want := uint64(1)
	check := func(tr engine.Transition) {
		t.Helper()
		if tr.Happened() {
			want++
		}
		if fx.m.Epoch() != want || (tr.Happened() && tr.Epoch != want) {
			t.Fatalf("after %+v: epoch %d, want %d", tr, fx.m.Epoch(), want)
		}
	}
	check(fx.m.Reset(fx.now)) // Closed → Closed is a transition too
	check(fx.trip())
	check(fx.halfOpen())
	check(fx.call(F, 0))
	check(fx.m.ForceOpen(fx.now))
	check(fx.m.ForceOpen(fx.now)) // no-op
	check(fx.m.Disable(fx.now))
	check(fx.m.Disable(fx.now)) // no-op
	check(fx.m.Reset(fx.now))
	check(fx.m.Reset(fx.now))
	if want != 9 {
		t.Fatalf("counted %d transitions, want 8", want-1)
	}
}

// TestClockBackwards pins the Machine's rule for a clock that steps back:
// a transition is stamped with the time given for it and its deadline is
// measured from there, whatever later times the machine saw before, so an
// open period is exactly its open duration from the trip.
func TestClockBackwards(t *testing.T) {
	const s = time.Second
	tests := []struct {
		name string
		run  func(fx *fixture)
	}{
		{"a trip happens at its own time, after a later call", func(fx *fixture) {
			st := fx.m.Settings()
			st.FailureRate, st.ConsecutiveFailures = 0, 2
			fx.at(5*s).call(F, 0)
			tr := fx.at(s).call(F, 0)
			fx.want(tr, engine.Transition{From: engine.Closed, To: engine.Open, Reason: engine.ReasonConsecutiveFailures,
				Count: 2, At: t0.Add(s), Epoch: 2, Deadline: t0.Add(11 * s)})
		}},
		{"an earlier tick does not reach the deadline", func(fx *fixture) {
			fx.at(s).trip()
			fx.quiet(fx.m.Tick(t0))
			fx.quiet(fx.m.Tick(t0.Add(-100 * 365 * 24 * time.Hour)))
			fx.quiet(fx.m.Tick(t0.Add(11*s - 1)))
			if tr := fx.m.Tick(t0.Add(11 * s)); tr.To != engine.HalfOpen {
				fx.t.Fatalf("tick at the deadline: %+v", tr)
			}
		}},
		{"Reset after a later Admit", func(fx *fixture) {
			fx.at(time.Hour).admit()
			fx.want(fx.m.Reset(t0), engine.Transition{From: engine.Closed, To: engine.Closed, Reason: engine.ReasonManual,
				At: t0, Epoch: 2})
		}},
		{"a no-op ForceOpen leaves no trace", func(fx *fixture) {
			fx.m.ForceOpen(t0)
			fx.quiet(fx.m.ForceOpen(t0.Add(time.Hour)))
			fx.want(fx.m.Reset(t0), engine.Transition{From: engine.ForcedOpen, To: engine.Closed, Reason: engine.ReasonManual,
				At: t0, Epoch: 3})
		}},
		{"a trip after a later transition", func(fx *fixture) {
			fx.m.Reset(t0.Add(time.Hour))
			tr := fx.m.TripIf(t0, engine.Counts{Calls: 10, Failures: 10})
			fx.want(tr, engine.Transition{From: engine.Closed, To: engine.Open, Reason: engine.ReasonFailureRate,
				Rate: 1, At: t0, Epoch: 3, Deadline: t0.Add(10 * s)})
			fx.quiet(fx.m.TickDue(t0.Add(10*s - 1)))
			if tr := fx.m.TickDue(t0.Add(10 * s)); tr.To != engine.HalfOpen || !tr.At.Equal(t0.Add(10*s)) {
				fx.t.Fatalf("TickDue at the trip + OpenTimeout: %+v, want half-open then", tr)
			}
		}},
		{"a deadline set before the clock stepped back stays where it is", func(fx *fixture) {
			fx.at(time.Hour).trip()
			fx.quiet(fx.m.TickDue(t0.Add(10 * s)))
			if tr := fx.m.TickDue(t0.Add(time.Hour + 10*s)); tr.To != engine.HalfOpen {
				fx.t.Fatalf("TickDue at the deadline: %+v", tr)
			}
		}},
		{"a probe reported before its period began still counts", func(fx *fixture) {
			fx.trip()
			deadline := fx.m.Deadline()
			fx.want(fx.m.Tick(deadline.Add(time.Minute)), engine.Transition{From: engine.Open, To: engine.HalfOpen,
				Reason: engine.ReasonOpenTimeout, At: deadline.Add(time.Minute), Epoch: 3,
				Deadline: deadline.Add(time.Minute + 30*s)})
			fx.now = deadline // earlier than the transition
			tk := fx.admit()
			fx.quiet(fx.report(tk, S, 0, true))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(newFixture(t, base()))
		})
	}
}

func TestTripIf(t *testing.T) {
	tripping := engine.Counts{Calls: 10, Failures: 6}
	tests := []struct {
		name  string
		state engine.State
		c     engine.Counts
		want  engine.Reason
	}{
		{"closed trips", engine.Closed, tripping, engine.ReasonFailureRate},
		{"closed below threshold", engine.Closed, engine.Counts{Calls: 10, Failures: 4}, engine.ReasonNone},
		{"closed below MinimumCalls", engine.Closed, engine.Counts{Calls: 4, Failures: 4}, engine.ReasonNone},
		{"open", engine.Open, tripping, engine.ReasonNone},
		{"half-open", engine.HalfOpen, tripping, engine.ReasonNone},
		{"forced-open", engine.ForcedOpen, tripping, engine.ReasonNone},
		{"disabled", engine.Disabled, tripping, engine.ReasonNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx, _ := enterState(t, tt.state)
			epoch := fx.m.Epoch()
			fx.now = fx.now.Add(time.Second)
			tr := fx.m.TripIf(fx.now, tt.c)
			if tt.want == engine.ReasonNone {
				fx.quiet(tr)
				if fx.m.State() != tt.state || fx.m.Epoch() != epoch {
					t.Fatalf("state %v epoch %d, want %v %d", fx.m.State(), fx.m.Epoch(), tt.state, epoch)
				}
				return
			}
			fx.want(tr, engine.Transition{From: engine.Closed, To: engine.Open, Reason: tt.want, Rate: 0.6,
				At: fx.now, Epoch: epoch + 1, Deadline: fx.now.Add(10 * time.Second)})
		})
	}
}

func TestRestore(t *testing.T) {
	tests := []struct {
		name     string
		state    engine.State
		deadline time.Duration // from since; 0 for none
		attempt  int
	}{
		{"closed", engine.Closed, 0, 0},
		{"open", engine.Open, 40 * time.Second, 2},
		{"half-open", engine.HalfOpen, 30 * time.Second, 1},
		{"forced-open", engine.ForcedOpen, 0, 0},
		{"disabled", engine.Disabled, 0, 0},
		{"a stray deadline in a state without timers fires nothing", engine.ForcedOpen, 5 * time.Second, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx, tk := enterState(t, engine.HalfOpen) // a probe in flight, a window
			since := fx.now.Add(time.Second)
			var deadline time.Time
			if tt.deadline > 0 {
				deadline = since.Add(tt.deadline)
			}
			fx.m.Restore(tt.state, 42, since, deadline, tt.attempt)
			if fx.m.State() != tt.state || fx.m.Epoch() != 42 || !fx.m.Since().Equal(since) ||
				!fx.m.Deadline().Equal(deadline) || fx.m.Attempt() != tt.attempt || fx.m.InFlight() != 0 {
				t.Fatalf("restored: %v epoch %d since %v deadline %v attempt %d in flight %d",
					fx.m.State(), fx.m.Epoch(), fx.m.Since(), fx.m.Deadline(), fx.m.Attempt(), fx.m.InFlight())
			}
			if c := fx.m.Counts(since); c != (engine.Counts{}) {
				t.Fatalf("restored counts %+v", c)
			}
			if ok, bad := fx.m.Probes(); ok != 0 || bad != 0 {
				t.Fatalf("restored probes %d/%d", ok, bad)
			}
			fx.quiet(fx.report(tk, S, 0, false))
			if tt.deadline == 0 || (tt.state != engine.Open && tt.state != engine.HalfOpen) {
				fx.quiet(fx.m.Tick(since.Add(1000 * time.Hour)))
				return
			}
			fx.quiet(fx.m.Tick(deadline.Add(-1)))
			if tt.state == engine.HalfOpen {
				// Restoring drops the probes in flight: with none, MaxWait
				// restarts the period instead of reopening.
				fx.quiet(fx.m.Tick(deadline))
				if fx.m.State() != engine.HalfOpen || fx.m.Epoch() != 42 || fx.m.Attempt() != tt.attempt ||
					!fx.m.Deadline().Equal(deadline.Add(fx.m.Settings().HalfOpen.MaxWait)) {
					t.Fatalf("restored half-open at MaxWait: %v epoch %d attempt %d deadline %v",
						fx.m.State(), fx.m.Epoch(), fx.m.Attempt(), fx.m.Deadline())
				}
				fx.now = deadline
				fx.admit()
				deadline = fx.m.Deadline()
			}
			tr := fx.m.Tick(deadline)
			if tr.Epoch != 43 || tr.At != deadline {
				t.Fatalf("tick at the restored deadline: %+v", tr)
			}
			if tt.state == engine.HalfOpen && fx.m.Attempt() != tt.attempt+1 {
				t.Fatalf("attempt %d after a restored half-open timed out", fx.m.Attempt())
			}
		})
	}
}

func TestInvalidSettingsStaySane(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*engine.Settings)
		run  func(fx *fixture)
	}{
		{"no probes allowed: half-open restarts at MaxWait", func(s *engine.Settings) { s.HalfOpen.MaxProbes = 0 }, func(fx *fixture) {
			fx.trip()
			fx.halfOpen()
			fx.reject(engine.RejectTooMany)
			d := fx.m.Deadline()
			fx.quiet(fx.m.Tick(d))
			if fx.m.State() != engine.HalfOpen || !fx.m.Deadline().After(d) {
				fx.t.Fatalf("%v until %v", fx.m.State(), fx.m.Deadline())
			}
		}},
		{"negative MaxProbes", func(s *engine.Settings) { s.HalfOpen.MaxProbes = -1 }, func(fx *fixture) {
			fx.trip()
			fx.halfOpen()
			fx.reject(engine.RejectTooMany)
		}},
		{"zero time window", func(s *engine.Settings) { s.Window = engine.Window{Kind: engine.TimeBased} }, func(fx *fixture) {
			fx.trip()
		}},
		{"zero OpenTimeout half-opens at once", func(s *engine.Settings) { s.OpenTimeout, s.MaxOpenTimeout = 0, 0 }, func(fx *fixture) {
			tr := fx.trip()
			if !tr.Deadline.Equal(tr.At) {
				fx.t.Fatalf("deadline %v at %v", tr.Deadline, tr.At)
			}
			fx.halfOpen()
			fx.call(F, 0)
			if fx.m.Deadline() != fx.now {
				fx.t.Fatalf("backoff of zero grew to %v", fx.m.Deadline().Sub(fx.now))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := base()
			tt.mod(&st)
			tt.run(newFixture(t, st))
		})
	}
}

// TickDue replays every timeout due by a late time at its own deadline:
// Open → HalfOpen at the open deadline, HalfOpen → Open at MaxWait while a
// probe is in flight, with the backoff growing, exactly as timers firing
// on time would have. A half-open period with no probe in flight restarts
// in one call, to the first MaxWait deadline after the late time.
func TestTickDueReplaysAtDeadlines(t *testing.T) {
	m := engine.NewMachine(base(), t0)
	tk, _ := m.Admit(t0)
	for i := 0; i < 5; i++ {
		m.Report(t0, tk, F, 0)
	}
	if m.State() != engine.Open {
		t.Fatalf("state %v after 5 failures, want open", m.State())
	}
	if tr := m.TickDue(t0.Add(10*time.Second - 1)); tr.Happened() {
		t.Fatalf("TickDue 1ns before the deadline: %+v", tr)
	}
	if tr := m.TickDue(t0.Add(10 * time.Second)); tr.To != engine.HalfOpen {
		t.Fatalf("TickDue at the open deadline: %+v", tr)
	}
	m.Admit(t0.Add(10 * time.Second)) // a probe that never reports
	late := t0.Add(200 * time.Second)
	want := []struct {
		to engine.State
		at time.Duration
	}{
		{engine.Open, 40 * time.Second},     // MaxWait 30s, a probe in flight
		{engine.HalfOpen, 60 * time.Second}, // open 20s (one backoff step)
	}
	for i, w := range want {
		tr := m.TickDue(late)
		if tr.To != w.to || !tr.At.Equal(t0.Add(w.at)) {
			t.Fatalf("TickDue #%d: %v at %v, want %v at %v", i, tr.To, tr.At.Sub(t0), w.to, w.at)
		}
	}
	// No probe in the half-open period entered at 60s: it restarts at 90s,
	// 120s, …, 180s, and the next deadline is 210s, after the late time.
	if tr := m.TickDue(late); tr.Happened() {
		t.Fatalf("TickDue after catching up: %+v (next deadline %v)", tr, m.Deadline().Sub(t0))
	}
	if m.State() != engine.HalfOpen || m.Attempt() != 1 || !m.Deadline().Equal(t0.Add(210*time.Second)) {
		t.Fatalf("after catching up: %v attempt %d deadline %v; want half-open, attempt 1, deadline 210s",
			m.State(), m.Attempt(), m.Deadline().Sub(t0))
	}
	if tr := m.TickDue(late); tr.Happened() || !m.Deadline().Equal(t0.Add(210*time.Second)) {
		t.Fatalf("TickDue again: %+v, deadline %v", tr, m.Deadline().Sub(t0))
	}
}

// Record works only in Closed and Disabled; elsewhere it counts nothing.
func TestRecordOutsideClosed(t *testing.T) {
	m := engine.NewMachine(base(), t0)
	m.ForceOpen(t0)
	if counted, trips := m.Record(t0, engine.Ticket{Epoch: m.Epoch()}, F, 0); counted || trips {
		t.Fatalf("Record in forced-open: counted %v, trips %v; want false, false", counted, trips)
	}
	m.Disable(t0)
	tk, _ := m.Admit(t0)
	for i := 0; i < 10; i++ {
		if counted, trips := m.Record(t0, tk, F, 0); !counted || trips {
			t.Fatalf("Record in disabled: counted %v, trips %v; want true, false", counted, trips)
		}
	}
}

package engine_test

import (
	"testing"
	"time"

	"github.com/breakerlabs/breaker/engine"
)

// adopt applies r at the fixture's time and checks the result against
// want (a zero want: no transition, nothing changed but what the caller
// checks).
func (f *fixture) adopt(r engine.Remote, want engine.Transition) engine.Transition {
	f.t.Helper()
	before := f.m.Epoch()
	tr := f.m.Adopt(f.now, r)
	if !want.Happened() {
		f.quiet(tr)
		if f.m.Epoch() != before {
			f.t.Fatalf("Adopt(%+v) without a transition changed the epoch %d → %d", r, before, f.m.Epoch())
		}
		return tr
	}
	f.want(tr, want)
	if tr.Origin != r.Origin {
		f.t.Fatalf("Adopt: transition origin %q, want %q", tr.Origin, r.Origin)
	}
	return tr
}

func TestAdoptOpenFromClosed(t *testing.T) {
	f := newFixture(t, base()).at(time.Second)
	tk := f.admit()
	f.adopt(engine.Remote{State: engine.Open, Remaining: 7 * time.Second, Attempt: 2, Origin: "b"},
		engine.Transition{From: engine.Closed, To: engine.Open, Reason: engine.ReasonRemote,
			At: f.now, Epoch: 2, Deadline: f.now.Add(7 * time.Second)})
	if f.m.Attempt() != 2 {
		t.Errorf("attempt %d, want the remote's 2", f.m.Attempt())
	}
	if f.m.OwnTrip() != 0 {
		t.Errorf("OwnTrip %d after an adopted open, want 0", f.m.OwnTrip())
	}
	f.report(tk, engine.Failure, 0, false) // granted before: stale
	f.reject(engine.RejectOpen)
	// The adopted period ends on this machine's own timer.
	f.now = f.m.Deadline()
	if tr := f.m.Tick(f.now); tr.To != engine.HalfOpen || tr.Reason != engine.ReasonOpenTimeout {
		t.Fatalf("Tick at the adopted deadline: %+v", tr)
	}
}

func TestAdoptOpenCappedAtMaxOpenTimeout(t *testing.T) {
	f := newFixture(t, base())
	f.adopt(engine.Remote{State: engine.Open, Remaining: time.Hour, Attempt: 1},
		engine.Transition{From: engine.Closed, To: engine.Open, Reason: engine.ReasonRemote,
			At: f.now, Epoch: 2, Deadline: f.now.Add(60 * time.Second)})
}

func TestAdoptOpenKeepsTheLaterDeadline(t *testing.T) {
	f := newFixture(t, base())
	f.trip() // own trip: open for 10 s
	own := f.m.Deadline()
	f.at(time.Second)
	// A shorter remote period changes nothing but the attempt.
	f.adopt(engine.Remote{State: engine.Open, Remaining: 5 * time.Second, Attempt: 3}, engine.Transition{})
	if !f.m.Deadline().Equal(own) || f.m.Attempt() != 3 {
		t.Fatalf("deadline %v attempt %d, want %v and 3", f.m.Deadline(), f.m.Attempt(), own)
	}
	// A longer one extends the period in a new epoch.
	f.adopt(engine.Remote{State: engine.Open, Remaining: 30 * time.Second, Attempt: 1},
		engine.Transition{From: engine.Open, To: engine.Open, Reason: engine.ReasonRemote,
			At: f.now, Epoch: 3, Deadline: f.now.Add(30 * time.Second)})
	if f.m.Attempt() != 3 {
		t.Fatalf("attempt %d, want max(3, 1)", f.m.Attempt())
	}
}

func TestAdoptOpenFromHalfOpenMakesProbesStale(t *testing.T) {
	f := newFixture(t, base())
	f.trip()
	f.halfOpen()
	probe := f.admit()
	f.adopt(engine.Remote{State: engine.Open, Remaining: 2 * time.Second},
		engine.Transition{From: engine.HalfOpen, To: engine.Open, Reason: engine.ReasonRemote,
			At: f.now, Epoch: 4, Deadline: f.now.Add(2 * time.Second)})
	f.report(probe, engine.Success, 0, false)
	if f.m.InFlight() != 0 {
		t.Fatalf("in flight %d after adoption", f.m.InFlight())
	}
}

func TestAdoptExpiredOpen(t *testing.T) {
	f := newFixture(t, base())
	// From Closed: recover through probes.
	f.adopt(engine.Remote{State: engine.Open, Remaining: 0, Attempt: 1},
		engine.Transition{From: engine.Closed, To: engine.HalfOpen, Reason: engine.ReasonRemote,
			At: f.now, Epoch: 2, Deadline: f.now.Add(30 * time.Second)})
	if f.m.Attempt() != 1 {
		t.Fatalf("attempt %d, want 1", f.m.Attempt())
	}
	// Anywhere else: nothing.
	f.adopt(engine.Remote{State: engine.Open, Remaining: -time.Second, Attempt: 5}, engine.Transition{})
	if f.m.Attempt() != 1 {
		t.Fatalf("attempt %d after an expired open in HalfOpen, want 1", f.m.Attempt())
	}
}

func TestAdoptAutomaticClosedNeedsACurrentView(t *testing.T) {
	f := newFixture(t, base())
	f.adopt(engine.Remote{State: engine.Closed, SeenEpoch: 99}, engine.Transition{}) // Closed already

	tr := f.trip()
	if f.m.OwnTrip() != tr.Epoch {
		t.Fatalf("OwnTrip %d, want the trip's epoch %d", f.m.OwnTrip(), tr.Epoch)
	}
	// The decider had not seen this trip: refused.
	f.adopt(engine.Remote{State: engine.Closed, SeenEpoch: tr.Epoch - 1}, engine.Transition{})
	// It had: adopted.
	f.adopt(engine.Remote{State: engine.Closed, SeenEpoch: tr.Epoch, Origin: "b"},
		engine.Transition{From: engine.Open, To: engine.Closed, Reason: engine.ReasonRemote, At: f.now, Epoch: 3})

	// An adopted open is not an own trip: a Closed that saw nothing closes it.
	f.adopt(engine.Remote{State: engine.Open, Remaining: time.Second},
		engine.Transition{From: engine.Closed, To: engine.Open, Reason: engine.ReasonRemote,
			At: f.now, Epoch: 4, Deadline: f.now.Add(time.Second)})
	f.adopt(engine.Remote{State: engine.Closed, SeenEpoch: tr.Epoch},
		engine.Transition{From: engine.Open, To: engine.Closed, Reason: engine.ReasonRemote, At: f.now, Epoch: 5})
	if f.m.Attempt() != 0 {
		t.Fatalf("attempt %d after an adopted close", f.m.Attempt())
	}

	// A reopen from HalfOpen is an own trip too.
	f.trip()
	f.halfOpen()
	f.call(engine.Failure, 0)
	if f.m.OwnTrip() != f.m.Epoch() {
		t.Fatalf("OwnTrip %d after a reopen in epoch %d", f.m.OwnTrip(), f.m.Epoch())
	}
	f.adopt(engine.Remote{State: engine.Closed, SeenEpoch: f.m.Epoch() - 1}, engine.Transition{})
}

func TestAdoptManual(t *testing.T) {
	f := newFixture(t, base())
	f.trip()
	// A manual Closed wins over an unseen own trip, and is a new epoch even from Closed.
	f.adopt(engine.Remote{State: engine.Closed, Manual: true},
		engine.Transition{From: engine.Open, To: engine.Closed, Reason: engine.ReasonRemote, At: f.now, Epoch: 3})
	f.adopt(engine.Remote{State: engine.Closed, Manual: true},
		engine.Transition{From: engine.Closed, To: engine.Closed, Reason: engine.ReasonRemote, At: f.now, Epoch: 4})
	// ForcedOpen and Disabled are manual whatever the flag says.
	f.adopt(engine.Remote{State: engine.ForcedOpen},
		engine.Transition{From: engine.Closed, To: engine.ForcedOpen, Reason: engine.ReasonRemote, At: f.now, Epoch: 5})
	f.adopt(engine.Remote{State: engine.ForcedOpen, Manual: true}, engine.Transition{})
	// Automatic records leave an operator's state alone.
	f.adopt(engine.Remote{State: engine.Open, Remaining: time.Second}, engine.Transition{})
	f.adopt(engine.Remote{State: engine.Closed, SeenEpoch: 99}, engine.Transition{})
	f.adopt(engine.Remote{State: engine.Disabled},
		engine.Transition{From: engine.ForcedOpen, To: engine.Disabled, Reason: engine.ReasonRemote, At: f.now, Epoch: 6})
	f.adopt(engine.Remote{State: engine.Open, Remaining: time.Second}, engine.Transition{})
	// A manual Open does override it.
	f.adopt(engine.Remote{State: engine.Open, Remaining: time.Second, Manual: true},
		engine.Transition{From: engine.Disabled, To: engine.Open, Reason: engine.ReasonRemote,
			At: f.now, Epoch: 7, Deadline: f.now.Add(time.Second)})
}

func TestAdoptIgnoresHalfOpenAndUnknownStates(t *testing.T) {
	f := newFixture(t, base())
	f.adopt(engine.Remote{State: engine.HalfOpen, Manual: true}, engine.Transition{})
	f.adopt(engine.Remote{State: engine.State(42), Manual: true}, engine.Transition{})
	if f.m.State() != engine.Closed {
		t.Fatalf("state %v", f.m.State())
	}
}

func TestAdoptAfterClockStepsBack(t *testing.T) {
	f := newFixture(t, base()).at(time.Minute)
	f.m.Reset(f.now) // the machine has seen t0+1m
	f.now = t0       // a clock stepped back
	f.m.Adopt(f.now, engine.Remote{State: engine.Open, Remaining: time.Second})
	if want := t0.Add(time.Second); !f.m.Deadline().Equal(want) || !f.m.Since().Equal(t0) {
		t.Fatalf("open since %v until %v, want since %v until %v (Remaining from the time given)", f.m.Since(), f.m.Deadline(), t0, want)
	}
}

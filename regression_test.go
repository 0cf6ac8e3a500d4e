package breaker

// Regression tests, one per class of bug that peer circuit breakers have
// shipped (research notes B5/B6). Each test names the public reports it
// guards against, runs over both implementations unless it is about the
// actor or the supervisor alone, and is driven by a mock clock: nothing
// here sleeps to synchronise (the only real-clock test is
// TestRegressionTripVisibleWithBusyCallers, whose subject is the real
// scheduler). Hang guards (waitFor) fail with every goroutine's stack.
//
// The race, conformance and leak suites cover much of the same ground
// with other shapes; these tests are the named, minimal reproductions.

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlabs/breaker/events"
	"go.uber.org/goleak"
)

// TestRegressionRemoveRecreateLeaksNothing guards against afex/hystrix-go
// #95 ("metricExchange.Monitor and poolMetrics.Monitor goroutine leak")
// and #81 ("Goroutine leak or never stop"), and cockroachdb/cockroach
// #121030 (a removed tripped breaker's state lived on; fixed in PR
// #121142). That a removed breaker's Prometheus series is deleted is
// prom/'s TestRemovedBreakerVanishes.
//
// Through one Supervisor, the same three names are created, subscribed
// to, tripped (some left with their open timer armed, some half-open with
// a probe in flight), and removed, 200 times. Each re-created breaker
// starts Closed with every counter at zero; each removed breaker's
// subscription is closed and its Acquire returns ErrStopped; and once the
// supervisor is closed no goroutine is left (goleak.VerifyNone; this test
// must not run in parallel).
func TestRegressionRemoveRecreateLeaksNothing(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const iterations = 200
	cfg := regConfig(nil)
	mk := clock.NewMock()
	s := NewSupervisor(WithClock(mk))
	all := s.Subscribe(events.WithBuffer(8))
	allDone := make(chan struct{})
	go func() {
		defer close(allDone)
		for range all.C() {
		}
	}()
	names := []string{"alpha", "beta", "gamma"}
	for i := range iterations {
		for j, name := range names {
			b := mustGetOrCreate(t, s, name, cfg)
			m := b.Metrics()
			if m.State != Closed || m.WindowCalls != 0 || m.ConsecutiveFailures != 0 || m.HalfOpenInFlight != 0 ||
				regLifetime(m) != 0 || m.Rejected != 0 || m.Trips != 0 || m.Transitions != 0 {
				t.Fatalf("iteration %d: re-created %q is not fresh: %+v", i, name, m)
			}
			sub := b.Subscribe()
			subDone := make(chan struct{})
			go func() {
				defer close(subDone)
				for range sub.C() {
				}
			}()
			failCalls(t, b, cfg.ConsecutiveFailures)
			if st := b.State(); st != Open {
				t.Fatalf("iteration %d: %q in %v after %d failures; want open", i, name, st, cfg.ConsecutiveFailures)
			}
			if (i+j)%3 == 1 {
				advance(b, mk, regOpen)
				if _, err := b.Acquire(context.Background()); err != nil { // a probe left in flight
					t.Fatalf("iteration %d: probe: %v", i, err)
				}
			}
			if !s.Remove(name) {
				t.Fatalf("iteration %d: Remove(%q) = false", i, name)
			}
			waitFor(t, "the removed breaker's subscription to close", 5*time.Second, func() { <-subDone })
			if _, err := b.Acquire(context.Background()); !errors.Is(err, ErrStopped) {
				t.Fatalf("iteration %d: Acquire on removed %q: %v; want ErrStopped", i, name, err)
			}
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	waitFor(t, "the supervisor's subscription to close", 5*time.Second, func() { <-allDone })
}

// TestRegressionFailedConstructorLeavesNoGoroutine: New took the shared
// coarse clock (and started its goroutine) before the steps that could
// still panic, so a constructor that panicked left the goroutine running
// for good. Shared resources are now taken last.
func TestRegressionFailedConstructorLeavesNoGoroutine(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	before, _ := coarseRefs()
	cfg := DefaultConfig()
	cfg.Window = TimeWindow(time.Minute, 60) // real clock + time window: wants the coarse clock
	hooks := &testHooks{construct: func() { panic(errRegPanic) }}
	if r := regRecover(func() { New("doomed", cfg, withTestHooks(hooks)) }); r != errRegPanic {
		t.Fatalf("New recovered %v; want the injected panic", r)
	}
	if got, _ := coarseRefs(); got != before {
		t.Fatalf("coarse clock references %d after a failed New; want %d", got, before)
	}
}

// TestRegressionZeroSupervisorUsable: the zero Supervisor (a struct field,
// new(Supervisor)) died of a nil pointer dereference on first use. It is
// now an empty supervisor, as NewSupervisor() returns.
func TestRegressionZeroSupervisorUsable(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var holder struct{ s Supervisor }
	for name, s := range map[string]*Supervisor{"new": new(Supervisor), "field": &holder.s} {
		t.Run(name, func(t *testing.T) {
			var err error
			var b *Breaker
			if r := regRecover(func() {
				all := s.Subscribe(events.WithKinds(events.StateChanged))
				b, err = s.GetOrCreate("zero", regConfig(nil))
				if err != nil {
					return
				}
				b.ForceOpen()
				select {
				case e := <-all.C():
					if e.Breaker != "zero" || e.To != ForcedOpen {
						t.Errorf("event %+v; want zero's move to forced-open", e)
					}
				case <-time.After(5 * time.Second):
					t.Error("the zero supervisor's subscription saw no event")
				}
				if names := s.Names(); !slices.Equal(names, []string{"zero"}) {
					t.Errorf("Names() = %q", names)
				}
				s.ResetAll()
				if ms := s.Metrics(); len(ms) != 1 || ms[0].State != Closed {
					t.Errorf("Metrics() = %+v", ms)
				}
				if !s.Remove("zero") {
					t.Error("Remove(zero) = false")
				}
				s.Close()
				if _, err := s.GetOrCreate("late", regConfig(nil)); !errors.Is(err, ErrStopped) {
					t.Errorf("GetOrCreate after Close: %v; want ErrStopped", err)
				}
			}); r != nil || err != nil {
				t.Fatalf("the zero Supervisor: panic %v, error %v", r, err)
			}
		})
	}
}

// TestRegressionCloseWaitsForConcurrentRemove: Supervisor.Close returned
// while a concurrent Remove was still stopping its breaker, so the
// removed breaker's actor outlived Close (and goleak after Close could
// fail). Close now waits for it.
func TestRegressionCloseWaitsForConcurrentRemove(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var stall atomic.Bool
	stalled, release := make(chan struct{}), make(chan struct{})
	hooks := &testHooks{panicOnMessage: func() bool {
		if stall.CompareAndSwap(true, false) {
			close(stalled)
			<-release // the actor is busy: its Close cannot finish yet
		}
		return false
	}}
	s := NewSupervisor(WithClock(clock.NewMock()), withTestHooks(hooks))
	b := mustGetOrCreate(t, s, "slow", regConfig(nil))
	stall.Store(true)
	metricsDone := make(chan struct{})
	go func() { defer close(metricsDone); b.settle() }() // a message the actor stalls on
	waitFor(t, "the actor to stall", 10*time.Second, func() { <-stalled })

	removed := make(chan struct{})
	go func() { defer close(removed); s.Remove("slow") }()
	waitGoroutine(t, "Remove to wait for the stalled actor", "(*Supervisor).Remove")

	closed := make(chan bool, 1)
	go func() {
		s.Close()
		// false: Close returned while the removed breaker was still closing
		closed <- b.view.Load().mode == modeStopped
	}()
	// Either Close returns at once (the bug) or it waits; release the
	// actor once Close is seen waiting, or once it has returned.
	waitFor(t, "Close to return or wait for the Remove", 10*time.Second, func() {
		for {
			if len(closed) > 0 || goroutineWaitingIn("(*Supervisor).Close", "WaitGroup") {
				return
			}
			runtime.Gosched()
		}
	})
	close(release)
	if ok := <-closed; !ok {
		t.Error("Supervisor.Close returned while a concurrent Remove was still closing its breaker")
	}
	<-removed
	<-metricsDone
}

// waitGoroutine waits until some goroutine's stack holds frame.
func waitGoroutine(t *testing.T, what, frame string) {
	t.Helper()
	eventually(t, what, func() bool { return goroutineWaitingIn(frame, "") })
}

// goroutineWaitingIn reports whether some goroutine's stack holds frame
// (and also also, if not empty).
func goroutineWaitingIn(frame, also string) bool {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, frame) && strings.Contains(g, also) {
			return true
		}
	}
	return false
}

// TestRegressionHalfOpenInFlightAfterClose: after Close the actor breaker
// reported 0 half-open probes in flight and the mutex variant the probes
// it had granted. A stopped breaker takes no more probe reports, so both
// report 0.
func TestRegressionHalfOpenInFlightAfterClose(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		c, mk := newMocked(t, im, regConfig(nil))
		for range 3 {
			p, _ := c.Acquire(context.Background())
			p.Failure()
		}
		settle(c)
		advance(c, mk, regOpen)
		p, err := c.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if m := c.Metrics(); m.HalfOpenInFlight != 1 {
			t.Fatalf("HalfOpenInFlight = %d with one probe out; want 1", m.HalfOpenInFlight)
		}
		c.Close()
		if m := c.Metrics(); m.HalfOpenInFlight != 0 || m.State != HalfOpen {
			t.Errorf("after Close: %v with %d probes in flight; want half-open (the last state) with 0", m.State, m.HalfOpenInFlight)
		}
		p.Success()
	})
}

// TestRegressionNothingEmittedAfterClose: the actor published per-call
// events for reports made after Close, so a supervisor subscriber saw a
// removed breaker's events, with Seqs that collide with those of the
// breaker re-created under the same name. Nothing is emitted for a
// breaker once its Close (or Remove) has returned.
func TestRegressionNothingEmittedAfterClose(t *testing.T) {
	mk := clock.NewMock()
	s := NewSupervisor(WithClock(mk))
	defer s.Close()
	all := s.Subscribe(events.WithBuffer(256), events.WithKinds(events.StateChanged, events.CallSucceeded,
		events.CallFailed, events.CallIgnored, events.CallRejected, events.FallbackUsed))
	cfg := regConfig(func(c *Config) { c.HalfOpen.MaxProbes = 2 })
	b := mustGetOrCreate(t, s, "gone", cfg)
	closedCall, _ := b.Acquire(context.Background())
	failCalls(t, b, cfg.ConsecutiveFailures)
	advance(b, mk, regOpen)
	probe, err := b.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !s.Remove("gone") {
		t.Fatal("Remove = false")
	}
	drain(all) // everything up to the Remove

	closedCall.Success() // a Closed-state call that ends after Remove
	probe.Failure()      // a probe that ends after Remove
	b.RecordFallback()   // a wrapper's fallback after Remove
	b.Acquire(context.Background())
	if evs := drain(all); len(evs) != 0 {
		t.Errorf("events of a removed breaker after Remove returned: %+v", evs)
	}
	if m := b.Metrics(); m.Successes != 1 || m.Failures != uint64(cfg.ConsecutiveFailures)+1 {
		t.Errorf("reports after Remove are not in the lifetime counters: %+v", m)
	}
}

// TestRegressionLongIdleReplaysNoCycles: a MutexBreaker left idle for a
// long time replayed, on its next call, every Open/HalfOpen cycle it had
// missed, one by one (a week of a 1 s open timeout with a 1 s MaxWait:
// hundreds of thousands of transitions and events in one Acquire). An
// idle breaker now makes at most the transitions that a quiet dependency
// justifies: to HalfOpen, and (for a probe that was lost) one reopening;
// half-open periods with nobody calling restart without a transition.
func TestRegressionLongIdleReplaysNoCycles(t *testing.T) {
	cfg := regConfig(func(c *Config) {
		c.OpenTimeout, c.MaxOpenTimeout = time.Second, time.Second
		c.HalfOpen.MaxWait = time.Second
	})
	forEachImpl(t, func(t *testing.T, im impl) {
		c, mk := newMocked(t, im, cfg)
		for range cfg.ConsecutiveFailures {
			p, _ := c.Acquire(context.Background())
			p.Failure()
		}
		settle(c)
		advance(c, mk, time.Second)
		if _, err := c.Acquire(context.Background()); err != nil { // a probe that is never reported
			t.Fatal(err)
		}
		before := c.Metrics().Transitions
		mk.Add(7 * 24 * time.Hour)
		settle(c)
		c.State()
		if n := c.Metrics().Transitions - before; n > 3 {
			t.Errorf("a week idle made %d transitions; want at most 3 (reopen for the lost probe, half-open, and no cycle per MaxWait)", n)
		}
	})
}

// TestRegressionClockStepBackOpenPeriod: with a time window, MutexBreaker
// recorded and read its window at times that also moved the clock its
// transitions are stamped with; after the clock stepped back by X (an NTP
// step, a mock clock), the next trip was stamped X in the future and the
// breaker stayed Open for X + OpenTimeout. A Metrics read was enough to
// set it up. Both drivers give an open period of exactly OpenTimeout from
// the trip.
func TestRegressionClockStepBackOpenPeriod(t *testing.T) {
	cfg := regConfig(func(c *Config) { c.Window = TimeWindow(10*time.Second, 10) })
	forEachImpl(t, func(t *testing.T, im impl) {
		c, mk := newMocked(t, im, cfg)
		advance(c, mk, time.Minute)
		p, _ := c.Acquire(context.Background()) // the window records now…
		p.Success()
		c.Metrics() // …and is read now
		mk.Set(mk.Now().Add(-30 * time.Second))
		settle(c)
		tripAt := mk.Now()
		for range cfg.ConsecutiveFailures {
			p, _ := c.Acquire(context.Background())
			p.Failure()
		}
		settle(c)
		m := c.Metrics()
		if m.State != Open || !m.OpenUntil.Equal(tripAt.Add(regOpen)) {
			t.Fatalf("tripped after the clock stepped back 30s: %v until %v; want open until %v (the trip + OpenTimeout)",
				m.State, m.OpenUntil, tripAt.Add(regOpen))
		}
		advance(c, mk, regOpen)
		if st := c.State(); st != HalfOpen {
			t.Errorf("OpenTimeout after the trip: %v; want half-open", st)
		}
	})
}

// TestRegressionClockStepBackAfterTransition: the engine stamped every
// transition with the latest time it had been handed for any transition,
// admission or report, so after the clock stepped back by X past such a
// time the next trip was stamped up to X in the future and stayed Open
// for up to X + OpenTimeout (defect 3 of the hardening issue, beyond the
// window reads TestRegressionClockStepBackOpenPeriod covers). The drivers
// also disagreed: MutexBreaker hands the engine its Acquire times in Open
// and HalfOpen, the actor does not, so after a rejected Acquire and a
// step back a Reset was stamped at the rejection's time by one and at the
// Reset's by the other. A transition is now stamped with the clock's
// reading when its cause happens, and an open period is exactly its open
// duration from the trip (the rule: engine.Machine's documentation).
func TestRegressionClockStepBackAfterTransition(t *testing.T) {
	cfg := regConfig(nil)
	trip := func(t *testing.T, c Circuit) {
		t.Helper()
		for range cfg.ConsecutiveFailures {
			p, err := c.Acquire(context.Background())
			if err != nil {
				t.Fatalf("Acquire in %v: %v", c.State(), err)
			}
			p.Failure()
		}
		settle(c)
	}
	t.Run("trip after a recovery", func(t *testing.T) {
		forEachImpl(t, func(t *testing.T, im impl) {
			c, mk := newMocked(t, im, cfg)
			trip(t, c)
			advance(c, mk, regOpen)
			p, err := c.Acquire(context.Background()) // the probe
			if err != nil {
				t.Fatalf("probe: %v", err)
			}
			advance(c, mk, time.Minute)
			p.Success() // Closed, a minute after the open deadline
			settle(c)
			if st := c.State(); st != Closed {
				t.Fatalf("after the probe: %v, want closed", st)
			}
			mk.Set(mk.Now().Add(-30 * time.Second)) // before the close
			settle(c)
			tripAt := mk.Now()
			trip(t, c)
			m := c.Metrics()
			if m.State != Open || !m.Since.Equal(tripAt) || !m.OpenUntil.Equal(tripAt.Add(regOpen)) {
				t.Fatalf("tripped 30s before the clock's latest transition: %v since %v until %v; want open since %v until %v",
					m.State, m.Since, m.OpenUntil, tripAt, tripAt.Add(regOpen))
			}
			advance(c, mk, regOpen)
			if st := c.State(); st != HalfOpen {
				t.Errorf("OpenTimeout after the trip: %v; want half-open", st)
			}
		})
	})
	t.Run("Reset after a rejection", func(t *testing.T) {
		forEachImpl(t, func(t *testing.T, im impl) {
			c, mk := newMocked(t, im, cfg)
			trip(t, c)
			advance(c, mk, regOpen/2)
			if _, err := c.Acquire(context.Background()); !errors.Is(err, ErrOpen) {
				t.Fatalf("Acquire while open: %v, want ErrOpen", err)
			}
			mk.Set(mk.Now().Add(-regOpen / 4))
			resetAt := mk.Now()
			c.Reset()
			settle(c)
			if m := c.Metrics(); m.State != Closed || !m.Since.Equal(resetAt) {
				t.Fatalf("Reset at %v: %v since %v; want closed since the Reset", resetAt, m.State, m.Since)
			}
		})
	})
}

// TestRegressionClockStepBackWindowRead: MutexBreaker's time window (the
// engine's) moved to the time of every read and dropped what had expired
// by then, while the actor's lock-free window is moved only by the calls
// recorded in it. After a Metrics read past a call's expiry and a clock
// step back to before it, the actor still counted the call and the
// MutexBreaker had lost it for good (and would not trip on it). Reading a
// window now changes nothing in either.
func TestRegressionClockStepBackWindowRead(t *testing.T) {
	cfg := regConfig(func(c *Config) {
		c.Window = TimeWindow(10*time.Second, 10)
		c.ConsecutiveFailures = 0
		c.FailureRate = 0.5
		c.MinimumCalls = 2
	})
	forEachImpl(t, func(t *testing.T, im impl) {
		c, mk := newMocked(t, im, cfg)
		p, err := c.Acquire(context.Background())
		if err != nil {
			t.Fatalf("Acquire: %v", err)
		}
		p.Failure()
		settle(c)
		t0 := mk.Now()
		mk.Set(t0.Add(time.Minute))
		if m := c.Metrics(); m.WindowCalls != 0 {
			t.Fatalf("a minute later: %d calls in a 10s window, want 0", m.WindowCalls)
		}
		mk.Set(t0.Add(time.Second)) // the clock steps back
		if m := c.Metrics(); m.WindowCalls != 1 || m.WindowFailures != 1 {
			t.Fatalf("1s after the failure, after a read a minute later: %d calls, %d failures in the window; want 1, 1 (a read changes nothing)",
				m.WindowCalls, m.WindowFailures)
		}
		p, err = c.Acquire(context.Background())
		if err != nil {
			t.Fatalf("Acquire: %v", err)
		}
		p.Failure()
		settle(c)
		if st := c.State(); st != Open {
			t.Errorf("two failures in the window (FailureRate 0.5, MinimumCalls 2): %v, want open", st)
		}
	})
}

// TestRegressionMeasureSwitchedOnBefore1970: a Permit granted while the
// breaker measured nothing had start 0, "not measured", and a call's
// duration ran from the later of its start and when a reconfiguration
// switched measuring on. With the clock before 1970 (a mock clock set
// back from its start at the Unix epoch; a host clock set wrong), that
// switch-on time is negative, so 0 won: the call was timed from 1970, its
// duration negative, and a slow call was not counted as slow. A permit
// granted unmeasured now carries a start no reading can have.
func TestRegressionMeasureSwitchedOnBefore1970(t *testing.T) {
	cfg := regConfig(nil) // count window, no slow-call tracking: nothing measured
	slow := cfg
	slow.SlowCallDuration, slow.SlowCallRate = time.Second, 1
	forEachImpl(t, func(t *testing.T, im impl) {
		c, mk := newMocked(t, im, cfg)
		mk.Set(time.Unix(-3600, 0))
		p, err := c.Acquire(context.Background())
		if err != nil {
			t.Fatalf("Acquire: %v", err)
		}
		if err := c.(interface{ Reconfigure(Config) error }).Reconfigure(slow); err != nil {
			t.Fatalf("Reconfigure: %v", err)
		}
		advance(c, mk, 2*time.Second)
		p.Success()
		settle(c)
		if m := c.Metrics(); m.SlowCalls != 1 {
			t.Errorf("a call that ran 2s after slow-call tracking (1s) was switched on: SlowCalls %d, want 1", m.SlowCalls)
		}
	})
}

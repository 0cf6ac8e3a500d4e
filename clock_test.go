package breaker

// How a breaker reads its clock (ARCHITECTURE §2; the rule is in
// engine.Machine's documentation): a breaker left idle for a long time
// makes only the transitions a quiet dependency justifies, replaying no
// missed Open/HalfOpen cycles; a clock stepped backwards (an NTP step, a
// mock clock set back) never lengthens an open period, whether the step
// follows a window read or a transition, and a window read changes
// nothing; and a clock before 1970 still times calls measured from a
// reconfiguration.
//
// Each test reproduces one defect found in this library and is named for
// it (TestRegression*); all run over both implementations, driven by a
// mock clock only. Clock steps inside a time window are in window_test.go
// (TestRegressionTimeWindowIdleGaps).

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestRegressionLongIdleReplaysNoCycles: a MutexBreaker left idle for a
// long time replayed, on its next call, every Open/HalfOpen cycle it had
// missed, one by one (a week of a 1 s open timeout with a 1 s MaxWait:
// hundreds of thousands of transitions and events in one Acquire). An
// idle breaker now makes at most the transitions that a quiet dependency
// justifies: to HalfOpen, and (for a probe that was lost) one reopening;
// half-open periods with nobody calling restart without a transition.
func TestRegressionLongIdleReplaysNoCycles(t *testing.T) {
	cfg := threeInARowConfig(func(c *Config) {
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
	cfg := threeInARowConfig(func(c *Config) { c.Window = TimeWindow(10*time.Second, 10) })
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
		if m.State != Open || !m.OpenUntil.Equal(tripAt.Add(testOpenTimeout)) {
			t.Fatalf("tripped after the clock stepped back 30s: %v until %v; want open until %v (the trip + OpenTimeout)",
				m.State, m.OpenUntil, tripAt.Add(testOpenTimeout))
		}
		advance(c, mk, testOpenTimeout)
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
	cfg := threeInARowConfig(nil)
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
			advance(c, mk, testOpenTimeout)
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
			if m.State != Open || !m.Since.Equal(tripAt) || !m.OpenUntil.Equal(tripAt.Add(testOpenTimeout)) {
				t.Fatalf("tripped 30s before the clock's latest transition: %v since %v until %v; want open since %v until %v",
					m.State, m.Since, m.OpenUntil, tripAt, tripAt.Add(testOpenTimeout))
			}
			advance(c, mk, testOpenTimeout)
			if st := c.State(); st != HalfOpen {
				t.Errorf("OpenTimeout after the trip: %v; want half-open", st)
			}
		})
	})
	t.Run("Reset after a rejection", func(t *testing.T) {
		forEachImpl(t, func(t *testing.T, im impl) {
			c, mk := newMocked(t, im, cfg)
			trip(t, c)
			advance(c, mk, testOpenTimeout/2)
			if _, err := c.Acquire(context.Background()); !errors.Is(err, ErrOpen) {
				t.Fatalf("Acquire while open: %v, want ErrOpen", err)
			}
			mk.Set(mk.Now().Add(-testOpenTimeout / 4))
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
	cfg := threeInARowConfig(func(c *Config) {
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
	cfg := threeInARowConfig(nil) // count window, no slow-call tracking: nothing measured
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

package breaker

// Manual transitions (ARCHITECTURE §2, command.go): ForceOpen, Disable and
// Reset from every state, what each clears, and that each has taken effect
// when the call returns, on both implementations, driven by a mock clock.
// A timer armed before a manual transition never fires after it: see
// TestRegressionStaleTimerNeverFires in open_test.go.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestConformanceForceOpen(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		c, mk := newMocked(t, im, testConfig())
		sub := subscribeAll(t, c)
		c.ForceOpen()
		if got := c.State(); got != ForcedOpen { // synchronous: no settle
			t.Fatalf("State() right after ForceOpen = %v", got)
		}
		for _, d := range []time.Duration{0, time.Hour, 24 * time.Hour} {
			advance(c, mk, d)
			_, err := c.Acquire(context.Background())
			var oe *OpenError
			if !errors.Is(err, ErrOpen) || !errors.As(err, &oe) || !oe.Until.IsZero() || oe.Breaker != "test" {
				t.Fatalf("Acquire in ForcedOpen after %v: %v, want an OpenError with zero Until", d, err)
			}
		}
		m := c.Metrics()
		if m.State != ForcedOpen || !m.OpenUntil.IsZero() || m.Rejected != 3 {
			t.Errorf("Metrics %v OpenUntil %v Rejected %d; want forced-open, zero, 3", m.State, m.OpenUntil, m.Rejected)
		}
		c.ForceOpen() // again: nothing changes
		c.Reset()
		if got := c.State(); got != Closed {
			t.Fatalf("State() right after Reset = %v", got)
		}
		runOutcomes(t, c, "S")
		settle(c)
		var got []string
		for _, e := range stateChanges(drain(sub)) {
			got = append(got, fmt.Sprintf("%v→%v %v", e.From, e.To, e.Reason))
		}
		if want := "closed→forced-open manual,forced-open→closed manual"; strings.Join(got, ",") != want {
			t.Errorf("transitions %v, want %s", got, want)
		}
	})
}

func TestConformanceDisable(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		c, mk := newMocked(t, im, testConfig(func(c *Config) {
			c.FailureRate, c.MinimumCalls = 0.1, 1
		}))
		runOutcomes(t, c, "F") // a failure rate of 1
		requireState(t, c, Open)
		c.Disable()
		if got := c.State(); got != Disabled { // synchronous
			t.Fatalf("State() right after Disable = %v", got)
		}
		runOutcomes(t, c, strings.Repeat("F", 25)+"SI")
		advance(c, mk, time.Hour)
		requireState(t, c, Disabled)
		m := c.Metrics()
		if m.Failures != 1+25 || m.Successes != 1 || m.Ignored != 1 || m.Trips != 1 {
			t.Errorf("lifetime %d failures %d successes %d ignored %d trips; want 26, 1, 1, 1",
				m.Failures, m.Successes, m.Ignored, m.Trips)
		}
		if m.WindowCalls != 10 || m.WindowFailures != 9 {
			t.Errorf("window %d calls, %d failures; want 10, 9 (Disabled still counts)", m.WindowCalls, m.WindowFailures)
		}
		c.Reset()
		if m := c.Metrics(); m.State != Closed || m.WindowCalls != 0 {
			t.Errorf("after Reset: %v with %d window calls, want closed, 0", m.State, m.WindowCalls)
		}
	})
}

func TestConformanceResetFromEveryState(t *testing.T) {
	for _, r := range reachStates {
		t.Run(r.state.String(), func(t *testing.T) {
			forEachImpl(t, func(t *testing.T, im impl) {
				c, mk := newMocked(t, im, backoffConfig())
				r.reach(t, c, mk)
				requireState(t, c, r.state)
				sub := subscribeAll(t, c)
				at := mk.Now()
				c.Reset()
				if got := c.State(); got != Closed { // synchronous: no settle
					t.Fatalf("State() right after Reset = %v", got)
				}
				m := c.Metrics()
				if m.WindowCalls != 0 || m.WindowFailures != 0 || m.ConsecutiveFailures != 0 ||
					m.HalfOpenInFlight != 0 || !m.OpenUntil.IsZero() || !m.Since.Equal(at) {
					t.Errorf("after Reset: %+v; want an empty window since %v", m, at)
				}
				e := oneStateChange(t, drain(sub))
				if e.From != r.state || e.To != Closed || e.Reason != ReasonManual {
					t.Errorf("event %v, want %v → closed (manual)", e, r.state)
				}
				// The failures in a row were cleared, and so was the backoff.
				runOutcomes(t, c, "FF")
				requireState(t, c, Closed)
				runOutcomes(t, c, "F")
				requireState(t, c, Open)
				if m := c.Metrics(); m.OpenUntil.Sub(m.Since) != testOpenTimeout {
					t.Errorf("first trip after Reset open for %v, want %v", m.OpenUntil.Sub(m.Since), testOpenTimeout)
				}
			})
		})
	}
}

func TestConformanceManualTransitionsAreSynchronous(t *testing.T) {
	ops := []struct {
		name string
		do   func(Circuit)
		want State
	}{
		{"Reset", Circuit.Reset, Closed},
		{"ForceOpen", Circuit.ForceOpen, ForcedOpen},
		{"Disable", Circuit.Disable, Disabled},
	}
	for _, r := range reachStates {
		for _, op := range ops {
			t.Run(r.state.String()+"/"+op.name, func(t *testing.T) {
				forEachImpl(t, func(t *testing.T, im impl) {
					c, mk := newMocked(t, im, backoffConfig())
					r.reach(t, c, mk)
					requireState(t, c, r.state)
					op.do(c)
					if got := c.State(); got != op.want { // no settle
						t.Fatalf("State() right after %s = %v, want %v", op.name, got, op.want)
					}
					if m := c.Metrics(); m.State != op.want {
						t.Fatalf("Metrics().State right after %s = %v, want %v", op.name, m.State, op.want)
					}
				})
			})
		}
	}
}

package breaker

// Open (ARCHITECTURE §2): an open breaker rejects with ErrOpen and says
// until when; it moves to HalfOpen at its deadline, computed from the time
// of the transition that set it, with backoff across failed probes; and a
// timer armed for a state the breaker has since left (the open deadline,
// a half-open MaxWait) never fires.
//
// Every test runs over both implementations, driven by a mock clock only;
// settle makes the actor's asynchronous timeouts deterministic.
// TestRegressionStaleTimerNeverFires guards against resilience4j #991 and
// #1039 and eapache/go-resiliency #15 (a half-open timer that ForceOpen,
// Disable or Reset did not withdraw). Half-open itself is in
// halfopen_test.go; clock steps backwards in clock_test.go.

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
)

func TestConformanceOpenRejects(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		c, mk := newMocked(t, im, testConfig())
		advance(c, mk, time.Minute) // trip well after the breaker was made
		tripAt := mk.Now()
		tripWithFailures(t, c)
		want := tripAt.Add(testOpenTimeout)
		for i := 0; i < 3; i++ {
			p, err := c.Acquire(context.Background())
			if !errors.Is(err, ErrOpen) {
				t.Fatalf("Acquire in Open: %v, want ErrOpen", err)
			}
			if errors.Is(err, ErrTooManyProbes) {
				t.Errorf("open rejection %v matches ErrTooManyProbes", err)
			}
			var oe *OpenError
			if !errors.As(err, &oe) {
				t.Fatalf("Acquire in Open: %T %v, want *OpenError", err, err)
			}
			if oe.Breaker != "test" || !oe.Until.Equal(want) {
				t.Errorf("OpenError{%q, %v}, want {\"test\", %v} (trip time + OpenTimeout)", oe.Breaker, oe.Until, want)
			}
			p.Failure() // the zero permit: ignored
		}
		m := c.Metrics()
		if !m.OpenUntil.Equal(want) || !m.Since.Equal(tripAt) {
			t.Errorf("Metrics OpenUntil %v Since %v, want %v, %v", m.OpenUntil, m.Since, want, tripAt)
		}
		if m.Rejected != 3 || m.Failures != 3 {
			t.Errorf("Rejected %d Failures %d, want 3, 3", m.Rejected, m.Failures)
		}
	})
}

func TestConformanceOpenToHalfOpenAtDeadline(t *testing.T) {
	for _, offset := range []time.Duration{0, time.Hour} {
		t.Run(fmt.Sprintf("tripped at +%v", offset), func(t *testing.T) {
			forEachImpl(t, func(t *testing.T, im impl) {
				c, mk := newMocked(t, im, testConfig())
				advance(c, mk, offset)
				tripWithFailures(t, c)
				deadline := mk.Now().Add(testOpenTimeout)
				sub := subscribeAll(t, c)

				advance(c, mk, testOpenTimeout-time.Nanosecond)
				requireState(t, c, Open)
				if _, err := c.Acquire(context.Background()); !errors.Is(err, ErrOpen) {
					t.Fatalf("Acquire 1ns before the deadline: %v, want ErrOpen", err)
				}

				// No traffic at all: the actor's timer must act on its own.
				mk.Add(time.Nanosecond)
				eventually(t, "half-open at the deadline", func() bool { return c.State() == HalfOpen })
				settle(c)
				m := c.Metrics()
				if m.State != HalfOpen || !m.Since.Equal(deadline) || !m.OpenUntil.IsZero() {
					t.Errorf("Metrics %v Since %v OpenUntil %v, want half-open since %v, zero OpenUntil",
						m.State, m.Since, m.OpenUntil, deadline)
				}
				e := oneStateChange(t, drain(sub))
				if e.From != Open || e.To != HalfOpen || e.Reason != ReasonOpenTimeout || !e.Time.Equal(deadline) {
					t.Errorf("event %v at %v, want open → half-open (open-timeout) at %v", e, e.Time, deadline)
				}
			})
		})
	}
}

// TestConformanceDeadlineFromTransitionTime checks that deadlines are
// computed from the time of the transition that sets them (ARCHITECTURE §2),
// however long the breaker sat in its previous state.
func TestConformanceDeadlineFromTransitionTime(t *testing.T) {
	tests := []struct {
		name    string
		maxWait time.Duration
		reach   func(t *testing.T, c Circuit, mk *clock.Mock) // ends Open
	}{
		{"trip from Closed after the clock moved", 0, func(t *testing.T, c Circuit, mk *clock.Mock) {
			advance(c, mk, 5*time.Minute)
			tripWithFailures(t, c)
		}},
		{"probe failure a while into HalfOpen", 0, func(t *testing.T, c Circuit, mk *clock.Mock) {
			toHalfOpen(t, c, mk, testOpenTimeout)
			p := mustAcquire(t, c)
			mk.Add(3 * time.Second)
			p.Failure()
			requireState(t, c, Open)
		}},
		{"probe failure a while into HalfOpen with MaxWait", time.Minute, func(t *testing.T, c Circuit, mk *clock.Mock) {
			toHalfOpen(t, c, mk, testOpenTimeout)
			p := mustAcquire(t, c)
			mk.Add(3 * time.Second)
			p.Failure()
			requireState(t, c, Open)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachImpl(t, func(t *testing.T, im impl) {
				c, mk := newMocked(t, im, testConfig(func(c *Config) { c.HalfOpen.MaxWait = tt.maxWait }))
				tt.reach(t, c, mk)
				at := mk.Now()
				m := c.Metrics()
				if !m.Since.Equal(at) || !m.OpenUntil.Equal(at.Add(testOpenTimeout)) {
					t.Errorf("opened at %v: Since %v OpenUntil %v, want %v, %v",
						at, m.Since, m.OpenUntil, at, at.Add(testOpenTimeout))
				}
				// And it stays open for the whole OpenTimeout.
				advance(c, mk, testOpenTimeout/2)
				requireState(t, c, Open)
			})
		})
	}
}

func TestConformanceBackoff(t *testing.T) {
	const ot = time.Second
	cfg := testConfig(func(c *Config) {
		c.OpenTimeout, c.BackoffMultiplier, c.MaxOpenTimeout = ot, 2, 5*time.Second
	})
	// checkOpenFor asserts that c is Open for exactly d from now.
	checkOpenFor := func(t *testing.T, c Circuit, mk *clock.Mock, d time.Duration) {
		t.Helper()
		requireState(t, c, Open)
		m := c.Metrics()
		if got := m.OpenUntil.Sub(m.Since); got != d || !m.Since.Equal(mk.Now()) {
			t.Fatalf("open for %v since %v, want %v since %v", got, m.Since, d, mk.Now())
		}
		_, err := c.Acquire(context.Background())
		var oe *OpenError
		if !errors.As(err, &oe) || !oe.Until.Equal(mk.Now().Add(d)) {
			t.Fatalf("Acquire: %v, want an OpenError until %v", err, mk.Now().Add(d))
		}
		advance(c, mk, d-time.Nanosecond)
		requireState(t, c, Open)
		advance(c, mk, time.Nanosecond)
		requireState(t, c, HalfOpen)
	}
	failProbe := func(t *testing.T, c Circuit) {
		t.Helper()
		runOutcomes(t, c, "F")
	}
	forEachImpl(t, func(t *testing.T, im impl) {
		t.Run("grows and caps", func(t *testing.T) {
			c, mk := newMocked(t, im, cfg)
			tripWithFailures(t, c)
			for _, d := range []time.Duration{ot, 2 * ot, 4 * ot, 5 * ot, 5 * ot} {
				checkOpenFor(t, c, mk, d)
				failProbe(t, c)
			}
		})
		t.Run("a trip from Closed resets it", func(t *testing.T) {
			c, mk := newMocked(t, im, cfg)
			tripWithFailures(t, c)
			checkOpenFor(t, c, mk, ot)
			failProbe(t, c)
			checkOpenFor(t, c, mk, 2*ot)
			runOutcomes(t, c, "S") // the probe closes it
			requireState(t, c, Closed)
			tripWithFailures(t, c)
			checkOpenFor(t, c, mk, ot)
		})
		t.Run("Reset resets it", func(t *testing.T) {
			c, mk := newMocked(t, im, cfg)
			tripWithFailures(t, c)
			checkOpenFor(t, c, mk, ot)
			failProbe(t, c)
			checkOpenFor(t, c, mk, 2*ot)
			failProbe(t, c)
			c.Reset()
			tripWithFailures(t, c)
			checkOpenFor(t, c, mk, ot)
		})
	})
}

// TestRegressionStaleTimerNeverFires guards against resilience4j #991
// ("transitionToForcedOpenState and transitionToDisabled still going to
// HALF_OPEN if previous state was OPEN"), #1039 ("reset function not reset
// scheduler when automaticTransitionToHalfOpen enabled") and
// eapache/go-resiliency #15 ("Reset implementation in CircuitBreaker": the
// half-open timer must be interruptible).
//
// A timer is armed (the open deadline, or a half-open MaxWait), the
// breaker leaves that state another way, and the mock clock runs well past
// the old deadline: the event stream is exactly the expected one, with no
// spurious transition.
func TestRegressionStaleTimerNeverFires(t *testing.T) {
	const maxWait = 5 * time.Second
	cfg := threeInARowConfig(func(c *Config) { c.HalfOpen.MaxWait = maxWait })
	const (
		trip     = "closed→open/consecutive-failures"
		halfOpen = "open→half-open/open-timeout"
	)
	tests := []struct {
		name string
		run  func(t *testing.T, c Circuit, mk *clock.Mock)
		want []string
		end  State
	}{
		{"open, Reset", func(t *testing.T, c Circuit, _ *clock.Mock) {
			tripWithFailures(t, c)
			c.Reset()
		}, []string{trip, "open→closed/manual"}, Closed},
		{"open, ForceOpen", func(t *testing.T, c Circuit, _ *clock.Mock) {
			tripWithFailures(t, c)
			c.ForceOpen()
		}, []string{trip, "open→forced-open/manual"}, ForcedOpen},
		{"open, Disable", func(t *testing.T, c Circuit, _ *clock.Mock) {
			tripWithFailures(t, c)
			c.Disable()
		}, []string{trip, "open→disabled/manual"}, Disabled},
		{"open, ForceOpen, Reset", func(t *testing.T, c Circuit, _ *clock.Mock) {
			tripWithFailures(t, c)
			c.ForceOpen()
			c.Reset()
		}, []string{trip, "open→forced-open/manual", "forced-open→closed/manual"}, Closed},
		{"open, Reset, trip again", func(t *testing.T, c Circuit, mk *clock.Mock) {
			tripWithFailures(t, c) // deadline at 10s
			advance(c, mk, testOpenTimeout/2)
			c.Reset()
			tripWithFailures(t, c) // deadline at 15s
			advance(c, mk, testOpenTimeout/2)
			requireState(t, c, Open) // the first deadline passed
			advance(c, mk, testOpenTimeout/2-time.Nanosecond)
			requireState(t, c, Open)
			at := mk.Now().Add(time.Nanosecond)
			advance(c, mk, time.Nanosecond)
			requireState(t, c, HalfOpen)
			if m := c.Metrics(); !m.Since.Equal(at) {
				t.Errorf("half-open since %v; want %v (the second deadline)", m.Since, at)
			}
			c.Reset()
		}, []string{trip, "open→closed/manual", trip, halfOpen, "half-open→closed/manual"}, Closed},
		{"half-open with MaxWait, probe closes", func(t *testing.T, c Circuit, mk *clock.Mock) {
			toHalfOpen(t, c, mk, testOpenTimeout)
			runOutcomes(t, c, "S")
		}, []string{trip, halfOpen, "half-open→closed/probes-succeeded"}, Closed},
		{"half-open with MaxWait, Reset", func(t *testing.T, c Circuit, mk *clock.Mock) {
			toHalfOpen(t, c, mk, testOpenTimeout)
			mustAcquire(t, c)
			c.Reset()
		}, []string{trip, halfOpen, "half-open→closed/manual"}, Closed},
		{"half-open with MaxWait, ForceOpen", func(t *testing.T, c Circuit, mk *clock.Mock) {
			toHalfOpen(t, c, mk, testOpenTimeout)
			mustAcquire(t, c)
			c.ForceOpen()
		}, []string{trip, halfOpen, "half-open→forced-open/manual"}, ForcedOpen},
		{"half-open with MaxWait, probe fails, re-opens once", func(t *testing.T, c Circuit, mk *clock.Mock) {
			toHalfOpen(t, c, mk, testOpenTimeout) // MaxWait deadline at 15s
			advance(c, mk, 2*time.Second)
			runOutcomes(t, c, "F") // open until 22s
			advance(c, mk, maxWait)
			requireState(t, c, Open) // the MaxWait deadline passed
			advance(c, mk, testOpenTimeout-maxWait)
			requireState(t, c, HalfOpen)
			c.Reset()
		}, []string{trip, halfOpen, "half-open→open/probe-failed", halfOpen, "half-open→closed/manual"}, Closed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachImpl(t, func(t *testing.T, im impl) {
				c, mk := newMocked(t, im, cfg)
				sub := subscribe(t, c)
				defer sub.Close()
				tt.run(t, c, mk)
				for _, d := range []time.Duration{maxWait, testOpenTimeout, 10 * testOpenTimeout, time.Hour} {
					advance(c, mk, d)
					if st := c.State(); st != tt.end { // State applies lazy timeouts in the mutex variant
						t.Fatalf("%v later: state %v; want %v", d, st, tt.end)
					}
				}
				settle(c)
				wantTransitions(t, sub, tt.want...)
			})
		})
	}
	// A timer armed for an earlier state never moves the breaker after a
	// manual transition, also with backoff and MaxWait on: State checked
	// halfway to, at and past the old deadline.
	t.Run("after a manual transition", func(t *testing.T) {
		ops := []struct {
			name string
			do   func(Circuit)
			want State
		}{
			{"Reset", Circuit.Reset, Closed},
			{"ForceOpen", Circuit.ForceOpen, ForcedOpen},
			{"Disable", Circuit.Disable, Disabled},
		}
		timers := []struct {
			name  string
			arm   func(t *testing.T, c Circuit, mk *clock.Mock)
			after time.Duration // past the armed deadline
		}{
			{"open deadline", func(t *testing.T, c Circuit, mk *clock.Mock) { tripWithFailures(t, c) }, 2 * testOpenTimeout},
			{"half-open MaxWait", func(t *testing.T, c Circuit, mk *clock.Mock) {
				toHalfOpen(t, c, mk, testOpenTimeout)
				mustAcquire(t, c)
			}, 4 * testOpenTimeout},
		}
		for _, tm := range timers {
			for _, op := range ops {
				t.Run(tm.name+"/"+op.name, func(t *testing.T) {
					forEachImpl(t, func(t *testing.T, im impl) {
						c, mk := newMocked(t, im, backoffConfig())
						tm.arm(t, c, mk)
						op.do(c)
						sub := subscribeAll(t, c)
						for _, step := range []time.Duration{tm.after / 2, tm.after / 2, tm.after} {
							advance(c, mk, step)
							if got := c.State(); got != op.want {
								t.Fatalf("after %s and %v: State() = %v, want %v", op.name, step, got, op.want)
							}
						}
						if ch := stateChanges(drain(sub)); len(ch) != 0 {
							t.Errorf("transitions after %s:%s", op.name, formatEvents(ch))
						}
					})
				})
			}
		}
	})
}

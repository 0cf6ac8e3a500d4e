package breaker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlabs/breaker/events"
)

// These tests back docs/MIGRATING.md: every row of its tables maps a peer's
// setting onto Config, and the test of the same name runs the peer-style
// scenario against both drivers, with the outcome the peer's own rule
// gives. The peers' rules are restated here from their sources
// (resilience4j 2.x CircuitBreakerMetrics and CircuitBreakerStateMachine,
// sony/gobreaker v2.4.0 gobreaker.go, failsafe-go v0.9.8 circuitbreaker),
// never by calling the engine.

const migWait = testOpenTimeout // the open duration of every scenario

// migConfig is a config with the peer-neutral parts filled in: open for
// migWait without backoff, one strict probe; mod sets what the row maps.
func migConfig(mod func(*Config)) Config {
	return testConfig(func(c *Config) { c.MinimumCalls, c.ConsecutiveFailures = 0, 0 }, mod)
}

// migCall makes one call that takes d and ends with o: 'S' success, 'F'
// failure, 'I' ignored.
func migCall(t *testing.T, c Circuit, mk *clock.Mock, o byte, d time.Duration) {
	t.Helper()
	p, err := c.Acquire(context.Background())
	if err != nil {
		t.Fatalf("Acquire in %v: %v", c.State(), err)
	}
	if d > 0 {
		mk.Add(d)
	}
	switch o {
	case 'S':
		p.Success()
	case 'F':
		p.Failure()
	default:
		p.Ignore()
	}
	settle(c)
}

// migRun makes one instant call per letter of seq.
func migRun(t *testing.T, c Circuit, mk *clock.Mock, seq string) {
	t.Helper()
	for i := range len(seq) {
		migCall(t, c, mk, seq[i], 0)
	}
}

// migSeq is f failures then s successes, or the other way round.
func migSeq(f, s int, failuresFirst bool) string {
	fs, ss := repeat('F', f), repeat('S', s)
	if failuresFirst {
		return fs + ss
	}
	return ss + fs
}

func repeat(b byte, n int) string {
	out := make([]byte, n)
	for i := range out {
		out[i] = b
	}
	return string(out)
}

func migWant(t *testing.T, c Circuit, want State, what string) {
	t.Helper()
	settle(c)
	if got := c.State(); got != want {
		t.Fatalf("%s: State() = %v, want %v", what, got, want)
	}
}

// r4jRateAtOrOver is resilience4j's check: the rate in percent, computed
// in float (failed * 100.0f / total), compared with >= to the threshold.
func r4jRateAtOrOver(bad, total int, thresholdPercent float32) bool {
	return float32(bad)*100/float32(total) >= thresholdPercent
}

// r4jProbeRule returns the HalfOpen policy for resilience4j's
// permittedNumberOfCallsInHalfOpenState = k, minimumNumberOfCalls = m and
// failureRateThreshold = p percent (docs/MIGRATING.md): resilience4j
// decides once h = min(m, k) probe calls are recorded, reopening if their
// failure rate is ≥ p, so it closes when successes > h·(1 − p/100).
func r4jProbeRule(k, m int, p float64) HalfOpenPolicy {
	h := min(m, k)
	minSuccesses := h - int(math.Ceil(float64(h)*p/100)) + 1
	return HalfOpenPolicy{MaxProbes: k, Mode: ByRate, MinimumProbes: h, SuccessRate: float64(minSuccesses) / float64(h)}
}

func TestMigrateResilience4j(t *testing.T) {
	// slidingWindowType COUNT_BASED, slidingWindowSize n, minimumNumberOfCalls
	// m, failureRateThreshold p: CountWindow(n), MinimumCalls min(m, n),
	// FailureRate p/100. Every failure count over a full window, both
	// orders, decides as resilience4j does, the boundary included.
	t.Run("failureRateThreshold", func(t *testing.T) {
		forEachImpl(t, func(t *testing.T, im impl) {
			for _, p := range []float32{10, 20, 25, 50, 60, 75, 100} {
				for _, n := range []int{1, 3, 4, 5, 10} {
					for f := 0; f <= n; f++ {
						for _, failuresFirst := range []bool{true, false} {
							c, mk := newMocked(t, im, migConfig(func(c *Config) {
								c.Window, c.MinimumCalls, c.FailureRate = CountWindow(n), n, float64(p)/100
							}))
							migRun(t, c, mk, migSeq(f, n-f, failuresFirst))
							want := Closed
							if r4jRateAtOrOver(f, n, p) {
								want = Open
							}
							migWant(t, c, want, fmt.Sprintf("p=%v%% n=%d: %d failures", p, n, f))
							c.Close()
						}
					}
				}
			}
		})
	})
	t.Run("slidingWindowSize COUNT_BASED", func(t *testing.T) {
		forEachImpl(t, func(t *testing.T, im impl) {
			c, mk := newMocked(t, im, migConfig(func(c *Config) {
				c.Window, c.MinimumCalls, c.FailureRate = CountWindow(4), 4, 0.5
			}))
			migRun(t, c, mk, "FSSSFS") // the last 4: S S F S, 25 %
			migWant(t, c, Closed, "the oldest calls left the window")
			migRun(t, c, mk, "F") // S F S F: 50 %
			migWant(t, c, Open, "two failures in the last four")
		})
	})
	// minimumNumberOfCalls above slidingWindowSize: resilience4j uses the
	// window size (min(m, n)).
	t.Run("minimumNumberOfCalls", func(t *testing.T) {
		forEachImpl(t, func(t *testing.T, im impl) {
			const n, m = 5, 100
			c, mk := newMocked(t, im, migConfig(func(c *Config) {
				c.Window, c.MinimumCalls, c.FailureRate = CountWindow(n), min(m, n), 0.5
			}))
			migRun(t, c, mk, "FFFF")
			migWant(t, c, Closed, "four failures, below min(m, n) = 5 calls")
			migRun(t, c, mk, "S")
			migWant(t, c, Open, "four failures in five")
		})
	})
	// slidingWindowType TIME_BASED, slidingWindowSize s seconds:
	// TimeWindow(s seconds, s), one bucket per epoch second, as
	// resilience4j's SlidingTimeWindowMetrics keeps them.
	t.Run("slidingWindowSize TIME_BASED", func(t *testing.T) {
		forEachImpl(t, func(t *testing.T, im impl) {
			for _, tt := range []struct {
				second time.Duration // when the second failure comes, after the first at 0.5s
				want   State
			}{{2900 * time.Millisecond, Open}, {3 * time.Second, Closed}} {
				c, mk := newMocked(t, im, migConfig(func(c *Config) {
					c.Window, c.MinimumCalls, c.FailureRate = TimeWindow(3*time.Second, 3), 2, 0.5
				}))
				advance(c, mk, 500*time.Millisecond) // the mock starts at an epoch second
				migRun(t, c, mk, "F")
				advance(c, mk, tt.second-500*time.Millisecond)
				migRun(t, c, mk, "F")
				migWant(t, c, tt.want, fmt.Sprintf("failures at 0.5s and %v", tt.second))
			}
		})
	})
	// slowCallDurationThreshold d: resilience4j's call is slow when it took
	// more than d; here at d or more: SlowCallDuration d + 1ns.
	t.Run("slowCallDurationThreshold", func(t *testing.T) {
		const d = 2 * time.Second
		forEachImpl(t, func(t *testing.T, im impl) {
			for _, tt := range []struct {
				took time.Duration
				want State
			}{{d, Closed}, {d + time.Nanosecond, Open}} {
				c, mk := newMocked(t, im, migConfig(func(c *Config) {
					c.Window, c.MinimumCalls = CountWindow(1), 1
					c.SlowCallDuration, c.SlowCallRate = d+time.Nanosecond, 1
				}))
				migCall(t, c, mk, 'S', tt.took)
				migWant(t, c, tt.want, fmt.Sprintf("a call of %v", tt.took))
			}
		})
	})
	// slowCallRateThreshold p: SlowCallRate p/100, compared like the
	// failure rate.
	t.Run("slowCallRateThreshold", func(t *testing.T) {
		const d = time.Second
		forEachImpl(t, func(t *testing.T, im impl) {
			for _, p := range []float32{25, 50, 100} {
				const n = 4
				for slow := 0; slow <= n; slow++ {
					c, mk := newMocked(t, im, migConfig(func(c *Config) {
						c.Window, c.MinimumCalls = CountWindow(n), n
						c.SlowCallDuration, c.SlowCallRate = d+time.Nanosecond, float64(p)/100
					}))
					for i := range n {
						took := time.Duration(0)
						if i < slow {
							took = 2 * d
						}
						migCall(t, c, mk, 'S', took)
					}
					want := Closed
					if r4jRateAtOrOver(slow, n, p) {
						want = Open
					}
					migWant(t, c, want, fmt.Sprintf("p=%v%%: %d slow calls of %d", p, slow, n))
				}
			}
		})
	})
	// permittedNumberOfCallsInHalfOpenState k with minimumNumberOfCalls m
	// and failureRateThreshold p: ByRate with MaxProbes k, MinimumProbes
	// min(m, k) and the SuccessRate r4jProbeRule computes. Every success
	// count decides as resilience4j does, the boundary included.
	t.Run("permittedNumberOfCallsInHalfOpenState", func(t *testing.T) {
		forEachImpl(t, func(t *testing.T, im impl) {
			for _, p := range []float64{20, 25, 50, 60, 75, 100} {
				for _, k := range []int{1, 2, 3, 4, 5, 10} {
					for _, m := range []int{k, 3, 100} {
						h := min(m, k)
						c, mk := newMocked(t, im, migConfig(func(c *Config) {
							c.ConsecutiveFailures = 1 // trips at once, so the scenario starts in half-open
							c.HalfOpen = r4jProbeRule(k, m, p)
						}))
						for s := 0; s <= h; s++ {
							what := fmt.Sprintf("p=%v%% k=%d m=%d: %d of %d probes succeed", p, k, m, s, h)
							if c.State() == Closed {
								migRun(t, c, mk, "F")
							}
							advance(c, mk, migWait)
							migWant(t, c, HalfOpen, what)
							migRun(t, c, mk, migSeq(h-s, s, s%2 == 0))
							want := Closed
							if r4jRateAtOrOver(h-s, h, float32(p)) {
								want = Open
							}
							migWant(t, c, want, what)
						}
						c.Close()
					}
				}
			}
		})
	})
	// waitDurationInOpenState w: OpenTimeout w, BackoffMultiplier 1,
	// MaxOpenTimeout w; half-open at w, by timer.
	t.Run("waitDurationInOpenState", func(t *testing.T) {
		forEachImpl(t, func(t *testing.T, im impl) {
			c, mk := newMocked(t, im, migConfig(func(c *Config) { c.ConsecutiveFailures = 1 }))
			migRun(t, c, mk, "F")
			advance(c, mk, migWait-time.Nanosecond)
			migWant(t, c, Open, "1ns before the wait duration")
			advance(c, mk, time.Nanosecond)
			migWant(t, c, HalfOpen, "at the wait duration")
		})
	})
	// waitIntervalFunctionInOpenState = IntervalFunction.ofExponentialBackoff(w, x, max):
	// OpenTimeout w, BackoffMultiplier x, MaxOpenTimeout max. resilience4j
	// counts attempts from 1 at the trip from CLOSED (w) and resets them on
	// closing, as this library counts them from 0.
	t.Run("waitIntervalFunctionInOpenState", func(t *testing.T) {
		forEachImpl(t, func(t *testing.T, im impl) {
			c, mk := newMocked(t, im, migConfig(func(c *Config) {
				c.ConsecutiveFailures = 1
				c.OpenTimeout, c.BackoffMultiplier, c.MaxOpenTimeout = time.Second, 2, 5*time.Second
			}))
			migRun(t, c, mk, "F")
			for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second} {
				if until := c.Metrics().OpenUntil; until.Sub(mk.Now()) != want {
					t.Fatalf("open period %d: %v, want %v", i, until.Sub(mk.Now()), want)
				}
				advance(c, mk, want)
				migWant(t, c, HalfOpen, "after the interval")
				migRun(t, c, mk, "F")
			}
			advance(c, mk, 5*time.Second)
			migRun(t, c, mk, "SF") // closed: the next trip opens for w again
			if until := c.Metrics().OpenUntil; until.Sub(mk.Now()) != time.Second {
				t.Fatalf("after closing: open for %v, want 1s", until.Sub(mk.Now()))
			}
		})
	})
	// maxWaitDurationInHalfOpenState t: HalfOpen.MaxWait t. A probe still
	// unreported at t reopens the breaker, as in resilience4j; with no
	// probe in flight the period restarts instead (a documented
	// difference: resilience4j reopens whatever happened).
	t.Run("maxWaitDurationInHalfOpenState", func(t *testing.T) {
		const maxWait = 5 * time.Second
		forEachImpl(t, func(t *testing.T, im impl) {
			c, mk := newMocked(t, im, migConfig(func(c *Config) {
				c.ConsecutiveFailures = 1
				c.HalfOpen.MaxWait = maxWait
			}))
			migRun(t, c, mk, "F")
			advance(c, mk, migWait)
			advance(c, mk, maxWait)
			migWant(t, c, HalfOpen, "MaxWait with no probe: the period restarts")
			if _, err := c.Acquire(context.Background()); err != nil { // lost
				t.Fatal(err)
			}
			advance(c, mk, maxWait)
			migWant(t, c, Open, "MaxWait with a probe unreported")
		})
	})
	// recordExceptions / recordFailurePredicate → IsFailure;
	// ignoreExceptions → IsFailure false (Done ignores the call). An
	// exception resilience4j neither records nor ignores counts as a
	// success there: report Success for it.
	t.Run("recordExceptions ignoreExceptions", func(t *testing.T) {
		errIO, errNotFound, errOther := errors.New("io"), errors.New("not found"), errors.New("other")
		recorded := func(err error) bool { return errors.Is(err, errIO) }
		ignored := func(err error) bool { return errors.Is(err, errNotFound) }
		report := func(p Permit, err error) { // resilience4j's three-way judgement
			if err != nil && !recorded(err) && !ignored(err) {
				p.Success()
				return
			}
			p.Done(err)
		}
		forEachImpl(t, func(t *testing.T, im impl) {
			c, _ := newMocked(t, im, migConfig(func(c *Config) {
				c.ConsecutiveFailures = 1
				c.IsFailure = recorded
			}))
			for _, err := range []error{errOther, errNotFound, nil, errNotFound} {
				p, aerr := c.Acquire(context.Background())
				if aerr != nil {
					t.Fatal(aerr)
				}
				report(p, err)
			}
			settle(c)
			if m := c.Metrics(); m.State != Closed || m.Successes != 2 || m.Ignored != 2 || m.Failures != 0 {
				t.Fatalf("after other, not-found, nil, not-found: %v, %d/%d/%d successes/failures/ignored; want closed, 2/0/2",
					m.State, m.Successes, m.Failures, m.Ignored)
			}
			p, _ := c.Acquire(context.Background())
			report(p, fmt.Errorf("read: %w", errIO))
			migWant(t, c, Open, "a recorded exception")
		})
	})
	// transitionToDisabledState, transitionToMetricsOnlyState → Disable():
	// admits everything, never trips, and counts like METRICS_ONLY
	// (resilience4j's DISABLED records nothing).
	// transitionToForcedOpenState → ForceOpen(); reset() → Reset(), which
	// emits closed → closed where resilience4j emits only a reset event.
	t.Run("special states", func(t *testing.T) {
		forEachImpl(t, func(t *testing.T, im impl) {
			c, mk := newMocked(t, im, migConfig(func(c *Config) { c.ConsecutiveFailures = 1 }))
			sub := subscribeAll(t, c)
			c.Disable()
			migRun(t, c, mk, "FFFS")
			if m := c.Metrics(); m.State != Disabled || m.Failures != 3 || m.WindowCalls != 4 {
				t.Fatalf("disabled: %v, %d failures, window %d; want disabled, 3, 4", m.State, m.Failures, m.WindowCalls)
			}
			c.ForceOpen()
			if _, err := c.Acquire(context.Background()); !errors.Is(err, ErrOpen) {
				t.Fatalf("forced open: %v, want ErrOpen", err)
			}
			c.Reset()
			c.Reset()
			chs := stateChanges(drain(sub))
			if len(chs) != 4 || chs[3].From != Closed || chs[3].To != Closed || chs[3].Reason != ReasonManual {
				t.Fatalf("transitions %v; want →disabled, →forced-open, →closed, closed → closed", chs)
			}
		})
	})
}

func TestMigrateGobreaker(t *testing.T) {
	// ReadyToTrip nil: more than 5 consecutive failures → ConsecutiveFailures 6.
	t.Run("ReadyToTrip default", func(t *testing.T) {
		forEachImpl(t, func(t *testing.T, im impl) {
			c, mk := newMocked(t, im, migConfig(func(c *Config) { c.ConsecutiveFailures = 6 }))
			migRun(t, c, mk, "FFFFFSFFFFF")
			migWant(t, c, Closed, "five failures, a success, five failures")
			migRun(t, c, mk, "F")
			migWant(t, c, Open, "six failures in a row")
		})
	})
	// ReadyToTrip: counts.Requests >= n && TotalFailures/Requests >= r (the
	// gobreaker README's example, n = 3, r = 0.6) → MinimumCalls n,
	// FailureRate r, over a window that holds every call since Closed
	// (gobreaker with Interval 0 never forgets while Closed).
	t.Run("ReadyToTrip ratio", func(t *testing.T) {
		forEachImpl(t, func(t *testing.T, im impl) {
			for _, seq := range []string{"FF", "SFF", "SFSF", "SSFSF", "FSSFF", "SSSSFFFFFF", "SSSSFFFFF"} {
				c, mk := newMocked(t, im, migConfig(func(c *Config) {
					c.Window, c.MinimumCalls, c.FailureRate = CountWindow(1000), 3, 0.6
				}))
				want, reqs, fails := Closed, 0, 0 // gobreaker's rule, checked after each failure
				for i := range len(seq) {
					reqs++
					if seq[i] == 'F' {
						fails++
						if reqs >= 3 && float64(fails)/float64(reqs) >= 0.6 {
							want = Open
							break
						}
					}
				}
				for i := range len(seq) {
					if c.State() == Open {
						break
					}
					migRun(t, c, mk, seq[i:i+1])
				}
				migWant(t, c, want, seq)
			}
		})
	})
	// Interval i with BucketPeriod b → TimeWindow(i rounded up to b, i/b);
	// Interval i alone (counts cleared every i) → TimeWindow(i, 1). The
	// buckets are aligned to the clock, not to when the breaker closed.
	t.Run("Interval BucketPeriod", func(t *testing.T) {
		forEachImpl(t, func(t *testing.T, im impl) {
			c, mk := newMocked(t, im, migConfig(func(c *Config) {
				c.Window, c.MinimumCalls, c.FailureRate = TimeWindow(10*time.Second, 5), 2, 1
			}))
			migRun(t, c, mk, "F")          // bucket [0s, 2s)
			advance(c, mk, 10*time.Second) // that bucket has rolled out
			migRun(t, c, mk, "F")
			migWant(t, c, Closed, "a failure per 10s rolling window")
			advance(c, mk, 9*time.Second)
			migRun(t, c, mk, "F")
			migWant(t, c, Open, "two failures within 10s")
		})
		forEachImpl(t, func(t *testing.T, im impl) {
			c, mk := newMocked(t, im, migConfig(func(c *Config) {
				c.Window, c.MinimumCalls, c.FailureRate = TimeWindow(10*time.Second, 1), 2, 1
			}))
			migRun(t, c, mk, "F")
			advance(c, mk, 10*time.Second) // the interval cleared the counts
			migRun(t, c, mk, "F")
			migWant(t, c, Closed, "one failure per interval")
		})
	})
	// Timeout t → OpenTimeout t (BackoffMultiplier 1, MaxOpenTimeout t).
	// gobreaker half-opens on the first call or State() strictly after t;
	// here at t.
	t.Run("Timeout", func(t *testing.T) {
		forEachImpl(t, func(t *testing.T, im impl) {
			c, mk := newMocked(t, im, migConfig(func(c *Config) { c.ConsecutiveFailures = 6 }))
			migRun(t, c, mk, "FFFFFF")
			advance(c, mk, migWait-time.Nanosecond)
			migWant(t, c, Open, "before Timeout")
			advance(c, mk, time.Nanosecond)
			migWant(t, c, HalfOpen, "at Timeout")
		})
	})
	// MaxRequests m → HalfOpen{Strict, MaxProbes m, SuccessThreshold m}: m
	// successes in a row close, any failure reopens.
	t.Run("MaxRequests", func(t *testing.T) {
		forEachImpl(t, func(t *testing.T, im impl) {
			for _, m := range []int{1, 2, 3, 5} {
				for fail := 0; fail <= m; fail++ { // the probe that fails, m: none
					c, mk := newMocked(t, im, migConfig(func(c *Config) {
						c.ConsecutiveFailures = 6
						c.HalfOpen = HalfOpenPolicy{MaxProbes: m, Mode: Strict, SuccessThreshold: m}
					}))
					migRun(t, c, mk, "FFFFFF")
					advance(c, mk, migWait)
					seq := repeat('S', m)
					if fail < m {
						seq = seq[:fail] + "F"
					}
					migRun(t, c, mk, seq)
					want := Closed
					if fail < m {
						want = Open
					}
					migWant(t, c, want, fmt.Sprintf("MaxRequests %d: %s", m, seq))
				}
			}
		})
	})
	// IsSuccessful → IsFailure: !IsSuccessful(err). A non-nil error that
	// IsSuccessful accepts is a success in gobreaker, but Done ignores it:
	// report Success for it.
	t.Run("IsSuccessful", func(t *testing.T) {
		errBusy := errors.New("busy")
		isSuccessful := func(err error) bool { return err == nil || errors.Is(err, errBusy) }
		forEachImpl(t, func(t *testing.T, im impl) {
			c, _ := newMocked(t, im, migConfig(func(c *Config) {
				c.ConsecutiveFailures = 2
				c.IsFailure = func(err error) bool { return !isSuccessful(err) }
			}))
			report := func(err error) {
				p, aerr := c.Acquire(context.Background())
				if aerr != nil {
					t.Fatal(aerr)
				}
				if err != nil && isSuccessful(err) {
					p.Success()
					return
				}
				p.Done(err)
			}
			report(errors.New("boom"))
			report(errBusy) // a success: breaks the run
			report(errors.New("boom"))
			migWant(t, c, Closed, "failure, busy, failure")
			if m := c.Metrics(); m.Successes != 1 || m.Failures != 2 {
				t.Fatalf("%d successes, %d failures; want 1, 2", m.Successes, m.Failures)
			}
			report(errors.New("boom"))
			migWant(t, c, Open, "two failures in a row")
		})
	})
	// IsExcluded → IsFailure returns false for them (ignored). gobreaker
	// counts context.Canceled as a failure unless excluded; this library
	// ignores it by default: IsFailure: func(err error) bool { return err != nil }
	// counts it.
	t.Run("IsExcluded", func(t *testing.T) {
		errExcluded := errors.New("excluded")
		forEachImpl(t, func(t *testing.T, im impl) {
			c, _ := newMocked(t, im, migConfig(func(c *Config) {
				c.ConsecutiveFailures = 2
				c.IsFailure = func(err error) bool { return err != nil && !errors.Is(err, errExcluded) }
			}))
			for _, err := range []error{context.Canceled, errExcluded, errExcluded} {
				p, _ := c.Acquire(context.Background())
				p.Done(err)
			}
			migWant(t, c, Closed, "canceled, then two excluded")
			p, _ := c.Acquire(context.Background())
			p.Done(context.Canceled)
			migWant(t, c, Open, "two cancellations in a row")
		})
	})
	// OnStateChange → Subscribe(events.WithKinds(events.StateChanged)).
	t.Run("OnStateChange", func(t *testing.T) {
		forEachImpl(t, func(t *testing.T, im impl) {
			c, mk := newMocked(t, im, migConfig(func(c *Config) { c.ConsecutiveFailures = 6 }))
			sub := c.(subscriber).Subscribe(events.WithKinds(events.StateChanged))
			defer sub.Close()
			migRun(t, c, mk, "FFFFFF")
			if e := <-sub.C(); e.From != Closed || e.To != Open {
				t.Fatalf("event %v, want closed → open", e)
			}
		})
	})
}

// failsafeRateAtOrOver is failsafe-go's time-window check: the failure rate
// rounded to two decimals (util.Round), compared with >=.
func failsafeRateAtOrOver(failures, executions int, threshold float64) bool {
	return math.Round(float64(failures)/float64(executions)*100)/100 >= threshold
}

func TestMigrateFailsafe(t *testing.T) {
	// NewWithDefaults / a builder with no thresholds: open on one failure,
	// close on one success, 1 minute delay.
	t.Run("NewWithDefaults", func(t *testing.T) {
		forEachImpl(t, func(t *testing.T, im impl) {
			c, mk := newMocked(t, im, migConfig(func(c *Config) {
				c.ConsecutiveFailures = 1
				c.OpenTimeout, c.MaxOpenTimeout = time.Minute, time.Minute
			}))
			migRun(t, c, mk, "SSF")
			migWant(t, c, Open, "one failure")
			advance(c, mk, time.Minute)
			migRun(t, c, mk, "S")
			migWant(t, c, Closed, "one successful probe")
		})
	})
	// WithFailureThreshold(n): n consecutive failures → ConsecutiveFailures n.
	t.Run("WithFailureThreshold", func(t *testing.T) {
		forEachImpl(t, func(t *testing.T, im impl) {
			c, mk := newMocked(t, im, migConfig(func(c *Config) { c.ConsecutiveFailures = 3 }))
			migRun(t, c, mk, "FFSFF")
			migWant(t, c, Closed, "no three in a row")
			migRun(t, c, mk, "F")
			migWant(t, c, Open, "three in a row")
		})
	})
	// WithFailureThresholdRatio(f, n): CountWindow(n), MinimumCalls n,
	// FailureRate f/n. Identical once n executions are recorded: the
	// sweep runs n calls first, then more, with failsafe's rule (at least
	// f failures among the last n) deciding each step.
	t.Run("WithFailureThresholdRatio", func(t *testing.T) {
		forEachImpl(t, func(t *testing.T, im impl) {
			const f, n = 3, 5
			for _, seq := range []string{"SSFFS", "SFFFS", "SSSSFFSFS", "SSSSSFSFSF", "FSFSSFSS"} {
				c, mk := newMocked(t, im, migConfig(func(c *Config) {
					c.Window, c.MinimumCalls, c.FailureRate = CountWindow(n), n, float64(f)/n
				}))
				want := Closed
				for i := range len(seq) {
					if c.State() == Open {
						break
					}
					migRun(t, c, mk, seq[i:i+1])
					last := seq[max(0, i+1-n) : i+1]
					fails := 0
					for j := range len(last) {
						if last[j] == 'F' {
							fails++
						}
					}
					if i+1 >= n && fails >= f {
						want = Open
					}
					migWant(t, c, want, fmt.Sprintf("%s after %d calls", seq, i+1))
				}
			}
		})
	})
	// WithFailureRateThreshold(r, m, p): TimeWindow(p, 10), MinimumCalls m,
	// FailureRate r − 0.005: failsafe rounds the rate to two decimals
	// before comparing it (so with r = 0.5, 99 failures in 200 trip it).
	t.Run("WithFailureRateThreshold", func(t *testing.T) {
		forEachImpl(t, func(t *testing.T, im impl) {
			for _, r := range []float64{0.5, 0.67, 0.1} {
				for _, tt := range []struct{ f, n int }{{99, 200}, {98, 200}, {2, 3}, {1, 2}, {19, 200}, {20, 200}, {1, 10}} {
					c, mk := newMocked(t, im, migConfig(func(c *Config) {
						c.Window, c.MinimumCalls, c.FailureRate = TimeWindow(time.Minute, 10), tt.n, r-0.005
					}))
					migRun(t, c, mk, migSeq(tt.f, tt.n-tt.f, false))
					want := Closed
					if failsafeRateAtOrOver(tt.f, tt.n, r) {
						want = Open
					}
					migWant(t, c, want, fmt.Sprintf("r=%v: %d failures of %d", r, tt.f, tt.n))
					c.Close()
				}
			}
		})
	})
	// WithDelay(d) → OpenTimeout d, BackoffMultiplier 1, MaxOpenTimeout d.
	t.Run("WithDelay", func(t *testing.T) {
		forEachImpl(t, func(t *testing.T, im impl) {
			c, mk := newMocked(t, im, migConfig(func(c *Config) { c.ConsecutiveFailures = 1 }))
			migRun(t, c, mk, "F")
			advance(c, mk, migWait-time.Nanosecond)
			migWant(t, c, Open, "before the delay")
			advance(c, mk, time.Nanosecond)
			migWant(t, c, HalfOpen, "at the delay")
		})
	})
	// WithSuccessThreshold(k) → HalfOpen{Strict, MaxProbes k, SuccessThreshold k}.
	t.Run("WithSuccessThreshold", func(t *testing.T) {
		forEachImpl(t, func(t *testing.T, im impl) {
			for _, seq := range []string{"SSS", "SSF", "F"} {
				c, mk := newMocked(t, im, migConfig(func(c *Config) {
					c.ConsecutiveFailures = 1
					c.HalfOpen = HalfOpenPolicy{MaxProbes: 3, Mode: Strict, SuccessThreshold: 3}
				}))
				migRun(t, c, mk, "F")
				advance(c, mk, migWait)
				migRun(t, c, mk, seq)
				want := Closed
				if seq[len(seq)-1] == 'F' {
					want = Open
				}
				migWant(t, c, want, seq)
			}
		})
	})
	// WithSuccessThresholdRatio(s, c) → HalfOpen{ByRate, MaxProbes c,
	// MinimumProbes c, SuccessRate s/c}: the same decision for every
	// outcome of c probes (failsafe takes it as soon as it is certain,
	// this library after the c-th probe).
	t.Run("WithSuccessThresholdRatio", func(t *testing.T) {
		forEachImpl(t, func(t *testing.T, im impl) {
			const s, n = 3, 5
			for ok := 0; ok <= n; ok++ {
				c, mk := newMocked(t, im, migConfig(func(c *Config) {
					c.ConsecutiveFailures = 1
					c.HalfOpen = HalfOpenPolicy{MaxProbes: n, Mode: ByRate, MinimumProbes: n, SuccessRate: float64(s) / n}
				}))
				migRun(t, c, mk, "F")
				advance(c, mk, migWait)
				migRun(t, c, mk, migSeq(n-ok, ok, ok%2 == 1))
				want := Open
				if ok >= s {
					want = Closed
				}
				migWant(t, c, want, fmt.Sprintf("%d of %d probes succeed", ok, n))
			}
		})
	})
	// HandleErrors / HandleIf → IsFailure. An error failsafe does not
	// handle counts as a success there; Done ignores it: report Success.
	t.Run("HandleErrors", func(t *testing.T) {
		errHandled := errors.New("handled")
		handled := func(err error) bool { return errors.Is(err, errHandled) }
		forEachImpl(t, func(t *testing.T, im impl) {
			c, _ := newMocked(t, im, migConfig(func(c *Config) {
				c.ConsecutiveFailures = 2
				c.IsFailure = handled
			}))
			for _, err := range []error{errHandled, errors.New("unhandled"), errHandled} {
				p, _ := c.Acquire(context.Background())
				if err != nil && !handled(err) {
					p.Success()
					continue
				}
				p.Done(err)
			}
			migWant(t, c, Closed, "handled, unhandled (a success), handled")
			p, _ := c.Acquire(context.Background())
			p.Done(errHandled)
			migWant(t, c, Open, "two handled errors in a row")
		})
	})
}

// The differences docs/MIGRATING.md lists that the tests above do not
// already show.
func TestMigrateDocumentedDifferences(t *testing.T) {
	// Open → HalfOpen is timer-driven: no call is needed (resilience4j
	// without automaticTransitionFromOpenToHalfOpenEnabled, gobreaker and
	// failsafe-go half-open on the next call).
	t.Run("timer-driven half-open", func(t *testing.T) {
		forEachImpl(t, func(t *testing.T, im impl) {
			c, mk := newMocked(t, im, migConfig(func(c *Config) { c.ConsecutiveFailures = 1 }))
			sub := subscribeAll(t, c)
			migRun(t, c, mk, "F")
			advance(c, mk, migWait)
			if b, ok := c.(*Breaker); ok { // the actor's timer, with no call and no read
				eventually(t, "the half-open event", func() bool { return len(stateChanges(drain(sub))) > 0 || b.State() == HalfOpen })
			}
			migWant(t, c, HalfOpen, "at the deadline, no call made")
		})
	})
	// While Open there is no window: the rates read −1 and the window
	// counts 0 (resilience4j shows the window that tripped); the tripping
	// rate is in the StateChanged event.
	t.Run("windows not shown while open", func(t *testing.T) {
		forEachImpl(t, func(t *testing.T, im impl) {
			c, mk := newMocked(t, im, migConfig(func(c *Config) {
				c.Window, c.MinimumCalls, c.FailureRate = CountWindow(4), 4, 0.5
			}))
			sub := subscribeAll(t, c)
			migRun(t, c, mk, "SSFF")
			m := c.Metrics()
			if m.State != Open || m.FailureRate != -1 || m.SlowCallRate != -1 || m.WindowCalls != 0 || m.WindowFailures != 0 {
				t.Fatalf("open: %v, rates %v/%v, window %d/%d; want open, −1/−1, 0/0",
					m.State, m.FailureRate, m.SlowCallRate, m.WindowCalls, m.WindowFailures)
			}
			if e := oneStateChange(t, drain(sub)); e.Rate != 0.5 || e.Reason != ReasonFailureRate {
				t.Fatalf("trip event %v, want failure-rate 0.5", e)
			}
		})
	})
}

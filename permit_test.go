package breaker

// Permits (ARCHITECTURE §4): how a permit's report counts (Done's error
// classification, IsFailure, the zero Permit that counts nothing), a
// permit reported twice that frees its probe slot and counts once, a
// permit of an earlier epoch whose outcome changes nothing in the current
// one, and an IsFailure that panics still resolving its permit.
//
// Every test runs over both implementations, driven by a mock clock. The
// name says how: TestConformance* check the contract; TestRegression* are
// named, minimal reproductions of bugs peer circuit breakers shipped
// (failsafe #391 and gobreaker's two-step done(): a double release raising
// half-open capacity; gobreaker #122 and Polly PR #223: overhanging
// outcomes counted in a later epoch); TestRaceStaleOutcomesDuringHalfOpen
// is meant for `go test -race`: many late outcomes of calls admitted while
// Closed, reported at once while probes are in flight and after the
// breaker closed again, change nothing.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestConformanceZeroPermit(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		c, mk := newMocked(t, im, testConfig(func(c *Config) { c.ConsecutiveFailures = 1 }))
		report := func(p Permit) {
			p.Failure()
			p.Success()
			p.Ignore()
			p.Done(nil)
			p.Done(errors.New("boom"))
			p.Done(context.Canceled)
		}
		report(Permit{}) // in Closed: a failure here would trip
		requireState(t, c, Closed)
		if m := c.Metrics(); m.Successes+m.Failures+m.Ignored != 0 || m.WindowCalls != 0 {
			t.Fatalf("the zero Permit was counted: %+v", m)
		}
		runOutcomes(t, c, "F")
		p, err := c.Acquire(context.Background())
		if err == nil {
			t.Fatal("Acquire in Open succeeded")
		}
		report(p) // the Permit returned beside the rejection
		advance(c, mk, testOpenTimeout)
		requireState(t, c, HalfOpen)
		probe := mustAcquire(t, c)
		_, err = c.Acquire(context.Background())
		if !errors.Is(err, ErrTooManyProbes) {
			t.Fatalf("second probe: %v", err)
		}
		report(Permit{})
		requireState(t, c, HalfOpen)
		if m := c.Metrics(); m.HalfOpenInFlight != 1 || m.Successes+m.Failures+m.Ignored != 1 {
			t.Fatalf("zero permits decided or counted in HalfOpen: %+v", m)
		}
		probe.Success()
		requireState(t, c, Closed)
	})
}

var errBenign = errors.New("not found")

func TestConformanceDone(t *testing.T) {
	isFailure := func(err error) bool { return !errors.Is(err, errBenign) }
	tests := []struct {
		name      string
		isFailure func(error) bool
		err       error
		want      rune // 'S', 'F' or 'I'
	}{
		{"nil", nil, nil, 'S'},
		{"error", nil, errBoom, 'F'},
		{"deadline exceeded", nil, context.DeadlineExceeded, 'F'},
		{"canceled", nil, context.Canceled, 'I'},
		{"wrapped canceled", nil, fmt.Errorf("call: %w", context.Canceled), 'I'},
		{"IsFailure: nil", isFailure, nil, 'S'},
		{"IsFailure false", isFailure, fmt.Errorf("lookup: %w", errBenign), 'I'},
		{"IsFailure true", isFailure, errBoom, 'F'},
		{"IsFailure decides canceled", isFailure, context.Canceled, 'F'},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachImpl(t, func(t *testing.T, im impl) {
				c, _ := newMocked(t, im, testConfig(func(c *Config) { c.IsFailure = tt.isFailure }))
				mustAcquire(t, c).Done(tt.err)
				settle(c)
				m := c.Metrics()
				var got rune
				switch {
				case m.Successes == 1 && m.Failures == 0 && m.Ignored == 0 && m.WindowCalls == 1 && m.WindowFailures == 0:
					got = 'S'
				case m.Successes == 0 && m.Failures == 1 && m.Ignored == 0 && m.WindowCalls == 1 && m.WindowFailures == 1:
					got = 'F'
				case m.Successes == 0 && m.Failures == 0 && m.Ignored == 1 && m.WindowCalls == 0:
					got = 'I'
				default:
					t.Fatalf("Done(%v) counted as: %+v", tt.err, m)
				}
				if got != tt.want {
					t.Errorf("Done(%v) counted as %c, want %c", tt.err, got, tt.want)
				}
			})
		})
	}
}

// TestRegressionDoubleReportNeverRaisesCapacity guards against
// failsafe-lib/failsafe #391 ("Is it intentional for the HalfOpenState to
// allow more calls than permitted?": releasePermit increments the permits
// unconditionally, so every extra release raises capacity) and the
// two-step done() of sony/gobreaker.
//
// A probe permit reported again (Success twice, Ignore twice, Failure or
// Done after Success, or from 32 goroutines at once) frees its slot once
// and counts once: at most MaxProbes probes are ever in flight, a second
// Success is not a second success in a row, and a Failure after the
// Success does not re-open. The zero Permit, including the one returned
// beside ErrTooManyProbes, frees and counts nothing. ARCHITECTURE §4: "A
// half-open probe's outcome counts once: a second report of the same
// permit is ignored"; Metrics: "Every admitted call that was reported is
// in exactly one of Successes, Failures and Ignored".
func TestRegressionDoubleReportNeverRaisesCapacity(t *testing.T) {
	cfg := threeInARowConfig(func(c *Config) {
		c.HalfOpen = HalfOpenPolicy{MaxProbes: 2, Mode: Strict, SuccessThreshold: 3}
	})
	zero := func(p Permit) {
		p.Success()
		p.Failure()
		p.Ignore()
		p.Done(nil)
		p.Done(errBoom)
		p.Done(context.Canceled)
	}
	again := []struct {
		name    string
		success bool // p1's first report is a success
		report  func(t *testing.T, p Permit)
	}{
		{"success twice", true, func(_ *testing.T, p Permit) { p.Success(); p.Success() }},
		{"success then failure", true, func(_ *testing.T, p Permit) { p.Success(); p.Failure() }},
		{"success then ignore", true, func(_ *testing.T, p Permit) { p.Success(); p.Ignore() }},
		{"success, then failure, ignore and done", true, func(_ *testing.T, p Permit) {
			p.Success()
			p.Failure()
			p.Ignore()
			p.Done(nil)
			p.Done(errBoom)
		}},
		{"ignore twice", false, func(_ *testing.T, p Permit) { p.Ignore(); p.Ignore() }},
		{"ignore, then success and failure", false, func(_ *testing.T, p Permit) { p.Ignore(); p.Success(); p.Failure() }},
		{"done(nil), then done", true, func(_ *testing.T, p Permit) { p.Done(nil); p.Done(nil); p.Done(errBoom) }},
		{"32 goroutines success", true, func(t *testing.T, p Permit) { releasedTogether(t, 32, func(int) { p.Success() }) }},
		{"32 goroutines ignore", false, func(t *testing.T, p Permit) { releasedTogether(t, 32, func(int) { p.Ignore() }) }},
		{"success, then 32 goroutines mixed", true, func(t *testing.T, p Permit) {
			p.Success()
			releasedTogether(t, 32, func(i int) {
				switch i % 3 {
				case 0:
					p.Success()
				case 1:
					p.Failure()
				default:
					p.Ignore()
				}
			})
		}},
	}
	for _, tt := range again {
		t.Run(tt.name, func(t *testing.T) {
			forEachImpl(t, func(t *testing.T, im impl) {
				c, mk := newMocked(t, im, cfg)
				toHalfOpen(t, c, mk, testOpenTimeout)
				before := c.Metrics()

				p1, p2 := mustAcquire(t, c), mustAcquire(t, c)
				z, err := c.Acquire(context.Background())
				if !errors.Is(err, ErrTooManyProbes) {
					t.Fatalf("third probe: %+v, %v; want ErrTooManyProbes", z, err)
				}
				zero(z)
				zero(Permit{})
				settle(c)
				if m := c.Metrics(); m.HalfOpenInFlight != 2 || lifetimeCalls(m) != lifetimeCalls(before) {
					t.Errorf("zero permits: %d in flight, %d outcomes counted; want 2, 0",
						m.HalfOpenInFlight, lifetimeCalls(m)-lifetimeCalls(before))
				}

				tt.report(t, p1)
				requireState(t, c, HalfOpen) // a Failure after the Success must not re-open
				m := c.Metrics()
				if m.HalfOpenInFlight != 1 {
					t.Errorf("%d probes in flight after p1 was reported repeatedly; want 1 (p2)", m.HalfOpenInFlight)
				}
				if got := lifetimeCalls(m) - lifetimeCalls(before); got != 1 {
					t.Errorf("p1 reported repeatedly is counted %d times in Successes+Failures+Ignored "+
						"(%d/%d/%d more); want once", got, m.Successes-before.Successes,
						m.Failures-before.Failures, m.Ignored-before.Ignored)
				}
				p3 := mustAcquire(t, c) // the one slot p1 freed
				wantTooManyProbes(t, c, "after p1's repeated reports (they freed more than one slot)")
				for range 4 {
					zero(Permit{})
				}
				wantTooManyProbes(t, c, "after zero-permit reports")

				// Decide with successes in a row: p1's first report counts
				// as one success at most, so with p3 and p2 the run is 2 or
				// 3, never more, and it reaches 3 only if p1 was a success.
				p3.Success()
				p3.Success()
				settle(c)
				if st := c.State(); st != HalfOpen {
					t.Fatalf("state %v after p1 and p3; want half-open (SuccessThreshold 3: a report counted twice)", st)
				}
				p2.Success()
				want := HalfOpen
				if tt.success {
					want = Closed
				}
				requireState(t, c, want)
			})
		})
	}
}

// TestRegressionStaleOutcomesNeverTouchNewEpoch guards against sony/gobreaker
// #122 ("TwoStepCircuitBreaker: done() callback silently drops results when
// generation changes") and Polly PR #223 ("Fix effects of overhanging
// executions on circuit-breaker half-open and open states"): a call's
// outcome belongs to the epoch it was admitted in.
//
// Permits admitted while Closed are reported while Open, while HalfOpen,
// after the breaker closed again and after a Reset; probes of one
// half-open period are reported in the next one and after the close. With
// SuccessThreshold 1 and ConsecutiveFailures 3, any of them counted would
// close, re-open or trip the breaker; none does, the window stays as the
// current epoch's own calls made it, and every report is in the lifetime
// counters.
func TestRegressionStaleOutcomesNeverTouchNewEpoch(t *testing.T) {
	cfg := threeInARowConfig(func(c *Config) {
		c.HalfOpen = HalfOpenPolicy{MaxProbes: 2, Mode: Strict, SuccessThreshold: 1}
	})
	forEachImpl(t, func(t *testing.T, im impl) {
		c, mk := newMocked(t, im, cfg)
		sub := subscribe(t, c)
		defer sub.Close()
		var s, f, ig uint64
		report := func(p Permit, o rune) {
			t.Helper()
			switch o {
			case 'S':
				s++
			case 'F':
				f++
			default:
				ig++
			}
			reportOutcome(t, p, o)
		}
		acquire := func(n int) []Permit {
			ps := make([]Permit, n)
			for i := range ps {
				ps[i] = mustAcquire(t, c)
			}
			return ps
		}
		check := func(what string, st State, calls, fails, consec, inFlight int) {
			t.Helper()
			settle(c)
			m := c.Metrics()
			if m.State != st || m.WindowCalls != calls || m.WindowFailures != fails ||
				m.ConsecutiveFailures != consec || m.HalfOpenInFlight != inFlight {
				t.Fatalf("%s: %v, window %d calls %d failures %d in a row, %d probes in flight; want %v, %d, %d, %d, %d",
					what, m.State, m.WindowCalls, m.WindowFailures, m.ConsecutiveFailures, m.HalfOpenInFlight,
					st, calls, fails, consec, inFlight)
			}
			if m.Successes != s || m.Failures != f || m.Ignored != ig {
				t.Fatalf("%s: lifetime %d/%d/%d successes/failures/ignored; want %d/%d/%d (every report counts)",
					what, m.Successes, m.Failures, m.Ignored, s, f, ig)
			}
		}

		closedEra := acquire(15)
		for _, p := range acquire(3) {
			report(p, 'F')
		}
		check("tripped", Open, 0, 0, 0, 0)
		until := c.Metrics().OpenUntil

		report(closedEra[0], 'S')
		report(closedEra[1], 'F')
		report(closedEra[2], 'I')
		check("Closed-era outcomes while Open", Open, 0, 0, 0, 0)
		if got := c.Metrics().OpenUntil; !got.Equal(until) {
			t.Fatalf("OpenUntil moved from %v to %v", until, got)
		}

		advance(c, mk, testOpenTimeout)
		probesA := acquire(2)     // half-open period A
		report(closedEra[3], 'S') // would close (SuccessThreshold 1)
		report(closedEra[4], 'F') // would re-open
		report(closedEra[5], 'I') // would free a slot
		check("Closed-era outcomes in half-open A", HalfOpen, 0, 0, 0, 2)
		wantTooManyProbes(t, c, "in half-open A after stale outcomes")

		report(probesA[1], 'F') // A ends: re-open
		check("probe failed", Open, 0, 0, 0, 0)
		advance(c, mk, testOpenTimeout) // half-open period B
		report(probesA[0], 'S')         // from A: would close B
		report(closedEra[6], 'S')
		check("period A's probes reported in half-open B", HalfOpen, 0, 0, 0, 0)
		probesB := acquire(2)
		wantTooManyProbes(t, c, "in half-open B (capacity is exactly MaxProbes)")

		report(probesB[0], 'S') // B closes
		check("probe succeeded", Closed, 0, 0, 0, 0)
		for _, p := range closedEra[7:13] {
			report(p, 'F') // six failures in a row: would trip the new window twice over
		}
		report(probesB[1], 'F') // a probe of B, now stale
		check("stale outcomes in the next Closed epoch", Closed, 0, 0, 0, 0)

		runOutcomes(t, c, "SF") // the epoch's own calls still count
		s, f = s+1, f+1
		check("own calls", Closed, 2, 1, 1, 0)

		old := mustAcquire(t, c)
		c.Reset()
		report(old, 'F')
		report(closedEra[13], 'F')
		report(closedEra[14], 'F')
		check("permits from before a Reset", Closed, 0, 0, 0, 0)

		wantTransitions(t, sub,
			"closed→open/consecutive-failures",
			"open→half-open/open-timeout",
			"half-open→open/probe-failed",
			"open→half-open/open-timeout",
			"half-open→closed/probes-succeeded",
			"closed→closed/manual")
		if m := c.Metrics(); m.Trips != 2 || m.Transitions != 6 {
			t.Errorf("%d trips, %d transitions; want 2, 6", m.Trips, m.Transitions)
		}
	})
	// One stale permit at a time, with the window and lifetime counts it
	// leaves.
	t.Run("one stale permit", func(t *testing.T) {
		t.Run("closed permit after Reset", func(t *testing.T) {
			forEachImpl(t, func(t *testing.T, im impl) {
				c, _ := newMocked(t, im, testConfig())
				old := mustAcquire(t, c)
				c.Reset()
				runOutcomes(t, c, "FF")
				old.Failure() // would be the third failure in a row
				requireState(t, c, Closed)
				m := c.Metrics()
				if m.Failures != 3 || m.WindowCalls != 2 || m.WindowFailures != 2 || m.ConsecutiveFailures != 2 {
					t.Errorf("lifetime %d failures, window %d calls %d failures %d in a row; want 3, 2, 2, 2",
						m.Failures, m.WindowCalls, m.WindowFailures, m.ConsecutiveFailures)
				}
			})
		})
		for _, o := range []rune{'S', 'F'} {
			t.Run("closed permit reported in HalfOpen/"+string(o), func(t *testing.T) {
				forEachImpl(t, func(t *testing.T, im impl) {
					c, mk := newMocked(t, im, testConfig())
					old := mustAcquire(t, c)
					toHalfOpen(t, c, mk, testOpenTimeout)
					probe := mustAcquire(t, c)
					reportOutcome(t, old, o) // must neither close nor reopen
					requireState(t, c, HalfOpen)
					m := c.Metrics()
					if m.HalfOpenInFlight != 1 {
						t.Errorf("%d probes in flight, want 1", m.HalfOpenInFlight)
					}
					if got := m.Successes + m.Failures; got != 4 {
						t.Errorf("lifetime successes+failures = %d, want 4 (the stale report counts)", got)
					}
					probe.Success()
					requireState(t, c, Closed)
				})
			})
		}
		t.Run("probe permit after Reset", func(t *testing.T) {
			forEachImpl(t, func(t *testing.T, im impl) {
				c, mk := newMocked(t, im, testConfig(func(c *Config) { c.ConsecutiveFailures = 1 }))
				runOutcomes(t, c, "F")
				advance(c, mk, testOpenTimeout)
				requireState(t, c, HalfOpen)
				probe := mustAcquire(t, c)
				c.Reset()
				probe.Failure() // one failure trips this config, if it counted
				requireState(t, c, Closed)
				if m := c.Metrics(); m.Failures != 2 || m.WindowCalls != 0 || m.ConsecutiveFailures != 0 {
					t.Errorf("lifetime %d failures, window %d calls, %d in a row; want 2, 0, 0",
						m.Failures, m.WindowCalls, m.ConsecutiveFailures)
				}
			})
		})
	})
}

// TestRegressionPanickingIsFailureResolvesPermit: Config.IsFailure
// panicking inside Permit.Done (or Execute) used to leave the permit
// marked reported but never applied: the half-open probe slot was lost
// for good (with HalfOpen.MaxWait 0 the breaker rejected every call
// forever) and a Closed call vanished from the lifetime counters. The
// permit must resolve as a failure and the panic reach the caller
// unchanged.
func TestRegressionPanickingIsFailureResolvesPermit(t *testing.T) {
	cfg := threeInARowConfig(func(c *Config) {
		c.HalfOpen.MaxWait = 0 // nothing else would ever reclaim a lost slot
		c.IsFailure = func(err error) bool { panic(errUserPanic) }
	})
	boom := errors.New("dependency failed")
	calls := map[string]func(c Circuit, p Permit){
		"Done": func(_ Circuit, p Permit) { p.Done(boom) },
		"Execute": func(c Circuit, p Permit) {
			p.Ignore() // the permit taken by the probe below is not this one
			Execute(context.Background(), c, func(context.Context) (int, error) { return 0, boom })
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			forEachImpl(t, func(t *testing.T, im impl) {
				c, mk := newMocked(t, im, cfg)
				ctx := context.Background()

				// Closed: the call is counted as a failure.
				p, err := c.Acquire(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if r := panicValue(func() { call(c, p) }); r != errUserPanic {
					t.Fatalf("Closed: recovered %v; want the callback's own panic value", r)
				}
				settle(c)
				if m := c.Metrics(); m.Failures != 1 {
					t.Fatalf("Closed: Failures = %d after a panicking IsFailure; want 1 (%+v)", m.Failures, m)
				}

				// HalfOpen: the probe slot is freed (a failure reopens).
				for range cfg.ConsecutiveFailures {
					p, _ := c.Acquire(ctx)
					p.Failure()
				}
				settle(c)
				advance(c, mk, testOpenTimeout)
				if st := c.State(); st != HalfOpen {
					t.Fatalf("state %v after the open timeout; want half-open", st)
				}
				p, err = c.Acquire(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if name == "Execute" {
					// Execute takes the probe slot itself: give this one back.
					p.Ignore()
					settle(c)
				}
				if r := panicValue(func() { call(c, p) }); r != errUserPanic {
					t.Fatalf("HalfOpen: recovered %v; want the callback's own panic value", r)
				}
				settle(c)
				if st, m := c.State(), c.Metrics(); st != Open || m.HalfOpenInFlight != 0 {
					t.Fatalf("after a probe whose IsFailure panicked: state %v, %d probes in flight; want open, 0", st, m.HalfOpenInFlight)
				}
				advance(c, mk, testOpenTimeout)
				p, err = c.Acquire(ctx)
				if err != nil {
					t.Fatalf("next half-open period: Acquire = %v; want a probe", err)
				}
				p.Success()
			})
		})
	}
}

// TestRaceStaleOutcomesDuringHalfOpen (Polly #216 and PR #223, gobreaker
// #122): calls admitted while Closed are still running when the breaker
// trips, goes half-open and admits its probes. 32 of them then report at
// once (failures, successes and ignores) while the probes are in flight,
// and 32 more report after the probes have closed the breaker again. None
// of them may close or re-open the breaker, take or free a probe slot, or
// land in the new Closed window; all of them count in the lifetime metrics.
func TestRaceStaleOutcomesDuringHalfOpen(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		for range stressScale() {
			runStaleOutcomes(t, im)
		}
	})
}

func runStaleOutcomes(t *testing.T, im impl) {
	const stale = 32
	cfg := Config{
		Window:              CountWindow(10),
		ConsecutiveFailures: 3,
		OpenTimeout:         time.Second,
		BackoffMultiplier:   1,
		MaxOpenTimeout:      time.Second,
		HalfOpen:            HalfOpenPolicy{MaxProbes: 2, Mode: Strict, SuccessThreshold: 2},
	}
	c, mk := newMocked(t, im, cfg)
	sub := subscribe(t, c)
	var tc transitionChecker
	ctx := context.Background()
	var oc outcomeCounts

	acquire := func(what string) Permit {
		t.Helper()
		p, err := c.Acquire(ctx)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return p
	}
	var batchA, batchB [stale]Permit
	for i := range stale {
		batchA[i] = acquire("closed call")
		batchB[i] = acquire("closed call")
	}
	for range cfg.ConsecutiveFailures {
		oc.report(acquire("failing call"), errBoom, false)
	}
	settle(c)
	advance(c, mk, cfg.OpenTimeout)
	if s := c.State(); s != HalfOpen {
		t.Fatalf("state %v; want half-open", s)
	}
	probe1, probe2 := acquire("probe"), acquire("probe")

	reportAll := func(batch *[stale]Permit) {
		bar := newSpinBarrier(stale)
		var wg sync.WaitGroup
		wg.Add(stale)
		for i := range stale {
			go func() {
				defer wg.Done()
				bar.wait()
				out := errBoom
				if i%4 == 1 {
					out = nil
				} else if i%4 == 2 {
					out = context.Canceled
				}
				oc.report(batch[i], out, i%8 < 4)
			}()
		}
		waitFor(t, "stale reports", 10*time.Second, wg.Wait)
		settle(c)
	}

	reportAll(&batchA)
	m := c.Metrics()
	if m.State != HalfOpen || m.HalfOpenInFlight != 2 || m.Trips != 1 {
		t.Errorf("after stale outcomes in half-open: state %v, HalfOpenInFlight %d, Trips %d; want half-open, 2, 1",
			m.State, m.HalfOpenInFlight, m.Trips)
	}
	if _, err := c.Acquire(ctx); !errors.Is(err, ErrTooManyProbes) {
		t.Errorf("a third probe: %v; want ErrTooManyProbes (stale outcomes freed a slot)", err)
	}
	oc.report(probe1, nil, false)
	oc.report(probe2, nil, true)
	settle(c)
	if s := c.State(); s != Closed {
		t.Fatalf("state %v after two successful probes; want closed", s)
	}

	reportAll(&batchB) // half of them failures: enough to trip a live window
	m = c.Metrics()
	if m.State != Closed || m.WindowCalls != 0 || m.ConsecutiveFailures != 0 || m.Trips != 1 {
		t.Errorf("after stale outcomes in the next Closed epoch: state %v, WindowCalls %d, ConsecutiveFailures %d, Trips %d; want closed, 0, 0, 1",
			m.State, m.WindowCalls, m.ConsecutiveFailures, m.Trips)
	}
	if m.Successes != oc.successes.Load() || m.Failures != oc.failures.Load() || m.Ignored != oc.ignored.Load() {
		t.Errorf("lifetime outcomes %d/%d/%d; reported %d/%d/%d",
			m.Successes, m.Failures, m.Ignored, oc.successes.Load(), oc.failures.Load(), oc.ignored.Load())
	}
	tc.drain(t, sub)
	if tc.n != 3 || tc.state != Closed {
		t.Errorf("%d transitions ending in %v; want 3 (open, half-open, closed) ending closed", tc.n, tc.state)
	}
}

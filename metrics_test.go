package breaker

// Metrics and the other reads (ARCHITECTURE §4): what Metrics reports
// (lifetime counters that add up, FailureRate -1 below MinimumCalls,
// rejections, trips, transitions, Since, probes in flight), and that
// reading has no effect: State, Metrics and Subscribe in any state change
// nothing, emit nothing, and leave the breaker behaving as it would have
// without them.
//
// Both implementations, driven by a mock clock.
// TestRegressionReadsHaveNoObserverEffect guards against Netflix/Hystrix
// #1541 and hystrix-go PR #19 (a read that changed state or took the only
// half-open slot). Lifetime counters under concurrent folds are in
// lifetime_test.go.

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlabs/breaker/events"
)

func TestConformanceMetrics(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		t.Run("lifetime counters add up", func(t *testing.T) {
			c, _ := newMocked(t, im, testConfig(func(c *Config) { c.ConsecutiveFailures = 10 }))
			runOutcomes(t, c, "SSFIFSIS")
			m := c.Metrics()
			if m.Name != "test" || m.Successes != 4 || m.Failures != 2 || m.Ignored != 2 {
				t.Errorf("%q: %d successes %d failures %d ignored; want test, 4, 2, 2", m.Name, m.Successes, m.Failures, m.Ignored)
			}
			if m.WindowCalls != 6 || m.WindowFailures != 2 || m.ConsecutiveFailures != 0 {
				t.Errorf("window %d calls %d failures %d in a row; want 6, 2, 0", m.WindowCalls, m.WindowFailures, m.ConsecutiveFailures)
			}
			if m.Rejected+m.Timeouts+m.Fallbacks+m.Trips+m.Transitions+m.SlowCalls != 0 {
				t.Errorf("unexpected counts: %+v", m)
			}
		})
		t.Run("FailureRate is -1 below MinimumCalls", func(t *testing.T) {
			c, _ := newMocked(t, im, testConfig(func(c *Config) {
				c.ConsecutiveFailures, c.FailureRate, c.MinimumCalls = 0, 0.9, 5
			}))
			for i, want := range []float64{-1, -1, -1, -1, 0.2, 1.0 / 6} {
				runOutcomes(t, c, []string{"F", "S", "S", "S", "S", "S"}[i])
				if m := c.Metrics(); m.FailureRate != want || (want == -1) != (m.SlowCallRate == -1) {
					t.Errorf("after %d calls: FailureRate %v SlowCallRate %v, want %v", i+1, m.FailureRate, m.SlowCallRate, want)
				}
			}
		})
		t.Run("Rejected counts every rejection", func(t *testing.T) {
			c, mk := newMocked(t, im, testConfig())
			tripWithFailures(t, c)
			for i := 0; i < 3; i++ {
				c.Acquire(context.Background())
			}
			advance(c, mk, testOpenTimeout)
			mustAcquire(t, c)
			c.Acquire(context.Background()) // too many probes
			c.ForceOpen()
			c.Acquire(context.Background())
			if m := c.Metrics(); m.Rejected != 5 {
				t.Errorf("Rejected = %d, want 5", m.Rejected)
			}
		})
		t.Run("Trips, Transitions, Since and HalfOpenInFlight", func(t *testing.T) {
			c, mk := newMocked(t, im, testConfig(func(c *Config) { c.HalfOpen.MaxProbes = 2 }))
			if m := c.Metrics(); !m.Since.Equal(time.Unix(0, 0)) || m.State != Closed {
				t.Errorf("new breaker: %v since %v, want closed since the clock's start", m.State, m.Since)
			}
			advance(c, mk, time.Second)
			c.Reset() // 1
			if m := c.Metrics(); !m.Since.Equal(time.Unix(1, 0)) {
				t.Errorf("reset at 1s: Since %v", m.Since)
			}
			tripWithFailures(t, c) // 2
			if m := c.Metrics(); !m.Since.Equal(time.Unix(1, 0)) {
				t.Errorf("tripped at 1s: Since %v", m.Since)
			}
			advance(c, mk, testOpenTimeout) // 3
			p1, p2 := mustAcquire(t, c), mustAcquire(t, c)
			if m := c.Metrics(); m.HalfOpenInFlight != 2 || !m.Since.Equal(time.Unix(11, 0)) {
				t.Errorf("HalfOpenInFlight %d Since %v; want 2, 11s", m.HalfOpenInFlight, m.Since)
			}
			p1.Failure()                    // 4: reopen
			p2.Success()                    // stale
			settle(c)                       // the reopen lands before the clock moves
			advance(c, mk, testOpenTimeout) // 5
			runOutcomes(t, c, "S")          // 6: close
			requireState(t, c, Closed)
			c.ForceOpen() // 7
			c.Reset()     // 8
			m := c.Metrics()
			if m.Trips != 2 || m.Transitions != 8 || m.HalfOpenInFlight != 0 {
				t.Errorf("Trips %d Transitions %d HalfOpenInFlight %d; want 2, 8, 0", m.Trips, m.Transitions, m.HalfOpenInFlight)
			}
		})
	})
}

// TestRegressionReadsHaveNoObserverEffect guards against Netflix/Hystrix
// #1541 ("CircuitBreaker.allowRequest change state of isOpen") and
// myteksi/hystrix-go PR #19 (a pre-check consumed the single half-open
// test slot).
//
// In every state (Closed with calls in its window, Open one nanosecond
// before its deadline, HalfOpen with one of two probes in flight and one
// nanosecond before MaxWait, ForcedOpen, Disabled), 1000 rounds of State,
// Metrics and Subscribe+Close change nothing: Metrics is identical before
// and after, no event of any kind is emitted, and afterwards the breaker
// behaves as it would have without the reads (the free probe slot is
// still free, the armed deadline still fires).
func TestRegressionReadsHaveNoObserverEffect(t *testing.T) {
	const reads, maxWait = 1000, 5 * time.Second
	cfg := threeInARowConfig(func(c *Config) {
		c.FailureRate, c.MinimumCalls = 0.9, 3
		c.HalfOpen = HalfOpenPolicy{MaxProbes: 2, Mode: Strict, SuccessThreshold: 2, MaxWait: maxWait}
	})
	states := []struct {
		name  string
		setup func(t *testing.T, c Circuit, mk *clock.Mock)
		after func(t *testing.T, c Circuit, mk *clock.Mock) // the breaker still behaves
	}{
		{"closed", func(t *testing.T, c Circuit, _ *clock.Mock) {
			runOutcomes(t, c, "SFF")
		}, func(t *testing.T, c Circuit, _ *clock.Mock) {
			runOutcomes(t, c, "F") // the third failure in a row
			requireState(t, c, Open)
		}},
		{"open", func(t *testing.T, c Circuit, mk *clock.Mock) {
			tripWithFailures(t, c)
			advance(c, mk, testOpenTimeout-time.Nanosecond)
		}, func(t *testing.T, c Circuit, mk *clock.Mock) {
			advance(c, mk, time.Nanosecond)
			requireState(t, c, HalfOpen)
		}},
		{"half-open", func(t *testing.T, c Circuit, mk *clock.Mock) {
			toHalfOpen(t, c, mk, testOpenTimeout)
			mustAcquire(t, c)
			advance(c, mk, maxWait-time.Nanosecond)
		}, func(t *testing.T, c Circuit, mk *clock.Mock) {
			mustAcquire(t, c) // the second slot is still free
			wantTooManyProbes(t, c, "with both probes taken")
			advance(c, mk, time.Nanosecond)
			requireState(t, c, Open) // MaxWait still fires
		}},
		{"forced-open", func(t *testing.T, c Circuit, _ *clock.Mock) {
			runOutcomes(t, c, "F")
			c.ForceOpen()
		}, func(t *testing.T, c Circuit, _ *clock.Mock) {
			if _, err := c.Acquire(context.Background()); !errors.Is(err, ErrOpen) {
				t.Errorf("Acquire in forced-open: %v", err)
			}
		}},
		{"disabled", func(t *testing.T, c Circuit, _ *clock.Mock) {
			c.Disable()
			runOutcomes(t, c, "FFFFS")
		}, func(t *testing.T, c Circuit, _ *clock.Mock) {
			runOutcomes(t, c, "FFFF")
			requireState(t, c, Disabled)
		}},
	}
	for _, st := range states {
		t.Run(st.name, func(t *testing.T) {
			forEachImpl(t, func(t *testing.T, im impl) {
				c, mk := newMocked(t, im, cfg)
				st.setup(t, c, mk)
				settle(c)
				sub := subscribeAll(t, c) // every kind
				before := c.Metrics()
				src := c.(subscriber)
				for range reads {
					_ = c.State()
					_ = c.Metrics()
					src.Subscribe().Close()
					src.Subscribe(events.WithKinds(events.AllKinds()...), events.WithBuffer(1)).Close()
				}
				settle(c)
				if after := c.Metrics(); after != before {
					t.Errorf("Metrics changed by reads:\nbefore %+v\nafter  %+v", before, after)
				}
				if evs := drain(sub); len(evs) != 0 {
					t.Errorf("reads emitted events:%s", formatEvents(evs))
				}
				st.after(t, c, mk)
			})
		})
	}
	// Reads along a whole cycle: before the trip, just before the open
	// deadline, in HalfOpen with both slots free, and with both taken.
	t.Run("a whole cycle", func(t *testing.T) {
		read := func(c Circuit) {
			for i := 0; i < 10; i++ {
				c.State()
				c.Metrics()
				c.(subscriber).Subscribe().Close()
				c.(subscriber).Subscribe(events.WithKinds(events.AllKinds()...)).Close()
			}
		}
		forEachImpl(t, func(t *testing.T, im impl) {
			c, mk := newMocked(t, im, testConfig(func(c *Config) {
				c.HalfOpen.MaxProbes, c.HalfOpen.SuccessThreshold = 2, 2
			}))
			sub := subscribeAll(t, c)
			runOutcomes(t, c, "FF")
			drain(sub)
			read(c)
			requireState(t, c, Closed)
			runOutcomes(t, c, "F")
			requireState(t, c, Open)
			drain(sub)

			advance(c, mk, testOpenTimeout-time.Nanosecond)
			read(c)
			requireState(t, c, Open)
			advance(c, mk, time.Nanosecond)
			requireState(t, c, HalfOpen)
			drain(sub)

			read(c)
			if evs := drain(sub); len(evs) != 0 {
				t.Fatalf("reads emitted events:%s", formatEvents(evs))
			}
			if m := c.Metrics(); m.State != HalfOpen || m.HalfOpenInFlight != 0 {
				t.Fatalf("after reads: %v with %d probes in flight", m.State, m.HalfOpenInFlight)
			}
			p1, p2 := mustAcquire(t, c), mustAcquire(t, c) // both slots still free
			read(c)
			if evs := drain(sub); len(evs) != 0 {
				t.Fatalf("reads emitted events:%s", formatEvents(evs))
			}
			p1.Success()
			p2.Success()
			requireState(t, c, Closed)
		})
	})
}

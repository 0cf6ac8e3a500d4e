package breaker

// The behavioural contract of ARCHITECTURE §2 and §4, written once and run over
// both implementations (the actor New and the mutex variant NewMutex).
// Time is driven only by a mock clock; settle makes the actor's
// asynchronous trips and timeouts deterministic.
//
// Where a contract is also a known defect elsewhere, its scenarios live with
// that defect's regression test (regression_test.go): a probe reported twice
// (TestRegressionDoubleReportNeverRaisesCapacity), stale permits
// (TestRegressionStaleOutcomesNeverTouchNewEpoch), stale timers
// (TestRegressionStaleTimerNeverFires) and reads without effect
// (TestRegressionReadsHaveNoObserverEffect).

import (
	"context"
	"errors"
	"fmt"
	"strings"
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

func TestConformanceEvents(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		c, mk := newMocked(t, im, testConfig())
		sub := subscribeAll(t, c)
		runOutcomes(t, c, "SFF")
		runOutcomes(t, c, "F")
		requireState(t, c, Open)
		evs := drain(sub)
		e := oneStateChange(t, evs)
		if e.Breaker != "test" || e.From != Closed || e.To != Open || e.Reason != ReasonConsecutiveFailures ||
			e.Count != 3 || e.Rate != 0 || !e.Time.Equal(mk.Now()) {
			t.Errorf("trip event %+v", e)
		}
		kinds := map[events.Kind]int{}
		for _, e := range evs {
			kinds[e.Kind]++
		}
		if kinds[events.CallSucceeded] != 1 || kinds[events.CallFailed] != 3 {
			t.Errorf("call events %v, want 1 succeeded, 3 failed:%s", kinds, formatEvents(evs))
		}

		c.Acquire(context.Background()) // rejected
		advance(c, mk, testOpenTimeout) // half-open
		runOutcomes(t, c, "S")          // closed
		c.ForceOpen()                   // forced-open
		c.Reset()                       // closed
		runOutcomes(t, c, "I")          // ignored
		settle(c)
		evs = append(evs, drain(sub)...)
		for i := 1; i < len(evs); i++ {
			if evs[i].Seq != evs[i-1].Seq+1 {
				t.Fatalf("Seq not consecutive at %d:%s", i, formatEvents(evs))
			}
		}
		var trans []string
		for _, e := range stateChanges(evs) {
			trans = append(trans, fmt.Sprintf("%v→%v %v", e.From, e.To, e.Reason))
		}
		want := []string{
			"closed→open consecutive-failures", "open→half-open open-timeout", "half-open→closed probes-succeeded",
			"closed→forced-open manual", "forced-open→closed manual",
		}
		if strings.Join(trans, ", ") != strings.Join(want, ", ") {
			t.Errorf("transitions:\n\t%v\nwant\n\t%v", trans, want)
		}
		for _, k := range []events.Kind{events.CallRejected, events.CallIgnored} {
			found := false
			for _, e := range evs {
				found = found || e.Kind == k
			}
			if !found {
				t.Errorf("no %v event:%s", k, formatEvents(evs))
			}
		}
	})
}

func TestConformanceRateEvent(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		c, _ := newMocked(t, im, testConfig(func(c *Config) {
			c.ConsecutiveFailures, c.FailureRate, c.MinimumCalls = 0, 0.6, 5
		}))
		sub := subscribeAll(t, c)
		runOutcomes(t, c, "SFSFF")
		requireState(t, c, Open)
		if e := oneStateChange(t, drain(sub)); e.Reason != ReasonFailureRate || e.Rate != 0.6 || e.Count != 0 {
			t.Errorf("trip event %v: reason %v rate %v count %d, want failure-rate 0.6", e, e.Reason, e.Rate, e.Count)
		}
	})
}

func TestConformanceClose(t *testing.T) {
	for _, r := range confReach {
		t.Run(r.state.String(), func(t *testing.T) {
			forEachImpl(t, func(t *testing.T, im impl) {
				c, mk := newMocked(t, im, backoffConfig())
				r.reach(t, c, mk)
				requireState(t, c, r.state)
				sub := subscribeAll(t, c)
				if err := c.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
				if err := c.Close(); err != nil {
					t.Fatalf("second Close: %v", err)
				}
				p, err := c.Acquire(context.Background())
				if !errors.Is(err, ErrStopped) {
					t.Errorf("Acquire after Close in %v: %v, want ErrStopped", r.state, err)
				}
				p.Failure()
				within(t, "Metrics, Reset, ForceOpen, Disable and State after Close", func() {
					c.Metrics()
					c.Reset()
					c.ForceOpen()
					c.Disable()
					c.State()
					settle(c)
					advance(c, mk, time.Hour)
				})
				within(t, "subscription closed by Close", func() {
					for range sub.C() {
					}
				})
			})
		})
	}
}

func TestConformanceNewRejectsBadInput(t *testing.T) {
	bad := testConfig()
	bad.FailureRate = 1.5
	tests := []struct {
		name, breaker string
		cfg           Config
		want          string
	}{
		{"empty name", "", testConfig(), "name"},
		{"invalid config", "x", bad, "FailureRate"},
		{"no trip condition", "x", testConfig(func(c *Config) { c.ConsecutiveFailures = 0 }), "trip condition"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachImpl(t, func(t *testing.T, im impl) {
				c, err := im.new(tt.breaker, tt.cfg, WithClock(clock.NewMock()))
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("error %v, want one mentioning %q", err, tt.want)
				}
				if c != nil {
					switch v := c.(type) {
					case *Breaker:
						if v != nil {
							t.Errorf("returned a breaker beside the error")
							v.Close()
						}
					case *MutexBreaker:
						if v != nil {
							t.Errorf("returned a breaker beside the error")
						}
					}
				}
			})
		})
	}
}

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
	for _, r := range confReach {
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
	for _, r := range confReach {
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

var errConfBenign = errors.New("not found")

func TestConformanceDone(t *testing.T) {
	isFailure := func(err error) bool { return !errors.Is(err, errConfBenign) }
	tests := []struct {
		name      string
		isFailure func(error) bool
		err       error
		want      rune // 'S', 'F' or 'I'
	}{
		{"nil", nil, nil, 'S'},
		{"error", nil, errConfBoom, 'F'},
		{"deadline exceeded", nil, context.DeadlineExceeded, 'F'},
		{"canceled", nil, context.Canceled, 'I'},
		{"wrapped canceled", nil, fmt.Errorf("call: %w", context.Canceled), 'I'},
		{"IsFailure: nil", isFailure, nil, 'S'},
		{"IsFailure false", isFailure, fmt.Errorf("lookup: %w", errConfBenign), 'I'},
		{"IsFailure true", isFailure, errConfBoom, 'F'},
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

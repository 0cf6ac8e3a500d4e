package breaker

// The Closed state's window: which calls a time window holds (calls within
// Duration are kept, older ones forgotten), buckets that idle gaps of any
// length leave empty and that are reused in turn, a clock read that goes
// backwards never counting a call twice; and what a concurrent reader of
// the actor's lock-free live window (livewindow.go) may see.
//
// Tests run over both implementations and are driven by a mock clock,
// except TestRegressionPausedReaderNeverSeesFailuresWithoutCalls, which
// races a reader against a writer of an actor breaker's live window on
// purpose, on two Ps, for a second per window shape. TestRegression* tests
// name the peer bugs they guard against. How a count window's outcomes
// trip the breaker is in trip_test.go; clock steps that move open periods
// are in clock_test.go.

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
)

func TestConformanceTimeWindow(t *testing.T) {
	cfg := testConfig(func(c *Config) {
		c.Window = TimeWindow(10*time.Second, 10)
		c.ConsecutiveFailures, c.FailureRate, c.MinimumCalls = 0, 0.5, 3
	})
	tests := []struct {
		name      string
		gap       time.Duration
		keptCalls int // window calls after the gap, before the third call
		want      State
	}{
		{"calls within Duration are kept", 9 * time.Second, 2, Open},
		{"calls one whole window old are forgotten", 10 * time.Second, 0, Closed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachImpl(t, func(t *testing.T, im impl) {
				c, mk := newMocked(t, im, cfg)
				runOutcomes(t, c, "FS")
				requireState(t, c, Closed)
				advance(c, mk, tt.gap)
				if m := c.Metrics(); m.WindowCalls != tt.keptCalls {
					t.Fatalf("after %v: WindowCalls = %d, want %d", tt.gap, m.WindowCalls, tt.keptCalls)
				}
				// F makes 2 failures of 3 calls (0.67) if the first two are
				// still in the window, else 1 call, under MinimumCalls.
				runOutcomes(t, c, "F")
				requireState(t, c, tt.want)
				if tt.want == Closed {
					if m := c.Metrics(); m.WindowCalls != 1 || m.WindowFailures != 1 {
						t.Errorf("window %d calls, %d failures; want 1, 1", m.WindowCalls, m.WindowFailures)
					}
				}
			})
		})
	}
}

// TestRegressionTimeWindowIdleGaps guards against rubyist/circuitbreaker
// PR #36 ("Fix window buckets that should be empty") and asecurityteam/
// rolling PR #14 ("Fix TimeWindow not resetting buckets when re-using
// them"): after an idle gap, buckets that should be empty were counted.
// And against tikv/pd PR #10745 ("keep lim.last monotonic on token
// updates"): a clock read that goes backwards must not count a call twice.
//
// A time window of D = 10 s in 10 buckets (a call is kept while its bucket
// is one of the last 10, engine.timeWindow): three failures at t0, an idle
// gap of 0, one bucket, D − 1 bucket, D − 1 ns, D, D + 1 ns, 2D or 10⁶·D,
// then one success. t0 is on a bucket edge or inside a bucket. Then one
// call per bucket for three windows' worth of buckets: the slots are
// reused and the window holds exactly the last 10. Then the mock clock is
// set backwards by various amounts before two more successes.
func TestRegressionTimeWindowIdleGaps(t *testing.T) {
	const (
		d       = 10 * time.Second
		buckets = 10
		width   = d / buckets
	)
	cfg := threeInARowConfig(func(c *Config) {
		c.Window = TimeWindow(d, buckets)
		c.ConsecutiveFailures = 0
		c.FailureRate, c.MinimumCalls = 1, 1000 // counts, never trips
	})
	window := func(t *testing.T, c Circuit, what string, calls, fails int) {
		t.Helper()
		settle(c)
		if m := c.Metrics(); m.State != Closed || m.WindowCalls != calls || m.WindowFailures != fails {
			t.Errorf("%s: %v with %d calls, %d failures in the window; want closed, %d, %d",
				what, m.State, m.WindowCalls, m.WindowFailures, calls, fails)
		}
	}
	start := func(t *testing.T, im impl, offset time.Duration) (Circuit, *clock.Mock) {
		c, mk := newMocked(t, im, cfg)
		advance(c, mk, time.Hour+offset) // Unix time 3600 s is a bucket edge
		return c, mk
	}

	gaps := []struct {
		name string
		gap  time.Duration
		kept [2]bool // the three failures are still counted, at an edge and mid-bucket
	}{
		{"none", 0, [2]bool{true, true}},
		{"one bucket", width, [2]bool{true, true}},
		{"D-1 bucket", d - width, [2]bool{true, true}},
		{"D-1ns", d - time.Nanosecond, [2]bool{true, false}},
		{"D", d, [2]bool{false, false}},
		{"D+1ns", d + time.Nanosecond, [2]bool{false, false}},
		{"2D", 2 * d, [2]bool{false, false}},
		{"1e6 D", 1_000_000 * d, [2]bool{false, false}},
	}
	for _, g := range gaps {
		for k, offset := range []time.Duration{0, 3 * width / 10} {
			t.Run(fmt.Sprintf("gap %s/t0 at bucket+%v", g.name, offset), func(t *testing.T) {
				forEachImpl(t, func(t *testing.T, im impl) {
					c, mk := start(t, im, offset)
					runOutcomes(t, c, "FFF")
					window(t, c, "at t0", 3, 3)
					advance(c, mk, g.gap)
					calls, fails := 0, 0
					if g.kept[k] {
						calls, fails = 3, 3
					}
					window(t, c, "after the gap", calls, fails)
					runOutcomes(t, c, "S")
					window(t, c, "after one more call", calls+1, fails)
				})
			})
		}
	}

	t.Run("every bucket reused", func(t *testing.T) {
		forEachImpl(t, func(t *testing.T, im impl) {
			c, mk := start(t, im, width/2)
			for k := range 3 * buckets {
				runOutcomes(t, c, "F")
				window(t, c, fmt.Sprintf("call %d, one per bucket", k), min(k+1, buckets), min(k+1, buckets))
				if t.Failed() {
					return
				}
				advance(c, mk, width)
			}
		})
	})

	backs := []struct {
		name  string
		back  time.Duration
		exact bool // both calls land in the window read at t0
	}{
		{"1ns", time.Nanosecond, true},
		{"one bucket", width, true},
		{"D/2", d / 2, true},
		{"D-1 bucket", d - width, true},
		{"D", d, false},
		{"2D", 2 * d, false},
		{"1e6 D", 1_000_000 * d, false},
	}
	for _, b := range backs {
		t.Run("clock set back "+b.name, func(t *testing.T) {
			forEachImpl(t, func(t *testing.T, im impl) {
				c, mk := start(t, im, width/2)
				t0 := mk.Now()
				runOutcomes(t, c, "FFF")
				mk.Set(t0.Add(-b.back))
				runOutcomes(t, c, "SS")
				atMost := func(what string) {
					t.Helper()
					settle(c)
					if m := c.Metrics(); m.WindowCalls > 5 || m.WindowFailures > 3 || m.WindowFailures > m.WindowCalls {
						t.Errorf("%s: %d calls, %d failures in the window; 5 calls (3 failures) were made: counted twice",
							what, m.WindowCalls, m.WindowFailures)
					}
				}
				atMost("at the earlier time")
				mk.Set(t0)
				atMost("back at t0")
				if b.exact {
					window(t, c, "back at t0", 5, 3)
				}
				for _, dt := range []time.Duration{width, d / 2, d - width} {
					mk.Set(t0.Add(dt))
					atMost(fmt.Sprintf("at t0+%v", dt))
				}
				mk.Set(t0.Add(2 * d))
				window(t, c, "at t0+2D", 0, 0)
			})
		})
	}
}

// TestRegressionPausedReaderNeverSeesFailuresWithoutCalls: a breaker failing
// one call in twenty tripped on a failure rate of 1 under load (bench/
// BenchmarkMixedParallel, about one run in a hundred). The live window's
// reader loaded the calls, was descheduled, and loaded the failures after
// writers had gone on: it held failures whose calls it had missed. Here
// one goroutine records a fixed pattern (every fourth call fails, every
// eighth is also slow) while another reads in a loop, on two Ps: a writer
// that completes a failing call between two of the reader's loads, or runs
// while the reader is preempted there, shows up within milliseconds with
// the loads in the wrong order (every run of 1 s each caught it, most in
// under 100 ms). A read must never show more failures or slow calls than
// the calls it shows allow.
func TestRegressionPausedReaderNeverSeesFailuresWithoutCalls(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0))))
	mock := clock.NewMock()
	mock.Set(time.Unix(1<<30, 0))
	b, err := New("paused-reader", testConfig(nil), WithClock(mock))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	now := mock.Now().UnixNano()
	for name, win := range map[string]Window{
		"count": CountWindow(1 << 20), "time-1-bucket": TimeWindow(time.Minute, 1), "time-60-buckets": TimeWindow(time.Minute, 60),
	} {
		t.Run(name, func(t *testing.T) {
			deadline := time.Now().Add(time.Second)
			for time.Now().Before(deadline) {
				w := newLiveWindowOf(b, false, win)
				var stop atomic.Bool
				done := make(chan struct{})
				go func() {
					defer close(done)
					for i := 1; i < 1<<20 && !stop.Load(); i++ {
						w.record(now, i%4 == 0, i%8 == 0, 0)
						if i%1024 == 0 {
							runtime.Gosched() // on one P, let the reader run until preempted
						}
					}
					stop.Store(true)
				}()
				for n := 0; !stop.Load(); n++ {
					if n%64 == 0 && time.Now().After(deadline) {
						stop.Store(true)
						break
					}
					if c := w.counts(now); c.Failures > c.Calls/4 || c.SlowCalls > c.Calls/8 {
						stop.Store(true)
						<-done
						t.Fatalf("read %+v: more failures or slow calls than its calls allow (1 in 4, 1 in 8)", c)
					}
				}
				<-done
			}
		})
	}
}

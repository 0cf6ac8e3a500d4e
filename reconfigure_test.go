package breaker

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlabs/breaker/events"
)

// reconfigurer is what both implementations offer beyond Circuit.
type reconfigurer interface {
	Circuit
	Reconfigure(Config) error
	Config() Config
	Subscribe(opts ...events.Option) *events.Subscription
}

func reconfigCfg() Config {
	c := DefaultConfig()
	c.Window = CountWindow(10)
	c.MinimumCalls = 4
	c.FailureRate = 0.5
	c.ConsecutiveFailures = 0
	c.OpenTimeout = 10 * time.Second
	c.BackoffMultiplier = 1
	c.MaxOpenTimeout = 10 * time.Second
	c.HalfOpen = HalfOpenPolicy{MaxProbes: 3, Mode: Strict, SuccessThreshold: 3, MaxWait: time.Minute}
	return c
}

// calls reports outcomes: 'f' a failure, 's' a success.
func calls(t *testing.T, c Circuit, outcomes string) {
	t.Helper()
	for _, o := range outcomes {
		p, err := c.Acquire(context.Background())
		if err != nil {
			t.Fatalf("Acquire in %v: %v", c.State(), err)
		}
		if o == 'f' {
			p.Failure()
		} else {
			p.Success()
		}
	}
	settle(c)
}

func TestReconfigureKeepsWhatWasLearned(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		c, mk := newMocked(t, im, reconfigCfg())
		r := c.(reconfigurer)
		sub := r.Subscribe()
		defer sub.Close()
		calls(t, c, "ssfsf") // 2 failures in 5: 40 %
		before := c.Metrics()

		cfg := reconfigCfg()
		cfg.FailureRate = 0.75
		cfg.CallTimeout = time.Second
		if err := r.Reconfigure(cfg); err != nil {
			t.Fatalf("Reconfigure: %v", err)
		}
		if got := r.Config(); got.FailureRate != 0.75 || got.CallTimeout != time.Second {
			t.Fatalf("Config() after Reconfigure = %+v", got)
		}
		after := c.Metrics()
		if after.State != Closed || !after.Since.Equal(before.Since) || after.WindowCalls != 5 ||
			after.WindowFailures != 2 || after.Successes != 3 || after.Failures != 2 || after.Transitions != 0 {
			t.Fatalf("after a same-shape reconfiguration: %+v\nbefore: %+v", after, before)
		}
		select {
		case ev := <-sub.C():
			t.Fatalf("Reconfigure without a transition emitted %+v", ev)
		default:
		}

		// A bigger window keeps every call; the old threshold would have
		// tripped at 50 %, the new one waits for 75 %.
		cfg.Window = CountWindow(20)
		if err := r.Reconfigure(cfg); err != nil {
			t.Fatal(err)
		}
		calls(t, c, "f") // 3 of 6: 50 %
		if m := c.Metrics(); m.State != Closed || m.WindowCalls != 6 || m.WindowFailures != 3 {
			t.Fatalf("after resizing to 20: %+v", m)
		}

		// A lower threshold already exceeded trips now.
		mk.Add(time.Second)
		cfg.FailureRate = 0.5
		if err := r.Reconfigure(cfg); err != nil {
			t.Fatal(err)
		}
		if s := c.State(); s != Open {
			t.Fatalf("State after lowering FailureRate to 0.5 at 50 %%: %v", s)
		}
		ev := <-sub.C()
		if ev.Kind != events.StateChanged || ev.From != Closed || ev.To != Open || ev.Reason != ReasonReconfigured ||
			ev.Rate != 0.5 || !ev.Time.Equal(mk.Now()) {
			t.Fatalf("event %+v, want closed → open (reconfigured) at rate 0.5, now", ev)
		}
		m := c.Metrics()
		if !m.OpenUntil.Equal(mk.Now().Add(cfg.OpenTimeout)) || m.Trips != 1 {
			t.Fatalf("after the reconfigured trip: %+v", m)
		}

		// Open: a shorter timeout that has already run out half-opens now.
		mk.Add(5 * time.Second)
		cfg.OpenTimeout, cfg.MaxOpenTimeout = 3*time.Second, 3*time.Second
		if err := r.Reconfigure(cfg); err != nil {
			t.Fatal(err)
		}
		if s := c.State(); s != HalfOpen {
			t.Fatalf("State after shortening an expired open timeout: %v", s)
		}

		// HalfOpen: probes in flight are kept; a lower MaxProbes admits
		// no more; the new policy decides on the next report.
		var probes []Permit
		for range 3 {
			p, err := c.Acquire(context.Background())
			if err != nil {
				t.Fatalf("probe: %v", err)
			}
			probes = append(probes, p)
		}
		cfg.HalfOpen.MaxProbes, cfg.HalfOpen.SuccessThreshold = 1, 1
		if err := r.Reconfigure(cfg); err != nil {
			t.Fatal(err)
		}
		if m := c.Metrics(); m.State != HalfOpen || m.HalfOpenInFlight != 3 {
			t.Fatalf("after lowering MaxProbes: %+v", m)
		}
		if _, err := c.Acquire(context.Background()); !errors.Is(err, ErrTooManyProbes) {
			t.Fatalf("Acquire with 3 probes out and MaxProbes 1: %v", err)
		}
		probes[0].Success()
		settle(c)
		if s := c.State(); s != Closed {
			t.Fatalf("one success under SuccessThreshold 1: %v", s)
		}
		probes[1].Success() // stale now
		probes[2].Failure()
		if m := c.Metrics(); m.Successes != 5 || m.Failures != 4 || m.WindowCalls != 0 {
			t.Fatalf("lifetime counters: %+v", m)
		}
	})
}

func TestReconfigureInvalidChangesNothing(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		c, _ := newMocked(t, im, reconfigCfg())
		r := c.(reconfigurer)
		bad := reconfigCfg()
		bad.FailureRate = 1.5
		err := r.Reconfigure(bad)
		var ce *ConfigError
		if !errors.As(err, &ce) {
			t.Fatalf("Reconfigure(invalid) = %v, want a *ConfigError", err)
		}
		if r.Config().FailureRate != 0.5 {
			t.Fatalf("an invalid config was applied: %+v", r.Config())
		}
		c.Close()
		if err := r.Reconfigure(reconfigCfg()); !errors.Is(err, ErrStopped) {
			t.Fatalf("Reconfigure after Close = %v, want ErrStopped", err)
		}
	})
}

// Switching slow-call tracking on times a call admitted before from when
// it was switched on; switching the window to a time window keeps nothing
// of the count window, but the failures in a row.
func TestReconfigureMeasuringOn(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		c, mk := newMocked(t, im, reconfigCfg())
		r := c.(reconfigurer)
		calls(t, c, "ff")
		early, err := c.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		mk.Add(time.Hour)
		cfg := reconfigCfg()
		cfg.SlowCallDuration, cfg.SlowCallRate = 2*time.Second, 1
		cfg.Window = TimeWindow(time.Minute, 6)
		if err := r.Reconfigure(cfg); err != nil {
			t.Fatal(err)
		}
		if m := c.Metrics(); m.WindowCalls != 0 || m.ConsecutiveFailures != 2 {
			t.Fatalf("after switching to a time window: %+v", m)
		}
		mk.Add(time.Second)
		early.Success() // an hour old, but timed from the switch: 1s, not slow
		settle(c)
		if m := c.Metrics(); m.WindowCalls != 1 || m.WindowSlowCalls != 0 || m.SlowCalls != 0 {
			t.Fatalf("a call admitted before measuring began: %+v", m)
		}
		p, _ := c.Acquire(context.Background())
		mk.Add(3 * time.Second)
		p.Success()
		settle(c)
		if m := c.Metrics(); m.WindowSlowCalls != 1 || m.SlowCalls != 1 {
			t.Fatalf("a 3s call with SlowCallDuration 2s: %+v", m)
		}
	})
}

func TestSupervisorReconfigureAndApply(t *testing.T) {
	mk := clock.NewMock()
	s := NewSupervisor(WithClock(mk))
	defer s.Close()
	isFailure := func(err error) bool { return !errors.Is(err, context.DeadlineExceeded) }
	withIsFailure := reconfigCfg()
	withIsFailure.IsFailure = isFailure
	for _, name := range []string{"payments", "search", "orders"} {
		if _, err := s.GetOrCreate(name, withIsFailure); err != nil {
			t.Fatal(err)
		}
	}
	pay, _ := s.Get("payments")
	calls(t, pay, "ffs")

	if err := s.Reconfigure("nope", reconfigCfg()); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("Reconfigure of an unknown name = %v", err)
	}
	bad := reconfigCfg()
	bad.HalfOpen.MaxProbes = 0
	if err := s.Reconfigure("payments", bad); err == nil {
		t.Fatal("Reconfigure with an invalid config succeeded")
	}

	cs, err := ParseConfigSet([]byte(`{
		"defaults": {"preset": "lenient"},
		"breakers": {"payments": {"window": {"size": 10}, "minimumCalls": 4, "failureRate": 0.6},
		             "ghost": {"preset": "aggressive"}}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(cs); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if got := pay.Config(); got.FailureRate != 0.6 || got.HalfOpen.Mode != ByRate || got.IsFailure == nil {
		t.Fatalf("payments after Apply: %+v (IsFailure kept: %v)", got, got.IsFailure != nil)
	}
	if m := pay.Metrics(); m.WindowCalls != 3 || m.WindowFailures != 2 {
		t.Fatalf("payments' window after Apply: %+v", m)
	}
	for _, name := range []string{"search", "orders"} {
		b, _ := s.Get(name)
		if got := b.Config(); got.Window.Size != 200 || got.FailureRate != 0.75 {
			t.Fatalf("%s after Apply: %+v, want the lenient defaults", name, got)
		}
	}
	if _, ok := s.Get("ghost"); ok {
		t.Fatal("Apply created a breaker")
	}

	// All or nothing: one invalid entry, nothing applied.
	cs2 := ConfigSet{Defaults: DefaultConfig(), Breakers: map[string]Config{"search": bad, "payments": DefaultConfig()}}
	err = s.Apply(cs2)
	var cse *ConfigSetError
	if !errors.As(err, &cse) || len(cse.Problems) != 1 || !strings.HasPrefix(cse.Problems[0].Error(), "breakers.search.halfOpen.maxProbes: must be ≥ 1") {
		t.Fatalf("Apply of an invalid set = %v", err)
	}
	if got := pay.Config(); got.FailureRate != 0.6 {
		t.Fatalf("a failed Apply changed payments: %+v", got)
	}
	if err := s.Apply(ConfigSet{}); err == nil {
		t.Fatal("Apply of the zero ConfigSet succeeded")
	}

	s.Close()
	if err := s.Apply(cs); !errors.Is(err, ErrStopped) {
		t.Fatalf("Apply after Close = %v", err)
	}
	if err := s.Reconfigure("payments", reconfigCfg()); !errors.Is(err, ErrStopped) {
		t.Fatalf("Reconfigure after Close = %v", err)
	}
}

// A reload storm: 100 reconfigurations, among configurations that change
// every field (window kind and size, thresholds, slow-call tracking, open
// timeouts, half-open policy), while 16 goroutines call. Every reported
// outcome and every rejection must be in the lifetime counters.
func TestReloadStorm(t *testing.T) {
	configs := []Config{DefaultConfig(), AggressiveConfig(), LenientConfig()}
	tw := DefaultConfig()
	tw.Window, tw.MinimumCalls = TimeWindow(50*time.Millisecond, 5), 5
	tw.OpenTimeout, tw.MaxOpenTimeout = time.Millisecond, 2*time.Millisecond
	tw.HalfOpen.MaxWait = 5 * time.Millisecond
	small := reconfigCfg()
	small.Window, small.MinimumCalls = CountWindow(3), 2
	small.OpenTimeout, small.MaxOpenTimeout = time.Millisecond, time.Millisecond
	slow := small
	slow.SlowCallDuration, slow.SlowCallRate = time.Microsecond, 0.9
	configs = append(configs, tw, small, slow)

	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			c, err := im.new("storm", small)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			r := c.(reconfigurer)
			var (
				stop                         atomic.Bool
				wg                           sync.WaitGroup
				succ, fail, ign, rejected    atomic.Uint64
				reloadsDone                  = make(chan struct{})
				callersStarted, callersReady sync.WaitGroup
			)
			callersStarted.Add(16)
			callersReady.Add(16)
			for g := range 16 {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(g), 7))
					callersStarted.Done()
					for n := 0; !stop.Load() || n < 200; n++ {
						if n == 200 {
							callersReady.Done()
						}
						p, err := c.Acquire(context.Background())
						if err != nil {
							rejected.Add(1)
							continue
						}
						switch rng.IntN(4) {
						case 0:
							p.Failure()
							fail.Add(1)
						case 1:
							p.Ignore()
							ign.Add(1)
						default:
							p.Success()
							succ.Add(1)
						}
					}
				})
			}
			callersStarted.Wait()
			go func() {
				defer close(reloadsDone)
				for i := range 100 {
					if err := r.Reconfigure(configs[i%len(configs)]); err != nil {
						t.Errorf("Reconfigure %d: %v", i, err)
					}
					if i%10 == 0 {
						c.Reset()
					}
				}
			}()
			waitFor(t, "100 reloads", 30*time.Second, func() { <-reloadsDone })
			waitFor(t, "every caller's first 200 calls", 30*time.Second, callersReady.Wait)
			stop.Store(true)
			waitFor(t, "the callers", 30*time.Second, wg.Wait)
			settle(c)
			m := c.Metrics()
			if m.Successes != succ.Load() || m.Failures != fail.Load() || m.Ignored != ign.Load() || m.Rejected != rejected.Load() {
				t.Fatalf("lifetime counters lost calls: successes %d/%d, failures %d/%d, ignored %d/%d, rejected %d/%d",
					m.Successes, succ.Load(), m.Failures, fail.Load(), m.Ignored, ign.Load(), m.Rejected, rejected.Load())
			}
			if last := configs[99%len(configs)]; !configsEqual(r.Config(), last) {
				t.Fatalf("Config() = %+v, want the last one applied %+v", r.Config(), last)
			}
			if m.WindowCalls < 0 || m.WindowFailures > m.WindowCalls || m.HalfOpenInFlight > 10 {
				t.Fatalf("inconsistent metrics after the storm: %+v", m)
			}
		})
	}
}

// TestReshapedTimeWindowStartsAtReconfiguration: a time window given other
// buckets starts at the reconfiguration's time, even if it was empty: a
// call recorded after the clock stepped back counts in the
// reconfiguration's bucket, in both drivers (the actor's lock-free window,
// livewindow.go's reshaped, and the engine's, engine/window.go's
// rebucketed, which MutexBreaker uses).
func TestReshapedTimeWindowStartsAtReconfiguration(t *testing.T) {
	cfg := threeInARowConfig(func(c *Config) { c.Window = TimeWindow(10*time.Second, 10) })
	forEachImpl(t, func(t *testing.T, im impl) {
		c, mk := newMocked(t, im, cfg)
		advance(c, mk, time.Minute)
		next := cfg
		next.Window = TimeWindow(10*time.Second, 5)
		if err := c.(interface{ Reconfigure(Config) error }).Reconfigure(next); err != nil {
			t.Fatalf("Reconfigure: %v", err)
		}
		t0 := mk.Now()
		mk.Set(t0.Add(-30 * time.Second))
		p, err := c.Acquire(context.Background())
		if err != nil {
			t.Fatalf("Acquire: %v", err)
		}
		p.Failure() // counts at t0: the window's latest time
		settle(c)
		mk.Set(t0.Add(5 * time.Second))
		if m := c.Metrics(); m.WindowCalls != 1 {
			t.Errorf("5s after the reconfiguration: %d calls in the 10s window, want 1 (the call counts at the reconfiguration's time)", m.WindowCalls)
		}
	})
}

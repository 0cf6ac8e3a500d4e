package breaker

// Close and Remove, and what outlives them: a closed breaker (closed in
// any state, twice, while messages wait, while callers acquire) answers
// every method without hanging, rejects with ErrStopped, takes no more
// reports (no probes in flight, nothing counted) and emits nothing once
// Close or Remove has returned; a name removed and re-created starts
// fresh; and no goroutine of the library outlives Close, a thousand
// create/close cycles, or a constructor that failed.
//
// The goleak tests (TestLeak*, TestRegressionRemoveRecreateLeaksNothing,
// TestRegressionFailedConstructorLeavesNoGoroutine) each check their own
// goroutines with goleak.VerifyNone against a snapshot taken when they
// start (goleak.IgnoreCurrent), so a leak is blamed on the test that made
// it; none of them may call t.Parallel (goleak's VerifyNone is
// incompatible with it), and their breakers are closed explicitly, never
// in t.Cleanup, which would run after the deferred check. The others run
// on a mock clock, over both implementations or (for what a supervisor
// subscriber sees) through a Supervisor. TestRegression* name the
// defect they reproduce; RemoveRecreateLeaksNothing guards against
// afex/hystrix-go #95 and #81 (monitor goroutines leaked) and
// cockroachdb/cockroach #121030 (a removed tripped breaker's state lived
// on).

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlabs/breaker/events"
	"go.uber.org/goleak"
)

func mustNew(t *testing.T, im impl, cfg Config, opts ...Option) Circuit {
	t.Helper()
	c, err := im.new("leak", cfg, opts...)
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	return c
}

// trip makes c Open with one failure (the config has ConsecutiveFailures 1).
func trip(t *testing.T, c Circuit) {
	t.Helper()
	p, err := c.Acquire(context.Background())
	if err != nil {
		t.Fatalf("Acquire before the trip: %v", err)
	}
	p.Failure()
	settle(c)
	if s := c.State(); s != Open {
		t.Fatalf("state %v after a failure; want open", s)
	}
}

// checkClosed checks what a closed breaker does: Acquire returns ErrStopped,
// every other method returns (none hangs on the stopped actor), Close
// again returns nil.
func checkClosed(t *testing.T, c Circuit) {
	t.Helper()
	within(t, "Acquire after Close", func() {
		if p, err := c.Acquire(context.Background()); !errors.Is(err, ErrStopped) {
			t.Errorf("Acquire after Close: %v (permit %+v); want ErrStopped", err, p)
			p.Ignore()
		}
	})
	within(t, "State, Metrics, Reset, ForceOpen, Disable after Close", func() {
		_ = c.State()
		_ = c.Metrics()
		c.Reset()
		c.ForceOpen()
		c.Disable()
		_ = c.Metrics()
	})
	within(t, "Close again", func() {
		if err := c.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
}

// TestLeakCloseWithProbesInFlight closes a half-open breaker whose
// MaxProbes probes are all unreported, then reports them: nothing hangs or
// panics, the reports count in the lifetime metrics, and no goroutine is
// left.
func TestLeakCloseWithProbesInFlight(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
		mk := clock.NewMock()
		c := mustNew(t, im, oneFailureConfig(time.Second), WithClock(mk))
		sub := subscribe(t, c)
		trip(t, c)
		advance(c, mk, time.Second)
		var probes []Permit
		for range 3 {
			p, err := c.Acquire(context.Background())
			if err != nil {
				t.Fatalf("probe: %v", err)
			}
			probes = append(probes, p)
		}
		if m := c.Metrics(); m.State != HalfOpen || m.HalfOpenInFlight != 3 {
			t.Fatalf("state %v with %d probes in flight; want half-open with 3", m.State, m.HalfOpenInFlight)
		}
		before := c.Metrics()

		within(t, "Close", func() {
			if err := c.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		within(t, "reports of probes after Close", func() {
			probes[0].Success()
			probes[1].Failure()
			probes[2].Done(nil)
		})
		checkClosed(t, c)
		m := c.Metrics()
		if m.Successes != before.Successes+2 || m.Failures != before.Failures+1 {
			t.Errorf("after Close, reports counted as %d successes and %d failures; want %d and %d",
				m.Successes-before.Successes, m.Failures-before.Failures, 2, 1)
		}
		waitFor(t, "the subscription to close", 5*time.Second, func() {
			for range sub.C() {
			}
		})
	})
}

// TestLeakAcquireAfterClose: after Close, Acquire returns ErrStopped,
// whatever state the breaker was closed in.
func TestLeakAcquireAfterClose(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		for _, st := range []State{Closed, Open, HalfOpen, ForcedOpen, Disabled} {
			t.Run(st.String(), func(t *testing.T) {
				defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
				mk := clock.NewMock()
				c := mustNew(t, im, oneFailureConfig(time.Second), WithClock(mk))
				switch st {
				case Open:
					trip(t, c)
				case HalfOpen:
					trip(t, c)
					advance(c, mk, time.Second)
				case ForcedOpen:
					c.ForceOpen()
				case Disabled:
					c.Disable()
				}
				if s := c.State(); s != st {
					t.Fatalf("state %v; want %v", s, st)
				}
				within(t, "Close", func() { c.Close() })
				checkClosed(t, c)
			})
		}
	})
}

// TestLeakCloseWithOpenTimerArmed closes an Open breaker whose open timer is
// armed: on the real clock with a long OpenTimeout (the timer must be
// stopped, not left to fire an hour later), and on a mock clock, where
// after Close no timer of the breaker's is left on the clock.
func TestLeakCloseWithOpenTimerArmed(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		t.Run("real-clock", func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			c := mustNew(t, im, oneFailureConfig(time.Hour))
			trip(t, c)
			within(t, "Close", func() { c.Close() })
			checkClosed(t, c)
		})
		t.Run("mock-clock", func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			mk := clock.NewMock()
			c := mustNew(t, im, oneFailureConfig(time.Hour), WithClock(mk))
			trip(t, c)
			within(t, "Close", func() { c.Close() })
			// WaitForAllTimers moves the clock to each pending timer and fires
			// it; with none left it returns the time unchanged.
			before := mk.Now()
			if after := mk.WaitForAllTimers(); !after.Equal(before) {
				t.Errorf("a timer was still armed after Close: the clock moved from %v to %v to fire it", before, after)
			}
			checkClosed(t, c)
		})
	})
}

// TestLeakCloseIdempotent closes a breaker twice in a row, and another from
// 8 goroutines at once: every call returns nil, and once any of them has
// returned the breaker is stopped.
func TestLeakCloseIdempotent(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
		c := mustNew(t, im, oneFailureConfig(time.Second), WithClock(clock.NewMock()))
		within(t, "Close twice", func() {
			if err := c.Close(); err != nil {
				t.Errorf("first Close: %v", err)
			}
			if err := c.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
		})
		checkClosed(t, c)

		for _, tripped := range []bool{false, true} {
			c := mustNew(t, im, oneFailureConfig(time.Second), WithClock(clock.NewMock()))
			if tripped {
				trip(t, c)
			}
			bar := newSpinBarrier(8)
			var wg sync.WaitGroup
			var notStopped atomic.Int64
			wg.Add(8)
			for range 8 {
				go func() {
					defer wg.Done()
					bar.wait()
					if err := c.Close(); err != nil {
						t.Errorf("concurrent Close: %v", err)
					}
					p, err := c.Acquire(context.Background())
					if !errors.Is(err, ErrStopped) {
						notStopped.Add(1)
						p.Ignore()
					}
				}()
			}
			waitFor(t, "8 concurrent Closes", 5*time.Second, wg.Wait)
			if n := notStopped.Load(); n != 0 {
				t.Errorf("tripped=%v: %d of 8 Acquires made right after a concurrent Close returned did not return ErrStopped",
					tripped, n)
			}
			checkClosed(t, c)
		}
	})
}

// TestLeakCloseWhileMessagesWait closes a half-open breaker while the
// goroutine running its actor is held (inside a test hook) and 16 others
// wait behind it: probes reporting, Metrics, Reset and ForceOpen. Every
// one of them returns, Close returns, and no goroutine is left.
func TestLeakCloseWhileMessagesWait(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const waiters = 16
	var armed atomic.Bool
	gate := make(chan struct{})
	mk := clock.NewMock()
	b, err := New("leak", oneFailureConfig(time.Second), WithClock(mk), blockFirstMessage(&armed, gate))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	trip(t, b)
	advance(b, mk, time.Second)
	if s := b.State(); s != HalfOpen {
		t.Fatalf("state %v; want half-open", s)
	}
	var probes []Permit
	for range 3 {
		p, err := b.Acquire(context.Background())
		if err != nil {
			t.Fatalf("probe: %v", err)
		}
		probes = append(probes, p)
	}

	armed.Store(true)
	held := make(chan struct{})
	go func() { // owns the actor, held by the hook until gate closes
		b.settle()
		close(held)
	}()
	eventually(t, "the actor to be owned", func() bool { return !b.mb.idle() })
	var wg sync.WaitGroup
	for i := range waiters {
		wg.Go(func() {
			switch i % 4 {
			case 0:
				if i/4 < len(probes) {
					probes[i/4].Success()
				}
			case 1:
				b.Metrics()
			case 2:
				b.Reset()
			case 3:
				b.ForceOpen()
			}
		})
	}
	eventually(t, "the waiters' messages to queue", func() bool {
		b.mb.mu.Lock()
		defer b.mb.mu.Unlock()
		return len(b.mb.queue) >= waiters-4+min(len(probes), 4)
	})
	closed := make(chan struct{})
	go func() {
		b.Close()
		close(closed)
	}()
	close(gate)
	waitFor(t, "Close", 5*time.Second, func() { <-closed })
	waitFor(t, "the waiting senders", 5*time.Second, wg.Wait)
	waitFor(t, "the held owner", 5*time.Second, func() { <-held })
	if _, err := b.Acquire(context.Background()); !errors.Is(err, ErrStopped) {
		t.Errorf("Acquire after Close: %v, want ErrStopped", err)
	}
	checkClosed(t, b)
}

// TestLeakCloseWhileAcquiring closes a half-open breaker (probes all
// taken) while 16 goroutines keep calling Acquire: every one of them sees
// ErrStopped soon after and returns.
func TestLeakCloseWhileAcquiring(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
		mk := clock.NewMock()
		c := mustNew(t, im, oneFailureConfig(time.Second), WithClock(mk))
		trip(t, c)
		advance(c, mk, time.Second)
		var probes []Permit
		for range 3 {
			p, err := c.Acquire(context.Background())
			if err != nil {
				t.Fatalf("probe: %v", err)
			}
			probes = append(probes, p)
		}
		var wg sync.WaitGroup
		var calls atomic.Int64
		wg.Add(16)
		for range 16 {
			go func() {
				defer wg.Done()
				for {
					calls.Add(1)
					_, err := c.Acquire(context.Background())
					if errors.Is(err, ErrStopped) {
						return
					}
					if !errors.Is(err, ErrTooManyProbes) {
						t.Errorf("Acquire: %v; want ErrTooManyProbes or ErrStopped", err)
						return
					}
				}
			}()
		}
		eventually(t, "the goroutines to start", func() bool { return calls.Load() > 100 })
		within(t, "Close", func() { c.Close() })
		waitFor(t, "the acquiring goroutines to see ErrStopped", 5*time.Second, wg.Wait)
		for _, p := range probes {
			p.Failure()
		}
		checkClosed(t, c)
	})
}

// TestLeakCoarseClockStops: breakers that track call durations on the real
// clock share one coarse-clock goroutine. It keeps running while any of
// them is open, measures slow calls, and stops when the last one closes;
// many breakers created and closed concurrently leave it stopped too.
func TestLeakCoarseClockStops(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	base, _ := coarseRefs()
	if base != 0 {
		t.Logf("%d breakers of other tests still hold the coarse clock; checking the reference count only", base)
	}
	cfg := DefaultConfig()
	cfg.SlowCallDuration = 2 * time.Millisecond
	cfg.SlowCallRate = 1

	var cs []Circuit
	for _, im := range impls {
		cs = append(cs, mustNew(t, im, cfg))
	}
	if got, _ := coarseRefs(); got != base+len(cs) {
		t.Fatalf("coarse clock references: %d; want %d", got, base+len(cs))
	}
	for _, c := range cs {
		p, err := c.Acquire(context.Background())
		if err != nil {
			t.Fatalf("Acquire: %v", err)
		}
		// Wait until the coarse clock has moved 5ms past the call's start.
		eventually(t, "the coarse clock to tick", func() bool {
			return sharedCoarse.nanos()-p.start >= int64(5*time.Millisecond)
		})
		p.Success()
		settle(c)
		if m := c.Metrics(); m.SlowCalls != 1 {
			t.Errorf("%T: a 5ms call with SlowCallDuration 2ms: SlowCalls = %d; want 1", c, m.SlowCalls)
		}
	}
	cs[0].Close()
	got, done := coarseRefs()
	if got != base+1 {
		t.Errorf("after closing one of two: %d references; want %d", got, base+1)
	}
	select {
	case <-done:
		t.Errorf("the coarse clock stopped while a breaker still uses it")
	default:
	}
	cs[1].Close()
	cs[0].Close() // a second Close must not release a second reference
	if got, _ := coarseRefs(); got != base {
		t.Errorf("after closing both (one twice): %d references; want %d", got, base)
	}

	// Concurrent churn: acquire and release race on the shared clock.
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				c, err := impls[g%2].new("coarse", cfg)
				if err != nil {
					t.Errorf("new: %v", err)
					return
				}
				c.Close()
			}
		}()
	}
	waitFor(t, "concurrent create/close", 10*time.Second, wg.Wait)
	if got, _ := coarseRefs(); got != base {
		t.Errorf("after concurrent create/close: %d references; want %d", got, base)
	}
}

// TestLeakCreateClose1000 creates 1000 breakers of each implementation
// (mock and real clocks, with and without duration tracking, some tripped
// so that a timer is armed, each with a subscriber), closes them all, and
// checks that no goroutine is left and every subscription was closed.
func TestLeakCreateClose1000(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
		const n = 1000
		base, _ := coarseRefs()
		cs := make([]Circuit, 0, n)
		subs := make([]<-chan struct{}, 0, n)
		for i := range n {
			cfg := oneFailureConfig(time.Hour)
			if i%3 == 0 {
				cfg.SlowCallDuration = time.Second
			}
			var opts []Option
			if i%2 == 0 {
				opts = append(opts, WithClock(clock.NewMock()))
			}
			c, err := im.new(fmt.Sprintf("b%d", i), cfg, opts...)
			if err != nil {
				t.Fatalf("new %d: %v", i, err)
			}
			sub := c.(subscriber).Subscribe() // the default buffer: 1<<16 events × 1000 is gigabytes
			done := make(chan struct{})
			go func() {
				for range sub.C() {
				}
				close(done)
			}()
			if i%4 == 1 {
				trip(t, c)
			}
			cs = append(cs, c)
			subs = append(subs, done)
		}
		within(t, "closing 1000 breakers", func() {
			for _, c := range cs {
				if err := c.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			}
		})
		waitFor(t, "every subscription to close", 5*time.Second, func() {
			for _, d := range subs {
				<-d
			}
		})
		if got, _ := coarseRefs(); got != base {
			t.Errorf("coarse clock references: %d after closing every breaker; want %d", got, base)
		}
	})
}

// TestLeakReportAfterCloseChangesNothing: the Permit documentation says
// "Reports after Close are counted in the lifetime metrics and otherwise
// ignored". A failure reported after Close on a permit granted before it
// (ConsecutiveFailures 1) must not trip the closed breaker, and a probe's
// success must not close a half-open one.
func TestLeakReportAfterCloseChangesNothing(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		t.Run("closed", func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			c := mustNew(t, im, oneFailureConfig(time.Second), WithClock(clock.NewMock()))
			p, err := c.Acquire(context.Background())
			if err != nil {
				t.Fatalf("Acquire: %v", err)
			}
			c.Close()
			within(t, "Failure after Close", p.Failure)
			m := c.Metrics()
			if m.Failures != 1 {
				t.Errorf("Failures = %d; want 1 (counted in the lifetime metrics)", m.Failures)
			}
			if m.State != Closed || m.Trips != 0 || m.Transitions != 0 {
				t.Errorf("after a failure reported after Close: state %v, Trips %d, Transitions %d; want closed, 0, 0",
					m.State, m.Trips, m.Transitions)
			}
		})
		t.Run("half-open", func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			mk := clock.NewMock()
			cfg := oneFailureConfig(time.Second)
			cfg.HalfOpen.MaxProbes, cfg.HalfOpen.SuccessThreshold = 1, 1
			c := mustNew(t, im, cfg, WithClock(mk))
			trip(t, c)
			advance(c, mk, time.Second)
			p, err := c.Acquire(context.Background())
			if err != nil {
				t.Fatalf("probe: %v", err)
			}
			before := c.Metrics()
			c.Close()
			within(t, "Success after Close", p.Success)
			m := c.Metrics()
			if m.State != HalfOpen || m.Transitions != before.Transitions {
				t.Errorf("after a probe success reported after Close: state %v, Transitions %d; want half-open, %d",
					m.State, m.Transitions, before.Transitions)
			}
		})
	})
}

func TestConformanceClose(t *testing.T) {
	for _, r := range reachStates {
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

// TestRegressionRemoveRecreateLeaksNothing guards against afex/hystrix-go
// #95 ("metricExchange.Monitor and poolMetrics.Monitor goroutine leak")
// and #81 ("Goroutine leak or never stop"), and cockroachdb/cockroach
// #121030 (a removed tripped breaker's state lived on; fixed in PR
// #121142). That a removed breaker's Prometheus series is deleted is
// prom/'s TestRemovedBreakerVanishes.
//
// Through one Supervisor, the same three names are created, subscribed
// to, tripped (some left with their open timer armed, some half-open with
// a probe in flight), and removed, 200 times. Each re-created breaker
// starts Closed with every counter at zero; each removed breaker's
// subscription is closed and its Acquire returns ErrStopped; and once the
// supervisor is closed no goroutine is left (goleak.VerifyNone; this test
// must not run in parallel).
func TestRegressionRemoveRecreateLeaksNothing(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const iterations = 200
	cfg := threeInARowConfig(nil)
	mk := clock.NewMock()
	s := NewSupervisor(WithClock(mk))
	all := s.Subscribe(events.WithBuffer(8))
	allDone := make(chan struct{})
	go func() {
		defer close(allDone)
		for range all.C() {
		}
	}()
	names := []string{"alpha", "beta", "gamma"}
	for i := range iterations {
		for j, name := range names {
			b := mustGetOrCreate(t, s, name, cfg)
			m := b.Metrics()
			if m.State != Closed || m.WindowCalls != 0 || m.ConsecutiveFailures != 0 || m.HalfOpenInFlight != 0 ||
				lifetimeCalls(m) != 0 || m.Rejected != 0 || m.Trips != 0 || m.Transitions != 0 {
				t.Fatalf("iteration %d: re-created %q is not fresh: %+v", i, name, m)
			}
			sub := b.Subscribe()
			subDone := make(chan struct{})
			go func() {
				defer close(subDone)
				for range sub.C() {
				}
			}()
			failCalls(t, b, cfg.ConsecutiveFailures)
			if st := b.State(); st != Open {
				t.Fatalf("iteration %d: %q in %v after %d failures; want open", i, name, st, cfg.ConsecutiveFailures)
			}
			if (i+j)%3 == 1 {
				advance(b, mk, testOpenTimeout)
				if _, err := b.Acquire(context.Background()); err != nil { // a probe left in flight
					t.Fatalf("iteration %d: probe: %v", i, err)
				}
			}
			if !s.Remove(name) {
				t.Fatalf("iteration %d: Remove(%q) = false", i, name)
			}
			waitFor(t, "the removed breaker's subscription to close", 5*time.Second, func() { <-subDone })
			if _, err := b.Acquire(context.Background()); !errors.Is(err, ErrStopped) {
				t.Fatalf("iteration %d: Acquire on removed %q: %v; want ErrStopped", i, name, err)
			}
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	waitFor(t, "the supervisor's subscription to close", 5*time.Second, func() { <-allDone })
}

// TestRegressionFailedConstructorLeavesNoGoroutine: New took the shared
// coarse clock (and started its goroutine) before the steps that could
// still panic, so a constructor that panicked left the goroutine running
// for good. Shared resources are now taken last.
func TestRegressionFailedConstructorLeavesNoGoroutine(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	before, _ := coarseRefs()
	cfg := DefaultConfig()
	cfg.Window = TimeWindow(time.Minute, 60) // real clock + time window: wants the coarse clock
	hooks := &testHooks{construct: func() { panic(errUserPanic) }}
	if r := panicValue(func() { New("doomed", cfg, withTestHooks(hooks)) }); r != errUserPanic {
		t.Fatalf("New recovered %v; want the injected panic", r)
	}
	if got, _ := coarseRefs(); got != before {
		t.Fatalf("coarse clock references %d after a failed New; want %d", got, before)
	}
}

// TestRegressionHalfOpenInFlightAfterClose: after Close the actor breaker
// reported 0 half-open probes in flight and the mutex variant the probes
// it had granted. A stopped breaker takes no more probe reports, so both
// report 0.
func TestRegressionHalfOpenInFlightAfterClose(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		c, mk := newMocked(t, im, threeInARowConfig(nil))
		for range 3 {
			p, _ := c.Acquire(context.Background())
			p.Failure()
		}
		settle(c)
		advance(c, mk, testOpenTimeout)
		p, err := c.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if m := c.Metrics(); m.HalfOpenInFlight != 1 {
			t.Fatalf("HalfOpenInFlight = %d with one probe out; want 1", m.HalfOpenInFlight)
		}
		c.Close()
		if m := c.Metrics(); m.HalfOpenInFlight != 0 || m.State != HalfOpen {
			t.Errorf("after Close: %v with %d probes in flight; want half-open (the last state) with 0", m.State, m.HalfOpenInFlight)
		}
		p.Success()
	})
}

// TestRegressionNothingEmittedAfterClose: the actor published per-call
// events for reports made after Close, so a supervisor subscriber saw a
// removed breaker's events, with Seqs that collide with those of the
// breaker re-created under the same name. Nothing is emitted for a
// breaker once its Close (or Remove) has returned.
func TestRegressionNothingEmittedAfterClose(t *testing.T) {
	mk := clock.NewMock()
	s := NewSupervisor(WithClock(mk))
	defer s.Close()
	all := s.Subscribe(events.WithBuffer(256), events.WithKinds(events.StateChanged, events.CallSucceeded,
		events.CallFailed, events.CallIgnored, events.CallRejected, events.FallbackUsed))
	cfg := threeInARowConfig(func(c *Config) { c.HalfOpen.MaxProbes = 2 })
	b := mustGetOrCreate(t, s, "gone", cfg)
	closedCall, _ := b.Acquire(context.Background())
	failCalls(t, b, cfg.ConsecutiveFailures)
	advance(b, mk, testOpenTimeout)
	probe, err := b.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !s.Remove("gone") {
		t.Fatal("Remove = false")
	}
	drain(all) // everything up to the Remove

	closedCall.Success() // a Closed-state call that ends after Remove
	probe.Failure()      // a probe that ends after Remove
	b.RecordFallback()   // a wrapper's fallback after Remove
	b.Acquire(context.Background())
	if evs := drain(all); len(evs) != 0 {
		t.Errorf("events of a removed breaker after Remove returned: %+v", evs)
	}
	if m := b.Metrics(); m.Successes != 1 || m.Failures != uint64(cfg.ConsecutiveFailures)+1 {
		t.Errorf("reports after Remove are not in the lifetime counters: %+v", m)
	}
}

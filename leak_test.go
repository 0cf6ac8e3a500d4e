package breaker

// Lifecycle tests: no goroutine of the library outlives Close, and a closed
// breaker answers every method without hanging. Each test checks its own
// goroutines with goleak.VerifyNone against a snapshot taken when it
// starts (goleak.IgnoreCurrent), so a leak is blamed on the test that made
// it; none of them may call t.Parallel (goleak's VerifyNone is incompatible
// with it). Breakers are closed explicitly, never in t.Cleanup, which would
// run after the deferred check.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
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

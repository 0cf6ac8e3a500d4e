package breaker

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/breakerlabs/breaker/events"
)

// These tests cover the real-clock path: breakers made without WithClock,
// inside a synctest bubble, where time is fake and moves only when every
// goroutine of the bubble is blocked. The actor's timers are real
// time.AfterFunc timers, so a transition seen here was made by the timer,
// on time, with no message to prompt it. synctest.Test also fails if any
// goroutine of the bubble (an actor, a timer callback, the coarse-clock
// refresher) is still there when the test function returns, which proves
// that Close leaves nothing behind.
//
// Breakers that measure call durations on the real clock share one
// process-wide coarse clock (coarseclock.go): its refresher goroutine is
// started by the first such breaker and stopped by the last Close. Started
// in a bubble, it belongs to the bubble and ticks on fake time, which is
// what these tests need. If a breaker outside the bubble already holds it
// when a test starts (one that some earlier test never closed), the
// refresher is outside the bubble: it would tick on real time, so fake
// sleeps would not show in measured durations, and the bubble's last Close
// would not stop it. Those tests then skip, saying so, rather than measure
// the wrong clock. None of these tests is parallel, and Go runs parallel
// tests only after the sequential ones, so no other test can take the
// coarse clock while a bubble holds it.

// stCoarseIdle skips t unless the shared coarse clock is stopped (no
// breaker holds it), so that a bubble that starts it owns it.
func stCoarseIdle(t *testing.T) {
	t.Helper()
	if n := stCoarseRefs(); n != 0 {
		t.Skipf("the shared coarse clock is held by %d breaker(s) outside this test (not closed by an earlier test); "+
			"its refresher runs on real time outside the synctest bubble, so fake-time durations cannot be measured here", n)
	}
}

func stCoarseRefs() int {
	sharedCoarse.mu.Lock()
	defer sharedCoarse.mu.Unlock()
	return sharedCoarse.refs
}

// stConfig is a count-window config that never reads durations (no
// coarse clock): trips after 3 failures in a row, opens for 5s, closes
// after 2 successful probes.
func stConfig() Config {
	return testConfig(func(c *Config) {
		c.MinimumCalls = 0
		c.OpenTimeout, c.MaxOpenTimeout = 5*time.Second, 5*time.Second
		c.HalfOpen.MaxProbes, c.HalfOpen.SuccessThreshold = 2, 2
	})
}

func stNew(t *testing.T, cfg Config) *Breaker {
	t.Helper()
	b, err := New("st", cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

func stFail(t *testing.T, c Circuit, n int) {
	t.Helper()
	for range n {
		mustAcquire(t, c).Failure()
	}
}

// stWant waits until every goroutine of the bubble is blocked, then checks
// the state.
func stWant(t *testing.T, c Circuit, want State) {
	t.Helper()
	synctest.Wait()
	if got := c.State(); got != want {
		t.Fatalf("at +%v: State() = %v, want %v", stElapsed(), got, want)
	}
}

// stStart is the bubble's epoch: synctest starts every bubble's clock at
// midnight UTC 2000-01-01.
var stStart = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func stElapsed() time.Duration { return time.Since(stStart) }

// stTransition is an expected StateChanged event.
type stTransition struct {
	from, to State
	reason   Reason
	at       time.Duration // since stStart
}

func stWantEvents(t *testing.T, sub *events.Subscription, want ...stTransition) {
	t.Helper()
	got := drain(sub)
	if len(got) != len(want) {
		t.Fatalf("%d events %+v, want %d %+v", len(got), got, len(want), want)
	}
	for i, ev := range got {
		w := want[i]
		if ev.Kind != events.StateChanged || ev.From != w.from || ev.To != w.to || ev.Reason != w.reason || !ev.Time.Equal(stStart.Add(w.at)) {
			t.Errorf("event %d: %v %v→%v (%v) at +%v; want %v→%v (%v) at +%v",
				i, ev.Kind, ev.From, ev.To, ev.Reason, ev.Time.Sub(stStart), w.from, w.to, w.reason, w.at)
		}
	}
}

// Open → HalfOpen happens by the actor's own timer, exactly at the open
// deadline, and probes close the breaker.
func TestSynctestOpenTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := stConfig()
		b := stNew(t, cfg)
		defer b.Close()
		sub := b.Subscribe()

		time.Sleep(time.Second)
		stFail(t, b, cfg.ConsecutiveFailures)
		stWant(t, b, Open)
		m := b.Metrics()
		if want := stStart.Add(time.Second); !m.Since.Equal(want) || !m.OpenUntil.Equal(want.Add(cfg.OpenTimeout)) {
			t.Fatalf("tripped at +1s: Since +%v, OpenUntil +%v; want +1s, +6s", m.Since.Sub(stStart), m.OpenUntil.Sub(stStart))
		}
		if _, err := b.Acquire(context.Background()); !errors.Is(err, ErrOpen) {
			t.Fatalf("Acquire while Open: %v, want ErrOpen", err)
		}

		time.Sleep(cfg.OpenTimeout - time.Nanosecond)
		stWant(t, b, Open)
		time.Sleep(time.Nanosecond)
		stWant(t, b, HalfOpen)
		if since := b.Metrics().Since; !since.Equal(stStart.Add(6 * time.Second)) {
			t.Fatalf("half-open Since +%v, want +6s", since.Sub(stStart))
		}

		p1, p2 := mustAcquire(t, b), mustAcquire(t, b)
		if _, err := b.Acquire(context.Background()); !errors.Is(err, ErrTooManyProbes) {
			t.Fatalf("third probe: %v, want ErrTooManyProbes", err)
		}
		time.Sleep(time.Second)
		p1.Success()
		stWant(t, b, HalfOpen)
		p2.Success()
		stWant(t, b, Closed)
		stWantEvents(t, sub,
			stTransition{Closed, Open, ReasonConsecutiveFailures, time.Second},
			stTransition{Open, HalfOpen, ReasonOpenTimeout, 6 * time.Second},
			stTransition{HalfOpen, Closed, ReasonProbesSucceeded, 7 * time.Second},
		)
	})
}

// HalfOpen.MaxWait re-opens a breaker whose probe never reports, by timer,
// with the backed-off open duration, and frees the lost probe's slot.
func TestSynctestHalfOpenMaxWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := stConfig()
		cfg.OpenTimeout = time.Second
		cfg.BackoffMultiplier = 2
		cfg.MaxOpenTimeout = 3 * time.Second
		cfg.HalfOpen = HalfOpenPolicy{MaxProbes: 1, Mode: Strict, SuccessThreshold: 1, MaxWait: 10 * time.Second}
		b := stNew(t, cfg)
		defer b.Close()
		sub := b.Subscribe()

		stFail(t, b, cfg.ConsecutiveFailures)
		stWant(t, b, Open)
		time.Sleep(time.Second)
		stWant(t, b, HalfOpen)
		lost := mustAcquire(t, b) // never reported in its epoch
		if _, err := b.Acquire(context.Background()); !errors.Is(err, ErrTooManyProbes) {
			t.Fatalf("second probe: %v, want ErrTooManyProbes", err)
		}

		time.Sleep(cfg.HalfOpen.MaxWait - time.Nanosecond)
		stWant(t, b, HalfOpen)
		time.Sleep(time.Nanosecond)
		stWant(t, b, Open) // attempt 1: open for 2s
		if until := b.Metrics().OpenUntil; !until.Equal(stStart.Add(13 * time.Second)) {
			t.Fatalf("OpenUntil +%v, want +13s (1s × 2¹ after +11s)", until.Sub(stStart))
		}
		time.Sleep(2 * time.Second)
		stWant(t, b, HalfOpen)
		lost2 := mustAcquire(t, b) // lost too
		time.Sleep(cfg.HalfOpen.MaxWait)
		stWant(t, b, Open) // attempt 2: 1s × 2² = 4s, capped at 3s
		if until := b.Metrics().OpenUntil; !until.Equal(stStart.Add(26 * time.Second)) {
			t.Fatalf("OpenUntil +%v, want +26s (capped at 3s after +23s)", until.Sub(stStart))
		}
		time.Sleep(3 * time.Second)
		stWant(t, b, HalfOpen)

		lost.Failure() // stale: its epoch is long gone
		lost2.Failure()
		stWant(t, b, HalfOpen)
		mustAcquire(t, b).Success() // the slot is free again
		stWant(t, b, Closed)
		stWantEvents(t, sub,
			stTransition{Closed, Open, ReasonConsecutiveFailures, 0},
			stTransition{Open, HalfOpen, ReasonOpenTimeout, time.Second},
			stTransition{HalfOpen, Open, ReasonHalfOpenTimeout, 11 * time.Second},
			stTransition{Open, HalfOpen, ReasonOpenTimeout, 13 * time.Second},
			stTransition{HalfOpen, Open, ReasonHalfOpenTimeout, 23 * time.Second},
			stTransition{Open, HalfOpen, ReasonOpenTimeout, 26 * time.Second},
			stTransition{HalfOpen, Closed, ReasonProbesSucceeded, 26 * time.Second},
		)
	})
}

// No traffic is no evidence: a MaxWait that ends with no probe in flight
// restarts the half-open period, by the actor's own timer, with no event
// and no backoff step, however many times. The restarted deadline is
// armed: a probe admitted after a few restarts and never reported is
// reclaimed at the first MaxWait boundary after it, by timer.
func TestSynctestHalfOpenRestartsWithoutTraffic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := stConfig()
		cfg.OpenTimeout = time.Second
		cfg.BackoffMultiplier = 2
		cfg.MaxOpenTimeout = 8 * time.Second
		cfg.HalfOpen = HalfOpenPolicy{MaxProbes: 1, Mode: Strict, SuccessThreshold: 1, MaxWait: 10 * time.Second}
		b := stNew(t, cfg)
		defer b.Close()
		sub := b.Subscribe()

		stFail(t, b, cfg.ConsecutiveFailures)
		time.Sleep(time.Second)
		stWant(t, b, HalfOpen) // +1s; MaxWait boundaries at +11s, +21s, +31s, …
		time.Sleep(35 * time.Second)
		stWant(t, b, HalfOpen) // +36s: three restarts, nothing else
		stWantEvents(t, sub,
			stTransition{Closed, Open, ReasonConsecutiveFailures, 0},
			stTransition{Open, HalfOpen, ReasonOpenTimeout, time.Second},
		)
		lost := mustAcquire(t, b) // +36s, never reported
		time.Sleep(5*time.Second - time.Nanosecond)
		stWant(t, b, HalfOpen)
		time.Sleep(time.Nanosecond)
		stWant(t, b, Open) // +41s, the boundary after the probe; attempt 1: 2s, not 2⁴s
		if until := b.Metrics().OpenUntil; !until.Equal(stStart.Add(43 * time.Second)) {
			t.Fatalf("OpenUntil +%v, want +43s (1s × 2¹ after +41s)", until.Sub(stStart))
		}
		time.Sleep(2 * time.Second)
		stWant(t, b, HalfOpen)
		lost.Success() // stale
		mustAcquire(t, b).Success()
		stWant(t, b, Closed)
		stWantEvents(t, sub,
			stTransition{HalfOpen, Open, ReasonHalfOpenTimeout, 41 * time.Second},
			stTransition{Open, HalfOpen, ReasonOpenTimeout, 43 * time.Second},
			stTransition{HalfOpen, Closed, ReasonProbesSucceeded, 43 * time.Second},
		)
	})
}

// Close with a timer armed (the open deadline; the half-open MaxWait)
// stops the actor and the timer: nothing of the breaker is left in the
// bubble (synctest.Test checks), the state never moves again, and Acquire
// says ErrStopped.
func TestSynctestCloseWithTimersPending(t *testing.T) {
	cfg := stConfig()
	cfg.HalfOpen.MaxWait = 2 * time.Second
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, b *Breaker)
		want  State
	}{
		{"closed", func(t *testing.T, b *Breaker) {}, Closed},
		{"open deadline armed", func(t *testing.T, b *Breaker) {
			stFail(t, b, cfg.ConsecutiveFailures)
			stWant(t, b, Open)
		}, Open},
		{"half-open MaxWait armed, probe outstanding", func(t *testing.T, b *Breaker) {
			stFail(t, b, cfg.ConsecutiveFailures)
			time.Sleep(cfg.OpenTimeout)
			stWant(t, b, HalfOpen)
			mustAcquire(t, b)
		}, HalfOpen},
		{"forced open", func(t *testing.T, b *Breaker) {
			stFail(t, b, cfg.ConsecutiveFailures)
			b.ForceOpen()
		}, ForcedOpen},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := stNew(t, cfg)
				sub := b.Subscribe()
				tc.setup(t, b)
				drain(sub)
				if err := b.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
				if err := b.Close(); err != nil {
					t.Fatalf("second Close: %v", err)
				}
				time.Sleep(time.Minute) // past every deadline
				synctest.Wait()
				if got := b.State(); got != tc.want {
					t.Fatalf("State() after Close and a minute = %v, want %v (as when closed)", got, tc.want)
				}
				if _, err := b.Acquire(context.Background()); !errors.Is(err, ErrStopped) {
					t.Fatalf("Acquire after Close: %v, want ErrStopped", err)
				}
				if evs := drain(sub); len(evs) != 0 {
					t.Fatalf("events after Close: %+v", evs)
				}
				select {
				case _, ok := <-sub.C():
					if ok {
						t.Fatal("subscription still open after Close")
					}
				default:
					t.Fatal("subscription not closed by Close")
				}
			})
		})
	}
}

// Slow-call tracking under the real clock reads the shared coarse clock.
// Started in the bubble, its refresher ticks on fake time, so durations
// measured here are the fake sleeps, to its 1 ms precision; it keeps
// running while any breaker holds it and stops at the last Close
// (synctest.Test fails if it is still there at the end).
func TestSynctestSlowCallsCoarseClock(t *testing.T) {
	stCoarseIdle(t)
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{
			Window:            CountWindow(4),
			MinimumCalls:      4,
			SlowCallDuration:  100 * time.Millisecond,
			SlowCallRate:      0.5,
			OpenTimeout:       time.Second,
			BackoffMultiplier: 1,
			MaxOpenTimeout:    time.Second,
			HalfOpen:          HalfOpenPolicy{MaxProbes: 1, Mode: Strict, SuccessThreshold: 1},
		}
		slow := stNew(t, cfg)
		other := stNew(t, cfg)
		if n := stCoarseRefs(); n != 2 {
			t.Fatalf("coarse clock references: %d, want 2", n)
		}
		sub := slow.Subscribe(events.WithKinds(events.StateChanged, events.CallSucceeded))

		call := func(d time.Duration) {
			p := mustAcquire(t, slow)
			time.Sleep(d)
			p.Success()
		}
		call(150 * time.Millisecond)
		call(10 * time.Millisecond)
		// Closing one holder leaves the clock running for the other.
		if err := other.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if n := stCoarseRefs(); n != 1 {
			t.Fatalf("coarse clock references after one Close: %d, want 1", n)
		}
		call(10 * time.Millisecond)
		stWant(t, slow, Closed) // 1 slow of 3: MinimumCalls not reached
		call(120 * time.Millisecond)
		stWant(t, slow, Open) // 2 slow of 4

		m := slow.Metrics()
		if m.SlowCalls != 2 || m.Successes != 4 || m.Trips != 1 {
			t.Fatalf("SlowCalls %d, Successes %d, Trips %d; want 2, 4, 1", m.SlowCalls, m.Successes, m.Trips)
		}
		var durations []time.Duration
		var reason Reason
		for _, ev := range drain(sub) {
			switch ev.Kind {
			case events.CallSucceeded:
				durations = append(durations, ev.Duration)
			case events.StateChanged:
				reason = ev.Reason
			}
		}
		if reason != ReasonSlowCallRate {
			t.Fatalf("tripped for %v, want %v", reason, ReasonSlowCallRate)
		}
		want := []time.Duration{150 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond, 120 * time.Millisecond}
		if len(durations) != len(want) {
			t.Fatalf("call durations %v, want %v", durations, want)
		}
		for i, d := range durations {
			if diff := d - want[i]; diff < -coarsePrecision || diff > coarsePrecision {
				t.Fatalf("call %d measured %v, want %v ± %v (fake time, coarse clock)", i, d, want[i], coarsePrecision)
			}
		}

		// The breaker still runs on time while the coarse clock ticks.
		time.Sleep(cfg.OpenTimeout)
		stWant(t, slow, HalfOpen)
		call(time.Millisecond / 2)
		stWant(t, slow, Closed)

		if err := slow.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if n := stCoarseRefs(); n != 0 {
			t.Fatalf("coarse clock references after the last Close: %d, want 0", n)
		}
	})
	if n := stCoarseRefs(); n != 0 {
		t.Fatalf("coarse clock references after the bubble: %d, want 0", n)
	}
}

// A time window under the real clock also reads the coarse clock: calls
// leave it as fake time passes.
func TestSynctestTimeWindowRealClock(t *testing.T) {
	stCoarseIdle(t)
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{
			Window:            TimeWindow(time.Second, 10),
			MinimumCalls:      2,
			FailureRate:       0.5,
			OpenTimeout:       time.Second,
			BackoffMultiplier: 1,
			MaxOpenTimeout:    time.Second,
			HalfOpen:          HalfOpenPolicy{MaxProbes: 1, Mode: Strict, SuccessThreshold: 1},
		}
		b := stNew(t, cfg)
		defer b.Close()
		mustAcquire(t, b).Failure()
		synctest.Wait()
		if m := b.Metrics(); m.WindowCalls != 1 || m.WindowFailures != 1 {
			t.Fatalf("window %d calls, %d failures; want 1, 1", m.WindowCalls, m.WindowFailures)
		}
		time.Sleep(2 * time.Second) // the failure has left the window
		synctest.Wait()
		if m := b.Metrics(); m.WindowCalls != 0 {
			t.Fatalf("window holds %d calls 2s later, want 0", m.WindowCalls)
		}
		mustAcquire(t, b).Success()
		mustAcquire(t, b).Failure()
		stWant(t, b, Open) // 1 failure of 2, both in the window
	})
}

// Do under a real CallTimeout: the call's context ends on fake time, and
// the overrun counts as a failure and a timeout.
func TestSynctestCallTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := stConfig()
		cfg.CallTimeout = time.Second
		b := stNew(t, cfg)
		defer b.Close()
		err := b.Do(context.Background(), func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		})
		if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Do: %v, want ErrTimeout wrapping context.DeadlineExceeded", err)
		}
		if d := stElapsed(); d != cfg.CallTimeout {
			t.Fatalf("Do returned after %v, want %v", d, cfg.CallTimeout)
		}
		if err := b.Do(context.Background(), func(context.Context) error { return nil }); err != nil {
			t.Fatalf("Do: %v", err)
		}
		synctest.Wait()
		if m := b.Metrics(); m.Timeouts != 1 || m.Failures != 1 || m.Successes != 1 {
			t.Fatalf("Timeouts %d, Failures %d, Successes %d; want 1, 1, 1", m.Timeouts, m.Failures, m.Successes)
		}
	})
}

// A supervisor's breakers, some on the coarse clock, some tripped with
// timers armed, all stop with the supervisor's Close inside the bubble.
func TestSynctestSupervisorClose(t *testing.T) {
	stCoarseIdle(t)
	synctest.Test(t, func(t *testing.T) {
		s := NewSupervisor()
		sub := s.Subscribe()
		slowCfg := stConfig()
		slowCfg.SlowCallDuration = 50 * time.Millisecond
		slowCfg.SlowCallRate = 1
		slowCfg.MinimumCalls = 1
		maxWaitCfg := stConfig()
		maxWaitCfg.HalfOpen.MaxWait = time.Second
		cfgs := map[string]Config{"a": stConfig(), "b": slowCfg, "c": maxWaitCfg, "d": slowCfg}
		bs := map[string]*Breaker{}
		for name, cfg := range cfgs {
			b, err := s.GetOrCreate(name, cfg)
			if err != nil {
				t.Fatalf("GetOrCreate(%q): %v", name, err)
			}
			bs[name] = b
		}
		if n := stCoarseRefs(); n != 2 {
			t.Fatalf("coarse clock references: %d, want 2 (b and d)", n)
		}

		stFail(t, bs["c"], 3)
		time.Sleep(5 * time.Second)
		stWant(t, bs["c"], HalfOpen) // MaxWait armed
		mustAcquire(t, bs["c"])      // a probe never reported
		stFail(t, bs["a"], 3)        // Open, deadline armed
		p := mustAcquire(t, bs["b"])
		time.Sleep(60 * time.Millisecond)
		p.Success() // slow: b trips on the slow-call rate
		stWant(t, bs["a"], Open)
		stWant(t, bs["b"], Open)
		stWant(t, bs["c"], HalfOpen)
		bs["d"].ForceOpen()

		var opens int
		for _, ev := range drain(sub) {
			if ev.Kind == events.StateChanged && ev.To == Open {
				opens++
			}
		}
		if opens != 3 {
			t.Fatalf("supervisor saw %d trips, want 3", opens)
		}

		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if n := stCoarseRefs(); n != 0 {
			t.Fatalf("coarse clock references after Close: %d, want 0", n)
		}
		if _, err := s.GetOrCreate("e", stConfig()); !errors.Is(err, ErrStopped) {
			t.Fatalf("GetOrCreate after Close: %v, want ErrStopped", err)
		}
		for name, b := range bs {
			if _, err := b.Acquire(context.Background()); !errors.Is(err, ErrStopped) {
				t.Fatalf("%s: Acquire after Close: %v, want ErrStopped", name, err)
			}
		}
		time.Sleep(time.Minute) // past every deadline: nothing may wake
		synctest.Wait()
		for name, want := range map[string]State{"a": Open, "b": Open, "c": HalfOpen, "d": ForcedOpen} {
			if got := bs[name].State(); got != want {
				t.Fatalf("%s: State() after Close = %v, want %v", name, got, want)
			}
		}
	})
}

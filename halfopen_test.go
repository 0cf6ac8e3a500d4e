package breaker

// Half-open (ARCHITECTURE §2): which calls are admitted as probes (at most
// HalfOpen.MaxProbes, also for callers racing across the open deadline),
// how probes are judged (strict, by rate, a slow success as a bad probe,
// an ignored probe freeing its slot), a probe that never reports a verdict
// (Ignore, a cancelled context, Goexit, a panic, or nothing at all:
// HalfOpen.MaxWait reclaims its slot), and half-open periods nobody calls
// in.
//
// Every test runs over both implementations, driven by a mock clock. The
// name says how: TestConformance* and TestHalfOpen* check the contract;
// TestRegression* are named, minimal reproductions of bugs peer circuit
// breakers shipped (resilience4j #1432 and Polly #216/#223: more probes
// admitted than allowed; resilience4j #544/#935, sentinel-golang #196 and
// Hystrix PR #1621: a probe that wedges half-open for good);
// TestRaceHalfOpenAdmissionAtDeadline is meant for `go test -race`: 64
// goroutines, started on a spinBarrier, spin on Acquire across the instant
// the open timeout expires, and exactly MaxProbes are admitted.

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlabs/breaker/events"
)

// The half-open rules users trip over (ARCHITECTURE §2), on both drivers: a
// MaxWait that ends with no probe in flight restarts the period (no
// traffic is no evidence), and a slow successful probe is a bad probe.

// With DefaultConfig and no calls at all, a breaker that tripped stays
// HalfOpen, ready to probe, however long the quiet spell: no reopen, no
// event, no backoff growth (the open period does not climb 30s → 60s → …
// → 5m while nobody calls). The first caller after an hour of silence is
// a probe, and three successes close it.
func TestHalfOpenQuietSpellDefaultConfig(t *testing.T) {
	cfg := DefaultConfig()
	forEachImpl(t, func(t *testing.T, im impl) {
		c, mk := newMocked(t, im, cfg)
		sub := subscribeAll(t, c)
		for range cfg.ConsecutiveFailures {
			mustAcquire(t, c).Failure()
		}
		requireState(t, c, Open)
		advance(c, mk, cfg.OpenTimeout)
		requireState(t, c, HalfOpen)
		halfOpenAt := mk.Now()
		for range 120 { // an hour, 30s at a time: every MaxWait boundary passes
			advance(c, mk, 30*time.Second)
			if s := c.State(); s != HalfOpen {
				t.Fatalf("at +%v of silence: State() = %v, want half-open", mk.Now().Sub(halfOpenAt), s)
			}
		}
		advance(c, mk, 7*time.Hour+time.Second) // and one long jump
		m := c.Metrics()
		if m.State != HalfOpen || !m.Since.Equal(halfOpenAt) || m.Trips != 1 || m.Transitions != 2 {
			t.Fatalf("after 8h of silence: %v since +%v, %d trips, %d transitions; want half-open since +0s, 1 trip, 2 transitions",
				m.State, m.Since.Sub(halfOpenAt), m.Trips, m.Transitions)
		}
		if evs := stateChanges(drain(sub)); len(evs) != 2 || evs[1].To != HalfOpen {
			t.Fatalf("events %v, want closed → open, open → half-open only", evs)
		}
		for range cfg.HalfOpen.SuccessThreshold {
			mustAcquire(t, c).Success()
		}
		requireState(t, c, Closed)
		// The attempt was never raised: the next trip opens for OpenTimeout.
		for range cfg.ConsecutiveFailures {
			mustAcquire(t, c).Failure()
		}
		requireState(t, c, Open)
		if m := c.Metrics(); !m.OpenUntil.Equal(mk.Now().Add(cfg.OpenTimeout)) {
			t.Fatalf("OpenUntil +%v after the trip, want +%v", m.OpenUntil.Sub(mk.Now()), cfg.OpenTimeout)
		}
	})
}

// A restart moves the MaxWait deadline to the next whole MaxWait; a probe
// admitted after a few restarts and lost is reclaimed at that deadline,
// by the actor's timer with no message to prompt it (the restart re-armed
// it), and the reopen is one backoff step on from before the quiet spell.
func TestHalfOpenRestartedDeadlineReclaimsLostProbe(t *testing.T) {
	const maxWait = 5 * time.Second
	cfg := testConfig(func(c *Config) {
		c.HalfOpen.MaxWait = maxWait
		c.BackoffMultiplier, c.MaxOpenTimeout = 2, 8*testOpenTimeout
	})
	forEachImpl(t, func(t *testing.T, im impl) {
		c, mk := newMocked(t, im, cfg)
		toHalfOpen(t, c, mk, testOpenTimeout)
		start := mk.Now()
		advance(c, mk, 3*maxWait+2*time.Second) // restarts at +5s, +10s, +15s
		requireState(t, c, HalfOpen)
		sub := subscribeAll(t, c)
		lost := mustAcquire(t, c) // at +17s; the deadline is +20s
		advance(c, mk, 3*time.Second-time.Nanosecond)
		requireState(t, c, HalfOpen)
		mk.Add(time.Nanosecond)
		eventually(t, "the reopen at the restarted MaxWait deadline", func() bool { return c.State() == Open })
		settle(c)
		e := oneStateChange(t, drain(sub))
		at := start.Add(4 * maxWait)
		if e.From != HalfOpen || e.To != Open || e.Reason != ReasonHalfOpenTimeout || !e.Time.Equal(at) || e.Count != 1 {
			t.Errorf("event %v at +%v, want half-open → open (half-open-timeout, 1 probe) at +%v", e, e.Time.Sub(start), at.Sub(start))
		}
		if m := c.Metrics(); !m.OpenUntil.Equal(at.Add(2 * testOpenTimeout)) {
			t.Errorf("OpenUntil +%v, want +%v (one backoff step, for this reopen: none for the restarts)",
				m.OpenUntil.Sub(start), at.Add(2*testOpenTimeout).Sub(start))
		}
		lost.Success() // stale
		requireState(t, c, Open)
	})
}

// Probes judged before a restart keep counting: evidence stays evidence.
func TestHalfOpenRestartKeepsJudgedProbes(t *testing.T) {
	const maxWait = 5 * time.Second
	cfg := testConfig(func(c *Config) {
		c.HalfOpen = HalfOpenPolicy{MaxProbes: 2, Mode: Strict, SuccessThreshold: 3, MaxWait: maxWait}
	})
	forEachImpl(t, func(t *testing.T, im impl) {
		c, mk := newMocked(t, im, cfg)
		toHalfOpen(t, c, mk, testOpenTimeout)
		runOutcomes(t, c, "S")
		advance(c, mk, 2*maxWait) // two restarts
		runOutcomes(t, c, "S")
		requireState(t, c, HalfOpen)
		advance(c, mk, maxWait)
		runOutcomes(t, c, "S")
		requireState(t, c, Closed)
	})
}

// A slow success is a bad probe while SlowCallRate > 0: in Strict mode it
// reopens with ReasonProbeSlow (a slow failure is still probe-failed), in
// ByRate mode it counts against SuccessRate. Without a slow-call rate,
// slowness does not matter in half-open.
func TestHalfOpenSlowProbe(t *testing.T) {
	const slow = 100 * time.Millisecond
	slowCfg := func(mod func(*Config)) Config {
		return testConfig(func(c *Config) {
			c.SlowCallDuration, c.SlowCallRate = slow, 0.5
			c.MinimumCalls = 10
			if mod != nil {
				mod(c)
			}
		})
	}
	tests := []struct {
		name   string
		cfg    Config
		probes string // each probe: 's' slow success, 'S' fast success, 'f' slow failure, 'F' fast failure
		to     State
		reason Reason
	}{
		{"strict slow success", slowCfg(nil), "s", Open, ReasonProbeSlow},
		{"strict slow failure", slowCfg(nil), "f", Open, ReasonProbeFailed},
		{"strict fast success", slowCfg(nil), "S", Closed, ReasonProbesSucceeded},
		{"strict slow success after fast ones", slowCfg(func(c *Config) { c.HalfOpen.SuccessThreshold = 3 }), "SSs", Open, ReasonProbeSlow},
		{"strict without a slow-call rate", testConfig(func(c *Config) { c.SlowCallDuration = slow }), "s", Closed, ReasonProbesSucceeded},
		{"by rate: a slow success counts against the rate", slowCfg(func(c *Config) {
			c.HalfOpen = HalfOpenPolicy{MaxProbes: 1, Mode: ByRate, MinimumProbes: 2, SuccessRate: 1}
		}), "Ss", Open, ReasonProbeFailed},
		{"by rate: fast successes close", slowCfg(func(c *Config) {
			c.HalfOpen = HalfOpenPolicy{MaxProbes: 1, Mode: ByRate, MinimumProbes: 2, SuccessRate: 1}
		}), "SS", Closed, ReasonProbesSucceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachImpl(t, func(t *testing.T, im impl) {
				c, mk := newMocked(t, im, tt.cfg)
				toHalfOpen(t, c, mk, testOpenTimeout)
				sub := subscribeAll(t, c)
				for _, o := range tt.probes {
					p := mustAcquire(t, c)
					if o == 's' || o == 'f' {
						advance(c, mk, slow)
					}
					if o == 'f' || o == 'F' {
						p.Failure()
					} else {
						p.Success()
					}
				}
				requireState(t, c, tt.to)
				e := oneStateChange(t, drain(sub))
				if e.From != HalfOpen || e.To != tt.to || e.Reason != tt.reason {
					t.Errorf("event %v, want half-open → %v (%v)", e, tt.to, tt.reason)
				}
			})
		})
	}
}

// Do reports a call that succeeds slowly as a slow success: the half-open
// breaker reopens with ReasonProbeSlow and Do returns fn's nil.
func TestHalfOpenSlowProbeThroughDo(t *testing.T) {
	const slow = 50 * time.Millisecond
	cfg := testConfig(func(c *Config) { c.SlowCallDuration, c.SlowCallRate, c.MinimumCalls = slow, 0.5, 10 })
	c, mk := newMocked(t, impls[0], cfg)
	b := c.(*Breaker)
	toHalfOpen(t, c, mk, testOpenTimeout)
	sub := b.Subscribe(events.WithKinds(events.StateChanged))
	defer sub.Close()
	err := b.Do(context.Background(), func(context.Context) error {
		mk.Add(slow)
		return nil
	})
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	requireState(t, c, Open)
	if e := <-sub.C(); e.Reason != ReasonProbeSlow {
		t.Fatalf("event %v, want probe-slow", e)
	}
	if _, err := c.Acquire(context.Background()); !errors.Is(err, ErrOpen) {
		t.Fatalf("Acquire after a slow probe: %v, want ErrOpen", err)
	}
}

func TestConformanceHalfOpenMaxProbes(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		c, mk := newMocked(t, im, testConfig(func(c *Config) {
			c.HalfOpen.MaxProbes, c.HalfOpen.SuccessThreshold = 2, 3
		}))
		toHalfOpen(t, c, mk, testOpenTimeout)
		p1, p2 := mustAcquire(t, c), mustAcquire(t, c)
		for i := 0; i < 2; i++ {
			p, err := c.Acquire(context.Background())
			if !errors.Is(err, ErrTooManyProbes) || errors.Is(err, ErrOpen) {
				t.Fatalf("Acquire beyond MaxProbes: %v, want ErrTooManyProbes (not ErrOpen)", err)
			}
			p.Success() // the zero permit: must not decide anything
		}
		settle(c)
		m := c.Metrics()
		if m.State != HalfOpen || m.HalfOpenInFlight != 2 || m.Rejected != 2 {
			t.Fatalf("%v, %d in flight, %d rejected; want half-open, 2, 2", m.State, m.HalfOpenInFlight, m.Rejected)
		}
		p1.Success()
		settle(c)
		if m := c.Metrics(); m.HalfOpenInFlight != 1 {
			t.Fatalf("after one probe reported: %d in flight, want 1", m.HalfOpenInFlight)
		}
		p3 := mustAcquire(t, c) // the freed slot
		p2.Success()
		p3.Success()
		requireState(t, c, Closed)
	})
}

func TestConformanceHalfOpenStrict(t *testing.T) {
	tests := []struct {
		name   string
		seq    string
		want   State
		reason Reason
		count  int
	}{
		{"SuccessThreshold successes close", "SSS", Closed, ReasonProbesSucceeded, 3},
		{"fewer successes decide nothing", "SS", HalfOpen, 0, 0},
		{"a failure reopens", "SF", Open, ReasonProbeFailed, 0},
		{"a first failure reopens", "F", Open, ReasonProbeFailed, 0},
		{"ignored probes decide nothing", "SIIS", HalfOpen, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachImpl(t, func(t *testing.T, im impl) {
				c, mk := newMocked(t, im, testConfig(func(c *Config) {
					c.HalfOpen.MaxProbes, c.HalfOpen.SuccessThreshold = 3, 3
				}))
				toHalfOpen(t, c, mk, testOpenTimeout)
				sub := subscribeAll(t, c)
				runOutcomes(t, c, tt.seq)
				requireState(t, c, tt.want)
				ch := stateChanges(drain(sub))
				if tt.want == HalfOpen {
					if len(ch) != 0 {
						t.Fatalf("unexpected transitions:%s", formatEvents(ch))
					}
					return
				}
				e := oneStateChange(t, ch)
				if e.From != HalfOpen || e.To != tt.want || e.Reason != tt.reason {
					t.Errorf("event %v, want half-open → %v (%v)", e, tt.want, tt.reason)
				}
				if tt.reason == ReasonProbesSucceeded && e.Count != tt.count {
					t.Errorf("event %v: Count %d, want %d", e, e.Count, tt.count)
				}
				if tt.want == Closed {
					if m := c.Metrics(); m.WindowCalls != 0 || m.ConsecutiveFailures != 0 {
						t.Errorf("entered Closed with window %d calls, %d in a row; want empty", m.WindowCalls, m.ConsecutiveFailures)
					}
				}
			})
		})
	}
}

func TestConformanceHalfOpenByRate(t *testing.T) {
	tests := []struct {
		seq    string
		want   State
		reason Reason
		rate   float64
	}{
		{"SSFF", Closed, ReasonProbesSucceeded, 0.5}, // exactly SuccessRate
		{"SSSF", Closed, ReasonProbesSucceeded, 0.75},
		{"SFFF", Open, ReasonProbeFailed, 0.25},
		{"FFF", HalfOpen, 0, 0}, // under MinimumProbes: no decision, even all failed
		{"SSS", HalfOpen, 0, 0},
		{"FIIFI", HalfOpen, 0, 0}, // ignored probes are not completed probes
	}
	for _, tt := range tests {
		t.Run(tt.seq, func(t *testing.T) {
			forEachImpl(t, func(t *testing.T, im impl) {
				c, mk := newMocked(t, im, testConfig(func(c *Config) {
					c.HalfOpen = HalfOpenPolicy{MaxProbes: 4, Mode: ByRate, MinimumProbes: 4, SuccessRate: 0.5}
				}))
				toHalfOpen(t, c, mk, testOpenTimeout)
				sub := subscribeAll(t, c)
				runOutcomes(t, c, tt.seq)
				requireState(t, c, tt.want)
				ch := stateChanges(drain(sub))
				if tt.want == HalfOpen {
					if len(ch) != 0 {
						t.Fatalf("unexpected transitions:%s", formatEvents(ch))
					}
					return
				}
				if e := oneStateChange(t, ch); e.Reason != tt.reason || e.Rate != tt.rate {
					t.Errorf("event %v: reason %v rate %v, want %v %v", e, e.Reason, e.Rate, tt.reason, tt.rate)
				}
			})
		})
	}
}

func TestConformanceHalfOpenIgnoreFreesSlot(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		c, mk := newMocked(t, im, testConfig())
		toHalfOpen(t, c, mk, testOpenTimeout)
		p := mustAcquire(t, c)
		if _, err := c.Acquire(context.Background()); !errors.Is(err, ErrTooManyProbes) {
			t.Fatalf("second probe: %v, want ErrTooManyProbes", err)
		}
		p.Ignore()
		settle(c)
		if m := c.Metrics(); m.State != HalfOpen || m.HalfOpenInFlight != 0 || m.Ignored != 1 {
			t.Fatalf("after Ignore: %v, %d in flight, %d ignored; want half-open, 0, 1", m.State, m.HalfOpenInFlight, m.Ignored)
		}
		runOutcomes(t, c, "S")
		requireState(t, c, Closed)
	})
}

func TestConformanceHalfOpenMaxWait(t *testing.T) {
	const maxWait = 5 * time.Second
	forEachImpl(t, func(t *testing.T, im impl) {
		c, mk := newMocked(t, im, testConfig(func(c *Config) { c.HalfOpen.MaxWait = maxWait }))
		toHalfOpen(t, c, mk, testOpenTimeout)
		sub := subscribeAll(t, c)
		lost := mustAcquire(t, c) // never reported in time
		if _, err := c.Acquire(context.Background()); !errors.Is(err, ErrTooManyProbes) {
			t.Fatalf("second probe: %v, want ErrTooManyProbes", err)
		}
		advance(c, mk, maxWait-time.Nanosecond)
		requireState(t, c, HalfOpen)
		at := mk.Now().Add(time.Nanosecond)
		mk.Add(time.Nanosecond)
		eventually(t, "re-open after MaxWait", func() bool { return c.State() == Open })
		settle(c)
		e := oneStateChange(t, drain(sub))
		if e.From != HalfOpen || e.To != Open || e.Reason != ReasonHalfOpenTimeout || !e.Time.Equal(at) {
			t.Errorf("event %v at %v, want half-open → open (half-open-timeout) at %v", e, e.Time, at)
		}
		if m := c.Metrics(); !m.OpenUntil.Equal(at.Add(testOpenTimeout)) || m.HalfOpenInFlight != 0 {
			t.Errorf("OpenUntil %v, %d in flight; want %v, 0", m.OpenUntil, m.HalfOpenInFlight, at.Add(testOpenTimeout))
		}
		advance(c, mk, testOpenTimeout)
		requireState(t, c, HalfOpen)
		// The slot of the lost probe was reclaimed.
		p := mustAcquire(t, c)
		lost.Success() // stale: must not close the breaker
		requireState(t, c, HalfOpen)
		if m := c.Metrics(); m.HalfOpenInFlight != 1 {
			t.Errorf("%d in flight, want 1", m.HalfOpenInFlight)
		}
		p.Success()
		requireState(t, c, Closed)
	})
}

// TestRegressionHalfOpenAdmissionNeverExceedsMaxProbes guards against
// resilience4j #1432 ("CircuitBreaker permits more calls then expected when
// switching from OPEN to HALF_OPEN state": every thread that saw the wait
// expire was admitted) and Polly #216 ("AdvancedCircuitBreaker allows
// additional Execute() in HalfOpen state when waiting for first Execute() to
// finish", with the overhanging executions of Polly PR #223).
//
// Goroutines behind a start latch spin on Acquire while the mock clock
// crosses the open deadline: exactly MaxProbes are admitted, every other
// one gets ErrTooManyProbes, and so does every later Acquire while no
// probe has reported. Calls admitted while Closed that finish during
// HalfOpen (successes, failures, ignores) neither take nor free a slot nor
// decide anything.
func TestRegressionHalfOpenAdmissionNeverExceedsMaxProbes(t *testing.T) {
	const (
		maxProbes  = 3
		goroutines = 48
		late       = 12 // calls admitted while Closed, reported during HalfOpen
		rounds     = 3
	)
	cfg := threeInARowConfig(func(c *Config) {
		c.ConsecutiveFailures = 1
		c.HalfOpen = HalfOpenPolicy{MaxProbes: maxProbes, Mode: Strict, SuccessThreshold: maxProbes}
	})
	forEachImpl(t, func(t *testing.T, im impl) {
		for round := range rounds {
			c, mk := newMocked(t, im, cfg)
			var lateCalls [late]Permit
			for i := range lateCalls {
				lateCalls[i] = mustAcquire(t, c)
			}
			reportOutcome(t, mustAcquire(t, c), 'F')
			requireState(t, c, Open)
			advance(c, mk, testOpenTimeout-time.Nanosecond)
			requireState(t, c, Open)

			admitted, tooMany, errs := acquireStorm(t, c, goroutines, func() {
				mk.Add(time.Nanosecond) // the open deadline passes while they spin
			})
			if len(admitted) != maxProbes || tooMany != goroutines-maxProbes || errs != 0 {
				t.Fatalf("round %d: %d admitted, %d ErrTooManyProbes, %d other outcomes across the deadline; want %d, %d, 0",
					round, len(admitted), tooMany, errs, maxProbes, goroutines-maxProbes)
			}
			checkDistinctProbes(t, fmt.Sprintf("round %d", round), admitted)
			var wg sync.WaitGroup
			for i := range 8 {
				wantTooManyProbes(t, c, fmt.Sprintf("round %d: Acquire %d with every probe in flight", round, i))
			}

			// The late Closed-era calls finish, all at once, while the
			// probes are in flight.
			var s, f, ig uint64
			bar := newSpinBarrier(len(lateCalls))
			for i, p := range lateCalls {
				switch i % 3 {
				case 0:
					f++
				case 1:
					s++
				default:
					ig++
				}
				wg.Go(func() {
					bar.wait()
					switch i % 3 {
					case 0:
						p.Failure()
					case 1:
						p.Success()
					default:
						p.Done(context.Canceled)
					}
				})
			}
			waitFor(t, "the late reports", 5*time.Second, wg.Wait)
			settle(c)
			m := c.Metrics()
			if m.State != HalfOpen || m.HalfOpenInFlight != maxProbes || m.Trips != 1 || m.Transitions != 2 {
				t.Errorf("round %d: after late Closed-era outcomes: %v, %d in flight, %d trips, %d transitions; want half-open, %d, 1, 2",
					round, m.State, m.HalfOpenInFlight, m.Trips, m.Transitions, maxProbes)
			}
			if m.Successes != s || m.Failures != f+1 || m.Ignored != ig {
				t.Errorf("round %d: lifetime %d/%d/%d successes/failures/ignored; want %d/%d/%d (late outcomes are counted)",
					round, m.Successes, m.Failures, m.Ignored, s, f+1, ig)
			}
			wantTooManyProbes(t, c, "after the late outcomes (they freed a slot)")

			// One probe reports: exactly one slot frees.
			admitted[0].Success()
			settle(c)
			if m := c.Metrics(); m.HalfOpenInFlight != maxProbes-1 {
				t.Errorf("round %d: %d in flight after one probe reported; want %d", round, m.HalfOpenInFlight, maxProbes-1)
			}
			extra := mustAcquire(t, c)
			wantTooManyProbes(t, c, "with the freed slot taken again")
			for _, p := range admitted[1:] {
				p.Success()
			}
			requireState(t, c, Closed) // SuccessThreshold successes in a row
			extra.Success()            // stale now
			requireState(t, c, Closed)
		}
	})
}

// TestRegressionProbeCannotWedgeHalfOpen guards against resilience4j #544
// ("CircuitBreaker will stuck in HALF_OPEN when the last request throw
// ignored exception") and #935 ("Circuit breaker stuck in HALF_OPEN
// state", which led to maxWaitDurationInHalfOpenState),
// alibaba/sentinel-golang #196 ("Circuit breaker will remain half-open
// state forever when the request is blocked by upcoming rules", fixed in
// PR #202) and Netflix/Hystrix PR #1621 ("an unsubscription of a command in
// half-open state leaves circuit permanently open").
//
// The only probe slot is taken and the probe ends without a success or a
// failure (Ignore, Done(context.Canceled), a context cancelled mid-call,
// runtime.Goexit inside Execute), by a panic inside Execute, or not at all
// (HalfOpen.MaxWait reclaims it). In every case the slot comes back (no
// MaxWait is configured except where it is the subject, so a leaked slot
// would wedge the breaker for good) and the breaker still reaches Closed
// through a fresh probe.
func TestRegressionProbeCannotWedgeHalfOpen(t *testing.T) {
	const maxWait = 5 * time.Second
	type ending struct {
		name    string
		maxWait time.Duration
		want    State // right after the probe ended
		end     func(t *testing.T, c Circuit, mk *clock.Mock, full func())
	}
	execute := func(ctx context.Context, c Circuit, fn func(context.Context) (int, error)) error {
		_, err := Execute(ctx, c, fn)
		return err
	}
	endings := []ending{
		{"Ignore", 0, HalfOpen, func(t *testing.T, c Circuit, _ *clock.Mock, full func()) {
			p := mustAcquire(t, c)
			full()
			p.Ignore()
		}},
		{"Done(context.Canceled)", 0, HalfOpen, func(t *testing.T, c Circuit, _ *clock.Mock, full func()) {
			p := mustAcquire(t, c)
			full()
			p.Done(fmt.Errorf("rpc: %w", context.Canceled))
		}},
		{"context cancelled between grant and call", 0, HalfOpen, func(t *testing.T, c Circuit, _ *clock.Mock, full func()) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			err := execute(ctx, c, func(ctx context.Context) (int, error) {
				full()
				cancel() // the caller goes away once the call was granted
				return 0, ctx.Err()
			})
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Execute = %v; want context.Canceled", err)
			}
		}},
		{"panic inside Execute", 0, Open, func(t *testing.T, c Circuit, _ *clock.Mock, full func()) {
			defer func() {
				if r := recover(); r != "probe panic" {
					t.Errorf("recovered %v; want the probe's panic re-panicked", r)
				}
			}()
			_ = execute(context.Background(), c, func(context.Context) (int, error) {
				full()
				panic("probe panic")
			})
		}},
		{"runtime.Goexit inside Execute", 0, HalfOpen, func(t *testing.T, c Circuit, _ *clock.Mock, full func()) {
			done := make(chan struct{})
			go func() {
				defer close(done)
				_ = execute(context.Background(), c, func(context.Context) (int, error) {
					full()
					runtime.Goexit() // as t.FailNow in a probe would
					return 0, nil
				})
			}()
			waitFor(t, "the goroutine that called Goexit", 5*time.Second, func() { <-done })
		}},
		{"never reported, reclaimed by MaxWait", maxWait, Open, func(t *testing.T, c Circuit, mk *clock.Mock, full func()) {
			_ = mustAcquire(t, c) // dropped on the floor
			full()
			advance(c, mk, maxWait-time.Nanosecond)
			requireState(t, c, HalfOpen)
			advance(c, mk, time.Nanosecond)
		}},
	}
	modes := []struct {
		name string
		ho   HalfOpenPolicy
	}{
		{"strict", HalfOpenPolicy{MaxProbes: 1, Mode: Strict, SuccessThreshold: 1}},
		{"by-rate", HalfOpenPolicy{MaxProbes: 1, Mode: ByRate, MinimumProbes: 1, SuccessRate: 1}},
	}
	for _, mode := range modes {
		for _, e := range endings {
			t.Run(mode.name+"/"+e.name, func(t *testing.T) {
				forEachImpl(t, func(t *testing.T, im impl) {
					c, mk := newMocked(t, im, threeInARowConfig(func(c *Config) {
						c.HalfOpen = mode.ho
						c.HalfOpen.MaxWait = e.maxWait
					}))
					sub := subscribe(t, c)
					defer sub.Close()
					toHalfOpen(t, c, mk, testOpenTimeout)
					full := func() { wantTooManyProbes(t, c, "with the probe in flight") }
					e.end(t, c, mk, full)
					requireState(t, c, e.want)
					if m := c.Metrics(); m.HalfOpenInFlight != 0 {
						t.Errorf("%d probes in flight after the probe ended; want 0", m.HalfOpenInFlight)
					}
					want := []string{"closed→open/consecutive-failures", "open→half-open/open-timeout"}
					if e.want == Open {
						reason := ReasonProbeFailed
						if e.maxWait > 0 {
							reason = ReasonHalfOpenTimeout
						}
						want = append(want, "half-open→open/"+reason.String())
						advance(c, mk, testOpenTimeout)
						requireState(t, c, HalfOpen)
						want = append(want, "open→half-open/open-timeout")
					}
					reportOutcome(t, mustAcquire(t, c), 'S') // the slot is free
					requireState(t, c, Closed)
					want = append(want, "half-open→closed/probes-succeeded")
					wantTransitions(t, sub, want...)
				})
			})
		}
	}
}

// TestRaceHalfOpenAdmissionAtDeadline reproduces resilience4j #1432: 64
// goroutines, released together by a latch, spin on Acquire across the
// instant the open timeout expires (the mock clock is advanced while they
// spin, or the real clock runs out). No probe is reported, so exactly
// HalfOpen.MaxProbes of them must be admitted, and every other one must end
// with ErrTooManyProbes.
func TestRaceHalfOpenAdmissionAtDeadline(t *testing.T) {
	iters := 5 * stressScale()
	forEachImpl(t, func(t *testing.T, im impl) {
		for _, mock := range []bool{true, false} {
			for _, maxProbes := range []int{1, 3} {
				name := fmt.Sprintf("real-clock/probes=%d", maxProbes)
				if mock {
					name = fmt.Sprintf("mock-clock/probes=%d", maxProbes)
				}
				t.Run(name, func(t *testing.T) { runAdmissionAtDeadline(t, im, mock, maxProbes, iters) })
			}
		}
	})
}

func runAdmissionAtDeadline(t *testing.T, im impl, mock bool, maxProbes, iters int) {
	const goroutines = 64
	openTimeout := 5 * time.Millisecond
	var mk *clock.Mock
	var opts []Option
	if mock {
		openTimeout = time.Second
		mk = clock.NewMock()
		opts = append(opts, WithClock(mk))
	}
	cfg := Config{
		Window:              CountWindow(10),
		ConsecutiveFailures: 1,
		OpenTimeout:         openTimeout,
		BackoffMultiplier:   1,
		MaxOpenTimeout:      openTimeout,
		HalfOpen:            HalfOpenPolicy{MaxProbes: maxProbes, Mode: Strict, SuccessThreshold: maxProbes},
	}
	c, err := im.new("deadline", cfg, opts...)
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	defer c.Close()
	sub := subscribe(t, c)
	var tc transitionChecker
	ctx := context.Background()
	f := &failures{t: t}

	for it := 0; it < iters && !t.Failed(); it++ {
		c.Reset()
		p, err := c.Acquire(ctx)
		if err != nil {
			t.Fatalf("iteration %d: Acquire after Reset: %v", it, err)
		}
		p.Failure()
		settle(c)
		if s := c.State(); s != Open && (mock || s != HalfOpen) {
			t.Fatalf("iteration %d: state %v after a failure with ConsecutiveFailures 1", it, s)
		}

		admitted, tooMany, other := acquireStorm(t, c, goroutines, func() {
			if mk != nil {
				mk.Add(openTimeout) // the deadline passes while they spin
			}
		})
		if other != 0 {
			f.errorf("iteration %d: %d Acquires ended with neither a permit, ErrOpen nor ErrTooManyProbes", it, other)
		}
		if len(admitted) != maxProbes || tooMany != goroutines-int64(maxProbes) {
			t.Errorf("iteration %d: %d admitted and %d ErrTooManyProbes across the open deadline; want exactly %d and %d",
				it, len(admitted), tooMany, maxProbes, goroutines-maxProbes)
		}
		checkDistinctProbes(t, fmt.Sprintf("iteration %d", it), admitted)
		if m := c.Metrics(); m.State != HalfOpen || m.HalfOpenInFlight != len(admitted) {
			t.Errorf("iteration %d: Metrics state %v, HalfOpenInFlight %d; want half-open, %d",
				it, m.State, m.HalfOpenInFlight, len(admitted))
		}
		for _, p := range admitted {
			p.Success()
		}
		settle(c)
		if len(admitted) == maxProbes {
			if s := c.State(); s != Closed {
				t.Errorf("iteration %d: state %v after %d successful probes; want closed", it, s, maxProbes)
			}
		}
		tc.drain(t, sub)
	}
	f.summary()
}

package breaker

import (
	"context"
	"errors"
	"testing"
	"time"

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

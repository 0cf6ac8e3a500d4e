package breaker

import (
	"testing"
	"time"
)

// TestTransitionEventUntil: a StateChanged event to Open carries the open
// deadline (the transition's time plus the open timeout, grown by the
// backoff), and no other transition carries one.
func TestTransitionEventUntil(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		cfg := testConfig(func(c *Config) {
			c.BackoffMultiplier = 2
			c.MaxOpenTimeout = time.Hour
		})
		c, mk := newMocked(t, im, cfg)
		sub := subscribeAll(t, c)
		start := mk.Now()
		tripWithFailures(t, c)
		if e := oneStateChange(t, drain(sub)); !e.Until.Equal(start.Add(testOpenTimeout)) {
			t.Fatalf("trip: Until = %v, want %v", e.Until, start.Add(testOpenTimeout))
		}
		advance(c, mk, testOpenTimeout)
		requireState(t, c, HalfOpen) // the mutex variant half-opens lazily
		if e := oneStateChange(t, drain(sub)); !e.Until.IsZero() {
			t.Fatalf("open → half-open: Until = %v, want zero", e.Until)
		}
		reportOutcome(t, mustAcquire(t, c), 'F')
		settle(c)
		reopened := mk.Now()
		if e := oneStateChange(t, drain(sub)); !e.Until.Equal(reopened.Add(2 * testOpenTimeout)) {
			t.Fatalf("reopen: Until = %v, want %v", e.Until, reopened.Add(2*testOpenTimeout))
		}
		c.ForceOpen()
		if e := oneStateChange(t, drain(sub)); !e.Until.IsZero() {
			t.Fatalf("forced open: Until = %v, want zero", e.Until)
		}
	})
}

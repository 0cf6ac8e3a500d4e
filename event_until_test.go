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
		cfg := confWith(func(c *Config) {
			c.BackoffMultiplier = 2
			c.MaxOpenTimeout = time.Hour
		})
		c, mk := newMocked(t, im, cfg)
		sub := confSubscribe(t, c)
		start := mk.Now()
		confTrip(t, c)
		if e := confOneChange(t, confDrain(sub)); !e.Until.Equal(start.Add(confOpenTimeout)) {
			t.Fatalf("trip: Until = %v, want %v", e.Until, start.Add(confOpenTimeout))
		}
		advance(c, mk, confOpenTimeout)
		confWantState(t, c, HalfOpen) // the mutex variant half-opens lazily
		if e := confOneChange(t, confDrain(sub)); !e.Until.IsZero() {
			t.Fatalf("open → half-open: Until = %v, want zero", e.Until)
		}
		confReport(t, confAcquire(t, c), 'F')
		settle(c)
		reopened := mk.Now()
		if e := confOneChange(t, confDrain(sub)); !e.Until.Equal(reopened.Add(2 * confOpenTimeout)) {
			t.Fatalf("reopen: Until = %v, want %v", e.Until, reopened.Add(2*confOpenTimeout))
		}
		c.ForceOpen()
		if e := confOneChange(t, confDrain(sub)); !e.Until.IsZero() {
			t.Fatalf("forced open: Until = %v, want zero", e.Until)
		}
	})
}

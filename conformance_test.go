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
	"testing"
	"time"
)

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

package breakerotel_test

import (
	"context"
	"testing"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/breakerlabs/breaker"
)

// t0 is when the mock clock starts.
var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func newMock() *clock.Mock {
	mk := clock.NewMock()
	mk.Set(t0)
	return mk
}

// testConfig trips on 3 failures in a row (or a failure rate of 0.5 over
// at least 4 calls), stays open 10 s and closes on one successful probe.
func testConfig() breaker.Config {
	return breaker.Config{
		Window:              breaker.CountWindow(10),
		MinimumCalls:        4,
		ConsecutiveFailures: 3,
		FailureRate:         0.5,
		OpenTimeout:         10 * time.Second,
		BackoffMultiplier:   1,
		MaxOpenTimeout:      10 * time.Second,
		HalfOpen:            breaker.HalfOpenPolicy{MaxProbes: 1, Mode: breaker.Strict, SuccessThreshold: 1},
	}
}

// call acquires with ctx and reports the outcome: 'S', 'F' or 'I'.
func call(t *testing.T, ctx context.Context, b *breaker.Breaker, outcome rune) {
	t.Helper()
	p, err := b.Acquire(ctx)
	if err != nil {
		t.Fatalf("Acquire in %v: %v", b.State(), err)
	}
	switch outcome {
	case 'S':
		p.Success()
	case 'F':
		p.Failure()
	default:
		p.Ignore()
	}
}

// waitState polls until b publishes st.
func waitState(t *testing.T, b *breaker.Breaker, st breaker.State) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for b.State() != st {
		if time.Now().After(deadline) {
			t.Fatalf("state %v, want %v", b.State(), st)
		}
		time.Sleep(time.Millisecond)
	}
}

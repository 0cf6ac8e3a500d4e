package breaker

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/benbjohnson/clock"
)

// Lifetime counters never go down, to any reader (a Prometheus counter
// must not): goroutines report successes and failures on the fast path
// while others trip, reset, disable and read Metrics, which must see
// Successes and Failures grow monotonically however the count window's
// packed word is retired and folded under them; and once everything is
// quiet the totals are exact.
func TestLifetimeCountersMonotonic(t *testing.T) {
	saved := foldAt
	foldAt.calls, foldAt.failures = 64, 16 // fold often
	defer func() { foldAt = saved }()
	cfg := oneFailureConfig(1)
	cfg.ConsecutiveFailures = 3
	b, err := New("monotonic", cfg, WithClock(clock.NewMock()))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const reporters, calls = 4, 20000
	var ok, bad atomic.Uint64
	var stop atomic.Bool
	var wg, readers sync.WaitGroup
	for g := range reporters {
		wg.Go(func() {
			for i := range calls {
				p, err := b.Acquire(context.Background())
				if err != nil {
					continue
				}
				if (i+g)%7 == 0 {
					p.Failure()
					bad.Add(1)
				} else {
					p.Success()
					ok.Add(1)
				}
			}
		})
	}
	wg.Go(func() {
		for i := 0; !stop.Load(); i++ {
			if i%3 == 0 {
				b.Disable()
			}
			b.Reset()
		}
	})
	for range 2 {
		readers.Go(func() {
			var last Metrics
			for !stop.Load() {
				m := b.Metrics()
				if m.Successes < last.Successes || m.Failures < last.Failures {
					t.Errorf("lifetime counters went down: successes %d → %d, failures %d → %d",
						last.Successes, m.Successes, last.Failures, m.Failures)
					return
				}
				last = m
			}
		})
	}
	for ok.Load()+bad.Load() < reporters*calls/2 {
		m := b.Metrics()
		_ = m
	}
	stop.Store(true)
	wg.Wait()
	readers.Wait()
	m := b.Metrics()
	if m.Successes != ok.Load() || m.Failures != bad.Load() {
		t.Fatalf("lifetime successes %d, failures %d; reported %d and %d", m.Successes, m.Failures, ok.Load(), bad.Load())
	}
}

// A count window folds its packed counts into the lifetime base before a
// field overflows, keeping its ring positions: with folds forced every few
// dozen calls, the window and the lifetime counters still agree with the
// mutex variant's call for call.
func TestLifetimeFoldKeepsTheWindow(t *testing.T) {
	saved := foldAt
	foldAt.calls, foldAt.failures = 40, 8
	defer func() { foldAt = saved }()
	cfg := oneFailureConfig(1)
	cfg.ConsecutiveFailures = 0
	cfg.FailureRate, cfg.MinimumCalls = 0.9, 10
	a, err := New("fold", cfg, WithClock(clock.NewMock()))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	x, err := NewMutex("fold", cfg, WithClock(clock.NewMock()))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	for i := range 5000 {
		for _, c := range []Circuit{a, x} {
			p, err := c.Acquire(context.Background())
			if err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
			if i%3 == 0 {
				p.Failure()
			} else {
				p.Success()
			}
		}
		if i%97 == 0 || i == 4999 {
			am, xm := a.Metrics(), x.Metrics()
			if am.WindowCalls != xm.WindowCalls || am.WindowFailures != xm.WindowFailures ||
				am.Successes != xm.Successes || am.Failures != xm.Failures {
				t.Fatalf("call %d: actor window %d/%d lifetime %d/%d; mutex %d/%d, %d/%d", i,
					am.WindowCalls, am.WindowFailures, am.Successes, am.Failures,
					xm.WindowCalls, xm.WindowFailures, xm.Successes, xm.Failures)
			}
		}
	}
	if n := nCallsOf(a.view.Load().win.n.Load()); n >= 2*40 {
		t.Fatalf("the window's packed word holds %d calls: it was never folded", n)
	}
}

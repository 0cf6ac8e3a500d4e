package breakerredis

// Redis frozen, killed and restarted empty, under a fleet of supervisors.

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/breakerlabs/breaker"
	"github.com/breakerlabs/breaker/events"
)

// callLatency runs Acquire+Success on b for d (at most len(buf) calls) and
// returns the p99 of single calls, and how many calls it made.
func callLatency(b *breaker.Breaker, d time.Duration, buf []time.Duration) (time.Duration, int) {
	ctx := context.Background()
	lat := buf[:0]
	end := time.Now().Add(d)
	for time.Now().Before(end) && len(lat)+1000 <= cap(lat) {
		for range 1000 {
			s := time.Now()
			p, _ := b.Acquire(ctx)
			p.Success()
			lat = append(lat, time.Since(s))
		}
	}
	slices.Sort(lat)
	return lat[len(lat)*99/100], len(lat)
}

func callAllocs(b *breaker.Breaker) float64 {
	ctx := context.Background()
	return testing.AllocsPerRun(5000, func() {
		p, _ := b.Acquire(ctx)
		p.Success()
	})
}

// storeFailures counts the StoreFailed events waiting on sub.
func storeFailures(sub *events.Subscription) (n int) {
	for {
		select {
		case e := <-sub.C():
			if e.Kind == events.StoreFailed {
				n++
			}
		default:
			return n
		}
	}
}

func TestFleetRedisFrozen(t *testing.T) {
	srv := startRedis(t)
	f := fleetOf(t, srv)
	cfg := tripping(time.Minute)
	for _, m := range f {
		m.breaker(t, "dep", cfg)
	}
	hot := f[0].breaker(t, "hot", breaker.DefaultConfig())
	var fails []*events.Subscription
	for _, m := range f {
		fails = append(fails, m.sup.Subscribe(events.WithKinds(events.StoreFailed), events.WithBuffer(64)))
	}
	buf := make([]time.Duration, 0, 1<<21)
	baseP99, baseN := callLatency(hot, time.Second, buf)
	baseAllocs := callAllocs(hot)

	srv.Stop()
	frozen := time.Now()
	f[0].trip(t, "dep", cfg) // a local trip with Redis frozen
	f[0].waitState(t, "dep", breaker.Open, 100*time.Millisecond)
	stopP99, stopN := callLatency(hot, time.Until(frozen.Add(1800*time.Millisecond)), buf)
	stopAllocs := callAllocs(hot)
	for _, m := range f[1:] {
		if b, _ := m.sup.Get("dep"); b.State() != breaker.Closed {
			t.Fatalf("%s learnt of the trip while Redis was frozen", m.id)
		}
	}
	for time.Since(frozen) < 2*time.Second {
		time.Sleep(10 * time.Millisecond) // the scenario: Redis stays frozen for 2 s
	}
	srv.Cont()
	thawed := time.Now()
	for _, m := range f[1:] {
		m.waitState(t, "dep", breaker.Open, 5*time.Second)
	}
	converged := time.Since(thawed)
	t.Logf("Acquire+Success p99: %v before (%d calls, %.0f allocs/op), %v with Redis frozen (%d calls, %.0f allocs/op); "+
		"converged %v after SIGCONT", baseP99, baseN, baseAllocs, stopP99, stopN, stopAllocs, converged)
	if stopAllocs != baseAllocs {
		t.Errorf("allocations per call: %v with Redis frozen, %v before", stopAllocs, baseAllocs)
	}
	if limit := max(4*baseP99, baseP99+200*time.Microsecond); stopP99 > limit {
		t.Errorf("call p99 %v with Redis frozen, %v before (limit %v)", stopP99, baseP99, limit)
	}
	if n := storeFailures(fails[0]); n != 1 {
		t.Errorf("a saw %d StoreFailed events for one outage, want 1", n)
	}
	for i, sub := range fails[1:] {
		if n := storeFailures(sub); n > 1 {
			t.Errorf("%s saw %d StoreFailed events for one outage", f[i+1].id, n)
		}
	}
	if err := f[0].sup.StoreErr(); err != nil {
		t.Errorf("a's StoreErr after converging: %v", err)
	}
}

func TestFleetRedisRestartedEmpty(t *testing.T) {
	srv := startRedis(t)
	f := fleetOf(t, srv)
	cfg := tripping(time.Minute)
	for _, m := range f {
		m.breaker(t, "dep", cfg)
		m.breaker(t, "ops", cfg)
	}
	f[0].trip(t, "dep", cfg)
	ops, _ := f[1].sup.Get("ops")
	ops.ForceOpen()
	for _, m := range f {
		m.waitState(t, "dep", breaker.Open, 5*time.Second)
		m.waitState(t, "ops", breaker.ForcedOpen, 5*time.Second)
	}
	tripped := time.Now()
	srv.Restart() // SIGKILL, then an empty server on the same port
	deadline := time.Now().Add(10 * time.Second)
	for {
		dep, ok1 := stored1(t, srv, "dep")
		op, ok2 := stored1(t, srv, "ops")
		if ok1 && ok2 {
			if dep.State != breaker.Open || dep.Origin != "a" || !near(dep.Remaining, time.Minute-time.Since(tripped), 2*time.Second) {
				t.Fatalf("dep re-seeded as %+v", dep)
			}
			if op.State != breaker.ForcedOpen || !op.Manual || op.Origin != "b" {
				t.Fatalf("ops re-seeded as %+v", op)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not re-seeded within 10 s of the restart")
		}
		time.Sleep(10 * time.Millisecond) // polling with a deadline
	}
	// An instance starting now starts in the fleet's states.
	d := join(t, srv, "d", nil)
	if s := d.breaker(t, "dep", cfg).State(); s != breaker.Open {
		t.Fatalf("a new instance starts dep %v", s)
	}
	if s := d.breaker(t, "ops", cfg).State(); s != breaker.ForcedOpen {
		t.Fatalf("a new instance starts ops %v", s)
	}
}

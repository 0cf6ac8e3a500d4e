package breaker

// Benchmarks of the hot paths against the targets of ARCHITECTURE §7. The
// comparison with other libraries lives in the bench/ module; these measure
// the library alone, with the real clock (and so the shared 1 ms coarse
// clock whenever durations are tracked).
//
// Each implementation is driven through its concrete type, not through
// Circuit, so the numbers are those of the fast path itself.

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchConfig is the plain fast-path configuration: DefaultConfig (a count
// window, slow-call tracking off) tripping after 5 failures in a row, open
// for an hour so an open benchmark never half-opens.
func benchConfig() Config {
	cfg := DefaultConfig()
	cfg.ConsecutiveFailures = 5
	cfg.OpenTimeout = time.Hour
	cfg.MaxOpenTimeout = time.Hour
	return cfg
}

// benchSlowTimeConfig is benchConfig with slow-call tracking and a time
// window on: every call is timed (from the coarse clock) and recorded into
// a time bucket.
func benchSlowTimeConfig() Config {
	cfg := benchConfig()
	cfg.Window = TimeWindow(10*time.Second, 10)
	cfg.SlowCallDuration = time.Second
	cfg.SlowCallRate = 0.5
	return cfg
}

func benchNewActor(b *testing.B, cfg Config) *Breaker {
	b.Helper()
	br, err := New("bench", cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { br.Close() })
	return br
}

func benchNewMutex(b *testing.B, cfg Config) *MutexBreaker {
	b.Helper()
	br, err := NewMutex("bench", cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { br.Close() })
	return br
}

// benchWork is the protected call of every benchmark: it does nothing.
//
//go:noinline
func benchWork() error { return nil }

// benchTrip reports failures until c is Open (the actor trips a few
// microseconds after the report that crossed the threshold).
func benchTrip(b *testing.B, c Circuit) {
	b.Helper()
	for range 1000 {
		if c.State() == Open {
			return
		}
		p, err := c.Acquire(context.Background())
		if err == nil {
			p.Failure()
		}
		runtime.Gosched()
	}
	deadline := time.Now().Add(5 * time.Second)
	for c.State() != Open {
		if time.Now().After(deadline) {
			b.Fatalf("breaker did not open: %v", c.State())
		}
		time.Sleep(time.Millisecond)
	}
}

// ---- Closed fast path: Acquire + Success -------------------------------

func BenchmarkAcquireSuccess(b *testing.B) {
	b.Run("impl=actor", func(b *testing.B) { benchClosedActor(b, benchConfig()) })
	b.Run("impl=mutex", func(b *testing.B) { benchClosedMutex(b, benchConfig()) })
}

func BenchmarkAcquireSuccessParallel(b *testing.B) {
	b.Run("impl=actor", func(b *testing.B) { benchClosedActorParallel(b, benchConfig()) })
	b.Run("impl=mutex", func(b *testing.B) { benchClosedMutexParallel(b, benchConfig()) })
}

// BenchmarkAcquireSuccessSlowTime is BenchmarkAcquireSuccess with slow-call
// tracking and a time window on (ARCHITECTURE §7: ≤ 2× the plain fast path).
func BenchmarkAcquireSuccessSlowTime(b *testing.B) {
	b.Run("impl=actor", func(b *testing.B) { benchClosedActor(b, benchSlowTimeConfig()) })
	b.Run("impl=mutex", func(b *testing.B) { benchClosedMutex(b, benchSlowTimeConfig()) })
}

func BenchmarkAcquireSuccessSlowTimeParallel(b *testing.B) {
	b.Run("impl=actor", func(b *testing.B) { benchClosedActorParallel(b, benchSlowTimeConfig()) })
	b.Run("impl=mutex", func(b *testing.B) { benchClosedMutexParallel(b, benchSlowTimeConfig()) })
}

func benchClosedActor(b *testing.B, cfg Config) {
	br := benchNewActor(b, cfg)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, err := br.Acquire(ctx)
		if err != nil {
			b.Fatal(err)
		}
		p.Done(benchWork())
	}
	b.StopTimer()
	benchCheckClosed(b, br)
}

func benchClosedMutex(b *testing.B, cfg Config) {
	br := benchNewMutex(b, cfg)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, err := br.Acquire(ctx)
		if err != nil {
			b.Fatal(err)
		}
		p.Done(benchWork())
	}
	b.StopTimer()
	benchCheckClosed(b, br)
}

func benchClosedActorParallel(b *testing.B, cfg Config) {
	br := benchNewActor(b, cfg)
	var bad atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			p, err := br.Acquire(ctx)
			if err != nil {
				bad.Add(1)
				continue
			}
			p.Done(benchWork())
		}
	})
	b.StopTimer()
	if n := bad.Load(); n != 0 {
		b.Fatalf("%d calls rejected", n)
	}
	benchCheckClosed(b, br)
}

func benchClosedMutexParallel(b *testing.B, cfg Config) {
	br := benchNewMutex(b, cfg)
	var bad atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			p, err := br.Acquire(ctx)
			if err != nil {
				bad.Add(1)
				continue
			}
			p.Done(benchWork())
		}
	})
	b.StopTimer()
	if n := bad.Load(); n != 0 {
		b.Fatalf("%d calls rejected", n)
	}
	benchCheckClosed(b, br)
}

// benchCheckClosed fails the benchmark unless every call was counted as a
// success and the breaker is still Closed.
func benchCheckClosed(b *testing.B, c Circuit) {
	b.Helper()
	m := c.Metrics()
	if m.State != Closed || m.Failures != 0 || m.Rejected != 0 || m.Successes == 0 {
		b.Fatalf("after the run: state %v, %d successes, %d failures, %d rejected",
			m.State, m.Successes, m.Failures, m.Rejected)
	}
}

// ---- Open-state rejection ----------------------------------------------

func BenchmarkOpenRejection(b *testing.B) {
	b.Run("impl=actor", func(b *testing.B) {
		br := benchNewActor(b, benchConfig())
		benchTrip(b, br)
		want := benchRejection(b, br)
		ctx := context.Background()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := br.Acquire(ctx); err != want {
				b.Fatalf("Acquire = %v, want the open period's rejection", err)
			}
		}
	})
	b.Run("impl=mutex", func(b *testing.B) {
		br := benchNewMutex(b, benchConfig())
		benchTrip(b, br)
		want := benchRejection(b, br)
		ctx := context.Background()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := br.Acquire(ctx); err != want {
				b.Fatalf("Acquire = %v, want the open period's rejection", err)
			}
		}
	})
}

func BenchmarkOpenRejectionParallel(b *testing.B) {
	b.Run("impl=actor", func(b *testing.B) {
		br := benchNewActor(b, benchConfig())
		benchTrip(b, br)
		want := benchRejection(b, br)
		var bad atomic.Int64
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for pb.Next() {
				if _, err := br.Acquire(ctx); err != want {
					bad.Add(1)
				}
			}
		})
		b.StopTimer()
		if n := bad.Load(); n != 0 {
			b.Fatalf("%d calls not rejected with the open period's error", n)
		}
	})
	b.Run("impl=mutex", func(b *testing.B) {
		br := benchNewMutex(b, benchConfig())
		benchTrip(b, br)
		want := benchRejection(b, br)
		var bad atomic.Int64
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for pb.Next() {
				if _, err := br.Acquire(ctx); err != want {
					bad.Add(1)
				}
			}
		})
		b.StopTimer()
		if n := bad.Load(); n != 0 {
			b.Fatalf("%d calls not rejected with the open period's error", n)
		}
	})
}

// benchRejection returns the error an open breaker rejects with, checking
// it is an *OpenError.
func benchRejection(b *testing.B, c Circuit) error {
	b.Helper()
	_, err := c.Acquire(context.Background())
	var oe *OpenError
	if !errors.As(err, &oe) || !errors.Is(err, ErrOpen) {
		b.Fatalf("Acquire on an open breaker = %v, want an *OpenError", err)
	}
	return err
}

// ---- Trip latency --------------------------------------------------------

// BenchmarkTripLatency measures, over b.N trips, the time from the start of
// the report that crosses the threshold (ConsecutiveFailures = 1, real
// clock) until State() shows Open, spinning on State(). ARCHITECTURE §7: within
// 50 µs. It reports the median, p99 and maximum in ns (p50-ns, p99-ns,
// max-ns); ns/op is a whole cycle: Acquire, Failure, the wait, and the
// synchronous Reset that closes the breaker again.
func BenchmarkTripLatency(b *testing.B) {
	cfg := benchConfig()
	cfg.ConsecutiveFailures = 1
	b.Run("impl=actor", func(b *testing.B) { benchTripLatency(b, benchNewActor(b, cfg)) })
	b.Run("impl=mutex", func(b *testing.B) { benchTripLatency(b, benchNewMutex(b, cfg)) })
}

// BenchmarkTripLatencyBusy is BenchmarkTripLatency while GOMAXPROCS
// goroutines hammer the fast paths of other breakers (Acquire + Success in
// a loop that never yields): every P is busy, so a trip that needed
// another goroutine to run would wait for preemption (10 ms). ARCHITECTURE §7:
// within 50 µs at p99 under this load too.
func BenchmarkTripLatencyBusy(b *testing.B) {
	cfg := benchConfig()
	cfg.ConsecutiveFailures = 1
	for _, im := range []struct {
		name string
		new  func() Circuit
	}{
		{"actor", func() Circuit { return benchNewActor(b, cfg) }},
		{"mutex", func() Circuit { return benchNewMutex(b, cfg) }},
	} {
		b.Run("impl="+im.name, func(b *testing.B) {
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for range runtime.GOMAXPROCS(0) {
				other := benchNewActor(b, benchConfig())
				wg.Go(func() {
					ctx := context.Background()
					for i := 0; ; i++ {
						if i%1024 == 0 {
							select {
							case <-stop:
								return
							default:
							}
						}
						p, _ := other.Acquire(ctx)
						p.Success()
					}
				})
			}
			defer wg.Wait()
			defer close(stop)
			benchTripLatency(b, im.new())
		})
	}
}

func benchTripLatency(b *testing.B, c Circuit) {
	ctx := context.Background()
	// With one P the actor only runs when the spinning goroutine yields.
	yield := runtime.GOMAXPROCS(0) == 1
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, err := c.Acquire(ctx)
		if err != nil {
			b.Fatalf("trip %d: Acquire = %v", i, err)
		}
		start := time.Now()
		p.Failure()
		for c.State() != Open {
			if yield {
				runtime.Gosched()
			}
			if time.Since(start) > 5*time.Second {
				b.Fatalf("trip %d: not Open after 5s", i)
			}
		}
		lat = append(lat, time.Since(start))
		c.Reset()
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2]), "p50-ns")
	b.ReportMetric(float64(lat[(len(lat)*99)/100]), "p99-ns")
	b.ReportMetric(float64(lat[len(lat)-1]), "max-ns")
}

// ---- Allocation guard ----------------------------------------------------

// TestBenchFastPathAllocs holds the fast paths the benchmarks above time to
// ARCHITECTURE §7's 0 allocations, so a regression fails `go test`, not only a
// benchmark someone has to read.
func TestBenchFastPathAllocs(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		cfg  Config
	}{{"plain", benchConfig()}, {"slow+time", benchSlowTimeConfig()}} {
		actor, err := New("allocs", tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		mutex, err := NewMutex("allocs", tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []Circuit{actor, mutex} {
			if n := testing.AllocsPerRun(1000, func() {
				p, err := c.Acquire(ctx)
				if err != nil {
					t.Fatal(err)
				}
				p.Done(benchWork())
			}); n != 0 {
				t.Errorf("%s %T: Acquire+Done = %v allocs, want 0", tc.name, c, n)
			}
		}
		for _, c := range []Circuit{actor, mutex} {
			for range 5 {
				p, err := c.Acquire(ctx)
				if err == nil {
					p.Failure()
				}
			}
			deadline := time.Now().Add(5 * time.Second)
			for c.State() != Open && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if c.State() != Open {
				t.Fatalf("%s %T: did not open", tc.name, c)
			}
			if n := testing.AllocsPerRun(1000, func() {
				if _, err := c.Acquire(ctx); err == nil {
					t.Fatal("admitted by an open breaker")
				}
			}); n != 0 {
				t.Errorf("%s %T: open rejection = %v allocs, want 0", tc.name, c, n)
			}
		}
		actor.Close()
		mutex.Close()
	}
}

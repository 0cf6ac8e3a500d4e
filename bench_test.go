package breaker

// Benchmarks of the hot paths against the targets of ARCHITECTURE §7. The
// comparison with other libraries lives in the bench/ module; these measure
// the library alone, with the real clock (and so the shared 1 ms coarse
// clock whenever durations are tracked).
//
// Each benchmark body is written once and run for both implementations
// (benchEachImpl). In the timed loops a type switch calls the concrete
// type's Acquire directly, not through Circuit (an indirect call) nor a
// helper (one more call: a two-case switch does not inline), so the
// numbers are those of the fast path itself.

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

// benchImpls are the implementations every benchmark runs, each as
// b.Run("impl="+name): bench/profile.sh and bench/ select them so.
var benchImpls = []struct {
	name string
	new  func(name string, cfg Config) (Circuit, error)
}{
	{"actor", func(n string, c Config) (Circuit, error) { return New(n, c) }},
	{"mutex", func(n string, c Config) (Circuit, error) { return NewMutex(n, c) }},
}

// benchEachImpl runs body as a sub-benchmark impl=NAME for each
// implementation, on a breaker of cfg closed at the end.
func benchEachImpl(b *testing.B, cfg Config, body func(b *testing.B, c Circuit)) {
	for _, im := range benchImpls {
		b.Run("impl="+im.name, func(b *testing.B) { body(b, benchNew(b, im.new, cfg)) })
	}
}

func benchNew(b *testing.B, newImpl func(string, Config) (Circuit, error), cfg Config) Circuit {
	b.Helper()
	c, err := newImpl("bench", cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
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
	benchEachImpl(b, benchConfig(), benchClosed)
}

func BenchmarkAcquireSuccessParallel(b *testing.B) {
	benchEachImpl(b, benchConfig(), benchClosedParallel)
}

// BenchmarkAcquireSuccessSlowTime is BenchmarkAcquireSuccess with slow-call
// tracking and a time window on (ARCHITECTURE §7: ≤ 2× the plain fast path).
func BenchmarkAcquireSuccessSlowTime(b *testing.B) {
	benchEachImpl(b, benchSlowTimeConfig(), benchClosed)
}

func BenchmarkAcquireSuccessSlowTimeParallel(b *testing.B) {
	benchEachImpl(b, benchSlowTimeConfig(), benchClosedParallel)
}

// benchClosed times Acquire + Done(nil) on a Closed breaker, serially.
func benchClosed(b *testing.B, c Circuit) {
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var p Permit
		var err error
		switch c := c.(type) {
		case *Breaker:
			p, err = c.Acquire(ctx)
		case *MutexBreaker:
			p, err = c.Acquire(ctx)
		}
		if err != nil {
			b.Fatal(err)
		}
		p.Done(benchWork())
	}
	b.StopTimer()
	benchCheckClosed(b, c)
}

// benchClosedParallel is benchClosed under b.RunParallel.
func benchClosedParallel(b *testing.B, c Circuit) {
	var bad atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			var p Permit
			var err error
			switch c := c.(type) {
			case *Breaker:
				p, err = c.Acquire(ctx)
			case *MutexBreaker:
				p, err = c.Acquire(ctx)
			}
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
	benchCheckClosed(b, c)
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
	benchEachImpl(b, benchConfig(), func(b *testing.B, c Circuit) {
		benchTrip(b, c)
		want := benchRejection(b, c)
		ctx := context.Background()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			var err error
			switch c := c.(type) {
			case *Breaker:
				_, err = c.Acquire(ctx)
			case *MutexBreaker:
				_, err = c.Acquire(ctx)
			}
			if err != want {
				b.Fatalf("Acquire = %v, want the open period's rejection", err)
			}
		}
	})
}

func BenchmarkOpenRejectionParallel(b *testing.B) {
	benchEachImpl(b, benchConfig(), func(b *testing.B, c Circuit) {
		benchTrip(b, c)
		want := benchRejection(b, c)
		var bad atomic.Int64
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for pb.Next() {
				var err error
				switch c := c.(type) {
				case *Breaker:
					_, err = c.Acquire(ctx)
				case *MutexBreaker:
					_, err = c.Acquire(ctx)
				}
				if err != want {
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
	benchEachImpl(b, cfg, benchTripLatency)
}

// BenchmarkTripLatencyBusy is BenchmarkTripLatency while GOMAXPROCS
// goroutines hammer the fast paths of other breakers (Acquire + Success in
// a loop that never yields): every P is busy, so a trip that needed
// another goroutine to run would wait for preemption (10 ms). ARCHITECTURE §7:
// within 50 µs at p99 under this load too.
func BenchmarkTripLatencyBusy(b *testing.B) {
	cfg := benchConfig()
	cfg.ConsecutiveFailures = 1
	benchEachImpl(b, cfg, func(b *testing.B, c Circuit) {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range runtime.GOMAXPROCS(0) {
			other := benchNew(b, benchImpls[0].new, benchConfig()).(*Breaker) // an actor
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
		benchTripLatency(b, c)
	})
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

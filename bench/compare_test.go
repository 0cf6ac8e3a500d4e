package bench

// Side-by-side benchmarks of the actor Breaker, the MutexBreaker,
// sony/gobreaker/v2 and failsafe-go, one sub-benchmark per implementation
// (impl=NAME) so that benchstat can group them. run.sh runs each
// implementation in its own process, as research/peer-performance.md
// recommends (an allocating library's GC cost depends on what else is in
// the heap).
//
// Every implementation protects the same no-op, work, and is called through
// target.call, a method whose switch dispatches to the library's idiomatic
// call. The switch costs every implementation the same ~1 ns; in exchange
// every library method is called directly, not through an interface or a
// closure (failsafe-go's breaker and executor are interfaces in its API).
//
// Every outcome is checked: serial loops fail at once, parallel loops count
// and fail after RunParallel.

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/breakerlabs/breaker"
	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/sony/gobreaker/v2"
)

// ---- The protected call ---------------------------------------------------

var errWork = errors.New("bench: work failed")

// work is the protected operation of every benchmark and implementation:
// it does nothing, and fails when asked to.
//
//go:noinline
func work(fail bool) error {
	if fail {
		return errWork
	}
	return nil
}

// Adapters from work to each library's function type. They are package-level
// functions, so passing one allocates nothing.

func workOK() error                                 { return work(false) }
func workFail() error                               { return work(true) }
func workOKT() (struct{}, error)                    { return struct{}{}, work(false) }
func workFailT() (struct{}, error)                  { return struct{}{}, work(true) }
func workOKCtx(context.Context) (struct{}, error)   { return struct{}{}, work(false) }
func workFailCtx(context.Context) (struct{}, error) { return struct{}{}, work(true) }

// ---- Implementations -------------------------------------------------------

// The implementations, by the name used in impl=NAME.
const (
	implActor     = "actor"             // breaker.Breaker: Acquire, then Permit.Done
	implActorExec = "actor-exec"        // breaker.Execute on a breaker.Breaker
	implMutex     = "mutex"             // breaker.MutexBreaker: Acquire, then Permit.Done
	implGB        = "gobreaker"         // gobreaker.CircuitBreaker.Execute
	implGBTwoStep = "gobreaker-twostep" // gobreaker.TwoStepCircuitBreaker: Allow, then done(err)
	implFSPermit  = "failsafe-permit"   // failsafe-go breaker: TryAcquirePermit, then RecordError(err)
	implFSExec    = "failsafe-exec"     // failsafe.With(breaker).Run
)

var impls = []string{implActor, implActorExec, implMutex, implGB, implGBTwoStep, implFSPermit, implFSExec}

// scenario selects the configuration a target is built with.
type scenario int

const (
	// plain: the closed fast path. Ours: DefaultConfig (count window of 100,
	// slow calls off) tripping after 5 failures in a row, open for 1h.
	// gobreaker: Settings{Timeout: 1h} (trips after more than 5 failures in
	// a row). failsafe-go: WithFailureThreshold(5), WithDelay(1h).
	plain scenario = iota
	// mixed: a time window and (where the library has it) slow-call
	// tracking, with rate thresholds that 5% failures never reach. Ours:
	// TimeWindow(10s, 10), MinimumCalls 20, FailureRate 0.5,
	// SlowCallDuration 1s, SlowCallRate 0.5. gobreaker: Interval 10s,
	// BucketPeriod 1s, trips at ≥ 20 requests and ≥ 50% failures.
	// failsafe-go: WithFailureRateThreshold(0.5, 20, 10s). Neither peer has
	// slow-call tracking.
	mixed
	// churn: trips on one failure, half-opens after 1ns, admits one probe
	// and closes on its success.
	churn
)

// target is one breaker of one implementation.
type target struct {
	impl  string
	actor *breaker.Breaker
	mutex *breaker.MutexBreaker
	gb    *gobreaker.CircuitBreaker[struct{}]
	gb2   *gobreaker.TwoStepCircuitBreaker[struct{}]
	fs    circuitbreaker.CircuitBreaker[any]
	fx    failsafe.Executor[any]
}

func ourConfig(s scenario) breaker.Config {
	cfg := breaker.DefaultConfig()
	cfg.ConsecutiveFailures = 5
	cfg.OpenTimeout = time.Hour
	cfg.MaxOpenTimeout = time.Hour
	switch s {
	case mixed:
		cfg.Window = breaker.TimeWindow(10*time.Second, 10)
		cfg.ConsecutiveFailures = 0 // several goroutines' failures may line up
		cfg.SlowCallDuration = time.Second
		cfg.SlowCallRate = 0.5
	case churn:
		cfg.ConsecutiveFailures = 1
		cfg.FailureRate = 0
		cfg.OpenTimeout = time.Nanosecond
		cfg.MaxOpenTimeout = time.Nanosecond
		cfg.BackoffMultiplier = 1
		cfg.HalfOpen = breaker.HalfOpenPolicy{MaxProbes: 1, Mode: breaker.Strict, SuccessThreshold: 1}
	}
	return cfg
}

func gbSettings(s scenario) gobreaker.Settings {
	st := gobreaker.Settings{Name: "bench", Timeout: time.Hour}
	switch s {
	case mixed:
		st.Interval, st.BucketPeriod = 10*time.Second, time.Second
		st.ReadyToTrip = func(c gobreaker.Counts) bool {
			return c.Requests >= 20 && float64(c.TotalFailures) >= 0.5*float64(c.Requests)
		}
	case churn:
		st.Timeout = time.Nanosecond
		st.MaxRequests = 1
		st.ReadyToTrip = func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 1 }
	}
	return st
}

func fsBreaker(s scenario) circuitbreaker.CircuitBreaker[any] {
	switch s {
	case mixed:
		return circuitbreaker.NewBuilder[any]().WithFailureRateThreshold(0.5, 20, 10*time.Second).
			WithDelay(time.Hour).Build()
	case churn:
		return circuitbreaker.NewBuilder[any]().WithFailureThreshold(1).WithDelay(time.Nanosecond).Build()
	}
	return circuitbreaker.NewBuilder[any]().WithFailureThreshold(5).WithDelay(time.Hour).Build()
}

// newTarget builds a closed breaker of impl for s, closed at the end of b.
func newTarget(b *testing.B, impl string, s scenario) *target {
	b.Helper()
	t := &target{impl: impl}
	var err error
	switch impl {
	case implActor, implActorExec:
		t.actor, err = breaker.New("bench", ourConfig(s))
		if err == nil {
			b.Cleanup(func() { t.actor.Close() })
		}
	case implMutex:
		t.mutex, err = breaker.NewMutex("bench", ourConfig(s))
		if err == nil {
			b.Cleanup(func() { t.mutex.Close() })
		}
	case implGB:
		t.gb = gobreaker.NewCircuitBreaker[struct{}](gbSettings(s))
	case implGBTwoStep:
		t.gb2 = gobreaker.NewTwoStepCircuitBreaker[struct{}](gbSettings(s))
	case implFSPermit:
		t.fs = fsBreaker(s)
	case implFSExec:
		t.fs = fsBreaker(s)
		t.fx = failsafe.With[any](t.fs)
	default:
		err = fmt.Errorf("unknown implementation %q", impl)
	}
	if err != nil {
		b.Fatal(err)
	}
	return t
}

// call makes one protected call of work(fail), the library's idiomatic
// way, and returns what the caller sees: nil, errWork, or a rejection.
func (t *target) call(fail bool) error {
	switch t.impl {
	case implActor:
		p, err := t.actor.Acquire(context.Background())
		if err != nil {
			return err
		}
		err = work(fail)
		p.Done(err)
		return err
	case implActorExec:
		fn := workOKCtx
		if fail {
			fn = workFailCtx
		}
		_, err := breaker.Execute(context.Background(), t.actor, fn)
		return err
	case implMutex:
		p, err := t.mutex.Acquire(context.Background())
		if err != nil {
			return err
		}
		err = work(fail)
		p.Done(err)
		return err
	case implGB:
		fn := workOKT
		if fail {
			fn = workFailT
		}
		_, err := t.gb.Execute(fn)
		return err
	case implGBTwoStep:
		done, err := t.gb2.Allow()
		if err != nil {
			return err
		}
		err = work(fail)
		done(err)
		return err
	case implFSPermit:
		if !t.fs.TryAcquirePermit() {
			return circuitbreaker.ErrOpen
		}
		err := work(fail)
		t.fs.RecordError(err)
		return err
	case implFSExec:
		fn := workOK
		if fail {
			fn = workFail
		}
		return t.fx.Run(fn)
	}
	panic("unknown implementation " + t.impl)
}

// closed reports whether the breaker is Closed now.
func (t *target) closed() bool {
	switch {
	case t.actor != nil:
		return t.actor.State() == breaker.Closed
	case t.mutex != nil:
		return t.mutex.State() == breaker.Closed
	case t.gb != nil:
		return t.gb.State() == gobreaker.StateClosed
	case t.gb2 != nil:
		return t.gb2.State() == gobreaker.StateClosed
	default:
		return t.fs.IsClosed()
	}
}

// rejection reports whether err is the library's refusal to admit a call.
func (t *target) rejection(err error) bool {
	switch {
	case t.actor != nil, t.mutex != nil:
		return errors.Is(err, breaker.ErrOpen) || errors.Is(err, breaker.ErrTooManyProbes)
	case t.gb != nil, t.gb2 != nil:
		return errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests)
	default:
		return errors.Is(err, circuitbreaker.ErrOpen)
	}
}

// trip fails calls until the breaker is no longer Closed. The actor trips
// a few microseconds after the report that crossed the threshold.
func (t *target) trip(b *testing.B) {
	b.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for t.closed() {
		if err := t.call(true); err != errWork && !t.rejection(err) {
			b.Fatalf("failing call: %v", err)
		}
		if time.Now().After(deadline) {
			b.Fatal("breaker did not trip")
		}
		runtime.Gosched()
	}
	if err := t.call(false); !t.rejection(err) {
		b.Fatalf("call on a tripped breaker = %v, want a rejection", err)
	}
}

// parallelism are the SetParallelism values of the parallel benchmarks:
// p × GOMAXPROCS goroutines share one breaker.
var parallelism = []int{1, 4, 16, 64}

// forEach runs f as impl=NAME for every implementation.
func forEach(b *testing.B, f func(b *testing.B, impl string)) {
	for _, impl := range impls {
		b.Run("impl="+impl, func(b *testing.B) { f(b, impl) })
	}
}

// forEachP runs f as p=N for each parallelism in ps.
func forEachP(b *testing.B, ps []int, f func(b *testing.B, p int)) {
	for _, p := range ps {
		b.Run(fmt.Sprintf("p=%d", p), func(b *testing.B) { f(b, p) })
	}
}

// ---- Closed fast path ------------------------------------------------------

// BenchmarkClosed: one goroutine, a closed breaker, every call succeeds.
func BenchmarkClosed(b *testing.B) {
	forEach(b, func(b *testing.B, impl string) {
		t := newTarget(b, impl, plain)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := t.call(false); err != nil {
				b.Fatalf("call %d: %v", i, err)
			}
		}
		b.StopTimer()
		if !t.closed() {
			b.Fatal("breaker left Closed")
		}
	})
}

// BenchmarkParallel: BenchmarkClosed under RunParallel with p × GOMAXPROCS
// goroutines sharing one breaker. ns/op is wall time per call, so
// throughput is its inverse.
func BenchmarkParallel(b *testing.B) {
	forEach(b, func(b *testing.B, impl string) {
		forEachP(b, parallelism, func(b *testing.B, p int) {
			t := newTarget(b, impl, plain)
			var bad atomic.Int64
			b.SetParallelism(p)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if t.call(false) != nil {
						bad.Add(1)
					}
				}
			})
			b.StopTimer()
			if n := bad.Load(); n != 0 {
				b.Fatalf("%d calls failed or were rejected", n)
			}
			if !t.closed() {
				b.Fatal("breaker left Closed")
			}
		})
	})
}

// ---- Open-state rejection --------------------------------------------------

// BenchmarkOpen: one goroutine, a breaker tripped by real failures and open
// for an hour; every call must be rejected.
func BenchmarkOpen(b *testing.B) {
	forEach(b, func(b *testing.B, impl string) {
		t := newTarget(b, impl, plain)
		t.trip(b)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if t.call(false) == nil {
				b.Fatalf("call %d admitted by an open breaker", i)
			}
		}
		b.StopTimer()
		if err := t.call(false); !t.rejection(err) {
			b.Fatalf("after the run: %v, want a rejection", err)
		}
	})
}

// BenchmarkOpenParallel: BenchmarkOpen under RunParallel.
func BenchmarkOpenParallel(b *testing.B) {
	forEach(b, func(b *testing.B, impl string) {
		forEachP(b, []int{1, 16}, func(b *testing.B, p int) {
			t := newTarget(b, impl, plain)
			t.trip(b)
			var bad atomic.Int64
			b.SetParallelism(p)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if t.call(false) == nil {
						bad.Add(1)
					}
				}
			})
			b.StopTimer()
			if n := bad.Load(); n != 0 {
				b.Fatalf("%d calls admitted by an open breaker", n)
			}
		})
	})
}

// ---- Mixed workload --------------------------------------------------------

// failEvery makes every 20th call fail: 5% failures.
const failEvery = 20

// BenchmarkMixed: one goroutine, 5% failures, a time window and slow-call
// tracking on (where the library has them), thresholds never reached.
func BenchmarkMixed(b *testing.B) {
	forEach(b, func(b *testing.B, impl string) {
		t := newTarget(b, impl, mixed)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			fail := i%failEvery == failEvery-1
			if err := t.call(fail); (err == errWork) != fail || (err != nil && err != errWork) {
				b.Fatalf("call %d (fail=%v): %v", i, fail, err)
			}
		}
		b.StopTimer()
		if !t.closed() {
			b.Fatal("breaker left Closed")
		}
	})
}

// BenchmarkMixedParallel: BenchmarkMixed under RunParallel; each goroutine
// fails every 20th of its own calls.
func BenchmarkMixedParallel(b *testing.B) {
	forEach(b, func(b *testing.B, impl string) {
		forEachP(b, []int{1, 16}, func(b *testing.B, p int) {
			t := newTarget(b, impl, mixed)
			var bad atomic.Int64
			b.SetParallelism(p)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					fail := i%failEvery == failEvery-1
					i++
					if err := t.call(fail); (err == errWork) != fail || (err != nil && err != errWork) {
						bad.Add(1)
					}
				}
			})
			b.StopTimer()
			if n := bad.Load(); n != 0 {
				b.Fatalf("%d calls with an unexpected outcome (rejected?)", n)
			}
			if !t.closed() {
				b.Fatal("breaker left Closed")
			}
		})
	})
}

// ---- Half-open churn -------------------------------------------------------

// BenchmarkChurn: one op is one full recovery cycle, driven by one goroutine
// making ordinary calls: a failing call trips the breaker (threshold 1);
// the goroutine waits until State is no longer Closed; then it makes
// succeeding calls until one is admitted and the breaker is Closed again.
// The open timeout is 1 ns everywhere, so the cycle measures the mechanics
// (trip, half-open, probe admission, close), not a sleep: gobreaker,
// failsafe-go and the MutexBreaker move lazily on the next call or State
// read; the actor moves on its own timer and messages. Every wait yields
// (runtime.Gosched) the same way for every implementation. rejects/op is
// the number of calls rejected per cycle.
func BenchmarkChurn(b *testing.B) {
	forEach(b, func(b *testing.B, impl string) {
		t := newTarget(b, impl, churn)
		var rejects int
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := t.call(true); err != errWork {
				b.Fatalf("cycle %d: failing call on a closed breaker = %v", i, err)
			}
			start := time.Now()
			for t.closed() {
				runtime.Gosched()
				if time.Since(start) > 5*time.Second {
					b.Fatalf("cycle %d: no trip", i)
				}
			}
			for {
				err := t.call(false)
				if err == nil && t.closed() {
					break
				}
				if err != nil {
					if !t.rejection(err) {
						b.Fatalf("cycle %d: %v", i, err)
					}
					rejects++
					runtime.Gosched()
				}
				if time.Since(start) > 5*time.Second {
					b.Fatalf("cycle %d: not closed again", i)
				}
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(rejects)/float64(b.N), "rejects/op")
	})
}

// ---- Half-open rejection ---------------------------------------------------

// halfOpenImpls are the implementations with a probe limit that a caller
// can fill: one probe slot, held for the whole benchmark.
var halfOpenImpls = []string{implActor, implMutex, implGB, implGBTwoStep, implFSPermit}

// halfOpenGoroutines are the goroutine counts of BenchmarkHalfOpenReject.
var halfOpenGoroutines = []int{2, 8, 32, 128}

// fillProbes trips t, waits until it is half-open, and takes every probe
// slot; the returned func gives them back.
func (t *target) fillProbes(b *testing.B) (release func()) {
	b.Helper()
	if err := t.call(true); err != errWork {
		b.Fatalf("failing call: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if time.Now().After(deadline) {
			b.Fatal("no probe slot after the trip")
		}
		switch {
		case t.actor != nil || t.mutex != nil:
			var c breaker.Circuit = t.mutex
			if t.actor != nil {
				c = t.actor
			}
			if c.State() != breaker.HalfOpen {
				runtime.Gosched()
				continue
			}
			p, err := c.Acquire(context.Background())
			if err != nil {
				b.Fatalf("probe: %v", err)
			}
			return p.Success
		case t.gb != nil:
			held, done := make(chan struct{}), make(chan struct{})
			go func() {
				defer close(done)
				t.gb.Execute(func() (struct{}, error) { <-held; return struct{}{}, nil })
			}()
			for t.gb.State() != gobreaker.StateHalfOpen || t.gb.Counts().Requests == 0 {
				runtime.Gosched()
				if time.Now().After(deadline) {
					b.Fatal("gobreaker: no probe in flight")
				}
			}
			return func() { close(held); <-done }
		case t.gb2 != nil:
			done, err := t.gb2.Allow()
			if err != nil {
				runtime.Gosched()
				continue
			}
			return func() { done(nil) }
		default:
			n := 0
			for t.fs.TryAcquirePermit() {
				n++
			}
			if n == 0 {
				runtime.Gosched()
				continue
			}
			return func() {
				for range n {
					t.fs.RecordSuccess()
				}
			}
		}
	}
}

// BenchmarkHalfOpenReject: a half-open breaker whose one probe slot is
// held; g goroutines call it and every call must be rejected
// (ErrTooManyProbes, gobreaker's ErrTooManyRequests, failsafe-go's
// refused permit). ARCHITECTURE §7: at least as fast as gobreaker, 0 allocs.
func BenchmarkHalfOpenReject(b *testing.B) {
	for _, impl := range halfOpenImpls {
		b.Run("impl="+impl, func(b *testing.B) {
			for _, g := range halfOpenGoroutines {
				b.Run(fmt.Sprintf("g=%d", g), func(b *testing.B) {
					t := newTarget(b, impl, churn)
					release := t.fillProbes(b)
					defer release()
					var admitted atomic.Int64
					b.SetParallelism(max(g/runtime.GOMAXPROCS(0), 1))
					b.ReportAllocs()
					b.ResetTimer()
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							if err := t.call(false); !t.rejection(err) {
								admitted.Add(1)
							}
						}
					})
					b.StopTimer()
					if n := admitted.Load(); n != 0 {
						b.Fatalf("%d calls admitted with every probe slot held", n)
					}
				})
			}
		})
	}
}

// ---- Baselines -------------------------------------------------------------

// paddedCell is one cache line holding one counter.
type paddedCell struct {
	atomic.Uint64
	_ [56]byte
}

// modelStripes are the cells of the model-seq+stripe baseline: the shape of
// the library's lifetime counters (8 padded cells, one picked per
// increment from the address of the goroutine's stack).
var modelStripes [8]paddedCell

// stackStripe is the library's stripe choice (counter.go): a hash of the
// calling goroutine's stack address, 0..7.
//
//go:nosplit
func stackStripe() uint64 {
	var local byte
	addr := uint64(uintptr(unsafe.Pointer(&local)))
	return (addr >> 12) * 0x9E3779B97F4A7C15 >> (64 - 3)
}

// baselines are the floor ARCHITECTURE §7 measures against. The model-* ops are
// the shared writes of the actor's closed path, without the rest of it:
// model-seq is one add on a counter every goroutine shares (the window's
// call sequence); model-seq+stripe adds an increment of one of 8 padded
// cells chosen by stack address (the lifetime success counter).
var baselines = []struct {
	name string
	op   func(n *atomic.Int64, mu *sync.Mutex) // one operation on shared state
}{
	{"noop-call", func(*atomic.Int64, *sync.Mutex) {
		if work(false) != nil {
			panic("work failed")
		}
	}},
	{"atomic-add", func(n *atomic.Int64, _ *sync.Mutex) { n.Add(1) }},
	{"mutex", func(_ *atomic.Int64, mu *sync.Mutex) {
		mu.Lock()
		//lint:ignore SA2001 the baseline is the cost of a Lock/Unlock pair
		mu.Unlock()
	}},
	{"model-seq", func(n *atomic.Int64, _ *sync.Mutex) { n.Add(1) }},
	{"model-seq+stripe", func(n *atomic.Int64, _ *sync.Mutex) {
		n.Add(1)
		modelStripes[stackStripe()].Add(1)
	}},
	{"time-now", func(*atomic.Int64, *sync.Mutex) {
		if time.Now().IsZero() {
			panic("zero time")
		}
	}},
}

// BenchmarkBaseline: one goroutine. The op runs through a func value, as
// every target call runs through one method call.
func BenchmarkBaseline(b *testing.B) {
	for _, bl := range baselines {
		b.Run("op="+bl.name, func(b *testing.B) {
			var n atomic.Int64
			var mu sync.Mutex
			op := bl.op
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				op(&n, &mu)
			}
		})
	}
}

// BenchmarkBaselineParallel: the baselines under RunParallel, every
// goroutine on the same counter and mutex.
func BenchmarkBaselineParallel(b *testing.B) {
	for _, bl := range baselines {
		if bl.name == "noop-call" {
			continue
		}
		b.Run("op="+bl.name, func(b *testing.B) {
			forEachP(b, parallelism, func(b *testing.B, p int) {
				var n atomic.Int64
				var mu sync.Mutex
				op := bl.op
				b.SetParallelism(p)
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						op(&n, &mu)
					}
				})
			})
		})
	}
}
